/* format.h - the one small interface every file-format back-end implements.
 * Like llvm-objcopy: one driver, one back-end per format. A back-end knows
 * its format's structures and relocation types; it knows no instructions. */
#ifndef CALLIRW_FORMAT_H
#define CALLIRW_FORMAT_H

#include <stdio.h>

#include "buf.h"
#include "image.h"

/* The write side needs the plan (plan.h, which pulls in the stub generator's
 * stub.h); the read side does not, so the plan is only declared here. */
struct rw_plan;

#define RW_NO_ADDRESS UINT64_MAX

/* A range of free, mappable bytes in an executable segment (code_caves). */
struct rw_cave {
    uint64_t va, size;
};

struct rw_format_ops {
    const char *name; /* "ELF", "PE/COFF", "Mach-O" */
    const char *map_section; /* the section holding the rewrite map */
    /* Is this the back-end for these bytes? (magic numbers only) */
    int (*probe)(const uint8_t *data, size_t size);
    /* Fill the model from img->data/size; every offset bounds-checked. */
    enum rw_err (*open)(struct rw_image *img, struct rw_diag *d);
    /* The value a pointer-sized slot at va holds once the image is loaded
     * and relocated (relative relocations applied), as a link-time address,
     * if it is known statically. RW_OK and *value; RW_E_UNSUPPORTED when it
     * is not known statically (a symbol another module defines, IRELATIVE,
     * a relocatable object); RW_E_CORRUPT when va is not inside the image. */
    enum rw_err (*read_pointer)(const struct rw_image *img, uint64_t va, uint64_t *value);
    /* Produce the rewritten image: stubs, patched sites, relocations,
     * unwind information, the rewrite map. */
    enum rw_err (*write)(const struct rw_image *img, const struct rw_plan *plan,
                         struct rw_buf *out, struct rw_diag *d);
    /* Optional: the address at which write will place the stub text, known
     * before the plan (it may not depend on it), so that the plan can leave
     * the sites that could not reach it. *va = RW_NO_ADDRESS when the
     * written file fixes no address (a relocatable object: the linker places
     * the stubs and adds range-extension veneers itself). NULL: the same. */
    enum rw_err (*code_va)(const struct rw_image *img, uint64_t *va, struct rw_diag *d);
    /* Optional: free bytes that write may fill with range-extension
     * veneers: each cave directly follows the end of an executable segment,
     * inside the address and file pages nothing else maps, and is zero in
     * the input. *caves is heap (free), sorted by address; none: *n = 0. */
    enum rw_err (*code_caves)(const struct rw_image *img, struct rw_cave **caves, size_t *n,
                              struct rw_diag *d);
    /* Optional: the helper's entry is also at the image's base + rva
     * (`--helper-rva`), for a linked image whose helper has no name the
     * back-end can see (linked in, symbols stripped). The address must be
     * inside an executable section (else RW_E_CORRUPT with one line);
     * objects: RW_E_UNSUPPORTED. NULL: the format has no such notion here. */
    enum rw_err (*add_helper_rva)(struct rw_image *img, uint64_t rva, struct rw_diag *d);
    /* Optional: format-specific facts for `inspect` (e.g. a ReadyToRun
     * header), as text or as one JSON object. NULL when there are none. */
    void (*describe)(const struct rw_image *img, FILE *out, int json);
    void (*close)(struct rw_image *img);
};

extern const struct rw_format_ops rw_elf_ops;
extern const struct rw_format_ops rw_pe_ops;

/* Open a file image: read it, pick the back-end by probing, fill the model.
 * helper_name: the helper's C name (NULL: GenericPInvokeCalliHelper). */
enum rw_err rw_image_open(struct rw_image *img, const char *path, const char *helper_name,
                          struct rw_diag *d);
void rw_image_close(struct rw_image *img);

#endif

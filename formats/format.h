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
    const char *map_section; /* the section holding the rewrite map (model name) */
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
    /* Optional: the model section holding the rewrite map, or RW_NONE, when
     * one name (map_section) does not say it (Mach-O: objects and linked
     * images keep it in differently named sections). NULL: map_section. */
    uint32_t (*find_map)(const struct rw_image *img);
    void (*close)(struct rw_image *img);
};

extern const struct rw_format_ops rw_elf_ops;
extern const struct rw_format_ops rw_pe_ops;
extern const struct rw_format_ops rw_macho_ops;

/* A container of several images (a Mach-O fat file): the driver splits it
 * into slices, opens, scans and rewrites each slice as an image of its own
 * (rw_image_open_mem), and joins the results. */
struct rw_slice {
    uint64_t offset, size; /* the slice's bytes in the container */
    uint32_t align;        /* log2 of its alignment in the container */
    char name[24];         /* for messages: "x86_64", "arm64", "cpu 0x...", ... */
};
struct rw_container_ops {
    const char *name; /* "Mach-O fat" */
    /* Is this a container (magic and a plausible header only)? */
    int (*probe)(const uint8_t *data, size_t size);
    /* The slices, every one checked to lie inside [0, size) and not to
     * overlap another; *slices is heap (free). */
    enum rw_err (*split)(const uint8_t *data, size_t size, struct rw_slice **slices, size_t *n,
                         struct rw_diag *d);
    /* A new container: slice i is outs[i] when outs[i].data is not NULL, else
     * its original bytes; every slice at its alignment, the header updated. */
    enum rw_err (*join)(const uint8_t *data, size_t size, const struct rw_slice *slices,
                        size_t n, const struct rw_buf *outs, struct rw_buf *out,
                        struct rw_diag *d);
};
extern const struct rw_container_ops rw_macho_fat_ops;

/* Map a whole file read-only (rw_file_unmap undoes it); and the container
 * back-end that claims these bytes, or NULL for a single image. */
enum rw_err rw_file_map(const char *path, const uint8_t **data, size_t *size, struct rw_diag *d);
void rw_file_unmap(const uint8_t *data, size_t size);
const struct rw_container_ops *rw_container_probe(const uint8_t *data, size_t size);

/* Open a memory image (a container's slice): like rw_image_open, but the
 * bytes belong to the caller (they must outlive the image); label names the
 * image in messages (e.g. "lib.dylib[arm64]"). */
enum rw_err rw_image_open_mem(struct rw_image *img, const char *label, const uint8_t *data,
                              size_t size, const char *helper_name, struct rw_diag *d);

/* Open a file image: read it, pick the back-end by probing, fill the model.
 * helper_name: the helper's C name (NULL: GenericPInvokeCalliHelper). */
enum rw_err rw_image_open(struct rw_image *img, const char *path, const char *helper_name,
                          struct rw_diag *d);
void rw_image_close(struct rw_image *img);

#endif

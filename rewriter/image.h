/* image.h - the format-neutral model of a binary image.
 *
 * A format back-end (formats/elf.c, formats/pe.c, formats/macho.c) reads a
 * file into this model; the scanner, planner and emitter work only on the
 * model; the back-end then writes the output from the model plus the plan.
 * Nothing here knows a file format, and the back-ends know no instructions.
 *
 * Locations are (section, offset) pairs, valid in objects and linked images
 * alike; linked images also have virtual addresses (section addr + offset).
 */
#ifndef CALLIRW_IMAGE_H
#define CALLIRW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "calli_layout.h"

enum rw_format { RW_FMT_ELF = 1, RW_FMT_PE = 2, RW_FMT_MACHO = 3 };
enum rw_machine { RW_MACH_X86_64 = 1, RW_MACH_AARCH64 = 2 };
enum rw_kind { RW_KIND_OBJECT = 1, RW_KIND_EXEC = 2, RW_KIND_SHARED = 3 };

/* Error codes shared by every layer. */
enum rw_err {
    RW_OK = 0,
    RW_E_IO,          /* cannot read or write a file */
    RW_E_NOMEM,
    RW_E_FORMAT,      /* not a file we recognise */
    RW_E_CORRUPT,     /* recognised, but malformed (offsets past the end, ...) */
    RW_E_UNSUPPORTED, /* well-formed, but not something we handle (machine, class, ...) */
    RW_E_NOROOM,      /* no room to add what a rewrite needs (and we say so) */
    RW_E_INTERNAL,
};
const char *rw_strerror(enum rw_err err);

/* One error with its one-line message, filled by the layer that failed.
 * Messages never start with the file's path: the command-line driver prints
 * "callirw: COMMAND: PATH: MESSAGE". */
struct rw_diag {
    enum rw_err err;
    char msg[256];
};
/* printf-like; returns d->err for convenient `return rw_fail(...)`. */
enum rw_err rw_fail(struct rw_diag *d, enum rw_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RW_NONE UINT32_MAX

#define RW_SEC_ALLOC 0x1u
#define RW_SEC_EXEC 0x2u
#define RW_SEC_WRITE 0x4u
#define RW_SEC_NOBITS 0x8u /* occupies no file space (.bss) */
#define RW_SEC_TLS 0x10u   /* thread-local template (.tdata, .tbss); a NOBITS TLS
                              section overlaps other sections' addresses and is
                              never returned by rw_section_at */
#define RW_SEC_GOT 0x20u   /* pointer slots only the loader writes (ELF .got,
                              .got.plt; PE IAT) */
#define RW_SEC_RELRO 0x40u /* writable only until relocation is done
                              (inside PT_GNU_RELRO; .data.rel.ro in objects) */

struct rw_section {
    const char *name;
    uint32_t id;          /* the back-end's own index (ELF section index, ...) */
    uint32_t flags;       /* RW_SEC_* */
    uint64_t addr;        /* virtual address (linked images); 0 in objects */
    uint64_t size;
    const uint8_t *data;  /* size bytes, or NULL for NOBITS; points into the input */
};

#define RW_SYM_FUNC 0x1u
#define RW_SYM_GLOBAL 0x2u
#define RW_SYM_UNDEF 0x4u
#define RW_SYM_DYNAMIC 0x8u /* from the dynamic symbol table */

struct rw_symbol {
    const char *name;
    uint32_t id;      /* the back-end's own index (for relocations) */
    uint32_t section; /* index into rw_image.sec, or RW_NONE */
    uint32_t flags;   /* RW_SYM_* */
    uint64_t value;   /* offset in section (objects) or address (linked) */
    uint64_t size;
};

/* Relocation kinds, normalised so that every PC-relative one means
 * S + A - P with P the address of the relocated field (the back-end folds
 * in implicit addends and the COFF/Mach-O "end of field" bias). */
enum rw_reloc_kind {
    RW_R_OTHER = 0,
    RW_R_X86_BRANCH32,   /* rel32 of call/jmp: R_X86_64_PLT32/PC32, REL32, RELOC_BRANCH */
    RW_R_X86_PCREL32,    /* rel32 data reference: PC32, REL32, RELOC_SIGNED */
    RW_R_X86_GOTPCREL32, /* rel32 to a GOT slot of S: GOTPCREL(X), RELOC_GOT(_LOAD) */
    RW_R_X86_ABS32,      /* zero-extended 32-bit absolute */
    RW_R_X86_ABS32S,     /* sign-extended 32-bit absolute */
    RW_R_ABS64,
    RW_R_X86_IMPORT32,   /* COFF: rel32 to __imp_S (an IAT-style pointer to S) */
    RW_R_A64_CALL26,
    RW_R_A64_JUMP26,
    RW_R_A64_PAGE21,     /* adrp */
    RW_R_A64_LO12,       /* add/ldr low 12 bits */
    RW_R_A64_GOT_PAGE21,
    RW_R_A64_GOT_LO12,
    RW_R_A64_LITERAL,    /* ldr literal */
};

struct rw_reloc {
    uint32_t section; /* the section the relocation patches */
    uint32_t kind;    /* enum rw_reloc_kind */
    uint32_t raw_type;/* the format's own type number */
    uint32_t symbol;  /* index into rw_image.sym, or RW_NONE */
    uint64_t offset;  /* of the relocated field in the section */
    int64_t addend;   /* normalised (see above) */
};

/* A function range, from symbols or from unwind tables (FDEs, .pdata). */
struct rw_func {
    uint32_t section;
    uint64_t start, end; /* offsets in the section, [start, end) */
    const char *name;    /* may be NULL (from unwind tables only) */
};

/* Where the helper can be reached. */
struct rw_helper {
    /* objects: symbols naming the helper (direct) and its import pointer
     * (COFF __imp_ name): indices into rw_image.sym */
    uint32_t *syms;
    size_t nsyms;
    uint32_t *imp_syms;
    size_t nimp_syms;
    /* linked images: addresses whose call means "call the helper": the
     * helper's own entry and its PLT entries / import thunks */
    uint64_t *addrs;
    size_t naddrs;
    /* linked images: pointer slots (GOT, IAT) that hold the helper's address
     * (ELF: the targets of JUMP_SLOT / GLOB_DAT / 64 relocations naming it) */
    uint64_t *slots;
    size_t nslots;
    /* linked images: sections of PLT entries / import thunks (ELF .plt,
     * .plt.sec, .plt.got, .iplt). The back-end decodes nothing: the scanner
     * decodes these, adds every entry that jumps through a helper slot to
     * the helper's addresses, and finds no call sites inside them. */
    uint32_t *plt_secs;
    size_t nplt_secs;
};

struct rw_format_ops;

struct rw_image {
    const char *path;
    const uint8_t *data; /* the whole input file */
    size_t size;

    enum rw_format format;
    enum rw_machine machine;
    enum rw_kind kind;
    enum calli_abi abi;

    struct rw_section *sec;
    size_t nsec;
    struct rw_symbol *sym;
    size_t nsym;
    struct rw_reloc *rel; /* sorted by (section, offset) */
    size_t nrel;
    struct rw_func *func; /* sorted by (section, start) */
    size_t nfunc;

    const char *helper_name; /* the C name (docs/abi.md section 2) */
    struct rw_helper helper;

    unsigned ibt : 1;        /* x86-64 image marked for IBT: stubs need endbr64 */
    unsigned bti : 1;        /* arm64 image marked for BTI: stubs need bti c */
    unsigned rewritten : 1;  /* already carries a rewrite map */
    unsigned mapped : 1;     /* data is a mapping of the file that close unmaps
                                (rw_image_open); else the caller's bytes */
    unsigned decode_all : 1; /* scan: decode every executable section even when
                                nothing in the model names the helper (no site
                                can exist then; the scanner may skip the
                                decode): for exercising the decoder (fuzzing,
                                `scan --decode-all`). Same sites either way. */
    unsigned pie : 1;        /* kind EXEC, position-independent (ELF ET_DYN with
                                PT_INTERP or DF_1_PIE); SHARED and PIE images
                                are loaded at a base added to every address */

    const struct rw_format_ops *ops;
    void *backend; /* the back-end's private state */
};

/* Grow *arr (elements of esz bytes, capacity *cap) to hold at least n + 1:
 * doubling from 16, overflow checked; 0, or -1 (out of memory or too many),
 * *arr and *cap unchanged then. For every back-end's growing arrays. */
int rw_grow(void **arr, size_t *cap, size_t n, size_t esz);

/* Free the model's arrays (sections, symbols, relocations, functions, the
 * helper's lists) and empty them; for back-ends' close. */
void rw_image_free_model(struct rw_image *img);

/* Bounds-checked access to the model. Each returns NULL / -1 when the range
 * is not entirely inside one section's file data. */
const uint8_t *rw_section_bytes(const struct rw_image *img, uint32_t sec,
                                uint64_t off, uint64_t len);
/* Linked images: the section containing [va, va+len), or RW_NONE. */
uint32_t rw_section_at(const struct rw_image *img, uint64_t va, uint64_t len);
/* First relocation of section sec at an offset >= off, or nrel. */
size_t rw_reloc_lower_bound(const struct rw_image *img, uint32_t sec, uint64_t off);
/* The relocation patching exactly (sec, off), or NULL. */
const struct rw_reloc *rw_reloc_at(const struct rw_image *img, uint32_t sec, uint64_t off);
/* The function containing (sec, off), or NULL. */
const struct rw_func *rw_func_at(const struct rw_image *img, uint32_t sec, uint64_t off);

/* For back-ends, at the end of open: sort rel by (section, offset) and func
 * by (section, start); merge function ranges with the same start (keeping
 * the longest, and a name when one has it) and cut a range short where the
 * next one starts, so that ranges never overlap and every start is kept (a
 * function start is a basic-block boundary for the scanner). */
enum rw_err rw_image_normalize(struct rw_image *img, struct rw_diag *d);

#endif

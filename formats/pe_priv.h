/* pe_priv.h - the PE/COFF back-end's private state, shared by formats/pe*.c.
 *
 * Two kinds of input (docs/pe.md):
 *  - PE32+ images (x86-64, arm64; EXE and DLL): pe_image.c reads the headers,
 *    sections, imports, exports, the exception directory, base relocations,
 *    the load configuration and the CLI header; pe_r2r.c reads a ReadyToRun
 *    header when the CLI header (or the export RTR_HEADER) points to one.
 *  - COFF objects (x86-64, arm64; regular and /bigobj): pe_coff.c reads the
 *    sections, the symbol table and the relocations. pe_coff.c also reads the
 *    (deprecated) COFF symbol table that some linked images still carry.
 *
 * Model conventions (docs/pe.md):
 *  - rw_image.sec[i] is PE/COFF section i + 1; rw_section.id = i + 1 (the
 *    1-based section number symbols use).
 *  - linked images: rw_section.addr = ImageBase + VirtualAddress, so every
 *    model address is a virtual address at the preferred base; the RVA is
 *    addr - st->image_base. size = VirtualSize; a section whose raw data is
 *    shorter than VirtualSize gets a zero-padded copy so that data always
 *    covers size bytes (NOBITS when it has no raw data at all).
 *  - rw_symbol.id is the COFF symbol-table index (relocations name it) or,
 *    for exports and imports, PE_SYMID_EXPORT / PE_SYMID_IMPORT + index.
 *
 * Every offset, size, count and RVA read from the file is checked against
 * the file before it is used; counts bound loops only after the data they
 * count has been checked to be inside the file.
 */
#ifndef CALLIRW_PE_PRIV_H
#define CALLIRW_PE_PRIV_H

#include "format.h"

/* Machines. */
#define PE_MACHINE_AMD64 0x8664u
#define PE_MACHINE_ARM64 0xAA64u
#define PE_MACHINE_I386 0x014Cu
#define PE_MACHINE_ARM64EC 0xA641u

/* ReadyToRun images built for another OS XOR the machine with one of these
 * (crossgen2's "machine OS override"); Windows uses 0. */
#define PE_OS_LINUX 0x7B79u
#define PE_OS_APPLE 0x4644u
#define PE_OS_FREEBSD 0xADC4u
#define PE_OS_NETBSD 0x1993u
#define PE_OS_SUNOS 0x1992u

/* File header characteristics. */
#define PE_FILE_RELOCS_STRIPPED 0x0001u
#define PE_FILE_EXECUTABLE_IMAGE 0x0002u
#define PE_FILE_LARGE_ADDRESS_AWARE 0x0020u
#define PE_FILE_DLL 0x2000u

/* DLL characteristics. */
#define PE_DLLC_HIGH_ENTROPY_VA 0x0020u
#define PE_DLLC_DYNAMIC_BASE 0x0040u
#define PE_DLLC_FORCE_INTEGRITY 0x0080u
#define PE_DLLC_NX_COMPAT 0x0100u
#define PE_DLLC_NO_ISOLATION 0x0200u
#define PE_DLLC_NO_SEH 0x0400u
#define PE_DLLC_NO_BIND 0x0800u
#define PE_DLLC_APPCONTAINER 0x1000u
#define PE_DLLC_WDM_DRIVER 0x2000u
#define PE_DLLC_GUARD_CF 0x4000u
#define PE_DLLC_TERMINAL_SERVER_AWARE 0x8000u

/* Section characteristics. */
#define PE_SCN_CNT_CODE 0x00000020u
#define PE_SCN_CNT_INITIALIZED_DATA 0x00000040u
#define PE_SCN_CNT_UNINITIALIZED_DATA 0x00000080u
#define PE_SCN_LNK_INFO 0x00000200u
#define PE_SCN_LNK_REMOVE 0x00000800u
#define PE_SCN_LNK_COMDAT 0x00001000u
#define PE_SCN_LNK_NRELOC_OVFL 0x01000000u
#define PE_SCN_MEM_DISCARDABLE 0x02000000u
#define PE_SCN_MEM_EXECUTE 0x20000000u
#define PE_SCN_MEM_READ 0x40000000u
#define PE_SCN_MEM_WRITE 0x80000000u

/* Data directories. */
enum {
    PE_DIR_EXPORT = 0,
    PE_DIR_IMPORT = 1,
    PE_DIR_RESOURCE = 2,
    PE_DIR_EXCEPTION = 3,
    PE_DIR_SECURITY = 4,
    PE_DIR_BASERELOC = 5,
    PE_DIR_DEBUG = 6,
    PE_DIR_ARCHITECTURE = 7,
    PE_DIR_GLOBALPTR = 8,
    PE_DIR_TLS = 9,
    PE_DIR_LOAD_CONFIG = 10,
    PE_DIR_BOUND_IMPORT = 11,
    PE_DIR_IAT = 12,
    PE_DIR_DELAY_IMPORT = 13,
    PE_DIR_CLR = 14,
    PE_DIR_RESERVED = 15,
    PE_NDIRS = 16,
};

/* Base relocation types. */
#define PE_REL_BASED_ABSOLUTE 0
#define PE_REL_BASED_HIGHLOW 3
#define PE_REL_BASED_DIR64 10

/* COFF relocation types, x86-64. */
#define PE_REL_AMD64_ABSOLUTE 0x0000
#define PE_REL_AMD64_ADDR64 0x0001
#define PE_REL_AMD64_ADDR32 0x0002
#define PE_REL_AMD64_ADDR32NB 0x0003
#define PE_REL_AMD64_REL32 0x0004
#define PE_REL_AMD64_REL32_5 0x0009
#define PE_REL_AMD64_SECTION 0x000A
#define PE_REL_AMD64_SECREL 0x000B
/* Not in the PE/COFF specification: GNU as writes a sign-extended 32-bit
 * absolute (ELF's R_X86_64_32S, e.g. `mov r11, sym`) as type 0x11 in
 * x86-64 COFF objects; GNU ld links it, lld refuses it. */
#define PE_REL_AMD64_GNU_ADDR32S 0x0011
/* COFF relocation types, arm64. */
#define PE_REL_ARM64_ABSOLUTE 0x0000
#define PE_REL_ARM64_ADDR32 0x0001
#define PE_REL_ARM64_ADDR32NB 0x0002
#define PE_REL_ARM64_BRANCH26 0x0003
#define PE_REL_ARM64_PAGEBASE_REL21 0x0004
#define PE_REL_ARM64_REL21 0x0005
#define PE_REL_ARM64_PAGEOFFSET_12A 0x0006
#define PE_REL_ARM64_PAGEOFFSET_12L 0x0007
#define PE_REL_ARM64_SECREL 0x0008
#define PE_REL_ARM64_SECTION 0x000D
#define PE_REL_ARM64_ADDR64 0x000E
#define PE_REL_ARM64_BRANCH19 0x000F
#define PE_REL_ARM64_BRANCH14 0x0010
#define PE_REL_ARM64_REL32 0x0011

/* COFF symbol storage classes. */
#define PE_SYM_CLASS_EXTERNAL 2
#define PE_SYM_CLASS_STATIC 3
#define PE_SYM_CLASS_LABEL 6
#define PE_SYM_CLASS_FUNCTION 101
#define PE_SYM_CLASS_FILE 103
#define PE_SYM_CLASS_SECTION 104
#define PE_SYM_CLASS_WEAK_EXTERNAL 105
#define PE_SYM_DTYPE_FUNCTION 2 /* (Type >> 4) */

/* rw_symbol.id for symbols that are not COFF symbol-table entries. */
#define PE_SYMID_EXPORT 0x40000000u
#define PE_SYMID_IMPORT 0x80000000u

/* Limits on what a hostile file can make us allocate. */
#define PE_MAX_PAD_BYTES (256u << 20) /* zero-padded section copies, total */
#define PE_MAX_EXPORT_NAMES (1u << 20)

/* Little-endian reads (the caller has checked the bounds). */
static inline uint16_t pe_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t pe_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pe_u64(const uint8_t *p)
{
    return (uint64_t)pe_u32(p) | (uint64_t)pe_u32(p + 4) << 32;
}
/* Little-endian stores (the writers; the caller has checked the bounds). */
static inline void pe_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void pe_put32(uint8_t *p, uint32_t v)
{
    pe_put16(p, (uint16_t)v);
    pe_put16(p + 2, (uint16_t)(v >> 16));
}

/* An RVA range [start, end) whose pointer slots the loader (or the .NET
 * runtime) fills: IATs, delay-load IATs, ReadyToRun import cells. */
struct pe_range {
    uint32_t start, end;
};

struct pe_dll {
    const char *name;
    uint32_t nfuncs;
    uint32_t iat_rva;
    int delay; /* from the delay-load directory */
};

struct r2r_info; /* pe_r2r.h */

/* Blocks of memory the back-end allocated for names and padded sections. */
struct pe_block {
    struct pe_block *next;
    size_t used, cap;
    uint8_t data[];
};

struct pe_state {
    int object;       /* COFF object (else PE32+ image) */
    int bigobj;       /* /bigobj object (ANON_OBJECT_HEADER_BIGOBJ) */
    uint16_t machine; /* the file's Machine field, as written */
    uint16_t os_override; /* ReadyToRun: the XOR found in Machine (0: Windows) */
    uint16_t characteristics;
    uint32_t timestamp;

    /* image headers */
    uint32_t pe_off;  /* offset of "PE\0\0" */
    uint64_t image_base;
    uint32_t entry_rva, size_of_image, size_of_headers;
    uint32_t section_alignment, file_alignment;
    uint16_t subsystem, dll_characteristics;
    uint8_t linker_major, linker_minor;
    uint32_t ndirs;
    uint32_t dir_rva[PE_NDIRS], dir_size[PE_NDIRS];
    uint32_t hdr_map; /* bytes of the headers mapped at RVA 0 (before the first section) */

    /* section headers, as in the file */
    const uint8_t *shdr;
    uint32_t nsec;

    /* COFF symbol table (objects; images that still carry one) */
    const uint8_t *symtab;
    uint32_t nsyms;      /* records, including auxiliary ones */
    uint32_t symsz;      /* 18, or 20 for /bigobj */
    const uint8_t *strtab;
    uint32_t strtab_size; /* including its 4-byte size field; 0 if none */
    int symtab_ignored;   /* image: the table is not inside the file, ignored */
    uint32_t *symmap;     /* COFF index -> model symbol index (RW_NONE for aux) */

    /* imports */
    struct pe_dll *dlls;
    size_t ndlls, dll_cap;
    size_t nimports;
    struct pe_range *slots; /* loader-filled pointer ranges, sorted by start */
    size_t nslots, slot_cap;

    /* exports */
    const char *export_name;
    uint32_t nexports;

    /* exception directory */
    size_t npdata;       /* entries */
    size_t npdata_bad;   /* entries that name no range in an executable section */

    /* base relocations */
    size_t nbaserel;     /* DIR64 */
    size_t nbaserel_other; /* HIGHLOW, ... (not ABSOLUTE padding) */

    /* load configuration */
    int has_load_config;
    uint32_t load_config_size;
    uint32_t guard_flags;

    /* CLI header */
    int has_cli;
    uint16_t cli_major, cli_minor;
    uint32_t cli_flags;
    uint32_t mnh_rva, mnh_size; /* ManagedNativeHeader */
    struct r2r_info *r2r;

    /* growth capacities of the model arrays */
    size_t sec_cap, sym_cap, rel_cap, func_cap, hslot_cap, haddr_cap, hsym_cap, himp_cap;

    struct pe_block *blocks;
};

static inline struct pe_state *pe_st(const struct rw_image *img)
{
    return (struct pe_state *)img->backend;
}

/* pe.c: shared helpers (growable arrays are image.h's rw_grow). */
/* A copy of s[0..n) with a NUL appended, owned by the back-end; NULL on ENOMEM. */
char *pe_strndup(struct pe_state *st, const char *s, size_t n);
/* Zeroed memory owned by the back-end; NULL on ENOMEM. */
void *pe_alloc(struct pe_state *st, size_t n);
/* The model section holding RVA rva (images), or RW_NONE. */
uint32_t pe_sec_of_rva(const struct rw_image *img, uint64_t rva);
/* Bytes at [rva, rva + len) of a linked image (the mapped headers, or one
 * section's data), or NULL. */
const uint8_t *pe_rva_bytes(const struct rw_image *img, uint64_t rva, uint64_t len);
/* The bytes at rva and how many follow in the same region (*avail). */
const uint8_t *pe_rva_avail(const struct rw_image *img, uint64_t rva, uint64_t *avail);
/* A NUL-terminated string at rva, inside one region; NULL if it is not. */
const char *pe_rva_str(const struct rw_image *img, uint64_t rva);
/* Model pushes. */
enum rw_err pe_push_sym(struct rw_image *img, const struct rw_symbol *s, struct rw_diag *d);
enum rw_err pe_push_rel(struct rw_image *img, const struct rw_reloc *r, struct rw_diag *d);
enum rw_err pe_push_func(struct rw_image *img, uint32_t sec, uint64_t start, uint64_t end,
                         const char *name, struct rw_diag *d);
enum rw_err pe_push_helper_slot(struct rw_image *img, uint64_t va, struct rw_diag *d);
enum rw_err pe_push_helper_addr(struct rw_image *img, uint64_t va, struct rw_diag *d);
enum rw_err pe_push_helper_sym(struct rw_image *img, uint32_t sym, int imp, struct rw_diag *d);
/* A loader-filled pointer range (kept sorted by pe_finish_slots). */
enum rw_err pe_push_slot_range(struct rw_image *img, uint32_t start, uint64_t end,
                               struct rw_diag *d);
void pe_finish_slots(struct pe_state *st);
int pe_in_slot_range(const struct pe_state *st, uint64_t rva);
/* The name of a machine ("x86-64", "arm64") for messages. */
const char *pe_machine_name(uint16_t machine);

/* pe_image.c */
enum rw_err pe_open_image(struct rw_image *img, struct pe_state *st, struct rw_diag *d);
const char *pe_dir_name(unsigned i); /* "export", "import", ... */

/* pe_coff.c */
/* Is this a plausible COFF object (regular or /bigobj)? 1 object, 2 short
 * import member (not handled), 0 no. */
int pe_coff_probe(const uint8_t *data, size_t size);
enum rw_err pe_open_object(struct rw_image *img, struct pe_state *st, struct rw_diag *d);
/* The COFF symbol table st->symtab (images and objects): every primary
 * record becomes a model symbol (st->symmap maps COFF indices); in images
 * defined symbols get virtual addresses; function symbols in executable
 * sections give function ranges; the helper's names are recorded. */
enum rw_err pe_read_symtab(struct rw_image *img, struct pe_state *st, struct rw_diag *d);
/* A section name: 8 bytes, or "/digits" into the string table. */
const char *pe_section_name(struct pe_state *st, const uint8_t *name8);

/* pe_describe.c */
void pe_describe(const struct rw_image *img, FILE *out, int json);
/* JSON string (quoted, escaped) and a bounded printable rendering for text. */

#endif

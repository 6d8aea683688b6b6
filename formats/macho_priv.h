/* macho_priv.h - the Mach-O back-end's private state, shared by formats/macho*.c.
 *
 * open() (macho.c, macho_lc.c, macho_sym.c, macho_dyld.c) validates every
 * load command against the file before anything is read through it, keeps
 * copies of what it read here, and fills the model (image.h). The writers
 * (macho_write_obj.c for MH_OBJECT, macho_write.c for MH_EXECUTE / MH_DYLIB /
 * MH_BUNDLE) reuse this state. Only 64-bit little-endian thin images are
 * opened here; a fat (universal) file is split into its slices by the
 * container back-end (macho_fat.c, format.h rw_container_ops) and each slice
 * is opened as its own image.
 *
 * Model indices:
 *  - rw_image.sec[i] is Mach-O section ordinal i + 1 (sect[i] below); its
 *    name is "__SEGNAME,__sectname". In objects addr is 0 and every offset is
 *    section-relative (n_value - section addr); linked images keep addresses.
 *  - rw_image.sym: first one model symbol per nlist entry that is kept (see
 *    sym_model), then one synthesized section symbol per section (value 0,
 *    name the section's model name, flags 0), at sect_sym_base + i, which
 *    non-extern (r_extern = 0) relocations of objects point at, with the
 *    target's offset in that section as the addend.
 *  - rw_image.rel (objects): one per relocation that patches a section,
 *    pairs (ARM64_RELOC_ADDEND + next, X86_64_RELOC_SUBTRACTOR + next) folded
 *    into one model relocation; raw_index[i] (below) is the index of model
 *    relocation i's *first* raw relocation_info in its section's table, so
 *    that a writer can find the raw entry (sect[sec].reloff + 8 * index).
 *
 * Names and constants follow <mach-o/loader.h>, <mach-o/nlist.h>,
 * <mach-o/reloc.h>, <mach-o/fat.h>, <mach-o/fixup-chains.h>, restated here
 * (Debian has none of these headers).
 */
#ifndef CALLIRW_MACHO_PRIV_H
#define CALLIRW_MACHO_PRIV_H

#include <stdint.h>

#include "format.h"

/* ---- headers ------------------------------------------------------------ */
#define MACHO_MH_MAGIC_64 0xfeedfacfu
#define MACHO_MH_CIGAM_64 0xcffaedfeu /* big-endian 64-bit: refused */
#define MACHO_MH_MAGIC 0xfeedfaceu   /* 32-bit: refused */
#define MACHO_FAT_MAGIC 0xcafebabeu  /* stored big-endian */
#define MACHO_FAT_MAGIC_64 0xcafebabfu

#define MACHO_CPU_ARCH_ABI64 0x01000000u
#define MACHO_CPU_TYPE_X86_64 (7u | MACHO_CPU_ARCH_ABI64)
#define MACHO_CPU_TYPE_ARM64 (12u | MACHO_CPU_ARCH_ABI64)
#define MACHO_CPU_SUBTYPE_MASK 0xff000000u
#define MACHO_CPU_SUBTYPE_ARM64E 2u

#define MACHO_MH_OBJECT 0x1u
#define MACHO_MH_EXECUTE 0x2u
#define MACHO_MH_DYLIB 0x6u
#define MACHO_MH_BUNDLE 0x8u

#define MACHO_MH_PIE 0x200000u
#define MACHO_MH_SUBSECTIONS_VIA_SYMBOLS 0x2000u
#define MACHO_HEADER_SIZE 32u

/* ---- load commands ------------------------------------------------------ */
#define MACHO_LC_REQ_DYLD 0x80000000u
#define MACHO_LC_SYMTAB 0x2u
#define MACHO_LC_DYSYMTAB 0xbu
#define MACHO_LC_LOAD_DYLIB 0xcu
#define MACHO_LC_ID_DYLIB 0xdu
#define MACHO_LC_LOAD_WEAK_DYLIB (0x18u | MACHO_LC_REQ_DYLD)
#define MACHO_LC_SEGMENT_64 0x19u
#define MACHO_LC_UUID 0x1bu
#define MACHO_LC_CODE_SIGNATURE 0x1du
#define MACHO_LC_SEGMENT_SPLIT_INFO 0x1eu
#define MACHO_LC_REEXPORT_DYLIB (0x1fu | MACHO_LC_REQ_DYLD)
#define MACHO_LC_DYLD_INFO 0x22u
#define MACHO_LC_DYLD_INFO_ONLY (0x22u | MACHO_LC_REQ_DYLD)
#define MACHO_LC_LOAD_UPWARD_DYLIB (0x23u | MACHO_LC_REQ_DYLD)
#define MACHO_LC_FUNCTION_STARTS 0x26u
#define MACHO_LC_MAIN (0x28u | MACHO_LC_REQ_DYLD)
#define MACHO_LC_DATA_IN_CODE 0x29u
#define MACHO_LC_DYLIB_CODE_SIGN_DRS 0x2bu
#define MACHO_LC_LINKER_OPTIMIZATION_HINT 0x2eu
#define MACHO_LC_BUILD_VERSION 0x32u
#define MACHO_LC_DYLD_EXPORTS_TRIE (0x33u | MACHO_LC_REQ_DYLD)
#define MACHO_LC_DYLD_CHAINED_FIXUPS (0x34u | MACHO_LC_REQ_DYLD)

#define MACHO_SEGMENT_CMD_SIZE 72u
#define MACHO_SECTION_SIZE 80u
#define MACHO_VM_PROT_READ 1u
#define MACHO_VM_PROT_WRITE 2u
#define MACHO_VM_PROT_EXECUTE 4u

/* section flags */
#define MACHO_SECTION_TYPE 0x000000ffu
#define MACHO_S_ZEROFILL 0x1u
#define MACHO_S_NON_LAZY_SYMBOL_POINTERS 0x6u
#define MACHO_S_LAZY_SYMBOL_POINTERS 0x7u
#define MACHO_S_SYMBOL_STUBS 0x8u
#define MACHO_S_MOD_INIT_FUNC_POINTERS 0x9u
#define MACHO_S_GB_ZEROFILL 0xcu
#define MACHO_S_COALESCED 0xbu
#define MACHO_S_THREAD_LOCAL_ZEROFILL 0x12u
#define MACHO_S_THREAD_LOCAL_VARIABLES 0x13u
#define MACHO_S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define MACHO_S_ATTR_NO_DEAD_STRIP 0x10000000u
#define MACHO_S_ATTR_DEBUG 0x02000000u
#define MACHO_S_ATTR_SOME_INSTRUCTIONS 0x00000400u

/* ---- symbols (nlist_64: 16 bytes) --------------------------------------- */
#define MACHO_NLIST_SIZE 16u
#define MACHO_N_STAB 0xe0u
#define MACHO_N_PEXT 0x10u
#define MACHO_N_TYPE 0x0eu
#define MACHO_N_EXT 0x01u
#define MACHO_N_UNDF 0x0u
#define MACHO_N_ABS 0x2u
#define MACHO_N_SECT 0xeu
#define MACHO_N_INDR 0xau
#define MACHO_NO_SECT 0u
#define MACHO_N_WEAK_REF 0x0040u
#define MACHO_N_WEAK_DEF 0x0080u
#define MACHO_N_ALT_ENTRY 0x0200u
#define MACHO_INDIRECT_SYMBOL_LOCAL 0x80000000u
#define MACHO_INDIRECT_SYMBOL_ABS 0x40000000u

/* ---- relocations (relocation_info: 8 bytes) ----------------------------- */
#define MACHO_RELOC_SIZE 8u
#define MACHO_R_SCATTERED 0x80000000u
/* r_word1 = symbolnum:24 | pcrel:1 | length:2 | extern:1 | type:4 */
#define MACHO_X86_64_RELOC_UNSIGNED 0u
#define MACHO_X86_64_RELOC_SIGNED 1u
#define MACHO_X86_64_RELOC_BRANCH 2u
#define MACHO_X86_64_RELOC_GOT_LOAD 3u
#define MACHO_X86_64_RELOC_GOT 4u
#define MACHO_X86_64_RELOC_SUBTRACTOR 5u
#define MACHO_X86_64_RELOC_SIGNED_1 6u
#define MACHO_X86_64_RELOC_SIGNED_2 7u
#define MACHO_X86_64_RELOC_SIGNED_4 8u
#define MACHO_X86_64_RELOC_TLV 9u
#define MACHO_ARM64_RELOC_UNSIGNED 0u
#define MACHO_ARM64_RELOC_SUBTRACTOR 1u
#define MACHO_ARM64_RELOC_BRANCH26 2u
#define MACHO_ARM64_RELOC_PAGE21 3u
#define MACHO_ARM64_RELOC_PAGEOFF12 4u
#define MACHO_ARM64_RELOC_GOT_LOAD_PAGE21 5u
#define MACHO_ARM64_RELOC_GOT_LOAD_PAGEOFF12 6u
#define MACHO_ARM64_RELOC_POINTER_TO_GOT 7u
#define MACHO_ARM64_RELOC_TLVP_LOAD_PAGE21 8u
#define MACHO_ARM64_RELOC_TLVP_LOAD_PAGEOFF12 9u
#define MACHO_ARM64_RELOC_ADDEND 10u

/* ---- compact unwind (objects: __LD,__compact_unwind, 32-byte entries) ---- */
#define MACHO_COMPACT_UNWIND_ENTRY_SIZE 32u
#define MACHO_UNWIND_X86_64_MODE_RBP_FRAME 0x01000000u
#define MACHO_UNWIND_X86_64_MODE_STACK_IMMD 0x02000000u
#define MACHO_UNWIND_X86_64_MODE_DWARF 0x04000000u
#define MACHO_UNWIND_ARM64_MODE_FRAMELESS 0x02000000u
#define MACHO_UNWIND_ARM64_MODE_DWARF 0x03000000u
#define MACHO_UNWIND_ARM64_MODE_FRAME 0x04000000u

/* ---- code signature (big-endian blobs) ---------------------------------- */
#define MACHO_CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0u
#define MACHO_CSMAGIC_CODEDIRECTORY 0xfade0c02u
#define MACHO_CSMAGIC_REQUIREMENTS 0xfade0c01u
#define MACHO_CSSLOT_CODEDIRECTORY 0u
#define MACHO_CS_ADHOC 0x2u
#define MACHO_CS_LINKER_SIGNED 0x20000u
#define MACHO_CS_HASHTYPE_SHA256 2u
#define MACHO_CS_EXECSEG_MAIN_BINARY 0x1u

/* Does a section with these flags occupy no file bytes (zero-fill types)? */
static inline int macho_is_zerofill(uint32_t flags)
{
    uint32_t t = flags & MACHO_SECTION_TYPE;
    return t == MACHO_S_ZEROFILL || t == MACHO_S_GB_ZEROFILL || t == MACHO_S_THREAD_LOCAL_ZEROFILL;
}

/* v rounded up to a multiple of a (a power of two). */
#define MACHO_ALIGN_UP(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))

/* ---- parsed state ------------------------------------------------------- */

/* One load command as found: its command number, size and offset in the
 * image (from the start of the thin image, i.e. of the slice). */
struct macho_lc {
    uint32_t cmd, cmdsize;
    uint32_t off;
};

struct macho_seg {
    char name[17];        /* NUL-terminated copy of segname */
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t maxprot, initprot, nsects, flags;
    uint32_t lc;          /* index into macho_state.lc */
    uint32_t first_sect;  /* index into macho_state.sect of its first section */
};

struct macho_sect {
    char sectname[17], segname[17]; /* NUL-terminated copies */
    char model_name[36];            /* "__SEGNAME,__sectname" (rw_section.name) */
    uint64_t addr, size;
    uint32_t offset, align, reloff, nreloc, flags, reserved1, reserved2, reserved3;
    uint32_t seg;         /* index into macho_state.seg */
    uint32_t hdr_off;     /* image offset of its section_64 header */
};

/* A linkedit_data_command (dataoff, datasize), or absent. */
struct macho_ldata {
    int present;
    uint32_t lc;          /* index into macho_state.lc */
    uint32_t dataoff, datasize;
};

struct macho_state {
    uint32_t cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags;

    struct macho_lc *lc;
    size_t nlc;
    struct macho_seg *seg;
    size_t nseg;
    struct macho_sect *sect; /* ordinal n is sect[n - 1]; model section n - 1 */
    size_t nsect;

    /* LC_SYMTAB */
    int has_symtab;
    uint32_t symtab_lc, symoff, nsyms, stroff, strsize;
    /* LC_DYSYMTAB */
    int has_dysymtab;
    uint32_t dysymtab_lc;
    uint32_t ilocalsym, nlocalsym, iextdefsym, nextdefsym, iundefsym, nundefsym;
    uint32_t tocoff, ntoc, modtaboff, nmodtab, extrefsymoff, nextrefsyms;
    uint32_t indirectsymoff, nindirectsyms, extreloff, nextrel, locreloff, nlocrel;
    /* LC_DYLD_INFO / LC_DYLD_INFO_ONLY */
    int has_dyld_info;
    uint32_t dyld_info_lc;
    uint32_t rebase_off, rebase_size, bind_off, bind_size, weak_bind_off, weak_bind_size;
    uint32_t lazy_bind_off, lazy_bind_size, export_off, export_size;
    /* linkedit_data_command users */
    struct macho_ldata chained_fixups, exports_trie, function_starts, data_in_code,
        code_signature, dylib_code_sign_drs, linker_opt_hint, split_info;
    /* LC_MAIN */
    int has_main;
    uint64_t entryoff;

    uint32_t text_seg;     /* index of __TEXT (the segment mapping file offset 0), or UINT32_MAX */
    uint32_t linkedit_seg; /* index of __LINKEDIT, or UINT32_MAX */
    uint64_t base;         /* linked images: __TEXT's vmaddr (the preferred load address) */
    /* Bytes between the end of the load commands and the first section's (or
     * segment's, above 0) file offset: room for new load commands if zero. */
    uint32_t lc_end;       /* MACHO_HEADER_SIZE + sizeofcmds */
    uint32_t lc_room;      /* first content byte - lc_end (0 when none) */

    /* symbols: sym_model[i] is the model index of nlist entry i, or RW_NONE
     * (stabs and the like are not in the model); nsyms entries. */
    uint32_t *sym_model;
    uint32_t sect_sym_base; /* model index of section 1's synthesized symbol */

    /* objects: raw_index[i] for model relocation i (see above); nrel entries */
    uint32_t *raw_index;

    /* linked images: every pointer the loader fills, sorted by address (from
     * rebase + bind opcodes or from chained fixups), for read_pointer and the
     * helper's slots. target is the link-time value for a rebase (kind
     * MACHO_FIX_REBASE) or the bound symbol's name for a bind. */
    struct macho_fix *fix;
    size_t nfix;

    /* (added by the reader; private to macho.c, macho_lc.c, macho_sym.c,
     * macho_dyld.c) */
    char *helper_sym;      /* "_" + img->helper_name, the name as stored */
    uint32_t map_sec;      /* model section of the rewrite map, or RW_NONE */
    int chained;           /* fixups come from LC_DYLD_CHAINED_FIXUPS */
    uint16_t chained_format; /* its pointer format (DYLD_CHAINED_PTR_*), 0 when none */
    size_t func_cap, rel_cap, fix_cap, haddr_cap, hslot_cap, hsym_cap, hplt_cap;
};

enum macho_fix_kind { MACHO_FIX_REBASE = 1, MACHO_FIX_BIND = 2 };
struct macho_fix {
    uint64_t va;
    uint32_t kind;       /* enum macho_fix_kind */
    int32_t dylib;       /* bind: library ordinal (may be <= 0: special) */
    uint64_t target;     /* rebase: link-time value the slot holds after loading */
    const char *name;    /* bind: symbol name (points into the image) */
    int64_t addend;      /* bind */
    int lazy;            /* bind: from the lazy-bind stream */
};

static inline struct macho_state *macho_st(const struct rw_image *img)
{
    return (struct macho_state *)img->backend;
}

/* Bounds-checked little-endian reads from the image; 0 when out of range
 * (callers check the range first; these never read outside [0, size)). */
static inline uint32_t macho_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t macho_u64(const uint8_t *p)
{
    return (uint64_t)macho_u32(p) | (uint64_t)macho_u32(p + 4) << 32;
}
static inline void macho_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void macho_put64(uint8_t *p, uint64_t v)
{
    macho_put32(p, (uint32_t)v);
    macho_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t macho_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void macho_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---- who does what -------------------------------------------------------- */

/* macho_lc.c: header, load commands, segments and sections (validated). */
enum rw_err macho_read_commands(struct rw_image *img, struct macho_state *st, struct rw_diag *d);
/* macho_sym.c: symbols, function ranges (symbols, LC_FUNCTION_STARTS), the
 * helper's symbols; objects: relocations. */
enum rw_err macho_read_symbols(struct rw_image *img, struct macho_state *st, struct rw_diag *d);
enum rw_err macho_read_relocs(struct rw_image *img, struct macho_state *st, struct rw_diag *d);
/* macho_dyld.c: rebase/bind opcodes or chained fixups into st->fix; the
 * helper's slots and __stubs entries; read_pointer. */
enum rw_err macho_read_fixups(struct rw_image *img, struct macho_state *st, struct rw_diag *d);
enum rw_err macho_read_pointer(const struct rw_image *img, uint64_t va, uint64_t *value);

/* Reader internals (macho.c): the model's push helpers (the helper's address
 * and slot lists are sorted and freed of duplicates at the end of open);
 * growable arrays are image.h's rw_grow. */
enum rw_err macho_push_func(struct rw_image *img, uint32_t sec, uint64_t start, uint64_t end,
                            const char *name, struct rw_diag *d);
enum rw_err macho_push_helper_addr(struct rw_image *img, uint64_t va, struct rw_diag *d);
enum rw_err macho_push_helper_slot(struct rw_image *img, uint64_t va, struct rw_diag *d);
enum rw_err macho_push_plt_sec(struct rw_image *img, uint32_t sec, struct rw_diag *d);
/* A linked image's segment holding [va, va + len) in its file data: the
 * file offset, or -1 (also for the zero-filled tail of a segment). */
int64_t macho_va_to_off(const struct macho_state *st, uint64_t va, uint64_t len);
/* ULEB128 / SLEB128 from [*p, end): 0 and *p advanced, or -1 (truncated or
 * more than 64 bits). */
int macho_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* Append v as ULEB128 (shortest form); 0, or -1 when out of memory. */
int macho_put_uleb(struct rw_buf *b, uint64_t v);
int macho_sleb(const uint8_t **p, const uint8_t *end, int64_t *v);

/* chained fixups (<mach-o/fixup-chains.h>) */
#define MACHO_DYLD_CHAINED_PTR_ARM64E 1u
#define MACHO_DYLD_CHAINED_PTR_64 2u
#define MACHO_DYLD_CHAINED_PTR_64_OFFSET 6u
#define MACHO_DYLD_CHAINED_IMPORT 1u
#define MACHO_DYLD_CHAINED_IMPORT_ADDEND 2u
#define MACHO_DYLD_CHAINED_IMPORT_ADDEND64 3u

/* macho_write_obj.c: MH_OBJECT. */
struct rw_plan;
enum rw_err macho_write_object(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d);
/* macho_write.c: MH_EXECUTE, MH_DYLIB, MH_BUNDLE (format.h code_va, write). */
enum rw_err macho_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d);
enum rw_err macho_write_image(const struct rw_image *img, const struct rw_plan *plan,
                              struct rw_buf *out, struct rw_diag *d);

/* macho_sign.c: ad-hoc code signatures (docs/macho-signing.md).
 * What an existing signature says, for re-signing with the same identity. */
struct macho_sig_info {
    int present;          /* LC_CODE_SIGNATURE with a CodeDirectory */
    char ident[256];      /* the CodeDirectory's identifier */
    uint32_t cd_flags;    /* e.g. CS_ADHOC | CS_LINKER_SIGNED */
    uint32_t page_shift;  /* 12 (4 KiB) or 14 (16 KiB) */
    uint64_t exec_seg_base, exec_seg_limit, exec_seg_flags;
};
/* Read the signature of a thin image (data, size); *info zeroed when there is
 * none. RW_E_CORRUPT when a blob is malformed. */
enum rw_err macho_sign_info(const uint8_t *data, size_t size, struct macho_sig_info *info,
                            struct rw_diag *d);
/* Bytes an ad-hoc signature of code_limit bytes (the signature's file
 * offset) with identifier ident takes (16-byte aligned). */
size_t macho_sign_size(uint64_t code_limit, const char *ident, uint32_t page_shift);
/* Write an ad-hoc signature (a SuperBlob holding one CodeDirectory in
 * ld64.lld's linker-signature layout: SHA-256 page hashes over [0, sig_off),
 * no special slots, no requirements blob) at file[sig_off, +sig_size);
 * sig_size is macho_sign_size(sig_off, ...); LC_CODE_SIGNATURE must already
 * say (sig_off, sig_size) and every other header byte must be final, because
 * page 0 is hashed too. exec_seg_*: the __TEXT segment's file range and
 * flags (MAIN_BINARY for MH_EXECUTE). */
enum rw_err macho_sign_write(uint8_t *file, size_t file_size, uint32_t sig_off,
                             uint32_t sig_size, const struct macho_sig_info *like,
                             struct rw_diag *d);

/* macho_unwind.c: __TEXT,__unwind_info (version 1), rebuilt with entries
 * added. old: the existing section's bytes (NULL, 0: none), laid out for an
 * image whose __TEXT starts at image_base (function offsets in the table are
 * relative to it). adds: functions to add (offset from image_base, its
 * 32-bit compact encoding), sorted by offset, each above every function the
 * old table covers; end: the offset just past the last added function (the
 * sentinel). Every existing entry (encoding, personality, LSDA) is kept.
 * out receives the new section's bytes. RW_E_CORRUPT for a malformed old
 * table, RW_E_UNSUPPORTED for what it does not handle (with one line). */
struct macho_unwind_add {
    uint32_t func_off;
    uint32_t encoding;
};
enum rw_err macho_unwind_rebuild(const uint8_t *old, size_t old_size,
                                 const struct macho_unwind_add *adds, size_t nadd, uint32_t end,
                                 struct rw_buf *out, struct rw_diag *d);

#endif

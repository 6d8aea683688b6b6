/* macho_write_obj.h - private to the MH_OBJECT writer (macho_write_obj*.c;
 * docs/macho-objects.md): its state and the steps the parts share.
 *
 *  - macho_write_obj.c      the driver: macho_write_object, the commands it
 *                           accepts, the file layout and the output bytes;
 *  - macho_write_obj_sec.c  the output's sections: the existing ones with
 *                           their relocation tables, the new stub and map
 *                           sections, their addresses;
 *  - macho_write_obj_sym.c  the symbol table: stub symbols inserted in the
 *                           order LC_DYSYMTAB requires, the string table,
 *                           every symbol index renumbered (relocations,
 *                           indirect symbols);
 *  - macho_write_obj_rel.c  sites patched and their relocations retargeted,
 *                           dropped relocations, linker optimisation hints;
 *  - macho_write_obj_cu.c   __LD,__compact_unwind entries for the stubs.
 *
 * The driver calls the steps in this order: mo_load_sections, rw_map_from_plan,
 * mo_add_stubs, mo_cu_add, mo_add_map, mo_place_sections, mo_build_symbols,
 * mo_cu_move_symbols, mo_renumber, mo_cu_name_symbols, mo_patch_sites,
 * mo_build_indirect, (data in code), mo_filter_loh, then the layout, with
 * mo_drop_relocs, and the bytes. */
#ifndef CALLIRW_MACHO_WRITE_OBJ_H
#define CALLIRW_MACHO_WRITE_OBJ_H

#include "buf.h"
#include "macho_priv.h"
#include "plan.h"


#define MO_MAP_SECT "__callirw_map"
#define MO_MAP_SEG "__DWARF"
#define MO_STUB_SECT "__callirw"
#define MO_MAX_SECTIONS 255u /* n_sect is one byte */

/* relocation_info word 1 */
#define MO_R_SYM(w) ((w) & 0xffffffu)
#define MO_R_EXTERN(w) (((w) >> 27) & 1u)
#define MO_R_TYPE(w) ((w) >> 28)
#define MO_R_WORD1(sym, pcrel, len, ext, type)                                               \
    ((uint32_t)(sym) | (uint32_t)(pcrel) << 24 | (uint32_t)(len) << 25 | (uint32_t)(ext) << 27 | \
     (uint32_t)(type) << 28)

/* A relocation table being rebuilt: raw entries (8 bytes each). */
struct mo_rtab {
    uint8_t *e;   /* n entries */
    size_t n, cap;
    uint8_t *del; /* per original entry: dropped */
};

/* A section of the output: an existing one (index < nsec_old) or a new one. */
struct mo_sec {
    char sectname[16], segname[16];
    uint64_t addr, size;
    uint32_t align, flags, r1, r2, r3;
    int zerofill;
    const uint8_t *src;   /* existing contents (input bytes), or NULL */
    uint64_t src_size;
    struct rw_buf extra;  /* bytes after src (new sections: everything) */
    struct mo_rtab rel;
    uint32_t offset, reloff; /* in the output */
};

struct mo {
    const struct rw_image *img;
    const struct rw_plan *plan;
    struct macho_state *st;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;
    int a64;

    struct mo_sec *sec;   /* nsec_old existing, then new ones */
    size_t nsec, nsec_old;
    uint32_t *stub_sect;  /* per stub: output section index */
    uint64_t *stub_off;   /* per stub: offset in that section */
    uint32_t map_sec;     /* output index of the map section */
    uint32_t cu;          /* output index of __LD,__compact_unwind, or UINT32_MAX */
    int cu_moved;         /* an existing one grows and moves */
    uint64_t cu_old_addr;

    /* symbols */
    uint8_t *syms;        /* new nlist_64 table */
    uint32_t nsyms_new;
    uint32_t *remap;      /* old index -> new index */
    uint32_t *stub_sym;   /* per stub: new index */
    struct rw_buf strs;
    uint32_t ilocal, nlocal, iextdef, nextdef, iundef, nundef;

    /* sites: per existing section, its patched copy (or NULL); the patched
     * instructions' address ranges [start, end), nhint pairs */
    uint8_t **patched;
    uint64_t *hint;
    size_t nhint;

    struct rw_buf indirect, loh, dic;
};

/* macho_write_obj.c */
enum rw_err mo_oom(struct mo *w);
/* [off, off + len) lies in the input. */
int mo_in_file(const struct mo *w, uint64_t off, uint64_t len);

/* macho_write_obj_sec.c */
/* The existing sections, with their relocation tables (extern symbols not
 * yet renumbered); finds __LD,__compact_unwind (w->cu). */
enum rw_err mo_load_sections(struct mo *w);
/* A new, empty section; *index is its output index. */
enum rw_err mo_add_sec(struct mo *w, const char *seg, const char *sect, uint32_t align,
                       uint32_t flags, uint32_t *index);
/* The stubs: one section, or one per stub without MH_SUBSECTIONS_VIA_SYMBOLS. */
enum rw_err mo_add_stubs(struct mo *w);
/* The rewrite map's section (the last new one). */
enum rw_err mo_add_map(struct mo *w, const uint8_t *map, size_t map_len);
/* Sizes and addresses of the new sections (and of a moved compact unwind),
 * after every existing section. */
enum rw_err mo_place_sections(struct mo *w);

/* macho_write_obj_sym.c */
/* The new symbol and string tables with the stub symbols, w->remap and
 * w->stub_sym (needs the sections placed). */
enum rw_err mo_build_symbols(struct mo *w);
/* Extern relocations renumbered; scattered ones and references into a
 * compact unwind section that moves refused. */
enum rw_err mo_renumber(struct mo *w);
/* The indirect symbol table, renumbered. */
enum rw_err mo_build_indirect(struct mo *w);

/* macho_write_obj_rel.c */
enum rw_err mo_rtab_push(struct mo *w, struct mo_rtab *t, uint32_t addr, uint32_t word1);
/* Every rewritable site patched in w->patched, its relocation retargeted to
 * its stub's symbol, its addresses noted in w->hint. */
enum rw_err mo_patch_sites(struct mo *w);
/* Existing tables without the entries marked deleted. */
void mo_drop_relocs(struct mo *w);
/* LC_LINKER_OPTIMIZATION_HINT's data into w->loh, without the hints that
 * mention a patched instruction. */
enum rw_err mo_filter_loh(struct mo *w);

/* macho_write_obj_cu.c */
/* Compact unwind entries for the stubs (a new section, or the existing one
 * grown; it then moves), relocations without symbols yet. */
enum rw_err mo_cu_add(struct mo *w);
/* Symbols in a moved compact unwind section follow it. */
void mo_cu_move_symbols(struct mo *w);
/* The entries' relocations name the stub symbols. */
void mo_cu_name_symbols(struct mo *w);

#endif

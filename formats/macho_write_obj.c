/* macho_write_obj.c - rewriting MH_OBJECT files, x86-64 and arm64
 * (docs/macho-objects.md).
 *
 * The whole object is laid out again: header, load commands (the one
 * LC_SEGMENT_64 grows by the new section headers, every other command is
 * kept with its file offsets updated), section contents (sites patched),
 * relocation tables, linkedit blobs (data in code, optimisation hints),
 * indirect symbols, symbols and strings. Existing sections keep their
 * ordinals and addresses, so n_sect, n_value, non-extern relocations and the
 * addends x86-64 keeps in instruction fields all stay valid; the new
 * sections get addresses after the last existing one. The one exception is
 * an existing __LD,__compact_unwind that receives the stubs' entries: it
 * grows, so it moves to the end of the address space (nothing refers into
 * it; that is checked).
 *
 * New sections: the stubs in __TEXT,__callirw (one section for all stubs
 * when the object has MH_SUBSECTIONS_VIA_SYMBOLS, else one such section per
 * stub: without subsections a linker coalesces a weak definition by
 * dropping its whole section); the stubs' compact unwind entries; the
 * rewrite map in __DWARF,__callirw_map (S_ATTR_DEBUG: linkers drop it, so
 * it never reaches a linked image).
 *
 * New symbols: ___callirw_stub_<key>, N_SECT | N_EXT | N_PEXT with
 * N_WEAK_DEF, inserted among the external definitions sorted by name (the
 * order LC_DYSYMTAB requires); every extern relocation's r_symbolnum and
 * every indirect symbol is renumbered.
 */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"
#include "map.h"
#include "patch.h"
#include "plan.h"

#define ALIGN_UP(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))

#define MAP_SECT "__callirw_map"
#define MAP_SEG "__DWARF"
#define STUB_SECT "__callirw"
#define LC_NOTE 0x31u

/* relocation_info word 1 */
#define R_SYM(w) ((w) & 0xffffffu)
#define R_EXTERN(w) (((w) >> 27) & 1u)
#define R_TYPE(w) ((w) >> 28)
#define R_WORD1(sym, pcrel, len, ext, type)                                                  \
    ((uint32_t)(sym) | (uint32_t)(pcrel) << 24 | (uint32_t)(len) << 25 | (uint32_t)(ext) << 27 | \
     (uint32_t)(type) << 28)

/* A relocation table being rebuilt: raw entries (8 bytes each). */
struct rtab {
    uint8_t *e;   /* n entries */
    size_t n, cap;
    uint8_t *del; /* per original entry: dropped */
};

/* A section of the output: an existing one (index < nsec_old) or a new one. */
struct osec {
    char sectname[16], segname[16];
    uint64_t addr, size;
    uint32_t align, flags, r1, r2, r3;
    int zerofill;
    const uint8_t *src;   /* existing contents (input bytes), or NULL */
    uint64_t src_size;
    struct rw_buf extra;  /* bytes after src (new sections: everything) */
    struct rtab rel;
    uint32_t offset, reloff; /* in the output */
};

struct ow {
    const struct rw_image *img;
    const struct rw_plan *plan;
    struct macho_state *st;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;
    int a64;

    struct osec *sec;     /* nsec_old existing, then new ones */
    size_t nsec, nsec_old;
    uint32_t *stub_sect;  /* per stub: output section index */
    uint64_t *stub_off;   /* per stub: offset in that section */
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

    struct rw_buf indirect, loh, dic;
};

static enum rw_err oom(struct ow *w)
{
    return rw_fail(w->d, RW_E_NOMEM, "out of memory");
}

static int in_file(const struct ow *w, uint64_t off, uint64_t len)
{
    return off <= w->insz && len <= w->insz - off;
}

static int is_zerofill(uint32_t flags)
{
    uint32_t t = flags & MACHO_SECTION_TYPE;
    return t == MACHO_S_ZEROFILL || t == MACHO_S_GB_ZEROFILL || t == MACHO_S_THREAD_LOCAL_ZEROFILL;
}

static void name16(char dst[16], const char *src)
{
    memset(dst, 0, 16);
    memcpy(dst, src, strnlen(src, 16));
}

static enum rw_err rtab_push(struct ow *w, struct rtab *t, uint32_t addr, uint32_t word1)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        uint8_t *e = realloc(t->e, cap * MACHO_RELOC_SIZE);
        if (!e)
            return oom(w);
        t->e = e;
        t->cap = cap;
    }
    macho_put32(t->e + t->n * MACHO_RELOC_SIZE, addr);
    macho_put32(t->e + t->n * MACHO_RELOC_SIZE + 4, word1);
    t->n++;
    return RW_OK;
}

/* The string at n_strx, or NULL. */
static const char *str_at(const struct ow *w, uint32_t strx)
{
    const struct macho_state *st = w->st;
    if (strx >= st->strsize)
        return NULL;
    const char *s = (const char *)w->in + st->stroff + strx;
    return memchr(s, 0, st->strsize - strx) ? s : NULL;
}

/* ---- sections ------------------------------------------------------------ */

static enum rw_err add_osec(struct ow *w, const char *seg, const char *sect, uint32_t align,
                            uint32_t flags, uint32_t *index)
{
    if (w->nsec >= 255)
        return rw_fail(w->d, RW_E_NOROOM, "more than 255 sections needed (one per stub without "
                                          "MH_SUBSECTIONS_VIA_SYMBOLS)");
    struct osec *o = &w->sec[w->nsec];
    memset(o, 0, sizeof *o);
    name16(o->segname, seg);
    name16(o->sectname, sect);
    o->align = align;
    o->flags = flags;
    *index = (uint32_t)w->nsec++;
    return RW_OK;
}

/* The existing sections, with their relocation tables (extern symbols not
 * yet renumbered). */
static enum rw_err load_sections(struct ow *w)
{
    struct macho_state *st = w->st;
    w->cu = UINT32_MAX;
    for (size_t i = 0; i < st->nsect; i++) {
        const struct macho_sect *s = &st->sect[i];
        struct osec *o = &w->sec[i];
        if (!in_file(w, s->hdr_off, MACHO_SECTION_SIZE))
            return rw_fail(w->d, RW_E_CORRUPT, "section header past the end of the file");
        memcpy(o->sectname, w->in + s->hdr_off, 16);
        memcpy(o->segname, w->in + s->hdr_off + 16, 16);
        o->addr = s->addr;
        o->size = s->size;
        o->align = s->align;
        o->flags = s->flags;
        o->r1 = s->reserved1;
        o->r2 = s->reserved2;
        o->r3 = s->reserved3;
        o->zerofill = is_zerofill(s->flags);
        if (s->addr > UINT64_MAX - s->size || s->align > 15)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "section %s: address or alignment out of range",
                           s->model_name);
        if (!o->zerofill && s->size) {
            if (!in_file(w, s->offset, s->size))
                return rw_fail(w->d, RW_E_CORRUPT, "section %s lies past the end of the file",
                               s->model_name);
            o->src = w->in + s->offset;
            o->src_size = s->size;
        }
        if (s->nreloc) {
            if (!in_file(w, s->reloff, (uint64_t)s->nreloc * MACHO_RELOC_SIZE))
                return rw_fail(w->d, RW_E_CORRUPT, "section %s: relocations past the end of the file",
                               s->model_name);
            o->rel.n = o->rel.cap = s->nreloc;
            o->rel.e = malloc((size_t)s->nreloc * MACHO_RELOC_SIZE);
            o->rel.del = calloc(s->nreloc, 1);
            if (!o->rel.e || !o->rel.del)
                return oom(w);
            memcpy(o->rel.e, w->in + s->reloff, (size_t)s->nreloc * MACHO_RELOC_SIZE);
        }
        if (!strcmp(s->segname, "__LD") && !strcmp(s->sectname, "__compact_unwind")) {
            if (w->cu != UINT32_MAX)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "two __LD,__compact_unwind sections");
            if (o->zerofill || s->size % MACHO_COMPACT_UNWIND_ENTRY_SIZE)
                return rw_fail(w->d, RW_E_CORRUPT, "__LD,__compact_unwind: size not a multiple of 32");
            w->cu = (uint32_t)i;
        }
        if (!strcmp(s->sectname, STUB_SECT) || !strcmp(s->sectname, MAP_SECT))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "the object already has a %s section", s->sectname);
    }
    w->nsec = w->nsec_old = st->nsect;
    return RW_OK;
}

/* Compact unwind encoding of a stub: stub_compact_unwind derives it from the
 * stub's own unwind description (docs/stubs.md section 10); 0 (no unwind
 * information) for a frame the encoding cannot say exactly. */
static uint32_t cu_encoding(const struct stub_code *c)
{
    uint32_t enc;
    return stub_compact_unwind(c, &enc, NULL) == STUB_OK ? enc : 0;
}

/* The new sections: stubs, compact unwind (new, or the old one grown and
 * moved), map; addresses after every existing section. */
static enum rw_err add_sections(struct ow *w, const uint8_t *map, size_t map_len)
{
    enum rw_err e = RW_OK;
    const struct rw_plan *p = w->plan;
    int subsections = (w->st->flags & MACHO_MH_SUBSECTIONS_VIA_SYMBOLS) != 0;
    uint32_t code_flags = MACHO_S_ATTR_PURE_INSTRUCTIONS | MACHO_S_ATTR_SOME_INSTRUCTIONS;
    uint32_t one = UINT32_MAX;
    for (size_t i = 0; i < p->nstubs; i++) {
        const struct rw_stub *s = &p->stubs[i];
        if (!s->code.len || s->code.len > UINT32_MAX)
            return rw_fail(w->d, RW_E_INTERNAL, "stub %s: bad code size", s->symbol);
        if (subsections) {
            if (one == UINT32_MAX && (e = add_osec(w, "__TEXT", STUB_SECT, 4, code_flags, &one)))
                return e;
            struct osec *o = &w->sec[one];
            if (s->offset < o->extra.len || s->offset > p->text_size)
                return rw_fail(w->d, RW_E_INTERNAL, "stub %s: bad offset", s->symbol);
            static const uint8_t zero[16];
            while (o->extra.len < s->offset)
                if (rw_buf_append(&o->extra, zero, 1))
                    return oom(w);
            w->stub_sect[i] = one;
            w->stub_off[i] = s->offset;
            if (rw_buf_append(&o->extra, s->code.bytes, s->code.len))
                return oom(w);
        } else {
            uint32_t k;
            if ((e = add_osec(w, "__TEXT", STUB_SECT, 4, code_flags, &k)))
                return e;
            w->stub_sect[i] = k;
            w->stub_off[i] = 0;
            if (rw_buf_append(&w->sec[k].extra, s->code.bytes, s->code.len))
                return oom(w);
        }
    }

    /* Compact unwind: every stub gets an entry when the object has the
     * section or a stub keeps a frame (a stub without an entry would be
     * described by whatever precedes it in the linked __unwind_info). */
    int framed = 0;
    for (size_t i = 0; i < p->nstubs; i++)
        framed |= p->stubs[i].code.has_frame;
    if (p->nstubs && (framed || w->cu != UINT32_MAX)) {
        if (w->cu == UINT32_MAX) {
            if ((e = add_osec(w, "__LD", "__compact_unwind", 3, MACHO_S_ATTR_DEBUG, &w->cu)))
                return e;
        } else {
            w->cu_moved = 1;
            w->cu_old_addr = w->sec[w->cu].addr;
        }
        struct osec *o = &w->sec[w->cu];
        uint64_t base = o->src_size;
        for (size_t i = 0; i < p->nstubs; i++) {
            uint8_t ent[MACHO_COMPACT_UNWIND_ENTRY_SIZE] = {0};
            /* function start: 0 + the stub symbol (an extern UNSIGNED) */
            macho_put32(ent + 8, (uint32_t)p->stubs[i].code.len);
            macho_put32(ent + 12, cu_encoding(&p->stubs[i].code));
            uint64_t at = base + o->extra.len;
            if (at > UINT32_MAX - MACHO_COMPACT_UNWIND_ENTRY_SIZE)
                return rw_fail(w->d, RW_E_NOROOM, "__LD,__compact_unwind too large");
            if (rw_buf_append(&o->extra, ent, sizeof ent) ||
                (e = rtab_push(w, &o->rel, (uint32_t)at,
                               /* X86_64_ and ARM64_RELOC_UNSIGNED are both 0 */
                               R_WORD1(0, 0, 3, 1, MACHO_ARM64_RELOC_UNSIGNED))))
                return e ? e : oom(w);
        }
    }

    uint32_t mi;
    if ((e = add_osec(w, MAP_SEG, MAP_SECT, 3, MACHO_S_ATTR_DEBUG, &mi)))
        return e;
    if (rw_buf_append(&w->sec[mi].extra, map, map_len))
        return oom(w);

    /* addresses: after the end of every existing section (the moved
     * compact unwind's old place is left as a hole) */
    uint64_t end = 0;
    for (size_t i = 0; i < w->nsec_old; i++)
        if (!(w->cu_moved && i == w->cu) && w->sec[i].addr + w->sec[i].size > end)
            end = w->sec[i].addr + w->sec[i].size;
    for (size_t i = w->nsec_old; i < w->nsec; i++) {
        /* order: stubs, compact unwind (new or moved), map */
        for (int pass = 0; pass < 2; pass++) {
            size_t k = pass ? i : w->cu;
            if (!pass && !(w->cu_moved && i == mi))
                continue;
            struct osec *o = &w->sec[k];
            o->size = o->src_size + o->extra.len;
            uint64_t a = 1ull << o->align;
            if (end > UINT64_MAX - a - o->size)
                return rw_fail(w->d, RW_E_NOROOM, "section addresses overflow");
            o->addr = ALIGN_UP(end, a);
            end = o->addr + o->size;
        }
    }
    return RW_OK;
}

/* ---- symbols --------------------------------------------------------------- */

struct extdef {
    const char *name;
    uint32_t old;  /* old index, or UINT32_MAX - stub for a new one */
};

static int cmp_extdef(const void *a, const void *b)
{
    const struct extdef *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->old < y->old ? -1 : x->old > y->old;
}

static enum rw_err build_symbols(struct ow *w)
{
    struct macho_state *st = w->st;
    const struct rw_plan *p = w->plan;
    uint32_t n = st->nsyms;
    if (!st->has_symtab)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "object without LC_SYMTAB: no room for the stub symbols");
    if (!in_file(w, st->symoff, (uint64_t)n * MACHO_NLIST_SIZE) || !in_file(w, st->stroff, st->strsize))
        return rw_fail(w->d, RW_E_CORRUPT, "symbol or string table past the end of the file");
    if ((uint64_t)n + p->nstubs > 0xffffffu)
        return rw_fail(w->d, RW_E_NOROOM, "too many symbols for a relocation's 24-bit index");
    uint32_t ilocal = 0, nlocal = n, iext = n, next = 0, iundef = n, nundef = 0;
    if (st->has_dysymtab) {
        ilocal = st->ilocalsym, nlocal = st->nlocalsym;
        iext = st->iextdefsym, next = st->nextdefsym;
        iundef = st->iundefsym, nundef = st->nundefsym;
        if (ilocal != 0 || (uint64_t)nlocal != iext || (uint64_t)iext + next != iundef ||
            (uint64_t)iundef + nundef != n)
            return rw_fail(w->d, RW_E_UNSUPPORTED,
                           "LC_DYSYMTAB's symbol ranges do not partition the symbol table");
    }
    const uint8_t *old = w->in + st->symoff;
    /* the string table: old strings, then the new names */
    if (rw_buf_append(&w->strs, w->in + st->stroff, st->strsize) ||
        (st->strsize == 0 && rw_buf_append(&w->strs, "", 1)))
        return oom(w);
    struct extdef *ed = calloc((size_t)next + p->nstubs + 1, sizeof *ed);
    uint32_t *stub_strx = calloc(p->nstubs + 1, sizeof *stub_strx);
    char **names = calloc(p->nstubs + 1, sizeof *names);
    enum rw_err e = RW_OK;
    if (!ed || !stub_strx || !names) {
        e = oom(w);
        goto done;
    }
    for (uint32_t i = 0; i < next; i++) {
        const char *s = str_at(w, macho_u32(old + (size_t)(iext + i) * MACHO_NLIST_SIZE));
        if (!s) {
            e = rw_fail(w->d, RW_E_CORRUPT, "symbol %u: name outside the string table", iext + i);
            goto done;
        }
        ed[i] = (struct extdef){s, iext + i};
    }
    for (size_t i = 0; i < p->nstubs; i++) {
        size_t len = strlen(p->stubs[i].symbol) + 2;
        names[i] = malloc(len);
        if (!names[i]) {
            e = oom(w);
            goto done;
        }
        snprintf(names[i], len, "_%s", p->stubs[i].symbol);
        if (w->strs.len > UINT32_MAX - len) {
            e = rw_fail(w->d, RW_E_NOROOM, "string table too large");
            goto done;
        }
        stub_strx[i] = (uint32_t)w->strs.len;
        if (rw_buf_append(&w->strs, names[i], len)) {
            e = oom(w);
            goto done;
        }
        ed[next + i] = (struct extdef){names[i], UINT32_MAX - (uint32_t)i};
    }
    /* a name already taken (defined or referenced) would be a clash */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *nl = old + (size_t)i * MACHO_NLIST_SIZE;
        if (nl[4] & MACHO_N_STAB)
            continue;
        const char *s = str_at(w, macho_u32(nl));
        for (size_t k = 0; s && k < p->nstubs; k++)
            if (!strcmp(s, names[k])) {
                e = rw_fail(w->d, RW_E_UNSUPPORTED, "the object already has a symbol %s", s);
                goto done;
            }
    }
    while (w->strs.len % 8)
        if (rw_buf_append(&w->strs, "", 1)) {
            e = oom(w);
            goto done;
        }
    if (w->strs.len > UINT32_MAX) {
        e = rw_fail(w->d, RW_E_NOROOM, "string table too large");
        goto done;
    }
    /* new extdefs sorted by name; without LC_DYSYMTAB the stubs are simply
     * appended (nothing orders the table) */
    size_t total_ext = (size_t)next + p->nstubs;
    if (st->has_dysymtab)
        qsort(ed, total_ext, sizeof *ed, cmp_extdef);
    w->nsyms_new = n + (uint32_t)p->nstubs;
    w->syms = calloc((size_t)w->nsyms_new + 1, MACHO_NLIST_SIZE);
    w->remap = calloc((size_t)n + 1, sizeof *w->remap);
    if (!w->syms || !w->remap) {
        e = oom(w);
        goto done;
    }
    uint32_t out = 0;
    for (uint32_t i = 0; i < iext; i++, out++) {
        w->remap[i] = out;
        memcpy(w->syms + (size_t)out * MACHO_NLIST_SIZE, old + (size_t)i * MACHO_NLIST_SIZE,
               MACHO_NLIST_SIZE);
    }
    for (size_t k = 0; k < total_ext; k++, out++) {
        uint8_t *nl = w->syms + (size_t)out * MACHO_NLIST_SIZE;
        if (ed[k].old > UINT32_MAX - p->nstubs) {
            size_t i = UINT32_MAX - ed[k].old;
            struct osec *o = &w->sec[w->stub_sect[i]];
            w->stub_sym[i] = out;
            macho_put32(nl, stub_strx[i]);
            nl[4] = MACHO_N_SECT | MACHO_N_EXT | MACHO_N_PEXT;
            nl[5] = (uint8_t)(w->stub_sect[i] + 1);
            nl[6] = (uint8_t)MACHO_N_WEAK_DEF;
            nl[7] = 0;
            macho_put64(nl + 8, o->addr + w->stub_off[i]);
        } else {
            w->remap[ed[k].old] = out;
            memcpy(nl, old + (size_t)ed[k].old * MACHO_NLIST_SIZE, MACHO_NLIST_SIZE);
        }
    }
    for (uint32_t i = iundef; i < n; i++, out++) {
        w->remap[i] = out;
        memcpy(w->syms + (size_t)out * MACHO_NLIST_SIZE, old + (size_t)i * MACHO_NLIST_SIZE,
               MACHO_NLIST_SIZE);
    }
    /* symbols inside a moved compact unwind section move with it */
    if (w->cu_moved) {
        for (uint32_t i = 0; i < w->nsyms_new; i++) {
            uint8_t *nl = w->syms + (size_t)i * MACHO_NLIST_SIZE;
            int sect = (nl[4] & MACHO_N_STAB) || (nl[4] & MACHO_N_TYPE) == MACHO_N_SECT;
            if (sect && nl[5] == w->cu + 1)
                macho_put64(nl + 8, macho_u64(nl + 8) - w->cu_old_addr + w->sec[w->cu].addr);
        }
    }
    w->ilocal = 0;
    w->nlocal = nlocal;
    w->iextdef = iext;
    w->nextdef = (uint32_t)total_ext;
    w->iundef = iext + (uint32_t)total_ext;
    w->nundef = nundef;
done:
    for (size_t i = 0; names && i < p->nstubs; i++)
        free(names[i]);
    free(names);
    free(ed);
    free(stub_strx);
    return e;
}

/* ---- relocations, sites ---------------------------------------------------- */

/* Renumber extern relocations; refuse what this writer cannot keep right. */
static enum rw_err renumber(struct ow *w)
{
    uint32_t n = w->st->nsyms;
    for (size_t s = 0; s < w->nsec_old; s++) {
        struct rtab *t = &w->sec[s].rel;
        for (size_t k = 0; k < w->st->sect[s].nreloc; k++) {
            uint8_t *r = t->e + k * MACHO_RELOC_SIZE;
            uint32_t addr = macho_u32(r), w1 = macho_u32(r + 4);
            if (addr & MACHO_R_SCATTERED)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "section %s: scattered relocation",
                               w->st->sect[s].model_name);
            if (R_EXTERN(w1)) {
                if (R_SYM(w1) >= n)
                    return rw_fail(w->d, RW_E_CORRUPT, "section %s: relocation symbol %u out of range",
                                   w->st->sect[s].model_name, R_SYM(w1));
                macho_put32(r + 4, (w1 & ~0xffffffu) | w->remap[R_SYM(w1)]);
            } else if (w->cu_moved && R_SYM(w1) == w->cu + 1 &&
                       !(w->a64 && R_TYPE(w1) == MACHO_ARM64_RELOC_ADDEND)) {
                return rw_fail(w->d, RW_E_UNSUPPORTED,
                               "a relocation refers into __LD,__compact_unwind, which must move");
            }
        }
    }
    return RW_OK;
}

/* Patch every rewritable site: bytes, relocation, and note its addresses
 * for the optimisation hints. */
static enum rw_err patch_sites(struct ow *w, uint8_t *patched_bytes[], uint64_t **hint_addr,
                               size_t *nhint)
{
    const struct rw_scan *scan = w->plan->scan;
    const struct rw_image *img = w->img;
    enum rw_err e;
    size_t cap = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        if (s->section >= w->nsec_old || s->stub >= w->plan->nstubs || s->length > RW_SITE_MAX_BYTES)
            return rw_fail(w->d, RW_E_INTERNAL, "site outside the object's sections");
        struct osec *o = &w->sec[s->section];
        if (!o->src || s->offset > o->src_size || s->length > o->src_size - s->offset ||
            memcmp(o->src + s->offset, s->orig, s->length))
            return rw_fail(w->d, RW_E_INTERNAL, "site bytes differ from the scan");
        if (s->offset + s->length > UINT32_MAX)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "site offset past 4 GiB");
        uint8_t bytes[RW_SITE_MAX_BYTES];
        if ((e = rw_site_patch(img->machine, s, RW_NO_ADDRESS, bytes, w->d)))
            return e;
        memcpy(patched_bytes[s->section] + s->offset, bytes, s->length);
        uint32_t sym = w->stub_sym[s->stub];
        int direct_a64 = w->a64 && (s->form == RW_FORM_BLR || s->form == RW_FORM_BR);
        if (direct_a64) {
            /* blr/br xN becomes bl/b: a relocation of its own; the adrp/ldr
             * that loaded xN keep theirs (they load a register the stub
             * clobbers anyway) */
            if ((e = rtab_push(w, &o->rel, (uint32_t)s->offset,
                               R_WORD1(sym, 1, 2, 1, MACHO_ARM64_RELOC_BRANCH26))))
                return e;
        } else {
            if (s->reloc >= img->nrel || !w->st->raw_index)
                return rw_fail(w->d, RW_E_INTERNAL, "site without its relocation");
            uint32_t ri = w->st->raw_index[s->reloc];
            size_t nr = w->st->sect[s->section].nreloc;
            if (ri >= nr)
                return rw_fail(w->d, RW_E_INTERNAL, "site relocation index out of range");
            uint8_t *r = o->rel.e + (size_t)ri * MACHO_RELOC_SIZE;
            if (w->a64 && R_TYPE(macho_u32(r + 4)) == MACHO_ARM64_RELOC_ADDEND) {
                /* the addend goes: the branch now targets the stub itself */
                o->rel.del[ri] = 1;
                if (++ri >= nr)
                    return rw_fail(w->d, RW_E_CORRUPT, "ARM64_RELOC_ADDEND without its partner");
                r += MACHO_RELOC_SIZE;
            }
            uint32_t field = w->a64 ? (uint32_t)s->offset : (uint32_t)(s->offset + s->length - 4);
            if (macho_u32(r) != field)
                return rw_fail(w->d, RW_E_INTERNAL, "site relocation is not at the call's field");
            /* x86-64: the field (0 after the patch) is the addend of a
             * BRANCH; arm64: imm26 0 */
            macho_put32(r + 4, w->a64 ? R_WORD1(sym, 1, 2, 1, MACHO_ARM64_RELOC_BRANCH26)
                                      : R_WORD1(sym, 1, 2, 1, MACHO_X86_64_RELOC_BRANCH));
        }
        if (*nhint + 1 > cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *h = realloc(*hint_addr, cap * 2 * sizeof *h);
            if (!h)
                return oom(w);
            *hint_addr = h;
        }
        (*hint_addr)[2 * *nhint] = o->addr + s->offset;
        (*hint_addr)[2 * *nhint + 1] = o->addr + s->offset + s->length;
        (*nhint)++;
    }
    return RW_OK;
}

/* ---- linkedit blobs -------------------------------------------------------- */

static enum rw_err put_uleb(struct ow *w, struct rw_buf *b, uint64_t v)
{
    return macho_put_uleb(b, v) ? oom(w) : RW_OK;
}

/* LC_LINKER_OPTIMIZATION_HINT without the entries that mention a patched
 * instruction (the linker would otherwise "optimise" the new sequence). */
static enum rw_err filter_loh(struct ow *w, const uint8_t *p, uint32_t size, const uint64_t *hint,
                              size_t nhint)
{
    const uint8_t *end = p + size;
    enum rw_err e;
    while (p < end) {
        uint64_t kind, count, a[16];
        const uint8_t *start = p;
        if (macho_uleb(&p, end, &kind))
            return rw_fail(w->d, RW_E_CORRUPT, "malformed linker optimisation hint");
        if (kind == 0 && (p == end || *start == 0)) {
            /* zero padding ends the stream */
            int zeros = 1;
            for (const uint8_t *q = start; q < end; q++)
                zeros &= *q == 0;
            if (zeros)
                break;
        }
        if (macho_uleb(&p, end, &count) || count > 16)
            return rw_fail(w->d, RW_E_CORRUPT, "malformed linker optimisation hint");
        int drop = 0;
        for (uint64_t k = 0; k < count; k++) {
            if (macho_uleb(&p, end, &a[k]))
                return rw_fail(w->d, RW_E_CORRUPT, "malformed linker optimisation hint");
            for (size_t h = 0; h < nhint; h++)
                drop |= a[k] >= hint[2 * h] && a[k] < hint[2 * h + 1];
        }
        if (drop)
            continue;
        if ((e = put_uleb(w, &w->loh, kind)) || (e = put_uleb(w, &w->loh, count)))
            return e;
        for (uint64_t k = 0; k < count; k++)
            if ((e = put_uleb(w, &w->loh, a[k])))
                return e;
    }
    while (w->loh.len % 8)
        if (rw_buf_append(&w->loh, "", 1))
            return oom(w);
    return RW_OK;
}

static enum rw_err build_indirect(struct ow *w)
{
    struct macho_state *st = w->st;
    if (!st->has_dysymtab || !st->nindirectsyms)
        return RW_OK;
    if (!in_file(w, st->indirectsymoff, (uint64_t)st->nindirectsyms * 4))
        return rw_fail(w->d, RW_E_CORRUPT, "indirect symbol table past the end of the file");
    for (uint32_t i = 0; i < st->nindirectsyms; i++) {
        uint32_t v = macho_u32(w->in + st->indirectsymoff + (size_t)i * 4);
        if (!(v & (MACHO_INDIRECT_SYMBOL_LOCAL | MACHO_INDIRECT_SYMBOL_ABS))) {
            if (v >= st->nsyms)
                return rw_fail(w->d, RW_E_CORRUPT, "indirect symbol %u out of range", v);
            v = w->remap[v];
        }
        uint8_t b[4];
        macho_put32(b, v);
        if (rw_buf_append(&w->indirect, b, 4))
            return oom(w);
    }
    return RW_OK;
}

/* ---- the output ------------------------------------------------------------ */

/* Commands this writer keeps verbatim or understands; anything else that
 * holds a file offset is refused. */
static enum rw_err check_commands(struct ow *w, uint32_t *seg_lc)
{
    struct macho_state *st = w->st;
    *seg_lc = UINT32_MAX;
    for (size_t i = 0; i < st->nlc; i++) {
        uint32_t c = st->lc[i].cmd;
        switch (c) {
        case MACHO_LC_SEGMENT_64:
            if (*seg_lc != UINT32_MAX)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "object with several segment commands");
            *seg_lc = (uint32_t)i;
            break;
        case MACHO_LC_SYMTAB:
        case MACHO_LC_DYSYMTAB:
        case MACHO_LC_DATA_IN_CODE:
        case MACHO_LC_LINKER_OPTIMIZATION_HINT:
            break;
        case MACHO_LC_CODE_SIGNATURE:
        case MACHO_LC_SEGMENT_SPLIT_INFO:
        case MACHO_LC_FUNCTION_STARTS:
        case MACHO_LC_DYLIB_CODE_SIGN_DRS:
        case MACHO_LC_DYLD_INFO:
        case MACHO_LC_DYLD_INFO_ONLY:
        case MACHO_LC_DYLD_EXPORTS_TRIE:
        case MACHO_LC_DYLD_CHAINED_FIXUPS:
        case LC_NOTE:
        case 0x1u:  /* LC_SEGMENT (32-bit) */
        case 0x3u:  /* LC_SYMSEG */
        case 0x16u: /* LC_TWOLEVEL_HINTS */
        case 0x21u: /* LC_ENCRYPTION_INFO */
        case 0x2cu: /* LC_ENCRYPTION_INFO_64 */
            return rw_fail(w->d, RW_E_UNSUPPORTED, "object with load command 0x%x", c);
        default:
            break; /* no file offsets: copied as is */
        }
    }
    if (*seg_lc == UINT32_MAX || st->nseg != 1)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "object without exactly one segment command");
    if (st->has_dysymtab && (st->ntoc || st->nmodtab || st->nextrefsyms || st->nextrel || st->nlocrel))
        return rw_fail(w->d, RW_E_UNSUPPORTED,
                       "object with a table of contents, module table or dynamic relocations");
    return RW_OK;
}

static void put_section_header(uint8_t *h, const struct osec *o)
{
    memcpy(h, o->sectname, 16);
    memcpy(h + 16, o->segname, 16);
    macho_put64(h + 32, o->addr);
    macho_put64(h + 40, o->size);
    macho_put32(h + 48, o->offset);
    macho_put32(h + 52, o->align);
    macho_put32(h + 56, o->reloff);
    macho_put32(h + 60, o->rel.n ? (uint32_t)o->rel.n : 0);
    macho_put32(h + 64, o->flags);
    macho_put32(h + 68, o->r1);
    macho_put32(h + 72, o->r2);
    macho_put32(h + 76, o->r3);
}

/* Offsets: header, commands, contents, relocations, blobs, indirect
 * symbols, symbols, strings. */
static enum rw_err emit(struct ow *w, uint32_t seg_lc, uint8_t *const patched[], struct rw_buf *out)
{
    struct macho_state *st = w->st;
    size_t nnew = w->nsec - w->nsec_old;
    uint64_t sizeofcmds = (uint64_t)st->sizeofcmds + nnew * MACHO_SECTION_SIZE;
    /* contents at their addresses' distance from the segment's vmaddr, as
     * assemblers lay them out (so filesize never exceeds vmsize) */
    uint64_t vmaddr = macho_u64(w->in + st->lc[seg_lc].off + 24);
    uint64_t data_start = ALIGN_UP(MACHO_HEADER_SIZE + sizeofcmds, 16), seg_end = data_start;
    uint64_t bytes = 0;
    for (size_t i = 0; i < w->nsec; i++) {
        struct osec *o = &w->sec[i];
        o->offset = 0;
        if (o->zerofill || (!o->src_size && !o->extra.len))
            continue;
        if (o->addr < vmaddr || o->addr - vmaddr > UINT32_MAX - data_start ||
            o->size > UINT32_MAX - data_start - (o->addr - vmaddr))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "section %.16s outside its segment's addresses",
                           o->sectname);
        for (size_t k = 0; k < i; k++) {
            const struct osec *q = &w->sec[k];
            if (!q->offset)
                continue;
            if (o->addr < q->addr + q->size && q->addr < o->addr + o->size)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "sections %.16s and %.16s overlap",
                               q->sectname, o->sectname);
        }
        o->offset = (uint32_t)(data_start + (o->addr - vmaddr));
        if ((uint64_t)o->offset + o->size > seg_end)
            seg_end = (uint64_t)o->offset + o->size;
        bytes += o->size;
    }
    /* a sparse address space would make a huge file */
    if (seg_end - data_start > bytes + w->insz + ((uint64_t)1 << 24))
        return rw_fail(w->d, RW_E_UNSUPPORTED, "section addresses too sparse to lay out");
    uint64_t seg_first = data_start;
    uint64_t cur = ALIGN_UP(seg_end, 8);
    if (cur > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");
    /* drop deleted relocations (ADDEND partners of retargeted branches) */
    for (size_t i = 0; i < w->nsec_old; i++) {
        struct rtab *t = &w->sec[i].rel;
        size_t nold = w->st->sect[i].nreloc, to = 0;
        for (size_t k = 0; k < t->n; k++) {
            if (k < nold && t->del[k])
                continue;
            memmove(t->e + to * MACHO_RELOC_SIZE, t->e + k * MACHO_RELOC_SIZE, MACHO_RELOC_SIZE);
            to++;
        }
        t->n = to;
    }
    for (size_t i = 0; i < w->nsec; i++) {
        struct osec *o = &w->sec[i];
        o->reloff = 0;
        if (!o->rel.n)
            continue;
        o->reloff = (uint32_t)cur;
        cur += o->rel.n * MACHO_RELOC_SIZE;
        if (cur > UINT32_MAX)
            return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");
    }
    cur = ALIGN_UP(cur, 8);
    uint64_t dic_off = cur;
    cur += w->dic.len;
    uint64_t loh_off = cur;
    cur += w->loh.len;
    cur = ALIGN_UP(cur, 8);
    uint64_t ind_off = cur;
    cur += w->indirect.len;
    cur = ALIGN_UP(cur, 8);
    uint64_t sym_off = cur;
    cur += (uint64_t)w->nsyms_new * MACHO_NLIST_SIZE;
    uint64_t str_off = cur;
    cur += w->strs.len;
    if (cur > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");

    if (rw_buf_reserve(out, cur))
        return oom(w);
    uint8_t *o8 = out->data;
    memset(o8, 0, cur);
    memcpy(o8, w->in, MACHO_HEADER_SIZE);
    macho_put32(o8 + 20, (uint32_t)sizeofcmds);

    /* load commands in their order */
    uint64_t lc_at = MACHO_HEADER_SIZE;
    for (size_t i = 0; i < st->nlc; i++) {
        const struct macho_lc *l = &st->lc[i];
        if (!in_file(w, l->off, l->cmdsize) || l->cmdsize < 8)
            return rw_fail(w->d, RW_E_CORRUPT, "load command %zu past the end of the file", i);
        uint64_t grow = i == seg_lc ? nnew * MACHO_SECTION_SIZE : 0;
        if (lc_at + l->cmdsize + grow > MACHO_HEADER_SIZE + sizeofcmds)
            return rw_fail(w->d, RW_E_CORRUPT, "load commands overrun sizeofcmds");
        uint8_t *c = o8 + lc_at;
        if (i == seg_lc) {
            const uint64_t hdr = MACHO_SEGMENT_CMD_SIZE;
            if (l->cmdsize != MACHO_SEGMENT_CMD_SIZE + (uint64_t)st->nsect * MACHO_SECTION_SIZE)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "segment command with trailing bytes");
            memcpy(c, w->in + l->off, hdr);
            uint32_t size = (uint32_t)(hdr + w->nsec * MACHO_SECTION_SIZE);
            macho_put32(c + 4, size);
            uint64_t vmaddr = macho_u64(c + 24), vmend = vmaddr + macho_u64(c + 32);
            for (size_t k = 0; k < w->nsec; k++)
                if (w->sec[k].addr + w->sec[k].size > vmend)
                    vmend = w->sec[k].addr + w->sec[k].size;
            macho_put64(c + 32, vmend - vmaddr);
            macho_put64(c + 40, seg_first);
            macho_put64(c + 48, seg_end - seg_first);
            macho_put32(c + 64, (uint32_t)w->nsec);
            for (size_t k = 0; k < w->nsec; k++)
                put_section_header(c + hdr + k * MACHO_SECTION_SIZE, &w->sec[k]);
            lc_at += size;
            continue;
        }
        memcpy(c, w->in + l->off, l->cmdsize);
        switch (l->cmd) {
        case MACHO_LC_SYMTAB:
            if (l->cmdsize < 24)
                return rw_fail(w->d, RW_E_CORRUPT, "short LC_SYMTAB");
            macho_put32(c + 8, (uint32_t)sym_off);
            macho_put32(c + 12, w->nsyms_new);
            macho_put32(c + 16, (uint32_t)str_off);
            macho_put32(c + 20, (uint32_t)w->strs.len);
            break;
        case MACHO_LC_DYSYMTAB:
            if (l->cmdsize < 80)
                return rw_fail(w->d, RW_E_CORRUPT, "short LC_DYSYMTAB");
            macho_put32(c + 8, w->ilocal);
            macho_put32(c + 12, w->nlocal);
            macho_put32(c + 16, w->iextdef);
            macho_put32(c + 20, w->nextdef);
            macho_put32(c + 24, w->iundef);
            macho_put32(c + 28, w->nundef);
            macho_put32(c + 56, w->indirect.len ? (uint32_t)ind_off : 0);
            macho_put32(c + 60, (uint32_t)(w->indirect.len / 4));
            break;
        case MACHO_LC_DATA_IN_CODE:
        case MACHO_LC_LINKER_OPTIMIZATION_HINT:
            if (l->cmdsize < 16)
                return rw_fail(w->d, RW_E_CORRUPT, "short linkedit data command");
            {
                int dic = l->cmd == MACHO_LC_DATA_IN_CODE;
                const struct rw_buf *b = dic ? &w->dic : &w->loh;
                macho_put32(c + 8, b->len ? (uint32_t)(dic ? dic_off : loh_off) : 0);
                macho_put32(c + 12, (uint32_t)b->len);
            }
            break;
        default:
            break;
        }
        lc_at += l->cmdsize;
    }
    if (lc_at != MACHO_HEADER_SIZE + sizeofcmds)
        return rw_fail(w->d, RW_E_CORRUPT, "load commands do not fill sizeofcmds");

    for (size_t i = 0; i < w->nsec; i++) {
        const struct osec *o = &w->sec[i];
        if (!o->offset)
            continue;
        if (o->src_size)
            memcpy(o8 + o->offset, i < w->nsec_old && patched[i] ? patched[i] : o->src, o->src_size);
        if (o->extra.len)
            memcpy(o8 + o->offset + o->src_size, o->extra.data, o->extra.len);
        if (o->rel.n)
            memcpy(o8 + o->reloff, o->rel.e, o->rel.n * MACHO_RELOC_SIZE);
    }
    for (size_t i = 0; i < w->nsec; i++) {
        const struct osec *o = &w->sec[i];
        if (!o->offset && o->rel.n)
            memcpy(o8 + o->reloff, o->rel.e, o->rel.n * MACHO_RELOC_SIZE);
    }
    if (w->dic.len)
        memcpy(o8 + dic_off, w->dic.data, w->dic.len);
    if (w->loh.len)
        memcpy(o8 + loh_off, w->loh.data, w->loh.len);
    if (w->indirect.len)
        memcpy(o8 + ind_off, w->indirect.data, w->indirect.len);
    memcpy(o8 + sym_off, w->syms, (size_t)w->nsyms_new * MACHO_NLIST_SIZE);
    memcpy(o8 + str_off, w->strs.data, w->strs.len);
    out->len = cur;
    return RW_OK;
}

enum rw_err macho_write_object(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d)
{
    struct ow w = {0};
    w.img = img;
    w.plan = plan;
    w.st = macho_st(img);
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    w.a64 = img->machine == RW_MACH_AARCH64;
    enum rw_err e = RW_OK;
    uint8_t *map = NULL, **patched = NULL;
    uint64_t *hint = NULL;
    size_t map_len = 0, nhint = 0;
    uint32_t seg_lc;

    if (!w.st || w.st->filetype != MACHO_MH_OBJECT)
        return rw_fail(d, RW_E_INTERNAL, "not a Mach-O object");
    if ((e = check_commands(&w, &seg_lc)))
        return e;
    w.sec = calloc(256, sizeof *w.sec);
    w.stub_sect = calloc(plan->nstubs + 1, sizeof *w.stub_sect);
    w.stub_off = calloc(plan->nstubs + 1, sizeof *w.stub_off);
    w.stub_sym = calloc(plan->nstubs + 1, sizeof *w.stub_sym);
    patched = calloc(w.st->nsect + 1, sizeof *patched);
    if (!w.sec || !w.stub_sect || !w.stub_off || !w.stub_sym || !patched) {
        e = oom(&w);
        goto done;
    }
    if (w.st->nsect > 255) {
        e = rw_fail(d, RW_E_CORRUPT, "more than 255 sections");
        goto done;
    }
    if ((e = load_sections(&w)) ||
        (e = rw_map_from_plan(img, plan, 0, &map, &map_len, d)) ||
        (e = add_sections(&w, map, map_len)) || (e = build_symbols(&w)) || (e = renumber(&w)))
        goto done;
    /* the stubs' compact unwind relocations name their symbols */
    if (w.cu != UINT32_MAX) {
        struct rtab *t = &w.sec[w.cu].rel;
        size_t first = t->n - plan->nstubs;
        for (size_t i = 0; i < plan->nstubs; i++) {
            uint8_t *r = t->e + (first + i) * MACHO_RELOC_SIZE;
            macho_put32(r + 4, macho_u32(r + 4) | w.stub_sym[i]);
        }
    }
    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict != RW_SITE_OK || s->section >= w.nsec_old || patched[s->section])
            continue;
        const struct osec *o = &w.sec[s->section];
        if (!o->src)
            continue;
        patched[s->section] = malloc(o->src_size);
        if (!patched[s->section]) {
            e = oom(&w);
            goto done;
        }
        memcpy(patched[s->section], o->src, o->src_size);
    }
    if ((e = patch_sites(&w, patched, &hint, &nhint)) || (e = build_indirect(&w)))
        goto done;
    if (w.st->data_in_code.present && w.st->data_in_code.datasize) {
        if (!in_file(&w, w.st->data_in_code.dataoff, w.st->data_in_code.datasize)) {
            e = rw_fail(d, RW_E_CORRUPT, "data-in-code table past the end of the file");
            goto done;
        }
        if (rw_buf_append(&w.dic, w.in + w.st->data_in_code.dataoff, w.st->data_in_code.datasize)) {
            e = oom(&w);
            goto done;
        }
    }
    if (w.st->linker_opt_hint.present && w.st->linker_opt_hint.datasize) {
        const struct macho_ldata *l = &w.st->linker_opt_hint;
        if (!in_file(&w, l->dataoff, l->datasize)) {
            e = rw_fail(d, RW_E_CORRUPT, "optimisation hints past the end of the file");
            goto done;
        }
        if ((e = filter_loh(&w, w.in + l->dataoff, l->datasize, hint, nhint)))
            goto done;
    }
    out->len = 0;
    if ((e = emit(&w, seg_lc, patched, out)))
        out->len = 0;
done:
    for (size_t i = 0; w.sec && i < w.nsec; i++) {
        rw_buf_free(&w.sec[i].extra);
        free(w.sec[i].rel.e);
        free(w.sec[i].rel.del);
    }
    for (size_t i = 0; patched && i < w.st->nsect; i++)
        free(patched[i]);
    free(patched);
    free(w.sec);
    free(w.stub_sect);
    free(w.stub_off);
    free(w.stub_sym);
    free(w.syms);
    free(w.remap);
    rw_buf_free(&w.strs);
    rw_buf_free(&w.indirect);
    rw_buf_free(&w.loh);
    rw_buf_free(&w.dic);
    free(map);
    free(hint);
    return e;
}

/* macho_sym.c - Mach-O symbols (nlist_64), function ranges (symbols and
 * LC_FUNCTION_STARTS), the helper's symbols and, for objects, relocations
 * normalised to image.h's kinds (macho_priv.h, docs/macho.md). */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

static int is_obj(const struct macho_state *st)
{
    return st->filetype == MACHO_MH_OBJECT;
}

/* Assembler-local labels (ltmpN at each section's start, l_/L temporaries):
 * they cut function ranges like any other symbol but do not name them. */
static int local_label(const char *n)
{
    return n[0] == 'l' || n[0] == 'L';
}

static enum rw_err sym_name(const struct rw_image *img, const struct macho_state *st,
                            uint32_t strx, uint32_t idx, const char **out, struct rw_diag *d)
{
    if (strx == 0) {
        *out = "";
        return RW_OK;
    }
    if (strx >= st->strsize)
        return rw_fail(d, RW_E_CORRUPT, "symbol %u: name outside the string table", idx);
    const char *s = (const char *)img->data + st->stroff + strx;
    if (!memchr(s, 0, st->strsize - strx))
        return rw_fail(d, RW_E_CORRUPT, "symbol %u: name runs past the string table", idx);
    *out = s;
    return RW_OK;
}

static enum rw_err funcs_from_symbols(struct rw_image *img, size_t nmodel, struct rw_diag *d)
{
    /* every defined symbol in an executable section starts a range that
     * runs to the section's end; rw_image_normalize cuts each at the next */
    for (size_t i = 0; i < nmodel; i++) {
        const struct rw_symbol *s = &img->sym[i];
        if (s->section == RW_NONE || !(s->flags & RW_SYM_FUNC))
            continue;
        const struct rw_section *sec = &img->sec[s->section];
        uint64_t start = s->value - sec->addr;
        if (start >= sec->size)
            continue;
        enum rw_err e = macho_push_func(img, s->section, start, sec->size,
                                        local_label(s->name) ? NULL : s->name, d);
        if (e)
            return e;
    }
    return RW_OK;
}

static uint32_t exec_section_at(const struct rw_image *img, uint64_t va)
{
    for (uint32_t i = 0; i < img->nsec; i++) {
        const struct rw_section *s = &img->sec[i];
        if ((s->flags & RW_SEC_EXEC) && s->size && va >= s->addr && va - s->addr < s->size)
            return i;
    }
    return RW_NONE;
}

/* LC_FUNCTION_STARTS: ULEB128 deltas, the first from __TEXT's address, a
 * zero delta ends the list. Each start runs to the next or its section's end. */
static enum rw_err funcs_from_starts(struct rw_image *img, struct macho_state *st,
                                     struct rw_diag *d)
{
    const struct macho_ldata *fs = &st->function_starts;
    if (!fs->present || !fs->datasize)
        return RW_OK;
    const uint8_t *p = img->data + fs->dataoff, *end = p + fs->datasize;
    uint64_t addr = st->base, prev_start = 0;
    uint32_t prev_sec = RW_NONE;
    while (p < end) {
        uint64_t delta;
        if (macho_uleb(&p, end, &delta))
            return rw_fail(d, RW_E_CORRUPT, "LC_FUNCTION_STARTS: malformed ULEB128");
        if (delta == 0)
            break;
        if (delta > UINT64_MAX - addr)
            return rw_fail(d, RW_E_CORRUPT, "LC_FUNCTION_STARTS: address wraps around");
        addr += delta;
        uint32_t sec = exec_section_at(img, addr);
        if (prev_sec != RW_NONE) {
            enum rw_err e = macho_push_func(img, prev_sec, prev_start, img->sec[prev_sec].size,
                                            NULL, d);
            if (e)
                return e;
        }
        prev_sec = sec;
        prev_start = sec == RW_NONE ? 0 : addr - img->sec[sec].addr;
    }
    if (prev_sec != RW_NONE)
        return macho_push_func(img, prev_sec, prev_start, img->sec[prev_sec].size, NULL, d);
    return RW_OK;
}

enum rw_err macho_read_symbols(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    size_t nsyms = st->has_symtab ? st->nsyms : 0;
    if (nsyms > SIZE_MAX / sizeof *img->sym - st->nsect)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    size_t total = nsyms + st->nsect;
    if (total) {
        img->sym = calloc(total, sizeof *img->sym);
        if (!img->sym)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    if (nsyms) {
        st->sym_model = malloc(nsyms * sizeof *st->sym_model);
        if (!st->sym_model)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    enum rw_err e;
    size_t n = 0;
    for (uint32_t i = 0; i < nsyms; i++) {
        const uint8_t *p = img->data + st->symoff + (size_t)i * MACHO_NLIST_SIZE;
        uint32_t strx = macho_u32(p);
        uint8_t type = p[4], sect = p[5];
        uint64_t value = macho_u64(p + 8);
        st->sym_model[i] = RW_NONE;
        if (type & MACHO_N_STAB)
            continue; /* debugger entries */
        struct rw_symbol s = {NULL, i, RW_NONE, 0, value, 0};
        if ((e = sym_name(img, st, strx, i, &s.name, d)))
            return e;
        if (type & MACHO_N_EXT)
            s.flags |= RW_SYM_GLOBAL;
        switch (type & MACHO_N_TYPE) {
        case MACHO_N_SECT: {
            if (sect == MACHO_NO_SECT || sect > st->nsect)
                return rw_fail(d, RW_E_CORRUPT, "symbol %u: section %u out of range", i, sect);
            const struct macho_sect *ms = &st->sect[sect - 1];
            if (value < ms->addr || value - ms->addr > ms->size) {
                /* linked images: __mh_execute_header and the like name the
                 * header, before the first section: an address, no section */
                if (!is_obj(st))
                    break;
                return rw_fail(d, RW_E_CORRUPT, "symbol %u ('%.64s') lies outside its section %s",
                               i, s.name, ms->model_name);
            }
            s.section = sect - 1u;
            if (is_obj(st))
                s.value = value - ms->addr;
            if (img->sec[s.section].flags & RW_SEC_EXEC)
                s.flags |= RW_SYM_FUNC;
            break;
        }
        case MACHO_N_ABS:
            break;
        default: /* N_UNDF (also common symbols), N_PBUD, N_INDR */
            s.flags |= RW_SYM_UNDEF;
            s.value = (type & MACHO_N_TYPE) == MACHO_N_UNDF ? value : 0;
            break;
        }
        st->sym_model[i] = (uint32_t)n;
        img->sym[n++] = s;
    }
    size_t nmodel = n;
    st->sect_sym_base = (uint32_t)n;
    for (size_t i = 0; i < st->nsect; i++)
        img->sym[n++] = (struct rw_symbol){st->sect[i].model_name, RW_NONE, (uint32_t)i, 0, 0, 0};
    img->nsym = n;

    /* function ranges */
    if ((e = funcs_from_symbols(img, nmodel, d)))
        return e;
    if (!is_obj(st) && (e = funcs_from_starts(img, st, d)))
        return e;

    /* the helper: objects list its symbols; linked images its address */
    for (size_t i = 0; i < nmodel; i++) {
        const struct rw_symbol *s = &img->sym[i];
        if (strcmp(s->name, st->helper_sym) != 0)
            continue;
        if (is_obj(st)) {
            if (rw_grow((void **)&img->helper.syms, &st->hsym_cap, img->helper.nsyms,
                           sizeof *img->helper.syms))
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            img->helper.syms[img->helper.nsyms++] = (uint32_t)i;
        } else if (s->section != RW_NONE && (img->sec[s->section].flags & RW_SEC_EXEC)) {
            if ((e = macho_push_helper_addr(img, s->value, d)))
                return e;
        }
    }
    return RW_OK;
}

/* ---- relocations (objects) ---------------------------------------------- */

struct raw_reloc {
    int32_t address;
    uint32_t symbolnum, pcrel, length, ext, type;
};

static struct raw_reloc raw_at(const uint8_t *p)
{
    uint32_t w1 = macho_u32(p + 4);
    return (struct raw_reloc){(int32_t)macho_u32(p), w1 & 0xffffffu, (w1 >> 24) & 1u,
                              (w1 >> 25) & 3u, (w1 >> 27) & 1u, w1 >> 28};
}

/* The field's implicit addend (x86-64 keeps addends in the field). */
static int64_t field_value(const uint8_t *f, uint32_t length)
{
    switch (length) {
    case 0: return (int8_t)f[0];
    case 1: return (int16_t)(f[0] | f[1] << 8);
    case 2: return (int32_t)macho_u32(f);
    default: return (int64_t)macho_u64(f);
    }
}

struct rel_ctx {
    struct rw_image *img;
    struct macho_state *st;
    uint32_t sec;          /* model section patched */
    const struct macho_sect *ms;
};

/* The model symbol and addend base of a raw relocation's target. For a
 * non-extern one the section symbol; *tsec is its Mach-O section (or NULL). */
static enum rw_err target_of(const struct rel_ctx *c, const struct raw_reloc *r, uint32_t idx,
                             uint32_t *sym, const struct macho_sect **tsec, struct rw_diag *d)
{
    const struct macho_state *st = c->st;
    *tsec = NULL;
    if (r->ext) {
        if (!st->has_symtab || r->symbolnum >= st->nsyms || st->sym_model[r->symbolnum] == RW_NONE)
            return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: symbol %u out of range",
                           c->ms->model_name, idx, r->symbolnum);
        *sym = st->sym_model[r->symbolnum];
        return RW_OK;
    }
    if (r->symbolnum == 0) { /* R_ABS: an absolute value, no symbol */
        *sym = RW_NONE;
        return RW_OK;
    }
    if (r->symbolnum > st->nsect)
        return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: section %u out of range",
                       c->ms->model_name, idx, r->symbolnum);
    *tsec = &st->sect[r->symbolnum - 1];
    *sym = st->sect_sym_base + r->symbolnum - 1;
    return RW_OK;
}

static uint32_t x86_kind(const struct raw_reloc *r, int64_t *bias)
{
    *bias = 0;
    switch (r->type) {
    case MACHO_X86_64_RELOC_BRANCH:
        return r->pcrel && r->length == 2 ? RW_R_X86_BRANCH32 : RW_R_OTHER;
    case MACHO_X86_64_RELOC_SIGNED:
    case MACHO_X86_64_RELOC_SIGNED_1:
    case MACHO_X86_64_RELOC_SIGNED_2:
    case MACHO_X86_64_RELOC_SIGNED_4:
        *bias = r->type == MACHO_X86_64_RELOC_SIGNED_1   ? 1
                : r->type == MACHO_X86_64_RELOC_SIGNED_2 ? 2
                : r->type == MACHO_X86_64_RELOC_SIGNED_4 ? 4
                                                         : 0;
        return r->pcrel && r->length == 2 ? RW_R_X86_PCREL32 : RW_R_OTHER;
    case MACHO_X86_64_RELOC_GOT_LOAD:
    case MACHO_X86_64_RELOC_GOT:
        return r->pcrel && r->length == 2 ? RW_R_X86_GOTPCREL32 : RW_R_OTHER;
    case MACHO_X86_64_RELOC_UNSIGNED:
        if (r->pcrel)
            return RW_R_OTHER;
        return r->length == 3 ? RW_R_ABS64 : r->length == 2 ? RW_R_X86_ABS32 : RW_R_OTHER;
    default: return RW_R_OTHER;
    }
}

static uint32_t a64_kind(const struct raw_reloc *r)
{
    switch (r->type) {
    /* Mach-O has one type for bl and b; the scanner takes either kind and
     * reads the form from the instruction */
    case MACHO_ARM64_RELOC_BRANCH26: return RW_R_A64_CALL26;
    case MACHO_ARM64_RELOC_PAGE21: return RW_R_A64_PAGE21;
    case MACHO_ARM64_RELOC_PAGEOFF12: return RW_R_A64_LO12;
    case MACHO_ARM64_RELOC_GOT_LOAD_PAGE21: return RW_R_A64_GOT_PAGE21;
    case MACHO_ARM64_RELOC_GOT_LOAD_PAGEOFF12: return RW_R_A64_GOT_LO12;
    case MACHO_ARM64_RELOC_UNSIGNED:
        return !r->pcrel && r->length == 3 ? RW_R_ABS64 : RW_R_OTHER;
    default: return RW_R_OTHER;
    }
}

static enum rw_err push_rel(struct rw_image *img, struct macho_state *st, const struct rw_reloc *m,
                            uint32_t raw, struct rw_diag *d)
{
    size_t cap = st->rel_cap;
    if (rw_grow((void **)&img->rel, &st->rel_cap, img->nrel, sizeof *img->rel))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    if (st->rel_cap != cap) {
        uint32_t *p = realloc(st->raw_index, st->rel_cap * sizeof *p);
        if (!p)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
        st->raw_index = p;
    }
    st->raw_index[img->nrel] = raw;
    img->rel[img->nrel++] = *m;
    return RW_OK;
}

static enum rw_err read_section_relocs(struct rel_ctx *c, struct rw_diag *d)
{
    struct rw_image *img = c->img;
    struct macho_state *st = c->st;
    const struct macho_sect *ms = c->ms;
    const uint8_t *tab = img->data + ms->reloff;
    const struct rw_section *sec = &img->sec[c->sec];
    int x86 = img->machine == RW_MACH_X86_64;
    enum rw_err e;
    for (uint32_t i = 0; i < ms->nreloc; i++) {
        const uint8_t *p = tab + (size_t)i * MACHO_RELOC_SIZE;
        if (macho_u32(p) & MACHO_R_SCATTERED)
            return rw_fail(d, RW_E_UNSUPPORTED, "%s relocation %u: scattered relocations are not supported",
                           ms->model_name, i);
        struct raw_reloc r = raw_at(p);
        uint32_t first = i;
        int64_t addend = 0;
        int pair = 0;
        if (!x86 && r.type == MACHO_ARM64_RELOC_ADDEND) {
            /* r_symbolnum holds a 24-bit signed addend for the next one */
            addend = (int32_t)(r.symbolnum << 8) >> 8;
            if (i + 1 >= ms->nreloc)
                return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: ARM64_RELOC_ADDEND is the last one",
                               ms->model_name, i);
            i++;
            int32_t at = r.address;
            r = raw_at(tab + (size_t)i * MACHO_RELOC_SIZE);
            if ((r.type != MACHO_ARM64_RELOC_BRANCH26 && r.type != MACHO_ARM64_RELOC_PAGE21 &&
                 r.type != MACHO_ARM64_RELOC_PAGEOFF12) || r.address != at)
                return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: ARM64_RELOC_ADDEND before type %u",
                               ms->model_name, i, r.type);
        } else if ((x86 && r.type == MACHO_X86_64_RELOC_SUBTRACTOR) ||
                   (!x86 && r.type == MACHO_ARM64_RELOC_SUBTRACTOR)) {
            /* A - B: the pair becomes one OTHER relocation against A */
            if (i + 1 >= ms->nreloc)
                return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: SUBTRACTOR is the last one",
                               ms->model_name, i);
            i++;
            struct raw_reloc r2 = raw_at(tab + (size_t)i * MACHO_RELOC_SIZE);
            if (r2.type != MACHO_X86_64_RELOC_UNSIGNED || r2.address != r.address)
                return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: SUBTRACTOR without its UNSIGNED",
                               ms->model_name, i);
            uint32_t sym1;
            const struct macho_sect *t1;
            if ((e = target_of(c, &r, first, &sym1, &t1, d)))
                return e;
            r = r2;
            pair = 1;
        }
        uint32_t size = 1u << r.length;
        if (r.address < 0 || (uint64_t)r.address > sec->size || size > sec->size - (uint64_t)r.address)
            return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: field outside the section",
                           ms->model_name, i);
        if (!sec->data)
            return rw_fail(d, RW_E_CORRUPT, "%s relocation %u: the section has no contents",
                           ms->model_name, i);
        uint32_t sym;
        const struct macho_sect *tsec;
        if ((e = target_of(c, &r, i, &sym, &tsec, d)))
            return e;
        struct rw_reloc m = {c->sec, RW_R_OTHER, r.type, sym, (uint64_t)r.address, 0};
        const uint8_t *field = sec->data + r.address;
        if (x86) {
            int64_t bias = 0;
            m.kind = pair ? RW_R_OTHER : x86_kind(&r, &bias);
            /* The field holds the addend. Extern pc-relative: the linker
             * writes S + v + n - (P + 4 + n) for SIGNED_n (ld64 and lld add
             * the n immediate bytes after the field to the addend and to
             * the end of the instruction alike), i.e. A = v - 4 for every
             * type. Non-extern: the field is the displacement from the
             * instruction's end in the object's own addresses; moving both
             * sections keeps it, so S + A - P with S the target section
             * gives A = (P + v) - section address, P the field's object
             * address. check_model.py holds both against ld64.lld-14. */
            int64_t v = field_value(field, r.length);
            (void)bias;
            if (r.pcrel)
                addend = tsec ? (int64_t)(ms->addr + (uint64_t)r.address + (uint64_t)v - tsec->addr)
                              : v - 4;
            else {
                addend = tsec ? (int64_t)((uint64_t)v - tsec->addr) : v;
            }
        } else {
            m.kind = pair ? RW_R_OTHER : a64_kind(&r);
            if (!pair && r.type == MACHO_ARM64_RELOC_UNSIGNED) {
                int64_t v = field_value(field, r.length);
                addend = tsec ? (int64_t)((uint64_t)v - tsec->addr) : v;
            }
        }
        if (pair)
            addend = 0;
        m.addend = addend;
        if ((e = push_rel(img, st, &m, first, d)))
            return e;
    }
    return RW_OK;
}

struct rel_sort {
    struct rw_reloc r;
    uint32_t raw, seq;
};

static int cmp_rel(const void *a, const void *b)
{
    const struct rel_sort *x = a, *y = b;
    if (x->r.section != y->r.section)
        return x->r.section < y->r.section ? -1 : 1;
    if (x->r.offset != y->r.offset)
        return x->r.offset < y->r.offset ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable */
}

enum rw_err macho_read_relocs(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    enum rw_err e;
    for (uint32_t s = 0; s < st->nsect; s++) {
        if (!st->sect[s].nreloc)
            continue;
        struct rel_ctx c = {img, st, s, &st->sect[s]};
        if ((e = read_section_relocs(&c, d)))
            return e;
    }
    if (img->nrel < 2)
        return RW_OK;
    /* sorted by (section, offset), raw_index moving along (Mach-O stores
     * each table by descending address) */
    struct rel_sort *v = malloc(img->nrel * sizeof *v);
    if (!v)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < img->nrel; i++)
        v[i] = (struct rel_sort){img->rel[i], st->raw_index[i], (uint32_t)i};
    qsort(v, img->nrel, sizeof *v, cmp_rel);
    for (size_t i = 0; i < img->nrel; i++) {
        img->rel[i] = v[i].r;
        st->raw_index[i] = v[i].raw;
    }
    free(v);
    return RW_OK;
}

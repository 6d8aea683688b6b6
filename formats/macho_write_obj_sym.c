/* macho_write_obj_sym.c - the object writer's symbol table
 * (macho_write_obj.h; docs/macho-objects.md).
 *
 * New symbols: ___callirw_stub_<key>, N_SECT | N_EXT | N_PEXT with
 * N_WEAK_DEF, inserted among the external definitions sorted by name (the
 * order LC_DYSYMTAB requires); their names are appended to the string
 * table. Every extern relocation's r_symbolnum and every indirect symbol is
 * renumbered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_write_obj.h"

/* The string at n_strx, or NULL. */
static const char *str_at(const struct mo *w, uint32_t strx)
{
    const struct macho_state *st = w->st;
    if (strx >= st->strsize)
        return NULL;
    const char *s = (const char *)w->in + st->stroff + strx;
    return memchr(s, 0, st->strsize - strx) ? s : NULL;
}

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

enum rw_err mo_build_symbols(struct mo *w)
{
    struct macho_state *st = w->st;
    const struct rw_plan *p = w->plan;
    uint32_t n = st->nsyms;
    if (!st->has_symtab)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "object without LC_SYMTAB: no room for the stub symbols");
    if (!mo_in_file(w, st->symoff, (uint64_t)n * MACHO_NLIST_SIZE) ||
        !mo_in_file(w, st->stroff, st->strsize))
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
        return mo_oom(w);
    struct extdef *ed = calloc((size_t)next + p->nstubs + 1, sizeof *ed);
    uint32_t *stub_strx = calloc(p->nstubs + 1, sizeof *stub_strx);
    char **names = calloc(p->nstubs + 1, sizeof *names);
    enum rw_err e = RW_OK;
    if (!ed || !stub_strx || !names) {
        e = mo_oom(w);
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
            e = mo_oom(w);
            goto done;
        }
        snprintf(names[i], len, "_%s", p->stubs[i].symbol);
        if (w->strs.len > UINT32_MAX - len) {
            e = rw_fail(w->d, RW_E_NOROOM, "string table too large");
            goto done;
        }
        stub_strx[i] = (uint32_t)w->strs.len;
        if (rw_buf_append(&w->strs, names[i], len)) {
            e = mo_oom(w);
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
            e = mo_oom(w);
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
        e = mo_oom(w);
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
            struct mo_sec *o = &w->sec[w->stub_sect[i]];
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

/* Renumber extern relocations; refuse what this writer cannot keep right. */
enum rw_err mo_renumber(struct mo *w)
{
    uint32_t n = w->st->nsyms;
    for (size_t s = 0; s < w->nsec_old; s++) {
        struct mo_rtab *t = &w->sec[s].rel;
        for (size_t k = 0; k < w->st->sect[s].nreloc; k++) {
            uint8_t *r = t->e + k * MACHO_RELOC_SIZE;
            uint32_t addr = macho_u32(r), w1 = macho_u32(r + 4);
            if (addr & MACHO_R_SCATTERED)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "section %s: scattered relocation",
                               w->st->sect[s].model_name);
            if (MO_R_EXTERN(w1)) {
                if (MO_R_SYM(w1) >= n)
                    return rw_fail(w->d, RW_E_CORRUPT, "section %s: relocation symbol %u out of range",
                                   w->st->sect[s].model_name, MO_R_SYM(w1));
                macho_put32(r + 4, (w1 & ~0xffffffu) | w->remap[MO_R_SYM(w1)]);
            } else if (w->cu_moved && MO_R_SYM(w1) == w->cu + 1 &&
                       !(w->a64 && MO_R_TYPE(w1) == MACHO_ARM64_RELOC_ADDEND)) {
                return rw_fail(w->d, RW_E_UNSUPPORTED,
                               "a relocation refers into __LD,__compact_unwind, which must move");
            }
        }
    }
    return RW_OK;
}

enum rw_err mo_build_indirect(struct mo *w)
{
    struct macho_state *st = w->st;
    if (!st->has_dysymtab || !st->nindirectsyms)
        return RW_OK;
    if (!mo_in_file(w, st->indirectsymoff, (uint64_t)st->nindirectsyms * 4))
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
            return mo_oom(w);
    }
    return RW_OK;
}

/* macho_write_obj_rel.c - the object writer's sites and relocations
 * (macho_write_obj.h; docs/macho-objects.md).
 *
 * Each rewritable site is patched in a copy of its section and its
 * relocation retargeted to the stub's symbol: x86-64 X86_64_RELOC_BRANCH,
 * arm64 ARM64_RELOC_BRANCH26 (a preceding ARM64_RELOC_ADDEND is dropped;
 * blr/br xN, which had no relocation, gets one of its own). Linker
 * optimisation hints that mention a patched instruction are dropped. */
#include <stdlib.h>
#include <string.h>

#include "macho_write_obj.h"
#include "patch.h"

enum rw_err mo_rtab_push(struct mo *w, struct mo_rtab *t, uint32_t addr, uint32_t word1)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        uint8_t *e = realloc(t->e, cap * MACHO_RELOC_SIZE);
        if (!e)
            return mo_oom(w);
        t->e = e;
        t->cap = cap;
    }
    macho_put32(t->e + t->n * MACHO_RELOC_SIZE, addr);
    macho_put32(t->e + t->n * MACHO_RELOC_SIZE + 4, word1);
    t->n++;
    return RW_OK;
}

/* A copy of each existing section that holds a site, to patch. */
static enum rw_err copy_sections(struct mo *w)
{
    const struct rw_scan *scan = w->plan->scan;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK || s->section >= w->nsec_old || w->patched[s->section])
            continue;
        const struct mo_sec *o = &w->sec[s->section];
        if (!o->src)
            continue;
        w->patched[s->section] = malloc(o->src_size);
        if (!w->patched[s->section])
            return mo_oom(w);
        memcpy(w->patched[s->section], o->src, o->src_size);
    }
    return RW_OK;
}

enum rw_err mo_patch_sites(struct mo *w)
{
    const struct rw_scan *scan = w->plan->scan;
    const struct rw_image *img = w->img;
    enum rw_err e;
    size_t cap = 0;
    if ((e = copy_sections(w)))
        return e;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        if (s->section >= w->nsec_old || s->stub >= w->plan->nstubs || s->length > RW_SITE_MAX_BYTES)
            return rw_fail(w->d, RW_E_INTERNAL, "site outside the object's sections");
        struct mo_sec *o = &w->sec[s->section];
        if (!o->src || s->offset > o->src_size || s->length > o->src_size - s->offset ||
            memcmp(o->src + s->offset, s->orig, s->length))
            return rw_fail(w->d, RW_E_INTERNAL, "site bytes differ from the scan");
        if (s->offset + s->length > UINT32_MAX)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "site offset past 4 GiB");
        uint8_t bytes[RW_SITE_MAX_BYTES];
        if ((e = rw_site_patch(img->machine, s, RW_NO_ADDRESS, bytes, w->d)))
            return e;
        memcpy(w->patched[s->section] + s->offset, bytes, s->length);
        uint32_t sym = w->stub_sym[s->stub];
        int direct_a64 = w->a64 && (s->form == RW_FORM_BLR || s->form == RW_FORM_BR);
        if (direct_a64) {
            /* blr/br xN becomes bl/b: a relocation of its own; the adrp/ldr
             * that loaded xN keep theirs (they load a register the stub
             * clobbers anyway) */
            if ((e = mo_rtab_push(w, &o->rel, (uint32_t)s->offset,
                                  MO_R_WORD1(sym, 1, 2, 1, MACHO_ARM64_RELOC_BRANCH26))))
                return e;
        } else {
            if (s->reloc >= img->nrel || !w->st->raw_index)
                return rw_fail(w->d, RW_E_INTERNAL, "site without its relocation");
            uint32_t ri = w->st->raw_index[s->reloc];
            size_t nr = w->st->sect[s->section].nreloc;
            if (ri >= nr)
                return rw_fail(w->d, RW_E_INTERNAL, "site relocation index out of range");
            uint8_t *r = o->rel.e + (size_t)ri * MACHO_RELOC_SIZE;
            if (w->a64 && MO_R_TYPE(macho_u32(r + 4)) == MACHO_ARM64_RELOC_ADDEND) {
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
            macho_put32(r + 4, w->a64 ? MO_R_WORD1(sym, 1, 2, 1, MACHO_ARM64_RELOC_BRANCH26)
                                      : MO_R_WORD1(sym, 1, 2, 1, MACHO_X86_64_RELOC_BRANCH));
        }
        if (w->nhint + 1 > cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *h = realloc(w->hint, cap * 2 * sizeof *h);
            if (!h)
                return mo_oom(w);
            w->hint = h;
        }
        w->hint[2 * w->nhint] = o->addr + s->offset;
        w->hint[2 * w->nhint + 1] = o->addr + s->offset + s->length;
        w->nhint++;
    }
    return RW_OK;
}

/* The ADDEND partners of retargeted branches go. */
void mo_drop_relocs(struct mo *w)
{
    for (size_t i = 0; i < w->nsec_old; i++) {
        struct mo_rtab *t = &w->sec[i].rel;
        size_t nold = w->st->sect[i].nreloc, to = 0;
        for (size_t k = 0; k < t->n; k++) {
            if (k < nold && t->del[k])
                continue;
            memmove(t->e + to * MACHO_RELOC_SIZE, t->e + k * MACHO_RELOC_SIZE, MACHO_RELOC_SIZE);
            to++;
        }
        t->n = to;
    }
}

static enum rw_err put_uleb(struct mo *w, struct rw_buf *b, uint64_t v)
{
    return macho_put_uleb(b, v) ? mo_oom(w) : RW_OK;
}

/* The linker would otherwise "optimise" the new sequence. */
enum rw_err mo_filter_loh(struct mo *w)
{
    const struct macho_ldata *l = &w->st->linker_opt_hint;
    if (!l->present || !l->datasize)
        return RW_OK;
    if (!mo_in_file(w, l->dataoff, l->datasize))
        return rw_fail(w->d, RW_E_CORRUPT, "optimisation hints past the end of the file");
    const uint8_t *p = w->in + l->dataoff, *end = p + l->datasize;
    const uint64_t *hint = w->hint;
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
            for (size_t h = 0; h < w->nhint; h++)
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
            return mo_oom(w);
    return RW_OK;
}

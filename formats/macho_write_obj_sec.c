/* macho_write_obj_sec.c - the object writer's sections (macho_write_obj.h):
 * the existing ones, the new stub and map sections, their addresses.
 *
 * Existing sections keep their ordinals and addresses; the new ones (and an
 * existing __LD,__compact_unwind that grows) get addresses after the last
 * existing one. */
#include <stdlib.h>
#include <string.h>

#include "macho_write_obj.h"

static void name16(char dst[16], const char *src)
{
    memset(dst, 0, 16);
    memcpy(dst, src, strnlen(src, 16));
}

enum rw_err mo_add_sec(struct mo *w, const char *seg, const char *sect, uint32_t align,
                       uint32_t flags, uint32_t *index)
{
    if (w->nsec >= MO_MAX_SECTIONS)
        return rw_fail(w->d, RW_E_NOROOM, "more than 255 sections needed (one per stub without "
                                          "MH_SUBSECTIONS_VIA_SYMBOLS)");
    struct mo_sec *o = &w->sec[w->nsec];
    memset(o, 0, sizeof *o);
    name16(o->segname, seg);
    name16(o->sectname, sect);
    o->align = align;
    o->flags = flags;
    *index = (uint32_t)w->nsec++;
    return RW_OK;
}

enum rw_err mo_load_sections(struct mo *w)
{
    struct macho_state *st = w->st;
    w->cu = UINT32_MAX;
    /* counted from the start (w->sec is zeroed), so that mo_free frees the
     * relocations of the sections loaded before one that fails */
    w->nsec = w->nsec_old = st->nsect;
    for (size_t i = 0; i < st->nsect; i++) {
        const struct macho_sect *s = &st->sect[i];
        struct mo_sec *o = &w->sec[i];
        if (!mo_in_file(w, s->hdr_off, MACHO_SECTION_SIZE))
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
        o->zerofill = macho_is_zerofill(s->flags);
        if (s->addr > UINT64_MAX - s->size || s->align > 15)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "section %s: address or alignment out of range",
                           s->model_name);
        if (!o->zerofill && s->size) {
            if (!mo_in_file(w, s->offset, s->size))
                return rw_fail(w->d, RW_E_CORRUPT, "section %s lies past the end of the file",
                               s->model_name);
            o->src = w->in + s->offset;
            o->src_size = s->size;
        }
        if (s->nreloc) {
            if (!mo_in_file(w, s->reloff, (uint64_t)s->nreloc * MACHO_RELOC_SIZE))
                return rw_fail(w->d, RW_E_CORRUPT, "section %s: relocations past the end of the file",
                               s->model_name);
            o->rel.n = o->rel.cap = s->nreloc;
            o->rel.e = malloc((size_t)s->nreloc * MACHO_RELOC_SIZE);
            o->rel.del = calloc(s->nreloc, 1);
            if (!o->rel.e || !o->rel.del)
                return mo_oom(w);
            memcpy(o->rel.e, w->in + s->reloff, (size_t)s->nreloc * MACHO_RELOC_SIZE);
        }
        if (!strcmp(s->segname, "__LD") && !strcmp(s->sectname, "__compact_unwind")) {
            if (w->cu != UINT32_MAX)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "two __LD,__compact_unwind sections");
            if (o->zerofill || s->size % MACHO_COMPACT_UNWIND_ENTRY_SIZE)
                return rw_fail(w->d, RW_E_CORRUPT, "__LD,__compact_unwind: size not a multiple of 32");
            w->cu = (uint32_t)i;
        }
        if (!strcmp(s->sectname, MO_STUB_SECT) || !strcmp(s->sectname, MO_MAP_SECT))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "the object already has a %s section", s->sectname);
    }
    w->nsec = w->nsec_old = st->nsect;
    return RW_OK;
}

/* One section for all stubs when the object has MH_SUBSECTIONS_VIA_SYMBOLS
 * (each stub at its plan offset), else one section per stub: without
 * subsections a linker coalesces a weak definition by dropping its whole
 * section. */
enum rw_err mo_add_stubs(struct mo *w)
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
            if (one == UINT32_MAX &&
                (e = mo_add_sec(w, "__TEXT", MO_STUB_SECT, 4, code_flags, &one)))
                return e;
            struct mo_sec *o = &w->sec[one];
            if (s->offset < o->extra.len || s->offset > p->text_size)
                return rw_fail(w->d, RW_E_INTERNAL, "stub %s: bad offset", s->symbol);
            static const uint8_t zero[16];
            while (o->extra.len < s->offset)
                if (rw_buf_append(&o->extra, zero, 1))
                    return mo_oom(w);
            w->stub_sect[i] = one;
            w->stub_off[i] = s->offset;
            if (rw_buf_append(&o->extra, s->code.bytes, s->code.len))
                return mo_oom(w);
        } else {
            uint32_t k;
            if ((e = mo_add_sec(w, "__TEXT", MO_STUB_SECT, 4, code_flags, &k)))
                return e;
            w->stub_sect[i] = k;
            w->stub_off[i] = 0;
            if (rw_buf_append(&w->sec[k].extra, s->code.bytes, s->code.len))
                return mo_oom(w);
        }
    }
    return RW_OK;
}

/* The map in __DWARF,__callirw_map: S_ATTR_DEBUG, so linkers drop it and it
 * never reaches a linked image. */
enum rw_err mo_add_map(struct mo *w, const uint8_t *map, size_t map_len)
{
    enum rw_err e;
    if ((e = mo_add_sec(w, MO_MAP_SEG, MO_MAP_SECT, 3, MACHO_S_ATTR_DEBUG, &w->map_sec)))
        return e;
    if (rw_buf_append(&w->sec[w->map_sec].extra, map, map_len))
        return mo_oom(w);
    return RW_OK;
}

enum rw_err mo_place_sections(struct mo *w)
{
    /* after the end of every existing section (the moved compact unwind's
     * old place is left as a hole) */
    uint64_t end = 0;
    for (size_t i = 0; i < w->nsec_old; i++)
        if (!(w->cu_moved && i == w->cu) && w->sec[i].addr + w->sec[i].size > end)
            end = w->sec[i].addr + w->sec[i].size;
    for (size_t i = w->nsec_old; i < w->nsec; i++) {
        /* order: stubs, compact unwind (new or moved), map */
        for (int pass = 0; pass < 2; pass++) {
            size_t k = pass ? i : w->cu;
            if (!pass && !(w->cu_moved && i == w->map_sec))
                continue;
            struct mo_sec *o = &w->sec[k];
            o->size = o->src_size + o->extra.len;
            uint64_t a = 1ull << o->align;
            if (end > UINT64_MAX - a - o->size)
                return rw_fail(w->d, RW_E_NOROOM, "section addresses overflow");
            o->addr = MACHO_ALIGN_UP(end, a);
            end = o->addr + o->size;
        }
    }
    return RW_OK;
}

/* elf_ehframe.c - function ranges from the FDEs of .eh_frame, so that
 * stripped images keep their function boundaries. The section is found by
 * name, or through .eh_frame_hdr's eh_frame_ptr when a linked image has no
 * section named .eh_frame. Every read is bounded by the entry it belongs
 * to; an entry whose length runs past the section is RW_E_CORRUPT; a CIE we
 * cannot interpret (unknown version or augmentation) only makes its FDEs
 * unused. In objects, an FDE's initial location is read from the relocation
 * at the field (S + A); in linked images it is decoded (absptr / pcrel,
 * data1..8, LEB128).
 */
#include <stdlib.h>
#include <string.h>

#include "elf_priv.h"

#define PE_OMIT 0xff
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_INDIRECT 0x80

struct rd {
    const uint8_t *p;
    size_t pos, end; /* reads stay below end */
};

static int rd_u8(struct rd *r, uint8_t *v)
{
    if (r->pos >= r->end)
        return -1;
    *v = r->p[r->pos++];
    return 0;
}

static int rd_n(struct rd *r, unsigned n, uint64_t *v)
{
    if (r->end - r->pos < n || r->pos > r->end)
        return -1;
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += n;
    *v = x;
    return 0;
}

static int rd_leb(struct rd *r, int sign, uint64_t *v)
{
    uint64_t x = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        if (rd_u8(r, &b) || shift > 63)
            return -1;
        x |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (sign && shift < 64 && (b & 0x40))
        x |= ~(uint64_t)0 << shift;
    *v = x;
    return 0;
}

/* An encoded value's raw form (no pcrel applied). */
static int rd_enc(struct rd *r, uint8_t enc, uint64_t *v)
{
    switch (enc & 0x0f) {
    case PE_ABSPTR:
    case PE_UDATA8:
    case PE_SDATA8: return rd_n(r, 8, v);
    case PE_UDATA4: return rd_n(r, 4, v);
    case PE_SDATA4:
        if (rd_n(r, 4, v))
            return -1;
        *v = (uint64_t)(int64_t)(int32_t)(uint32_t)*v;
        return 0;
    case PE_UDATA2: return rd_n(r, 2, v);
    case PE_SDATA2:
        if (rd_n(r, 2, v))
            return -1;
        *v = (uint64_t)(int64_t)(int16_t)(uint16_t)*v;
        return 0;
    case PE_ULEB128: return rd_leb(r, 0, v);
    case PE_SLEB128: return rd_leb(r, 1, v);
    default: return -1;
    }
}

struct cie {
    uint64_t off;
    uint8_t enc; /* FDE pointer encoding */
    uint8_t usable;
};

/* Parse a CIE's augmentation far enough to learn the FDE encoding. */
static void parse_cie(struct rd r, struct cie *c)
{
    uint8_t ver, b;
    uint64_t v;
    c->usable = 0;
    c->enc = PE_ABSPTR;
    if (rd_u8(&r, &ver) || (ver != 1 && ver != 3 && ver != 4))
        return;
    size_t aug = r.pos;
    while (r.pos < r.end && r.p[r.pos])
        r.pos++;
    if (r.pos >= r.end)
        return;
    size_t aug_end = r.pos++;
    if (ver == 4 && (rd_u8(&r, &b) || rd_u8(&r, &b)))
        return;
    if (aug_end - aug >= 2 && r.p[aug] == 'e' && r.p[aug + 1] == 'h' && rd_n(&r, 8, &v))
        return;
    if (rd_leb(&r, 0, &v) || rd_leb(&r, 1, &v)) /* code, data alignment */
        return;
    if (ver == 1 ? rd_u8(&r, &b) : rd_leb(&r, 0, &v)) /* return address register */
        return;
    if (aug == aug_end) {
        c->usable = 1;
        return;
    }
    if (r.p[aug] != 'z')
        return;
    if (rd_leb(&r, 0, &v))
        return;
    for (size_t i = aug + 1; i < aug_end; i++) {
        switch (r.p[i]) {
        case 'L':
            if (rd_u8(&r, &b))
                return;
            break;
        case 'P':
            if (rd_u8(&r, &b) || (b & 0x70) == 0x50 || rd_enc(&r, b, &v))
                return;
            break;
        case 'R':
            if (rd_u8(&r, &c->enc))
                return;
            break;
        case 'S':
        case 'B':
        case 'G':
            break;
        default:
            return; /* unknown: the rest of the augmentation data is opaque */
        }
    }
    uint8_t app = c->enc & 0x70;
    c->usable = c->enc != PE_OMIT && !(c->enc & PE_INDIRECT) && (app == 0 || app == PE_PCREL);
}

struct eh_acc {
    size_t func_cap;
    struct cie *cies;
    size_t ncies, cie_cap;
};

static const struct cie *find_cie(const struct eh_acc *acc, uint64_t off)
{
    size_t lo = 0, hi = acc->ncies;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (acc->cies[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < acc->ncies && acc->cies[lo].off == off ? &acc->cies[lo] : NULL;
}

static enum rw_err add_range(struct rw_image *img, struct eh_acc *acc, uint32_t sec,
                             uint64_t start, uint64_t len, struct rw_diag *d)
{
    const struct rw_section *s = &img->sec[sec];
    if (!(s->flags & RW_SEC_EXEC) || start >= s->size || len == 0)
        return RW_OK;
    uint64_t end = len > s->size - start ? s->size : start + len;
    if (rw_grow((void **)&img->func, &acc->func_cap, img->nfunc, sizeof *img->func))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->func[img->nfunc++] = (struct rw_func){sec, start, end, NULL};
    return RW_OK;
}

/* One FDE: its initial location and range. fde: offset of the length. */
static enum rw_err do_fde(struct rw_image *img, struct elf_state *st, struct eh_acc *acc,
                          uint32_t ehsec, struct rd r, const struct cie *c, struct rw_diag *d)
{
    const struct rw_section *eh = &img->sec[ehsec];
    size_t field = r.pos;
    uint64_t begin, range;
    if (rd_enc(&r, c->enc, &begin) || rd_enc(&r, c->enc & 0x0f, &range))
        return RW_OK; /* truncated FDE body: no range from it */
    if (img->kind == RW_KIND_OBJECT) {
        const struct rw_reloc *rel = rw_reloc_at(img, ehsec, field);
        if (!rel || rel->symbol == RW_NONE || rel->symbol >= img->nsym)
            return RW_OK;
        const struct rw_symbol *s = &img->sym[rel->symbol];
        if (s->section == RW_NONE)
            return RW_OK;
        /* pcrel: P + (S + A - P) = S + A; absptr: S + A */
        return add_range(img, acc, s->section, s->value + (uint64_t)rel->addend, range, d);
    }
    if ((c->enc & 0x70) == PE_PCREL)
        begin += eh->addr + field;
    uint32_t sec = elf_sec_at(st, begin, 1);
    if (sec == RW_NONE)
        return RW_OK;
    return add_range(img, acc, sec, begin - img->sec[sec].addr, range, d);
}

static enum rw_err parse_eh_frame(struct rw_image *img, struct elf_state *st, uint32_t ehsec,
                                  uint64_t from, struct eh_acc *acc, struct rw_diag *d)
{
    const struct rw_section *eh = &img->sec[ehsec];
    const uint8_t *p = eh->data;
    size_t size = (size_t)eh->size;
    size_t pos = (size_t)from;
    acc->ncies = 0;
    while (size - pos >= 4) {
        size_t start = pos;
        struct rd r = {p, pos, size};
        uint64_t len = 0;
        rd_n(&r, 4, &len);
        if (len == 0)
            break; /* terminator */
        if (len == 0xffffffffu && rd_n(&r, 8, &len))
            return rw_fail(d, RW_E_CORRUPT, "%s: entry at 0x%zx is truncated", eh->name, start);
        if (len > size - r.pos || len < 4)
            return rw_fail(d, RW_E_CORRUPT,
                           "%s: entry at 0x%zx (length 0x%llx) runs past the end of the section",
                           eh->name, start, (unsigned long long)len);
        r.end = r.pos + (size_t)len;
        pos = r.end;
        size_t idpos = r.pos;
        uint64_t id = 0;
        rd_n(&r, 4, &id);
        if (id == 0) {
            if (rw_grow((void **)&acc->cies, &acc->cie_cap, acc->ncies, sizeof *acc->cies))
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            struct cie *c = &acc->cies[acc->ncies++];
            c->off = start;
            parse_cie(r, c);
            continue;
        }
        if (id > idpos)
            return rw_fail(d, RW_E_CORRUPT, "%s: FDE at 0x%zx points before the section", eh->name,
                           start);
        const struct cie *c = find_cie(acc, idpos - id);
        if (!c)
            return rw_fail(d, RW_E_CORRUPT, "%s: FDE at 0x%zx does not point to a CIE", eh->name,
                           start);
        if (!c->usable)
            continue;
        enum rw_err e = do_fde(img, st, acc, ehsec, r, c, d);
        if (e)
            return e;
    }
    return RW_OK;
}

/* .eh_frame_hdr: version 1, eh_frame_ptr encoding, then the pointer. */
static uint32_t eh_frame_from_hdr(struct rw_image *img, struct elf_state *st, uint64_t *off)
{
    for (size_t i = 0; i < img->nsec; i++) {
        const struct rw_section *s = &img->sec[i];
        if (strcmp(s->name, ".eh_frame_hdr") || !s->data || s->size < 4 || s->data[0] != 1)
            continue;
        struct rd r = {s->data, 4, (size_t)s->size};
        uint8_t enc = s->data[1];
        uint64_t v;
        if (enc == PE_OMIT || (enc & PE_INDIRECT) || rd_enc(&r, enc, &v))
            return RW_NONE;
        if ((enc & 0x70) == PE_PCREL)
            v += s->addr + 4;
        else if (enc & 0x70)
            return RW_NONE;
        uint32_t sec = elf_sec_at(st, v, 1);
        if (sec == RW_NONE || !img->sec[sec].data)
            return RW_NONE;
        *off = v - img->sec[sec].addr;
        return sec;
    }
    return RW_NONE;
}

enum rw_err elf_read_ehframe(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    struct eh_acc acc = {.func_cap = img->nfunc};
    enum rw_err e = RW_OK;
    int found = 0;
    for (size_t i = 0; i < img->nsec && !e; i++) {
        const struct rw_section *s = &img->sec[i];
        if (strcmp(s->name, ".eh_frame") || !s->data || !(s->flags & RW_SEC_ALLOC))
            continue;
        found = 1;
        e = parse_eh_frame(img, st, (uint32_t)i, 0, &acc, d);
    }
    if (!e && !found && img->kind != RW_KIND_OBJECT) {
        uint64_t off = 0;
        uint32_t sec = eh_frame_from_hdr(img, st, &off);
        if (sec != RW_NONE)
            e = parse_eh_frame(img, st, sec, off, &acc, d);
    }
    free(acc.cies);
    return e;
}

/* macho_unwind.c - __TEXT,__unwind_info (compact unwind, version 1) rebuilt
 * with functions added (macho_priv.h, docs/macho-unwind.md).
 *
 * The old table is decoded completely into one sorted list of (function
 * offset, encoding) entries, the added functions are appended, and a new
 * table is laid out from scratch: the common encodings, personalities and
 * LSDA descriptors are kept as they are (added encodings may join the common
 * table), the second-level pages are repacked. Layout and field names follow
 * Apple's <mach-o/compact_unwind_encoding.h>, restated here.
 */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

#define UI_VERSION 1u
#define UI_HEADER_SIZE 28u     /* unwind_info_section_header */
#define UI_INDEX_SIZE 12u      /* unwind_info_section_header_index_entry */
#define UI_LSDA_SIZE 8u        /* unwind_info_section_header_lsda_index_entry */
#define UI_REGULAR 2u          /* UNWIND_SECOND_LEVEL_REGULAR */
#define UI_COMPRESSED 3u       /* UNWIND_SECOND_LEVEL_COMPRESSED */
#define UI_REGULAR_HDR 8u      /* kind, entryPageOffset, entryCount */
#define UI_COMPRESSED_HDR 12u  /* ... encodingsPageOffset, encodingsCount */
#define UI_PAGE_BYTES 4096u    /* the second-level page size ld64 and lld use */
#define UI_MAX_COMMON 127u     /* ld64's limit on common encodings */
#define UI_MAX_INDEX 256u      /* compressed entries index encodings in 8 bits */
#define UI_DELTA_LIMIT 0x01000000u /* compressed entries hold 24-bit deltas */
#define UI_HAS_LSDA 0x40000000u
#define UI_PERSONALITY_MASK 0x30000000u
#define UI_PERSONALITY_SHIFT 28

/* Entries per page at most, for each kind (no page-local encodings). */
#define UI_REGULAR_MAX ((UI_PAGE_BYTES - UI_REGULAR_HDR) / 8u)

struct ui_entry {
    uint32_t off, enc;
};

/* The old table, decoded. common, pers and lsda point into the old bytes. */
struct ui_old {
    const uint8_t *common, *pers, *lsda;
    uint32_t ncommon, npers, nlsda;
    struct ui_entry *e;
    size_t n;
    int has_end;  /* a sentinel was present */
    uint32_t end; /* its function offset */
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* count elements of elsize bytes at off lie inside size bytes. */
static int ui_fits(size_t size, uint64_t off, uint64_t count, uint64_t elsize)
{
    return off <= size && count <= (size - off) / elsize;
}

/* ---- reading ------------------------------------------------------------ */

/* The entries of second-level page i (first-level entries ix[i], ix[i + 1]),
 * appended to o->e after checking them against the page's range. last: the
 * page before the sentinel, whose last entry may sit at the sentinel's own
 * offset (ld64.lld-14 ends x86-64 tables with its last function's start, so
 * that function is not covered; the entry is kept, and a rebuilt table with
 * a later end covers it). */
static enum rw_err ui_read_page(const uint8_t *old, size_t size, const uint8_t *ix, uint32_t i,
                                int last, struct ui_old *o, struct rw_diag *d)
{
    uint32_t lo = rd32(ix), hi = rd32(ix + UI_INDEX_SIZE), page = rd32(ix + 4);
    if (!ui_fits(size, page, 1, UI_REGULAR_HDR))
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u at 0x%x is outside the section", i, page);
    const uint8_t *p = old + page;
    uint32_t kind = rd32(p), eoff = rd16(p + 4), count = rd16(p + 6);
    uint32_t nloc = 0;
    const uint8_t *loc = NULL;
    if (kind == UI_REGULAR) {
        if (!ui_fits(size, (uint64_t)page + eoff, count, 8))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u: %u entries run past the section", i, count);
    } else if (kind == UI_COMPRESSED) {
        if (!ui_fits(size, page, 1, UI_COMPRESSED_HDR))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u at 0x%x is outside the section", i, page);
        uint32_t loff = rd16(p + 8);
        nloc = rd16(p + 10);
        if (!ui_fits(size, (uint64_t)page + eoff, count, 4) || !ui_fits(size, (uint64_t)page + loff, nloc, 4))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u: entries or encodings run past the section", i);
        loc = p + loff;
    } else {
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u has unknown kind %u", i, kind);
    }
    for (uint32_t k = 0; k < count; k++) {
        uint64_t off;
        uint32_t enc;
        if (kind == UI_REGULAR) {
            off = rd32(p + eoff + 8 * k);
            enc = rd32(p + eoff + 8 * k + 4);
        } else {
            uint32_t w = rd32(p + eoff + 4 * k), idx = w >> 24;
            off = (uint64_t)lo + (w & 0x00ffffffu);
            if (idx < o->ncommon)
                enc = rd32(o->common + 4 * idx);
            else if (idx - o->ncommon < nloc)
                enc = rd32(loc + 4 * (idx - o->ncommon));
            else
                return rw_fail(d, RW_E_CORRUPT, "__unwind_info: page %u entry %u: encoding index %u out of range", i, k, idx);
        }
        /* entries ascend inside the page's range */
        if (off < lo || off > hi || (off == hi && (!last || k + 1 != count)))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: page %u entry %u: function 0x%llx outside 0x%x..0x%x", i, k,
                           (unsigned long long)off, lo, hi);
        if (o->n && off <= o->e[o->n - 1].off)
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: function offsets do not ascend at 0x%llx",
                           (unsigned long long)off);
        if ((enc & UI_PERSONALITY_MASK) >> UI_PERSONALITY_SHIFT > o->npers)
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: function 0x%llx names a personality that is not there",
                           (unsigned long long)off);
        o->e[o->n].off = (uint32_t)off;
        o->e[o->n].enc = enc;
        o->n++;
    }
    return RW_OK;
}

/* Every entry with UNWIND_HAS_LSDA has one LSDA descriptor and every
 * descriptor belongs to such an entry (both lists ascend); and each
 * first-level entry's LSDA slice holds exactly its range's descriptors,
 * which is how unwinders search them. */
static enum rw_err ui_check_lsda(const struct ui_old *o, const uint8_t *old, uint32_t ix_off, uint32_t nix,
                                 uint32_t lsda_off, struct rw_diag *d)
{
    size_t k = 0;
    for (size_t j = 0; j < o->n; j++) {
        if (!(o->e[j].enc & UI_HAS_LSDA))
            continue;
        while (k < o->nlsda && rd32(o->lsda + UI_LSDA_SIZE * k) < o->e[j].off)
            k++;
        if (k == o->nlsda || rd32(o->lsda + UI_LSDA_SIZE * k) != o->e[j].off)
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: function 0x%x has an LSDA flag but no LSDA descriptor", o->e[j].off);
    }
    k = 0;
    for (uint32_t i = 0; i < nix; i++) {
        const uint8_t *ix = old + ix_off + UI_INDEX_SIZE * i;
        uint32_t at = (rd32(ix + 8) - lsda_off) / UI_LSDA_SIZE;
        if (at != k)
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: first-level entry %u: LSDA slice starts at descriptor %u, not %zu",
                           i, at, k);
        while (k < o->nlsda && (i + 1 == nix || rd32(o->lsda + UI_LSDA_SIZE * k) < rd32(ix + UI_INDEX_SIZE)))
            k++;
    }
    /* every descriptor names a function that has the flag */
    size_t j = 0;
    for (k = 0; k < o->nlsda; k++) {
        uint32_t f = rd32(o->lsda + UI_LSDA_SIZE * k);
        if (k && f <= rd32(o->lsda + UI_LSDA_SIZE * (k - 1)))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: LSDA descriptors do not ascend at 0x%x", f);
        while (j < o->n && o->e[j].off < f)
            j++;
        if (j == o->n || o->e[j].off != f || !(o->e[j].enc & UI_HAS_LSDA))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: LSDA descriptor for 0x%x matches no function with an LSDA", f);
    }
    return RW_OK;
}

static enum rw_err ui_read(const uint8_t *old, size_t size, struct ui_old *o, struct rw_diag *d)
{
    memset(o, 0, sizeof *o);
    if (!old && size)
        return rw_fail(d, RW_E_INTERNAL, "__unwind_info: no bytes for a table of %zu", size);
    if (!old)
        return RW_OK;
    if (size < UI_HEADER_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: %zu bytes, shorter than its header", size);
    if (rd32(old) != UI_VERSION)
        return rw_fail(d, RW_E_UNSUPPORTED, "__unwind_info: version %u (only version 1 is known)", rd32(old));
    uint32_t coff = rd32(old + 4), poff = rd32(old + 12), ix_off = rd32(old + 20), nix = rd32(old + 24);
    o->ncommon = rd32(old + 8);
    o->npers = rd32(old + 16);
    if (!ui_fits(size, coff, o->ncommon, 4) || !ui_fits(size, poff, o->npers, 4) ||
        !ui_fits(size, ix_off, nix, UI_INDEX_SIZE))
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: an array in the header runs past the section");
    /* personality indexes in encodings are 2 bits; more than 3 cannot be used */
    if (o->npers > 3)
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: %u personalities (at most 3 can be named)", o->npers);
    o->common = old + coff;
    o->pers = old + poff;
    if (nix == 0)
        return RW_OK;

    /* first level: ascending functions; LSDA slices ascending and inside
     * the section; the descriptor array is the union of the slices */
    const uint8_t *ix = old + ix_off;
    uint32_t lsda_off = rd32(ix + 8), lsda_end = rd32(ix + UI_INDEX_SIZE * (nix - 1) + 8);
    if (lsda_end < lsda_off || (lsda_end - lsda_off) % UI_LSDA_SIZE || lsda_end > size)
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: the LSDA descriptors 0x%x..0x%x are malformed", lsda_off, lsda_end);
    o->lsda = old + lsda_off;
    o->nlsda = (lsda_end - lsda_off) / UI_LSDA_SIZE;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nix; i++) {
        const uint8_t *e = ix + UI_INDEX_SIZE * i;
        uint32_t l = rd32(e + 8);
        if (l < lsda_off || l > lsda_end || (l - lsda_off) % UI_LSDA_SIZE ||
            (i && (rd32(e) < rd32(e - UI_INDEX_SIZE) || l < rd32(e - UI_INDEX_SIZE + 8))))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: first-level entry %u is out of order or out of range", i);
        if (i + 1 < nix) {
            uint32_t page = rd32(e + 4);
            if (!ui_fits(size, page, 1, UI_REGULAR_HDR))
                return rw_fail(d, RW_E_CORRUPT, "__unwind_info: second-level page %u at 0x%x is outside the section", i, page);
            total += rd16(old + page + 6);
        }
    }
    /* each entry takes 4 bytes at least: a larger total means pages overlap */
    if (total > size / 4)
        return rw_fail(d, RW_E_CORRUPT, "__unwind_info: %llu entries cannot fit in %zu bytes", (unsigned long long)total, size);
    o->has_end = 1;
    o->end = rd32(ix + UI_INDEX_SIZE * (nix - 1));
    if (total) {
        o->e = malloc(sizeof *o->e * (size_t)total);
        if (!o->e)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i + 1 < nix; i++) {
        enum rw_err err = ui_read_page(old, size, ix + UI_INDEX_SIZE * i, i, i + 2 == nix, o, d);
        if (err)
            return err;
    }
    return ui_check_lsda(o, old, ix_off, nix, lsda_off, d);
}

/* ---- writing ------------------------------------------------------------ */

struct ui_common {
    uint32_t enc, idx;
};

static int ui_common_cmp(const void *a, const void *b)
{
    const struct ui_common *x = a, *y = b;
    if (x->enc != y->enc)
        return x->enc < y->enc ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Index of enc in the common table (c: its n entries sorted by value) if a
 * compressed entry can name it (below 256), else -1. Among duplicates the
 * lowest index wins. */
static int ui_common_find(const struct ui_common *c, size_t n, uint32_t enc)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].enc < enc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && c[lo].enc == enc && c[lo].idx < UI_MAX_INDEX ? (int)c[lo].idx : -1;
}

/* One second-level page: n entries from e[first], compressed (with nloc
 * page-local encodings) or regular. */
struct ui_page {
    size_t first, n;
    int compressed;
    uint32_t loc[UI_MAX_INDEX], nloc;
};

/* The next page from e[i]: as many entries as a compressed page holds
 * (24-bit deltas, 8-bit encoding indexes, 4 KiB), unless a regular page
 * would hold more (functions more than 16 MiB apart). */
static void ui_plan_page(const struct ui_entry *e, size_t n, size_t i, const struct ui_common *c, uint32_t ncommon,
                         struct ui_page *pg)
{
    pg->first = i;
    pg->nloc = 0;
    size_t k = 0;
    for (size_t j = i; j < n; j++, k++) {
        if (e[j].off - e[i].off >= UI_DELTA_LIMIT)
            break;
        uint32_t need = 0;
        if (ui_common_find(c, ncommon, e[j].enc) < 0) {
            uint32_t l = 0;
            while (l < pg->nloc && pg->loc[l] != e[j].enc)
                l++;
            if (l == pg->nloc) {
                if (ncommon + pg->nloc >= UI_MAX_INDEX)
                    break;
                need = 1;
            }
        }
        if (UI_COMPRESSED_HDR + 4 * (k + 1) + 4 * (uint64_t)(pg->nloc + need) > UI_PAGE_BYTES)
            break;
        if (need)
            pg->loc[pg->nloc++] = e[j].enc;
    }
    size_t nreg = n - i < UI_REGULAR_MAX ? n - i : UI_REGULAR_MAX;
    pg->compressed = k >= nreg;
    pg->n = pg->compressed ? k : nreg;
    if (!pg->compressed)
        pg->nloc = 0;
}

static uint64_t ui_page_size(const struct ui_page *pg)
{
    return pg->compressed ? UI_COMPRESSED_HDR + 4 * ((uint64_t)pg->n + pg->nloc) : UI_REGULAR_HDR + 8 * (uint64_t)pg->n;
}

static void ui_write_page(uint8_t *p, const struct ui_page *pg, const struct ui_entry *e, const struct ui_common *c,
                          uint32_t ncommon)
{
    const struct ui_entry *pe = e + pg->first;
    if (!pg->compressed) {
        wr32(p, UI_REGULAR);
        wr16(p + 4, UI_REGULAR_HDR);
        wr16(p + 6, (uint32_t)pg->n);
        for (size_t k = 0; k < pg->n; k++) {
            wr32(p + UI_REGULAR_HDR + 8 * k, pe[k].off);
            wr32(p + UI_REGULAR_HDR + 8 * k + 4, pe[k].enc);
        }
        return;
    }
    uint32_t loc_off = UI_COMPRESSED_HDR + 4 * (uint32_t)pg->n;
    wr32(p, UI_COMPRESSED);
    wr16(p + 4, UI_COMPRESSED_HDR);
    wr16(p + 6, (uint32_t)pg->n);
    wr16(p + 8, loc_off);
    wr16(p + 10, pg->nloc);
    for (size_t k = 0; k < pg->n; k++) {
        int idx = ui_common_find(c, ncommon, pe[k].enc);
        if (idx < 0) {
            uint32_t l = 0;
            while (pg->loc[l] != pe[k].enc) /* planned: it is there */
                l++;
            idx = (int)(ncommon + l);
        }
        wr32(p + UI_COMPRESSED_HDR + 4 * k, (uint32_t)idx << 24 | (pe[k].off - pe[0].off));
    }
    for (uint32_t l = 0; l < pg->nloc; l++)
        wr32(p + loc_off + 4 * l, pg->loc[l]);
}

/* The adds against the old table and each other. */
static enum rw_err ui_check_adds(const struct ui_old *o, const struct macho_unwind_add *adds, size_t nadd,
                                 uint32_t end, struct rw_diag *d)
{
    for (size_t k = 0; k < nadd; k++) {
        uint32_t f = adds[k].func_off, enc = adds[k].encoding;
        if ((o->has_end && f < o->end) || (o->n && f <= o->e[o->n - 1].off))
            return rw_fail(d, RW_E_CORRUPT, "__unwind_info: the old table covers up to 0x%x, past the added function at 0x%x",
                           o->has_end ? o->end : o->e[o->n - 1].off, f);
        if (k && f <= adds[k - 1].func_off)
            return rw_fail(d, RW_E_INTERNAL, "__unwind_info: added functions are not sorted (0x%x after 0x%x)", f,
                           adds[k - 1].func_off);
        if (enc & UI_HAS_LSDA)
            return rw_fail(d, RW_E_INTERNAL, "__unwind_info: added function 0x%x claims an LSDA", f);
        if ((enc & UI_PERSONALITY_MASK) >> UI_PERSONALITY_SHIFT > o->npers)
            return rw_fail(d, RW_E_INTERNAL, "__unwind_info: added function 0x%x names a personality that is not there", f);
    }
    if (nadd && end <= adds[nadd - 1].func_off)
        return rw_fail(d, RW_E_INTERNAL, "__unwind_info: end 0x%x is not past the last added function 0x%x", end,
                       adds[nadd - 1].func_off);
    if (o->has_end && end < o->end)
        return rw_fail(d, RW_E_INTERNAL, "__unwind_info: end 0x%x is below the old table's end 0x%x", end, o->end);
    return RW_OK;
}

/* The full entry list: old entries, an entry without unwind information
 * (encoding 0) where the old table's coverage ended, when something follows
 * it, so that whatever lay between (stubs, data) stays uncovered; then the
 * adds. */
static enum rw_err ui_entries(const struct ui_old *o, const struct macho_unwind_add *adds, size_t nadd,
                              uint32_t end, struct ui_entry **out, size_t *nout, size_t *nnew, struct rw_diag *d)
{
    uint32_t next = nadd ? adds[0].func_off : end;
    /* (no gap entry when the last old entry already starts there) */
    int gap = o->n > 0 && next > o->end && o->e[o->n - 1].off < o->end;
    if (nadd > (SIZE_MAX / sizeof **out) - o->n - 2)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    size_t n = o->n + (size_t)gap + nadd;
    struct ui_entry *e = malloc(sizeof *e * (n ? n : 1));
    if (!e)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    if (o->n)
        memcpy(e, o->e, sizeof *e * o->n);
    size_t m = o->n;
    if (gap)
        e[m++] = (struct ui_entry){o->end, 0};
    for (size_t k = 0; k < nadd; k++)
        e[m++] = (struct ui_entry){adds[k].func_off, adds[k].encoding};
    *out = e;
    *nout = n;
    *nnew = n - o->n;
    return RW_OK;
}

struct ui_out {
    struct ui_entry *e;
    size_t n;
    uint32_t *common;      /* old common encodings, then the added ones */
    uint32_t ncommon;
    struct ui_common *sorted;
    struct ui_page *pages;
    size_t npages;
};

static void ui_out_free(struct ui_out *w)
{
    free(w->e);
    free(w->common);
    free(w->sorted);
    free(w->pages);
}

/* Common encodings: the old ones unchanged (old compressed indexes stay
 * meaningful to anyone comparing), then new encodings of added entries in
 * order of first use while the table has fewer than 127. */
static enum rw_err ui_plan_common(const struct ui_old *o, struct ui_out *w, size_t nnew, struct rw_diag *d)
{
    size_t cap = (size_t)o->ncommon + UI_MAX_COMMON;
    w->common = malloc(sizeof *w->common * cap);
    w->sorted = malloc(sizeof *w->sorted * cap);
    if (!w->common || !w->sorted)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < o->ncommon; i++)
        w->common[i] = rd32(o->common + 4 * i);
    w->ncommon = o->ncommon;
    for (size_t j = w->n - nnew; j < w->n && w->ncommon < UI_MAX_COMMON; j++) {
        uint32_t i = 0;
        while (i < w->ncommon && w->common[i] != w->e[j].enc)
            i++;
        if (i == w->ncommon)
            w->common[w->ncommon++] = w->e[j].enc;
    }
    for (uint32_t i = 0; i < w->ncommon; i++)
        w->sorted[i] = (struct ui_common){w->common[i], i};
    qsort(w->sorted, w->ncommon, sizeof *w->sorted, ui_common_cmp);
    return RW_OK;
}

static enum rw_err ui_plan_pages(struct ui_out *w, struct rw_diag *d)
{
    size_t cap = 0;
    for (size_t i = 0; i < w->n;) {
        if (w->npages == cap) {
            size_t nc = cap ? 2 * cap : 4;
            struct ui_page *p = nc < SIZE_MAX / sizeof *p ? realloc(w->pages, sizeof *p * nc) : NULL;
            if (!p)
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            w->pages = p;
            cap = nc;
        }
        struct ui_page *pg = &w->pages[w->npages++];
        ui_plan_page(w->e, w->n, i, w->sorted, w->ncommon, pg);
        i += pg->n;
    }
    return RW_OK;
}

/* Section layout, as ld64 and lld write it: header, common encodings,
 * personalities, first-level index (pages + sentinel), LSDA descriptors,
 * then the pages back to back (each at most 4 KiB). */
static enum rw_err ui_emit(const struct ui_old *o, const struct ui_out *w, uint32_t end, struct rw_buf *out,
                           struct rw_diag *d)
{
    uint64_t coff = UI_HEADER_SIZE, poff = coff + 4ull * w->ncommon, ix_off = poff + 4ull * o->npers;
    uint64_t nix = (uint64_t)w->npages + 1, lsda_off = ix_off + UI_INDEX_SIZE * nix;
    uint64_t pages_off = lsda_off + (uint64_t)UI_LSDA_SIZE * o->nlsda, size = pages_off;
    for (size_t i = 0; i < w->npages; i++)
        size += ui_page_size(&w->pages[i]);
    if (size > UINT32_MAX)
        return rw_fail(d, RW_E_NOROOM, "__unwind_info: the new table would exceed 4 GiB");
    size_t base = out->len;
    if (size > SIZE_MAX - base || rw_buf_reserve(out, base + (size_t)size))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    uint8_t *p = out->data + base;
    memset(p, 0, (size_t)size);
    wr32(p, UI_VERSION);
    wr32(p + 4, (uint32_t)coff);
    wr32(p + 8, w->ncommon);
    wr32(p + 12, (uint32_t)poff);
    wr32(p + 16, o->npers);
    wr32(p + 20, (uint32_t)ix_off);
    wr32(p + 24, (uint32_t)nix);
    for (uint32_t i = 0; i < w->ncommon; i++)
        wr32(p + coff + 4 * i, w->common[i]);
    if (o->npers)
        memcpy(p + poff, o->pers, 4 * (size_t)o->npers);
    if (o->nlsda)
        memcpy(p + lsda_off, o->lsda, UI_LSDA_SIZE * (size_t)o->nlsda);
    uint64_t at = pages_off;
    uint32_t k = 0; /* first LSDA descriptor of the current page */
    for (size_t i = 0; i < w->npages; i++) {
        const struct ui_page *pg = &w->pages[i];
        uint32_t lo = w->e[pg->first].off;
        while (k < o->nlsda && rd32(o->lsda + UI_LSDA_SIZE * k) < lo)
            k++;
        uint8_t *ix = p + ix_off + UI_INDEX_SIZE * i;
        wr32(ix, lo);
        wr32(ix + 4, (uint32_t)at);
        wr32(ix + 8, (uint32_t)(lsda_off + UI_LSDA_SIZE * k));
        ui_write_page(p + at, pg, w->e, w->sorted, w->ncommon);
        at += ui_page_size(pg);
    }
    uint8_t *sentinel = p + ix_off + UI_INDEX_SIZE * w->npages;
    wr32(sentinel, end);
    wr32(sentinel + 4, 0);
    wr32(sentinel + 8, (uint32_t)(lsda_off + UI_LSDA_SIZE * (uint64_t)o->nlsda));
    out->len = base + (size_t)size;
    return RW_OK;
}

enum rw_err macho_unwind_rebuild(const uint8_t *old, size_t old_size,
                                 const struct macho_unwind_add *adds, size_t nadd, uint32_t end,
                                 struct rw_buf *out, struct rw_diag *d)
{
    if (nadd && !adds)
        return rw_fail(d, RW_E_INTERNAL, "__unwind_info: %zu functions to add but no list", nadd);
    struct ui_old o;
    struct ui_out w;
    memset(&w, 0, sizeof w);
    size_t nnew = 0;
    enum rw_err err = ui_read(old, old_size, &o, d);
    if (!err)
        err = ui_check_adds(&o, adds, nadd, end, d);
    if (!err)
        err = ui_entries(&o, adds, nadd, end, &w.e, &w.n, &nnew, d);
    if (!err)
        err = ui_plan_common(&o, &w, nnew, d);
    if (!err)
        err = ui_plan_pages(&w, d);
    if (!err)
        err = ui_emit(&o, &w, end, out, d);
    free(o.e);
    ui_out_free(&w);
    return err;
}

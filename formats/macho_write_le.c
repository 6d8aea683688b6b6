/* macho_write_le.c - __LINKEDIT of a rewritten image (docs/macho-images.md).
 *
 * __LINKEDIT moves up by the new segment's size. Its contents keep their
 * order; two of them grow: LC_FUNCTION_STARTS (the stubs' starts added) and
 * LC_DYLD_CHAINED_FIXUPS (one more segment in starts_in_image). Each growth
 * is rounded up to 16 bytes, so every blob after it keeps its alignment (8
 * for the tables, 16 for the signature), and the code signature, when there
 * is one, stays last. Every command that points into __LINKEDIT is
 * updated. */
#include <stdlib.h>
#include <string.h>

#include "macho_write.h"

static enum rw_err add_piece(struct mw *w, uint32_t lc_off, uint32_t off_field,
                             uint32_t size_field, uint64_t off, uint64_t size, int kind,
                             const char *what)
{
    struct mw_piece *n = realloc(w->pc, (w->npc + 1) * sizeof *n);
    if (!n)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    w->pc = n;
    w->pc[w->npc++] = (struct mw_piece){lc_off, off_field, size_field, off, size, kind, what,
                                        0, 0, {0}};
    if (kind == MW_PIECE_CODESIG)
        w->cs = w->npc - 1;
    return RW_OK;
}

/* A table of count entries of esize bytes at (lc + off_field, lc + count_field). */
static enum rw_err table(struct mw *w, uint32_t lc, uint32_t off_field, uint32_t count_field,
                         uint32_t esize, const char *what)
{
    uint64_t n = macho_u32(w->in + lc + count_field);
    return add_piece(w, lc, off_field, 0, macho_u32(w->in + lc + off_field), n * esize,
                     MW_PIECE_PLAIN, what);
}

static enum rw_err bytes(struct mw *w, uint32_t lc, uint32_t off_field, int kind, const char *what)
{
    return add_piece(w, lc, off_field, kind == MW_PIECE_PLAIN ? 0 : off_field + 4,
                     macho_u32(w->in + lc + off_field), macho_u32(w->in + lc + off_field + 4),
                     kind, what);
}

enum rw_err mw_le_command(struct mw *w, uint32_t cmd, uint32_t off, uint32_t size, int *known)
{
    enum rw_err e = RW_OK;
    *known = 1;
    switch (cmd) {
    case MACHO_LC_SYMTAB:
        if (size != 24)
            break;
        if (!(e = table(w, off, 8, 12, MACHO_NLIST_SIZE, "the symbol table")))
            e = bytes(w, off, 16, MW_PIECE_PLAIN, "the string table");
        return e;
    case MACHO_LC_DYSYMTAB:
        if (size != 80)
            break;
        if (!(e = table(w, off, 32, 36, 8, "the table of contents")) &&
            !(e = table(w, off, 40, 44, 56, "the module table")) &&
            !(e = table(w, off, 48, 52, 4, "the referenced symbols")) &&
            !(e = table(w, off, 56, 60, 4, "the indirect symbols")) &&
            !(e = table(w, off, 64, 68, MACHO_RELOC_SIZE, "the external relocations")))
            e = table(w, off, 72, 76, MACHO_RELOC_SIZE, "the local relocations");
        return e;
    case MACHO_LC_DYLD_INFO:
    case MACHO_LC_DYLD_INFO_ONLY:
        if (size != 48)
            break;
        for (uint32_t f = 8; !e && f < 48; f += 8)
            e = bytes(w, off, f, MW_PIECE_PLAIN, "the dyld info");
        return e;
    case MACHO_LC_CODE_SIGNATURE:
    case MACHO_LC_SEGMENT_SPLIT_INFO:
    case MACHO_LC_FUNCTION_STARTS:
    case MACHO_LC_DATA_IN_CODE:
    case MACHO_LC_DYLIB_CODE_SIGN_DRS:
    case MACHO_LC_LINKER_OPTIMIZATION_HINT:
    case MACHO_LC_DYLD_EXPORTS_TRIE:
    case MACHO_LC_DYLD_CHAINED_FIXUPS:
    case 0x36: /* LC_ATOM_INFO */
        if (size != 16)
            break;
        return bytes(w, off, 8,
                     cmd == MACHO_LC_CODE_SIGNATURE     ? MW_PIECE_CODESIG
                     : cmd == MACHO_LC_FUNCTION_STARTS  ? MW_PIECE_FSTARTS
                     : cmd == MACHO_LC_DYLD_CHAINED_FIXUPS ? MW_PIECE_FIXUPS
                                                        : MW_PIECE_PLAIN,
                     cmd == MACHO_LC_CODE_SIGNATURE ? "the code signature" : "linkedit data");
    case 0x16: /* LC_TWOLEVEL_HINTS */
        if (size != 16)
            break;
        return table(w, off, 8, 12, 4, "the two-level hints");
    case 0x21: /* LC_ENCRYPTION_INFO(_64): cryptoff in __TEXT */
    case 0x2c:
        if (size < 20)
            break;
        return add_piece(w, off, 8, 0, macho_u32(w->in + off + 8), macho_u32(w->in + off + 12),
                         MW_PIECE_FIXED, "encrypted data");
    case 0x31: /* LC_NOTE */
        if (size != 40)
            break;
        return add_piece(w, off, 0, 0, macho_u64(w->in + off + 24), macho_u64(w->in + off + 32),
                         MW_PIECE_FIXED, "an LC_NOTE");
    default:
        *known = 0;
        return RW_OK;
    }
    return rw_fail(w->d, RW_E_CORRUPT, "load command 0x%x at 0x%x has size %u", cmd, off, size);
}

void mw_le_free(struct mw *w)
{
    for (size_t i = 0; i < w->npc; i++)
        rw_buf_free(&w->pc[i].content);
    free(w->pc);
    w->pc = NULL;
    w->npc = 0;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* LC_FUNCTION_STARTS: ULEB128 deltas, the first from __TEXT's address,
 * ended by a 0; decoded, the stubs added, sorted, encoded again. */
static enum rw_err function_starts(struct mw *w, struct mw_piece *p)
{
    const uint8_t *q = w->in + p->off;
    size_t cap = p->size + w->plan->nstubs + 1, n = 0; /* one start per byte at most */
    uint64_t *v = malloc(cap * sizeof *v);
    if (!v)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    uint64_t cur = 0, text = w->seg[w->text].vmaddr;
    for (const uint8_t *end = q + p->size; q < end;) {
        uint64_t delta;
        if (macho_uleb(&q, end, &delta)) {
            free(v);
            return rw_fail(w->d, RW_E_CORRUPT, "LC_FUNCTION_STARTS is malformed");
        }
        if (delta == 0)
            break;
        cur += delta;
        v[n++] = cur;
    }
    for (size_t i = 0; i < w->plan->nstubs; i++)
        v[n++] = w->seg_va + w->plan->stubs[i].offset - text;
    qsort(v, n, sizeof *v, by_u64);
    enum rw_err e = RW_OK;
    uint64_t prev = 0;
    for (size_t i = 0; i < n && !e; i++) {
        if (i && v[i] == prev)
            continue;
        if (macho_put_uleb(&p->content, v[i] - prev))
            e = rw_fail(w->d, RW_E_NOMEM, "out of memory");
        prev = v[i];
    }
    free(v);
    uint8_t zero[8] = {0};
    if (!e && rw_buf_append(&p->content, zero, 1 + (7 - p->content.len % 8) % 8))
        e = rw_fail(w->d, RW_E_NOMEM, "out of memory");
    p->new_size = p->content.len;
    return e;
}

/* LC_DYLD_CHAINED_FIXUPS: starts_in_image has one entry per segment, by
 * segment index; __CALLIRW takes __LINKEDIT's index, so an entry (0: no
 * fixups) goes in there, with 4 bytes of padding so that what follows keeps
 * its 8-byte alignment; every offset past the array moves by 8. */
static enum rw_err chained_fixups(struct mw *w, struct mw_piece *p)
{
    const uint8_t *q = w->in + p->off;
    uint64_t size = p->size;
    if (size < 28)
        return rw_fail(w->d, RW_E_CORRUPT, "chained fixups header is truncated");
    uint32_t starts = macho_u32(q + 4), imports = macho_u32(q + 8), symbols = macho_u32(q + 12);
    if (starts > size - 4)
        return rw_fail(w->d, RW_E_CORRUPT, "chained fixups: starts_in_image lies past its end");
    uint32_t count = macho_u32(q + starts);
    if (count > (size - starts - 4) / 4)
        return rw_fail(w->d, RW_E_CORRUPT, "chained fixups: %u segments do not fit", count);
    if (count != w->nseg)
        return rw_fail(w->d, RW_E_UNSUPPORTED,
                       "chained fixups describe %u segments, the image has %zu", count, w->nseg);
    uint64_t arr = (uint64_t)starts + 4, end = arr + 4ull * count;
    uint8_t ins[8] = {0};
    if (rw_buf_reserve(&p->content, size + 8) || rw_buf_append(&p->content, q, arr + 4 * w->le) ||
        rw_buf_append(&p->content, ins, 4) ||
        rw_buf_append(&p->content, q + arr + 4 * w->le, 4 * (count - w->le)) ||
        rw_buf_append(&p->content, ins + 4, 4) ||
        rw_buf_append(&p->content, q + end, size - end))
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    uint8_t *o = p->content.data;
    if (imports >= end)
        macho_put32(o + 8, imports + 8);
    if (symbols >= end)
        macho_put32(o + 12, symbols + 8);
    macho_put32(o + starts, count + 1);
    for (uint32_t i = 0; i <= count; i++) {
        uint8_t *s = o + arr + 4 * i;
        uint32_t v = macho_u32(s);
        if (!v)
            continue;
        if (v < 4 + 4ull * count || starts + (uint64_t)v >= size)
            return rw_fail(w->d, RW_E_CORRUPT, "chained fixups: segment %u's starts at 0x%x", i, v);
        macho_put32(s, v + 8);
    }
    p->new_size = p->content.len;
    return RW_OK;
}

static int overlap(const struct mw_piece *a, const struct mw_piece *b)
{
    return a->size && b->size && a->off < b->off + b->size && b->off < a->off + a->size;
}

/* Where input offset o of __LINKEDIT lands: the segment's move plus the
 * growth of the blobs before it. */
static uint64_t reloc(const struct mw *w, uint64_t o)
{
    uint64_t r = o + w->seg_size;
    for (size_t i = 0; i < w->npc; i++)
        if (w->pc[i].growth && w->pc[i].off < o)
            r += w->pc[i].growth;
    return r;
}

static int in_le(const struct mw *w, uint64_t o)
{
    const struct mw_seg *le = &w->seg[w->le];
    return o >= le->fileoff && o <= le->fileoff + le->filesize;
}

enum rw_err mw_le_plan(struct mw *w)
{
    const struct mw_seg *le = &w->seg[w->le];
    uint64_t le_end = le->fileoff + le->filesize, growth = 0;
    enum rw_err e;
    for (size_t i = 0; i < w->npc; i++) {
        struct mw_piece *p = &w->pc[i];
        if (p->kind == MW_PIECE_FIXED) {
            if (p->size && (p->off > w->seg_off || p->size > w->seg_off - p->off))
                return rw_fail(w->d, RW_E_UNSUPPORTED, "%s lies in __LINKEDIT", p->what);
            continue;
        }
        if (p->size && (p->off < le->fileoff || p->off > le_end || p->size > le_end - p->off))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "%s lies outside __LINKEDIT", p->what);
        if (p->kind == MW_PIECE_FSTARTS)
            e = function_starts(w, p);
        else if (p->kind == MW_PIECE_FIXUPS)
            e = chained_fixups(w, p);
        else
            continue;
        if (e)
            return e;
        if (p->new_size > p->size)
            p->growth = MACHO_ALIGN_UP(p->new_size - p->size, 16);
        growth += p->growth;
    }
    for (size_t i = 0; i < w->npc; i++) {
        const struct mw_piece *a = &w->pc[i];
        if (a->kind == MW_PIECE_FIXED)
            continue;
        for (size_t j = 0; j < w->npc; j++) {
            const struct mw_piece *b = &w->pc[j];
            if (i == j || b->kind == MW_PIECE_FIXED)
                continue;
            if (a->kind != MW_PIECE_PLAIN && a->kind != MW_PIECE_CODESIG && overlap(a, b))
                return rw_fail(w->d, RW_E_UNSUPPORTED, "%s overlaps %s", b->what,
                               a->kind == MW_PIECE_FSTARTS ? "LC_FUNCTION_STARTS" : "chained fixups");
            if (i == w->cs && b->size && b->off + b->size > a->off)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "%s follows the code signature", b->what);
        }
    }
    w->le_new_off = le->fileoff + w->seg_size;
    if (w->cs != SIZE_MAX) {
        const struct mw_piece *c = &w->pc[w->cs];
        if (!c->size)
            return rw_fail(w->d, RW_E_CORRUPT, "LC_CODE_SIGNATURE is empty");
        if ((e = macho_sign_info(w->in, w->insz, &w->sig, w->d)))
            return e;
        if (!w->sig.present)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "the code signature has no CodeDirectory to renew");
        w->sig_off = MACHO_ALIGN_UP(reloc(w, c->off), 16);
        if (w->sig_off > UINT32_MAX)
            return rw_fail(w->d, RW_E_NOROOM, "the image would pass 4 GiB");
        w->sig_size = macho_sign_size(w->sig_off, w->sig.ident, w->sig.page_shift);
        if (!w->sig_size || w->sig_size > UINT32_MAX - w->sig_off)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "no ad-hoc signature size for 0x%llx bytes",
                           (unsigned long long)w->sig_off);
        w->le_new_filesize = w->sig_off + w->sig_size - w->le_new_off;
    } else {
        w->le_new_filesize = le->filesize + growth;
    }
    w->le_new_vmsize = MACHO_ALIGN_UP(w->le_new_filesize, w->page);
    if (w->le_new_vmsize < le->vmsize)
        w->le_new_vmsize = le->vmsize;
    w->out_size = w->le_new_off + w->le_new_filesize;
    if (w->out_size > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "the image would pass 4 GiB");
    return RW_OK;
}

static int by_off(const void *a, const void *b)
{
    const struct mw_piece *x = *(const struct mw_piece *const *)a, *y = *(const struct mw_piece *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

enum rw_err mw_le_write(struct mw *w, uint8_t *o)
{
    const struct mw_seg *le = &w->seg[w->le];
    uint64_t limit = w->cs != SIZE_MAX ? w->pc[w->cs].off : le->fileoff + le->filesize;
    /* the blobs, in order, the grown ones replaced */
    const struct mw_piece **g = calloc(w->npc + 1, sizeof *g);
    size_t ng = 0;
    if (!g)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < w->npc; i++)
        if (w->pc[i].content.len)
            g[ng++] = &w->pc[i];
    qsort(g, ng, sizeof *g, by_off);
    uint64_t src = le->fileoff, dst = w->le_new_off;
    for (size_t i = 0; i < ng; i++) {
        memcpy(o + dst, w->in + src, g[i]->off - src);
        dst += g[i]->off - src;
        memcpy(o + dst, g[i]->content.data, g[i]->content.len);
        dst += g[i]->size + g[i]->growth;
        src = g[i]->off + g[i]->size;
    }
    free(g);
    memcpy(o + dst, w->in + src, limit - src);
    /* the commands' offsets and sizes */
    for (size_t i = 0; i < w->npc; i++) {
        const struct mw_piece *p = &w->pc[i];
        if (p->kind == MW_PIECE_FIXED || (!p->off && !p->size) || !in_le(w, p->off))
            continue;
        uint8_t *f = o + mw_lc_newpos(w, p->lc_off);
        if (p->kind == MW_PIECE_CODESIG) {
            macho_put32(f + p->off_field, (uint32_t)w->sig_off);
            macho_put32(f + p->size_field, (uint32_t)w->sig_size);
            continue;
        }
        macho_put32(f + p->off_field, (uint32_t)reloc(w, p->off));
        if (p->content.len)
            macho_put32(f + p->size_field, (uint32_t)p->new_size);
    }
    if (w->cs == SIZE_MAX)
        return RW_OK;
    return macho_sign_write(o, w->out_size, (uint32_t)w->sig_off, (uint32_t)w->sig_size, &w->sig,
                            w->d);
}

/* macho_write_unwind.c - the stubs in __TEXT,__unwind_info
 * (docs/macho-images.md, "Unwind information"; encodings: docs/stubs.md,
 * "Mach-O compact unwind").
 *
 * The table is rebuilt by macho_unwind_rebuild and written where the old one
 * is: it may grow only into zero bytes after it, up to the next section in
 * __TEXT (normally __eh_frame, which cannot move) or the end of __TEXT's file
 * bytes. When it does not fit, or cannot be rebuilt, the old table stays and
 * one warning says so: the rewrite itself is still right, only unwinding
 * through a stub is not described. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_write.h"

uint32_t mw_unwind_encoding(const struct stub_code *c)
{
    uint32_t enc;
    /* derived from the stub's unwind description (docs/stubs.md section 10);
     * 0 (no unwind information) when the encoding cannot say it exactly */
    return stub_compact_unwind(c, &enc, NULL) == STUB_OK ? enc : 0;
}

static const struct mw_sect *find_unwind(const struct mw *w)
{
    const struct mw_seg *t = &w->seg[w->text];
    for (size_t i = 0; i < w->nsect; i++) {
        const struct mw_sect *s = &w->sect[i];
        /* inside __TEXT's file bytes, which lie below __LINKEDIT (place) */
        if (!strcmp(s->segname, "__TEXT") && !strcmp(s->sectname, "__unwind_info") &&
            s->seg == w->text && s->offset && s->size && s->offset >= t->fileoff &&
            s->size <= t->filesize && s->offset - t->fileoff <= t->filesize - s->size)
            return s;
    }
    return NULL;
}

/* Bytes the table may take: its own and the zeros after it, up to the next
 * section of __TEXT or the end of __TEXT's file bytes. */
static uint64_t room(const struct mw *w, const struct mw_sect *u)
{
    const struct mw_seg *t = &w->seg[w->text];
    uint64_t end = u->offset + u->size, lim = t->fileoff + t->filesize;
    for (size_t i = 0; i < w->nsect; i++) {
        const struct mw_sect *s = &w->sect[i];
        if (s != u && s->seg == w->text && s->addr >= u->addr + u->size && s->offset &&
            s->offset >= end && s->offset < lim)
            lim = s->offset;
        if (s != u && s->seg == w->text && s->addr >= u->addr + u->size && s->addr - t->vmaddr < lim)
            lim = s->addr - t->vmaddr; /* a zerofill section's address, too */
    }
    if (lim > w->insz)
        lim = w->insz;
    uint64_t k = end;
    while (k < lim && !w->in[k])
        k++;
    return k - u->offset;
}

static void warn(const struct mw *w, const char *why)
{
    fprintf(stderr, "callirw: warning: %s: __unwind_info left as it was, without the stubs: %s\n",
            w->img->path ? w->img->path : "image", why);
}

enum rw_err mw_unwind_write(struct mw *w, uint8_t *out, uint64_t text_va)
{
    const struct mw_sect *u = find_unwind(w);
    if (!u || !w->plan->nstubs)
        return RW_OK; /* no table: none is made (it would need a new section in __TEXT) */
    uint64_t base = w->seg[w->text].vmaddr;
    uint64_t end = text_va + w->plan->text_size - base;
    if (end > UINT32_MAX) {
        warn(w, "the stubs lie beyond 4 GiB from __TEXT");
        return RW_OK;
    }
    struct macho_unwind_add *adds = calloc(w->plan->nstubs, sizeof *adds);
    if (!adds)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < w->plan->nstubs; i++) {
        const struct rw_stub *s = &w->plan->stubs[i];
        struct macho_unwind_add a = {(uint32_t)(text_va + s->offset - base),
                                     mw_unwind_encoding(&s->code)};
        size_t j = i;
        for (; j > 0 && adds[j - 1].func_off > a.func_off; j--)
            adds[j] = adds[j - 1];
        adds[j] = a;
    }
    struct rw_buf nb = {0};
    struct rw_diag d2 = {0};
    enum rw_err e = macho_unwind_rebuild(w->in + u->offset, u->size, adds, w->plan->nstubs,
                                         (uint32_t)end, &nb, &d2);
    free(adds);
    if (e == RW_E_NOMEM) {
        rw_buf_free(&nb);
        return rw_fail(w->d, e, "%s", d2.msg);
    }
    if (e) {
        warn(w, d2.msg);
        rw_buf_free(&nb);
        return RW_OK;
    }
    uint64_t cap = room(w, u);
    if (nb.len > cap) {
        char why[128];
        snprintf(why, sizeof why, "the rebuilt table takes %zu bytes, %llu are free in __TEXT",
                 nb.len, (unsigned long long)cap);
        warn(w, why);
        rw_buf_free(&nb);
        return RW_OK;
    }
    memset(out + u->offset, 0, u->size);
    memcpy(out + u->offset, nb.data, nb.len);
    macho_put64(out + mw_lc_newpos(w, u->hdr_off) + 40, nb.len);
    rw_buf_free(&nb);
    return RW_OK;
}

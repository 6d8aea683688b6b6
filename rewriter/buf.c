/* buf.c - a growable byte buffer for outputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"

#define BIG ((size_t)8 << 20) /* an output worth huge pages and file mappings */

enum rw_err rw_buf_reserve(struct rw_buf *b, size_t cap)
{
    if (cap <= b->cap)
        return RW_OK;
    size_t n = b->cap ? b->cap : 4096;
    while (n < cap) {
        if (n > SIZE_MAX / 2)
            return RW_E_NOMEM;
        n *= 2;
    }
    uint8_t *p;
    if (!b->data && n >= BIG) {
        /* page-aligned, so that rw_copy_input can map file pages into it */
        void *q;
        p = posix_memalign(&q, 4096, n) ? NULL : q;
    } else {
        p = realloc(b->data, n);
    }
    if (!p)
        return RW_E_NOMEM;
    if (b->data && p != b->data) /* moved: rw_copy_input's mappings went with the old block */
        rw_copy_forget(b->data, b->cap);
    b->data = p;
    b->cap = n;
#ifdef MADV_HUGEPAGE
    /* A large output is written whole: transparent huge pages take its
     * page faults from one per 4 KiB to one per 2 MiB (a quarter of the
     * system time of a 110 MB rewrite). Advice only. */
    if (n >= BIG) {
        uintptr_t a = ((uintptr_t)p + ((uintptr_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1);
        if (a < (uintptr_t)p + n)
            madvise((void *)a, ((uintptr_t)p + n - a) & ~((uintptr_t)4095), MADV_HUGEPAGE);
    }
#endif
    return RW_OK;
}

enum rw_err rw_buf_append(struct rw_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return RW_E_NOMEM;
    enum rw_err e = rw_buf_reserve(b, b->len + n);
    if (e)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return RW_OK;
}

void rw_buf_free(struct rw_buf *b)
{
    if (b->data)
        rw_copy_forget(b->data, b->cap);
    free(b->data);
    memset(b, 0, sizeof *b);
}

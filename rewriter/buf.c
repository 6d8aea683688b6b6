/* buf.c - a growable byte buffer for outputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

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
    uint8_t *p = realloc(b->data, n);
    if (!p)
        return RW_E_NOMEM;
    b->data = p;
    b->cap = n;
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
    free(b->data);
    memset(b, 0, sizeof *b);
}

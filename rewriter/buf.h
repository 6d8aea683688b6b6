/* buf.h - a growable byte buffer for outputs. */
#ifndef CALLIRW_BUF_H
#define CALLIRW_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

struct rw_buf {
    uint8_t *data;
    size_t len, cap;
};
enum rw_err rw_buf_reserve(struct rw_buf *b, size_t cap);
enum rw_err rw_buf_append(struct rw_buf *b, const void *p, size_t n);
void rw_buf_free(struct rw_buf *b);

#endif

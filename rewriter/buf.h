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

/* memcpy(dst, src, n) for a writer copying its input image (src inside
 * img->data) into its output (dst inside a heap block of its own). When
 * img->mapped (a read-only private mapping of the file by rw_file_map, never
 * the caller's memory), a large copy maps the file's pages privately at dst
 * instead (copy-on-write: only the pages the writer then changes take
 * memory), and the input pages are dropped as the copy goes (MADV_DONTNEED:
 * a later read faults them back in from the file). Same bytes either way;
 * peak memory stays near one input, not input + output. (image.c, beside
 * the file mappings.) */
void rw_copy_input(const struct rw_image *img, uint8_t *dst, const uint8_t *src, size_t n);

/* A range of an output buffer that rw_copy_input mapped privately from the
 * input file: wherever the writer has not written since, its bytes are the
 * file's at off + (address - addr). */
struct rw_file_extent {
    const uint8_t *addr;
    size_t len;
    int fd;       /* the file, open for reading */
    uint64_t off; /* file offset of addr */
};
/* The extent containing address p: 1 and *x, or 0. */
int rw_copy_extent(const void *p, struct rw_file_extent *x);
/* The lowest extent start in (p, end), or end. */
const uint8_t *rw_copy_next(const void *p, const uint8_t *end);
/* Forget the extents that start inside [p, p + n) (their block moves or is
 * freed; rw_buf does this). */
void rw_copy_forget(const void *p, size_t n);
/* CALLIRW_PLAIN_IO=1 in the environment turns the file mappings off: every
 * copy goes through memory (tests compare both ways). */

#endif

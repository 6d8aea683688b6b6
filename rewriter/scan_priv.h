/* scan_priv.h - between the format-neutral scan driver (scan.c) and the
 * per-architecture scanners (scan_x86_64.c, scan_aarch64.c). */
#ifndef CALLIRW_SCAN_PRIV_H
#define CALLIRW_SCAN_PRIV_H

#include <stdint.h>
#include <stdlib.h>

#include "scan.h"

/* Append a copy of *site; RW_OK or RW_E_NOMEM. */
enum rw_err rw_scan_push(struct rw_scan *s, const struct rw_site *site);

/* Set a site's verdict and its one-line reason (printf-like). */
void rw_site_set(struct rw_site *site, enum rw_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A location for messages: "0x401136" in linked images, ".text+0x1c" in
 * objects. buf: at least RW_LOC_MAX bytes. */
#define RW_LOC_MAX 96
const char *rw_loc(const struct rw_image *img, uint32_t sec, uint64_t off, char *buf);

/* Find the sites, fill form, bytes, cookie location and, for sites that are
 * not rewritable for a reason of their own, the verdict. Cookie contents are
 * checked afterwards by the driver. */
enum rw_err rw_scan_x86_64(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d);
enum rw_err rw_scan_aarch64(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d);

/* Small helpers both scanners use. */
static inline int grow(void **arr, size_t *cap, size_t n, size_t esz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    if (c > SIZE_MAX / esz)
        return -1;
    void *p = realloc(*arr, c * esz);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static inline int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline int has_u64(const uint64_t *v, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == key;
}

static inline int is_plt(const struct rw_image *img, uint32_t sec)
{
    for (size_t i = 0; i < img->helper.nplt_secs; i++)
        if (img->helper.plt_secs[i] == sec)
            return 1;
    return 0;
}

static inline int is_helper_sym(const struct rw_image *img, uint32_t sym)
{
    for (size_t i = 0; i < img->helper.nsyms; i++)
        if (img->helper.syms[i] == sym)
            return 1;
    return 0;
}

static inline int is_imp_sym(const struct rw_image *img, uint32_t sym)
{
    for (size_t i = 0; i < img->helper.nimp_syms; i++)
        if (img->helper.imp_syms[i] == sym)
            return 1;
    return 0;
}

static inline int linked(const struct rw_image *img)
{
    return img->kind != RW_KIND_OBJECT;
}

#endif

/* scan_priv.h - between the format-neutral scan driver (scan.c) and the
 * per-architecture scanners (scan_x86_64.c, later scan_arm64.c). */
#ifndef CALLIRW_SCAN_PRIV_H
#define CALLIRW_SCAN_PRIV_H

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

#endif

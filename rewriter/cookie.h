/* cookie.h - validation of a signature cookie (docs/abi.md section 3),
 * format-neutral: the cookie is read through rw_section_bytes, its runtime
 * pointer through the relocations (objects) or the back-end's read_pointer
 * (linked images). */
#ifndef CALLIRW_COOKIE_H
#define CALLIRW_COOKIE_H

#include "calli_sig.h"
#include "image.h"
#include "scan.h"

/* Check the cookie at (sec, off); addr is its virtual address in linked
 * images (ignored in objects). Returns RW_SITE_OK and fills *sig and
 * *flags, or another enum rw_verdict with a one-line reason in
 * reason[0..cap) (e.g. "bad magic 0x00000000 (expected 0x494c4143 'CALI')").
 * Never reads outside the section's data. */
enum rw_verdict rw_cookie_check(const struct rw_image *img, uint32_t sec, uint64_t off,
                                uint64_t addr, struct calli_sig *sig, uint16_t *flags,
                                char *reason, size_t cap);

/* The same for a site whose cookie location is set and whose verdict is
 * RW_SITE_OK: fills site->sig, site->cookie_flags, or verdict and reason. */
void rw_cookie_check_site(const struct rw_image *img, struct rw_site *site);

#endif

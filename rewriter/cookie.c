/* cookie.c - validation of a signature cookie (docs/abi.md section 3). */
#include <stdio.h>
#include <string.h>

#include "calli_runtime.h"
#include "cookie.h"
#include "format.h"

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Is the runtime pointer known to be 0 once the image is loaded? */
static int runtime_is_zero(const struct rw_image *img, uint32_t sec, uint64_t off, uint64_t addr,
                           const uint8_t *hdr)
{
    uint64_t rt_off = off + CALLI_COOKIE_OFF_RUNTIME;
    if (img->kind != RW_KIND_OBJECT && img->ops && img->ops->read_pointer) {
        uint64_t v;
        enum rw_err e = img->ops->read_pointer(img, addr + CALLI_COOKIE_OFF_RUNTIME, &v);
        return e == RW_OK && v == 0;
    }
    /* An object (or a model without a back-end): a relocation on the field
     * makes it non-zero (or unknown); otherwise the bytes are the value. */
    for (uint64_t k = 0; k < 8; k++) /* one covering any byte of the field */
        if (rw_reloc_at(img, sec, rt_off + k))
            return 0;
    return le(hdr + CALLI_COOKIE_OFF_RUNTIME, 8) == 0;
}

enum rw_verdict rw_cookie_check(const struct rw_image *img, uint32_t sec, uint64_t off,
                                uint64_t addr, struct calli_sig *sig, uint16_t *flags,
                                char *reason, size_t cap)
{
    if (cap)
        reason[0] = 0;
    if (sec >= img->nsec) {
        snprintf(reason, cap, "cookie is not inside any section");
        return RW_SITE_COOKIE_UNREADABLE;
    }
    const struct rw_section *s = &img->sec[sec];
    if (!s->data) {
        snprintf(reason, cap, "cookie is in %s, which has no file data", s->name);
        return RW_SITE_COOKIE_UNREADABLE;
    }
    const uint8_t *hdr = rw_section_bytes(img, sec, off, CALLI_COOKIE_OFF_SIG);
    if (!hdr) {
        snprintf(reason, cap,
                 "cookie header (%d bytes at offset 0x%llx) runs past the end of %s (0x%llx bytes)",
                 CALLI_COOKIE_OFF_SIG, (unsigned long long)off, s->name,
                 (unsigned long long)s->size);
        return RW_SITE_COOKIE_UNREADABLE;
    }
    uint32_t magic = (uint32_t)le(hdr + CALLI_COOKIE_OFF_MAGIC, 4);
    uint16_t version = (uint16_t)le(hdr + CALLI_COOKIE_OFF_VERSION, 2);
    uint16_t fl = (uint16_t)le(hdr + CALLI_COOKIE_OFF_FLAGS, 2);
    uint32_t sig_len = (uint32_t)le(hdr + CALLI_COOKIE_OFF_SIG_LEN, 4);
    if (magic != CALLI_COOKIE_MAGIC) {
        snprintf(reason, cap, "bad magic 0x%08x (expected 0x%08x 'CALI')", magic,
                 CALLI_COOKIE_MAGIC);
        return RW_SITE_COOKIE_INVALID;
    }
    if (version != CALLI_COOKIE_VERSION) {
        snprintf(reason, cap, "unsupported cookie version %u (expected %u)", version,
                 CALLI_COOKIE_VERSION);
        return RW_SITE_COOKIE_INVALID;
    }
    if (fl & ~CALLI_COOKIE_FLAGS_KNOWN) {
        snprintf(reason, cap, "unknown flag bits 0x%04x", (unsigned)(fl & ~CALLI_COOKIE_FLAGS_KNOWN));
        return RW_SITE_COOKIE_INVALID;
    }
    const uint8_t *blob = rw_section_bytes(img, sec, off + CALLI_COOKIE_OFF_SIG, sig_len);
    if (!blob) {
        snprintf(reason, cap, "sig_len %u runs past the end of %s (%llu bytes left)", sig_len,
                 s->name, (unsigned long long)(s->size - off - CALLI_COOKIE_OFF_SIG));
        return RW_SITE_COOKIE_INVALID;
    }
    struct calli_sig_error err;
    if (calli_sig_parse(blob, sig_len, sig, &err) != CALLI_SIG_OK) {
        memset(sig, 0, sizeof *sig); /* unspecified after a failure */
        char why[CALLI_SIG_REASON_MAX];
        calli_sig_reason(&err, why, sizeof why);
        snprintf(reason, cap, "signature: %s", why);
        return RW_SITE_SIG_UNSUPPORTED;
    }
    int has_string = 0;
    for (unsigned i = 0; i < sig->nparams && i < CALLI_SIG_MAX_PARAMS; i++)
        if (sig->params[i] == CALLI_T_STRING)
            has_string = 1;
    if (has_string && runtime_is_zero(img, sec, off, addr, hdr)) {
        snprintf(reason, cap, "STRING parameter with runtime 0 (nothing to convert strings with)");
        return RW_SITE_COOKIE_INVALID;
    }
    *flags = fl;
    return RW_SITE_OK;
}

void rw_cookie_check_site(const struct rw_image *img, struct rw_site *site)
{
    if (site->verdict != RW_SITE_OK)
        return;
    enum rw_verdict v =
        rw_cookie_check(img, site->cookie_section, site->cookie_offset, site->cookie_addr,
                        &site->sig, &site->cookie_flags, site->reason, sizeof site->reason);
    site->verdict = (uint8_t)v;
}

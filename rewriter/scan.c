/* scan.c - the format-neutral scan driver: runs the scanner for the
 * image's machine, checks every cookie a site resolved to (cookie.c), sorts
 * the sites and counts the rewritable ones. docs/scan.md describes the
 * rules. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "scan_priv.h"
#include "sort.h"


const char *rw_site_form_name(unsigned form)
{
    switch (form) {
    case RW_FORM_CALL_REL32: return "call";
    case RW_FORM_JMP_REL32: return "jmp";
    case RW_FORM_CALL_MEM: return "call [mem]";
    case RW_FORM_JMP_MEM: return "jmp [mem]";
    case RW_FORM_BL: return "bl";
    case RW_FORM_B: return "b";
    case RW_FORM_BLR: return "blr";
    case RW_FORM_BR: return "br";
    default: return "?";
    }
}

const char *rw_site_form_id(unsigned form)
{
    switch (form) {
    case RW_FORM_CALL_REL32: return "call_rel32";
    case RW_FORM_JMP_REL32: return "jmp_rel32";
    case RW_FORM_CALL_MEM: return "call_mem";
    case RW_FORM_JMP_MEM: return "jmp_mem";
    case RW_FORM_BL: return "bl";
    case RW_FORM_B: return "b";
    case RW_FORM_BLR: return "blr";
    case RW_FORM_BR: return "br";
    default: return "unknown";
    }
}

const char *rw_cookie_form_name(unsigned form)
{
    switch (form) {
    case RW_COOKIE_NONE: return "-";
    case RW_COOKIE_LEA_RIP: return "lea";
    case RW_COOKIE_MOV_IMM32: return "mov imm32";
    case RW_COOKIE_MOVABS: return "movabs";
    case RW_COOKIE_LOAD_SLOT: return "load";
    case RW_COOKIE_ADRP_ADD: return "adrp+add";
    case RW_COOKIE_ADRP_LDR: return "adrp+ldr";
    case RW_COOKIE_LDR_LIT: return "ldr literal";
    default: return "?";
    }
}

const char *rw_cookie_form_id(unsigned form)
{
    switch (form) {
    case RW_COOKIE_NONE: return "none";
    case RW_COOKIE_LEA_RIP: return "lea_rip";
    case RW_COOKIE_MOV_IMM32: return "mov_imm32";
    case RW_COOKIE_MOVABS: return "movabs";
    case RW_COOKIE_LOAD_SLOT: return "load_slot";
    case RW_COOKIE_ADRP_ADD: return "adrp_add";
    case RW_COOKIE_ADRP_LDR: return "adrp_ldr";
    case RW_COOKIE_LDR_LIT: return "ldr_literal";
    default: return "unknown";
    }
}

const char *rw_verdict_name(unsigned verdict)
{
    switch (verdict) {
    case RW_SITE_OK: return "ok";
    case RW_SITE_COOKIE_UNKNOWN: return "cookie-unknown";
    case RW_SITE_COOKIE_UNREADABLE: return "cookie-unreadable";
    case RW_SITE_COOKIE_INVALID: return "cookie-invalid";
    case RW_SITE_SIG_UNSUPPORTED: return "sig-unsupported";
    case RW_SITE_UNREACHABLE: return "unreachable";
    case RW_SITE_NO_RELOCATION: return "no-relocation";
    default: return "?";
    }
}

const char *rw_verdict_id(unsigned verdict)
{
    switch (verdict) {
    case RW_SITE_OK: return "ok";
    case RW_SITE_COOKIE_UNKNOWN: return "cookie_unknown";
    case RW_SITE_COOKIE_UNREADABLE: return "cookie_unreadable";
    case RW_SITE_COOKIE_INVALID: return "cookie_invalid";
    case RW_SITE_SIG_UNSUPPORTED: return "sig_unsupported";
    case RW_SITE_UNREACHABLE: return "unreachable";
    case RW_SITE_NO_RELOCATION: return "no_relocation";
    default: return "unknown";
    }
}

enum rw_err rw_scan_push(struct rw_scan *s, const struct rw_site *site)
{
    if (s->nsites == s->cap) {
        size_t n = s->cap ? s->cap * 2 : 16;
        if (n > SIZE_MAX / sizeof *s->sites)
            return RW_E_NOMEM;
        struct rw_site *p = realloc(s->sites, n * sizeof *p);
        if (!p)
            return RW_E_NOMEM;
        s->sites = p;
        s->cap = n;
    }
    s->sites[s->nsites++] = *site;
    return RW_OK;
}

void rw_site_set(struct rw_site *site, enum rw_verdict v, const char *fmt, ...)
{
    site->verdict = (uint8_t)v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(site->reason, sizeof site->reason, fmt, ap);
    va_end(ap);
}

const char *rw_loc(const struct rw_image *img, uint32_t sec, uint64_t off, char *buf)
{
    if (sec >= img->nsec)
        snprintf(buf, RW_LOC_MAX, "0x%llx", (unsigned long long)off);
    else if (img->kind == RW_KIND_OBJECT)
        snprintf(buf, RW_LOC_MAX, "%.64s+0x%llx", img->sec[sec].name, (unsigned long long)off);
    else
        snprintf(buf, RW_LOC_MAX, "0x%llx", (unsigned long long)(img->sec[sec].addr + off));
    return buf;
}

static int cmp_site(const void *a, const void *b)
{
    const struct rw_site *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Does the model name the helper in any way a site can be recognised by?
 * Every site test of both scanners needs one of these: a helper symbol or
 * its import pointer (objects), a helper address or slot (linked images;
 * PLT entries, import thunks, veneers and forwarders are all found from
 * these, R2R cells and --helper-rva add to them). */
static int names_helper(const struct rw_image *img)
{
    const struct rw_helper *h = &img->helper;
    return h->nsyms || h->nimp_syms || h->naddrs || h->nslots;
}

/* Sites that share a cookie (100 sites a signature is common) share its
 * check: rw_cookie_check is a function of the image and the cookie's place,
 * so a place that checked out once is not parsed again. A table of the
 * first site (index + 1, 0: empty) whose check of each place passed. */
struct cookie_memo {
    uint32_t *first;
    size_t cap; /* a power of two, or 0: no memo (out of memory: check each) */
};

static size_t memo_slot(const struct cookie_memo *m, const struct rw_site *sites,
                        const struct rw_site *s)
{
    uint64_t h = (s->cookie_offset ^ (uint64_t)s->cookie_section << 40 ^ s->cookie_addr * 31) *
                 0x9e3779b97f4a7c15u;
    size_t i = (size_t)(h >> 20) & (m->cap - 1);
    while (m->first[i]) {
        const struct rw_site *f = &sites[m->first[i] - 1];
        if (f->cookie_section == s->cookie_section && f->cookie_offset == s->cookie_offset &&
            f->cookie_addr == s->cookie_addr)
            break;
        i = (i + 1) & (m->cap - 1);
    }
    return i;
}

static void check_cookies(const struct rw_image *img, struct rw_scan *out)
{
    struct cookie_memo m = {NULL, 16};
    while (m.cap < out->nsites * 2 && m.cap <= SIZE_MAX / 4)
        m.cap *= 2;
    if (out->nsites >= UINT32_MAX || !(m.first = calloc(m.cap, sizeof *m.first)))
        m.cap = 0;
    for (size_t i = 0; i < out->nsites; i++) {
        struct rw_site *s = &out->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        size_t k = m.cap ? memo_slot(&m, out->sites, s) : 0;
        if (m.cap && m.first[k]) { /* what rw_cookie_check_site would set */
            const struct rw_site *f = &out->sites[m.first[k] - 1];
            s->sig = f->sig;
            s->cookie_flags = f->cookie_flags;
            s->reason[0] = '\0';
            continue;
        }
        rw_cookie_check_site(img, s);
        if (m.cap && s->verdict == RW_SITE_OK)
            m.first[k] = (uint32_t)(i + 1);
    }
    free(m.first);
}

enum rw_err rw_scan_image(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d)
{
    memset(out, 0, sizeof *out);
    /* No site can exist: skip the decode, which is nearly all of the time
     * a scan of a large image takes (libLLVM: 2 s of 2.1 s). */
    if (!names_helper(img) && !img->decode_all &&
        (img->machine == RW_MACH_X86_64 || img->machine == RW_MACH_AARCH64))
        return RW_OK;
    enum rw_err e;
    switch (img->machine) {
    case RW_MACH_X86_64:
        e = rw_scan_x86_64(img, out, d);
        break;
    case RW_MACH_AARCH64:
        e = rw_scan_aarch64(img, out, d);
        break;
    default:
        e = rw_fail(d, RW_E_UNSUPPORTED, "unknown machine");
        break;
    }
    if (e) {
        rw_scan_free(out);
        return e;
    }
    check_cookies(img, out);
    for (size_t i = 0; i < out->nsites; i++) {
        struct rw_site *s = &out->sites[i];
        /* A rewrite retargets the call's relocation; an object call that the
         * assembler resolved (helper in the same section) has none. (arm64
         * BLR/BR never carry one: the rewrite turns them into BL/B with a
         * new CALL26/JUMP26 relocation at the same offset.) */
        if (s->verdict == RW_SITE_OK && img->kind == RW_KIND_OBJECT && s->reloc == RW_NONE &&
            s->form != RW_FORM_BLR && s->form != RW_FORM_BR)
            rw_site_set(s, RW_SITE_NO_RELOCATION,
                        "the call has no relocation (the helper is defined in the same section): "
                        "there is nothing to retarget");
    }
    /* The sweeps find sites in order: rw_sort_stable then only checks (no
     * merge buffer that would double the sites' memory). */
    rw_sort_stable(out->sites, out->nsites, sizeof *out->sites, cmp_site);
    out->nok = 0;
    for (size_t i = 0; i < out->nsites; i++)
        out->nok += out->sites[i].verdict == RW_SITE_OK;
    return RW_OK;
}

void rw_scan_free(struct rw_scan *s)
{
    free(s->sites);
    memset(s, 0, sizeof *s);
}

/* plan.c - group rewritable sites by stub key, generate one stub per key,
 * lay the stubs out. Format-neutral; output is deterministic (stubs sorted
 * by key, independent of site order). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "plan.h"

struct keyed {
    char key[CALLI_SIG_TEXT_MAX];
    size_t site;
};

static int by_key_then_site(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->site > y->site) - (x->site < y->site);
}

static enum rw_err build_once(const struct rw_image *img, struct rw_scan *scan,
                              struct rw_plan *out, struct rw_diag *d)
{
    memset(out, 0, sizeof *out);
    out->scan = scan;
    if (scan->nok == 0)
        return RW_OK;

    struct keyed *k = calloc(scan->nok, sizeof *k);
    if (!k)
        return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        if (n == scan->nok) { /* nok disagrees with the verdicts */
            free(k);
            return rw_fail(d, RW_E_INTERNAL, "plan: scan counted %zu rewritable sites, found more",
                           scan->nok);
        }
        int sgc = (s->cookie_flags & 1u) != 0;
        calli_sig_key(&s->sig, sgc, k[n].key, sizeof k[n].key);
        k[n].site = i;
        n++;
    }
    qsort(k, n, sizeof *k, by_key_then_site);

    size_t nstubs = 0;
    for (size_t i = 0; i < n; i++)
        nstubs += i == 0 || strcmp(k[i].key, k[i - 1].key) != 0;
    out->stubs = calloc(nstubs, sizeof *out->stubs);
    if (!out->stubs) {
        free(k);
        return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
    }

    struct stub_opts opts = {0};
    opts.ibt = img->ibt;
    opts.bti = img->bti;
    enum rw_err err = RW_OK;
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        struct rw_site *site = &scan->sites[k[i].site];
        if (i == 0 || strcmp(k[i].key, k[i - 1].key) != 0) {
            struct rw_stub *st = &out->stubs[out->nstubs++];
            int sgc = (site->cookie_flags & 1u) != 0;
            memcpy(st->key, k[i].key, sizeof st->key);
            calli_sig_format(&site->sig, sgc, st->readable, sizeof st->readable);
            snprintf(st->symbol, sizeof st->symbol, STUB_SYMBOL_PREFIX "%s", st->key);
            st->sig = site->sig;
            st->suppress_gc = sgc;
            char why[160];
            if (stub_generate(img->abi, &st->sig, sgc, &opts, &st->code, why, sizeof why)) {
                err = rw_fail(d, RW_E_UNSUPPORTED, "plan: cannot generate the stub for %s: %s",
                              st->key, why);
                break;
            }
            off = (off + STUB_ALIGN - 1) & ~(uint64_t)(STUB_ALIGN - 1);
            st->offset = off;
            off += st->code.len;
        }
        out->stubs[out->nstubs - 1].nsites++;
        site->stub = (uint32_t)(out->nstubs - 1);
    }
    out->text_size = off;
    free(k);
    if (err)
        rw_plan_free(out);
    return err;
}

/* Can the patched branch at site s reach target? Branch ranges are facts of
 * the instruction set: x86-64 rel32 counts from the end of the site (the
 * patched call ends where the original did), arm64 BL/B imm26 from the
 * instruction itself, in words. */
static int site_reaches(const struct rw_image *img, const struct rw_site *s, uint64_t target,
                        char *why, size_t cap)
{
    if (img->machine == RW_MACH_AARCH64) {
        int64_t delta = (int64_t)(target - s->addr);
        if (delta >= -(INT64_C(1) << 27) && delta < (INT64_C(1) << 27) && delta % 4 == 0)
            return 1;
        snprintf(why, cap, "its stub at 0x%llx is %llu MiB away; BL/B reach 128 MiB and no "
                 "range-extension veneer was placed",
                 (unsigned long long)target,
                 (unsigned long long)((delta < 0 ? -(uint64_t)delta : (uint64_t)delta) >> 20));
        return 0;
    }
    int64_t delta = (int64_t)(target - (s->addr + s->length));
    if (delta == (int32_t)delta)
        return 1;
    snprintf(why, cap, "its stub at 0x%llx is beyond the 2 GiB reach of a rel32 call",
             (unsigned long long)target);
    return 0;
}

/* Leave (RW_SITE_UNREACHABLE) every site that cannot reach its stub at the
 * address the back-end will give the stub section. Returns how many. */
static size_t leave_unreachable(const struct rw_image *img, struct rw_scan *scan,
                                const struct rw_plan *plan, uint64_t text_va)
{
    size_t n = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK || s->stub >= plan->nstubs)
            continue;
        if (site_reaches(img, s, text_va + plan->stubs[s->stub].offset, s->reason,
                         sizeof s->reason))
            continue;
        s->verdict = RW_SITE_UNREACHABLE;
        scan->nok--;
        n++;
    }
    return n;
}

enum rw_err rw_plan_build(const struct rw_image *img, struct rw_scan *scan,
                          struct rw_plan *out, struct rw_diag *d)
{
    enum rw_err e = build_once(img, scan, out, d);
    if (e || !out->nstubs || !img->ops || !img->ops->code_va)
        return e;
    uint64_t va;
    if ((e = img->ops->code_va(img, &va, d))) {
        rw_plan_free(out);
        return e;
    }
    if (va == RW_NO_ADDRESS)
        return RW_OK;
    /* Leaving sites can only drop stubs and so move the others down, toward
     * the sites (the section lies above them); repeat until nothing moves,
     * which takes at most one round per stub. */
    for (size_t round = 0; round <= out->nstubs && leave_unreachable(img, scan, out, va); round++) {
        rw_plan_free(out);
        out->scan = scan;
        if ((e = build_once(img, scan, out, d)))
            return e;
    }
    return RW_OK;
}

void rw_plan_free(struct rw_plan *p)
{
    for (size_t i = 0; i < p->nstubs; i++)
        stub_code_free(&p->stubs[i].code);
    free(p->stubs);
    memset(p, 0, sizeof *p);
}

/* plan.c - group rewritable sites by stub key, generate one stub per key,
 * lay the stubs out. Format-neutral; output is deterministic (stubs sorted
 * by key, independent of site order). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "hash.h"
#include "plan.h"

struct keyed {
    const char *key; /* interned: one copy per distinct key */
    size_t site;
};

/* The distinct keys, interned (open addressing on hash.h's hash): 100 000
 * sites share a few thousand keys, and a key buffer per site would be
 * CALLI_SIG_TEXT_MAX bytes each. */
struct key_set {
    char **slot;
    size_t cap; /* a power of two, at least twice the keys */
};

static size_t key_home(const struct key_set *ks, const char *key)
{
    return (size_t)rw_hash_bytes(key, strlen(key)) & (ks->cap - 1);
}

/* The slot holding key (added if new), or SIZE_MAX when out of memory. */
static size_t intern(struct key_set *ks, const char *key)
{
    for (size_t i = key_home(ks, key);; i = (i + 1) & (ks->cap - 1)) {
        if (!ks->slot[i])
            return (ks->slot[i] = strdup(key)) ? i : SIZE_MAX;
        if (!strcmp(ks->slot[i], key))
            return i;
    }
}

static void key_set_free(struct key_set *ks)
{
    for (size_t i = 0; ks->slot && i < ks->cap; i++)
        free(ks->slot[i]);
    free(ks->slot);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Order k[0, n) by key, then site, as a sort would: the distinct keys (a
 * few thousand) are sorted once and ranked, then the entries are counted
 * into place by rank; k was filled in site order, so each key's sites stay
 * in that order. slot[i]: k[i]'s slot in ks. Returns -1 when out of memory. */
static int order_by_key(struct keyed *k, const size_t *slot, size_t n, const struct key_set *ks)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < ks->cap; i++)
        nkeys += ks->slot[i] != NULL;
    const char **keys = malloc((nkeys ? nkeys : 1) * sizeof *keys);
    size_t *rank = malloc(ks->cap * sizeof *rank);
    size_t *at = calloc(nkeys + 1, sizeof *at);
    struct keyed *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!keys || !rank || !at || !sorted) {
        free(keys);
        free(rank);
        free(at);
        free(sorted);
        return -1;
    }
    nkeys = 0;
    for (size_t i = 0; i < ks->cap; i++)
        if (ks->slot[i])
            keys[nkeys++] = ks->slot[i];
    qsort(keys, nkeys, sizeof *keys, by_key); /* distinct: no ties */
    /* a key's rank, found back from its slot (interning finds it again) */
    for (size_t r = 0; r < nkeys; r++) {
        size_t i = key_home(ks, keys[r]);
        while (ks->slot[i] != keys[r])
            i = (i + 1) & (ks->cap - 1);
        rank[i] = r;
    }
    for (size_t i = 0; i < n; i++)
        at[rank[slot[i]] + 1]++;
    for (size_t r = 0; r < nkeys; r++)
        at[r + 1] += at[r];
    for (size_t i = 0; i < n; i++)
        sorted[at[rank[slot[i]]]++] = k[i];
    memcpy(k, sorted, n * sizeof *k);
    free(keys);
    free(rank);
    free(at);
    free(sorted);
    return 0;
}

static enum rw_err build_once(const struct rw_image *img, struct rw_scan *scan,
                              struct rw_plan *out, struct rw_diag *d)
{
    memset(out, 0, sizeof *out);
    out->scan = scan;
    if (scan->nok == 0)
        return RW_OK;

    struct keyed *k = calloc(scan->nok, sizeof *k);
    size_t *slot = calloc(scan->nok, sizeof *slot);
    struct key_set ks = {NULL, 16};
    while (ks.cap < scan->nok * 2 && ks.cap <= SIZE_MAX / 4)
        ks.cap *= 2;
    ks.slot = k && slot ? calloc(ks.cap, sizeof *ks.slot) : NULL;
    if (!ks.slot) {
        free(k);
        free(slot);
        return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        if (n == scan->nok) { /* nok disagrees with the verdicts */
            free(k);
            free(slot);
            key_set_free(&ks);
            return rw_fail(d, RW_E_INTERNAL, "plan: scan counted %zu rewritable sites, found more",
                           scan->nok);
        }
        int sgc = (s->cookie_flags & 1u) != 0;
        char key[CALLI_SIG_TEXT_MAX];
        calli_sig_key(&s->sig, sgc, key, sizeof key);
        if ((slot[n] = intern(&ks, key)) == SIZE_MAX) {
            free(k);
            free(slot);
            key_set_free(&ks);
            return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
        }
        k[n].key = ks.slot[slot[n]];
        k[n].site = i;
        n++;
    }
    int sorted = order_by_key(k, slot, n, &ks);
    free(slot);
    if (sorted) {
        free(k);
        key_set_free(&ks);
        return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
    }

    size_t nstubs = 0;
    for (size_t i = 0; i < n; i++)
        nstubs += i == 0 || k[i].key != k[i - 1].key;
    out->stubs = calloc(nstubs, sizeof *out->stubs);
    if (!out->stubs) {
        free(k);
        key_set_free(&ks);
        return rw_fail(d, RW_E_NOMEM, "plan: out of memory");
    }

    struct stub_opts opts = {0};
    opts.ibt = img->ibt;
    opts.bti = img->bti;
    enum rw_err err = RW_OK;
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        struct rw_site *site = &scan->sites[k[i].site];
        if (i == 0 || k[i].key != k[i - 1].key) {
            struct rw_stub *st = &out->stubs[out->nstubs++];
            int sgc = (site->cookie_flags & 1u) != 0;
            snprintf(st->key, sizeof st->key, "%s", k[i].key);
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
    key_set_free(&ks);
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
        if (why)
            snprintf(why, cap, "its stub at 0x%llx is %llu MiB away, beyond the 128 MiB reach of BL/B",
                 (unsigned long long)target,
                 (unsigned long long)((delta < 0 ? -(uint64_t)delta : (uint64_t)delta) >> 20));
        return 0;
    }
    int64_t delta = (int64_t)(target - (s->addr + s->length));
    if (delta == (int32_t)delta)
        return 1;
    if (why)
        snprintf(why, cap, "its stub at 0x%llx is beyond the 2 GiB reach of a rel32 call",
             (unsigned long long)target);
    return 0;
}

/* Place a veneer for site s (which cannot reach its stub at target) in a
 * cave: reuse one that already leads to the same stub within reach, else
 * take the next free bytes of the first cave in reach. *used holds each
 * cave's bytes taken. Returns 1 when the site got a veneer, 0 when no cave
 * with room is in reach, 2 when those in reach are beyond adrp's 4 GiB from
 * the stub, -1 when out of memory. */
static int place_veneer(const struct rw_image *img, struct rw_plan *plan, struct rw_site *s,
                        uint64_t target, const struct rw_cave *caves, uint64_t *used,
                        size_t ncaves, size_t *cap)
{
    for (size_t v = 0; v < plan->nveneers; v++)
        if (plan->veneers[v].stub == s->stub &&
            site_reaches(img, s, plan->veneers[v].va, NULL, 0)) {
            s->veneer = (uint32_t)v;
            return 1;
        }
    int far = 0;
    for (size_t c = 0; c < ncaves; c++) {
        uint64_t at = (caves[c].va + used[c] + 3) & ~(uint64_t)3;
        if (at < caves[c].va || at - caves[c].va > caves[c].size ||
            caves[c].size - (at - caves[c].va) < STUB_VENEER_BYTES ||
            !site_reaches(img, s, at, NULL, 0))
            continue;
        struct rw_veneer vn = {.va = at, .stub = s->stub};
        if (stub_veneer_a64(at, target, vn.code) != STUB_OK) {
            far = 1; /* the stub is beyond adrp's 4 GiB from this cave */
            continue;
        }
        if (plan->nveneers == *cap) {
            size_t ncap = *cap ? 2 * *cap : 8;
            struct rw_veneer *nv = realloc(plan->veneers, ncap * sizeof *nv);
            if (!nv)
                return -1;
            plan->veneers = nv;
            *cap = ncap;
        }
        plan->veneers[plan->nveneers] = vn;
        s->veneer = (uint32_t)plan->nveneers++;
        used[c] = at - caves[c].va + STUB_VENEER_BYTES;
        return 1;
    }
    return far ? 2 : 0;
}

/* Bind every rewritable site to its stub directly or, on arm64, through a
 * veneer; leave (RW_SITE_UNREACHABLE) the sites that can do neither.
 * Returns how many were left, or SIZE_MAX when out of memory. */
static size_t bind_sites(const struct rw_image *img, struct rw_scan *scan, struct rw_plan *plan,
                         const struct rw_cave *caves, size_t ncaves)
{
    size_t left = 0, cap = 0;
    uint64_t *used = calloc(ncaves + 1, sizeof *used);
    if (!used)
        return SIZE_MAX;
    free(plan->veneers);
    plan->veneers = NULL;
    plan->nveneers = 0;
    for (size_t i = 0; i < scan->nsites; i++) {
        struct rw_site *s = &scan->sites[i];
        s->veneer = RW_NONE;
        if (s->verdict != RW_SITE_OK || s->stub >= plan->nstubs)
            continue;
        uint64_t target = plan->text_va + plan->stubs[s->stub].offset;
        char why[96];
        if (site_reaches(img, s, target, why, sizeof why))
            continue;
        int r = img->machine == RW_MACH_AARCH64
                    ? place_veneer(img, plan, s, target, caves, used, ncaves, &cap)
                    : 0;
        if (r < 0) {
            free(used);
            return SIZE_MAX;
        }
        if (r == 1)
            continue;
        snprintf(s->reason, sizeof s->reason, "%.96s%s", why,
                 r == 2 ? "; a veneer in reach would be over 4 GiB from it"
                 : img->machine == RW_MACH_AARCH64 ? "; no room for a veneer within reach" : "");
        s->verdict = RW_SITE_UNREACHABLE;
        scan->nok--;
        left++;
    }
    free(used);
    return left;
}

enum rw_err rw_plan_build(const struct rw_image *img, struct rw_scan *scan,
                          struct rw_plan *out, struct rw_diag *d)
{
    enum rw_err e = build_once(img, scan, out, d);
    out->text_va = RW_NO_ADDRESS;
    for (size_t i = 0; i < scan->nsites; i++)
        scan->sites[i].veneer = RW_NONE;
    if (e || !out->nstubs || !img->ops || !img->ops->code_va)
        return e;
    uint64_t va;
    if ((e = img->ops->code_va(img, &va, d))) {
        rw_plan_free(out);
        return e;
    }
    if (va == RW_NO_ADDRESS)
        return RW_OK;
    struct rw_cave *caves = NULL;
    size_t ncaves = 0;
    if (img->machine == RW_MACH_AARCH64 && img->ops->code_caves &&
        (e = img->ops->code_caves(img, &caves, &ncaves, d))) {
        rw_plan_free(out);
        return e;
    }
    /* Leaving sites can only drop stubs and so move the others down, toward
     * the sites (the section lies above them): rebind until no site is
     * left; every round that leaves one shrinks nok. */
    for (;;) {
        out->text_va = va;
        size_t left = bind_sites(img, scan, out, caves, ncaves);
        if (left == SIZE_MAX) {
            e = rw_fail(d, RW_E_NOMEM, "plan: out of memory");
            break;
        }
        if (!left || !scan->nok)
            break;
        rw_plan_free(out);
        if ((e = build_once(img, scan, out, d)))
            break;
        if (!out->nstubs)
            break;
    }
    free(caves);
    if (e)
        rw_plan_free(out);
    return e;
}

void rw_plan_free(struct rw_plan *p)
{
    for (size_t i = 0; i < p->nstubs; i++)
        stub_code_free(&p->stubs[i].code);
    free(p->stubs);
    free(p->veneers);
    memset(p, 0, sizeof *p);
}

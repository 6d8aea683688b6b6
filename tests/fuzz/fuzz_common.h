/* fuzz_common.h - what the libFuzzer harnesses share (docs/fuzz.md): open
 * an image from the fuzzer's bytes, scan it with the decoder forced on, and
 * read its rewrite map the way `inspect` does. Every function here is
 * static: each harness is one translation unit linked with the library. */
#ifndef CALLIRW_FUZZ_COMMON_H
#define CALLIRW_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_common.h"
#include "disasm.h"
#include "format.h"
#include "map.h"
#include "pe_r2r.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A finding: print why and abort, so that libFuzzer (or the replay main)
 * reports the input. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz invariant broken: %s: ", #cond);              \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Output the harnesses produce but nobody reads (describe, disasm). */
static FILE *fuzz_devnull(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    if (!f)
        abort();
    return f;
}

/* The scan every reader harness runs: the decoder forced on (decode_all),
 * the verdicts' invariants checked. */
static void fuzz_scan(struct rw_image *img)
{
    struct rw_scan scan = {0};
    struct rw_diag d = {0};
    img->decode_all = 1;
    int ok = rw_scan_image(img, &scan, &d) == RW_OK;
    if (ok) {
        size_t nok = 0;
        for (size_t i = 0; i < scan.nsites; i++) {
            const struct rw_site *s = &scan.sites[i];
            FUZZ_CHECK(s->section < img->nsec, "site %zu in section %u of %zu", i, s->section,
                       img->nsec);
            FUZZ_CHECK(s->length > 0 && s->length <= RW_SITE_MAX_BYTES, "site length %u",
                       s->length);
            FUZZ_CHECK(i == 0 || s->section > scan.sites[i - 1].section ||
                           (s->section == scan.sites[i - 1].section &&
                            s->offset > scan.sites[i - 1].offset),
                       "sites not sorted at %zu", i);
            if (s->verdict == RW_SITE_OK)
                nok++;
            char where[160];
            rw_describe_loc(img, s->section, s->offset, where, sizeof where);
        }
        FUZZ_CHECK(nok == scan.nok, "nok %zu, counted %zu", scan.nok, nok);
    }
    /* The scan without decode_all may skip or shortcut the decode (scan.c,
     * scan_x86_64.c: no helper named, traced sweeps); it must find exactly
     * the same sites with the same verdicts. */
    struct rw_scan fast = {0};
    struct rw_diag fd = {0};
    img->decode_all = 0;
    enum rw_err fe = rw_scan_image(img, &fast, &fd);
    img->decode_all = 1;
    /* (an error may differ: a scan that decodes nothing finds nothing wrong
     * in the code) */
    if (fe == RW_OK && ok && scan.nsites + fast.nsites > 0) {
        FUZZ_CHECK(fast.nsites == scan.nsites && fast.nok == scan.nok,
                   "%zu sites (%zu ok) without decode_all, %zu (%zu ok) with", fast.nsites,
                   fast.nok, scan.nsites, scan.nok);
        for (size_t i = 0; i < scan.nsites; i++) {
            const struct rw_site *a = &scan.sites[i], *b = &fast.sites[i];
            FUZZ_CHECK(a->section == b->section && a->offset == b->offset && a->addr == b->addr &&
                           a->form == b->form && a->length == b->length &&
                           a->verdict == b->verdict && a->cookie_form == b->cookie_form &&
                           a->setter_offset == b->setter_offset &&
                           a->cookie_addr == b->cookie_addr && !strcmp(a->reason, b->reason),
                       "site %zu differs without decode_all (at 0x%llx)", i,
                       (unsigned long long)a->addr);
        }
    }
    rw_scan_free(&fast);
    rw_scan_free(&scan);
}

/* What `inspect` reads: the map section (or the ReadyToRun map section),
 * the decoded map, and the bytes at each site and stub it names. Returns
 * the map's number of sites, or -1 when there is none or it does not
 * decode. */
static long fuzz_read_map(const struct rw_image *img)
{
    const struct rw_section *ms = NULL;
    if (img->ops->find_map) {
        uint32_t i = img->ops->find_map(img);
        ms = i < img->nsec ? &img->sec[i] : NULL;
    } else {
        for (uint32_t i = 0; i < img->nsec; i++)
            if (img->sec[i].name && !strcmp(img->sec[i].name, img->ops->map_section))
                ms = &img->sec[i];
    }
    const uint8_t *map = ms ? ms->data : NULL;
    size_t map_size = ms ? ms->size : 0;
    const uint8_t *rmap;
    uint32_t rsize;
    if (pe_r2r_map(img, &rmap, &rsize) > 0 && !map) {
        map = rmap;
        map_size = rsize;
    }
    if (!map)
        return -1;
    struct rw_map m;
    struct rw_diag d = {0};
    if (rw_map_decode(map, map_size, &m, &d))
        return -1;
    FILE *null = fuzz_devnull();
    for (size_t i = 0; i < m.nsites; i++) {
        const struct rw_map_site *s = &m.sites[i];
        FUZZ_CHECK(s->stub < m.nstubs, "map site %zu names stub %u of %zu", i, s->stub, m.nstubs);
        FUZZ_CHECK(s->length <= RW_MAP_ORIG_MAX, "map site length %u", s->length);
        uint32_t sec;
        uint64_t off;
        char where[160];
        if (!rw_map_loc(img, &m, s->address, s->section, &sec, &off)) {
            rw_describe_loc(img, sec, off, where, sizeof where);
            const uint8_t *now = rw_section_bytes(img, sec, off, s->length);
            if (now)
                rw_disasm(null, img->machine, now, s->length, s->address, "");
        }
        rw_disasm(null, img->machine, s->original, s->length, s->address, "");
        (void)strlen(m.stubs[s->stub].key);
    }
    for (size_t i = 0; i < m.nstubs; i++) {
        const struct rw_map_stub *s = &m.stubs[i];
        char secname[CALLI_SIG_TEXT_MAX + 32];
        uint32_t sec;
        uint64_t off;
        snprintf(secname, sizeof secname, ".text.__callirw_stub_%s", s->key);
        (void)strlen(s->readable);
        if (!rw_map_loc(img, &m, s->address, secname, &sec, &off)) {
            const uint8_t *code = rw_section_bytes(img, sec, off, s->size);
            if (code)
                rw_disasm(null, img->machine, code, s->size, s->address, "");
        }
    }
    long n = (long)m.nsites;
    rw_map_free(&m);
    return n;
}

/* One image: open (the fuzzer's bytes, borrowed), scan, read the map,
 * describe; nothing else may be asked of a hostile input. */
__attribute__((unused)) static void fuzz_image(const uint8_t *data, size_t size)
{
    struct rw_image img;
    struct rw_diag d = {0};
    if (rw_image_open_mem(&img, "fuzz", data, size, NULL, &d) != RW_OK) {
        FUZZ_CHECK(d.err != RW_OK && d.msg[0], "open failed without a message");
        return;
    }
    FUZZ_CHECK(img.data == data && img.size == size, "image does not borrow the input");
    /* every section's bytes readable (most point into the input; a PE
     * section with zero-fill is a copy): ASan checks the first and last */
    for (size_t i = 0; i < img.nsec; i++) {
        const struct rw_section *s = &img.sec[i];
        if (s->data && s->size) {
            volatile uint8_t touch = s->data[0] ^ s->data[s->size - 1];
            (void)touch;
        }
    }
    fuzz_scan(&img);
    fuzz_read_map(&img);
    if (img.ops->describe) {
        img.ops->describe(&img, fuzz_devnull(), 0);
        img.ops->describe(&img, fuzz_devnull(), 1);
    }
    rw_image_close(&img);
}

#endif

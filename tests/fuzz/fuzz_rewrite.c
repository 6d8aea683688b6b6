/* fuzz_rewrite.c - libFuzzer harness: the rewrite path end to end, any
 * format (the sequence of rewriter/cmd_rewrite.c's rewrite_one): open,
 * scan, plan, the back-end's write into memory (a fat file: every slice,
 * then join), then the output opened again and scanned. Invariants (a
 * broken one aborts: a finding):
 *   - the write is deterministic (a second write gives the same bytes);
 *   - the output opens, carries a rewrite map (img.rewritten) that decodes
 *     and lists exactly the sites the plan rewrote;
 *   - a rescan finds no rewritable site but those the plan left (out of
 *     reach): every rewritten site is gone;
 *   - a fat output splits into as many slices as the input. */
#include "fuzz_common.h"
#include "plan.h"

/* Sites the plan left although the scan found them rewritable, and how
 * many it rewrote. */
struct left {
    uint64_t *addr;
    size_t n;
    size_t rewritten;
};

/* Rewrite one image into *out. 1 rewritten, 0 nothing to do or refused. */
static int rewrite_one(const uint8_t *data, size_t size, struct rw_buf *out, struct left *left)
{
    struct rw_image img;
    struct rw_diag d = {0};
    struct rw_scan scan = {0};
    struct rw_plan plan = {0};
    int done = 0;
    if (rw_image_open_mem(&img, "fuzz", data, size, NULL, &d) != RW_OK)
        return 0;
    if (img.rewritten || rw_scan_image(&img, &scan, &d) != RW_OK || scan.nok == 0)
        goto out;
    uint8_t *was_ok = malloc(scan.nsites);
    if (!was_ok)
        abort();
    for (size_t i = 0; i < scan.nsites; i++)
        was_ok[i] = scan.sites[i].verdict == RW_SITE_OK;
    if (rw_plan_build(&img, &scan, &plan, &d) != RW_OK || scan.nok == 0) {
        free(was_ok);
        goto out;
    }
    /* what the plan left: rewritable for the scanner, not rewritten */
    for (size_t i = 0; i < scan.nsites; i++) {
        if (was_ok[i] && scan.sites[i].verdict != RW_SITE_OK) {
            uint64_t *p = realloc(left->addr, (left->n + 1) * sizeof *p);
            if (!p)
                abort();
            left->addr = p;
            left->addr[left->n++] = scan.sites[i].addr;
        }
    }
    free(was_ok);
    if (img.ops->write(&img, &plan, out, &d) != RW_OK) {
        rw_buf_free(out);
        goto out;
    }
    FUZZ_CHECK(out->len > 0, "write succeeded with an empty output");
    struct rw_buf again = {0};
    FUZZ_CHECK(img.ops->write(&img, &plan, &again, &d) == RW_OK, "a second write failed: %s",
               d.msg);
    FUZZ_CHECK(again.len == out->len && !memcmp(again.data, out->data, out->len),
               "two writes of one plan differ (%zu and %zu bytes)", out->len, again.len);
    rw_buf_free(&again);
    left->rewritten = scan.nok;
    done = 1;
out:
    rw_plan_free(&plan);
    rw_scan_free(&scan);
    rw_image_close(&img);
    return done;
}

static int is_left(const struct left *left, uint64_t addr)
{
    for (size_t i = 0; i < left->n; i++)
        if (left->addr[i] == addr)
            return 1;
    return 0;
}

/* The output of one image: opens, is rewritten, carries a map, and has no
 * rewritable site but those the plan left. */
static void check_output(const uint8_t *data, size_t size, const struct left *left)
{
    struct rw_image img;
    struct rw_diag d = {0};
    FUZZ_CHECK(rw_image_open_mem(&img, "fuzz-out", data, size, NULL, &d) == RW_OK,
               "the output does not open: %s", d.msg);
    FUZZ_CHECK(img.rewritten, "the output carries no rewrite map");
    long nmap = fuzz_read_map(&img);
    FUZZ_CHECK(nmap >= 0, "the output's rewrite map does not decode");
    FUZZ_CHECK((size_t)nmap == left->rewritten, "the map lists %ld sites, the plan rewrote %zu",
               nmap, left->rewritten);
    struct rw_scan scan = {0};
    img.decode_all = 1;
    FUZZ_CHECK(rw_scan_image(&img, &scan, &d) == RW_OK, "the output does not scan: %s", d.msg);
    for (size_t i = 0; i < scan.nsites; i++)
        FUZZ_CHECK(scan.sites[i].verdict != RW_SITE_OK || is_left(left, scan.sites[i].addr),
                   "the output still has a rewritable site at 0x%llx",
                   (unsigned long long)scan.sites[i].addr);
    rw_scan_free(&scan);
    rw_image_close(&img);
}

static void fuzz_container(const struct rw_container_ops *co, const uint8_t *data, size_t size)
{
    struct rw_slice *sl = NULL;
    size_t n = 0;
    struct rw_diag d = {0};
    if (co->split(data, size, &sl, &n, &d) != RW_OK)
        return;
    struct rw_buf *outs = calloc(n ? n : 1, sizeof *outs);
    struct left *lefts = calloc(n ? n : 1, sizeof *lefts);
    if (!outs || !lefts)
        abort();
    size_t nrewritten = 0;
    for (size_t i = 0; i < n; i++)
        nrewritten += rewrite_one(data + sl[i].offset, (size_t)sl[i].size, &outs[i], &lefts[i]);
    struct rw_buf out = {0};
    if (nrewritten && co->join(data, size, sl, n, outs, &out, &d) == RW_OK) {
        struct rw_slice *sl2 = NULL;
        size_t n2 = 0;
        FUZZ_CHECK(co->probe(out.data, out.len), "the joined output is not a fat file");
        FUZZ_CHECK(co->split(out.data, out.len, &sl2, &n2, &d) == RW_OK,
                   "the joined output does not split: %s", d.msg);
        FUZZ_CHECK(n2 == n, "%zu slices in, %zu out", n, n2);
        for (size_t i = 0; i < n2; i++)
            if (outs[i].data) {
                uint8_t *copy = malloc(sl2[i].size ? sl2[i].size : 1);
                if (!copy)
                    abort();
                memcpy(copy, out.data + sl2[i].offset, sl2[i].size);
                check_output(copy, sl2[i].size, &lefts[i]);
                free(copy);
            }
        free(sl2);
    }
    rw_buf_free(&out);
    for (size_t i = 0; i < n; i++) {
        rw_buf_free(&outs[i]);
        free(lefts[i].addr);
    }
    free(lefts);
    free(outs);
    free(sl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rw_container_ops *co = rw_container_probe(data, size);
    if (co) {
        fuzz_container(co, data, size);
        return 0;
    }
    struct rw_buf out = {0};
    struct left left = {0};
    if (rewrite_one(data, size, &out, &left)) {
        /* exactly the output's bytes, so ASan sees a read past its end */
        uint8_t *copy = malloc(out.len);
        if (!copy)
            abort();
        memcpy(copy, out.data, out.len);
        check_output(copy, out.len, &left);
        free(copy);
    }
    rw_buf_free(&out);
    free(left.addr);
    return 0;
}

/* test_pe_r2r_write.c - pe_r2r_rewrite (formats/pe_write_r2r.c): what a
 * rewrite adds to a ReadyToRun image, on the three real Crossgen2 images
 * of ../shared/corpus/r2r (CALLIRW_R2R_CORPUS) and on the synthetic
 * program of tests/r2r (R2R_TEST_EXE, skipped when unset).
 *
 *  - layout: the new RuntimeFunctions table (every existing entry byte for
 *    byte at its index, then the stubs'), the 0xFFFFFFFF sentinel, the map,
 *    the header (16 bytes as they were, NumberOfSections + 1, the table in
 *    type order with RuntimeFunctions moved and the map section last), and
 *    the one edit: ManagedNativeHeader in the CLI header;
 *  - refusals, each one line, nothing appended, no edit: arm64, composite (export),
 *    COMPONENT flag, ComponentAssemblies, HotColdMap, unsorted section
 *    table, already rewritten; the caller's bugs (RW_E_INTERNAL): RVA not
 *    aligned or overlapping the image, stubs empty / unsorted / overlapping
 *    / below existing code / without unwind data, no map;
 *  - hostile inputs: byte-flipped copies of the images (aimed at the
 *    ReadyToRun structures), under ASan/UBSan: when open succeeds,
 *    pe_r2r_map stays in bounds, and the rewrite succeeds with the exact
 *    layout or fails with one line, nothing added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"
#include "pe_priv.h"
#include "pe_r2r.h"
#include "pe_write.h"

extern const struct rw_format_ops rw_pe_ops;

static const char *const images[] = {"HelloWorld.ReadyToRun.dll", "ReadyToRunTest.dll", "ReadyToRunTestLoop.dll"};

static uint8_t *slurp_path(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static uint8_t *slurp(const char *name, size_t *size)
{
    const char *dir = getenv("CALLIRW_R2R_CORPUS");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "../shared/corpus/r2r", name);
    uint8_t *p = slurp_path(path, size);
    if (!p)
        print_error("cannot open %s (set CALLIRW_R2R_CORPUS)\n", path);
    return p;
}

struct opened {
    uint8_t *data;
    size_t size;
    struct rw_image img;
    struct rw_diag d;
    enum rw_err err;
};

static void open_bytes(struct opened *o, uint8_t *data, size_t size)
{
    memset(o, 0, sizeof *o);
    o->data = data;
    o->size = size;
    o->img.path = "test";
    o->img.data = data;
    o->img.size = size;
    o->img.helper_name = "GenericPInvokeCalliHelper";
    o->img.ops = &rw_pe_ops;
    o->err = rw_pe_ops.probe(data, size) ? rw_pe_ops.open(&o->img, &o->d) : RW_E_FORMAT;
}

static void close_opened(struct opened *o)
{
    rw_pe_ops.close(&o->img);
    free(o->data);
}

static uint32_t u32(const uint8_t *p)
{
    return pe_u32(p);
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* An RVA above every section, 8-aligned. */
static uint32_t above(const struct rw_image *img)
{
    const struct pe_state *st = pe_st(img);
    uint64_t end = 0;
    for (uint32_t i = 0; i < img->nsec; i++)
        if (img->sec[i].addr + img->sec[i].size - st->image_base > end)
            end = img->sec[i].addr + img->sec[i].size - st->image_base;
    return (uint32_t)((end + 0xFFF) & ~0xFFFull);
}

/* n stub entries of 16 bytes at code (above every function). */
static void make_stubs(uint8_t *rf, size_t n, uint32_t code)
{
    for (size_t i = 0; i < n; i++) {
        put32(rf + 12 * i, code + 16 * (uint32_t)i);
        put32(rf + 12 * i + 4, code + 16 * (uint32_t)i + 5);
        put32(rf + 12 * i + 8, code + 0x800 + 4 * (uint32_t)i);
    }
}

static const uint8_t map_bytes[24] = "CRWMAP\0\1 a stand-in map";

/* The layout pe_r2r_rewrite promises (docs/r2r.md, "Rewriting"). */
static void check_layout(const struct rw_image *img, const uint8_t *stub_rf, size_t n, uint32_t at,
                         const struct rw_buf *add, const struct pe_edits *ed)
{
    const struct pe_state *st = pe_st(img);
    const struct r2r_info *r = st->r2r;
    const uint8_t *a = add->data;
    size_t nrf = r->nrf + n;
    assert_true(add->len >= 12 * nrf + 4);
    const uint8_t *old = pe_rva_bytes(img, r->rf_rva, 12 * (uint64_t)r->nrf);
    if (r->nrf) {
        assert_non_null(old);
        assert_memory_equal(a, old, 12 * (size_t)r->nrf);
    }
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(a + 12 * (r->nrf + i), stub_rf + 12 * i, 12);
    assert_int_equal(u32(a + 12 * nrf), 0xFFFFFFFFu);
    /* the edit: ManagedNativeHeader */
    assert_int_equal(ed->n, 1);
    assert_int_equal(ed->v[0].rva, st->dir_rva[PE_DIR_CLR] + 64);
    assert_int_equal(ed->v[0].len, 8);
    uint32_t hrva = u32(ed->v[0].bytes), hsize = u32(ed->v[0].bytes + 4);
    assert_true(hrva >= at && hrva % 4 == 0);
    size_t ho = hrva - at;
    assert_true(ho + hsize <= add->len);
    const uint8_t *h = a + ho, *oh = pe_rva_bytes(img, r->header_rva, 16 + 12 * (uint64_t)r->nsections);
    assert_non_null(oh);
    assert_memory_equal(h, oh, 12); /* signature, version, flags */
    assert_int_equal(u32(h + 12), r->nsections + 1);
    assert_int_equal(hsize, 16 + 12 * (r->nsections + 1));
    /* the old entries in order, the map's inserted where its type sorts */
    const uint8_t *me = NULL;
    int rf_seen = 0;
    for (uint32_t i = 0, j = 0; j < r->nsections + 1; j++) {
        const uint8_t *e = h + 16 + 12 * j, *oe = i < r->nsections ? oh + 16 + 12 * i : NULL;
        if (!me && (!oe || u32(oe) > R2R_SEC_CALLIRW_MAP)) {
            me = e;
            continue;
        }
        assert_non_null(oe);
        i++;
        if (u32(oe) == R2R_SEC_RUNTIME_FUNCTIONS && !rf_seen) {
            rf_seen = 1;
            assert_int_equal(u32(e), R2R_SEC_RUNTIME_FUNCTIONS);
            assert_int_equal(u32(e + 4), at);
            assert_int_equal(u32(e + 8), 12 * nrf);
        } else {
            assert_memory_equal(e, oe, 12);
        }
    }
    assert_true(rf_seen);
    assert_non_null(me);
    assert_int_equal(u32(me), R2R_SEC_CALLIRW_MAP);
    assert_int_equal(u32(me + 8), sizeof map_bytes);
    assert_true(u32(me + 4) >= at && u32(me + 4) - at + sizeof map_bytes <= add->len);
    assert_memory_equal(a + (u32(me + 4) - at), map_bytes, sizeof map_bytes);
}

static void layout_one(uint8_t *data, size_t size, size_t n)
{
    struct opened o;
    open_bytes(&o, data, size);
    if (o.err)
        print_error("%s\n", o.d.msg);
    assert_int_equal(o.err, RW_OK);
    assert_non_null(pe_st(&o.img)->r2r);
    uint32_t at = above(&o.img);
    uint8_t *rf = calloc(n ? n : 1, 12);
    assert_non_null(rf);
    make_stubs(rf, n, at - 0x1000 + 0x1000 * 0 + 0x100000); /* code far above: fine for the checks */
    struct rw_buf add = {0};
    struct pe_edits ed = {0};
    uint8_t junk[3] = {1, 2, 3}; /* add may already hold bytes: at_rva is where ours start */
    assert_int_equal(rw_buf_append(&add, junk, 3), RW_OK);
    struct rw_buf mine = {0};
    enum rw_err e = pe_r2r_rewrite(&o.img, rf, n, map_bytes, sizeof map_bytes, at, &mine, &ed, &o.d);
    if (e)
        print_error("%s\n", o.d.msg);
    assert_int_equal(e, RW_OK);
    check_layout(&o.img, rf, n, at, &mine, &ed);
    assert_int_equal(mine.len % 8, 0);
    pe_edits_free(&ed);
    e = pe_r2r_rewrite(&o.img, rf, n, map_bytes, sizeof map_bytes, at, &add, &ed, &o.d);
    assert_int_equal(e, RW_OK);
    assert_int_equal(add.len, 3 + mine.len);
    assert_memory_equal(add.data + 3, mine.data, mine.len);
    rw_buf_free(&add), rw_buf_free(&mine), pe_edits_free(&ed), free(rf);
    close_opened(&o);
}

static void test_layout_corpus(void **state)
{
    (void)state;
    for (size_t k = 0; k < 3; k++)
        for (size_t n = 0; n <= 3; n += 3) {
            size_t size;
            uint8_t *data = slurp(images[k], &size);
            assert_non_null(data);
            layout_one(data, size, n);
        }
}

static void test_layout_synthetic(void **state)
{
    (void)state;
    const char *p = getenv("R2R_TEST_EXE");
    if (!p || !*p) {
        print_message("R2R_TEST_EXE not set: the synthetic program's part skipped\n");
        return;
    }
    size_t size;
    uint8_t *data = slurp_path(p, &size);
    assert_non_null(data);
    layout_one(data, size, 5);
}

/* ---- refusals ---- */

typedef void (*patch_fn)(uint8_t *data, struct opened *o);

static uint32_t rva_to_off(const uint8_t *data, uint32_t rva)
{
    uint32_t pe = u32(data + 0x3C), n = pe_u16(data + pe + 6);
    uint32_t sh = pe + 24 + pe_u16(data + pe + 20);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = data + sh + 40 * i;
        if (rva >= u32(s + 12) && rva < u32(s + 12) + u32(s + 16))
            return rva - u32(s + 12) + u32(s + 20);
    }
    fail_msg("RVA 0x%x not in the file", rva);
    return 0;
}

/* The ReadyToRun header of a corpus image in the file, before opening. */
static uint8_t *file_header(uint8_t *data)
{
    uint32_t pe = u32(data + 0x3C);
    uint32_t cli = u32(data + pe + 24 + 112 + 8 * 14);
    return data + rva_to_off(data, u32(data + rva_to_off(data, cli) + 64));
}

/* Section entry i's type in the file header. */
static void set_type(uint8_t *data, uint32_t i, uint32_t type)
{
    put32(file_header(data) + 16 + 12 * i, type);
}

static void refuse(const char *image, void (*patch)(uint8_t *), void (*poke)(struct opened *), enum rw_err want,
                   const char *needle)
{
    size_t size;
    uint8_t *data = slurp(image, &size);
    assert_non_null(data);
    if (patch)
        patch(data);
    struct opened o;
    open_bytes(&o, data, size);
    if (o.err)
        print_error("%s\n", o.d.msg);
    assert_int_equal(o.err, RW_OK);
    if (poke)
        poke(&o);
    uint8_t rf[12];
    make_stubs(rf, 1, above(&o.img) + 0x100000);
    struct rw_buf add = {0};
    struct pe_edits ed = {0};
    enum rw_err e = pe_r2r_rewrite(&o.img, rf, 1, map_bytes, sizeof map_bytes, above(&o.img), &add, &ed, &o.d);
    assert_int_equal(e, want);
    assert_int_equal(add.len, 0);
    assert_int_equal(ed.n, 0);
    assert_non_null(strstr(o.d.msg, needle));
    assert_null(strchr(o.d.msg, '\n'));
    rw_buf_free(&add), pe_edits_free(&ed);
    close_opened(&o);
}

static void p_component(uint8_t *d)
{
    uint8_t *h = file_header(d);
    put32(h + 8, u32(h + 8) | 0x20);
}
/* ReadyToRunTest.dll's last section is 118 ManifestAssemblyMvids (16 bytes):
 * a type still after 114 keeps the table sorted */
static void p_component_assemblies(uint8_t *d)
{
    set_type(d, 10, R2R_SEC_COMPONENT_ASSEMBLIES);
}
static void p_owner(uint8_t *d)
{
    set_type(d, 10, R2R_SEC_OWNER_COMPOSITE_EXECUTABLE);
}
static void p_hotcold(uint8_t *d)
{
    set_type(d, 10, R2R_SEC_HOT_COLD_MAP);
}
static void p_rewritten(uint8_t *d)
{
    set_type(d, 10, R2R_SEC_CALLIRW_MAP);
}
static void p_unsorted(uint8_t *d)
{
    set_type(d, 0, 105); /* CompilerIdentifier (100) -> 105 before 101 */
}
static void k_no_rf(struct opened *o) /* types 99, 100, 101, 103...: sorted, no 102 */
{
    struct r2r_section *sec = pe_st(&o->img)->r2r->sec;
    sec[0].type = 99, sec[1].type = 100, sec[2].type = 101;
}
static void k_arm64(struct opened *o)
{
    o->img.machine = RW_MACH_AARCH64;
}
static void k_export(struct opened *o)
{
    pe_st(&o->img)->r2r->via_export = 1;
}

static void test_refusals(void **state)
{
    (void)state;
    refuse("ReadyToRunTest.dll", p_component, NULL, RW_E_UNSUPPORTED, "COMPONENT");
    refuse("ReadyToRunTest.dll", p_component_assemblies, NULL, RW_E_UNSUPPORTED, "ComponentAssemblies");
    refuse("ReadyToRunTest.dll", p_owner, NULL, RW_E_UNSUPPORTED, "OwnerCompositeExecutable");
    refuse("ReadyToRunTest.dll", p_hotcold, NULL, RW_E_UNSUPPORTED, "HotColdMap");
    refuse("ReadyToRunTest.dll", p_rewritten, NULL, RW_E_UNSUPPORTED, "already carries a rewrite map");
    refuse("ReadyToRunTest.dll", p_unsorted, NULL, RW_E_UNSUPPORTED, "not sorted");
    refuse("HelloWorld.ReadyToRun.dll", NULL, k_export, RW_E_UNSUPPORTED, "composite");
    refuse("HelloWorld.ReadyToRun.dll", NULL, k_arm64, RW_E_UNSUPPORTED, "arm64");
    refuse("HelloWorld.ReadyToRun.dll", NULL, k_no_rf, RW_E_UNSUPPORTED, "without a RuntimeFunctions section");
}

/* the caller's mistakes */
static void test_internal(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = slurp("ReadyToRunTest.dll", &size);
    assert_non_null(data);
    struct opened o;
    open_bytes(&o, data, size);
    assert_int_equal(o.err, RW_OK);
    const struct r2r_info *r = pe_st(&o.img)->r2r;
    uint32_t at = above(&o.img), code = at + 0x100000;
    uint8_t rf[36];
    struct rw_buf add = {0};
    struct pe_edits ed = {0};
#define TRY(STUBS, N, MAP, MLEN, AT, WANT)                                                      \
    do {                                                                                        \
        assert_int_equal(pe_r2r_rewrite(&o.img, STUBS, N, MAP, MLEN, AT, &add, &ed, &o.d), WANT); \
        assert_int_equal(add.len, 0);                                                                   \
        assert_int_equal(ed.n, 0);                                                                      \
    } while (0)
    make_stubs(rf, 3, code);
    TRY(rf, 3, map_bytes, sizeof map_bytes, at + 4, RW_E_INTERNAL);  /* not 8-aligned */
    TRY(rf, 3, map_bytes, sizeof map_bytes, 0x1000, RW_E_INTERNAL);  /* inside .text */
    TRY(rf, 3, NULL, 0, at, RW_E_INTERNAL);                          /* no map */
    TRY(NULL, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);    /* no stubs */
    TRY(rf, (size_t)1 << 30, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    put32(rf + 12, code - 16); /* unsorted */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    make_stubs(rf, 3, code);
    put32(rf + 4, code + 20); /* overlaps the next */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    make_stubs(rf, 3, code);
    put32(rf + 4, code); /* empty */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    make_stubs(rf, 3, code);
    put32(rf + 8, 0); /* no unwind data */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    make_stubs(rf, 3, r->rf[r->nrf - 1].end - 4); /* below the end of existing code */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at, RW_E_INTERNAL);
    make_stubs(rf, 3, code);
    TRY(rf, 3, map_bytes, sizeof map_bytes, 0xFFFFFFF8u, RW_E_NOROOM); /* no room below 4 GiB */
    TRY(rf, 3, map_bytes, sizeof map_bytes, at + 1, RW_E_INTERNAL);
    assert_int_equal(pe_r2r_rewrite(&o.img, rf, 3, map_bytes, sizeof map_bytes, at, &add, &ed, &o.d), RW_OK);
    rw_buf_free(&add), pe_edits_free(&ed);
    close_opened(&o);
}

/* ---- hostile inputs ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)rng;
}

static void test_fuzz(void **state)
{
    (void)state;
    const char *env = getenv("R2R_WRITE_FUZZ_ITERS");
    unsigned iters = env ? (unsigned)atoi(env) : 1500;
    for (size_t k = 0; k < 3; k++) {
        size_t size;
        uint8_t *orig = slurp(images[k], &size);
        assert_non_null(orig);
        uint32_t hoff = (uint32_t)(file_header(orig) - orig);
        unsigned opened = 0, rewritten = 0;
        for (unsigned it = 0; it < iters; it++) {
            uint8_t *data = malloc(size);
            assert_non_null(data);
            memcpy(data, orig, size);
            unsigned flips = 1 + next_rand() % 4;
            for (unsigned f = 0; f < flips; f++) {
                uint32_t r = next_rand(), at;
                if (r % 4 == 0) /* the header and its section table */
                    at = hoff + (next_rand() % 160);
                else if (r % 4 == 1) /* the PE headers (CLI directory, sections) */
                    at = next_rand() % 0x400;
                else /* anywhere */
                    at = next_rand() % (uint32_t)size;
                if (at < size)
                    data[at] ^= (uint8_t)(1u << (next_rand() % 8)) | (uint8_t)(next_rand() % 2 ? 0 : next_rand());
            }
            struct opened o;
            open_bytes(&o, data, size);
            if (o.err == RW_OK && pe_st(&o.img) && pe_st(&o.img)->r2r) {
                opened++;
                const uint8_t *mp;
                uint32_t msz;
                int has_map = pe_r2r_map(&o.img, &mp, &msz); /* inspect's reader: in bounds */
                assert_int_equal(has_map > 0, pe_st(&o.img)->r2r->rewritten && has_map >= 0);
                if (has_map > 0)
                    assert_true(mp[0] + mp[msz - 1] >= 0);
                uint8_t rf[24];
                uint32_t at = above(&o.img);
                make_stubs(rf, 2, at + 0x100000);
                struct rw_buf add = {0};
                struct pe_edits ed = {0};
                memset(&o.d, 0, sizeof o.d);
                enum rw_err e = pe_r2r_rewrite(&o.img, rf, 2, map_bytes, sizeof map_bytes, at, &add, &ed, &o.d);
                if (e == RW_OK) {
                    rewritten++;
                    check_layout(&o.img, rf, 2, at, &add, &ed);
                } else {
                    if (e != RW_E_UNSUPPORTED && e != RW_E_CORRUPT && e != RW_E_INTERNAL)
                        fail_msg("error %d: %s", e, o.d.msg);
                    assert_true(o.d.msg[0] && !strchr(o.d.msg, '\n'));
                    assert_int_equal(add.len, 0);
                    assert_int_equal(ed.n, 0);
                }
                rw_buf_free(&add), pe_edits_free(&ed);
            }
            close_opened(&o);
        }
        print_message("%s: %u copies, %u opened as ReadyToRun, %u rewritten\n", images[k], iters, opened,
                      rewritten);
        assert_true(rewritten > 0);
        free(orig);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_corpus),
        cmocka_unit_test(test_layout_synthetic),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_internal),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pe_r2r.c - the ReadyToRun reader (formats/pe_r2r.c) on the three
 * real Crossgen2 images of ../shared/corpus/r2r (CALLIRW_R2R_CORPUS
 * overrides the directory).
 *
 * The expected facts were established independently of the C code:
 *  - tests/pe/r2r_facts.py, a separate Python reader written from the
 *    format documents (header, sections, compiler identifier, import
 *    sections and every slot's fixup kind and helper id, RuntimeFunctions,
 *    the MethodDefEntryPoints NativeArray with its fixup lists);
 *  - AsmResolver's own tests of HelloWorld.ReadyToRun.dll (the images come
 *    from its test resources): version 5.4, NonSharedPInvokeStubs, the list
 *    of section types, "Crossgen2 6.0.2223.42425", the import section types
 *    and the signature RVAs of sections 1, 3 and 5;
 *  - llvm-readobj --file-headers --coff-basereloc: image base, the
 *    exception directory (the same table as RuntimeFunctions), the CLI
 *    header, the DIR64 base relocations.
 * None of the images calls a calli helper: no helper slot may be found.
 * Then truncated and byte-flipped copies of each image (in buffers of their
 * exact size, under ASan/UBSan): open never crashes, fails only with
 * FORMAT / CORRUPT / UNSUPPORTED and a one-line message, and when it
 * succeeds, describe, read_pointer and the scanner run cleanly.
 */
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
#include "scan.h"

extern const struct rw_format_ops rw_pe_ops;

static const char *corpus(void)
{
    const char *d = getenv("CALLIRW_R2R_CORPUS");
    return d && *d ? d : "../shared/corpus/r2r";
}

static uint8_t *slurp(const char *name, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", corpus(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s (set CALLIRW_R2R_CORPUS)\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
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
    memset(&o->img, 0, sizeof o->img);
    memset(&o->d, 0, sizeof o->d);
    o->data = data;
    o->size = size;
    o->img.path = "test";
    o->img.data = data;
    o->img.size = size;
    o->img.helper_name = "GenericPInvokeCalliHelper";
    o->img.ops = &rw_pe_ops;
    o->err = rw_pe_ops.probe(data, size) ? rw_pe_ops.open(&o->img, &o->d) : RW_E_FORMAT;
}

static void open_corpus(struct opened *o, const char *name)
{
    size_t size;
    uint8_t *data = slurp(name, &size);
    assert_non_null(data);
    open_bytes(o, data, size);
    if (o->err)
        print_error("%s: %s\n", name, o->d.msg);
    assert_int_equal(o->err, RW_OK);
}

static void close_opened(struct opened *o)
{
    rw_pe_ops.close(&o->img);
    free(o->data);
}

static const struct r2r_info *r2r(const struct opened *o)
{
    const struct pe_state *st = pe_st(&o->img);
    assert_non_null(st);
    assert_non_null(st->r2r);
    return st->r2r;
}

/* ---- facts common to the three images ---- */

static void common(const struct opened *o, uint32_t cli_rva, uint32_t hdr_rva, uint32_t hdr_size)
{
    const struct rw_image *img = &o->img;
    const struct pe_state *st = pe_st(img);
    assert_int_equal(img->format, RW_FMT_PE);
    assert_int_equal(img->machine, RW_MACH_X86_64);
    assert_int_equal(img->kind, RW_KIND_SHARED);
    assert_int_equal(img->abi, CALLI_ABI_WIN_X64);
    assert_int_equal(st->image_base, 0x180000000ull);
    assert_int_equal(st->os_override, 0);
    assert_int_equal(img->nsec, 3);
    assert_string_equal(img->sec[0].name, ".text");
    assert_string_equal(img->sec[1].name, ".data");
    assert_string_equal(img->sec[2].name, ".reloc");
    assert_true(img->sec[0].flags & RW_SEC_EXEC);
    assert_true(img->sec[1].flags & RW_SEC_WRITE);
    assert_int_equal(img->sec[0].addr, 0x180001000ull);
    assert_true(st->has_cli);
    assert_int_equal(st->dir_rva[PE_DIR_CLR], cli_rva);
    assert_int_equal(st->cli_flags & 4, 4); /* IL_LIBRARY */
    const struct r2r_info *r = r2r(o);
    assert_int_equal(r->header_rva, hdr_rva);
    assert_int_equal(r->header_size, hdr_size);
    assert_int_equal(r->header_size, 16 + 12 * r->nsections);
    assert_false(r->via_export);
    assert_int_equal(r->major, 5);
    assert_int_equal(r->minor, 4);
    assert_int_equal(r->flags, 0x8); /* NONSHARED_PINVOKE_STUBS */
    assert_false(r->rewritten);
    assert_false(img->rewritten);
    /* no calli helper anywhere */
    assert_int_equal(r->helper_id, 0x47);
    assert_int_equal(r->nhelper_slots, 0);
    assert_int_equal(img->helper.nslots, 0);
    assert_int_equal(img->helper.naddrs, 0);
    /* import section 1: the eager helper cells, the same in all three */
    assert_true(r->nimp == 6);
    const struct r2r_import *im = &r->imp[1];
    assert_int_equal(im->flags, 1); /* Eager */
    assert_int_equal(im->type, 0);
    assert_int_equal(im->entry_size, 8);
    assert_int_equal(im->nslots, 5);
    const struct r2r_slot *sl = &r->slot[im->first_slot];
    assert_int_equal(sl[0].kind, 0x30); /* Check_InstructionSetSupport */
    static const uint32_t helpers[4] = {0x01, 0x08, 0xF0, 0xF1};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(sl[k + 1].kind, R2R_FIXUP_HELPER);
        assert_true(sl[k + 1].has_helper);
        assert_false(sl[k + 1].has_module);
        assert_int_equal(sl[k + 1].helper, helpers[k]);
    }
    /* the exception directory is the RuntimeFunctions table */
    assert_int_equal(st->dir_rva[PE_DIR_EXCEPTION], r->rf_rva);
    assert_int_equal(st->dir_size[PE_DIR_EXCEPTION], 12 * r->nrf);
    /* every runtime function is a model function range */
    for (uint32_t i = 0; i < r->nrf; i++) {
        uint64_t va = st->image_base + r->rf[i].begin;
        uint32_t s = rw_section_at(img, va, 1);
        assert_int_equal(s, 0);
        const struct rw_func *f = rw_func_at(img, s, va - img->sec[s].addr);
        assert_non_null(f);
        assert_int_equal(f->start, va - img->sec[s].addr);
    }
    /* import cells are filled by the runtime; other data reads through */
    for (uint32_t i = 0; i < r->nslot; i++) {
        uint64_t v;
        assert_int_equal(rw_pe_ops.read_pointer(img, st->image_base + r->slot[i].rva, &v), RW_E_UNSUPPORTED);
    }
    const struct r2r_section *ci = NULL;
    for (uint32_t i = 0; i < r->nsections; i++)
        if (r->sec[i].type == R2R_SEC_COMPILER_IDENTIFIER)
            ci = &r->sec[i];
    assert_non_null(ci);
    uint64_t v;
    assert_int_equal(rw_pe_ops.read_pointer(img, st->image_base + ci->rva, &v), RW_OK);
    assert_memory_equal(&v, "Crossgen", 8);
    assert_int_equal(rw_pe_ops.read_pointer(img, 0x1000, &v), RW_E_CORRUPT);
    /* describe: both forms run and name what they read */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    rw_pe_ops.describe(img, m, 0);
    rw_pe_ops.describe(img, m, 1);
    fclose(m);
    assert_non_null(strstr(buf, "ReadyToRun: header rva"));
    assert_non_null(strstr(buf, "NONSHARED_PINVOKE_STUBS"));
    assert_non_null(strstr(buf, "\"readytorun\":{"));
    assert_non_null(strstr(buf, "\"helper_slots\":[]"));
    assert_non_null(strstr(buf, "PersonalityRoutineFilterFunclet"));
    free(buf);
}

static void check_sections(const struct r2r_info *r, const uint32_t (*want)[3], uint32_t n)
{
    assert_int_equal(r->nsections, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(r->sec[i].type, want[i][0]);
        assert_int_equal(r->sec[i].rva, want[i][1]);
        assert_int_equal(r->sec[i].size, want[i][2]);
        assert_non_null(r2r_section_name(r->sec[i].type));
    }
}

struct fixup_list {
    uint32_t v[16][2];
    int n;
};

static void collect(void *ctx, uint32_t import, uint32_t slot)
{
    struct fixup_list *l = ctx;
    if (l->n < 16) {
        l->v[l->n][0] = import;
        l->v[l->n][1] = slot;
    }
    l->n++;
}

static void check_entry(const struct opened *o, const struct r2r_entry *e, uint32_t rid, uint32_t rf,
                        const uint32_t (*fix)[2], int nfix)
{
    assert_int_equal(e->rid, rid);
    assert_int_equal(e->rf, rf);
    assert_int_equal(e->nfixups, (uint32_t)nfix);
    struct fixup_list l = {.n = 0};
    assert_int_equal(r2r_entry_fixups(&o->img, e, collect, &l), nfix);
    assert_int_equal(l.n, nfix);
    for (int i = 0; i < nfix; i++) {
        assert_int_equal(l.v[i][0], fix[i][0]);
        assert_int_equal(l.v[i][1], fix[i][1]);
    }
}

static void test_helloworld(void **state)
{
    (void)state;
    struct opened o;
    open_corpus(&o, "HelloWorld.ReadyToRun.dll");
    common(&o, 0x93D8, 0x9420, 148);
    const struct r2r_info *r = r2r(&o);
    static const uint32_t secs[][3] = {
        {100, 0x9540, 24}, {101, 0xA000, 120}, {102, 0x9514, 24}, {103, 0x94B8, 10},
        {105, 0x9C60, 29}, {106, 0x9584, 32},  {108, 0x9508, 9},  {109, 0x9530, 3},
        {112, 0x9B78, 228}, {114, 0x9538, 3},  {118, 0x9504, 0},
    };
    check_sections(r, secs, 11);
    assert_string_equal(r->compiler, "Crossgen2 6.0.2223.42425");
    /* import sections: types and slots (AsmResolver: StubDispatch, Unknown,
     * Unknown, StubDispatch, Unknown, StringHandle) */
    static const uint8_t types[6] = {2, 0, 0, 2, 0, 3};
    static const uint32_t nslots[6] = {0, 5, 0, 1, 0, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r->imp[i].type, types[i]);
        assert_int_equal(r->imp[i].nslots, nslots[i]);
    }
    assert_int_equal(r->nslot, 7);
    static const uint32_t sig1[5] = {0xA0D4, 0xA0DB, 0xA0DD, 0xA0DF, 0xA0E2};
    for (int k = 0; k < 5; k++)
        assert_int_equal(r->slot[r->imp[1].first_slot + k].sig_rva, sig1[k]);
    assert_int_equal(r->imp[1].rva, 0xA078);
    const struct r2r_slot *s3 = &r->slot[r->imp[3].first_slot];
    assert_int_equal(s3->rva, 0xA0A0);
    assert_int_equal(s3->sig_rva, 0xA0D9);
    assert_int_equal(s3->kind, 0x15); /* MethodEntry_RefToken */
    const struct r2r_slot *s5 = &r->slot[r->imp[5].first_slot];
    assert_int_equal(s5->sig_rva, 0xA0E5);
    assert_int_equal(s5->kind, 0x1B); /* StringHandle */
    assert_int_equal(r->imp[0].aux, 0x95B8);
    /* runtime functions */
    assert_int_equal(r->nrf, 2);
    assert_int_equal(r->rf[0].begin, 0x9560);
    assert_int_equal(r->rf[0].end, 0x957A);
    assert_int_equal(r->rf[0].unwind, 0x94E8);
    assert_int_equal(r->rf[1].begin, 0x9580);
    assert_int_equal(r->rf[1].end, 0x9581);
    assert_int_equal(r->rf[1].unwind, 0x94F8);
    /* method entry points: Main (row 1) needs the "Hello World" string cell */
    assert_true(r->has_entrypoints);
    assert_int_equal(r->methoddef_count, 2);
    assert_int_equal(r->nep, 2);
    static const uint32_t f1[][2] = {{5, 0}};
    check_entry(&o, &r->ep[0], 1, 0, f1, 1);
    check_entry(&o, &r->ep[1], 2, 1, NULL, 0);
    assert_int_equal(r->nfixups, 1);
    /* one DIR64 base relocation, on the StubDispatch cell */
    assert_int_equal(pe_st(&o.img)->nbaserel, 1);
    const struct rw_reloc *rel = rw_reloc_at(&o.img, 1, 0xA0A0 - 0xA000);
    assert_non_null(rel);
    assert_int_equal(rel->raw_type, PE_REL_BASED_DIR64);
    close_opened(&o);
}

static void test_readytoruntest(void **state)
{
    (void)state;
    struct opened o;
    open_corpus(&o, "ReadyToRunTest.dll");
    common(&o, 0x1588, 0x15D0, 160);
    const struct r2r_info *r = r2r(&o);
    static const uint32_t secs[][3] = {
        {100, 0x1828, 24}, {101, 0x3000, 120}, {102, 0x17D4, 60}, {103, 0x1670, 23},
        {104, 0x19E8, 16}, {105, 0x2090, 58},  {106, 0x1934, 32}, {108, 0x17C8, 9},
        {109, 0x1818, 3},  {112, 0x1F84, 268}, {114, 0x1820, 8},  {118, 0x17B4, 16},
    };
    check_sections(r, secs, 12);
    assert_string_equal(r->compiler, "Crossgen2 6.0.2223.42425");
    static const uint8_t types[6] = {2, 0, 0, 2, 0, 3};
    static const uint32_t nslots[6] = {0, 5, 0, 4, 1, 5};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r->imp[i].type, types[i]);
        assert_int_equal(r->imp[i].nslots, nslots[i]);
    }
    assert_int_equal(r->nslot, 15);
    static const uint8_t kinds3[4] = {0x15, 0x14, 0x14, 0x14};
    for (int k = 0; k < 4; k++)
        assert_int_equal(r->slot[r->imp[3].first_slot + k].kind, kinds3[k]);
    assert_int_equal(r->slot[r->imp[4].first_slot].kind, 0x10); /* TypeHandle */
    for (int k = 0; k < 5; k++)
        assert_int_equal(r->slot[r->imp[5].first_slot + k].kind, 0x1B);
    assert_int_equal(r->nrf, 5);
    static const uint32_t rf[5][3] = {{6208, 6256, 5992}, {6256, 6282, 6012}, {6288, 6349, 6028},
                                      {6349, 6386, 6056}, {6400, 6426, 6012}};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r->rf[i].begin, rf[i][0]);
        assert_int_equal(r->rf[i].end, rf[i][1]);
        assert_int_equal(r->rf[i].unwind, rf[i][2]);
    }
    /* five method rows, row 2 has no code; row 5 uses runtime function 4 */
    assert_int_equal(r->methoddef_count, 5);
    assert_int_equal(r->nep, 4);
    static const uint32_t e1[][2] = {{5, 0}, {5, 4}};
    static const uint32_t e3[][2] = {{5, 1}};
    static const uint32_t e4[][2] = {{4, 0}, {5, 2}, {5, 3}};
    static const uint32_t e5[][2] = {{5, 4}};
    check_entry(&o, &r->ep[0], 1, 0, e1, 2);
    check_entry(&o, &r->ep[1], 3, 1, e3, 1);
    check_entry(&o, &r->ep[2], 4, 2, e4, 3);
    check_entry(&o, &r->ep[3], 5, 4, e5, 1);
    assert_int_equal(r->nfixups, 7);
    uint32_t at;
    assert_int_equal(r2r_native_array_get(&o.img, 0x1670, 1, &at), 0); /* row 2: absent */
    assert_int_equal(r2r_native_array_get(&o.img, 0x1670, 5, &at), 0); /* past the end */
    assert_int_equal(pe_st(&o.img)->nbaserel, 4);
    close_opened(&o);
}

static void test_readytoruntestloop(void **state)
{
    (void)state;
    struct opened o;
    open_corpus(&o, "ReadyToRunTestLoop.dll");
    common(&o, 0x15A8, 0x15F0, 148);
    const struct r2r_info *r = r2r(&o);
    static const uint32_t types[] = {100, 101, 102, 103, 105, 106, 108, 109, 112, 114, 118};
    assert_int_equal(r->nsections, 11);
    for (int i = 0; i < 11; i++)
        assert_int_equal(r->sec[i].type, types[i]);
    assert_string_equal(r->compiler, "Crossgen2 6.0.2423.51814");
    static const uint32_t nslots[6] = {0, 5, 0, 3, 0, 0};
    for (int i = 0; i < 6; i++)
        assert_int_equal(r->imp[i].nslots, nslots[i]);
    assert_int_equal(r->nslot, 8);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(r->slot[r->imp[3].first_slot + k].kind, 0x15);
        assert_int_equal(r->slot[r->imp[3].first_slot + k].rva, 0x20A0 + 8 * k);
    }
    assert_int_equal(r->nrf, 2);
    assert_int_equal(r->rf[0].begin, 6128);
    assert_int_equal(r->rf[0].end, 6178);
    assert_int_equal(r->rf[1].begin, 6192);
    assert_int_equal(r->rf[1].end, 6193);
    assert_int_equal(r->methoddef_count, 2);
    assert_int_equal(r->nep, 2);
    check_entry(&o, &r->ep[0], 1, 0, NULL, 0);
    check_entry(&o, &r->ep[1], 2, 1, NULL, 0);
    assert_int_equal(pe_st(&o.img)->nbaserel, 3);
    close_opened(&o);
}

/* A configured helper id turns matching Helper cells into helper slots:
 * with id 0x08 (DelayLoad_MethodCall) each image has exactly one, the third
 * cell of import section 1. */
static void test_helper_id(void **state)
{
    (void)state;
    static const char *names[3] = {"HelloWorld.ReadyToRun.dll", "ReadyToRunTest.dll", "ReadyToRunTestLoop.dll"};
    static const uint64_t cell[3] = {0x18000A088ull, 0x180003088ull, 0x180002088ull};
    rw_r2r_set_helper_id(0x08);
    for (int i = 0; i < 3; i++) {
        struct opened o;
        open_corpus(&o, names[i]);
        assert_int_equal(o.img.helper.nslots, 1);
        assert_int_equal(o.img.helper.slots[0], cell[i]);
        assert_int_equal(r2r(&o)->nhelper_slots, 1);
        struct rw_scan sc;
        struct rw_diag d = {0};
        assert_int_equal(rw_scan_image(&o.img, &sc, &d), RW_OK);
        rw_scan_free(&sc);
        close_opened(&o);
    }
    rw_r2r_set_helper_id(R2R_HELPER_GENERIC_PINVOKE_CALLI);
    assert_int_equal(rw_r2r_helper_id(), 0x47);
}

/* The scanner finds nothing in any of them. */
static void test_scan_finds_nothing(void **state)
{
    (void)state;
    static const char *names[3] = {"HelloWorld.ReadyToRun.dll", "ReadyToRunTest.dll", "ReadyToRunTestLoop.dll"};
    for (int i = 0; i < 3; i++) {
        struct opened o;
        open_corpus(&o, names[i]);
        struct rw_scan sc;
        struct rw_diag d = {0};
        assert_int_equal(rw_scan_image(&o.img, &sc, &d), RW_OK);
        assert_int_equal(sc.nsites, 0);
        rw_scan_free(&sc);
        close_opened(&o);
    }
}

/* NativeFormat integers: every encoding length, and cut encodings. */
static void test_native_unsigned(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = slurp("ReadyToRunTestLoop.dll", &size);
    assert_non_null(data);
    struct opened o;
    open_bytes(&o, data, size);
    assert_int_equal(o.err, RW_OK);
    /* write encodings over the last bytes of .text (our private copy) */
    struct rw_section *ds = &o.img.sec[0];
    assert_true(ds->size > 0x40);
    uint8_t *p = (uint8_t *)ds->data + ds->size - 0x20;
    uint32_t rva = (uint32_t)(ds->addr - 0x180000000ull + ds->size - 0x20), v;
    static const uint8_t enc[] = {
        0x18,                         /* 12 */
        0xA1, 0x0F,                   /* 1000 */
        0x03, 0x00, 0x01,             /* 3-byte: (0x03>>3) | 0 | 1<<13 = 8192 */
        0x07, 0x00, 0x00, 0x01,       /* 4-byte: 1 << 20 */
        0x0F, 0x78, 0x56, 0x34, 0x12, /* 5-byte: 0x12345678 */
        0x1F,                         /* invalid */
    };
    memcpy(p, enc, sizeof enc);
    uint64_t next = r2r_native_unsigned(&o.img, rva, &v);
    assert_int_equal(next, rva + 1);
    assert_int_equal(v, 12);
    next = r2r_native_unsigned(&o.img, next, &v);
    assert_int_equal(v, 1000);
    next = r2r_native_unsigned(&o.img, next, &v);
    assert_int_equal(v, 8192);
    next = r2r_native_unsigned(&o.img, next, &v);
    assert_int_equal(v, 1u << 20);
    next = r2r_native_unsigned(&o.img, next, &v);
    assert_int_equal(v, 0x12345678);
    assert_int_equal(r2r_native_unsigned(&o.img, next, &v), 0);
    /* an encoding cut by the end of the section */
    uint32_t end = (uint32_t)(ds->addr + ds->size - 0x180000000ull);
    ((uint8_t *)ds->data)[ds->size - 1] = 0x0F;
    assert_int_equal(r2r_native_unsigned(&o.img, end - 1, &v), 0);
    assert_int_equal(r2r_native_unsigned(&o.img, end, &v), 0);
    close_opened(&o);
}

/* ---- targeted patches of HelloWorld ---- */

/* The file offset of an RVA in the pristine image. */
static size_t file_off(uint32_t rva)
{
    struct opened o;
    open_corpus(&o, "HelloWorld.ReadyToRun.dll");
    const uint8_t *p = pe_rva_bytes(&o.img, rva, 1);
    assert_non_null(p);
    assert_true(p >= o.data && p < o.data + o.size);
    size_t off = (size_t)(p - o.data);
    close_opened(&o);
    return off;
}

static void open_patched(struct opened *o, void (*patch)(uint8_t *data))
{
    size_t size;
    uint8_t *data = slurp("HelloWorld.ReadyToRun.dll", &size);
    assert_non_null(data);
    patch(data);
    open_bytes(o, data, size);
}

static void expect_patched_fail(void (*patch)(uint8_t *data), const char *msg)
{
    struct opened o;
    open_patched(&o, patch);
    if (o.err != RW_E_CORRUPT || !strstr(o.d.msg, msg))
        print_error("expected '%s', got %d '%s'\n", msg, o.err, o.d.msg);
    assert_int_equal(o.err, RW_E_CORRUPT);
    assert_non_null(strstr(o.d.msg, msg));
    close_opened(&o);
}

/* Slot 1 of import section 1 is "Helper 0x01" (bytes 1A 01 at 0xA0DB). */
static void patch_helper_47(uint8_t *d)
{
    d[file_off(0xA0DC)] = 0x47;
}
static void patch_module_override(uint8_t *d)
{
    d[file_off(0xA0DB)] = 0x9A; /* Helper | ModuleOverride: 01 is the module, 1A the helper */
}
static void patch_import_size(uint8_t *d)
{
    d[file_off(0x9420 + 16 + 12 * 1 + 8)] = 121; /* ImportSections: 120 -> 121 */
}
static void patch_fixup_slot(uint8_t *d)
{
    d[file_off(0x94BF)] = 0x35; /* import 5, slot 3 (it has 1) */
}
static void patch_fixup_table(uint8_t *d)
{
    d[file_off(0x94BF)] = 0x07; /* import 7 (there are 6) */
}
static void patch_entry_rf(uint8_t *d)
{
    d[file_off(0x94C1)] = 5 << 2; /* row 2 -> runtime function 5 (there are 2) */
}
static void patch_rf_end(uint8_t *d)
{
    size_t o = file_off(0x9514 + 4);
    d[o] = 0x50; /* end 0x9550 < begin 0x9560 */
}
static void patch_nsections(uint8_t *d)
{
    size_t o = file_off(0x9420 + 12);
    d[o + 3] = 0x10;
}
static void patch_signature(uint8_t *d)
{
    d[file_off(0x9420)] = 'X'; /* no longer "RTR" */
}
static void patch_linux(uint8_t *d)
{
    d[0x84] ^= 0x79; /* Machine 0x8664 ^ 0x7B79 (crossgen2's Linux override) */
    d[0x85] ^= 0x7B;
}

static void test_patched(void **state)
{
    (void)state;
    struct opened o;
    /* a cell whose fixup is Helper 0x47 is the calli helper's slot */
    open_patched(&o, patch_helper_47);
    assert_int_equal(o.err, RW_OK);
    assert_int_equal(o.img.helper.nslots, 1);
    assert_int_equal(o.img.helper.slots[0], 0x18000A080ull);
    assert_int_equal(r2r(&o)->nhelper_slots, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    rw_pe_ops.describe(&o.img, m, 0);
    rw_pe_ops.describe(&o.img, m, 1);
    fclose(m);
    assert_non_null(strstr(buf, "helper 0x47 GenericPInvokeCalli"));
    assert_non_null(strstr(buf, "\"helper_slots\":[6442492032]"));
    free(buf);
    close_opened(&o);
    /* ModuleOverride: the module index comes first */
    open_patched(&o, patch_module_override);
    assert_int_equal(o.err, RW_OK);
    const struct r2r_slot *sl = &r2r(&o)->slot[r2r(&o)->imp[1].first_slot + 1];
    assert_int_equal(sl->kind, 0x9A);
    assert_true(sl->has_module);
    assert_int_equal(sl->module, 1);
    assert_true(sl->has_helper);
    assert_int_equal(sl->helper, 0x1A);
    close_opened(&o);
    /* the signature changed: a plain CLI image, no ReadyToRun */
    open_patched(&o, patch_signature);
    assert_int_equal(o.err, RW_OK);
    assert_true(pe_st(&o.img)->has_cli);
    assert_null(pe_st(&o.img)->r2r);
    close_opened(&o);
    /* a Linux-targeted image: System V ABI */
    open_patched(&o, patch_linux);
    assert_int_equal(o.err, RW_OK);
    assert_int_equal(o.img.machine, RW_MACH_X86_64);
    assert_int_equal(o.img.abi, CALLI_ABI_SYSV_X64);
    assert_int_equal(pe_st(&o.img)->os_override, PE_OS_LINUX);
    close_opened(&o);
    /* each malformation, its own message */
    expect_patched_fail(patch_import_size, "ImportSections size 0x79 is not a multiple of 20");
    expect_patched_fail(patch_fixup_slot, "fixup list at RVA 0x94bf names a slot past the end of its import section");
    expect_patched_fail(patch_fixup_table, "names an import section that does not exist");
    expect_patched_fail(patch_entry_rf, "method row 2 names runtime function 5 of 2");
    expect_patched_fail(patch_rf_end, "runtime function 0 [0x9560, 0x9550) is not inside an executable section");
    expect_patched_fail(patch_nsections, "ReadyToRun section table (268435467 entries) is outside the image");
}

/* ---- robustness ---- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct tally {
    unsigned ok, err[RW_E_INTERNAL + 1];
};

static void mutant(const uint8_t *src, size_t size, struct tally *t)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, src, size);
    struct opened o;
    open_bytes(&o, copy, size);
    if (o.err == RW_OK) {
        t->ok++;
        FILE *devnull = fopen("/dev/null", "w");
        rw_pe_ops.describe(&o.img, devnull, 0);
        rw_pe_ops.describe(&o.img, devnull, 1);
        fclose(devnull);
        uint64_t v;
        for (size_t i = 0; i < o.img.nsec; i++)
            rw_pe_ops.read_pointer(&o.img, o.img.sec[i].addr, &v);
        struct rw_scan sc;
        struct rw_diag d = {0};
        if (t->ok % 8 == 1 && rw_scan_image(&o.img, &sc, &d) == RW_OK) /* the scanner is slow */
            rw_scan_free(&sc);
        else if (d.err)
            assert_true(d.msg[0] && !strchr(d.msg, '\n'));
    } else {
        assert_true(o.err == RW_E_FORMAT || o.err == RW_E_CORRUPT || o.err == RW_E_UNSUPPORTED);
        if (o.err != RW_E_FORMAT || o.d.msg[0]) {
            if (!o.d.msg[0] || strchr(o.d.msg, '\n'))
                print_error("bad message for error %d: '%s'\n", o.err, o.d.msg);
            assert_true(o.d.msg[0] && !strchr(o.d.msg, '\n'));
        }
        t->err[o.err]++;
    }
    close_opened(&o);
}

/* File ranges worth flipping: the headers and every ReadyToRun structure. */
struct span {
    size_t off, len;
};

static size_t hot_spans(const char *name, struct span *sp, size_t max)
{
    struct opened o;
    open_corpus(&o, name);
    size_t n = 0;
    sp[n++] = (struct span){0, 0x200};
    const struct r2r_info *r = r2r(&o);
    for (uint32_t i = 0; i < r->nsections && n < max; i++) {
        const uint8_t *p = pe_rva_bytes(&o.img, r->sec[i].rva, r->sec[i].size ? r->sec[i].size : 1);
        if (p && p >= o.data && p < o.data + o.size)
            sp[n++] = (struct span){(size_t)(p - o.data), r->sec[i].size ? r->sec[i].size : 1};
    }
    const uint8_t *h = pe_rva_bytes(&o.img, r->header_rva, r->header_size);
    if (h && n < max)
        sp[n++] = (struct span){(size_t)(h - o.data), r->header_size};
    for (uint32_t i = 0; i < r->nimp && n < max; i++)
        if (r->imp[i].signatures && r->imp[i].nslots) {
            const uint8_t *s = pe_rva_bytes(&o.img, r->imp[i].signatures, 4 * r->imp[i].nslots);
            if (s && s >= o.data && s < o.data + o.size)
                sp[n++] = (struct span){(size_t)(s - o.data), 4 * r->imp[i].nslots + 32};
        }
    close_opened(&o);
    return n;
}

static void robustness(const char *name)
{
    size_t size;
    uint8_t *data = slurp(name, &size);
    assert_non_null(data);
    struct tally t;
    memset(&t, 0, sizeof t);
    /* truncations: every length up to 4 KiB (the headers), then every 7th */
    size_t ntrunc = 0;
    for (size_t len = 0; len < size; len += len < 4096 ? 1 : 7, ntrunc++)
        mutant(data, len, &t);
    struct span sp[64];
    size_t nsp = hot_spans(name, sp, 64);
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    const unsigned iters = getenv("PE_FUZZ_ITERS") ? (unsigned)atoi(getenv("PE_FUZZ_ITERS")) : 4000;
    for (unsigned it = 0; it < iters; it++) {
        memcpy(buf, data, size);
        unsigned flips = 1 + (unsigned)(next_rand() % 4);
        for (unsigned f = 0; f < flips; f++) {
            size_t pos;
            if (next_rand() % 4 == 0) {
                pos = (size_t)(next_rand() % size);
            } else {
                const struct span *s = &sp[next_rand() % nsp];
                pos = s->off + (size_t)(next_rand() % s->len);
                if (pos >= size)
                    pos = size - 1;
            }
            switch (next_rand() % 3) {
            case 0: buf[pos] ^= (uint8_t)(1u << (next_rand() % 8)); break;
            case 1: buf[pos] = (uint8_t)next_rand(); break;
            default: buf[pos] = (uint8_t)(next_rand() % 2 ? 0xFF : 0x00); break;
            }
        }
        mutant(buf, size, &t);
    }
    print_message("%s: %u opened, %u format, %u corrupt, %u unsupported (of %zu truncations + %u mutants)\n",
                  name, t.ok, t.err[RW_E_FORMAT], t.err[RW_E_CORRUPT], t.err[RW_E_UNSUPPORTED], ntrunc, iters);
    assert_true(t.err[RW_E_CORRUPT] > 0);
    free(buf);
    free(data);
}

static void test_robust_helloworld(void **state)
{
    (void)state;
    robustness("HelloWorld.ReadyToRun.dll");
}

static void test_robust_readytoruntest(void **state)
{
    (void)state;
    robustness("ReadyToRunTest.dll");
}

static void test_robust_readytoruntestloop(void **state)
{
    (void)state;
    robustness("ReadyToRunTestLoop.dll");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helloworld),
        cmocka_unit_test(test_readytoruntest),
        cmocka_unit_test(test_readytoruntestloop),
        cmocka_unit_test(test_helper_id),
        cmocka_unit_test(test_scan_finds_nothing),
        cmocka_unit_test(test_native_unsigned),
        cmocka_unit_test(test_patched),
        cmocka_unit_test(test_robust_helloworld),
        cmocka_unit_test(test_robust_readytoruntest),
        cmocka_unit_test(test_robust_readytoruntestloop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

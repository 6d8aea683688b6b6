/* test_pe.c - the PE/COFF back-end's read side (formats/pe*.c):
 *  - PE32+ images built in memory: headers, sections, the import table
 *    (the helper's IAT slot), exports (the helper's own address), .pdata,
 *    DIR64 base relocations and read_pointer; then one malformed variant
 *    per check, each failing with its own message, never crashing;
 *  - COFF objects built in memory: symbols (auxiliary records, long names),
 *    relocations with their implicit addends folded (REL32..REL32_5 to
 *    S + A - P at the field), the helper's symbols, /bigobj, the extended
 *    relocation count; malformed variants;
 *  - programs built from tests/pe/ with mingw and clang (PE_TEST_DIR,
 *    default build/tests/pe; skipped when absent unless PE_TEST_REQUIRE is
 *    set): an EXE and a DLL importing GenericPInvokeCalliHelper from a DLL,
 *    stripped and not, objects, arm64 objects and an arm64 DLL.
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

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* ---- opening bytes ---- */

struct opened {
    uint8_t *copy;
    struct rw_image img;
    struct rw_diag d;
    enum rw_err err;
    int probed;
};

/* Open a private copy of exactly size bytes (ASan sees any overrun). */
static void open_mem(struct opened *o, const uint8_t *data, size_t size)
{
    memset(o, 0, sizeof *o);
    o->copy = malloc(size ? size : 1);
    assert_non_null(o->copy);
    memcpy(o->copy, data, size);
    o->img.path = "test";
    o->img.data = o->copy;
    o->img.size = size;
    o->img.helper_name = "GenericPInvokeCalliHelper";
    o->img.ops = &rw_pe_ops;
    o->probed = rw_pe_ops.probe(o->copy, size);
    o->err = o->probed ? rw_pe_ops.open(&o->img, &o->d) : RW_E_FORMAT;
}

static void close_mem(struct opened *o)
{
    rw_pe_ops.close(&o->img);
    free(o->copy);
}

static void expect_fail(const uint8_t *data, size_t size, enum rw_err err, const char *msg)
{
    struct opened o;
    open_mem(&o, data, size);
    if (o.err != err || !strstr(o.d.msg, msg))
        print_error("expected error %d '%s', got %d '%s'\n", err, msg, o.err, o.d.msg);
    assert_int_equal(o.err, err);
    assert_non_null(strstr(o.d.msg, msg));
    assert_null(strchr(o.d.msg, '\n'));
    close_mem(&o);
}

/* ---- a PE32+ image in memory ----
 * headers: DOS 0x40, "PE" at 0x40, optional header at 0x58 (240 bytes),
 * section headers at 0x148; raw data from 0x400, 0x200-aligned.
 * Sections (RVA): .text 0x1000, .rdata 0x2000, .idata 0x3000, .data 0x4000
 * (virtual 0x2000, raw 0x200: zero-filled tail), .reloc 0x6000. */

#define IB 0x140000000ull
static uint8_t pe[0x2000];
static size_t pe_size;

enum { T_TEXT, T_RDATA, T_IDATA, T_DATA, T_RELOC, T_NSEC };
static const uint32_t sec_va[T_NSEC] = {0x1000, 0x2000, 0x3000, 0x4000, 0x6000};
static const uint32_t sec_vsize[T_NSEC] = {0x100, 0x200, 0x200, 0x2000, 0x100};
static const uint32_t sec_raw[T_NSEC] = {0x400, 0x600, 0x800, 0xA00, 0xC00};
static const char *const sec_name[T_NSEC] = {".text", ".rdata", ".idata", ".data", ".reloc"};
static const uint32_t sec_chars[T_NSEC] = {0x60000020, 0x40000040, 0xC0000040, 0xC0000040, 0x42000040};

static uint8_t *at_rva(uint32_t rva)
{
    for (int i = 0; i < T_NSEC; i++)
        if (rva >= sec_va[i] && rva < sec_va[i] + 0x200)
            return pe + sec_raw[i] + (rva - sec_va[i]);
    fail_msg("bad rva 0x%x", rva);
    return NULL;
}

static void set_dir(int i, uint32_t rva, uint32_t size)
{
    put32(pe + 0x58 + 112 + 8 * i, rva);
    put32(pe + 0x58 + 116 + 8 * i, size);
}

static void build_pe(void)
{
    memset(pe, 0, sizeof pe);
    pe[0] = 'M';
    pe[1] = 'Z';
    put32(pe + 0x3C, 0x40);
    memcpy(pe + 0x40, "PE\0\0", 4);
    uint8_t *fh = pe + 0x44;
    put16(fh, PE_MACHINE_AMD64);
    put16(fh + 2, T_NSEC);
    put16(fh + 16, 240);
    put16(fh + 18, 0x0022); /* EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE */
    uint8_t *oh = pe + 0x58;
    put16(oh, 0x20B);
    put32(oh + 16, 0x1000); /* entry */
    put64(oh + 24, IB);
    put32(oh + 32, 0x1000);
    put32(oh + 36, 0x200);
    put32(oh + 56, 0x7000);
    put32(oh + 60, 0x400);
    put16(oh + 68, 3);
    put16(oh + 70, PE_DLLC_DYNAMIC_BASE | PE_DLLC_NX_COMPAT | PE_DLLC_HIGH_ENTROPY_VA);
    put32(oh + 108, 16);
    for (int i = 0; i < T_NSEC; i++) {
        uint8_t *sh = pe + 0x148 + 40 * i;
        memcpy(sh, sec_name[i], strlen(sec_name[i]));
        put32(sh + 8, sec_vsize[i]);
        put32(sh + 12, sec_va[i]);
        put32(sh + 16, 0x200 < sec_vsize[i] ? 0x200 : sec_vsize[i]);
        put32(sh + 20, sec_raw[i]);
        put32(sh + 36, sec_chars[i]);
    }
    /* .text: two functions, 0x1000 (0x20 bytes) and 0x1040 (exported helper) */
    memset(at_rva(0x1000), 0xC3, 0x100);
    /* .rdata: export directory at 0x2000 exporting GenericPInvokeCalliHelper
     * (0x1040) and a forwarder; .pdata-like exception table at 0x2100 */
    uint8_t *ed = at_rva(0x2000);
    put32(ed + 12, 0x2080); /* name */
    put32(ed + 16, 1);      /* base */
    put32(ed + 20, 2);      /* functions */
    put32(ed + 24, 2);      /* names */
    put32(ed + 28, 0x2040);
    put32(ed + 32, 0x2050);
    put32(ed + 36, 0x2060);
    put32(at_rva(0x2040), 0x1040);
    put32(at_rva(0x2044), 0x2090); /* inside the directory: a forwarder */
    put32(at_rva(0x2050), 0x20A0);
    put32(at_rva(0x2054), 0x20C0);
    put16(at_rva(0x2060), 0);
    put16(at_rva(0x2062), 1);
    strcpy((char *)at_rva(0x2080), "test.exe");
    strcpy((char *)at_rva(0x2090), "other.Fwd");
    strcpy((char *)at_rva(0x20A0), "GenericPInvokeCalliHelper");
    strcpy((char *)at_rva(0x20C0), "Forwarded");
    set_dir(PE_DIR_EXPORT, 0x2000, 0xA0);
    uint8_t *pd = at_rva(0x2100);
    put32(pd, 0x1000);
    put32(pd + 4, 0x1020);
    put32(pd + 8, 0x2180);
    put32(pd + 12, 0x1040);
    put32(pd + 16, 0x1050);
    put32(pd + 20, 0x2180);
    set_dir(PE_DIR_EXCEPTION, 0x2100, 24);
    /* .idata: one descriptor (helper.dll: Other, GenericPInvokeCalliHelper),
     * ILT at 0x3040, IAT at 0x3080, hint/names at 0x30C0 */
    uint8_t *id = at_rva(0x3000);
    put32(id, 0x3040);
    put32(id + 12, 0x3100);
    put32(id + 16, 0x3080);
    put64(at_rva(0x3040), 0x30C0);
    put64(at_rva(0x3048), 0x30D0);
    put64(at_rva(0x3080), 0x30C0);
    put64(at_rva(0x3088), 0x30D0);
    strcpy((char *)at_rva(0x30C2), "Other");
    strcpy((char *)at_rva(0x30D2), "GenericPInvokeCalliHelper");
    strcpy((char *)at_rva(0x3100), "helper.dll");
    set_dir(PE_DIR_IMPORT, 0x3000, 40);
    set_dir(PE_DIR_IAT, 0x3080, 24);
    /* .data: a pointer to .text+0x40 at 0x4010, relocated */
    put64(at_rva(0x4010), IB + 0x1040);
    /* .reloc: one block, DIR64 at 0x4010 and padding */
    uint8_t *rl = at_rva(0x6000);
    put32(rl, 0x4000);
    put32(rl + 4, 12);
    put16(rl + 8, (uint16_t)(PE_REL_BASED_DIR64 << 12 | 0x010));
    put16(rl + 10, 0);
    set_dir(PE_DIR_BASERELOC, 0x6000, 12);
    pe_size = 0xE00;
}

static void test_pe_image(void **state)
{
    (void)state;
    build_pe();
    struct opened o;
    open_mem(&o, pe, pe_size);
    if (o.err)
        print_error("%s\n", o.d.msg);
    assert_int_equal(o.err, RW_OK);
    const struct rw_image *img = &o.img;
    const struct pe_state *st = pe_st(img);
    assert_int_equal(img->format, RW_FMT_PE);
    assert_int_equal(img->kind, RW_KIND_EXEC);
    assert_true(img->pie);
    assert_int_equal(img->machine, RW_MACH_X86_64);
    assert_int_equal(img->abi, CALLI_ABI_WIN_X64);
    assert_int_equal(img->nsec, T_NSEC);
    for (int i = 0; i < T_NSEC; i++) {
        assert_string_equal(img->sec[i].name, sec_name[i]);
        assert_int_equal(img->sec[i].id, i + 1);
        assert_int_equal(img->sec[i].addr, IB + sec_va[i]);
        assert_int_equal(img->sec[i].size, sec_vsize[i]);
        assert_non_null(img->sec[i].data);
    }
    assert_true(img->sec[T_TEXT].flags & RW_SEC_EXEC);
    assert_true(img->sec[T_IDATA].flags & RW_SEC_GOT);
    assert_false(img->sec[T_DATA].flags & RW_SEC_GOT);
    /* .data's zero-filled tail is readable as zeros */
    assert_non_null(rw_section_bytes(img, T_DATA, 0x1FF8, 8));
    assert_int_equal(rw_section_bytes(img, T_DATA, 0x1FF8, 8)[7], 0);
    /* the helper: its IAT slot and its exported address */
    assert_int_equal(img->helper.nslots, 1);
    assert_int_equal(img->helper.slots[0], IB + 0x3088);
    assert_int_equal(img->helper.naddrs, 1);
    assert_int_equal(img->helper.addrs[0], IB + 0x1040);
    assert_int_equal(st->ndlls, 1);
    assert_string_equal(st->dlls[0].name, "helper.dll");
    assert_int_equal(st->nimports, 2);
    assert_int_equal(st->nexports, 1); /* the forwarder is not a symbol */
    /* functions: .pdata ranges, the export's name on the second */
    assert_int_equal(img->nfunc, 2);
    assert_int_equal(img->func[0].start, 0);
    assert_int_equal(img->func[0].end, 0x20);
    assert_int_equal(img->func[1].start, 0x40);
    assert_int_equal(img->func[1].end, 0x100); /* the export's range wins (longest) */
    assert_string_equal(img->func[1].name, "GenericPInvokeCalliHelper");
    /* base relocations and read_pointer */
    assert_int_equal(st->nbaserel, 1);
    const struct rw_reloc *r = rw_reloc_at(img, T_DATA, 0x10);
    assert_non_null(r);
    assert_int_equal(r->raw_type, PE_REL_BASED_DIR64);
    uint64_t v;
    assert_int_equal(rw_pe_ops.read_pointer(img, IB + 0x4010, &v), RW_OK);
    assert_int_equal(v, IB + 0x1040);
    assert_int_equal(rw_pe_ops.read_pointer(img, IB + 0x5000, &v), RW_OK); /* zero fill */
    assert_int_equal(v, 0);
    assert_int_equal(rw_pe_ops.read_pointer(img, IB + 0x3088, &v), RW_E_UNSUPPORTED); /* IAT */
    assert_int_equal(rw_pe_ops.read_pointer(img, IB + 0x8000, &v), RW_E_CORRUPT);
    assert_int_equal(rw_pe_ops.read_pointer(img, IB + 0x60FC, &v), RW_E_CORRUPT); /* runs past */
    assert_string_equal(rw_pe_ops.map_section, ".crwmap");
    /* describe */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    rw_pe_ops.describe(img, m, 0);
    rw_pe_ops.describe(img, m, 1);
    fclose(m);
    assert_non_null(strstr(buf, "ASLR yes"));
    assert_non_null(strstr(buf, "\"dep\":true"));
    assert_non_null(strstr(buf, "\"cfg\":false"));
    assert_non_null(strstr(buf, "\"readytorun\":null"));
    assert_non_null(strstr(buf, "\"name\":\"helper.dll\""));
    free(buf);
    close_mem(&o);

    /* another helper name finds nothing; a DLL is SHARED */
    build_pe();
    put16(pe + 0x44 + 18, 0x2022);
    open_mem(&o, pe, pe_size);
    o.img.helper_name = "Other";
    rw_pe_ops.close(&o.img);
    o.img.ops = &rw_pe_ops;
    o.img.data = o.copy;
    o.img.size = pe_size;
    assert_int_equal(rw_pe_ops.open(&o.img, &o.d), RW_OK);
    assert_int_equal(o.img.kind, RW_KIND_SHARED);
    assert_false(o.img.pie);
    assert_int_equal(o.img.helper.nslots, 1);
    assert_int_equal(o.img.helper.slots[0], IB + 0x3080);
    assert_int_equal(o.img.helper.naddrs, 0);
    close_mem(&o);
}

static void test_pe_malformed(void **state)
{
    (void)state;
    /* the PE header offset past the end: claimed, then a clear error */
    build_pe();
    put32(pe + 0x3C, 0x5000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "PE header offset 0x5000 is past the end");
    build_pe();
    expect_fail(pe, 0x100, RW_E_CORRUPT, "optional header (240 bytes) is past the end");
    build_pe();
    put16(pe + 0x58, 0x10B);
    expect_fail(pe, pe_size, RW_E_UNSUPPORTED, "PE32 (32-bit) image");
    build_pe();
    put16(pe + 0x44, PE_MACHINE_I386);
    expect_fail(pe, pe_size, RW_E_UNSUPPORTED, "i386");
    build_pe();
    put16(pe + 0x44, 0x1234);
    expect_fail(pe, pe_size, RW_E_UNSUPPORTED, "unknown machine 0x1234");
    build_pe();
    put16(pe + 0x44 + 2, 200);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "section table (200 entries)");
    build_pe();
    expect_fail(pe, 0xB00, RW_E_CORRUPT, "section .data: raw data [0xa00, +0x200) is past the end of the file");
    build_pe();
    put32(pe + 0x148 + 40 * T_RDATA + 12, 0x1080); /* .rdata inside .text */
    expect_fail(pe, pe_size, RW_E_CORRUPT, "overlaps");
    build_pe();
    put32(pe + 0x148 + 40 * T_RELOC + 8, 0); /* empty (no raw data either) and before .data's end */
    put32(pe + 0x148 + 40 * T_RELOC + 16, 0);
    put32(pe + 0x148 + 40 * T_RELOC + 12, 0x5000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "section .reloc at RVA 0x5000 overlaps the section before it");
    build_pe();
    put32(pe + 0x148 + 40 * T_RELOC + 8, 0x100000); /* past SizeOfImage */
    expect_fail(pe, pe_size, RW_E_CORRUPT, "ends past SizeOfImage");
    build_pe();
    put32(pe + 0x148 + 40 * T_RELOC + 8, 0xFFFFF000); /* wraps */
    expect_fail(pe, pe_size, RW_E_CORRUPT, "wraps around");
    /* imports */
    build_pe();
    put32(at_rva(0x3000) + 12, 0x9000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "DLL name at RVA 0x9000 is outside the image");
    build_pe();
    put32(at_rva(0x3000), 0x31F8); /* the lookup table's last entry ends .idata */
    put64(at_rva(0x31F8), 0x30C0);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "is not terminated");
    build_pe();
    put64(at_rva(0x3048), 0x7000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "import 1 of helper.dll: name at RVA 0x7002 is outside the image");
    build_pe();
    put32(at_rva(0x3000) + 16, 0x10F8); /* the IAT would run past .text */
    expect_fail(pe, pe_size, RW_E_CORRUPT, "import address table of helper.dll");
    build_pe();
    set_dir(PE_DIR_IMPORT, 0xFFFFFF00, 0x200);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "import directory [0xffffff00, +0x200) wraps around");
    /* exports */
    build_pe();
    put16(at_rva(0x2062), 7);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "ordinal index 7 past 2 functions");
    build_pe();
    put32(at_rva(0x2000) + 24, 0x1000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "export tables (2 functions, 4096 names) are outside the image");
    build_pe();
    put32(at_rva(0x2000) + 24, 0x10000000);
    expect_fail(pe, pe_size, RW_E_UNSUPPORTED, "export table with 268435456 names");
    build_pe();
    put32(at_rva(0x2040), 0x9000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "export GenericPInvokeCalliHelper: RVA 0x9000");
    /* exception directory */
    build_pe();
    set_dir(PE_DIR_EXCEPTION, 0x2100, 0x1000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "exception directory [0x2100, +0x1000) is outside the image");
    /* base relocations */
    build_pe();
    put32(at_rva(0x6004), 6);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "base relocation block at +0x0: bad size 0x6");
    build_pe();
    put32(at_rva(0x6004), 0x100);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "bad size 0x100");
    build_pe();
    put32(at_rva(0x6000), 0x9000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "base relocation at RVA 0x9010 is outside the image's sections");
    build_pe();
    put16(at_rva(0x6008), (uint16_t)(PE_REL_BASED_DIR64 << 12 | 0xFFC)); /* 0x4FFC: inside, but 8 bytes? */
    put32(at_rva(0x6000), 0x5000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "base relocation at RVA 0x5ffc");
    /* CLI header */
    build_pe();
    set_dir(PE_DIR_CLR, 0x9000, 72);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "CLI header at RVA 0x9000 is outside the image");
    build_pe();
    set_dir(PE_DIR_CLR, 0x2180, 72);
    put32(at_rva(0x2180), 40);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "CLI header too short (40 bytes)");
    build_pe();
    set_dir(PE_DIR_CLR, 0x2180, 72);
    put32(at_rva(0x2180), 72);
    put32(at_rva(0x2180) + 64, 0x8000);
    expect_fail(pe, pe_size, RW_E_CORRUPT, "ManagedNativeHeader at RVA 0x8000 is outside the image");
    /* a CLI header whose ManagedNativeHeader is not ReadyToRun: fine, no r2r */
    build_pe();
    set_dir(PE_DIR_CLR, 0x2180, 72);
    put32(at_rva(0x2180), 72);
    put32(at_rva(0x2180) + 64, 0x21D0);
    put32(at_rva(0x2180) + 68, 16);
    struct opened o;
    open_mem(&o, pe, pe_size);
    assert_int_equal(o.err, RW_OK);
    assert_true(pe_st(&o.img)->has_cli);
    assert_null(pe_st(&o.img)->r2r);
    close_mem(&o);
    /* a stale COFF symbol table pointer in an image is ignored */
    build_pe();
    put32(pe + 0x44 + 8, 0xFFFFFF00);
    put32(pe + 0x44 + 12, 100);
    open_mem(&o, pe, pe_size);
    assert_int_equal(o.err, RW_OK);
    assert_true(pe_st(&o.img)->symtab_ignored);
    close_mem(&o);
    /* probing */
    build_pe();
    assert_true(rw_pe_ops.probe(pe, pe_size));
    memcpy(pe + 0x40, "NE\0\0", 4);
    assert_false(rw_pe_ops.probe(pe, pe_size)); /* a DOS/NE program */
    static const uint8_t elf[16] = {0x7F, 'E', 'L', 'F'};
    assert_false(rw_pe_ops.probe(elf, sizeof elf));
    assert_false(rw_pe_ops.probe(pe, 1));
}

/* Truncated and byte-flipped copies of the synthetic image. */
static void test_pe_fuzz(void **state)
{
    (void)state;
    build_pe();
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    unsigned ok = 0, bad = 0;
    for (size_t len = 0; len <= pe_size; len++) {
        struct opened o;
        open_mem(&o, pe, len);
        if (o.err == RW_OK)
            ok++;
        else {
            assert_true(o.err == RW_E_FORMAT || o.err == RW_E_CORRUPT || o.err == RW_E_UNSUPPORTED);
            bad++;
        }
        close_mem(&o);
    }
    static uint8_t buf[sizeof pe];
    for (int it = 0; it < 20000; it++) {
        memcpy(buf, pe, pe_size);
        int n = 1 + it % 3;
        for (int k = 0; k < n; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            size_t pos = (size_t)(rng % pe_size);
            if (it % 2) /* headers, tables */
                pos = (size_t)(rng % 0x400) + (rng >> 60 & 1 ? 0x600 : 0);
            buf[pos] = (uint8_t)(rng >> 32);
        }
        struct opened o;
        open_mem(&o, buf, pe_size);
        if (o.err == RW_OK) {
            ok++;
            FILE *devnull = fopen("/dev/null", "w");
            rw_pe_ops.describe(&o.img, devnull, 1);
            fclose(devnull);
            uint64_t v;
            for (size_t i = 0; i < o.img.nsec; i++)
                rw_pe_ops.read_pointer(&o.img, o.img.sec[i].addr + 8, &v);
        } else {
            assert_true(o.err == RW_E_FORMAT || o.err == RW_E_CORRUPT || o.err == RW_E_UNSUPPORTED);
            assert_true(o.err == RW_E_FORMAT || (o.d.msg[0] && !strchr(o.d.msg, '\n')));
            bad++;
        }
        close_mem(&o);
    }
    print_message("synthetic PE: %u opened, %u rejected\n", ok, bad);
}

/* ---- a COFF object in memory ----
 * .text (0x20 bytes), .data (0x10), .pdata (12); relocations:
 *   .text+0x01 REL32   helper            field 0        -> addend -4
 *   .text+0x07 REL32   __imp_helper      field 0        -> IMPORT32, -4
 *   .text+0x0C REL32_4 data_sym          field 0x10     -> 0x10 - 8
 *   .data+0x00 ADDR64  .text (section)   field 0x1122   -> 0x1122
 *   .pdata+0 / +4 ADDR32NB func          fields 0, 0x18 -> function [0, 0x18)
 * symbols: .text (+1 aux), .data (+1 aux), .pdata (+1 aux), func (FUNCTION,
 * long name via the string table), GenericPInvokeCalliHelper (undefined),
 * __imp_GenericPInvokeCalliHelper (undefined, long name), data_sym. */

static uint8_t obj[0x800];
static size_t obj_size;
static int obj_bigobj;

enum { O_TEXT, O_DATA, O_PDATA, O_NSEC };

static size_t sym_off(unsigned i)
{
    return 0x400 + (size_t)i * (obj_bigobj ? 20 : 18);
}

static void put_sym(unsigned i, const char *name, uint32_t strx, uint32_t value, int32_t sec, uint16_t type,
                    uint8_t sclass, uint8_t naux)
{
    uint8_t *s = obj + sym_off(i);
    if (name)
        memcpy(s, name, strlen(name) < 8 ? strlen(name) : 8);
    else
        put32(s + 4, strx);
    put32(s + 8, value);
    if (obj_bigobj) {
        put32(s + 12, (uint32_t)sec);
        put16(s + 16, type);
        s[18] = sclass;
        s[19] = naux;
    } else {
        put16(s + 12, (uint16_t)sec);
        put16(s + 14, type);
        s[16] = sclass;
        s[17] = naux;
    }
}

static void put_rel(size_t at, uint32_t va, uint32_t sym, uint16_t type)
{
    put32(obj + at, va);
    put32(obj + at + 4, sym);
    put16(obj + at + 8, type);
}

#define NSYMS 10
static void build_obj(int bigobj)
{
    memset(obj, 0, sizeof obj);
    obj_bigobj = bigobj;
    size_t sh;
    if (bigobj) {
        static const uint8_t guid[16] = {0xC7, 0xA1, 0xBA, 0xD1, 0xEE, 0xBA, 0xA9, 0x4B,
                                         0xAF, 0x20, 0xFA, 0xF6, 0x6A, 0xA4, 0xDC, 0xB8};
        put16(obj, 0);
        put16(obj + 2, 0xFFFF);
        put16(obj + 4, 2);
        put16(obj + 6, PE_MACHINE_AMD64);
        memcpy(obj + 12, guid, 16);
        put32(obj + 44, O_NSEC);
        put32(obj + 48, 0x400);
        put32(obj + 52, NSYMS);
        sh = 56;
    } else {
        put16(obj, PE_MACHINE_AMD64);
        put16(obj + 2, O_NSEC);
        put32(obj + 8, 0x400);
        put32(obj + 12, NSYMS);
        sh = 20;
    }
    static const char *names[O_NSEC] = {".text", ".data", ".pdata"};
    static const uint32_t sizes[O_NSEC] = {0x20, 0x10, 12};
    static const uint32_t raws[O_NSEC] = {0x100, 0x140, 0x160};
    static const uint32_t rels[O_NSEC] = {0x200, 0x240, 0x260};
    static const uint16_t nrel[O_NSEC] = {3, 1, 2};
    static const uint32_t chars[O_NSEC] = {0x60500020, 0xC0500040, 0x40300040};
    for (int i = 0; i < O_NSEC; i++) {
        uint8_t *s = obj + sh + 40 * (size_t)i;
        memcpy(s, names[i], strlen(names[i]));
        put32(s + 16, sizes[i]);
        put32(s + 20, raws[i]);
        put32(s + 24, rels[i]);
        put16(s + 32, nrel[i]);
        put32(s + 36, chars[i]);
    }
    /* code: call helper; call [rip+__imp]; mov [rip+x], imm32 (REL32_4) */
    uint8_t *t = obj + 0x100;
    t[0] = 0xE8;
    t[5] = 0xFF;
    t[6] = 0x15;
    t[11] = 0xC7;
    put32(t + 0x0C, 0x10);
    put64(obj + 0x140, 0x1122);
    put32(obj + 0x160 + 4, 0x18);
    put_rel(0x200, 0x01, 7, PE_REL_AMD64_REL32);
    put_rel(0x20A, 0x07, 8, PE_REL_AMD64_REL32);
    put_rel(0x214, 0x0C, 9, PE_REL_AMD64_REL32 + 4);
    put_rel(0x240, 0x00, 0, PE_REL_AMD64_ADDR64);
    put_rel(0x260, 0x00, 6, PE_REL_AMD64_ADDR32NB);
    put_rel(0x26A, 0x04, 6, PE_REL_AMD64_ADDR32NB);
    put_sym(0, ".text", 0, 0, 1, 0, PE_SYM_CLASS_STATIC, 1);
    put_sym(2, ".data", 0, 0, 2, 0, PE_SYM_CLASS_STATIC, 1);
    put_sym(4, ".pdata", 0, 0, 3, 0, PE_SYM_CLASS_STATIC, 1);
    put_sym(6, NULL, 4, 0, 1, 0x20, PE_SYM_CLASS_EXTERNAL, 0); /* "a_long_function_name" */
    put_sym(7, NULL, 25, 0, 0, 0x20, PE_SYM_CLASS_EXTERNAL, 0); /* GenericPInvokeCalliHelper */
    put_sym(8, NULL, 51, 0, 0, 0, PE_SYM_CLASS_EXTERNAL, 0);    /* __imp_GenericPInvokeCalliHelper */
    put_sym(9, "data_sym", 0, 4, 2, 0, PE_SYM_CLASS_STATIC, 0);
    size_t str = sym_off(NSYMS);
    static const char strs[] = "a_long_function_name\0GenericPInvokeCalliHelper\0__imp_GenericPInvokeCalliHelper";
    put32(obj + str, (uint32_t)(4 + sizeof strs));
    memcpy(obj + str + 4, strs, sizeof strs);
    obj_size = str + 4 + sizeof strs;
}

static const struct rw_symbol *sym_named(const struct rw_image *img, const char *name)
{
    for (size_t i = 0; i < img->nsym; i++) /* the defined one */
        if (!strcmp(img->sym[i].name, name) && !(img->sym[i].flags & RW_SYM_UNDEF))
            return &img->sym[i];
    return NULL;
}

static void check_obj(const struct rw_image *img)
{
    assert_int_equal(img->format, RW_FMT_PE);
    assert_int_equal(img->kind, RW_KIND_OBJECT);
    assert_int_equal(img->machine, RW_MACH_X86_64);
    assert_int_equal(img->abi, CALLI_ABI_WIN_X64);
    assert_int_equal(img->nsec, O_NSEC);
    assert_string_equal(img->sec[O_TEXT].name, ".text");
    assert_true(img->sec[O_TEXT].flags & RW_SEC_EXEC);
    assert_int_equal(img->nsym, 7); /* 10 records, 3 of them auxiliary */
    const struct rw_symbol *f = sym_named(img, "a_long_function_name");
    assert_non_null(f);
    assert_true(f->flags & RW_SYM_FUNC);
    assert_true(f->flags & RW_SYM_GLOBAL);
    assert_int_equal(f->id, 6);
    const struct rw_symbol *h = NULL;
    for (size_t i = 0; i < img->nsym; i++)
        if (!strcmp(img->sym[i].name, "GenericPInvokeCalliHelper"))
            h = &img->sym[i];
    assert_non_null(h);
    assert_true(h->flags & RW_SYM_UNDEF);
    assert_int_equal(img->helper.nsyms, 1);
    assert_ptr_equal(&img->sym[img->helper.syms[0]], h);
    assert_int_equal(img->helper.nimp_syms, 1);
    assert_string_equal(img->sym[img->helper.imp_syms[0]].name, "__imp_GenericPInvokeCalliHelper");
    assert_int_equal(img->nrel, 6);
    const struct rw_reloc *r = rw_reloc_at(img, O_TEXT, 1);
    assert_non_null(r);
    assert_int_equal(r->kind, RW_R_X86_PCREL32);
    assert_int_equal(r->addend, -4);
    assert_ptr_equal(&img->sym[r->symbol], h);
    r = rw_reloc_at(img, O_TEXT, 7);
    assert_non_null(r);
    assert_int_equal(r->kind, RW_R_X86_IMPORT32);
    assert_int_equal(r->addend, -4);
    r = rw_reloc_at(img, O_TEXT, 0x0C);
    assert_non_null(r);
    assert_int_equal(r->kind, RW_R_X86_PCREL32);
    assert_int_equal(r->raw_type, PE_REL_AMD64_REL32 + 4);
    assert_int_equal(r->addend, 0x10 - 4 - 4);
    r = rw_reloc_at(img, O_DATA, 0);
    assert_non_null(r);
    assert_int_equal(r->kind, RW_R_ABS64);
    assert_int_equal(r->addend, 0x1122);
    assert_string_equal(img->sym[r->symbol].name, ".text");
    /* functions: the symbol's and .pdata's ranges, merged */
    const struct rw_func *fn = rw_func_at(img, O_TEXT, 0x10);
    assert_non_null(fn);
    assert_int_equal(fn->start, 0);
    assert_string_equal(fn->name, "a_long_function_name");
    uint64_t v;
    assert_int_equal(rw_pe_ops.read_pointer(img, 0, &v), RW_E_UNSUPPORTED);
}

static void test_coff_object(void **state)
{
    (void)state;
    for (int big = 0; big < 2; big++) {
        build_obj(big);
        struct opened o;
        open_mem(&o, obj, obj_size);
        if (o.err)
            print_error("%s\n", o.d.msg);
        assert_int_equal(o.err, RW_OK);
        check_obj(&o.img);
        assert_int_equal(pe_st(&o.img)->bigobj, big);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        rw_pe_ops.describe(&o.img, m, 1);
        fclose(m);
        assert_non_null(strstr(buf, "\"kind\":\"object\""));
        assert_non_null(strstr(buf, "\"helper_import_symbols\":[\"__imp_GenericPInvokeCalliHelper\"]"));
        free(buf);
        close_mem(&o);
    }
    /* the extended relocation count (IMAGE_SCN_LNK_NRELOC_OVFL) */
    build_obj(0);
    uint8_t *s = obj + 20 + 40 * O_TEXT;
    put32(s + 36, 0x60500020 | PE_SCN_LNK_NRELOC_OVFL);
    put16(s + 32, 0xFFFF);
    put32(s + 24, 0x1F6); /* one record earlier: the count */
    put_rel(0x1F6, 4, 0, 0);
    struct opened o;
    open_mem(&o, obj, obj_size);
    assert_int_equal(o.err, RW_OK);
    check_obj(&o.img);
    close_mem(&o);
    /* a long section name */
    build_obj(0);
    memcpy(obj + 20 + 40 * O_DATA, "/4\0\0\0\0\0\0", 8);
    open_mem(&o, obj, obj_size);
    assert_int_equal(o.err, RW_OK);
    assert_string_equal(o.img.sec[O_DATA].name, "a_long_function_name");
    close_mem(&o);
}

static void test_coff_malformed(void **state)
{
    (void)state;
    build_obj(0);
    put32(obj + 0x200 + 4, 1); /* the aux record of .text */
    expect_fail(obj, obj_size, RW_E_CORRUPT, "relocation 0 names symbol 1, not in the table");
    build_obj(0);
    put32(obj + 0x200 + 4, 1000);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "names symbol 1000");
    build_obj(0);
    put32(obj + 0x200, 0x1E);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "relocation 0 at 0x1e runs past the section");
    build_obj(0);
    put32(obj + 0x200, 0x40);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "relocation 0 at 0x40 is outside the section");
    build_obj(0);
    obj[sym_off(9) + 17] = 5; /* aux records past the table */
    expect_fail(obj, obj_size, RW_E_CORRUPT, "symbol 9: 5 auxiliary records run past the table");
    build_obj(0);
    put32(obj + sym_off(7) + 4, 500);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "symbol 7: name is not in the string table");
    build_obj(0);
    put16(obj + sym_off(9) + 12, 9);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "symbol 9: section number 9 past 3 sections");
    build_obj(0);
    put32(obj + sym_off(9) + 8, 0x100);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "symbol 9: value 0x100 past the end of its section");
    build_obj(0);
    put32(obj + 20 + 40 * O_DATA + 20, 0x7F0);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "section .data: raw data [0x7f0, +0x10) is past the end");
    build_obj(0);
    put32(obj + 20 + 40 * O_DATA + 24, 0x7FA);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "section .data: relocations at 0x7fa");
    build_obj(0);
    put16(obj + 20 + 40 * O_PDATA + 32, 200);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "section .pdata: 200 relocations run past the end of the file");
    build_obj(0);
    put32(obj + sym_off(NSYMS), 0x7000);
    expect_fail(obj, obj_size, RW_E_CORRUPT, "string table (0x7000 bytes) is past the end");
    build_obj(0);
    expect_fail(obj, sym_off(NSYMS) + 2, RW_E_CORRUPT, "string table size is cut short");
    /* probing: not claimed */
    build_obj(0);
    put16(obj + 16, 240); /* an optional header: not an object */
    assert_false(rw_pe_ops.probe(obj, obj_size));
    build_obj(0);
    put32(obj + 12, 0x1000000); /* symbols past the end */
    assert_false(rw_pe_ops.probe(obj, obj_size));
    build_obj(0);
    put16(obj, 0x14C);
    assert_false(rw_pe_ops.probe(obj, obj_size));
    build_obj(1);
    obj[20] ^= 1; /* not the /bigobj GUID */
    assert_false(rw_pe_ops.probe(obj, obj_size));
    /* a short import library member: claimed, then refused plainly */
    static uint8_t imp[40] = {0, 0, 0xFF, 0xFF, 0, 0, 0x64, 0x86};
    expect_fail(imp, sizeof imp, RW_E_UNSUPPORTED, "short import library member");
    /* fuzz */
    build_obj(0);
    uint64_t rng = 0x1234567887654321ull;
    static uint8_t buf[sizeof obj];
    for (int it = 0; it < 20000; it++) {
        memcpy(buf, obj, obj_size);
        for (int k = 0; k < 1 + it % 3; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[(rng >> 8) % obj_size] = (uint8_t)rng;
        }
        struct opened o;
        open_mem(&o, buf, (it & 7) ? obj_size : (size_t)(rng % obj_size));
        if (o.err == RW_OK) {
            FILE *devnull = fopen("/dev/null", "w");
            rw_pe_ops.describe(&o.img, devnull, 0);
            fclose(devnull);
            struct rw_scan sc;
            struct rw_diag d = {0};
            if (rw_scan_image(&o.img, &sc, &d) == RW_OK)
                rw_scan_free(&sc);
        } else {
            assert_true(o.err == RW_E_FORMAT || o.err == RW_E_CORRUPT || o.err == RW_E_UNSUPPORTED);
            assert_true(o.err == RW_E_FORMAT || (o.d.msg[0] && !strchr(o.d.msg, '\n')));
        }
        close_mem(&o);
    }
}

/* ---- programs built by tests/pe/rules.mk ---- */

static const char *pe_dir(void)
{
    const char *d = getenv("PE_TEST_DIR");
    return d && *d ? d : "build/tests/pe";
}

/* Open a built input; 0 when it is absent (the test is then skipped). */
static int open_built(struct opened *o, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", pe_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (getenv("PE_TEST_REQUIRE"))
            fail_msg("missing %s (build it with make check-pe)", path);
        return 0;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    open_mem(o, p, (size_t)n);
    free(p);
    if (o->err)
        print_error("%s: %s\n", name, o->d.msg);
    assert_int_equal(o->err, RW_OK);
    return 1;
}

/* The helper's IAT slot is in the IAT of helper.dll's descriptor. */
static void check_iat_slot(const struct rw_image *img)
{
    const struct pe_state *st = pe_st(img);
    assert_int_equal(img->helper.nslots, 1);
    int found = 0;
    for (size_t i = 0; i < st->ndlls; i++)
        if (!strcmp(st->dlls[i].name, "helper.dll")) {
            assert_int_equal(img->helper.slots[0], st->image_base + st->dlls[i].iat_rva);
            found = 1;
        }
    assert_true(found);
    uint64_t v;
    assert_int_equal(rw_pe_ops.read_pointer(img, img->helper.slots[0], &v), RW_E_UNSUPPORTED);
}

static void test_mingw_exe(void **state)
{
    (void)state;
    struct opened o;
    if (!open_built(&o, "main.exe")) {
        skip();
        return;
    }
    assert_int_equal(o.img.kind, RW_KIND_EXEC);
    check_iat_slot(&o.img);
    /* the COFF symbol table names the import thunk and the IAT slot */
    assert_int_equal(o.img.helper.naddrs, 1);
    const struct rw_symbol *thunk = sym_named(&o.img, "GenericPInvokeCalliHelper");
    const struct rw_symbol *imp = sym_named(&o.img, "__imp_GenericPInvokeCalliHelper");
    assert_non_null(thunk);
    assert_non_null(imp);
    assert_int_equal(o.img.helper.addrs[0], thunk->value);
    assert_int_equal(o.img.helper.slots[0], imp->value);
    const uint8_t *code = rw_section_bytes(&o.img, thunk->section, thunk->value - o.img.sec[thunk->section].addr, 6);
    assert_non_null(code);
    assert_int_equal(code[0], 0xFF); /* jmp [rip+slot] */
    assert_int_equal(code[1], 0x25);
    int32_t disp = (int32_t)pe_u32(code + 2);
    assert_int_equal(thunk->value + 6 + (uint64_t)(int64_t)disp, imp->value);
    close_mem(&o);

    /* both sites: through the IAT slot, and through the import thunk,
     * which the COFF symbol table names GenericPInvokeCalliHelper */
    struct rw_scan sc, sc2;
    struct rw_diag d = {0};
    assert_true(open_built(&o, "main.exe"));
    assert_int_equal(rw_scan_image(&o.img, &sc, &d), RW_OK);
    close_mem(&o);
    assert_int_equal(sc.nsites, 2);
    assert_int_equal(sc.nok, 2);

    if (!open_built(&o, "main-stripped.exe")) {
        rw_scan_free(&sc);
        return;
    }
    check_iat_slot(&o.img);
    assert_int_equal(o.img.helper.naddrs, 0);
    assert_null(pe_st(&o.img)->symtab);
    /* stripped: the thunk is found by what it does (a jump through the
     * helper's slot that begins its basic block: docs/scan.md), so the
     * call to it is still a site, at the same address */
    assert_int_equal(rw_scan_image(&o.img, &sc2, &d), RW_OK);
    assert_int_equal(sc2.nsites, 2);
    assert_int_equal(sc2.nok, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(sc2.sites[i].addr, sc.sites[i].addr);
        assert_int_equal(sc2.sites[i].form, sc.sites[i].form);
    }
    rw_scan_free(&sc);
    rw_scan_free(&sc2);
    close_mem(&o);
}

static void test_mingw_dll(void **state)
{
    (void)state;
    struct opened o;
    if (!open_built(&o, "sites.dll")) {
        skip();
        return;
    }
    assert_int_equal(o.img.kind, RW_KIND_SHARED);
    check_iat_slot(&o.img);
    assert_non_null(sym_named(&o.img, "site_imp"));
    close_mem(&o);
    /* the helper delay-loaded (lld-link /delayload): the delay IAT's slot */
    assert_true(open_built(&o, "sites-delay.dll"));
    assert_int_equal(pe_st(&o.img)->ndlls, 1);
    assert_true(pe_st(&o.img)->dlls[0].delay);
    check_iat_slot(&o.img);
    close_mem(&o);
    /* the DLL that exports the helper: its address, no slot */
    assert_true(open_built(&o, "helper.dll"));
    assert_int_equal(o.img.helper.nslots, 0);
    assert_true(o.img.helper.naddrs >= 1);
    close_mem(&o);
    /* a program without the helper */
    assert_true(open_built(&o, "plain.exe"));
    assert_int_equal(o.img.helper.nslots, 0);
    assert_int_equal(o.img.helper.naddrs, 0);
    close_mem(&o);
}

static void test_mingw_objects(void **state)
{
    (void)state;
    static const char *names[2] = {"sites.o", "sites-bigobj.o"};
    for (int i = 0; i < 2; i++) {
        struct opened o;
        if (!open_built(&o, names[i])) {
            skip();
            return;
        }
        assert_int_equal(o.img.kind, RW_KIND_OBJECT);
        assert_int_equal(pe_st(&o.img)->bigobj, i);
        assert_int_equal(o.img.helper.nsyms, 1);
        assert_int_equal(o.img.helper.nimp_syms, 1);
        /* call *__imp_...(%rip) at .text: its REL32 is IMPORT32, -4 */
        size_t nimp = 0, ndirect = 0;
        for (size_t k = 0; k < o.img.nrel; k++) {
            const struct rw_reloc *r = &o.img.rel[k];
            if (r->symbol == o.img.helper.imp_syms[0]) {
                assert_int_equal(r->kind, RW_R_X86_IMPORT32);
                assert_int_equal(r->addend, -4);
                nimp++;
            }
            if (r->symbol == o.img.helper.syms[0]) {
                assert_int_equal(r->kind, RW_R_X86_PCREL32);
                assert_int_equal(r->addend, -4);
                ndirect++;
            }
        }
        assert_int_equal(nimp, 1);
        assert_int_equal(ndirect, 1);
        /* the scanner finds both sites, both rewritable */
        struct rw_scan sc;
        struct rw_diag d = {0};
        assert_int_equal(rw_scan_image(&o.img, &sc, &d), RW_OK);
        assert_int_equal(sc.nsites, 2);
        assert_int_equal(sc.nok, 2);
        rw_scan_free(&sc);
        close_mem(&o);
    }
}

static void test_arm64(void **state)
{
    (void)state;
    struct opened o;
    if (!open_built(&o, "sites_a64.obj")) {
        skip();
        return;
    }
    assert_int_equal(o.img.machine, RW_MACH_AARCH64);
    assert_int_equal(o.img.abi, CALLI_ABI_AAPCS64);
    assert_int_equal(o.img.helper.nsyms, 1);
    int call26 = 0;
    for (size_t k = 0; k < o.img.nrel; k++)
        if (o.img.rel[k].symbol == o.img.helper.syms[0]) {
            assert_int_equal(o.img.rel[k].kind, RW_R_A64_CALL26);
            assert_int_equal(o.img.rel[k].addend, 0);
            call26++;
        }
    assert_int_equal(call26, 1);
    close_mem(&o);

    assert_true(open_built(&o, "sites_a64_imp.obj"));
    assert_int_equal(o.img.helper.nimp_syms, 1);
    int page = 0, lo12 = 0;
    for (size_t k = 0; k < o.img.nrel; k++)
        if (o.img.rel[k].symbol == o.img.helper.imp_syms[0]) {
            page += o.img.rel[k].kind == RW_R_A64_PAGE21;
            lo12 += o.img.rel[k].kind == RW_R_A64_LO12;
        }
    assert_int_equal(page, 1);
    assert_int_equal(lo12, 1);
    close_mem(&o);

    assert_true(open_built(&o, "sites_a64.dll"));
    assert_int_equal(o.img.machine, RW_MACH_AARCH64);
    assert_int_equal(o.img.kind, RW_KIND_SHARED);
    check_iat_slot(&o.img);
    assert_true(o.img.nfunc >= 1); /* from the arm64 .pdata (packed unwind data) */
    assert_string_equal(o.img.func[0].name, "calls_helper");
    close_mem(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pe_image),
        cmocka_unit_test(test_pe_malformed),
        cmocka_unit_test(test_pe_fuzz),
        cmocka_unit_test(test_coff_object),
        cmocka_unit_test(test_coff_malformed),
        cmocka_unit_test(test_mingw_exe),
        cmocka_unit_test(test_mingw_dll),
        cmocka_unit_test(test_mingw_objects),
        cmocka_unit_test(test_arm64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

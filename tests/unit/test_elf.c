/* test_elf.c - the ELF back-end's read side on ELF files built in memory:
 * a valid relocatable object (sections, symbols, relocation kinds and
 * addends, the helper's symbols, IBT, the rewrite-map marker, an arm64
 * object) and one malformed variant per check (each must fail with its own
 * precise message, never crash). */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"
#include "scan.h"

/* ---- a tiny ELF64 writer ---- */

struct tsec {
    const char *name;
    uint32_t type;
    uint64_t flags;
    const void *data;
    size_t size;
    uint32_t link, info;
    uint64_t entsize;
};

static uint8_t file[16384] __attribute__((aligned(16)));
static size_t file_size;

/* Sections 1..n are secs[], section n+1 is .shstrtab. */
static void build(const struct tsec *secs, int n, uint16_t type, uint16_t machine)
{
    memset(file, 0, sizeof file);
    size_t pos = 64;
    Elf64_Shdr sh[32];
    memset(sh, 0, sizeof sh);
    char names[512];
    size_t nlen = 1;
    names[0] = 0;
    for (int i = 0; i <= n; i++) {
        const char *nm = i < n ? secs[i].name : ".shstrtab";
        size_t l = strlen(nm) + 1;
        memcpy(names + nlen, nm, l);
        sh[i + 1].sh_name = (uint32_t)nlen;
        nlen += l;
    }
    for (int i = 0; i < n; i++) {
        pos = (pos + 7) & ~(size_t)7;
        Elf64_Shdr *s = &sh[i + 1];
        s->sh_type = secs[i].type;
        s->sh_flags = secs[i].flags;
        s->sh_offset = pos;
        s->sh_size = secs[i].size;
        s->sh_link = secs[i].link;
        s->sh_info = secs[i].info;
        s->sh_entsize = secs[i].entsize;
        s->sh_addralign = 8;
        if (secs[i].type != SHT_NOBITS) {
            memcpy(file + pos, secs[i].data, secs[i].size);
            pos += secs[i].size;
        }
    }
    Elf64_Shdr *ss = &sh[n + 1];
    ss->sh_type = SHT_STRTAB;
    ss->sh_offset = pos;
    ss->sh_size = nlen;
    ss->sh_addralign = 1;
    memcpy(file + pos, names, nlen);
    pos = (pos + nlen + 7) & ~(size_t)7;
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof eh);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = 64;
    eh.e_shentsize = 64;
    eh.e_shnum = (uint16_t)(n + 2);
    eh.e_shstrndx = (uint16_t)(n + 1);
    eh.e_shoff = pos;
    memcpy(file, &eh, sizeof eh);
    memcpy(file + pos, sh, (size_t)(n + 2) * sizeof(Elf64_Shdr));
    file_size = pos + (size_t)(n + 2) * sizeof(Elf64_Shdr);
}

static Elf64_Ehdr *ehdr(void)
{
    return (Elf64_Ehdr *)file;
}

static Elf64_Shdr *shdr(int i)
{
    return (Elf64_Shdr *)(file + ehdr()->e_shoff) + i;
}

/* The standard object: .text with a call, a lea and a GOT call; .data with
 * a cookie; symbols; relocations of every x86 kind we normalise. */
static uint8_t text[64];
static uint8_t data[64];
static Elf64_Sym syms[6];
static char strtab[] = "\0GenericPInvokeCalliHelper\0ck\0f\0";
static Elf64_Rela relas[7];
static uint8_t note[32];

static int std_nsec;

static void build_std(uint16_t machine)
{
    memset(text, 0x90, sizeof text);
    memset(data, 0, sizeof data);
    /* symbols: 1 helper (undef), 2 ck (.data), 3 f (func in .text), 4 section .data */
    memset(syms, 0, sizeof syms);
    syms[1].st_name = 1;
    syms[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
    syms[2].st_name = 27;
    syms[2].st_info = ELF64_ST_INFO(STB_LOCAL, STT_OBJECT);
    syms[2].st_shndx = 2;
    syms[2].st_value = 8;
    syms[3].st_name = 30;
    syms[3].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    syms[3].st_shndx = 1;
    syms[3].st_size = 32;
    syms[4].st_info = ELF64_ST_INFO(STB_LOCAL, STT_SECTION);
    syms[4].st_shndx = 2;
    static const struct {
        uint64_t off;
        uint32_t sym, type;
        int64_t addend;
    } r[7] = {
        {1, 1, R_X86_64_PLT32, -4},        {8, 2, R_X86_64_PC32, -4},
        {14, 1, R_X86_64_GOTPCRELX, -4},   {20, 4, R_X86_64_32, 8},
        {24, 4, R_X86_64_32S, 16},         {32, 1, R_X86_64_REX_GOTPCRELX, -4},
        {40, 4, R_X86_64_64, 24},
    };
    for (int i = 0; i < 7; i++) {
        relas[i].r_offset = r[i].off;
        relas[i].r_info = ELF64_R_INFO(r[i].sym, r[i].type);
        relas[i].r_addend = r[i].addend;
    }
    /* .note.gnu.property: GNU, type 5, X86_FEATURE_1_AND = IBT */
    static const uint32_t n[] = {4, 16, 5, 0x00554e47, 0xc0000002, 4, 1, 0};
    memcpy(note, n, sizeof n);
    struct tsec s[] = {
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof text, 0, 0, 0},
        {".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, data, sizeof data, 0, 0, 0},
        {".symtab", SHT_SYMTAB, 0, syms, sizeof syms, 4, 4, sizeof(Elf64_Sym)},
        {".strtab", SHT_STRTAB, 0, strtab, sizeof strtab, 0, 0, 0},
        {".rela.text", SHT_RELA, SHF_INFO_LINK, relas, sizeof relas, 3, 1, sizeof(Elf64_Rela)},
        {".note.gnu.property", SHT_NOTE, SHF_ALLOC, note, sizeof note, 0, 0, 0},
    };
    std_nsec = 6;
    build(s, 6, ET_REL, machine);
}

/* ---- opening ---- */

struct opened {
    struct rw_image img;
    uint8_t *copy;
    struct rw_diag d;
    enum rw_err e;
};

static void open_file(struct opened *o)
{
    memset(o, 0, sizeof *o);
    o->copy = malloc(file_size); /* exactly the file: ASan sees any overread */
    assert_non_null(o->copy);
    memcpy(o->copy, file, file_size);
    o->img.path = "test.o";
    o->img.data = o->copy;
    o->img.size = file_size;
    o->img.helper_name = "GenericPInvokeCalliHelper";
    o->img.ops = &rw_elf_ops;
    o->e = rw_elf_ops.probe(o->copy, file_size) ? rw_elf_ops.open(&o->img, &o->d) : RW_E_FORMAT;
}

static void close_file(struct opened *o)
{
    rw_elf_ops.close(&o->img);
    free(o->copy);
}

/* Open and expect an error whose message contains want. */
static void expect_fail(enum rw_err err, const char *want)
{
    struct opened o;
    open_file(&o);
    if (o.e != err || !strstr(o.d.msg, want))
        fail_msg("expected error %d containing '%s', got %d: '%s'", err, want, o.e, o.d.msg);
    assert_null(strchr(o.d.msg, '\n'));
    close_file(&o);
}

static void test_valid_object(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    struct opened o;
    open_file(&o);
    assert_int_equal(o.e, RW_OK);
    const struct rw_image *img = &o.img;
    assert_int_equal(img->format, RW_FMT_ELF);
    assert_int_equal(img->machine, RW_MACH_X86_64);
    assert_int_equal(img->kind, RW_KIND_OBJECT);
    assert_int_equal(img->abi, CALLI_ABI_SYSV_X64);
    assert_int_equal(img->nsec, (size_t)std_nsec + 1);
    assert_string_equal(img->sec[0].name, ".text");
    assert_int_equal(img->sec[0].flags, RW_SEC_ALLOC | RW_SEC_EXEC);
    assert_int_equal(img->sec[1].flags, RW_SEC_ALLOC | RW_SEC_WRITE);
    assert_ptr_equal(img->sec[0].data, o.copy + shdr(1)->sh_offset);
    assert_int_equal(img->ibt, 1);
    assert_int_equal(img->rewritten, 0);
    /* symbols: .symtab entries 1..5 */
    assert_int_equal(img->nsym, 5);
    assert_string_equal(img->sym[0].name, "GenericPInvokeCalliHelper");
    assert_true(img->sym[0].flags & RW_SYM_UNDEF);
    assert_int_equal(img->sym[0].section, RW_NONE);
    assert_int_equal(img->sym[1].section, 1);
    assert_int_equal(img->sym[1].value, 8);
    assert_string_equal(img->sym[3].name, ".data"); /* section symbol */
    assert_int_equal(img->helper.nsyms, 1);
    assert_int_equal(img->helper.syms[0], 0);
    /* functions from FUNC symbols */
    assert_int_equal(img->nfunc, 1);
    assert_string_equal(img->func[0].name, "f");
    assert_int_equal(img->func[0].end, 32);
    /* relocations, sorted, normalised */
    static const uint32_t kinds[7] = {RW_R_X86_BRANCH32, RW_R_X86_PCREL32, RW_R_X86_GOTPCREL32,
                                      RW_R_X86_ABS32, RW_R_X86_ABS32S, RW_R_X86_GOTPCREL32,
                                      RW_R_ABS64};
    assert_int_equal(img->nrel, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(img->rel[i].section, 0);
        assert_int_equal(img->rel[i].kind, kinds[i]);
        assert_int_equal(img->rel[i].offset, relas[i].r_offset);
        assert_int_equal(img->rel[i].addend, relas[i].r_addend);
    }
    assert_int_equal(img->rel[0].symbol, 0);
    assert_int_equal(img->rel[3].symbol, 3);
    assert_non_null(rw_reloc_at(img, 0, 14));
    assert_null(rw_reloc_at(img, 0, 15));
    uint64_t v;
    assert_int_equal(rw_elf_ops.read_pointer(img, 0, &v), RW_E_UNSUPPORTED); /* object */
    close_file(&o);
}

static void test_arm64_model(void **state)
{
    (void)state;
    build_std(EM_AARCH64);
    struct opened o;
    open_file(&o);
    assert_int_equal(o.e, RW_OK);
    assert_int_equal(o.img.machine, RW_MACH_AARCH64);
    assert_int_equal(o.img.abi, CALLI_ABI_AAPCS64);
    assert_int_equal(o.img.ibt, 0); /* an x86 property on arm64 means nothing */
    struct rw_scan sc;
    struct rw_diag d = {0};
    assert_int_equal(rw_scan_image(&o.img, &sc, &d), RW_OK); /* arm64 scans (scan_aarch64.c) */
    rw_scan_free(&sc);
    close_file(&o);
}

static void test_rewritten_marker(void **state)
{
    (void)state;
    uint8_t m[8] = "CRWMAP";
    struct tsec s[] = {
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof text, 0, 0, 0},
        {".callirw.map", SHT_PROGBITS, SHF_ALLOC, m, sizeof m, 0, 0, 0},
    };
    build(s, 2, ET_REL, EM_X86_64);
    struct opened o;
    open_file(&o);
    assert_int_equal(o.e, RW_OK);
    assert_int_equal(o.img.rewritten, 1);
    assert_int_equal(o.img.nsym, 0);
    close_file(&o);
}

static void test_ident(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    size_t keep = file_size;
    file_size = 40;
    expect_fail(RW_E_CORRUPT, "truncated ELF header");
    file_size = keep;
    file[EI_CLASS] = ELFCLASS32;
    expect_fail(RW_E_UNSUPPORTED, "32-bit ELF");
    file[EI_CLASS] = 7;
    expect_fail(RW_E_CORRUPT, "bad ELF class 7");
    file[EI_CLASS] = ELFCLASS64;
    file[EI_DATA] = ELFDATA2MSB;
    expect_fail(RW_E_UNSUPPORTED, "big-endian");
    file[EI_DATA] = ELFDATA2LSB;
    file[EI_VERSION] = 9;
    expect_fail(RW_E_CORRUPT, "bad ELF version 9");
}

static void test_header_fields(void **state)
{
    (void)state;
    build_std(EM_386);
    expect_fail(RW_E_UNSUPPORTED, "wrong machine: e_machine 3 (i386)");
    build_std(EM_X86_64);
    ehdr()->e_type = ET_CORE;
    expect_fail(RW_E_UNSUPPORTED, "core dumps");
    build_std(EM_X86_64);
    ehdr()->e_shoff = file_size - 10;
    expect_fail(RW_E_CORRUPT, "section header table at");
    build_std(EM_X86_64);
    ehdr()->e_shnum = 200;
    expect_fail(RW_E_CORRUPT, "");
    build_std(EM_X86_64);
    ehdr()->e_shentsize = 40;
    expect_fail(RW_E_CORRUPT, "bad e_shentsize 40");
    build_std(EM_X86_64);
    ehdr()->e_shoff = 0;
    expect_fail(RW_E_UNSUPPORTED, "no section headers");
    build_std(EM_X86_64);
    ehdr()->e_shstrndx = 3; /* .symtab */
    expect_fail(RW_E_CORRUPT, "is not a string table");
    build_std(EM_X86_64);
    ehdr()->e_phnum = 3; /* no table: phoff 0, phentsize 0 */
    expect_fail(RW_E_CORRUPT, "bad e_phentsize");
}

static void test_section_checks(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    shdr(1)->sh_offset = file_size - 8;
    expect_fail(RW_E_CORRUPT, "section .text (offset");
    build_std(EM_X86_64);
    shdr(1)->sh_size = UINT64_MAX - 4;
    expect_fail(RW_E_CORRUPT, "runs past the end of the file");
    build_std(EM_X86_64);
    shdr(2)->sh_offset = shdr(1)->sh_offset + 8;
    expect_fail(RW_E_CORRUPT, "overlap in the file");
    build_std(EM_X86_64);
    shdr(1)->sh_offset = 16;
    expect_fail(RW_E_CORRUPT, "the ELF header and .text overlap");
    build_std(EM_X86_64);
    shdr(3)->sh_link = 99;
    expect_fail(RW_E_CORRUPT, "section .symtab: sh_link 99 out of range");
    build_std(EM_X86_64);
    shdr(3)->sh_link = 1;
    expect_fail(RW_E_CORRUPT, "section .symtab: sh_link 1 is not a string table");
    build_std(EM_X86_64);
    shdr(5)->sh_info = 77;
    expect_fail(RW_E_CORRUPT, "section .rela.text: sh_info 77 out of range");
    build_std(EM_X86_64);
    shdr(3)->sh_entsize = 16;
    expect_fail(RW_E_CORRUPT, "section .symtab: entry size 16 (expected 24)");
    build_std(EM_X86_64);
    shdr(5)->sh_size -= 5;
    expect_fail(RW_E_CORRUPT, "is not a multiple of its entry size");
    build_std(EM_X86_64);
    shdr(2)->sh_name = 60000;
    expect_fail(RW_E_CORRUPT, "section [2]: name offset 0xea60");
}

static void test_symbol_and_reloc_checks(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    Elf64_Sym *sy = (Elf64_Sym *)(file + shdr(3)->sh_offset);
    sy[2].st_shndx = 40;
    expect_fail(RW_E_CORRUPT, "symbol 2 in .symtab: section index 40 out of range");
    build_std(EM_X86_64);
    sy = (Elf64_Sym *)(file + shdr(3)->sh_offset);
    sy[2].st_name = 5000;
    expect_fail(RW_E_CORRUPT, "symbol 2 in .symtab: name offset 0x1388");
    build_std(EM_X86_64);
    sy = (Elf64_Sym *)(file + shdr(3)->sh_offset);
    sy[2].st_shndx = SHN_XINDEX;
    expect_fail(RW_E_CORRUPT, "SHN_XINDEX without a SYMTAB_SHNDX");
    build_std(EM_X86_64);
    Elf64_Rela *r = (Elf64_Rela *)(file + shdr(5)->sh_offset);
    r[3].r_info = ELF64_R_INFO(9, R_X86_64_32);
    expect_fail(RW_E_CORRUPT, "relocation 3 in .rela.text: symbol index 9 out of range");
    build_std(EM_X86_64);
    r = (Elf64_Rela *)(file + shdr(5)->sh_offset);
    r[6].r_offset = 60; /* an 8-byte field at 60 of a 64-byte section */
    expect_fail(RW_E_CORRUPT, "relocation 6 in .rela.text: offset 0x3c is past the end of .text");
    build_std(EM_X86_64);
    shdr(5)->sh_link = 4;
    expect_fail(RW_E_CORRUPT, "sh_link 4 is not a symbol table");
}

/* A malformed note or .eh_frame never crashes; a bad .eh_frame length is
 * reported. */
static void test_notes_and_ehframe(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    uint32_t *n = (uint32_t *)(file + shdr(6)->sh_offset);
    n[1] = 0xfffffff0u; /* descsz past the section */
    struct opened o;
    open_file(&o);
    assert_int_equal(o.e, RW_OK);
    assert_int_equal(o.img.ibt, 0);
    close_file(&o);

    uint8_t eh[32] = {0};
    uint32_t len = 0x100; /* runs past the 32-byte section */
    memcpy(eh, &len, 4);
    struct tsec s[] = {
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof text, 0, 0, 0},
        {".eh_frame", SHT_PROGBITS, SHF_ALLOC, eh, sizeof eh, 0, 0, 0},
    };
    build(s, 2, ET_REL, EM_X86_64);
    expect_fail(RW_E_CORRUPT, ".eh_frame: entry at 0x0 (length 0x100) runs past the end");
    /* a CIE, then an FDE pointing 4 bytes before the section */
    static const uint8_t eh2[40] = {
        16, 0, 0, 0,  0, 0, 0, 0,  1, 'z', 'R', 0,  1, 0x78, 0x10, 1,  0x1b, 0, 0, 0, /* CIE */
        12, 0, 0, 0,  100, 0, 0, 0, /* FDE: CIE pointer 100 back from offset 24 */
    };
    struct tsec s2[] = {
        {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text, sizeof text, 0, 0, 0},
        {".eh_frame", SHT_PROGBITS, SHF_ALLOC, eh2, sizeof eh2, 0, 0, 0},
    };
    build(s2, 2, ET_REL, EM_X86_64);
    expect_fail(RW_E_CORRUPT, "points before the section");
}

/* Truncating the standard object anywhere never crashes. */
static void test_every_truncation(void **state)
{
    (void)state;
    build_std(EM_X86_64);
    size_t full = file_size;
    for (size_t n = 1; n < full; n++) {
        file_size = n;
        struct opened o;
        open_file(&o);
        if (o.e == RW_OK) {
            struct rw_scan sc;
            struct rw_diag d = {0};
            if (rw_scan_image(&o.img, &sc, &d) == RW_OK)
                rw_scan_free(&sc);
        } else {
            assert_true(o.e == RW_E_CORRUPT || o.e == RW_E_FORMAT || o.e == RW_E_UNSUPPORTED);
            assert_true(o.d.msg[0] != 0 || o.e == RW_E_FORMAT);
        }
        close_file(&o);
    }
    file_size = full;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_object),
        cmocka_unit_test(test_arm64_model),
        cmocka_unit_test(test_rewritten_marker),
        cmocka_unit_test(test_ident),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_section_checks),
        cmocka_unit_test(test_symbol_and_reloc_checks),
        cmocka_unit_test(test_notes_and_ehframe),
        cmocka_unit_test(test_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_scan.c - the x86-64 scanner and cookie validation on hand-built,
 * format-free models: every call and cookie form in a linked image, PLT
 * discovery (endbr64 + bnd jmp), the basic-block rule (branch target,
 * conditional branch, overwrite, intervening call, function start, indirect
 * jump), objects through relocations, each cookie check, and random code
 * bytes (never a crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cookie.h"
#include "format.h"
#include "scan.h"

enum { TEXT, DATA, GOT, PLT, NSEC };
#define TEXT_VA 0x1000u
#define DATA_VA 0x2000u
#define GOT_VA 0x3000u
#define PLT_VA 0x4000u
#define HELPER_VA (TEXT_VA + 0x300u)

static uint8_t text[0x400], data[0x100], got[0x20], plt[0x20];
static struct rw_section secs[NSEC];
static struct rw_func funcs[16];
static uint64_t helper_addrs[1] = {HELPER_VA};
static uint64_t helper_slots[1] = {GOT_VA};
static uint32_t plt_secs[1] = {PLT};
static struct rw_image img;
static uint64_t no_value_slot; /* read_pointer says "unknown" here */

static enum rw_err fake_read_pointer(const struct rw_image *im, uint64_t va, uint64_t *v)
{
    if (va == no_value_slot)
        return RW_E_UNSUPPORTED;
    uint32_t s = rw_section_at(im, va, 8);
    const uint8_t *p = s == RW_NONE ? NULL : rw_section_bytes(im, s, va - im->sec[s].addr, 8);
    if (!p)
        return RW_E_CORRUPT;
    memcpy(v, p, 8);
    return RW_OK;
}

static const struct rw_format_ops fake_ops = {.name = "fake", .read_pointer = fake_read_pointer};

/* ---- a tiny x86-64 assembler over text[] ---- */
static size_t pc; /* offset in text */

static uint64_t va(void)
{
    return TEXT_VA + pc;
}
static void b(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        text[pc++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}
static void d32(uint32_t v)
{
    memcpy(text + pc, &v, 4);
    pc += 4;
}
static void rel32(uint64_t target) /* the field ends the instruction */
{
    d32((uint32_t)(target - (va() + 4)));
}
static void lea_r11(uint64_t t) { b(3, 0x4c, 0x8d, 0x1d); rel32(t); }
static void load_r11(uint64_t slot) { b(3, 0x4c, 0x8b, 0x1d); rel32(slot); }
static void mov_r11d(uint32_t v) { b(2, 0x41, 0xbb); d32(v); }
static void mov_r11_s(uint32_t v) { b(3, 0x49, 0xc7, 0xc3); d32(v); }
static void movabs_r11(uint64_t v) { b(2, 0x49, 0xbb); memcpy(text + pc, &v, 8); pc += 8; }
static void call(uint64_t t) { b(1, 0xe8); rel32(t); }
static void jmp(uint64_t t) { b(1, 0xe9); rel32(t); }
static void call_mem(uint64_t slot) { b(2, 0xff, 0x15); rel32(slot); }
static void jmp_mem(uint64_t slot) { b(2, 0xff, 0x25); rel32(slot); }
static void ret(void) { b(1, 0xc3); }
static void nop(void) { b(1, 0x90); }
static void add_r11_8(void) { b(4, 0x49, 0x83, 0xc3, 0x08); }
static void jmp_rax(void) { b(2, 0xff, 0xe0); }
static void mov_r10_rdi(void) { b(3, 0x49, 0x89, 0xfa); }

static size_t nfunc;
static size_t func_start;
static void begin(void)
{
    pc = (pc + 15) & ~(size_t)15;
    func_start = pc;
}
static void end(const char *name)
{
    funcs[nfunc++] = (struct rw_func){TEXT, func_start, pc, name};
}

/* A cookie in data[] at off. */
static void cookie(size_t off, uint32_t magic, uint16_t ver, uint16_t flags, uint64_t rt,
                   uint32_t siglen, const uint8_t *sig, size_t n)
{
    memcpy(data + off, &magic, 4);
    memcpy(data + off + 4, &ver, 2);
    memcpy(data + off + 6, &flags, 2);
    memcpy(data + off + 8, &rt, 8);
    memset(data + off + 16, 0, 8);
    memcpy(data + off + 24, &siglen, 4);
    memcpy(data + off + 28, sig, n);
}

static const uint8_t SIG_I4_I4[] = {0x09, 1, 0x08, 0x08};
static const uint8_t SIG_STR[] = {0x09, 1, 0x08, 0x0E};

#define CK_OK 0x00u
#define CK_STR0 0x40u
#define CK_MAGIC 0x80u
#define CK_SGC 0xc0u

static void reset_linked(void)
{
    memset(text, 0xcc, sizeof text);
    memset(data, 0, sizeof data);
    memset(got, 0, sizeof got);
    memset(plt, 0xcc, sizeof plt);
    pc = 0;
    nfunc = 0;
    no_value_slot = 0;
    cookie(CK_OK, 0x494C4143, 1, 0, 0, 4, SIG_I4_I4, 4);
    cookie(CK_STR0, 0x494C4143, 1, 0, 0, 4, SIG_STR, 4);
    cookie(CK_MAGIC, 0x12345678, 1, 0, 0, 4, SIG_I4_I4, 4);
    cookie(CK_SGC, 0x494C4143, 1, 1, 0, 4, SIG_I4_I4, 4);
    uint64_t ck = DATA_VA + CK_OK;
    memcpy(got + 8, &ck, 8); /* .got[1]: a pointer to the cookie */
    /* the helper itself */
    text[0x300] = 0x41, text[0x301] = 0xff, text[0x302] = 0xe2; /* jmp r10 */
    /* .plt: endbr64; bnd jmp [rip+slot] -> GOT_VA */
    static const uint8_t e[] = {0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25};
    memcpy(plt, e, sizeof e);
    uint32_t disp = (uint32_t)(GOT_VA - (PLT_VA + 4 + 7));
    memcpy(plt + 7, &disp, 4);

    secs[TEXT] = (struct rw_section){".text", 1, RW_SEC_ALLOC | RW_SEC_EXEC, TEXT_VA, sizeof text, text};
    secs[DATA] = (struct rw_section){".data", 2, RW_SEC_ALLOC | RW_SEC_WRITE, DATA_VA, sizeof data, data};
    secs[GOT] = (struct rw_section){".got", 3, RW_SEC_ALLOC | RW_SEC_WRITE | RW_SEC_GOT, GOT_VA, sizeof got, got};
    secs[PLT] = (struct rw_section){".plt", 4, RW_SEC_ALLOC | RW_SEC_EXEC, PLT_VA, sizeof plt, plt};
    memset(&img, 0, sizeof img);
    img.path = "model";
    img.format = RW_FMT_ELF;
    img.machine = RW_MACH_X86_64;
    img.kind = RW_KIND_SHARED;
    img.abi = CALLI_ABI_SYSV_X64;
    img.sec = secs;
    img.nsec = NSEC;
    img.func = funcs;
    img.helper_name = "GenericPInvokeCalliHelper";
    img.helper.addrs = helper_addrs;
    img.helper.naddrs = 1;
    img.helper.slots = helper_slots;
    img.helper.nslots = 1;
    img.helper.plt_secs = plt_secs;
    img.helper.nplt_secs = 1;
    img.ops = &fake_ops;
}

static struct rw_scan scan_ok(void)
{
    img.nfunc = nfunc;
    struct rw_scan sc;
    struct rw_diag d = {0};
    assert_int_equal(rw_scan_image(&img, &sc, &d), RW_OK);
    return sc;
}

static void expect_site(const struct rw_site *s, uint8_t form, uint8_t cform, uint8_t verdict,
                        const char *reason)
{
    if (s->form != form || s->cookie_form != cform || s->verdict != verdict ||
        (reason && !strstr(s->reason, reason)))
        fail_msg("site at 0x%llx: form %u cookie %u verdict %u '%s'; expected %u %u %u '%s'",
                 (unsigned long long)s->addr, s->form, s->cookie_form, s->verdict, s->reason,
                 form, cform, verdict, reason ? reason : "");
}

static void test_linked_forms(void **state)
{
    (void)state;
    reset_linked();
    begin(); mov_r10_rdi(); lea_r11(DATA_VA + CK_OK); call(HELPER_VA); ret(); end("f_lea");
    begin(); mov_r11d(DATA_VA + CK_OK); jmp(HELPER_VA); end("f_imm32");
    begin(); mov_r11_s(DATA_VA + CK_SGC); call_mem(GOT_VA); ret(); end("f_simm32");
    begin(); movabs_r11(DATA_VA + CK_OK); jmp_mem(GOT_VA); end("f_movabs");
    begin(); load_r11(GOT_VA + 8); call(PLT_VA); ret(); end("f_got_plt_endbr");
    begin(); lea_r11(DATA_VA + CK_OK); call(PLT_VA + 4); ret(); end("f_plt_jmp");
    size_t gap = (pc + 15) & ~(size_t)15; /* code outside any function */
    pc = gap; lea_r11(DATA_VA + CK_OK); call(HELPER_VA); ret();
    /* the helper is a function of its own: its jmp r10 would otherwise be an
     * indirect jump in the gap region above */
    funcs[nfunc++] = (struct rw_func){TEXT, 0x300, 0x303, "GenericPInvokeCalliHelper"};
    struct rw_scan sc = scan_ok();
    assert_int_equal(sc.nsites, 7);
    assert_int_equal(sc.nok, 7);
    expect_site(&sc.sites[0], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_OK, NULL);
    expect_site(&sc.sites[1], RW_FORM_JMP_REL32, RW_COOKIE_MOV_IMM32, RW_SITE_OK, NULL);
    expect_site(&sc.sites[2], RW_FORM_CALL_MEM, RW_COOKIE_MOV_IMM32, RW_SITE_OK, NULL);
    expect_site(&sc.sites[3], RW_FORM_JMP_MEM, RW_COOKIE_MOVABS, RW_SITE_OK, NULL);
    expect_site(&sc.sites[4], RW_FORM_CALL_REL32, RW_COOKIE_LOAD_SLOT, RW_SITE_OK, NULL);
    expect_site(&sc.sites[5], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_OK, NULL);
    expect_site(&sc.sites[6], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_OK, NULL);
    const struct rw_site *s = &sc.sites[0];
    assert_int_equal(s->section, TEXT);
    assert_int_equal(s->offset, 10); /* after mov r10 (3) and lea (7) */
    assert_int_equal(s->addr, TEXT_VA + 10);
    assert_int_equal(s->length, 5);
    assert_int_equal(s->orig[0], 0xe8);
    assert_int_equal(s->setter_offset, 3);
    assert_int_equal(s->cookie_section, DATA);
    assert_int_equal(s->cookie_offset, CK_OK);
    assert_int_equal(s->cookie_addr, DATA_VA + CK_OK);
    assert_int_equal(s->reloc, RW_NONE);
    assert_int_equal(s->stub, RW_NONE);
    assert_int_equal(s->sig.ret, 0x08);
    assert_int_equal(s->sig.nparams, 1);
    assert_int_equal(sc.sites[2].cookie_flags, 1);
    assert_int_equal(sc.sites[2].length, 6);
    assert_int_equal(sc.sites[2].orig[1], 0x15);
    rw_scan_free(&sc);
}

static void test_basic_blocks(void **state)
{
    (void)state;
    reset_linked();
    begin(); lea_r11(DATA_VA + CK_OK); uint64_t l = va(); nop(); call(HELPER_VA); ret(); end("g_target");
    begin(); jmp(l); end("g_jumper");
    begin(); lea_r11(DATA_VA + CK_OK); b(2, 0x74, 0x06); call(HELPER_VA); nop(); ret(); end("g_jcc");
    begin(); lea_r11(DATA_VA + CK_OK); add_r11_8(); call(HELPER_VA); ret(); end("g_add");
    begin(); lea_r11(DATA_VA + CK_OK); call(TEXT_VA + 0x3f0); call(HELPER_VA); ret(); end("g_call");
    begin(); call(HELPER_VA); ret(); end("g_start");
    begin(); lea_r11(DATA_VA + CK_OK); call(HELPER_VA); jmp_rax(); end("g_indirect");
    begin(); lea_r11(DATA_VA + CK_OK); jmp_mem(0x3000); end("g_tail_got_is_fine");
    begin(); no_value_slot = GOT_VA + 8; load_r11(GOT_VA + 8); call(HELPER_VA); ret(); end("g_noval");
    begin(); load_r11(DATA_VA + 0x20); call(HELPER_VA); ret(); end("g_writable");
    begin(); mov_r11d(0x9000); call(HELPER_VA); ret(); end("g_outside");
    begin(); lea_r11(DATA_VA + CK_STR0); call(HELPER_VA); ret(); end("g_str0");
    begin(); lea_r11(DATA_VA + CK_MAGIC); call(HELPER_VA); ret(); end("g_magic");
    begin(); lea_r11(DATA_VA + 0xf0); call(HELPER_VA); ret(); end("g_pastend");
    text[0x3f0] = 0xc3;
    struct rw_scan sc = scan_ok();
    assert_int_equal(sc.nsites, 13);
    const struct rw_site *s = sc.sites;
    expect_site(&s[0], RW_FORM_CALL_REL32, 0, RW_SITE_COOKIE_UNKNOWN, "between it and the call is a branch target");
    expect_site(&s[1], RW_FORM_CALL_REL32, 0, RW_SITE_COOKIE_UNKNOWN, "(after the branch at 0x");
    expect_site(&s[2], RW_FORM_CALL_REL32, 0, RW_SITE_COOKIE_UNKNOWN, "by 'add'");
    expect_site(&s[3], RW_FORM_CALL_REL32, 0, RW_SITE_COOKIE_UNKNOWN, "(after the call at 0x");
    expect_site(&s[4], RW_FORM_CALL_REL32, 0, RW_SITE_COOKIE_UNKNOWN, "(function start)");
    expect_site(&s[5], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_COOKIE_UNKNOWN, "indirect jump at 0x");
    expect_site(&s[6], RW_FORM_JMP_MEM, RW_COOKIE_LEA_RIP, RW_SITE_OK, NULL);
    expect_site(&s[7], RW_FORM_CALL_REL32, RW_COOKIE_LOAD_SLOT, RW_SITE_COOKIE_UNKNOWN, "no value known");
    expect_site(&s[8], RW_FORM_CALL_REL32, RW_COOKIE_LOAD_SLOT, RW_SITE_COOKIE_UNKNOWN, "not a GOT slot");
    expect_site(&s[9], RW_FORM_CALL_REL32, RW_COOKIE_MOV_IMM32, RW_SITE_COOKIE_UNREADABLE, "0x9000 is not inside any section");
    expect_site(&s[10], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_COOKIE_INVALID, "STRING parameter with runtime 0");
    expect_site(&s[11], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_COOKIE_INVALID, "bad magic 0x12345678");
    expect_site(&s[12], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_COOKIE_UNREADABLE, "runs past the end of .data");
    assert_int_equal(sc.nok, 1);
    rw_scan_free(&sc);
}

static void test_no_helper(void **state)
{
    (void)state;
    reset_linked();
    begin(); lea_r11(DATA_VA + CK_OK); call(HELPER_VA); call_mem(GOT_VA); ret(); end("f");
    img.helper.naddrs = 0;
    img.helper.nslots = 0;
    memset(plt, 0xcc, sizeof plt);
    struct rw_scan sc = scan_ok();
    assert_int_equal(sc.nsites, 0);
    rw_scan_free(&sc);
}

/* Random bytes in .text (with the helper's address and slot live) never
 * crash the scanner; every site found has a verdict and a reason when not ok. */
static void test_random_code(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 300; round++) {
        reset_linked();
        for (size_t i = 0; i < sizeof text; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            text[i] = (uint8_t)x;
            if ((x >> 20) % 64 == 0 && i + 5 < 0x300) { /* plant a call of the helper */
                text[i] = 0xe8;
                uint32_t r = (uint32_t)(HELPER_VA - (TEXT_VA + i + 5));
                memcpy(text + i + 1, &r, 4);
                i += 4;
            }
        }
        nfunc = 0;
        if (round & 1) {
            funcs[0] = (struct rw_func){TEXT, 0x10, 0x180, "a"};
            funcs[1] = (struct rw_func){TEXT, 0x180, 0x390, "b"};
            nfunc = 2;
        }
        struct rw_scan sc = scan_ok();
        for (size_t i = 0; i < sc.nsites; i++) {
            assert_true(sc.sites[i].verdict <= RW_SITE_UNREACHABLE);
            assert_true(sc.sites[i].verdict == RW_SITE_OK || sc.sites[i].reason[0]);
        }
        rw_scan_free(&sc);
    }
}

/* ---- objects: everything through relocations ---- */

static struct rw_symbol osyms[3];
static struct rw_reloc orel[16];

static void test_object(void **state)
{
    (void)state;
    reset_linked();
    img.kind = RW_KIND_OBJECT;
    for (int i = 0; i < NSEC; i++)
        secs[i].addr = 0;
    img.helper.naddrs = img.helper.nslots = img.helper.nplt_secs = 0;
    osyms[0] = (struct rw_symbol){"GenericPInvokeCalliHelper", 1, RW_NONE, RW_SYM_UNDEF | RW_SYM_GLOBAL, 0, 0};
    osyms[1] = (struct rw_symbol){".data", 2, DATA, 0, 0, 0};
    osyms[2] = (struct rw_symbol){"ext", 3, RW_NONE, RW_SYM_UNDEF, 0, 0};
    uint32_t hs[1] = {0};
    img.sym = osyms;
    img.nsym = 3;
    img.helper.syms = hs;
    img.helper.nsyms = 1;
    size_t nr = 0;
#define REL(off, k, sym, add) orel[nr++] = (struct rw_reloc){TEXT, k, 0, sym, off, add}
    memset(text, 0x90, sizeof text);
    pc = 0;
    /* 0: lea r11,[rip+.data+CK_SGC]; call helper */
    lea_r11(0); REL(3, RW_R_X86_PCREL32, 1, CK_SGC - 4);
    call(0); REL(8, RW_R_X86_BRANCH32, 0, -4);
    ret();
    /* 13: mov r11d, .data+0; call [rip+helper@GOTPCREL] */
    pc = 16; mov_r11d(0); REL(18, RW_R_X86_ABS32, 1, CK_OK);
    call_mem(0); REL(24, RW_R_X86_GOTPCREL32, 0, -4);
    ret();
    /* 32: lea r11,[rip+ext]; jmp helper (PCREL32) */
    pc = 32; lea_r11(0); REL(35, RW_R_X86_PCREL32, 2, -4);
    jmp(0); REL(40, RW_R_X86_PCREL32, 0, -4);
    /* 48: a call of helper+4: not a site; a call through PCREL32 of .data: not a site */
    pc = 48; call(0); REL(49, RW_R_X86_BRANCH32, 0, 0);
    call(0); REL(54, RW_R_X86_BRANCH32, 1, -4);
    ret();
#undef REL
    img.rel = orel;
    img.nrel = nr;
    nfunc = 0;
    funcs[nfunc++] = (struct rw_func){TEXT, 0, 13, "a"};
    funcs[nfunc++] = (struct rw_func){TEXT, 16, 31, "b"};
    funcs[nfunc++] = (struct rw_func){TEXT, 32, 45, "c"};
    struct rw_scan sc = scan_ok();
    assert_int_equal(sc.nsites, 3);
    expect_site(&sc.sites[0], RW_FORM_CALL_REL32, RW_COOKIE_LEA_RIP, RW_SITE_OK, NULL);
    assert_int_equal(sc.sites[0].cookie_section, DATA);
    assert_int_equal(sc.sites[0].cookie_offset, CK_SGC);
    assert_int_equal(sc.sites[0].cookie_flags, 1);
    assert_int_equal(sc.sites[0].reloc, 1);
    assert_int_equal(sc.sites[0].addr, 7);
    expect_site(&sc.sites[1], RW_FORM_CALL_MEM, RW_COOKIE_MOV_IMM32, RW_SITE_OK, NULL);
    assert_int_equal(sc.sites[1].cookie_offset, CK_OK);
    assert_int_equal(sc.sites[1].reloc, 3);
    expect_site(&sc.sites[2], RW_FORM_JMP_REL32, RW_COOKIE_LEA_RIP, RW_SITE_COOKIE_UNREADABLE,
                "cookie symbol 'ext' is not defined in this object");
    rw_scan_free(&sc);

    /* STRING with runtime 0 is invalid unless a relocation sets the field */
    char why[160];
    struct calli_sig sig;
    uint16_t fl;
    assert_int_equal(rw_cookie_check(&img, DATA, CK_STR0, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_COOKIE_INVALID);
    struct rw_reloc rt = {DATA, RW_R_ABS64, 1, 1, CK_STR0 + 8, 0};
    img.rel = &rt;
    img.nrel = 1;
    assert_int_equal(rw_cookie_check(&img, DATA, CK_STR0, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_OK);
    assert_int_equal(sig.params[0], 0x0E);
}

static void test_cookie_checks(void **state)
{
    (void)state;
    reset_linked();
    img.ops = NULL; /* static contents only */
    char why[160];
    struct calli_sig sig;
    uint16_t fl = 0xffff;
    struct {
        uint32_t magic;
        uint16_t ver, flags;
        uint64_t rt;
        uint32_t siglen;
        const uint8_t *sig;
        uint8_t verdict;
        const char *why;
    } cases[] = {
        {0x494C4143, 1, 0, 0, 4, SIG_I4_I4, RW_SITE_OK, ""},
        {0x494C4143, 1, 1, 0, 4, SIG_I4_I4, RW_SITE_OK, ""},
        {0x494C4144, 1, 0, 0, 4, SIG_I4_I4, RW_SITE_COOKIE_INVALID, "bad magic 0x494c4144 (expected 0x494c4143 'CALI')"},
        {0x494C4143, 0, 0, 0, 4, SIG_I4_I4, RW_SITE_COOKIE_INVALID, "unsupported cookie version 0 (expected 1)"},
        {0x494C4143, 1, 0x0102, 0, 4, SIG_I4_I4, RW_SITE_COOKIE_INVALID, "unknown flag bits 0x0102"},
        {0x494C4143, 1, 0, 0, 0xffffffffu, SIG_I4_I4, RW_SITE_COOKIE_INVALID, "sig_len 4294967295 runs past the end of .data (228 bytes left)"},
        {0x494C4143, 1, 0, 0, 3, SIG_I4_I4, RW_SITE_SIG_UNSUPPORTED, "signature: truncated: blob ends at offset 3 inside the parameter list"},
        {0x494C4143, 1, 0, 0, 4, SIG_STR, RW_SITE_COOKIE_INVALID, "STRING parameter with runtime 0 (nothing to convert strings with)"},
        {0x494C4143, 1, 0, 0x1234, 4, SIG_STR, RW_SITE_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(data, 0, sizeof data);
        cookie(0, cases[i].magic, cases[i].ver, cases[i].flags, cases[i].rt, cases[i].siglen,
               cases[i].sig, 4);
        enum rw_verdict v = rw_cookie_check(&img, DATA, 0, DATA_VA, &sig, &fl, why, sizeof why);
        if (v != cases[i].verdict || strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu: verdict %d '%s', expected %d '%s'", i, v, why, cases[i].verdict,
                     cases[i].why);
        if (v == RW_SITE_OK)
            assert_int_equal(fl, cases[i].flags);
    }
    /* the 28-byte header itself past the end, at the very end, and no data */
    assert_int_equal(rw_cookie_check(&img, DATA, sizeof data - 27, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_COOKIE_UNREADABLE);
    assert_non_null(strstr(why, "cookie header (28 bytes at offset 0xe5) runs past the end of .data"));
    assert_int_equal(rw_cookie_check(&img, DATA, UINT64_MAX - 3, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_COOKIE_UNREADABLE);
    assert_int_equal(rw_cookie_check(&img, 99, 0, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_COOKIE_UNREADABLE);
    secs[DATA].data = NULL;
    secs[DATA].flags |= RW_SEC_NOBITS;
    assert_int_equal(rw_cookie_check(&img, DATA, 0, 0, &sig, &fl, why, sizeof why),
                     RW_SITE_COOKIE_UNREADABLE);
    assert_string_equal(why, "cookie is in .data, which has no file data");
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rw_site_form_id(RW_FORM_JMP_MEM), "jmp_mem");
    assert_string_equal(rw_site_form_name(RW_FORM_CALL_MEM), "call [mem]");
    assert_string_equal(rw_cookie_form_id(RW_COOKIE_LOAD_SLOT), "load_slot");
    assert_string_equal(rw_verdict_id(RW_SITE_SIG_UNSUPPORTED), "sig_unsupported");
    assert_string_equal(rw_verdict_name(RW_SITE_COOKIE_UNKNOWN), "cookie-unknown");
    assert_string_equal(rw_verdict_id(200), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linked_forms),
        cmocka_unit_test(test_basic_blocks),
        cmocka_unit_test(test_no_helper),
        cmocka_unit_test(test_random_code),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_cookie_checks),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

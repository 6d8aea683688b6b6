/* test_runtime.c - the real x86-64 System V GenericPInvokeCalliHelper,
 * driven end to end from assembly call sites (top of this file) against a
 * recording assembly target and C targets. Checks argument normalization
 * (exact 64-bit register and stack-slot contents), BOOL in/out, small-int
 * return extension, floats, 0 / 20 / 64 parameters, strings and the order
 * of runtime events, suppress-gc, runtime == 0, call and tail-jump entry,
 * callee-saved registers, stack alignment, unwinding through the helper, and
 * (in forked children) every fatal cookie error.
 *
 * This program defines calli_host_write itself (to capture the reference
 * runtime's event log) and takes calli_host_abort from the library: that
 * also tests that the two host primitives are separate archive members.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>

#include "calli_host.h"
#include "calli_refrt.h"
#include "calli_runtime.h"
#include "calli_sig.h"

/* ---- host primitive: capture ---------------------------------------- */

static char cap[1 << 16];
static size_t cap_len;
static int capturing;

void calli_host_write(int stream, const void *buf, size_t len)
{
    if (capturing && stream == CALLI_HOST_OUT) {
        if (cap_len + len < sizeof cap) {
            memcpy(cap + cap_len, buf, len);
            cap_len += len;
            cap[cap_len] = 0;
        }
        return;
    }
    const char *p = buf;
    int fd = stream == CALLI_HOST_ERR ? 2 : 1;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void cap_start(void)
{
    cap_len = 0;
    cap[0] = 0;
    capturing = 1;
}

static void cap_note(const char *s)
{
    calli_host_write(CALLI_HOST_OUT, s, strlen(s));
}

/* ---- the call site and the recording target (assembly) --------------- */

struct site {
    uint64_t gpr[6];        /* 0: rdi rsi rdx rcx r8 r9 at the call */
    uint64_t pad0[2];       /* 48 */
    uint64_t fpr[8][2];     /* 64: xmm0-7 */
    const void *stack;      /* 192: stack arguments, copied to [rsp] at the call */
    uint64_t stack_size;    /* 200: multiple of 16 */
    void *target;           /* 208: r10 */
    const void *cookie;     /* 216: r11 */
    uint64_t ret_gpr;       /* 224: rax after the call */
    uint64_t pad1;          /* 232 */
    uint64_t ret_fpr[2];    /* 240: xmm0 after the call */
    uint64_t saved_after[6];/* 256: rbx rbp r12 r13 r14 r15 after the call */
    uint64_t rsp_before;    /* 304 */
    uint64_t rsp_after;     /* 312 */
    uint64_t tail;          /* 320: enter the helper with jmp */
    uint64_t rbp_before;    /* 328 */
};
_Static_assert(offsetof(struct site, stack) == 192, "site");
_Static_assert(offsetof(struct site, ret_fpr) == 240, "site");
_Static_assert(offsetof(struct site, rbp_before) == 328, "site");

#define CANARY_RBX 0xb0b1b2b3b4b5b6b7ull
#define CANARY_R12 0x1212121212121212ull
#define CANARY_R13 0x1313131313131313ull
#define CANARY_R14 0x1414141414141414ull
#define CANARY_R15 0x1515151515151515ull

struct rec {
    uint64_t gpr[6];        /* 0 */
    uint64_t pad0[2];       /* 48 */
    uint64_t fpr[8][2];     /* 64 */
    uint64_t stack[64];     /* 192: the first 64 stack slots at entry */
    uint64_t rsp_mod16;     /* 704: rsp % 16 at entry (8 expected) */
    uint64_t calls;         /* 712 */
    uint64_t ret_gpr;       /* 720: rax to return */
    uint64_t pad1;          /* 728 */
    uint64_t ret_fpr[2];    /* 736: xmm0 to return */
};
_Static_assert(offsetof(struct rec, rsp_mod16) == 704, "rec");
_Static_assert(offsetof(struct rec, ret_fpr) == 736, "rec");

struct site S;
struct rec R;
void test_site(struct site *s);
void rec_target(void);
void rec_note(void);
void bt_site(void);
extern uint64_t bt_site_ret;

__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl test_site\n"
    ".type test_site, @function\n"
    "test_site:\n"
    "    push rbp\n"
    "    mov rbp, rsp\n"
    "    push rbx\n"
    "    push r12\n"
    "    push r13\n"
    "    push r14\n"
    "    push r15\n"
    "    push rdi\n"
    "    mov r12, rdi\n"
    "    mov rcx, [r12 + 200]\n"
    "    sub rsp, rcx\n"
    "    and rsp, -16\n"
    "    mov rsi, [r12 + 192]\n"
    "    xor eax, eax\n"
    "1:  cmp rax, rcx\n"
    "    jae 2f\n"
    "    mov rdx, [rsi + rax]\n"
    "    mov [rsp + rax], rdx\n"
    "    add rax, 8\n"
    "    jmp 1b\n"
    "2:  mov [r12 + 304], rsp\n"
    "    mov [r12 + 328], rbp\n"
    "    movdqu xmm0, [r12 + 64]\n"
    "    movdqu xmm1, [r12 + 80]\n"
    "    movdqu xmm2, [r12 + 96]\n"
    "    movdqu xmm3, [r12 + 112]\n"
    "    movdqu xmm4, [r12 + 128]\n"
    "    movdqu xmm5, [r12 + 144]\n"
    "    movdqu xmm6, [r12 + 160]\n"
    "    movdqu xmm7, [r12 + 176]\n"
    "    mov r10, [r12 + 208]\n"
    "    mov r11, [r12 + 216]\n"
    "    mov rdi, [r12 + 0]\n"
    "    mov rsi, [r12 + 8]\n"
    "    mov rdx, [r12 + 16]\n"
    "    mov rcx, [r12 + 24]\n"
    "    mov r8, [r12 + 32]\n"
    "    mov r9, [r12 + 40]\n"
    "    mov rax, [r12 + 320]\n"
    "    movabs rbx, 0xb0b1b2b3b4b5b6b7\n"
    "    movabs r13, 0x1313131313131313\n"
    "    movabs r14, 0x1414141414141414\n"
    "    movabs r15, 0x1515151515151515\n"
    "    movabs r12, 0x1212121212121212\n"
    "    test rax, rax\n"
    "    movabs rax, 0x5a5a5a5a5a5a5a5a\n"
    "    jnz 3f\n"
    "    call GenericPInvokeCalliHelper\n"
    "    jmp 4f\n"
    "3:  call test_tail_site\n"
    "4:  mov r10, [rbp - 48]\n"
    "    mov [r10 + 224], rax\n"
    "    movdqu [r10 + 240], xmm0\n"
    "    mov [r10 + 256], rbx\n"
    "    mov [r10 + 264], rbp\n"
    "    mov [r10 + 272], r12\n"
    "    mov [r10 + 280], r13\n"
    "    mov [r10 + 288], r14\n"
    "    mov [r10 + 296], r15\n"
    "    mov [r10 + 312], rsp\n"
    "    lea rsp, [rbp - 40]\n"
    "    pop r15\n"
    "    pop r14\n"
    "    pop r13\n"
    "    pop r12\n"
    "    pop rbx\n"
    "    pop rbp\n"
    "    ret\n"
    ".size test_site, . - test_site\n"
    /* The tail form: entered by call, leaves by jmp (spec section 1). */
    "test_tail_site:\n"
    "    jmp GenericPInvokeCalliHelper\n"
    /* The recording target: every argument register, 64 stack slots, the
     * alignment; then rec_note() (C) and the configured return values. */
    ".globl rec_target\n"
    ".type rec_target, @function\n"
    "rec_target:\n"
    "    mov [rip + R + 0], rdi\n"
    "    mov [rip + R + 8], rsi\n"
    "    mov [rip + R + 16], rdx\n"
    "    mov [rip + R + 24], rcx\n"
    "    mov [rip + R + 32], r8\n"
    "    mov [rip + R + 40], r9\n"
    "    movdqu [rip + R + 64], xmm0\n"
    "    movdqu [rip + R + 80], xmm1\n"
    "    movdqu [rip + R + 96], xmm2\n"
    "    movdqu [rip + R + 112], xmm3\n"
    "    movdqu [rip + R + 128], xmm4\n"
    "    movdqu [rip + R + 144], xmm5\n"
    "    movdqu [rip + R + 160], xmm6\n"
    "    movdqu [rip + R + 176], xmm7\n"
    "    xor eax, eax\n"
    "    lea r10, [rip + R + 192]\n"
    "5:  mov r11, [rsp + 8 + rax * 8]\n"
    "    mov [r10 + rax * 8], r11\n"
    "    inc rax\n"
    "    cmp rax, 64\n"
    "    jb 5b\n"
    "    mov rax, rsp\n"
    "    and rax, 15\n"
    "    mov [rip + R + 704], rax\n"
    "    add qword ptr [rip + R + 712], 1\n"
    "    sub rsp, 8\n"
    "    call rec_note\n"
    "    add rsp, 8\n"
    "    mov rax, [rip + R + 720]\n"
    "    movdqu xmm0, [rip + R + 736]\n"
    "    ret\n"
    ".size rec_target, . - rec_target\n"
    /* A site with unwind information, for the backtrace test: target in
     * rdi, cookie in rsi, no other argument. */
    ".globl bt_site\n"
    ".type bt_site, @function\n"
    "bt_site:\n"
    "    .cfi_startproc\n"
    "    push rbp\n"
    "    .cfi_def_cfa_offset 16\n"
    "    .cfi_offset rbp, -16\n"
    "    mov rbp, rsp\n"
    "    .cfi_def_cfa_register rbp\n"
    "    mov rax, [rbp + 8]\n"
    "    mov [rip + bt_site_ret], rax\n"
    "    mov r10, rdi\n"
    "    mov r11, rsi\n"
    "    call GenericPInvokeCalliHelper\n"
    "    pop rbp\n"
    "    .cfi_def_cfa rsp, 8\n"
    "    ret\n"
    "    .cfi_endproc\n"
    ".size bt_site, . - bt_site\n"
    ".att_syntax prefix\n");

uint64_t bt_site_ret;

static void copy_cstr(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

static void (*rec_hook)(void);
void rec_note(void)
{
    cap_note("@call\n");
    if (rec_hook)
        rec_hook();
}

/* ---- cookies ---------------------------------------------------------- */

#define COOKIE(name, flags_, rt_, ...)                                                       \
    static _Alignas(8) struct {                                                                \
        uint32_t magic;                                                                        \
        uint16_t version, flags;                                                               \
        const void *runtime;                                                                   \
        uint64_t cache;                                                                        \
        uint32_t sig_len;                                                                      \
        uint8_t sig[sizeof((uint8_t[]){__VA_ARGS__})];                                         \
    } name = {CALLI_COOKIE_MAGIC, 1, flags_, rt_, 0, sizeof((uint8_t[]){__VA_ARGS__}), {__VA_ARGS__}}

/* A cookie built at run time in buf (8-aligned, >= 28 + n bytes). */
static const struct calli_cookie *mk_cookie(void *buf, uint16_t flags, const void *rt,
                                            const uint8_t *sig, uint32_t n)
{
    struct calli_cookie *c = buf;
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = 1;
    c->flags = flags;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = n;
    memcpy(c->sig, sig, n);
    return c;
}

static struct calli_refrt rt_log; /* with CALLI_REFRT_LOG */

/* Managed strings (chars at offset 12). */
struct mstr {
    uint64_t header;
    int32_t length;
    uint16_t chars[32];
};
static struct mstr ms_hi = {0, 2, {'h', 'i'}};
static struct mstr ms_euro = {0, 3, {0x20ac, 'x', 0xd83d}}; /* "€x" + lone high surrogate */
static struct mstr ms_empty = {0, 0, {0}};

/* ---- fixture ---------------------------------------------------------- */

static void site_reset(const void *cookie)
{
    memset(&S, 0, sizeof S);
    memset(&R, 0, sizeof R);
    for (int i = 0; i < 6; i++)
        S.gpr[i] = 0xa5a5a5a500000000ull | (uint64_t)(0x1000 + i);
    for (int i = 0; i < 8; i++) {
        S.fpr[i][0] = 0xf0f0f0f0f0f0f000ull | (uint64_t)i;
        S.fpr[i][1] = 0x0e0e0e0e0e0e0e00ull | (uint64_t)i;
    }
    S.target = (void *)rec_target;
    S.cookie = cookie;
    R.ret_gpr = 0x7777777777777777ull;
    R.ret_fpr[0] = 0x6666666666666666ull;
    R.ret_fpr[1] = 0x5555555555555555ull;
    rec_hook = 0;
    calli_refrt_init(&rt_log, CALLI_REFRT_LOG);
    cap_start();
}

static void check_abi_invariants(void)
{
    assert_int_equal(R.rsp_mod16, 8); /* 16-aligned at the target's call */
    assert_int_equal(S.saved_after[0], CANARY_RBX);
    assert_int_equal(S.saved_after[1], S.rbp_before);
    assert_int_equal(S.saved_after[2], CANARY_R12);
    assert_int_equal(S.saved_after[3], CANARY_R13);
    assert_int_equal(S.saved_after[4], CANARY_R14);
    assert_int_equal(S.saved_after[5], CANARY_R15);
    assert_int_equal(S.rsp_after, S.rsp_before);
}

/* Run the site twice: entered by call, then by a tail jmp; same results. */
static void run_both(void (*check)(void), const void *cookie, void (*setup)(void))
{
    for (int tail = 0; tail < 2; tail++) {
        site_reset(cookie);
        if (setup)
            setup();
        S.tail = (uint64_t)tail;
        test_site(&S);
        assert_int_equal(R.calls, 1);
        check_abi_invariants();
        check();
    }
}

/* ---- I4 / I8 pass unchanged (all 64 bits) ------------------------------ */

COOKIE(ck_i4_i4_i8, 1, 0, 0x09, 2, 0x08, 0x08, 0x0A);
static void chk_i4(void)
{
    assert_int_equal(R.gpr[0], 0xa5a5a5a500001000ull); /* unchanged, upper bits too */
    assert_int_equal(R.gpr[1], 0xa5a5a5a500001001ull);
    assert_int_equal(S.ret_gpr, 0x7777777777777777ull); /* I4 result: rax as the target left it */
    assert_string_equal(cap, "@call\n");
}
static void t_i4_unchanged(void **st)
{
    (void)st;
    run_both(chk_i4, &ck_i4_i4_i8, 0);
}

/* ---- small integers and BOOL: normalized to 32 bits, upper 32 zero ------ */

/* int32 f(bool, char, i1, u1, i2, u2) */
COOKIE(ck_small, 1, 0, 0x09, 6, 0x08, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07);
static void setup_small(void)
{
    S.gpr[0] = 0xdeadbeefcafe0100ull; /* BOOL: low byte 0 -> false even though bit 8 is set */
    S.gpr[1] = 0xffffffffffff00e9ull; /* CHAR 0x00e9 */
    S.gpr[2] = 0x12345678abcdef80ull; /* I1 -128 */
    S.gpr[3] = 0x12345678abcdef80ull; /* U1 128 */
    S.gpr[4] = 0x1111111122228001ull; /* I2 -32767 */
    S.gpr[5] = 0x1111111122228001ull; /* U2 0x8001 */
}
static void chk_small(void)
{
    assert_int_equal(R.gpr[0], 0);
    assert_int_equal(R.gpr[1], 0xe9);
    assert_int_equal(R.gpr[2], 0xffffff80ull);
    assert_int_equal(R.gpr[3], 0x80);
    assert_int_equal(R.gpr[4], 0xffff8001ull);
    assert_int_equal(R.gpr[5], 0x8001);
}
static void setup_small2(void)
{
    setup_small();
    S.gpr[0] = 0xffffffffffffff02ull; /* BOOL true: 2 -> 1 */
    S.gpr[1] = 0x8000000000008000ull; /* CHAR */
    S.gpr[2] = 0x000000000000007full;
    S.gpr[3] = 0xffffffffffffffffull;
    S.gpr[4] = 0x0000000000007fffull;
    S.gpr[5] = 0xffffffffffffffffull;
}
static void chk_small2(void)
{
    assert_int_equal(R.gpr[0], 1);
    assert_int_equal(R.gpr[1], 0x8000);
    assert_int_equal(R.gpr[2], 0x7f);
    assert_int_equal(R.gpr[3], 0xff);
    assert_int_equal(R.gpr[4], 0x7fff);
    assert_int_equal(R.gpr[5], 0xffff);
}
static void t_small_args(void **st)
{
    (void)st;
    run_both(chk_small, &ck_small, setup_small);
    run_both(chk_small2, &ck_small, setup_small2);
}

/* ---- return marshaling of every small type ------------------------------ */

static _Alignas(8) unsigned char ret_cookie_buf[64];
static uint64_t ret_expect;
static void t_small_returns(void **st)
{
    (void)st;
    static const struct {
        uint8_t type;
        uint64_t native, managed;
    } cases[] = {
        {0x02, 0x0000000100000000ull, 0}, /* BOOL: only the low 32 bits count */
        {0x02, 0xffffffff80000000ull, 1},
        {0x02, 0x0000000000000100ull, 1}, /* a BOOL, not a bool: bit 8 makes it true */
        {0x02, 0, 0},
        {0x02, 0xdead000000000001ull, 1},
        {0x03, 0xffffffffffff8081ull, 0x8081},
        {0x04, 0xffffffffffff8081ull, 0xffffff81ull},
        {0x04, 0xffffffffffff807full, 0x7f},
        {0x05, 0xffffffffffff8081ull, 0x81},
        {0x06, 0x1234567800008081ull, 0xffff8081ull},
        {0x06, 0x1234567800017fffull, 0x7fff},
        {0x07, 0x1234567800018081ull, 0x8081},
        {0x08, 0x123456789abcdef0ull, 0x123456789abcdef0ull}, /* I4: unchanged */
        {0x09, 0x123456789abcdef0ull, 0x123456789abcdef0ull},
        {0x0A, 0x123456789abcdef0ull, 0x123456789abcdef0ull},
        {0x18, 0x8000000000000001ull, 0x8000000000000001ull},
        {0x0F, 0xfedcba9876543210ull, 0xfedcba9876543210ull},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t sig[4] = {0x09, 0, cases[i].type, 0x01};
        uint32_t n = 3;
        if (cases[i].type == 0x0F)
            n = 4; /* PTR VOID */
        const void *ck = mk_cookie(ret_cookie_buf, 1, 0, sig, n);
        ret_expect = cases[i].managed;
        for (int tail = 0; tail < 2; tail++) {
            site_reset(ck);
            R.ret_gpr = cases[i].native;
            S.tail = (uint64_t)tail;
            test_site(&S);
            check_abi_invariants();
            if (S.ret_gpr != ret_expect)
                fail_msg("return type 0x%02x native 0x%016llx: got 0x%016llx, want 0x%016llx",
                         cases[i].type, (unsigned long long)cases[i].native,
                         (unsigned long long)S.ret_gpr, (unsigned long long)ret_expect);
        }
    }
}

/* ---- floats ------------------------------------------------------------- */

/* float64 f(int32, float64, int8, float32, float64) */
COOKIE(ck_fp, 1, 0, 0x09, 5, 0x0D, 0x08, 0x0D, 0x04, 0x0C, 0x0D);
static void setup_fp(void)
{
    double d = 3.25, e = -1e300;
    float f = 1.5f;
    S.gpr[0] = 0x00000000ffffffffull;
    S.gpr[1] = 0x00000000000001ffull; /* I1 -1 */
    memcpy(&S.fpr[0][0], &d, 8);
    S.fpr[1][0] = 0xabcdabcd00000000ull;
    memcpy(&S.fpr[1][0], &f, 4); /* R4 with garbage in bits 32-63 */
    memcpy(&S.fpr[2][0], &e, 8);
    double r = 2.5;
    memcpy(&R.ret_fpr[0], &r, 8);
}
static void chk_fp(void)
{
    double d, e, r;
    float f;
    assert_int_equal(R.gpr[0], 0x00000000ffffffffull);
    assert_int_equal(R.gpr[1], 0xffffffffull);
    memcpy(&d, &R.fpr[0][0], 8);
    memcpy(&f, &R.fpr[1][0], 4);
    memcpy(&e, &R.fpr[2][0], 8);
    assert_true(d == 3.25);
    assert_true(f == 1.5f);
    assert_true(e == -1e300);
    /* FP registers pass through whole (128 bits), like a stub that leaves them alone. */
    assert_int_equal(R.fpr[1][0] >> 32, 0xabcdabcdull);
    assert_int_equal(R.fpr[0][1], 0x0e0e0e0e0e0e0e00ull);
    memcpy(&r, &S.ret_fpr[0], 8);
    assert_true(r == 2.5);
    assert_int_equal(S.ret_fpr[1], 0x5555555555555555ull);
}
static void t_floats(void **st)
{
    (void)st;
    run_both(chk_fp, &ck_fp, setup_fp);
}

/* float32 f(float32) through a C target */
static float c_halve(float x) { return x / 2; }
static double c_mix(int a, double b, signed char c, float d, double e, int f, int g, int h, int i,
                    double j, double k, double l, double m, double n, double o, int p)
{
    return a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p;
}
COOKIE(ck_halve, 1, 0, 0x09, 1, 0x0C, 0x0C);
COOKIE(ck_mix, 0, &rt_log.rt, 0x09, 16, 0x0D, 0x08, 0x0D, 0x04, 0x0C, 0x0D, 0x08, 0x08, 0x08,
       0x08, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x08);
static void t_c_targets(void **st)
{
    (void)st;
    site_reset(&ck_halve);
    float x = 9.0f, y;
    memcpy(&S.fpr[0][0], &x, 4);
    S.target = (void *)c_halve;
    test_site(&S);
    memcpy(&y, &S.ret_fpr[0], 4);
    assert_true(y == 4.5f);

    site_reset(&ck_mix);
    S.target = (void *)c_mix;
    double dv[9] = {0.5, 0.25, 100, 200, 300, 400, 500, 600, 700}; /* b e j k l m n o */
    float d = 0.125f;
    /* fp registers: b d e j k l m n; o on the stack; gprs: a c f g h i; p on the stack */
    memcpy(&S.fpr[0][0], &dv[0], 8);
    memcpy(&S.fpr[1][0], &d, 4);
    memcpy(&S.fpr[2][0], &dv[1], 8);
    for (int i = 3; i < 8; i++)
        memcpy(&S.fpr[i][0], &dv[i - 1], 8);
    uint64_t stack[2];
    memcpy(&stack[0], &dv[7], 8);
    double o;
    memcpy(&o, &stack[0], 8);
    stack[1] = 0xffffffff00000007ull; /* p = 7 with garbage above */
    S.gpr[0] = 1;
    S.gpr[1] = 0xfffffffffffffffeull; /* c = -2 */
    S.gpr[2] = 3;
    S.gpr[3] = 4;
    S.gpr[4] = 5;
    S.gpr[5] = 6;
    S.stack = stack;
    S.stack_size = 16;
    test_site(&S);
    double r;
    memcpy(&r, &S.ret_fpr[0], 8);
    double want = 1 + 0.5 - 2 + 0.125 + 0.25 + 3 + 4 + 5 + 6 + 100 + 200 + 300 + 400 + 500 + o + 7;
    assert_true(r == want);
    assert_string_equal(cap, "@enter\n@leave\n");
}

/* ---- 0 parameters ----------------------------------------------------- */

COOKIE(ck_void0, 0, &rt_log.rt, 0x09, 0, 0x01);
static void chk_void0(void)
{
    assert_string_equal(cap, "@enter\n@call\n@leave\n");
    assert_int_equal(rt_log.depth, 0);
}
static void t_zero_params(void **st)
{
    (void)st;
    run_both(chk_void0, &ck_void0, 0);
}

/* ---- 20 and 64 parameters: register and stack arguments -------------- */

/* 20 parameters cycling through every integer-class and fp type. */
static const uint8_t types20[20] = {0x02, 0x0D, 0x03, 0x04, 0x0C, 0x05, 0x06, 0x07, 0x08, 0x09,
                                    0x0A, 0x0D, 0x0B, 0x18, 0x19, 0x0C, 0x02, 0x04, 0x06, 0x0D};
static _Alignas(8) unsigned char ck20_buf[256];

static int is_fp(uint8_t t) { return t == 0x0C || t == 0x0D; }
static uint64_t expect_native(uint8_t t, uint64_t v)
{
    switch (t) {
    case 0x02: return (v & 0xff) != 0;
    case 0x03: case 0x07: return v & 0xffff;
    case 0x05: return v & 0xff;
    case 0x04: return (uint32_t)(int32_t)(int8_t)v;
    case 0x06: return (uint32_t)(int32_t)(int16_t)v;
    default: return v;
    }
}

static uint64_t expect_ret(uint8_t t, uint64_t v)
{
    if (t == 0x02)
        return (uint32_t)v != 0;
    return expect_native(t, v);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Distribute values per SysV and check what the target got; ret is the
 * return type, native_ret what the target returns. */
static void many_params_ret(const uint8_t *types, unsigned n, int tail, uint8_t ret, uint64_t native_ret,
                            int random_vals)
{
    uint8_t sig[3 + 64];
    sig[0] = 0x09;
    sig[1] = (uint8_t)n;
    sig[2] = ret;
    memcpy(sig + 3, types, n);
    const void *ck = mk_cookie(ck20_buf, 1, 0, sig, 3 + n);
    site_reset(ck);
    S.tail = (uint64_t)tail;
    R.ret_gpr = native_ret;
    uint64_t vals[64], stack[64];
    unsigned gi = 0, fi = 0, si = 0;
    for (unsigned i = 0; i < n; i++) {
        vals[i] = random_vals ? rng()
                              : 0x8181818181818100ull ^ ((uint64_t)i * 0x0101010101010101ull) ^ (i & 1 ? 0xff : 0x7e);
        if (is_fp(types[i]) && fi < 8)
            S.fpr[fi++][0] = vals[i];
        else if (!is_fp(types[i]) && gi < 6)
            S.gpr[gi++] = vals[i];
        else
            stack[si++] = vals[i];
    }
    if (si & 1)
        stack[si++] = 0xdddddddddddddddd;
    S.stack = stack;
    S.stack_size = 8 * si;
    test_site(&S);
    assert_int_equal(R.calls, 1);
    check_abi_invariants();
    gi = fi = si = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t want = expect_native(types[i], vals[i]), got;
        if (is_fp(types[i]) && fi < 8)
            got = R.fpr[fi++][0];
        else if (!is_fp(types[i]) && gi < 6)
            got = R.gpr[gi++];
        else
            got = R.stack[si++];
        if (got != want)
            fail_msg("param %u of %u (type 0x%02x): got 0x%016llx want 0x%016llx", i, n, types[i],
                     (unsigned long long)got, (unsigned long long)want);
    }
    if (ret != 0x01 && !is_fp(ret) && S.ret_gpr != expect_ret(ret, native_ret))
        fail_msg("return type 0x%02x: got 0x%016llx want 0x%016llx", ret, (unsigned long long)S.ret_gpr,
                 (unsigned long long)expect_ret(ret, native_ret));
    assert_int_equal(S.ret_fpr[0], R.ret_fpr[0]);
}

static void many_params(const uint8_t *types, unsigned n, int tail)
{
    many_params_ret(types, n, tail, 0x0A, 0x7777777777777777ull, 0);
    assert_int_equal(S.ret_gpr, 0x7777777777777777ull);
}

/* Random signatures of every non-string type, random values. */
static void t_random(void **st)
{
    (void)st;
    static const uint8_t pool[] = {0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
                                   0x0B, 0x0C, 0x0D, 0x18, 0x19};
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t t[64];
        unsigned n = (unsigned)(rng() % 65);
        for (unsigned i = 0; i < n; i++)
            t[i] = pool[rng() % sizeof pool];
        uint8_t ret = rng() % 8 == 0 ? 0x01 : pool[rng() % sizeof pool];
        many_params_ret(t, n, iter & 1, ret, rng(), 1);
    }
}

static void t_20_params(void **st)
{
    (void)st;
    many_params(types20, 20, 0);
    many_params(types20, 20, 1);
    uint8_t ints[20];
    for (int i = 0; i < 20; i++)
        ints[i] = types20[i] == 0x0D || types20[i] == 0x0C ? 0x04 : types20[i];
    many_params(ints, 20, 0); /* 14 integer-class on the stack, normalized there */
}
static void t_64_params(void **st)
{
    (void)st;
    uint8_t t[64];
    for (int i = 0; i < 64; i++)
        t[i] = types20[i % 20];
    many_params(t, 64, 0);
    many_params(t, 64, 1);
    for (int i = 0; i < 64; i++)
        t[i] = 0x0D;
    many_params(t, 64, 0);
}

/* ---- strings and the order of events ----------------------------------- */

/* int32 f(string, int32, string, string) */
COOKIE(ck_str, 0, &rt_log.rt, 0x09, 4, 0x08, 0x0E, 0x08, 0x0E, 0x0E);
COOKIE(ck_str_sgc, 1, &rt_log.rt, 0x09, 4, 0x08, 0x0E, 0x08, 0x0E, 0x0E);
static char seen[3][64];
static int seen_null[3];
static void hook_str(void)
{
    const char *p[3] = {(const char *)R.gpr[0], (const char *)R.gpr[2], (const char *)R.gpr[3]};
    for (int i = 0; i < 3; i++) {
        seen_null[i] = p[i] == 0;
        copy_cstr(seen[i], sizeof seen[i], p[i]);
    }
    assert_int_equal(rt_log.live, 2);
    assert_int_equal(rt_log.depth, S.cookie == (const void *)&ck_str ? 1 : 0);
}
static void setup_str(void)
{
    S.gpr[0] = (uint64_t)&ms_euro;
    S.gpr[1] = 0xffffffff00000005ull;
    S.gpr[2] = 0; /* null string */
    S.gpr[3] = (uint64_t)&ms_hi;
    rec_hook = hook_str;
}
static void chk_str(void)
{
    assert_string_equal(seen[0], "\xe2\x82\xacx\xef\xbf\xbd");
    assert_true(seen_null[1]);
    assert_string_equal(seen[2], "hi");
    assert_int_equal(R.gpr[1], 0xffffffff00000005ull);
    assert_string_equal(cap, "@s2n e282ac78efbfbd\n@s2n null\n@s2n 6869\n"
                             "@enter\n@call\n@leave\n"
                             "@free e282ac78efbfbd\n@free null\n@free 6869\n");
    assert_int_equal(rt_log.live, 0);
    assert_int_equal(rt_log.used, 0);
    assert_int_equal(rt_log.depth, 0);
    assert_int_equal(rt_log.events, 8);
}
static void chk_str_sgc(void)
{
    assert_string_equal(seen[2], "hi");
    assert_string_equal(cap, "@s2n e282ac78efbfbd\n@s2n null\n@s2n 6869\n@call\n"
                             "@free e282ac78efbfbd\n@free null\n@free 6869\n");
}
static void t_strings(void **st)
{
    (void)st;
    run_both(chk_str, &ck_str, setup_str);
    run_both(chk_str_sgc, &ck_str_sgc, setup_str);
}

/* A string on the stack: 7 parameters, the 7th a string. */
COOKIE(ck_str_stack, 0, &rt_log.rt, 0x09, 7, 0x01, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E);
static char seen_stack[64];
static void hook_str_stack(void) { copy_cstr(seen_stack, sizeof seen_stack, (const char *)R.stack[0]); }
static uint64_t str_stack_block[2];
static void setup_str_stack(void)
{
    str_stack_block[0] = (uint64_t)&ms_empty;
    str_stack_block[1] = 0x1234;
    S.stack = str_stack_block;
    S.stack_size = 16;
    rec_hook = hook_str_stack;
    strcpy(seen_stack, "unset");
}
static void chk_str_stack(void)
{
    assert_string_equal(seen_stack, "");
    assert_string_equal(cap, "@s2n \n@enter\n@call\n@leave\n@free \n");
}
static void t_string_on_stack(void **st)
{
    (void)st;
    run_both(chk_str_stack, &ck_str_stack, setup_str_stack);
}

/* ---- suppress-gc and runtime == 0 ---------------------------------------- */

COOKIE(ck_sgc, 1, &rt_log.rt, 0x09, 1, 0x08, 0x08);
COOKIE(ck_nort, 0, 0, 0x09, 1, 0x08, 0x08);
static void chk_no_events(void)
{
    assert_string_equal(cap, "@call\n");
    assert_int_equal(rt_log.events, 0);
}
static void t_sgc_and_null_runtime(void **st)
{
    (void)st;
    run_both(chk_no_events, &ck_sgc, 0);
    run_both(chk_no_events, &ck_nort, 0);
}

/* Every calling convention accepted means the same. */
static void t_callconvs(void **st)
{
    (void)st;
    static const uint8_t cc[] = {0x01, 0x02, 0x03, 0x04, 0x09};
    for (size_t i = 0; i < sizeof cc; i++) {
        uint8_t sig[4] = {cc[i], 1, 0x04, 0x04};
        const void *ck = mk_cookie(ret_cookie_buf, 0, 0, sig, 4);
        site_reset(ck);
        S.gpr[0] = 0x1ff;
        R.ret_gpr = 0x80;
        test_site(&S);
        assert_int_equal(R.gpr[0], 0xffffffffull);
        assert_int_equal(S.ret_gpr, 0xffffff80ull);
    }
}

/* ---- the cookie is never written ------------------------------------------ */

static void t_cookie_untouched(void **st)
{
    (void)st;
    unsigned char before[sizeof ck_str];
    memcpy(before, &ck_str, sizeof before);
    site_reset(&ck_str);
    setup_str();
    test_site(&S);
    assert_memory_equal(before, &ck_str, sizeof before);
}

/* ---- unwinding through the helper ---------------------------------------- */

static uintptr_t bt_ips[64];
static int bt_n;
static _Unwind_Reason_Code bt_cb(struct _Unwind_Context *ctx, void *arg)
{
    (void)arg;
    if (bt_n < 64)
        bt_ips[bt_n++] = _Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}
static uint64_t bt_target(void)
{
    bt_n = 0;
    _Unwind_Backtrace(bt_cb, 0);
    return 42;
}
COOKIE(ck_bt, 0, &rt_log.rt, 0x09, 0, 0x0A);
static uintptr_t bt_caller_ret;
__attribute__((noinline)) static uint64_t bt_caller(void)
{
    bt_caller_ret = (uintptr_t)__builtin_return_address(0);
    /* bt_site takes the target and the cookie in rdi / rsi */
    uint64_t (*site)(void *, const void *) = (uint64_t(*)(void *, const void *))(void *)bt_site;
    uint64_t r = site((void *)bt_target, &ck_bt);
    __asm__ volatile("" ::: "memory");
    return r;
}
static void t_backtrace(void **st)
{
    (void)st;
    calli_refrt_init(&rt_log, 0);
    bt_caller_ret = 0;
    bt_site_ret = 0;
    assert_int_equal(bt_caller(), 42);
    assert_true(bt_n > 5);
    /* The walk from the target passes, in order: an IP inside bt_site (its
     * call of the helper), the return address into bt_caller, and the one
     * into this function: every frame in between (invoke trampoline,
     * dispatcher, helper) unwound correctly. */
    int i_site = -1, i_caller = -1, i_test = -1;
    for (int i = 0; i < bt_n; i++) {
        if (i_site < 0 && bt_ips[i] > (uintptr_t)(void *)bt_site && bt_ips[i] < (uintptr_t)(void *)bt_site + 64)
            i_site = i;
        if (i_caller < 0 && bt_ips[i] == bt_site_ret)
            i_caller = i;
        if (i_test < 0 && bt_ips[i] == bt_caller_ret)
            i_test = i;
    }
    assert_true(i_site > 2); /* target, invoke, dispatcher/helper below it */
    assert_int_equal(i_caller, i_site + 1);
    assert_int_equal(i_test, i_caller + 1);
}

/* ---- fatal errors (forked children) ----------------------------------- */

static void run_child_site(const void *cookie, int strings)
{
    site_reset(cookie);
    capturing = 0;
    if (strings) {
        S.gpr[0] = (uint64_t)&ms_hi;
    }
    test_site(&S);
}

/* Fork, run the site in the child; expect SIGABRT and exactly `line` on stderr. */
static void expect_fatal(const void *cookie, int strings, const char *line, int prefix_only)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        dup2(fds[1], 1);
        run_child_site(cookie, strings);
        _exit(0); /* not reached if the helper aborts */
    }
    close(fds[1]);
    char buf[1024];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("child did not abort (status 0x%x), output: %s", status, buf);
    if (prefix_only) {
        if (strncmp(buf, line, strlen(line)) != 0)
            fail_msg("stderr %s does not start with %s", buf, line);
        /* exactly one line */
        assert_non_null(strchr(buf, '\n'));
        assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len);
    } else {
        assert_string_equal(buf, line);
    }
}

static char *fatal_prefix(const void *cookie, char *buf, size_t cap)
{
    snprintf(buf, cap, "GenericPInvokeCalliHelper: fatal: cookie 0x%016llx: ",
             (unsigned long long)(uintptr_t)cookie);
    return buf;
}

static _Alignas(8) unsigned char bad_buf[8][64];
static struct calli_runtime bad_rt;

static void t_fatal_cookies(void **st)
{
    (void)st;
    char want[512], pre[128];
    const uint8_t ok_sig[] = {0x09, 1, 0x08, 0x08};
    struct calli_cookie *c;

    c = (struct calli_cookie *)mk_cookie(bad_buf[0], 0, 0, ok_sig, 4);
    c->magic = 0x494c4144;
    snprintf(want, sizeof want, "%sbad magic 0x494c4144 (expected 0x494c4143)\n",
             fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    c = (struct calli_cookie *)mk_cookie(bad_buf[1], 0, 0, ok_sig, 4);
    c->version = 2;
    snprintf(want, sizeof want, "%sunsupported version 2 (expected 1)\n", fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    c = (struct calli_cookie *)mk_cookie(bad_buf[2], 0x8003, 0, ok_sig, 4);
    snprintf(want, sizeof want, "%sunknown flag bits 0x8002\n", fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    c = (struct calli_cookie *)mk_cookie(bad_buf[3], 0, 0, ok_sig, 4);
    c->sig_len = 65537;
    snprintf(want, sizeof want, "%ssig_len 65537 exceeds the limit 65536\n", fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    bad_rt.abi_version = 7;
    c = (struct calli_cookie *)mk_cookie(bad_buf[4], 0, &bad_rt, ok_sig, 4);
    snprintf(want, sizeof want, "%sruntime abi_version 7 (expected 1)\n", fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    const uint8_t str_sig[] = {0x09, 2, 0x01, 0x08, 0x0E};
    c = (struct calli_cookie *)mk_cookie(bad_buf[5], 0, 0, str_sig, 5);
    snprintf(want, sizeof want, "%sSTRING parameter 1 with a null runtime\n", fatal_prefix(c, pre, sizeof pre));
    expect_fatal(c, 0, want, 0);

    /* Signature errors: the decoder's own reason, verbatim. */
    const uint8_t vararg_sig[] = {0x05, 1, 0x08, 0x08};
    c = (struct calli_cookie *)mk_cookie(bad_buf[6], 0, 0, vararg_sig, 4);
    struct calli_sig sig;
    struct calli_sig_error err;
    assert_int_not_equal(calli_sig_parse(vararg_sig, 4, &sig, &err), CALLI_SIG_OK);
    char reason[256];
    calli_sig_reason(&err, reason, sizeof reason);
    snprintf(want, sizeof want, "%s%s\n", fatal_prefix(c, pre, sizeof pre), reason);
    expect_fatal(c, 0, want, 0);

    const uint8_t valuetype_sig[] = {0x09, 1, 0x08, 0x11, 0x08};
    c = (struct calli_cookie *)mk_cookie(bad_buf[7], 0, 0, valuetype_sig, 5);
    assert_int_not_equal(calli_sig_parse(valuetype_sig, 5, &sig, &err), CALLI_SIG_OK);
    calli_sig_reason(&err, reason, sizeof reason);
    snprintf(want, sizeof want, "%s%s\n", fatal_prefix(c, pre, sizeof pre), reason);
    expect_fatal(c, 0, want, 0);

    c = (struct calli_cookie *)mk_cookie(bad_buf[7], 0, 0, ok_sig, 0); /* empty blob */
    expect_fatal(c, 0, fatal_prefix(c, pre, sizeof pre), 1);

    expect_fatal(0, 0, "GenericPInvokeCalliHelper: fatal: cookie 0x0000000000000000: null cookie pointer\n", 0);
}

/* The runtime's own fatal error goes through the helper unchanged. */
static struct mstr ms_neg = {0, -3, {0}};
COOKIE(ck_neg, 0, &rt_log.rt, 0x09, 1, 0x01, 0x0E);
static void t_fatal_negative_length(void **st)
{
    (void)st;
    calli_refrt_init(&rt_log, 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        site_reset(&ck_neg);
        capturing = 0;
        S.gpr[0] = (uint64_t)&ms_neg;
        test_site(&S);
        _exit(0);
    }
    close(fds[1]);
    char buf[256] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    (void)n;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    assert_string_equal(buf, "calli_refrt: fatal: string_to_native: negative length -3\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_i4_unchanged),
        cmocka_unit_test(t_small_args),
        cmocka_unit_test(t_small_returns),
        cmocka_unit_test(t_floats),
        cmocka_unit_test(t_c_targets),
        cmocka_unit_test(t_zero_params),
        cmocka_unit_test(t_20_params),
        cmocka_unit_test(t_64_params),
        cmocka_unit_test(t_random),
        cmocka_unit_test(t_strings),
        cmocka_unit_test(t_string_on_stack),
        cmocka_unit_test(t_sgc_and_null_runtime),
        cmocka_unit_test(t_callconvs),
        cmocka_unit_test(t_cookie_untouched),
        cmocka_unit_test(t_backtrace),
        cmocka_unit_test(t_fatal_cookies),
        cmocka_unit_test(t_fatal_negative_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_runtime_abi.c - the generic helper's C core (runtime/dispatch.c,
 * calli_rt_call) for every ABI, on the host: a recording `invoke` stands in
 * for the assembly trampoline, so the marshaling of Microsoft x64, AAPCS64
 * and Apple arm64 (register assignment, stack offsets, normalization in
 * registers and in stack slots) is checked here exactly; the assembly of
 * those ABIs is checked by the smoke tests under wine and qemu
 * (tests/runtime/). Also: the order of effects with a recording runtime
 * table, and the value conversions one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../runtime/calli_dispatch.h"
#include "calli_runtime.h"

/* ---- recording invoke ------------------------------------------------- */

static struct calli_invoke seen;
static unsigned char seen_stack[1024];
static int invoked;
static uint64_t ret_gpr = 0x7777777777777777ull, ret_fpr[2] = {0x6666666666666666ull, 0x5555555555555555ull};
static char events[512];

static void ev(const char *s)
{
    strncat(events, s, sizeof events - strlen(events) - 1);
}

static void rec_invoke(struct calli_invoke *inv)
{
    invoked++;
    seen = *inv;
    assert_true(inv->stack_size % 16 == 0);
    assert_true(inv->stack_size <= sizeof seen_stack);
    memcpy(seen_stack, inv->stack, inv->stack_size);
    inv->regs.ret_gpr = ret_gpr;
    inv->regs.ret_fpr[0] = ret_fpr[0];
    inv->regs.ret_fpr[1] = ret_fpr[1];
    ev("call ");
}

static _Alignas(8) unsigned char ck_buf[256];
static const struct calli_cookie *mk(uint16_t flags, const void *rt, const uint8_t *sig, uint32_t n)
{
    struct calli_cookie *c = (struct calli_cookie *)ck_buf;
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = 1;
    c->flags = flags;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = n;
    memcpy(c->sig, sig, n);
    return c;
}

static struct calli_regs save;
static uint64_t mstack[64];

static void reset(void)
{
    memset(&save, 0, sizeof save);
    memset(&seen, 0, sizeof seen);
    memset(seen_stack, 0xee, sizeof seen_stack);
    for (int i = 0; i < 8; i++) {
        save.gpr[i] = 0xa5a5a5a5a5a5a500ull | (uint64_t)i;
        save.fpr[i][0] = 0xf0f0f0f0f0f0f000ull | (uint64_t)i;
        save.fpr[i][1] = 0x0f0f0f0f0f0f0f00ull | (uint64_t)i;
    }
    for (int i = 0; i < 64; i++)
        mstack[i] = 0xc3c3c3c3c3c3c300ull | (uint64_t)i;
    invoked = 0;
    events[0] = 0;
}

static void call(enum calli_abi abi, const struct calli_cookie *ck)
{
    calli_rt_call(abi, &save, (const unsigned char *)mstack, (void *)0x1234, ck, rec_invoke);
    assert_int_equal(invoked, 1);
    assert_ptr_equal(seen.target, (void *)0x1234);
}

/* ---- value conversions ------------------------------------------------ */

static void t_values(void **st)
{
    (void)st;
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_BOOL, 0xffffffffffffff00ull), 0);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_BOOL, 0x0000000000000080ull), 1);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_CHAR, 0xffffffffffffffffull), 0xffff);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_I1, 0x80), 0xffffff80ull);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_U1, 0xfff80), 0x80);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_I2, 0x18000), 0xffff8000ull);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_U2, 0x18000), 0x8000);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_I4, 0xdeadbeef80000000ull), 0xdeadbeef80000000ull);
    assert_int_equal(calli_rt_arg_to_native(CALLI_T_R4, 0xdeadbeef3f800000ull), 0xdeadbeef3f800000ull);
    assert_int_equal(calli_rt_ret_to_managed(CALLI_T_BOOL, 0xffffffff00000000ull), 0);
    assert_int_equal(calli_rt_ret_to_managed(CALLI_T_BOOL, 0x0000000000010000ull), 1);
    assert_int_equal(calli_rt_ret_to_managed(CALLI_T_I1, 0xff), 0xffffffffull);
    assert_int_equal(calli_rt_ret_to_managed(CALLI_T_I2, 0x12345), 0x2345);
    assert_int_equal(calli_rt_ret_to_managed(CALLI_T_U8, 0xfedcba9876543210ull), 0xfedcba9876543210ull);
}

/* ---- Microsoft x64: positional registers, stack after the home area ----- */

static void t_win64(void **st)
{
    (void)st;
    /* int8 f(int32, float64, bool, float32, int8, float64, int64, uint16) */
    const uint8_t sig[] = {0x09, 8, 0x04, 0x08, 0x0D, 0x02, 0x0C, 0x04, 0x0D, 0x0A, 0x07};
    reset();
    save.gpr[2] = 0x1234567800000101ull;   /* bool in r8 (position 2): low byte 1 */
    mstack[0] = 0xffffffffffffff80ull;     /* int8 at [rsp+40]: -128 */
    mstack[3] = 0xabcdef0000018000ull;     /* uint16 */
    ret_gpr = 0x00000000000001ffull;
    call(CALLI_ABI_WIN_X64, mk(1, 0, sig, sizeof sig));
    assert_int_equal(seen.regs.gpr[0], save.gpr[0]);     /* int32 unchanged in rcx */
    assert_int_equal(seen.regs.fpr[1][0], save.fpr[1][0]); /* float64 in xmm1 */
    assert_int_equal(seen.regs.fpr[1][1], save.fpr[1][1]);
    assert_int_equal(seen.regs.gpr[2], 1);              /* bool in r8 */
    assert_int_equal(seen.regs.fpr[3][0], save.fpr[3][0]); /* float32 in xmm3 */
    assert_int_equal(seen.regs.gpr[1], 0);              /* rdx, xmm0, xmm2, r9: unused */
    assert_int_equal(seen.regs.gpr[3], 0);
    assert_int_equal(seen.stack_size, 32);
    uint64_t slot[4];
    memcpy(slot, seen_stack, 32);
    assert_int_equal(slot[0], 0xffffff80ull);
    assert_int_equal(slot[1], mstack[1]);
    assert_int_equal(slot[2], mstack[2]);
    assert_int_equal(slot[3], 0x8000);
    assert_int_equal(save.ret_gpr, 0xffffffffull); /* int8 -1, upper 32 zero */
    assert_int_equal(save.ret_fpr[0], ret_fpr[0]);
    assert_int_equal(save.ret_fpr[1], ret_fpr[1]);
    ret_gpr = 0x7777777777777777ull;
}

/* ---- AAPCS64: 8 + 8 registers, independent counters, 8-byte slots ------- */

static void t_aapcs64(void **st)
{
    (void)st;
    /* void f(i1 x10, r8 x9, u1) : 9 integer-class (1 on the stack), 9 fp (1 on the stack), u1 stack */
    uint8_t sig[3 + 20] = {0x09, 20, 0x01};
    for (int i = 0; i < 9; i++)
        sig[3 + i] = 0x04;
    for (int i = 0; i < 9; i++)
        sig[12 + i] = 0x0D;
    sig[21] = 0x05;
    sig[22] = 0x02;
    reset();
    call(CALLI_ABI_AAPCS64, mk(1, 0, sig, sizeof sig));
    for (int i = 0; i < 8; i++) {
        assert_int_equal(seen.regs.gpr[i], (uint64_t)i); /* (int8)i, as low byte 0..7 */
        assert_int_equal(seen.regs.fpr[i][0], save.fpr[i][0]);
    }
    assert_int_equal(seen.stack_size, 32); /* 4 slots */
    uint64_t slot[4];
    memcpy(slot, seen_stack, 32);
    assert_int_equal(slot[0], 0);          /* 9th int8: mstack[0] low byte 0x00 */
    assert_int_equal(slot[1], mstack[1]);  /* 9th float64 */
    assert_int_equal(slot[2], 2);          /* u1: low byte 0x02 */
    assert_int_equal(slot[3], 1);          /* bool: low byte 0x03 -> 1 */
}

/* ---- Apple arm64: packed stack, bool grows to 4 bytes ------------------ */

static void t_apple(void **st)
{
    (void)st;
    /* void f(i8 x8, bool, i2, i4, bool, i8) */
    uint8_t sig[3 + 13] = {0x09, 13, 0x01};
    for (int i = 0; i < 8; i++)
        sig[3 + i] = 0x0A;
    sig[11] = 0x02;
    sig[12] = 0x06;
    sig[13] = 0x08;
    sig[14] = 0x02;
    sig[15] = 0x0A;
    reset();
    unsigned char *m = (unsigned char *)mstack;
    memset(m, 0xcc, 64);
    /* managed packed: bool@0 (1), i2@2 (2), i4@4 (4), bool@8 (1), i8@16 (8) */
    m[0] = 0x10;
    m[2] = 0x00;
    m[3] = 0x80;
    memcpy(m + 4, "\x01\x02\x03\x04", 4);
    m[8] = 0x00;
    memcpy(m + 16, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    call(CALLI_ABI_APPLE_ARM64, mk(1, 0, sig, sizeof sig));
    /* native packed: bool@0 (4), i2@4 (2), i4@8 (4), bool@12 (4), i8@16 (8) */
    uint32_t b0, i4, b1;
    uint16_t i2;
    uint64_t i8;
    memcpy(&b0, seen_stack + 0, 4);
    memcpy(&i2, seen_stack + 4, 2);
    memcpy(&i4, seen_stack + 8, 4);
    memcpy(&b1, seen_stack + 12, 4);
    memcpy(&i8, seen_stack + 16, 8);
    assert_int_equal(b0, 1);
    assert_int_equal(i2, 0x8000);
    assert_int_equal(i4, 0x04030201);
    assert_int_equal(b1, 0);
    assert_int_equal(i8, 0x8877665544332211ull);
    assert_int_equal(seen.stack_size, 32);
}

/* ---- order of effects with a recording runtime table ------------------- */

static char bufs[4][24];
static int nbuf;
static void r_enter(void *ctx) { assert_ptr_equal(ctx, (void *)0xc7c7); ev("enter "); }
static void r_leave(void *ctx) { assert_ptr_equal(ctx, (void *)0xc7c7); ev("leave "); }
static char *r_s2n(const void *s, void *ctx)
{
    assert_ptr_equal(ctx, (void *)0xc7c7);
    char t[32];
    snprintf(t, sizeof t, "s2n(%lx) ", (unsigned long)(uintptr_t)s);
    ev(t);
    if (!s)
        return 0;
    snprintf(bufs[nbuf], sizeof bufs[nbuf], "%lx", (unsigned long)(uintptr_t)s);
    return bufs[nbuf++];
}
static void r_free(char *p, void *ctx)
{
    assert_ptr_equal(ctx, (void *)0xc7c7);
    char t[32];
    snprintf(t, sizeof t, "free(%s) ", p ? p : "null");
    ev(t);
}
static const struct calli_runtime rrt = {1, (void *)0xc7c7, r_enter, r_leave, r_s2n, r_free};

static void t_order(void **st)
{
    (void)st;
    /* bool f(string, r8, string, string) on each ABI; the third string is null */
    const uint8_t sig[] = {0x09, 4, 0x02, 0x0E, 0x0D, 0x0E, 0x0E};
    const enum calli_abi abis[] = {CALLI_ABI_SYSV_X64, CALLI_ABI_WIN_X64, CALLI_ABI_AAPCS64,
                                   CALLI_ABI_APPLE_ARM64};
    for (size_t a = 0; a < 4; a++) {
        for (int sgc = 0; sgc < 2; sgc++) {
            reset();
            nbuf = 0;
            int win = abis[a] == CALLI_ABI_WIN_X64;
            /* integer-class: positions 0, 2, 3 (Win64) or gpr 0, 1, 2 */
            save.gpr[0] = 0xa1;
            save.gpr[win ? 2 : 1] = 0xa2;
            save.gpr[win ? 3 : 2] = 0;
            ret_gpr = 0xffffffff00000000ull; /* BOOL false: only the low 32 bits count */
            call(abis[a], mk((uint16_t)sgc, &rrt, sig, sizeof sig));
            assert_string_equal(events, sgc ? "s2n(a1) s2n(a2) s2n(0) call free(a1) free(a2) free(null) "
                                            : "s2n(a1) s2n(a2) s2n(0) enter call leave free(a1) free(a2) free(null) ");
            assert_ptr_equal((void *)seen.regs.gpr[0], bufs[0]);
            assert_ptr_equal((void *)seen.regs.gpr[win ? 2 : 1], bufs[1]);
            assert_int_equal(seen.regs.gpr[win ? 3 : 2], 0);
            assert_int_equal(save.ret_gpr, 0);
        }
    }
    ret_gpr = 0x7777777777777777ull;
}

/* No string parameter and runtime 0: nothing but the call. */
static void t_no_runtime(void **st)
{
    (void)st;
    const uint8_t sig[] = {0x09, 1, 0x0D, 0x0D};
    reset();
    call(CALLI_ABI_SYSV_X64, mk(0, 0, sig, sizeof sig));
    assert_string_equal(events, "call ");
    assert_int_equal(save.ret_gpr, ret_gpr);
    assert_int_equal(save.ret_fpr[0], ret_fpr[0]);
    assert_int_equal(save.ret_fpr[1], ret_fpr[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_values), cmocka_unit_test(t_win64), cmocka_unit_test(t_aapcs64),
        cmocka_unit_test(t_apple),  cmocka_unit_test(t_order), cmocka_unit_test(t_no_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

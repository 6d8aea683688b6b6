/* test_layout.c - argument locations per ABI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "calli_layout.h"

static struct calli_sig make_sig(uint8_t ret, unsigned n, const uint8_t *params)
{
    struct calli_sig s;
    memset(&s, 0, sizeof s);
    s.callconv = 9;
    s.ret = ret;
    s.nparams = (uint16_t)n;
    memcpy(s.params, params, n);
    return s;
}

static void expect_loc(const struct calli_loc *l, int kind, int reg, uint32_t off, int size)
{
    assert_int_equal(l->kind, kind);
    if (kind == CALLI_LOC_STACK)
        assert_int_equal(l->stack_off, off);
    else
        assert_int_equal(l->reg, reg);
    assert_int_equal(l->size, size);
}

/* SysV: 6 integer + 8 fp registers, independent; the rest in 8-byte slots. */
static void test_sysv_mixed(void **state)
{
    (void)state;
    uint8_t p[16];
    for (int i = 0; i < 8; i++) p[i] = CALLI_T_I4;        /* 6 in regs, 2 on stack */
    for (int i = 8; i < 16; i++) p[i] = CALLI_T_R8;       /* 8 in xmm */
    struct calli_sig s = make_sig(CALLI_T_R8, 16, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_SYSV_X64, &l), 0);
    for (int i = 0; i < 6; i++) expect_loc(&l.managed[i], CALLI_LOC_GPR, i, 0, 4);
    expect_loc(&l.managed[6], CALLI_LOC_STACK, 0, 0, 4);
    expect_loc(&l.managed[7], CALLI_LOC_STACK, 0, 8, 4);
    for (int i = 8; i < 16; i++) expect_loc(&l.managed[i], CALLI_LOC_FPR, i - 8, 0, 8);
    assert_int_equal(l.managed_stack_size, 16);
    assert_int_equal(l.native_stack_size, 16);
    assert_int_equal(l.ret_kind, CALLI_LOC_FPR);
}

/* SysV: a ninth double goes to the stack after an earlier stack integer. */
static void test_sysv_stack_order(void **state)
{
    (void)state;
    uint8_t p[17];
    for (int i = 0; i < 7; i++) p[i] = CALLI_T_I8;   /* 7th (index 6) on stack at 0 */
    for (int i = 7; i < 16; i++) p[i] = CALLI_T_R4;  /* 9th fp (index 15) on stack at 8 */
    p[16] = CALLI_T_BOOL;                            /* stack at 16, native size 4 */
    struct calli_sig s = make_sig(CALLI_T_VOID, 17, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_SYSV_X64, &l), 0);
    expect_loc(&l.managed[6], CALLI_LOC_STACK, 0, 0, 8);
    expect_loc(&l.managed[15], CALLI_LOC_STACK, 0, 8, 4);
    expect_loc(&l.managed[16], CALLI_LOC_STACK, 0, 16, 1);
    expect_loc(&l.native[16], CALLI_LOC_STACK, 0, 16, 4);
    assert_int_equal(l.managed_stack_size, 24);
    assert_int_equal(l.native_stack_size, 32); /* 16-aligned */
    assert_int_equal(l.ret_kind, 0);
}

/* Win64: positional; the fifth argument is the first stack slot. */
static void test_win64_positional(void **state)
{
    (void)state;
    const uint8_t p[6] = {CALLI_T_R8, CALLI_T_I4, CALLI_T_R4, CALLI_T_STRING, CALLI_T_R8, CALLI_T_CHAR};
    struct calli_sig s = make_sig(CALLI_T_BOOL, 6, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_WIN_X64, &l), 0);
    expect_loc(&l.managed[0], CALLI_LOC_FPR, 0, 0, 8);
    expect_loc(&l.managed[1], CALLI_LOC_GPR, 1, 0, 4);
    expect_loc(&l.managed[2], CALLI_LOC_FPR, 2, 0, 4);
    expect_loc(&l.managed[3], CALLI_LOC_GPR, 3, 0, 8);
    expect_loc(&l.managed[4], CALLI_LOC_STACK, 0, 0, 8);
    expect_loc(&l.managed[5], CALLI_LOC_STACK, 0, 8, 2);
    assert_int_equal(l.managed_stack_size, 16);
    assert_int_equal(l.ret_kind, CALLI_LOC_GPR);
}

/* AAPCS64: 8 + 8 registers; stack slots of 8 bytes. */
static void test_aapcs64(void **state)
{
    (void)state;
    uint8_t p[20];
    for (int i = 0; i < 10; i++) p[i] = CALLI_T_U2;
    for (int i = 10; i < 20; i++) p[i] = CALLI_T_R4;
    struct calli_sig s = make_sig(CALLI_T_I1, 20, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_AAPCS64, &l), 0);
    for (int i = 0; i < 8; i++) expect_loc(&l.managed[i], CALLI_LOC_GPR, i, 0, 2);
    expect_loc(&l.managed[8], CALLI_LOC_STACK, 0, 0, 2);
    expect_loc(&l.managed[9], CALLI_LOC_STACK, 0, 8, 2);
    for (int i = 10; i < 18; i++) expect_loc(&l.managed[i], CALLI_LOC_FPR, i - 10, 0, 4);
    expect_loc(&l.managed[18], CALLI_LOC_STACK, 0, 16, 4);
    expect_loc(&l.managed[19], CALLI_LOC_STACK, 0, 24, 4);
    assert_int_equal(l.native_stack_size, 32);
}

/* Apple arm64: stack arguments packed by natural size; BOOL grows to 4. */
static void test_apple_arm64_packed(void **state)
{
    (void)state;
    uint8_t p[13];
    for (int i = 0; i < 8; i++) p[i] = CALLI_T_I8;
    p[8] = CALLI_T_BOOL;  /* managed 0 (1 byte);  native 0 (4 bytes) */
    p[9] = CALLI_T_I1;    /* managed 1;           native 4 */
    p[10] = CALLI_T_CHAR; /* managed 2;           native 6 */
    p[11] = CALLI_T_I4;   /* managed 4;           native 8 */
    p[12] = CALLI_T_I8;   /* managed 8;           native 16 */
    struct calli_sig s = make_sig(CALLI_T_VOID, 13, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_APPLE_ARM64, &l), 0);
    expect_loc(&l.managed[8], CALLI_LOC_STACK, 0, 0, 1);
    expect_loc(&l.native[8], CALLI_LOC_STACK, 0, 0, 4);
    expect_loc(&l.managed[9], CALLI_LOC_STACK, 0, 1, 1);
    expect_loc(&l.native[9], CALLI_LOC_STACK, 0, 4, 1);
    expect_loc(&l.managed[10], CALLI_LOC_STACK, 0, 2, 2);
    expect_loc(&l.native[10], CALLI_LOC_STACK, 0, 6, 2);
    expect_loc(&l.managed[11], CALLI_LOC_STACK, 0, 4, 4);
    expect_loc(&l.native[11], CALLI_LOC_STACK, 0, 8, 4);
    expect_loc(&l.managed[12], CALLI_LOC_STACK, 0, 8, 8);
    expect_loc(&l.native[12], CALLI_LOC_STACK, 0, 16, 8);
    assert_int_equal(l.managed_stack_size, 16);
    assert_int_equal(l.native_stack_size, 32);
}

static void test_bad_input(void **state)
{
    (void)state;
    const uint8_t p[1] = {CALLI_T_VOID};
    struct calli_sig s = make_sig(CALLI_T_VOID, 1, p);
    struct calli_layout l;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_SYSV_X64, &l), -1); /* VOID parameter */
    s.nparams = 0;
    assert_int_equal(calli_layout_compute(&s, (enum calli_abi)99, &l), -1);
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_SYSV_X64, &l), 0);
    assert_int_equal(l.native_stack_size, 0);
    s.nparams = CALLI_SIG_MAX_PARAMS + 1;
    assert_int_equal(calli_layout_compute(&s, CALLI_ABI_SYSV_X64, &l), -1);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(calli_type_managed_size(CALLI_T_BOOL), 1);
    assert_int_equal(calli_type_native_size(CALLI_T_BOOL), 4);
    assert_int_equal(calli_type_native_size(CALLI_T_CHAR), 2);
    assert_int_equal(calli_type_native_size(CALLI_T_STRING), 8);
    assert_int_equal(calli_type_managed_size(CALLI_T_VOID), 0);
    assert_true(calli_type_is_fp(CALLI_T_R4));
    assert_false(calli_type_is_fp(CALLI_T_I8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysv_mixed),
        cmocka_unit_test(test_sysv_stack_order),
        cmocka_unit_test(test_win64_positional),
        cmocka_unit_test(test_aapcs64),
        cmocka_unit_test(test_apple_arm64_packed),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}

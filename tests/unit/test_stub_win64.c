/* test_stub_win64.c - the Microsoft x64 stub generator's exact output for
 * the examples of docs/stubs.md section 9, and stub_win64_unwind_info
 * against the assembler: the expected UNWIND_INFO bytes are what
 * x86_64-w64-mingw32-as produced for the hand-written .seh_* functions of
 * tests/stub_win/seh_ref.S (objdump -s -j .xdata; llvm-readobj --unwind
 * decodes them as in the comments there). The stubs themselves are proven
 * under wine by tests/stub_win/ (make check-stub-win64), which also compares
 * stub_win64_unwind_info with the assembler for hundreds of generated stubs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "calli_layout.h"
#include "calli_sig.h"
#include "stub.h"

static struct calli_sig mk(uint8_t ret, unsigned n, const uint8_t *p)
{
    struct calli_sig s;
    memset(&s, 0, sizeof s);
    s.callconv = 9;
    s.ret = ret;
    s.nparams = (uint16_t)n;
    if (n)
        memcpy(s.params, p, n);
    return s;
}

static void gen(struct stub_code *c, uint8_t ret, unsigned n, const uint8_t *p, int sgc, int ibt)
{
    struct calli_sig s = mk(ret, n, p);
    struct stub_opts o = {.ibt = ibt};
    char err[160];
    assert_int_equal(stub_generate(CALLI_ABI_WIN_X64, &s, sgc, &o, c, err, sizeof err), STUB_OK);
}

static void expect_uw(const struct stub_code *c, const uint8_t *want, size_t n)
{
    uint8_t b[4 + 2 * 256];
    size_t len = 0;
    assert_int_equal(stub_win64_unwind_info(c, b, sizeof b, &len), STUB_OK);
    assert_int_equal(len, n);
    assert_memory_equal(b, want, n);
}

/* The bytes of the seh_ref.S functions, as the assembler wrote them. */
static const uint8_t ref_i4_s_b[] = {0x01, 0x05, 0x02, 0x00, 0x05, 0x72, 0x01, 0x30};
static const uint8_t ref_b_i4_sgc[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00};
static const uint8_t ref_frame[] = {0x01, 0x1b, 0x0b, 0x85, 0x1b, 0x03, 0x13, 0x01, 0x00, 0x02,
                                    0x0c, 0xf0, 0x0a, 0xe0, 0x08, 0xd0, 0x06, 0xc0, 0x04, 0x70,
                                    0x03, 0x60, 0x02, 0x30, 0x01, 0x50, 0x00, 0x00};
static const uint8_t ref_save[] = {0x01, 0x14, 0x08, 0x00, 0x14, 0x65, 0x00, 0x00, 0x08, 0x00,
                                   0x0c, 0x34, 0x02, 0x00, 0x07, 0x11, 0xc0, 0x27, 0x09, 0x00};
static const uint8_t ref_fp240[] = {0x01, 0x11, 0x04, 0xfd, 0x11, 0x03, 0x09, 0x01,
                                    0x20, 0x00, 0x02, 0xd0};

/* Stubs: the examples of docs/stubs.md section 9, byte for byte. */
static void test_shapes(void **state)
{
    (void)state;
    struct stub_code c;
    /* void () suppress-gc: jmp r10; with IBT endbr64 first; no frame */
    gen(&c, CALLI_T_VOID, 0, 0, 1, 0);
    assert_int_equal(c.len, 3);
    assert_memory_equal(c.bytes, "\x41\xff\xe2", 3);
    assert_true(!c.has_frame && c.tail_call && c.nunwind == 0);
    expect_uw(&c, (const uint8_t *)"\x01\x00\x00\x00", 4);
    stub_code_free(&c);
    gen(&c, CALLI_T_VOID, 0, 0, 1, 1);
    assert_int_equal(c.len, 7);
    assert_memory_equal(c.bytes, "\xf3\x0f\x1e\xfa\x41\xff\xe2", 7);
    stub_code_free(&c);
    /* int32 (int8, bool, char16) suppress-gc: normalised in rcx, rdx, r8 */
    gen(&c, CALLI_T_I4, 3, (const uint8_t[]){CALLI_T_I1, CALLI_T_BOOL, CALLI_T_CHAR}, 1, 0);
    assert_int_equal(c.len, 18);
    assert_memory_equal(c.bytes, "\x0f\xbe\xc9\x84\xd2\x0f\x95\xc2\x0f\xb6\xd2\x45\x0f\xb7\xc0"
                                 "\x41\xff\xe2", 18);
    stub_code_free(&c);
    /* bool (int32) suppress-gc: sub rsp, 40 for the target's home area */
    gen(&c, CALLI_T_BOOL, 1, (const uint8_t[]){CALLI_T_I4}, 1, 0);
    assert_int_equal(c.len, 20);
    assert_memory_equal(c.bytes, "\x48\x83\xec\x28\x41\xff\xd2\x85\xc0\x0f\x95\xc0\x0f\xb6\xc0"
                                 "\x48\x83\xc4\x28\xc3", 20);
    assert_true(c.has_frame && !c.tail_call);
    assert_int_equal(c.frame_start, 0);
    assert_int_equal(c.prologue_end, 4);
    assert_int_equal(c.epilogue_start, 15);
    assert_int_equal(c.frame_size, 48);
    assert_int_equal(c.saved_regs, 0);
    expect_uw(&c, ref_b_i4_sgc, sizeof ref_b_i4_sgc);
    stub_code_free(&c);
    /* int64 (int64): runtime test, frameless tail path, framed body */
    gen(&c, CALLI_T_I8, 1, (const uint8_t[]){CALLI_T_I8}, 0, 0);
    static const uint8_t i8_i8[] =
        "\x49\x83\x7b\x08\x00\x75\x03\x41\xff\xe2\x53\x48\x83\xec\x30\x49\x8b\x5b\x08\x4c"
        "\x89\x54\x24\x20\x48\x89\x4c\x24\x28\x48\x8b\x4b\x08\xff\x53\x10\x48\x8b\x4c\x24\x28"
        "\xff\x54\x24\x20\x48\x89\x44\x24\x20\x48\x8b\x4b\x08\xff\x53\x18\x48\x8b\x44\x24\x20"
        "\x48\x83\xc4\x30\x5b\xc3";
    assert_int_equal(c.len, sizeof i8_i8 - 1);
    assert_memory_equal(c.bytes, i8_i8, c.len);
    assert_true(c.has_frame && c.tail_call);
    assert_int_equal(c.frame_start, 10);
    assert_int_equal(c.prologue_end, 15);
    assert_int_equal(c.frame_size, 64);
    assert_int_equal(c.saved_regs, 1u << STUB_X86_RBX);
    /* offsets from frame_start: push rbx ends at 1, sub rsp, 0x30 at 5 */
    expect_uw(&c, (const uint8_t *)"\x01\x05\x02\x00\x05\x52\x01\x30", 8);
    stub_code_free(&c);
    /* int32 (string, bool): framed from the first byte */
    gen(&c, CALLI_T_I4, 2, (const uint8_t[]){CALLI_T_STRING, CALLI_T_BOOL}, 0, 0);
    static const uint8_t i4_s_b[] =
        "\x53\x48\x83\xec\x40\x49\x8b\x5b\x08\x4c\x89\x54\x24\x20\x48\x89\x54\x24\x30\x48\x8b"
        "\x53\x08\xff\x53\x20\x48\x89\x44\x24\x28\x48\x8b\x4b\x08\xff\x53\x10\x48\x8b\x4c\x24"
        "\x28\x31\xd2\x80\x7c\x24\x30\x00\x0f\x95\xc2\xff\x54\x24\x20\x48\x89\x44\x24\x20\x48"
        "\x8b\x4b\x08\xff\x53\x18\x48\x8b\x4c\x24\x28\x48\x8b\x53\x08\xff\x53\x28\x48\x8b\x44"
        "\x24\x20\x48\x83\xc4\x40\x5b\xc3";
    assert_int_equal(c.len, sizeof i4_s_b - 1);
    assert_memory_equal(c.bytes, i4_s_b, c.len);
    assert_int_equal(c.frame_size, 80);
    expect_uw(&c, ref_i4_s_b, sizeof ref_i4_s_b);
    stub_code_free(&c);
    /* the largest frame: 64 strings, 1040 bytes allocated (ALLOC_LARGE) */
    uint8_t ss[CALLI_SIG_MAX_PARAMS];
    memset(ss, CALLI_T_STRING, sizeof ss);
    gen(&c, CALLI_T_VOID, CALLI_SIG_MAX_PARAMS, ss, 0, 0);
    assert_int_equal(c.frame_size, 1056);
    expect_uw(&c, (const uint8_t *)"\x01\x08\x03\x00\x08\x01\x82\x00\x01\x30\x00\x00", 12);
    stub_code_free(&c);
}

/* A hand-made description over `len` bytes of code. */
struct hstep {
    uint32_t pc;
    uint8_t op, reg;
    int32_t value;
};

static struct stub_code hand(struct stub_unwind_step *u, const struct hstep *st, size_t n,
                             uint32_t prologue_end, uint32_t len)
{
    static uint8_t nops[512];
    struct stub_code c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < n; i++)
        u[i] = (struct stub_unwind_step){.pc_off = st[i].pc, .op = st[i].op, .reg = st[i].reg,
                                         .value = st[i].value};
    c.abi = CALLI_ABI_WIN_X64;
    c.bytes = nops;
    c.len = len;
    c.has_frame = 1;
    c.prologue_end = prologue_end;
    c.epilogue_start = prologue_end;
    c.unwind = u;
    c.nunwind = n;
    return c;
}

enum { PU = STUB_UW_PUSH, AL = STUB_UW_ALLOC, FP = STUB_UW_SET_FP, SV = STUB_UW_SAVE,
       FR = STUB_UW_FREE, SF = STUB_UW_SP_FROM_FP, PO = STUB_UW_POP, RL = STUB_UW_RELOAD };

/* The other seh_ref.S functions, described step by step at the offsets of
 * their instructions. */
static const struct hstep frame_steps[] = {
    {1, PU, 5, 0}, {2, PU, 3, 0}, {3, PU, 6, 0}, {4, PU, 7, 0}, {6, PU, 12, 0}, {8, PU, 13, 0},
    {10, PU, 14, 0}, {12, PU, 15, 0}, {19, AL, 0, 0x1000}, {27, FP, 5, 128},
    {35, SF, 5, 0x1000 - 128}, {37, PO, 15, 0}, {39, PO, 14, 0}, {41, PO, 13, 0},
    {43, PO, 12, 0}, {44, PO, 7, 0}, {45, PO, 6, 0}, {46, PO, 3, 0}, {47, PO, 5, 0}};
static const struct hstep save_steps[] = {
    {7, AL, 0, 600000}, {12, SV, 3, 0x10}, {20, SV, 6, 0x80000},
    {25, RL, 3, 0}, {33, RL, 6, 0}, {40, FR, 0, 600000}};
static const struct hstep fp240_steps[] = {
    {2, PU, 13, 0}, {9, AL, 0, 256}, {17, FP, 13, 240}, {21, SF, 13, 16}, {23, PO, 13, 0}};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_reference(void **state)
{
    (void)state;
    struct stub_unwind_step u[32];
    struct stub_code c = hand(u, frame_steps, N(frame_steps), 27, 48);
    expect_uw(&c, ref_frame, sizeof ref_frame);
    c = hand(u, save_steps, N(save_steps), 20, 41);
    expect_uw(&c, ref_save, sizeof ref_save);
    c = hand(u, fp240_steps, N(fp240_steps), 17, 24);
    expect_uw(&c, ref_fp240, sizeof ref_fp240);
    /* The offsets count from frame_start (code before it is a leaf). */
    struct hstep shifted[N(fp240_steps)];
    for (size_t i = 0; i < N(fp240_steps); i++) {
        shifted[i] = fp240_steps[i];
        shifted[i].pc += 100;
    }
    c = hand(u, shifted, N(shifted), 117, 124);
    c.frame_start = 100;
    expect_uw(&c, ref_fp240, sizeof ref_fp240);
}

/* Descriptions the Windows unwinder could not follow are refused. */
static void test_refused(void **state)
{
    (void)state;
    struct stub_unwind_step u[32];
    uint8_t b[600];
    size_t len;
    struct stub_code c;
#define REFUSED(...)                                                                   \
    do {                                                                               \
        static const struct hstep st_[] = {__VA_ARGS__};                               \
        c = hand(u, st_, N(st_), pe_, 64);                                             \
        assert_int_equal(stub_win64_unwind_info(&c, b, sizeof b, &len), STUB_E_ENCODE); \
    } while (0)
    uint32_t pe_;
    /* the System V frame: mov rbp, rsp before push rbx; leave */
    pe_ = 9;
    REFUSED({1, PU, 5, 0}, {4, FP, 5, 0}, {5, PU, 3, 0}, {9, AL, 0, 24}, {20, RL, 3, 0},
            {21, SF, 5, 0}, {21, PO, 5, 0});
    /* an allocation before a push */
    pe_ = 6;
    REFUSED({4, AL, 0, 32}, {6, PU, 3, 0}, {10, FR, 0, 32}, {12, PO, 3, 0});
    /* two allocations */
    pe_ = 8;
    REFUSED({4, AL, 0, 32}, {8, AL, 0, 32}, {12, FR, 0, 64});
    /* frame offsets that are not a multiple of 16, or beyond 240 */
    pe_ = 9;
    REFUSED({1, PU, 5, 0}, {5, AL, 0, 32}, {9, FP, 5, 8}, {12, FR, 0, 32}, {13, PO, 5, 0});
    REFUSED({1, PU, 5, 0}, {5, AL, 0, 512}, {9, FP, 5, 256}, {12, FR, 0, 512}, {13, PO, 5, 0});
    /* pops in the wrong order, a pop missing, a partial free */
    pe_ = 6;
    REFUSED({1, PU, 3, 0}, {2, PU, 6, 0}, {6, AL, 0, 32}, {10, FR, 0, 32}, {11, PO, 3, 0},
            {12, PO, 6, 0});
    REFUSED({1, PU, 3, 0}, {2, PU, 6, 0}, {6, AL, 0, 32}, {10, FR, 0, 32}, {11, PO, 6, 0});
    REFUSED({1, PU, 3, 0}, {5, AL, 0, 32}, {10, FR, 0, 16}, {11, PO, 3, 0});
    /* a save before the allocation; an odd allocation; rsp pushed */
    pe_ = 9;
    REFUSED({5, SV, 3, 8}, {9, AL, 0, 32}, {12, FR, 0, 32});
    REFUSED({4, AL, 0, 20}, {8, FR, 0, 20});
    pe_ = 1;
    REFUSED({1, PU, 4, 0}, {2, PO, 4, 0});
#undef REFUSED
    /* a prologue longer than 255 bytes */
    static const struct hstep far[] = {{250, PU, 3, 0}, {257, AL, 0, 32}, {260, FR, 0, 32},
                                       {261, PO, 3, 0}};
    c = hand(u, far, N(far), 257, 262);
    assert_int_equal(stub_win64_unwind_info(&c, b, sizeof b, &len), STUB_E_ENCODE);
    c.frame_start = 200; /* from frame_start it fits */
    assert_int_equal(stub_win64_unwind_info(&c, b, sizeof b, &len), STUB_OK);

    /* Arguments, ABI, room. */
    struct stub_code s;
    gen(&s, CALLI_T_I4, 2, (const uint8_t[]){CALLI_T_STRING, CALLI_T_BOOL}, 0, 0);
    assert_int_equal(stub_win64_unwind_info(NULL, b, sizeof b, &len), STUB_E_ARG);
    assert_int_equal(stub_win64_unwind_info(&s, b, sizeof b, NULL), STUB_E_ARG);
    assert_int_equal(stub_win64_unwind_info(&s, NULL, 0, &len), STUB_E_NOMEM);
    assert_int_equal(len, 8); /* the size needed */
    assert_int_equal(stub_win64_unwind_info(&s, b, 7, &len), STUB_E_NOMEM);
    assert_int_equal(stub_win64_unwind_info(&s, b, 8, &len), STUB_OK);
    s.abi = CALLI_ABI_SYSV_X64;
    assert_int_equal(stub_win64_unwind_info(&s, b, sizeof b, &len), STUB_E_ABI);
    stub_code_free(&s);
    /* A System V stub's description, whatever its ABI says, is not Win64's. */
    struct calli_sig sig = mk(CALLI_T_I4, 2, (const uint8_t[]){CALLI_T_STRING, CALLI_T_BOOL});
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &sig, 0, 0, &s, 0, 0), STUB_OK);
    s.abi = CALLI_ABI_WIN_X64;
    assert_int_equal(stub_win64_unwind_info(&s, b, sizeof b, &len), STUB_E_ENCODE);
    stub_code_free(&s);
}

/* Every frame the generator makes is expressible, below a page (no stack
 * probe), 16-byte aligned, with the right SizeOfProlog. */
static void test_all_frames(void **state)
{
    (void)state;
    static const uint8_t types[] = {
        CALLI_T_BOOL, CALLI_T_CHAR, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2,
        CALLI_T_I4, CALLI_T_U4, CALLI_T_I8, CALLI_T_U8, CALLI_T_R4, CALLI_T_R8,
        CALLI_T_STRING, CALLI_T_PTR, CALLI_T_I, CALLI_T_U, CALLI_T_FNPTR};
    uint64_t x = 0x12345;
    unsigned framed = 0;
    for (unsigned k = 0; k < 3000; k++) {
        uint8_t p[CALLI_SIG_MAX_PARAMS];
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned n = (unsigned)(x >> 33) % (CALLI_SIG_MAX_PARAMS + 1);
        for (unsigned i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            p[i] = types[(x >> 33) % sizeof types];
        }
        uint8_t ret = k % 9 == 0 ? CALLI_T_VOID : types[k % sizeof types];
        if (ret == CALLI_T_STRING)
            ret = CALLI_T_BOOL;
        struct stub_code c;
        gen(&c, ret, n, p, (int)(k & 1), (int)(k % 5 == 0));
        uint8_t b[4 + 2 * 256];
        size_t len;
        assert_int_equal(stub_win64_unwind_info(&c, b, sizeof b, &len), STUB_OK);
        if (c.has_frame) {
            framed++;
            assert_int_equal(b[1], c.prologue_end - c.frame_start);
            assert_true(c.frame_size % 16 == 0 && c.frame_size < 4096);
        }
        stub_code_free(&c);
    }
    assert_true(framed > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_all_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

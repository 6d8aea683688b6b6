/* smoke.c - end-to-end smoke test of GenericPInvokeCalliHelper on one target
 * (x86-64 SysV / Linux, Microsoft x64 / mingw under wine, AAPCS64 / Linux
 * under qemu), through the real library of that target. The call sites are
 * assembly (smoke_<abi>.S): `site_call` loads every argument register, the
 * stack block, r10/r11 (x12/x15), sets canaries in every callee-saved
 * register, calls the helper (or a stub that tail-jumps to it) and checks the
 * canaries and the stack pointer afterwards; `bt_site` is a site with unwind
 * information for the backtrace check.
 *
 * Targets are C functions with real prototypes; those declared with
 * uint64_t parameters see whole native registers and stack slots, so the
 * normalization of small types (upper bits zero) is checked exactly.
 *
 * SMOKE_HOST selects the host primitives:
 *   0  the library's defaults: the event log goes to stdout directly
 *   1  this program defines calli_host_write and calli_host_abort
 *   2  this program defines calli_host_write only (abort from the library)
 * In every mode stdout is the event log of the reference runtime, byte for
 * byte (tests/runtime/smoke_events.txt); diagnostics go to stderr.
 * `smoke fatal` calls the helper with a bad cookie: one line on stderr, abort.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calli_host.h"
#include "calli_layout.h"
#include "calli_refrt.h"
#include "calli_runtime.h"

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#define ABI CALLI_ABI_WIN_X64
#elif defined(__x86_64__)
#include <execinfo.h>
#include <unistd.h>
#define ABI CALLI_ABI_SYSV_X64
#else
#include <execinfo.h>
#include <unistd.h>
#define ABI CALLI_ABI_AAPCS64
#endif

#ifndef SMOKE_HOST
#define SMOKE_HOST 0
#endif

/* ---- host primitives (modes 1, 2) ---------------------------------------- */

#if SMOKE_HOST >= 1
static char cap[1 << 16];
static size_t cap_len;

void calli_host_write(int stream, const void *buf, size_t len)
{
    if (stream == CALLI_HOST_OUT) {
        if (cap_len + len <= sizeof cap) {
            memcpy(cap + cap_len, buf, len);
            cap_len += len;
        }
        return;
    }
    fwrite(buf, 1, len, stderr);
    fflush(stderr);
}
#endif
#if SMOKE_HOST == 1
_Noreturn void calli_host_abort(void)
{
    fflush(stderr);
    abort();
}
#endif

/* ---- the assembly sites ---------------------------------------------------- */

struct site {
    uint64_t gpr[8];     /* 0 */
    uint64_t fpr[8];     /* 64: low 64 bits of xmm / v registers */
    const void *stack;   /* 128 */
    uint64_t stack_size; /* 136: multiple of 16 */
    void *target;        /* 144 */
    const void *cookie;  /* 152 */
    uint64_t tail;       /* 160 */
    uint64_t ret_gpr;    /* 168 */
    uint64_t ret_fpr;    /* 176 */
    uint64_t saved_ok;   /* 184: callee-saved registers and sp intact */
};
_Static_assert(offsetof(struct site, saved_ok) == 184, "site layout");

void site_call(struct site *s);
uint64_t bt_site(void *target, const void *cookie);
uint64_t bt_site_ret; /* written by bt_site: its return address into main */
extern const char bt_site_after_call[]; /* the return address of bt_site's call */

/* ---- checks ---------------------------------------------------------------- */

static int failures, checks;
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                              \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

/* ---- cookies ---------------------------------------------------------------- */

static _Alignas(8) unsigned char cookie_buf[16][128];
static int ncookies;
static const struct calli_cookie *cookie(uint16_t flags, const void *rt, const uint8_t *sig, uint32_t n)
{
    struct calli_cookie *c = (struct calli_cookie *)cookie_buf[ncookies++];
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = 1;
    c->flags = flags;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = n;
    memcpy(c->sig, sig, n);
    return c;
}

/* Place managed values where the call site must pass them (the layout is
 * unit-tested on its own; the C targets' real prototypes check it again). */
static uint64_t stack_block[80];
static void place(struct site *s, const uint8_t *sig, const uint64_t *vals)
{
    struct calli_sig cs;
    struct calli_layout lay;
    memset(&cs, 0, sizeof cs);
    cs.callconv = sig[0];
    cs.nparams = sig[1];
    cs.ret = sig[2];
    memcpy(cs.params, sig + 3, sig[1]);
    if (calli_layout_compute(&cs, ABI, &lay) != 0) {
        fprintf(stderr, "layout failed\n");
        exit(2);
    }
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) {
        s->gpr[i] = 0xdeadbeefdead0000ull | (uint64_t)i;
        s->fpr[i] = 0xbadbadbadbad0000ull | (uint64_t)i;
    }
    for (int i = 0; i < 80; i++)
        stack_block[i] = 0x5151515151515100ull | (uint64_t)i;
    for (unsigned i = 0; i < cs.nparams; i++) {
        const struct calli_loc *m = &lay.managed[i];
        if (m->kind == CALLI_LOC_GPR)
            s->gpr[m->reg] = vals[i];
        else if (m->kind == CALLI_LOC_FPR)
            s->fpr[m->reg] = vals[i];
        else
            memcpy((char *)stack_block + m->stack_off, &vals[i], 8);
    }
    s->stack = stack_block;
    s->stack_size = (lay.managed_stack_size + 15) & ~15u;
}

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint64_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return 0xabcdef0000000000ull | u; }
static double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static float bitsf(uint64_t u) { float f; uint32_t v = (uint32_t)u; memcpy(&f, &v, 4); return f; }

/* Run the site entered by call, then by tail jump. */
static void run(struct site *s, void *target, const void *ck, int tail)
{
    s->target = target;
    s->cookie = ck;
    s->tail = (uint64_t)tail;
    s->saved_ok = 0;
    site_call(s);
    CHECK(s->saved_ok == 1, "callee-saved registers or sp clobbered (tail %d)", tail);
}

/* ---- targets ---------------------------------------------------------------- */

static uint64_t wide[16];
static int wide_calls;
static uint64_t t_wide(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                       uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10,
                       uint64_t a11, uint64_t a12)
{
    uint64_t v[13] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12};
    memcpy(wide, v, sizeof v);
    wide_calls++;
    return 0xffffffff80000081ull;
}

static double t_fp(double a, float b, int32_t c, double d, float e, double f, double g, double h,
                   double i, double j, float k, int8_t l)
{
    return a + b + c + d + e + f + g + h + i + j + k + l;
}

static float t_f32(float x) { return x * 2; }

static char seen_a[64], seen_b[64];
static int seen_b_null;
static int32_t t_str(const char *a, int32_t n, const char *b)
{
    snprintf(seen_a, sizeof seen_a, "%s", a ? a : "(null)");
    seen_b_null = b == NULL;
    return (int32_t)strlen(a) + n;
}

static int32_t t_strstack(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f,
                          int32_t g, int32_t h, int32_t i, const char *s)
{
    snprintf(seen_b, sizeof seen_b, "%s", s ? s : "(null)");
    return a + b + c + d + e + f + g + h + i;
}

static int32_t t_bool_ret(void) { return 0x100; }
static uint64_t t_bool_ret_hi(void) { return 0xffffffff00000000ull; }

/* The program's own code: every frame between the target and main must lie
 * in it (a wrong unwind entry shows up as a stack address or garbage, even
 * when the unwinder recovers later). */
#if defined(_WIN32)
extern IMAGE_DOS_HEADER __ImageBase;
static int in_image(uintptr_t a)
{
    uintptr_t base = (uintptr_t)&__ImageBase;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)(base + (uintptr_t)__ImageBase.e_lfanew);
    return a >= base && a < base + nt->OptionalHeader.SizeOfImage;
}
#else
extern const char __executable_start[], etext[];
static int in_image(uintptr_t a) { return a >= (uintptr_t)__executable_start && a < (uintptr_t)etext; }
#endif

static int bt_ok;
static uint64_t t_backtrace(void)
{
    void *frames[64];
    int n;
#if defined(_WIN32)
    n = RtlCaptureStackBackTrace(0, 64, frames, NULL);
#else
    n = backtrace(frames, 64);
#endif
    /* Consecutive frames: one inside the helper, then bt_site (exactly at
     * its return address), then main. A wrong unwind entry anywhere between
     * the target and main breaks the sequence (unwinders that recover by
     * guessing can still find main's address, so "contains" is not enough). */
    bt_ok = 0;
    uintptr_t helper = (uintptr_t)(void *)GenericPInvokeCalliHelper;
    for (int i = 2; i < n; i++)
        if ((uint64_t)(uintptr_t)frames[i] == bt_site_ret &&
            (uintptr_t)frames[i - 1] == (uintptr_t)bt_site_after_call &&
            (uintptr_t)frames[i - 2] > helper && (uintptr_t)frames[i - 2] < helper + 256 && i <= 8) {
            bt_ok = 1;
            for (int j = 0; j <= i; j++)
                if (!in_image((uintptr_t)frames[j]))
                    bt_ok = 0;
            break;
        }
    if (!bt_ok) {
        fprintf(stderr, "backtrace (%d frames) misses 0x%llx:", n, (unsigned long long)bt_site_ret);
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %p", frames[i]);
        fputc('\n', stderr);
    }
    return 7;
}

/* ---- the cases ------------------------------------------------------------ */

static uint64_t norm(uint8_t t, uint64_t v)
{
    switch (t) {
    case 0x02: return (v & 0xff) != 0;
    case 0x03: case 0x07: return v & 0xffff;
    case 0x04: return (uint32_t)(int32_t)(int8_t)v;
    case 0x05: return v & 0xff;
    case 0x06: return (uint32_t)(int32_t)(int16_t)v;
    default: return v;
    }
}

static void case_wide(int tail)
{
    /* int8 f(bool, char, i1, u1, i2, u2, i4, u4, i8, bool, i1, i2, char):
     * several on the stack on every ABI */
    static const uint8_t sig[] = {0x09, 13, 0x04, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                  0x08, 0x09, 0x0A, 0x02, 0x04, 0x06, 0x03};
    uint64_t v[13] = {0xffffffffffffff00ull, 0x123456789abcfffeull, 0x00000000000000ffull,
                      0xffffffffffffff80ull, 0x7777777777778000ull, 0x1111111111118001ull,
                      0xfedcba9876543210ull, 0x0123456789abcdefull, 0x8000000000000001ull,
                      0xaaaaaaaaaaaa0010ull, 0x4444444444444481ull, 0x999999999999ffffull,
                      0x00000000000100e9ull};
    struct site s;
    place(&s, sig, v);
    wide_calls = 0;
    run(&s, (void *)t_wide, cookie(1, NULL, sig, sizeof sig), tail);
    CHECK(wide_calls == 1, "t_wide called %d times", wide_calls);
    for (int i = 0; i < 13; i++)
        CHECK(wide[i] == norm(sig[3 + i], v[i]), "wide param %d (type 0x%02x): got 0x%016llx want 0x%016llx",
              i, sig[3 + i], (unsigned long long)wide[i], (unsigned long long)norm(sig[3 + i], v[i]));
    CHECK(s.ret_gpr == 0xffffff81ull, "int8 return: 0x%016llx", (unsigned long long)s.ret_gpr);
}

static void case_fp(int tail)
{
    /* float64 f(r8, r4, i4, r8, r4, r8, r8, r8, r8, r8, r4, i1) */
    static const uint8_t sig[] = {0x09, 12, 0x0D, 0x0D, 0x0C, 0x08, 0x0D, 0x0C, 0x0D,
                                  0x0D, 0x0D, 0x0D, 0x0D, 0x0C, 0x04};
    uint64_t v[12] = {dbits(0.5), fbits(0.25f), 0xffffffff00000003ull, dbits(10), fbits(0.125f),
                      dbits(100), dbits(1000), dbits(10000), dbits(100000), dbits(1e6),
                      fbits(4.0f), 0xfffffffffffffffeull};
    struct site s;
    place(&s, sig, v);
    run(&s, (void *)t_fp, cookie(1, NULL, sig, sizeof sig), tail);
    double want = 0.5 + 0.25 + 3 + 10 + 0.125 + 100 + 1000 + 10000 + 100000 + 1e6 + 4.0 - 2;
    CHECK(bitsd(s.ret_fpr) == want, "fp sum %.17g want %.17g", bitsd(s.ret_fpr), want);

    static const uint8_t sig32[] = {0x09, 1, 0x0C, 0x0C};
    uint64_t v32[1] = {fbits(1.75f)};
    place(&s, sig32, v32);
    run(&s, (void *)t_f32, cookie(1, NULL, sig32, sizeof sig32), tail);
    CHECK(bitsf(s.ret_fpr) == 3.5f, "float32 return %g", (double)bitsf(s.ret_fpr));
}

struct mstr {
    uint64_t header;
    int32_t length;
    uint16_t chars[16];
};
static struct mstr ms_hello = {0, 5, {'h', 0xe9, 'l', 'l', 'o'}};
static struct mstr ms_smile = {0, 3, {0xd83d, 0xde00, 0xdc00}};

static void case_strings(int tail)
{
    /* int32 f(string, int32, string) with the GC transition; b is null */
    static const uint8_t sig[] = {0x09, 3, 0x08, 0x0E, 0x08, 0x0E};
    uint64_t v[3] = {(uint64_t)(uintptr_t)&ms_hello, 0xffffffff00000010ull, 0};
    struct site s;
    place(&s, sig, v);
    seen_a[0] = 0;
    run(&s, (void *)t_str, cookie(0, &calli_refrt_default.rt, sig, sizeof sig), tail);
    CHECK(strcmp(seen_a, "h\xc3\xa9llo") == 0, "string arrived as '%s'", seen_a);
    CHECK(seen_b_null, "null string did not arrive as NULL");
    CHECK((uint32_t)s.ret_gpr == 6 + 16, "int32 return %llu", (unsigned long long)s.ret_gpr);

    /* a string on the stack, suppress-gc */
    static const uint8_t sig2[] = {0x09, 10, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
                                   0x08, 0x08, 0x08, 0x08, 0x0E};
    uint64_t v2[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, (uint64_t)(uintptr_t)&ms_smile};
    place(&s, sig2, v2);
    seen_b[0] = 0;
    run(&s, (void *)t_strstack, cookie(1, &calli_refrt_default.rt, sig2, sizeof sig2), tail);
    CHECK(strcmp(seen_b, "\xf0\x9f\x98\x80\xef\xbf\xbd") == 0, "stack string arrived as '%s'", seen_b);
    CHECK((uint32_t)s.ret_gpr == 45, "int32 return %llu", (unsigned long long)s.ret_gpr);
    CHECK(calli_refrt_default.live == 0 && calli_refrt_default.depth == 0, "runtime not balanced");
}

static void case_bool(int tail)
{
    static const uint8_t sig[] = {0x09, 0, 0x02};
    struct site s;
    place(&s, sig, NULL);
    run(&s, (void *)t_bool_ret, cookie(0, &calli_refrt_default.rt, sig, sizeof sig), tail);
    CHECK(s.ret_gpr == 1, "BOOL 0x100 -> 0x%llx", (unsigned long long)s.ret_gpr);
    place(&s, sig, NULL);
    run(&s, (void *)t_bool_ret_hi, cookie(1, NULL, sig, sizeof sig), tail);
    CHECK(s.ret_gpr == 0, "BOOL with only upper bits -> 0x%llx", (unsigned long long)s.ret_gpr);
}

static void case_backtrace(void)
{
    static const uint8_t sig[] = {0x09, 0, 0x0A};
    bt_ok = 0;
    uint64_t r = bt_site((void *)t_backtrace, cookie(0, &calli_refrt_default.rt, sig, sizeof sig));
    CHECK(r == 7, "backtrace target returned %llu", (unsigned long long)r);
    CHECK(bt_ok, "the unwinder did not reach main through the helper");
}

static int fatal(void)
{
    static const uint8_t sig[] = {0x09, 0, 0x01};
    struct calli_cookie *c = (struct calli_cookie *)cookie(0, NULL, sig, sizeof sig);
    c->magic = 0x11223344;
    struct site s;
    place(&s, sig, NULL);
    fprintf(stdout, "cookie 0x%016llx\n", (unsigned long long)(uintptr_t)c);
    fflush(stdout);
    run(&s, (void *)t_bool_ret, c, 0);
    fprintf(stderr, "FAIL: the helper returned from a bad cookie\n");
    return 1;
}

int main(int argc, char **argv)
{
#if defined(_WIN32)
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
#endif
    calli_refrt_init(&calli_refrt_default, CALLI_REFRT_LOG);
    if (argc > 1 && strcmp(argv[1], "fatal") == 0)
        return fatal();
    for (int tail = 0; tail < 2; tail++) {
        ncookies = 0;
        case_wide(tail);
        case_fp(tail);
        case_strings(tail);
        case_bool(tail);
    }
    ncookies = 0;
    case_backtrace();
#if SMOKE_HOST >= 1
    fwrite(cap, 1, cap_len, stdout);
#endif
    fflush(stdout);
    fprintf(stderr, "smoke (host mode %d): %d checks, %d failures\n", SMOKE_HOST, checks, failures);
    return failures ? 1 : 0;
}

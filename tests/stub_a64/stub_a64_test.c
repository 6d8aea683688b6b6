/* stub_a64_test.c - the arm64 stub generator (stubs/stub_aarch64.c),
 * proven against the real arm64 generic helper. Built for aarch64 and run
 * under qemu-aarch64 (tests/stub_a64/rules.mk); the mirror of
 * tests/unit/test_stub_x86_64.c.
 *
 * For each signature (hand-picked edge cases plus random ones from a fixed
 * seed) the test generates the stub at run time, copies it into an
 * executable page, and calls it - and GenericPInvokeCalliHelper from
 * build/aarch64-linux/libcalli_runtime.a with a real cookie - through one
 * assembly trampoline (tramp.S) that loads x12/x15, x0-x7, all 128 bits of
 * q0-q7 (garbage above the defined bits of small values), 64 stack slots,
 * and random values in x19-x29 and d8-d15, exactly as a call site would; it
 * calls by `blr` or through a site that tail-branches. The native target
 * records the raw registers and stack slots it receives, returns x0/q0
 * full of garbage and trashes every other caller-saved register, as do the
 * runtime's service shims. The runtime table wraps the reference runtime
 * (its event log is captured by defining calli_host_write) and checks ctx
 * and sp alignment at every service call.
 *
 * Both sides are checked against an independent model of spec sections 3-4
 * and docs/runtime.md (exact 64-bit register and slot contents, all 128
 * bits of vector arguments, x0 and all of q0 after the return, callee-saved
 * registers, sp), then against each other. Apple arm64 stubs are compared
 * with the same helper driving the C core with the Apple layout
 * (apple_helper in tramp.S).
 *
 * Unwinding: the stub's FDE from stubs/cfi_dwarf.c is registered with
 * __register_frame; _Unwind_Backtrace from inside the target must pass
 * through the stub to the trampoline and on to the end of the stack. And
 * from every instruction of a stub: a copy with that instruction replaced by
 * `brk` traps, and the walk from the signal context must reach the
 * trampoline with the right CFA and the trampoline's x19, x20 and x29.
 * At each of those pcs the stub's Mach-O compact unwind encoding
 * (stub_compact_unwind) is also applied to the trapped machine state and
 * must give the trampoline's pc, sp and x19-x29 wherever compact unwind
 * claims to be exact (frameless code; a frame's body), with negative
 * controls (the AAPCS64 frame read as FRAME; the Apple frame read without
 * its x19/x20 pair).
 *
 * BTI: stubs for BTI images run in a PROT_BTI page and reach the target
 * through a guarded `bti c` landing pad; two negative controls show that a
 * missing `bti c` or a `br x12` would be caught.
 *
 * Output ends with "stub-a64: N passed, 0 failed". STUB_A64_VERBOSE=1 prints
 * every case.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include "calli_dispatch.h"
#include "calli_host.h"
#include "calli_layout.h"
#include "calli_refrt.h"
#include "calli_runtime.h"
#include "calli_sig.h"
#include "cfi_dwarf.h"
#include "harness.h"
#include "stub.h"
#include "stub_int.h"

void __register_frame(void *begin);
void __deregister_frame(void *begin);

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif

/* The x86-64 generators are not part of this build (they need Zydis). */
enum stub_err stub_gen_x86_64_sysv(const struct calli_sig *sig, int suppress_gc,
                                   const struct stub_opts *opts, struct stub_code *out,
                                   char *err, size_t errcap)
{
    (void)sig, (void)suppress_gc, (void)opts, (void)out;
    return stub_fail(err, errcap, STUB_E_ABI, "x86-64 is not built for arm64");
}
enum stub_err stub_gen_x86_64_win(const struct calli_sig *sig, int suppress_gc,
                                  const struct stub_opts *opts, struct stub_code *out,
                                  char *err, size_t errcap)
{
    (void)sig, (void)suppress_gc, (void)opts, (void)out;
    return stub_fail(err, errcap, STUB_E_ABI, "x86-64 is not built for arm64");
}

/* ---------------------------------------------------------------------------
 * The harness: counters, the current case, failures.
 */
static unsigned n_pass, n_fail;
static int verbose;
static char cur_key[CALLI_SIG_TEXT_MAX + 160];
static const char *cur_side = "stub";
static sigjmp_buf case_jb;
static int in_case;

static void set_case(const char *key, const char *what)
{
    snprintf(cur_key, sizeof cur_key, "%s (%s)", key, what);
    if (verbose)
        fprintf(stderr, "case %s\n", cur_key);
}

/* Fail the current case: print, count, leave it. */
__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s: ", cur_key);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (in_case)
        siglongjmp(case_jb, 1);
    n_fail++;
    exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static void summary(void)
{
    printf("stub-a64: %u passed, %u failed\n", n_pass, n_fail);
    fflush(stdout);
}

static void case_cleanup(void);

/* Run one case: fn(a, b); a failure inside leaves it through case_jb. */
typedef void (*case_fn)(const void *a, const void *b);
static void guarded(case_fn fn, const void *a, const void *b)
{
    in_case = 1;
    if (sigsetjmp(case_jb, 1) == 0) {
        fn(a, b);
        n_pass++;
    } else {
        n_fail++;
        case_cleanup();
        if (n_fail >= 20) {
            fprintf(stderr, "stub-a64: too many failures, stopping\n");
            summary();
            exit(1);
        }
    }
    in_case = 0;
}
#define CASE(fn, a, b) guarded((case_fn)(void (*)(void))(fn), (a), (b))

/* ---------------------------------------------------------------------------
 * Host primitives (the runtime's event log lands in `events`).
 */
/* Room for the worst case: 64 strings of 4 * MAXCH UTF-8 bytes, in hex,
 * converted and freed. */
static char events[1 << 19];
static size_t nevents;

static void ev_put(const char *s, size_t n)
{
    if (nevents + n < sizeof events) {
        memcpy(events + nevents, s, n);
        nevents += n;
        events[nevents] = 0;
    }
}

void calli_host_write(int stream, const void *buf, size_t len)
{
    if (stream == CALLI_HOST_OUT) {
        ev_put(buf, len);
    } else {
        ssize_t r = write(2, buf, len);
        (void)r;
    }
}

/* A fatal error of the reference runtime (leave without enter, a pointer
 * freed twice, ...) fails the current case; siglongjmp restores the
 * callee-saved registers and sp, so leaving through a stub's frame is safe. */
_Noreturn void calli_host_abort(void)
{
    fail("the runtime aborted in a call through the %s (reason on the line above)", cur_side);
}

/* Crashes name the case. The BTI controls expect SIGILL. */
static volatile int expect_sigill;
static sigjmp_buf sigill_jb;

static void on_crash(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig == SIGILL && expect_sigill) {
        expect_sigill = 0;
        siglongjmp(sigill_jb, 1);
    }
    char buf[sizeof cur_key + 128];
    int n = snprintf(buf, sizeof buf, "stub-a64: signal %d (addr %p) in case %s, through the %s\n",
                     sig, si->si_addr, cur_key, cur_side);
    ssize_t r = write(2, buf, (size_t)n);
    (void)r;
    _exit(2);
}

/* ---------------------------------------------------------------------------
 * Assembly (tramp.S) and the recording runtime table.
 */
struct tramp {
    uint64_t gpr[8];
    uint64_t fpr[8][2];
    uint64_t x12, x15;
    uint64_t stack[NSLOTS];
    void *call, *entry;
    uint64_t cs_in[11], d_in[8];
    uint64_t cs_out[11], d_out[8];
    uint64_t x0, pad;
    uint64_t q0[2];
    uint64_t sp_at_call, sp_after;
};
_Static_assert(offsetof(struct tramp, fpr) == T_FPR, "tramp");
_Static_assert(offsetof(struct tramp, x12) == T_X12, "tramp");
_Static_assert(offsetof(struct tramp, x15) == T_X15, "tramp");
_Static_assert(offsetof(struct tramp, stack) == T_STACK, "tramp");
_Static_assert(offsetof(struct tramp, call) == T_CALL, "tramp");
_Static_assert(offsetof(struct tramp, entry) == T_ENTRY, "tramp");
_Static_assert(offsetof(struct tramp, cs_in) == T_CS_IN, "tramp");
_Static_assert(offsetof(struct tramp, d_in) == T_D_IN, "tramp");
_Static_assert(offsetof(struct tramp, cs_out) == T_CS_OUT, "tramp");
_Static_assert(offsetof(struct tramp, d_out) == T_D_OUT, "tramp");
_Static_assert(offsetof(struct tramp, x0) == T_X0, "tramp");
_Static_assert(offsetof(struct tramp, q0) == T_Q0, "tramp");
_Static_assert(offsetof(struct tramp, sp_at_call) == T_SP, "tramp");
_Static_assert(offsetof(struct tramp, sp_after) == T_SP_AFTER, "tramp");
_Static_assert(sizeof(struct tramp) == T_SIZE, "tramp");

struct rec {
    uint64_t gpr[8];
    uint64_t fpr[8][2];
    uint64_t sp;
    uint64_t stack[NSLOTS];
};
_Static_assert(offsetof(struct rec, fpr) == R_FPR, "rec");
_Static_assert(offsetof(struct rec, sp) == R_SP, "rec");
_Static_assert(offsetof(struct rec, stack) == R_STACK, "rec");
_Static_assert(sizeof(struct rec) == R_SIZE, "rec");

_Alignas(16) struct rec rec_regs;
uint64_t rec_ret_x0;
_Alignas(16) uint64_t rec_ret_q0[2];
uint64_t svc_sp;
uint64_t ss_calls;

void tramp_call(struct tramp *t);
extern char tramp_after_call[];
void site_br16(void);
void rec_target(void);
void rec_target_c(void);
void shim_enter(void *ctx);
void shim_leave(void *ctx);
char *shim_s2n(const void *s, void *ctx);
void shim_free(char *p, void *ctx);
void w_enter(void *ctx);
void w_leave(void *ctx);
char *w_s2n(const void *s, void *ctx);
void w_free(char *p, void *ctx);
void ss_target(void);
void ss_svc(void *ctx);
char *ss_s2n(const void *s, void *ctx);
void ss_free(char *p, void *ctx);
void apple_helper(void);
void apple_dispatch(struct calli_regs *save, const unsigned char *stack, void *target,
                    const struct calli_cookie *cookie);

/* The Apple arm64 generic helper: the runtime's own C core with the Apple
 * layout, called the way calli_rt_dispatch calls it for AAPCS64. */
void apple_dispatch(struct calli_regs *save, const unsigned char *stack, void *target,
                    const struct calli_cookie *cookie)
{
    calli_rt_call(CALLI_ABI_APPLE_ARM64, save, stack, target, cookie, calli_rt_invoke);
}

struct wrt {
    struct calli_runtime rt; /* first: the cookie points here */
    unsigned bad_ctx, bad_align, calls;
};
static struct wrt wrt;
static struct calli_refrt ref;

static void svc_check(void *ctx)
{
    wrt.calls++;
    wrt.bad_ctx += ctx != (void *)&wrt;
    wrt.bad_align += (svc_sp & 15) != 0;
}

void w_enter(void *ctx) { svc_check(ctx); ref.rt.enter(ref.rt.ctx); }
void w_leave(void *ctx) { svc_check(ctx); ref.rt.leave(ref.rt.ctx); }
char *w_s2n(const void *s, void *ctx) { svc_check(ctx); return ref.rt.string_to_native(s, ref.rt.ctx); }
void w_free(char *p, void *ctx) { svc_check(ctx); ref.rt.free_native(p, ref.rt.ctx); }

static void runtime_reset(void)
{
    calli_refrt_init(&ref, CALLI_REFRT_LOG);
    memset(&wrt, 0, sizeof wrt);
    wrt.rt.abi_version = CALLI_RUNTIME_ABI_VERSION;
    wrt.rt.ctx = &wrt;
    wrt.rt.enter = shim_enter;
    wrt.rt.leave = shim_leave;
    wrt.rt.string_to_native = shim_s2n;
    wrt.rt.free_native = shim_free;
}

/* ---------------------------------------------------------------------------
 * Managed strings and the model's UTF-8.
 */
#define MAXCH 200
struct mstr {
    uint64_t header;
    int32_t length;
    uint16_t chars[MAXCH];
};
_Static_assert(offsetof(struct mstr, chars) == CALLI_MSTRING_OFF_CHARS, "mstr");

static struct mstr pool[10];
#define NPOOL (sizeof pool / sizeof pool[0])

static void mstr_set(struct mstr *m, const uint16_t *c, int n)
{
    m->header = 0x5555aaaa12345678ull;
    m->length = n;
    memcpy(m->chars, c, (size_t)n * 2);
}

static void pool_init(void)
{
    static const uint16_t hello[] = {'h', 'e', 'l', 'l', 'o'};
    static const uint16_t bmp[] = {'h', 0xe9, 'l', 0x20ac, 0x4e2d, 0x7ff, 0x800, 0xffff};
    static const uint16_t pair[] = {'a', 0xd83d, 0xde00, 'b', 0xdbff, 0xdfff};
    static const uint16_t lone_hi[] = {'x', 0xd800, 'y'};
    static const uint16_t lone_lo[] = {0xdc00, 'z'};
    static const uint16_t hi_end[] = {'q', 0xdbff};
    static const uint16_t swapped[] = {0xde00, 0xd83d};
    static const uint16_t nul[] = {'a', 0, 'b'};
    uint16_t lng[MAXCH];
    for (int i = 0; i < MAXCH; i++)
        lng[i] = (uint16_t)(i % 3 == 0 ? 0x20ac : 'A' + i % 26);
    mstr_set(&pool[0], hello, 0); /* empty */
    mstr_set(&pool[1], hello, 5);
    mstr_set(&pool[2], bmp, 8);
    mstr_set(&pool[3], pair, 6);
    mstr_set(&pool[4], lone_hi, 3);
    mstr_set(&pool[5], lone_lo, 2);
    mstr_set(&pool[6], hi_end, 2);
    mstr_set(&pool[7], swapped, 2);
    mstr_set(&pool[8], nul, 3);
    mstr_set(&pool[9], lng, MAXCH);
}

/* Spec section 3: UTF-16 to UTF-8, unpaired surrogates become U+FFFD. */
static size_t utf8_of(const struct mstr *m, uint8_t *out)
{
    size_t n = 0;
    for (int i = 0; i < m->length; i++) {
        uint32_t c = m->chars[i];
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < m->length && m->chars[i + 1] >= 0xdc00 &&
            m->chars[i + 1] <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (m->chars[i + 1] - 0xdc00u);
            i++;
        } else if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd;
        }
        if (c < 0x80) {
            out[n++] = (uint8_t)c;
        } else if (c < 0x800) {
            out[n++] = (uint8_t)(0xc0 | c >> 6);
            out[n++] = (uint8_t)(0x80 | (c & 63));
        } else if (c < 0x10000) {
            out[n++] = (uint8_t)(0xe0 | c >> 12);
            out[n++] = (uint8_t)(0x80 | (c >> 6 & 63));
            out[n++] = (uint8_t)(0x80 | (c & 63));
        } else {
            out[n++] = (uint8_t)(0xf0 | c >> 18);
            out[n++] = (uint8_t)(0x80 | (c >> 12 & 63));
            out[n++] = (uint8_t)(0x80 | (c >> 6 & 63));
            out[n++] = (uint8_t)(0x80 | (c & 63));
        }
    }
    return n;
}

static void put_hex(char **p, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *(*p)++ = hex[b[i] >> 4];
        *(*p)++ = hex[b[i] & 15];
    }
    **p = 0;
}

static void model_str(char **p, const struct mstr *m, int as_c_string)
{
    uint8_t u[4 * MAXCH];
    if (!m) {
        *p += sprintf(*p, "null");
        return;
    }
    size_t n = utf8_of(m, u);
    if (as_c_string)
        n = strnlen((const char *)u, n);
    put_hex(p, u, n);
}

/* ---------------------------------------------------------------------------
 * Locations: a value at a layout location, in a trampoline or a record.
 * Apple arm64 stack values have their own size; all others 8 bytes.
 */
static const struct calli_sig *cur_sig;
static struct calli_layout cur_lay;
static enum calli_abi cur_abi;
static unsigned target_calls;
static int want_backtrace;

static uint64_t load_le(const void *p, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* little-endian */
    return v;
}

static unsigned loc_bytes(const struct calli_loc *l)
{
    return cur_abi == CALLI_ABI_APPLE_ARM64 ? l->size : 8;
}

static uint64_t rec_value(const struct rec *r, const struct calli_loc *l, uint64_t *hi)
{
    *hi = 0;
    if (l->kind == CALLI_LOC_GPR)
        return r->gpr[l->reg];
    if (l->kind == CALLI_LOC_FPR) {
        *hi = r->fpr[l->reg][1];
        return r->fpr[l->reg][0];
    }
    return load_le((const uint8_t *)r->stack + l->stack_off, loc_bytes(l));
}

#define MAXFRAMES 64
static uintptr_t bt_ip[MAXFRAMES];
static int bt_n, bt_rc;

static _Unwind_Reason_Code bt_cb(struct _Unwind_Context *ctx, void *arg)
{
    (void)arg;
    if (bt_n < MAXFRAMES)
        bt_ip[bt_n++] = _Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

void rec_target_c(void)
{
    static char line[64 + CALLI_SIG_MAX_PARAMS * (2 * 4 * MAXCH + 1)];
    char *p = line;
    target_calls++;
    p += sprintf(p, "@call");
    for (unsigned i = 0; i < cur_sig->nparams; i++) {
        if (cur_sig->params[i] != CALLI_T_STRING)
            continue;
        uint64_t hi;
        const char *s = (const char *)(uintptr_t)rec_value(&rec_regs, &cur_lay.native[i], &hi);
        *p++ = ' ';
        if (!s)
            p += sprintf(p, "null");
        else
            put_hex(&p, (const uint8_t *)s, strlen(s));
    }
    *p++ = '\n';
    ev_put(line, (size_t)(p - line));
    if (want_backtrace) {
        bt_n = 0;
        bt_rc = _Unwind_Backtrace(bt_cb, 0);
    }
}

/* ---------------------------------------------------------------------------
 * Random numbers (splitmix64, fixed seeds) and signatures.
 */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static const uint8_t param_types[] = {
    CALLI_T_BOOL, CALLI_T_CHAR, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2,
    CALLI_T_I4, CALLI_T_U4, CALLI_T_I8, CALLI_T_U8, CALLI_T_R4, CALLI_T_R8,
    CALLI_T_STRING, CALLI_T_PTR, CALLI_T_I, CALLI_T_U, CALLI_T_FNPTR};
#define NPARAM_TYPES (sizeof param_types / sizeof param_types[0])

static uint8_t rnd_ret(void)
{
    uint8_t t;
    do
        t = rndn(8) == 0 ? CALLI_T_VOID : param_types[rndn(NPARAM_TYPES)];
    while (t == CALLI_T_STRING);
    return t;
}

static void rnd_sig(struct calli_sig *s)
{
    memset(s, 0, sizeof *s);
    static const uint8_t convs[] = {1, 2, 3, 4, 9};
    s->callconv = convs[rndn(5)];
    s->ret = rnd_ret();
    unsigned r = rndn(10);
    s->nparams = (uint16_t)(r < 4 ? rndn(9) : r < 7 ? 9 + rndn(12) : 21 + rndn(CALLI_SIG_MAX_PARAMS - 20));
    unsigned mode = rndn(4); /* 0: no strings, 1: uniform, 2: fp-heavy, 3: small-int-heavy */
    for (unsigned i = 0; i < s->nparams; i++) {
        uint8_t t;
        do {
            if (mode == 2 && rndn(2))
                t = rndn(2) ? CALLI_T_R4 : CALLI_T_R8;
            else if (mode == 3 && rndn(2))
                t = param_types[rndn(6)];
            else
                t = param_types[rndn(NPARAM_TYPES)];
        } while (t == CALLI_T_STRING && (mode == 0 || (mode != 1 && rndn(2))));
        s->params[i] = t;
    }
}

/* A StandAloneMethodSig blob with varied, ignorable details (pointees,
 * nested FNPTR signatures, non-minimal compressed counts). */
static size_t sig_blob(const struct calli_sig *s, uint8_t *b)
{
    size_t n = 0;
    b[n++] = s->callconv;
    if (rndn(4) == 0) {
        b[n++] = (uint8_t)(0x80 | s->nparams >> 8);
        b[n++] = (uint8_t)s->nparams;
    } else {
        b[n++] = (uint8_t)s->nparams;
    }
    for (int i = -1; i < (int)s->nparams; i++) {
        uint8_t t = i < 0 ? s->ret : s->params[i];
        b[n++] = t;
        if (t == CALLI_T_PTR) {
            switch (rndn(4)) {
            case 0: b[n++] = CALLI_T_VOID; break;
            case 1: b[n++] = CALLI_T_I4; break;
            case 2: b[n++] = CALLI_T_PTR; b[n++] = CALLI_T_U1; break;
            default: b[n++] = 0x11; b[n++] = 0x08; break; /* VALUETYPE TypeDef 2 */
            }
        } else if (t == CALLI_T_FNPTR) {
            static const uint8_t nested[][4] = {{9, 0, 1}, {1, 1, 8, 8}};
            unsigned k = rndn(2);
            memcpy(b + n, nested[k], k ? 4 : 3);
            n += k ? 4 : 3;
        }
    }
    return n;
}

static struct calli_cookie *make_cookie(const struct calli_sig *s, int sgc, const void *rt)
{
    uint8_t blob[1024];
    size_t n = sig_blob(s, blob);
    struct calli_cookie *c = aligned_alloc(8, (sizeof *c + n + 7) & ~(size_t)7);
    CHECK(c, "out of memory");
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = CALLI_COOKIE_VERSION;
    c->flags = sgc ? CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION : 0;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = (uint32_t)n;
    memcpy(c->sig, blob, n);
    struct calli_sig back;
    struct calli_sig_error e;
    CHECK(calli_sig_parse(blob, n, &back, &e) == CALLI_SIG_OK && back.ret == s->ret &&
              back.nparams == s->nparams && !memcmp(back.params, s->params, s->nparams),
          "the decoder does not read back the test's signature");
    return c;
}

/* ---------------------------------------------------------------------------
 * Executable memory: two 64 KiB arenas, one plain and one PROT_BTI
 * (guarded); the stub at the start, its .eh_frame near the end (pc_begin
 * is a 32-bit PC-relative field), and in the guarded arena a `bti c`
 * landing pad that forwards to the recording target.
 */
#define CODE_SIZE 65536
#define EH_OFF (CODE_SIZE - 8192)
#define PAD_OFF (CODE_SIZE - 64)
static uint8_t *arena[2];
static uint8_t *mini_cookie; /* 16 bytes at the end of a page before a guard page */
static uint8_t *eh_registered;
static void *bti_pad;        /* guarded: bti c; ldr x16, 1f; br x16; nop; 1: .quad rec_target */

static void memory_init(void)
{
    long page = sysconf(_SC_PAGESIZE);
    arena[0] = mmap(0, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    arena[1] = mmap(0, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC | PROT_BTI,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(arena[0] != MAP_FAILED && arena[1] != MAP_FAILED, "mmap of the code arenas failed");
    uint8_t *cp = mmap(0, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    CHECK(cp != MAP_FAILED, "mmap failed");
    CHECK(mprotect(cp + page, (size_t)page, PROT_NONE) == 0, "mprotect failed");
    mini_cookie = cp + page - 16;
    uint32_t pad[4] = {0xd503245f, 0x58000070, 0xd61f0200, 0xd503201f};
    uint64_t tgt = (uintptr_t)rec_target;
    bti_pad = arena[1] + PAD_OFF;
    memcpy(bti_pad, pad, 16);
    memcpy(arena[1] + PAD_OFF + 16, &tgt, 8);
    __builtin___clear_cache((char *)bti_pad, (char *)bti_pad + 24);
    pool_init();
}

static void unregister_fde(void)
{
    if (eh_registered) {
        __deregister_frame(eh_registered);
        eh_registered = 0;
    }
}

static void case_cleanup(void)
{
    unregister_fde();
    expect_sigill = 0;
}

/* Copy the code (already in bytes) into an arena, with its FDE if asked. */
static uint8_t *install_bytes(const struct stub_code *c, const uint8_t *bytes, int guarded,
                              int with_fde)
{
    uint8_t *a = arena[guarded];
    unregister_fde();
    CHECK(c->len <= EH_OFF, "stub too large (%zu bytes)", c->len);
    memset(a, 0, EH_OFF); /* udf #0 everywhere else */
    memcpy(a, bytes, c->len);
    __builtin___clear_cache((char *)a, (char *)a + c->len);
    if (with_fde) {
        struct cfi_buf eh = {0};
        size_t cie;
        uint64_t base = (uintptr_t)a + EH_OFF;
        CHECK(cfi_dwarf_cie(&eh, c->abi, &cie) == CFI_OK, "cfi_dwarf_cie failed");
        CHECK(cfi_dwarf_fde(&eh, cie, c, base, (uintptr_t)a, 0) == CFI_OK, "cfi_dwarf_fde failed");
        CHECK(cfi_dwarf_end(&eh) == CFI_OK, "cfi_dwarf_end failed");
        CHECK(eh.len <= PAD_OFF - EH_OFF, "eh_frame too large");
        memcpy(a + EH_OFF, eh.data, eh.len);
        free(eh.data);
        __register_frame(a + EH_OFF);
        eh_registered = a + EH_OFF;
    }
    return a;
}

static uint8_t *install(const struct stub_code *c, int guarded, int with_fde)
{
    return install_bytes(c, c->bytes, guarded, with_fde);
}

/* ---------------------------------------------------------------------------
 * One case: the same inputs through the helper and through the stub, both
 * checked against the model.
 */
struct input {
    struct tramp t;
    const struct mstr *str[CALLI_SIG_MAX_PARAMS];
    uint64_t ret_x0, ret_q0[2];
};

struct outcome {
    struct rec rec;
    unsigned calls;
    char log[sizeof events];
    struct tramp t;
    unsigned svc_calls, bad_ctx, bad_align;
    uint32_t live;
    uint64_t depth;
};

static uint64_t small_garbage(uint8_t t)
{
    uint64_t v = rnd();
    switch (t) {
    case CALLI_T_BOOL: /* often false with garbage above, sometimes one high bit */
        switch (rndn(4)) {
        case 0: return v & ~0xffull;
        case 1: return (v & ~0xffull) | (1u << rndn(8));
        default: return v;
        }
    case CALLI_T_I1: case CALLI_T_U1:
        return rndn(3) ? v : (v & ~0xffull) | (rndn(2) ? 0x80 : 0x7f);
    case CALLI_T_CHAR: case CALLI_T_I2: case CALLI_T_U2:
        return rndn(3) ? v : (v & ~0xffffull) | (rndn(2) ? 0x8000 : 0x7fff);
    default:
        return v;
    }
}

static uint64_t managed_value(const struct input *in, const struct calli_loc *m, uint64_t *hi)
{
    *hi = 0;
    if (m->kind == CALLI_LOC_GPR)
        return in->t.gpr[m->reg];
    if (m->kind == CALLI_LOC_FPR) {
        *hi = in->t.fpr[m->reg][1];
        return in->t.fpr[m->reg][0];
    }
    return load_le((const uint8_t *)in->t.stack + m->stack_off, loc_bytes(m));
}

static void make_input(const struct calli_sig *s, const struct calli_layout *l, struct input *in)
{
    memset(in, 0, sizeof *in);
    for (unsigned i = 0; i < 8; i++) {
        in->t.gpr[i] = rnd();
        in->t.fpr[i][0] = rnd();
        in->t.fpr[i][1] = rnd();
    }
    for (unsigned i = 0; i < NSLOTS; i++)
        in->t.stack[i] = rnd();
    for (unsigned i = 0; i < 11; i++)
        in->t.cs_in[i] = rnd();
    for (unsigned i = 0; i < 8; i++)
        in->t.d_in[i] = rnd();
    for (unsigned i = 0; i < s->nparams; i++) {
        uint8_t t = s->params[i];
        uint64_t v;
        if (t == CALLI_T_STRING) {
            unsigned k = rndn(NPOOL + 2);
            in->str[i] = k < NPOOL ? &pool[k] : 0;
            v = (uintptr_t)in->str[i];
        } else {
            v = small_garbage(t);
        }
        const struct calli_loc *m = &l->managed[i];
        if (m->kind == CALLI_LOC_GPR)
            in->t.gpr[m->reg] = v;
        else if (m->kind == CALLI_LOC_FPR)
            in->t.fpr[m->reg][0] = v;
        else
            memcpy((uint8_t *)in->t.stack + m->stack_off, &v, loc_bytes(m));
    }
    in->ret_x0 = s->ret == CALLI_T_BOOL && rndn(2) ? (rnd() & ~0xffffffffull) |
                                                         (rndn(2) ? 0 : 1u << rndn(32))
                                                   : small_garbage(s->ret);
    in->ret_q0[0] = rnd();
    in->ret_q0[1] = rnd();
}

static void run(const struct calli_sig *s, const struct input *in, void *entry, void *cookie,
                void *target, int via_site, struct outcome *o)
{
    runtime_reset();
    nevents = 0;
    events[0] = 0;
    target_calls = 0;
    memset(&rec_regs, 0, sizeof rec_regs);
    rec_ret_x0 = in->ret_x0;
    rec_ret_q0[0] = in->ret_q0[0];
    rec_ret_q0[1] = in->ret_q0[1];
    cur_sig = s;
    o->t = in->t;
    o->t.x12 = (uintptr_t)target;
    o->t.x15 = (uintptr_t)cookie;
    o->t.entry = entry;
    o->t.call = via_site ? (void *)site_br16 : entry;
    tramp_call(&o->t);
    o->rec = rec_regs;
    o->calls = target_calls;
    memcpy(o->log, events, nevents + 1);
    o->svc_calls = wrt.calls;
    o->bad_ctx = wrt.bad_ctx;
    o->bad_align = wrt.bad_align;
    o->live = ref.live;
    o->depth = ref.depth;
}

/* The model (spec section 3, docs/runtime.md "Register and stack
 * conventions"): converted values are 32-bit values zero-extended to 64. */
static int converted(uint8_t t)
{
    return t == CALLI_T_BOOL || t == CALLI_T_CHAR || t == CALLI_T_I1 || t == CALLI_T_U1 ||
           t == CALLI_T_I2 || t == CALLI_T_U2;
}

static uint64_t model_arg(uint8_t t, uint64_t v)
{
    switch (t) {
    case CALLI_T_BOOL: return (v & 0xff) != 0;
    case CALLI_T_I1: return (uint32_t)(int32_t)(int8_t)v;
    case CALLI_T_U1: return (uint8_t)v;
    case CALLI_T_I2: return (uint32_t)(int32_t)(int16_t)v;
    case CALLI_T_U2: case CALLI_T_CHAR: return (uint16_t)v;
    default: return v;
    }
}

static uint64_t model_ret(uint8_t t, uint64_t x0)
{
    return t == CALLI_T_BOOL ? (uint32_t)x0 != 0 : converted(t) ? model_arg(t, x0) : x0;
}

static void model_events(const struct calli_sig *s, int sgc, int rt, const struct input *in,
                         char *out)
{
    char *p = out;
    int gc = !sgc && rt;
    for (unsigned i = 0; i < s->nparams; i++)
        if (s->params[i] == CALLI_T_STRING) {
            p += sprintf(p, "@s2n ");
            model_str(&p, in->str[i], 0);
            *p++ = '\n';
        }
    if (gc)
        p += sprintf(p, "@enter\n");
    p += sprintf(p, "@call");
    for (unsigned i = 0; i < s->nparams; i++)
        if (s->params[i] == CALLI_T_STRING) {
            *p++ = ' ';
            model_str(&p, in->str[i], 1);
        }
    *p++ = '\n';
    if (gc)
        p += sprintf(p, "@leave\n");
    for (unsigned i = 0; i < s->nparams; i++)
        if (s->params[i] == CALLI_T_STRING) {
            p += sprintf(p, "@free ");
            model_str(&p, in->str[i], 0);
            *p++ = '\n';
        }
    *p = 0;
}

static const char *loc_text(const struct calli_loc *l, char *buf)
{
    if (l->kind == CALLI_LOC_STACK)
        sprintf(buf, "stack+%u", l->stack_off);
    else
        sprintf(buf, "%c%u", l->kind == CALLI_LOC_GPR ? 'x' : 'q', l->reg);
    return buf;
}

/* Compare one outcome with the model; 0, or the reason in msg. */
static int check(const char *who, const struct calli_sig *s, const struct input *in,
                 const struct outcome *o, const char *want_log, char *msg, size_t cap)
{
    char lt[32];
    if (o->calls != 1)
        return snprintf(msg, cap, "%s: target called %u times", who, o->calls), 1;
    if (o->rec.sp & 15)
        return snprintf(msg, cap, "%s: sp %% 16 = %u at the target", who,
                        (unsigned)(o->rec.sp & 15)), 1;
    for (unsigned i = 0; i < s->nparams; i++) {
        uint8_t t = s->params[i];
        const struct calli_loc *m = &cur_lay.managed[i], *n = &cur_lay.native[i];
        uint64_t mhi, ghi;
        uint64_t mv = managed_value(in, m, &mhi);
        uint64_t got = rec_value(&o->rec, n, &ghi);
        if (t == CALLI_T_STRING) {
            if ((got == 0) != (in->str[i] == 0))
                return snprintf(msg, cap, "%s: parameter %u (string) at %s: pointer 0x%llx for %s",
                                who, i, loc_text(n, lt), (unsigned long long)got,
                                in->str[i] ? "a string" : "null"), 1;
            continue; /* contents: in the event log */
        }
        uint64_t want = model_arg(t, mv);
        unsigned nb = n->kind == CALLI_LOC_STACK ? loc_bytes(n) : 8;
        if (nb < 8)
            want &= (1ull << (8 * nb)) - 1;
        if (got != want || ghi != mhi)
            return snprintf(msg, cap,
                            "%s: parameter %u (%s) at %s: got 0x%llx:%016llx, want 0x%llx:%016llx "
                            "(managed 0x%llx)",
                            who, i, calli_type_token(t), loc_text(n, lt), (unsigned long long)ghi,
                            (unsigned long long)got, (unsigned long long)mhi,
                            (unsigned long long)want, (unsigned long long)mv), 1;
    }
    if (strcmp(o->log, want_log))
        return snprintf(msg, cap, "%s: events\n%s-- want --\n%s", who, o->log, want_log), 1;
    uint64_t wx0 = model_ret(s->ret, in->ret_x0);
    if (o->t.x0 != wx0)
        return snprintf(msg, cap, "%s: x0 0x%llx, want 0x%llx (target returned 0x%llx)", who,
                        (unsigned long long)o->t.x0, (unsigned long long)wx0,
                        (unsigned long long)in->ret_x0), 1;
    if (o->t.q0[0] != in->ret_q0[0] || o->t.q0[1] != in->ret_q0[1])
        return snprintf(msg, cap, "%s: q0 0x%016llx%016llx, want 0x%016llx%016llx", who,
                        (unsigned long long)o->t.q0[1], (unsigned long long)o->t.q0[0],
                        (unsigned long long)in->ret_q0[1], (unsigned long long)in->ret_q0[0]), 1;
    for (unsigned i = 0; i < 11; i++)
        if (o->t.cs_out[i] != in->t.cs_in[i])
            return snprintf(msg, cap, "%s: x%u not preserved", who, 19 + i), 1;
    for (unsigned i = 0; i < 8; i++)
        if (o->t.d_out[i] != in->t.d_in[i])
            return snprintf(msg, cap, "%s: d%u not preserved", who, 8 + i), 1;
    if (o->t.sp_after != o->t.sp_at_call)
        return snprintf(msg, cap, "%s: sp moved by %lld", who,
                        (long long)(o->t.sp_after - o->t.sp_at_call)), 1;
    if (o->bad_ctx || o->bad_align)
        return snprintf(msg, cap, "%s: %u service calls with a wrong ctx, %u misaligned", who,
                        o->bad_ctx, o->bad_align), 1;
    if (o->live || o->depth)
        return snprintf(msg, cap, "%s: %u strings live, enter depth %llu afterwards", who,
                        o->live, (unsigned long long)o->depth), 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Static properties of the generated code.
 */
static uint32_t word(const struct stub_code *c, size_t i)
{
    return (uint32_t)load_le(c->bytes + 4 * i, 4);
}

static void check_code(const struct calli_sig *s, int sgc, const struct stub_code *c, int bti)
{
    (void)s, (void)sgc;
    CHECK(c->len % 4 == 0 && c->len > 0, "length %zu", c->len);
    size_t n = c->len / 4;
    CHECK(!bti || word(c, 0) == 0xd503245f, "BTI stub does not start with bti c");
    for (size_t i = 0; i < n; i++) {
        uint32_t w = word(c, i);
        int rt = (int)(w & 31), rn = (int)(w >> 5 & 31), rt2 = (int)(w >> 10 & 31);
        /* no PC-relative data: adr/adrp, ldr literal */
        CHECK((w & 0x1f000000) != 0x10000000 && (w & 0x3b000000) != 0x18000000,
              "PC-relative addressing at +%zu", 4 * i);
        if ((w & 0x7e000000) == 0x34000000) { /* cbz/cbnz: stays inside */
            int32_t off = (int32_t)(w << 8) >> 13 << 2;
            int64_t dst = (int64_t)(4 * i) + off;
            CHECK(dst > (int64_t)(4 * i) && dst < (int64_t)c->len, "branch at +%zu leaves", 4 * i);
            continue;
        }
        if ((w & 0xfffffc1f) == 0xd61f0000) { /* br */
            CHECK(bti ? rn == 16 && i > 0 && word(c, i - 1) == 0xaa0c03f0 : rn == 12,
                  "br x%d at +%zu", rn, 4 * i);
            continue;
        }
        if ((w & 0xfffffc1f) == 0xd63f0000) { /* blr: services, target */
            CHECK(rn == 9 || rn == 20 || rn == 12, "blr x%d at +%zu", rn, 4 * i);
            continue;
        }
        if (w == 0xd65f03c0 || w == 0xd503245f)
            continue;
        CHECK((w & 0xfc000000) != 0x14000000 && (w & 0xfc000000) != 0x94000000,
              "direct branch at +%zu", 4 * i);
        /* loads and stores: only sp/x29/x19/x15/x10-relative */
        int ldst = (w & 0x3b000000) == 0x39000000, pair = (w & 0x3a000000) == 0x28000000;
        if (ldst || pair)
            CHECK(rn == 31 || rn == 29 || rn == 19 || rn == 15 || rn == 10,
                  "memory operand based on x%d at +%zu", rn, 4 * i);
        /* never write or read x18 (platform register) or x21-x28 */
        CHECK(rt != 18 && !(rt >= 21 && rt <= 28) && rn != 18,
              "x18/x21-x28 used at +%zu (0x%08x)", 4 * i, w);
        if (pair)
            CHECK(rt2 != 18 && !(rt2 >= 21 && rt2 <= 28), "pair with x%d at +%zu", rt2, 4 * i);
    }
    uint32_t last = word(c, n - 1);
    CHECK(c->has_frame ? last == 0xd65f03c0 : (last & 0xfffffc1f) == 0xd61f0000,
          "stub does not end in %s", c->has_frame ? "ret" : "br");

    /* The unwind description is exactly what the instructions do to sp,
     * x29 and the saved registers, decoded independently here. */
    struct stub_unwind_step want[64];
    size_t nw = 0;
#define STEP(op_, reg_, val_)                                                         \
    do {                                                                              \
        CHECK(nw < 64, "too many unwind steps");                                      \
        want[nw++] = (struct stub_unwind_step){.pc_off = (uint32_t)(4 * i + 4),       \
                                               .op = (op_), .reg = (reg_), .value = (val_)}; \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        uint32_t w = word(c, i);
        unsigned rt = w & 31, rn = w >> 5 & 31, rt2 = w >> 10 & 31;
        if ((w & 0x3e000000) == 0x28000000 && (w >> 30) == 2) {
            /* ldp/stp x: idx 1 post, 2 offset, 3 pre */
            unsigned idx = w >> 23 & 3, load = w >> 22 & 1;
            int32_t off = ((int32_t)(w << 10) >> 25) * 8;
            if (rn != 31)
                continue;
            if (idx == 3)
                STEP(STUB_UW_ALLOC, 0, -off);
            int32_t base = idx == 2 ? off : 0;
            if (load) {
                if (rt >= 19) STEP(STUB_UW_RELOAD, rt, 0);
                if (rt2 >= 19) STEP(STUB_UW_RELOAD, rt2, 0);
            } else {
                if (rt >= 19) STEP(STUB_UW_SAVE, rt, base);
                if (rt2 >= 19) STEP(STUB_UW_SAVE, rt2, base + 8);
            }
            if (idx == 1)
                STEP(STUB_UW_FREE, 0, off);
        } else if ((w & 0xbf800000) == 0x91000000) { /* add/sub x, imm */
            uint32_t imm = (w >> 10 & 0xfff) << (w >> 22 & 1 ? 12 : 0);
            int sub = w >> 30 & 1;
            if (rt == 31 && rn == 31)
                STEP(sub ? STUB_UW_ALLOC : STUB_UW_FREE, 0, (int32_t)imm);
            else if (rt == 31 && rn == 29 && !sub)
                STEP(STUB_UW_SP_FROM_FP, 29, (int32_t)imm);
            else if (rt == 29 && rn == 31 && !sub)
                STEP(STUB_UW_SET_FP, 29, (int32_t)imm);
            else
                CHECK(rt != 31 && rt != 29, "unexpected write of sp/x29 at +%zu", 4 * i);
        } else if ((w & 0xff800000) == 0xf9000000 && rn == 31) { /* str/ldr x, [sp, #] */
            CHECK(rt < 19, "sp-relative save or reload of x%u at +%zu", rt, 4 * i);
        }
    }
#undef STEP
    if (nw != c->nunwind && verbose)
        for (size_t k = 0; k < nw; k++)
            fprintf(stderr, "  derived: pc +%u op %u reg %u value %d\n", want[k].pc_off, want[k].op,
                    want[k].reg, want[k].value);
    CHECK(nw == c->nunwind, "%zu unwind steps, the code does %zu", c->nunwind, nw);
    for (size_t k = 0; k < nw; k++) {
        const struct stub_unwind_step *u = &c->unwind[k], *x = &want[k];
        CHECK(u->pc_off == x->pc_off && u->op == x->op && u->reg == x->reg && u->value == x->value,
              "unwind step %zu: pc +%u op %u reg %u value %d; the code does pc +%u op %u reg %u "
              "value %d", k, u->pc_off, u->op, u->reg, u->value, x->pc_off, x->op, x->reg, x->value);
    }

    /* The unwind description balances and keeps sp 16-aligned. */
    int64_t sp = 0, fp = -1; /* CFA - sp, CFA - x29 */
    uint32_t pc = 0;
    for (size_t i = 0; i < c->nunwind; i++) {
        const struct stub_unwind_step *u = &c->unwind[i];
        CHECK(u->pc_off >= pc && u->pc_off <= c->len && u->pc_off % 4 == 0, "unwind step %zu", i);
        pc = u->pc_off;
        switch (u->op) {
        case STUB_UW_ALLOC: sp += u->value; break;
        case STUB_UW_FREE: sp -= u->value; break;
        case STUB_UW_SET_FP: fp = sp - u->value; CHECK(u->reg == 29, "set_fp"); break;
        case STUB_UW_SP_FROM_FP: CHECK(fp >= 0, "sp from fp before fp"); sp = fp - u->value; break;
        case STUB_UW_SAVE: case STUB_UW_RELOAD: break;
        default: fail("unexpected unwind op %u", u->op);
        }
        CHECK(sp >= 0 && sp % 16 == 0, "sp misaligned in the unwind description");
        if (pc == c->prologue_end && c->has_frame && u->op != STUB_UW_RELOAD && u->op != STUB_UW_FREE)
            CHECK(sp == c->frame_size, "frame_size %u, prologue leaves %lld", c->frame_size,
                  (long long)sp);
    }
    CHECK(sp == 0, "unwind description does not balance");
    if (c->has_frame)
        CHECK(c->frame_start < c->prologue_end && c->prologue_end <= c->epilogue_start &&
                  c->epilogue_start < c->len && c->frame_size % 16 == 0,
              "frame offsets");
    else
        CHECK(c->nunwind == 0, "frameless stub with unwind steps");
}

/* ---------------------------------------------------------------------------
 * The differential case.
 */
struct case_opts {
    enum calli_abi abi;
    int sgc, rt_null, bti, via_site, backtrace;
};

static unsigned helper_compared, backtraces, shapes[3];

static void run_case(const struct calli_sig *s, const struct case_opts *co)
{
    char key[CALLI_SIG_TEXT_MAX], msg[2 * sizeof events + 512], err[256], what[128];
    struct stub_code c;
    struct stub_opts so = {.bti = co->bti};
    int rt = !co->rt_null;
    int apple = co->abi == CALLI_ABI_APPLE_ARM64;

    calli_sig_key(s, co->sgc, key, sizeof key);
    snprintf(what, sizeof what, "%s, runtime %s, bti %d, %s", apple ? "apple" : "aapcs64",
             rt ? "set" : "null", co->bti, co->via_site ? "tail site" : "blr");
    set_case(key, what);
    memset(&c, 0, sizeof c);
    if (stub_generate(co->abi, s, co->sgc, &so, &c, err, sizeof err) != STUB_OK)
        fail("stub_generate: %s", err);
    /* Deterministic. */
    struct stub_code d;
    CHECK(stub_generate(co->abi, s, co->sgc, &so, &d, err, sizeof err) == STUB_OK &&
              d.len == c.len && !memcmp(d.bytes, c.bytes, c.len),
          "generation is not deterministic");
    stub_code_free(&d);
    check_code(s, co->sgc, &c, co->bti);
    shapes[!c.has_frame ? 0 : c.tail_call ? 1 : 2]++;
    cur_abi = co->abi;
    CHECK(calli_layout_compute(s, co->abi, &cur_lay) == 0, "no layout");
    uint8_t *code = install(&c, co->bti, co->backtrace);

    static struct input in;
    static struct outcome oh, os;
    static char want[sizeof events];
    make_input(s, &cur_lay, &in);
    model_events(s, co->sgc, rt, &in, want);

    struct calli_cookie *cookie = make_cookie(s, co->sgc, rt ? &wrt.rt : 0);
    memcpy(mini_cookie, "garbage!", 8);
    const void *rtp = rt ? (const void *)&wrt.rt : 0;
    memcpy(mini_cookie + 8, &rtp, 8);
    void *target = co->bti ? bti_pad : (void *)rec_target;

    cur_side = "generic helper";
    run(s, &in, apple ? (void *)apple_helper : (void *)GenericPInvokeCalliHelper, cookie, target,
        co->via_site, &oh);
    want_backtrace = co->backtrace;
    cur_side = "stub";
    run(s, &in, code, mini_cookie, target, co->via_site, &os);
    want_backtrace = 0;
    free(cookie);

    if (check("helper", s, &in, &oh, want, msg, sizeof msg))
        fail("the generic helper deviates from the model: %s", msg);
    if (check("stub", s, &in, &os, want, msg, sizeof msg))
        fail("%s", msg);
    /* Differential: identical target inputs, events and results. */
    for (unsigned i = 0; i < s->nparams; i++) {
        uint64_t h1, h2;
        uint64_t a = rec_value(&oh.rec, &cur_lay.native[i], &h1);
        uint64_t b = rec_value(&os.rec, &cur_lay.native[i], &h2);
        CHECK(s->params[i] == CALLI_T_STRING || (a == b && h1 == h2),
              "parameter %u differs between the helper and the stub", i);
    }
    CHECK(!strcmp(oh.log, os.log), "event logs differ");
    CHECK(oh.t.x0 == os.t.x0 && oh.t.q0[0] == os.t.q0[0] && oh.t.q0[1] == os.t.q0[1],
          "x0/q0 differ between the helper and the stub");
    helper_compared++;

    if (co->backtrace) {
        /* From inside the target: rec_target_c, rec_target, then the stub
         * (when the path taken keeps a frame), the trampoline, its callers. */
        int framed = c.has_frame && !(c.tail_call && co->rt_null);
        int k = 2; /* (the BTI landing pad tail-branches: not a frame) */
        CHECK(bt_n >= 2 && bt_ip[1] >= (uintptr_t)rec_target && bt_ip[1] < (uintptr_t)rec_target + 256,
              "backtrace from the target does not start in the target");
        if (framed) {
            CHECK(k < bt_n && bt_ip[k] >= (uintptr_t)code && bt_ip[k] < (uintptr_t)code + c.len,
                  "backtrace from the target does not pass through the stub (frame %d: %#lx)", k,
                  k < bt_n ? (unsigned long)bt_ip[k] : 0ul);
            k++;
        }
        CHECK(k < bt_n && bt_ip[k] == (uintptr_t)tramp_after_call,
              "the backtrace went to %#lx, not the trampoline", k < bt_n ? (unsigned long)bt_ip[k] : 0ul);
        CHECK(bt_rc == _URC_END_OF_STACK && k + 2 < bt_n, "backtrace stopped (%d) after %d frames",
              bt_rc, bt_n);
        backtraces++;
    }
    unregister_fde();
    stub_code_free(&c);
}

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

#define B CALLI_T_BOOL
#define C_ CALLI_T_CHAR
#define I1 CALLI_T_I1
#define U1 CALLI_T_U1
#define I2 CALLI_T_I2
#define U2 CALLI_T_U2
#define I4 CALLI_T_I4
#define U4 CALLI_T_U4
#define I8 CALLI_T_I8
#define U8 CALLI_T_U8
#define R4 CALLI_T_R4
#define R8 CALLI_T_R8
#define S CALLI_T_STRING
#define P CALLI_T_PTR
#define NI CALLI_T_I
#define NU CALLI_T_U
#define FN CALLI_T_FNPTR
#define V CALLI_T_VOID

static const struct {
    uint8_t ret;
    uint8_t n;
    uint8_t p[40];
} edge[] = {
    {V, 0, {0}},
    {I4, 0, {0}},
    {B, 0, {0}},
    {R8, 0, {0}},
    {R4, 1, {R4}},
    {C_, 1, {C_}},
    {I1, 1, {I1}},
    {U1, 1, {U1}},
    {I2, 1, {I2}},
    {U2, 1, {U2}},
    {U4, 2, {B, B}},
    {I8, 1, {S}},
    {V, 3, {S, S, S}},
    {P, 2, {FN, P}},
    {NI, 2, {NI, NU}},
    {NU, 1, {U8}},
    {FN, 1, {R8}},
    /* the first string not in x0 */
    {I4, 3, {I4, B, S}},
    /* every register of both classes, then the stack of both classes */
    {B, 24, {I4, R8, U1, R4, I2, R8, C_, R4, S, R8, B, R8, R4, I1, R8, B, U2, R4, S, R8, I1, I8, R4, U1}},
    /* 9 integers and 9 floats: exactly one stack argument of each class */
    {I8, 18, {I8, R8, I8, R8, I8, R8, I8, R8, I8, R8, I8, R8, I8, R8, I8, R8, B, R4}},
    /* 30 small integers: 22 on the stack, normalised in place */
    {I8, 30, {B, I1, U1, I2, U2, C_, B, I1, U1, I2, U2, C_, B, I1, U1, I2, U2, C_,
              B, I1, U1, I2, U2, C_, B, I1, U1, I2, U2, C_}},
    /* 20 doubles: 12 on the stack, pairs copied together */
    {R4, 20, {R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8}},
    /* 12 strings: 4 on the stack */
    {U2, 12, {S, S, S, S, S, S, S, S, S, S, S, S}},
    /* Apple packing: bools, bytes, halves, words and doubles mixed on the stack */
    {B, 20, {I8, I8, I8, I8, I8, I8, I8, I8, B, I1, I2, B, I4, U1, R4, I8, B, U2, R8, C_}},
    {I4, 16, {P, P, P, P, P, P, P, P, I1, I1, I1, I2, I4, I1, I8, S}},
};

static void test_edge_cases(void)
{
    rng_state = 0x5eed0001;
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++) {
        struct calli_sig s = mk(edge[e].ret, edge[e].n, edge[e].p);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        for (int v = 0; v < 32; v++) {
            struct case_opts co = {.abi = (v & 16) ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64,
                                   .sgc = v & 1, .rt_null = (v >> 1) & 1, .bti = (v >> 2) & 1,
                                   .via_site = (v >> 3) & 1, .backtrace = 1};
            if (co.rt_null && has_str)
                continue;
            for (int rep = 0; rep < 2; rep++) /* fresh garbage each time */
                CASE(run_case, &s, &co);
        }
    }
    /* 64 parameters, the maximum, of every kind. */
    for (int k = 0; k < 5; k++) {
        struct calli_sig s = mk(B, 0, 0);
        s.nparams = CALLI_SIG_MAX_PARAMS;
        for (unsigned i = 0; i < s.nparams; i++)
            s.params[i] = k == 0 ? param_types[i % NPARAM_TYPES]
                        : k == 1 ? S
                        : k == 2 ? R4
                        : k == 3 ? B
                                 : (i % 2 ? R8 : I1);
        for (int v = 0; v < 4; v++) {
            struct case_opts co = {.abi = (v & 2) ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64,
                                   .sgc = v & 1, .rt_null = k >= 2 && (v & 1), .backtrace = 1};
            CASE(run_case, &s, &co);
        }
    }
}

#define NRANDOM 3000

static void check_shape_mix(const void *a, const void *b)
{
    (void)a, (void)b;
    set_case("random", "shape mix");
    CHECK(shapes[0] > 50 && shapes[1] > 50 && shapes[2] > 500, "shape mix too narrow");
}

static void test_random(void)
{
    rng_state = 0xc0ffee2024ull;
    unsigned before = helper_compared;
    memset(shapes, 0, sizeof shapes);
    for (unsigned n = 0; n < NRANDOM; n++) {
        struct calli_sig s;
        rnd_sig(&s);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        struct case_opts co = {.abi = rndn(4) == 0 ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64,
                               .sgc = (int)rndn(2), .bti = rndn(4) == 0, .via_site = rndn(4) == 0};
        co.rt_null = !has_str && rndn(3) == 0;
        co.backtrace = rndn(8) == 0;
        CASE(run_case, &s, &co);
    }
    printf("random: %u signatures compared with the generic helper "
           "(%u frameless, %u runtime-tested, %u framed)\n",
           helper_compared - before, shapes[0], shapes[1], shapes[2]);
    CASE(check_shape_mix, 0, 0);
}

/* ---------------------------------------------------------------------------
 * Exact code and CFI of a few stubs (the examples of docs/stubs.md).
 */
static void expect_words(const struct stub_code *c, const uint32_t *w, size_t n, const char *name)
{
    CHECK(c->len == 4 * n, "%s: %zu bytes, want %zu", name, c->len, 4 * n);
    for (size_t i = 0; i < n; i++)
        CHECK(word(c, i) == w[i], "%s: word %zu is 0x%08x, want 0x%08x", name, i, word(c, i), w[i]);
}

static void test_shapes(const void *a_, const void *b_)
{
    (void)a_, (void)b_;
    struct stub_code c;
    struct stub_opts bti = {.bti = 1};
    set_case("shapes", "exact code");
    /* void () suppress-gc: br x12; with BTI: bti c; mov x16, x12; br x16 */
    struct calli_sig s = mk(V, 0, 0);
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 1, 0, &c, 0, 0) == STUB_OK, "generate");
    expect_words(&c, (const uint32_t[]){0xd61f0180}, 1, "v_sgc");
    CHECK(!c.has_frame && c.tail_call && c.nunwind == 0, "v_sgc: shape");
    stub_code_free(&c);
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 1, &bti, &c, 0, 0) == STUB_OK, "generate");
    expect_words(&c, (const uint32_t[]){0xd503245f, 0xaa0c03f0, 0xd61f0200}, 3, "v_sgc bti");
    stub_code_free(&c);
    /* i4 (i1, b, c) suppress-gc: normalise in place, tail-branch */
    s = mk(I4, 3, (const uint8_t[]){I1, B, C_});
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 1, 0, &c, 0, 0) == STUB_OK, "generate");
    expect_words(&c, (const uint32_t[]){0x13001c00, 0x72001c3f, 0x1a9f07e1, 0x53003c42, 0xd61f0180},
                 5, "i4_i1_b_c_sgc");
    stub_code_free(&c);
    /* bool (i4) suppress-gc: a frame only for the conversion */
    s = mk(B, 1, (const uint8_t[]){I4});
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 1, 0, &c, 0, 0) == STUB_OK, "generate");
    expect_words(&c, (const uint32_t[]){0xa9bf7bfd, 0x910003fd, 0xd63f0180, 0x7100001f,
                                         0x1a9f07e0, 0xa8c17bfd, 0xd65f03c0}, 7, "b_i4_sgc");
    CHECK(c.has_frame && !c.tail_call && c.frame_size == 16 &&
              c.saved_regs == (1u << 29 | 1u << 30), "b_i4_sgc: frame");
    struct cfi_buf b = {0};
    CHECK(cfi_dwarf_program(&c, &b) == CFI_OK, "cfi");
    /* +4: CFA = sp+16, x29 at CFA-16, x30 at CFA-8; +8: CFA = x29+16;
     * +24: CFA = sp+0, restore x29, x30 */
    const uint8_t want[] = {0x41, 0x0e, 16, 0x9d, 2, 0x9e, 1, 0x41, 0x0d, 29,
                            0x44, 0x0c, 31, 0, 0xdd, 0xde};
    CHECK(b.len == sizeof want && !memcmp(b.data, want, sizeof want), "b_i4_sgc: CFI program");
    free(b.data);
    stub_code_free(&c);
    /* i8 (i8): runtime test, tail path, framed path */
    s = mk(I8, 1, (const uint8_t[]){I8});
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 0, 0, &c, 0, 0) == STUB_OK, "generate");
    CHECK(c.has_frame && c.tail_call && c.frame_start == 12 &&
              word(&c, 0) == 0xf94005ef && word(&c, 1) == 0xb500004f && word(&c, 2) == 0xd61f0180 &&
              word(&c, 3) == 0xa9bb7bfd, "i8_i8: head");
    CHECK(c.saved_regs == (1u << 19 | 1u << 20 | 1u << 29 | 1u << 30), "i8_i8: saved");
    stub_code_free(&c);
    /* A frame larger than an stp pre-index can allocate: 64 strings. */
    s = mk(V, 0, 0);
    s.nparams = 64;
    memset(s.params, S, 64);
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 0, 0, &c, 0, 0) == STUB_OK, "generate");
    CHECK((word(&c, 0) & 0xff0003ff) == 0xd10003ff && word(&c, 1) == 0xa9007bfd, "v_s*64: big frame");
    stub_code_free(&c);
    /* Errors: Win64 is not arm64's; invalid signatures. */
    char err[128];
    CHECK(stub_generate(CALLI_ABI_WIN_X64, &s, 0, 0, &c, err, sizeof err) == STUB_E_ABI, "win64");
    struct calli_sig bad = mk(S, 0, 0);
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &bad, 0, 0, &c, err, sizeof err) == STUB_E_SIG, "bad sig");
}

/* ---------------------------------------------------------------------------
 * Compact unwind encodings (stub_compact_unwind): the exact Apple frame, the
 * encodings of each kind of stub, and hand-made descriptions (the x86-64
 * frames, which this arm64 build cannot generate, and refusals).
 */
static uint32_t cu_of(enum calli_abi abi, const struct calli_sig *s, int sgc, enum stub_err *rc)
{
    struct stub_code c;
    uint32_t enc = 0xdeadbeef, head = 0;
    CHECK(stub_generate(abi, s, sgc, 0, &c, 0, 0) == STUB_OK, "generate");
    *rc = stub_compact_unwind(&c, &enc, &head);
    CHECK(head == 0x02000000, "arm64 head encoding %08x", head);
    stub_code_free(&c);
    return enc;
}

struct hand_step {
    uint32_t pc;
    uint8_t op, reg;
    int32_t v;
};

static enum stub_err cu_hand(enum calli_abi abi, const struct hand_step *st, size_t n,
                             uint32_t pend, uint32_t *enc)
{
    static struct stub_unwind_step u[16];
    struct stub_code c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < n; i++)
        u[i] = (struct stub_unwind_step){.pc_off = st[i].pc, .op = st[i].op, .reg = st[i].reg,
                                         .value = st[i].v};
    c.abi = abi;
    c.has_frame = 1;
    c.unwind = u;
    c.nunwind = n;
    c.prologue_end = pend;
    c.epilogue_start = c.len = pend + 8;
    *enc = 0;
    return stub_compact_unwind(&c, enc, 0);
}

static void test_compact_unwind(const void *a_, const void *b_)
{
    (void)a_, (void)b_;
    struct stub_code c;
    enum stub_err rc;
    uint32_t enc, head;
    set_case("compact unwind", "encodings");
    /* Apple i8 (i8): the frame compact unwind describes, exactly. */
    struct calli_sig s = mk(I8, 1, (const uint8_t[]){I8});
    CHECK(stub_generate(CALLI_ABI_APPLE_ARM64, &s, 0, 0, &c, 0, 0) == STUB_OK, "generate");
    CHECK(c.frame_start == 12 && c.prologue_end == 28 && c.frame_size == 80 &&
              word(&c, 3) == 0xa9bf7bfd && word(&c, 4) == 0x910003fd &&  /* stp x29, x30, [sp, #-16]!; mov x29, sp */
              word(&c, 5) == 0xa9bf4ff4 && word(&c, 6) == 0xd100c3ff,    /* stp x20, x19, [sp, #-16]!; sub sp, sp, #48 */
          "apple i8_i8: prologue");
    size_t n = c.len / 4;
    CHECK(c.epilogue_start == c.len - 16 && word(&c, n - 4) == 0x9100c3ff &&
              word(&c, n - 3) == 0xa8c14ff4 && word(&c, n - 2) == 0xa8c17bfd &&
              word(&c, n - 1) == 0xd65f03c0, "apple i8_i8: epilogue");
    CHECK(stub_compact_unwind(&c, &enc, &head) == STUB_OK && enc == 0x04000001 &&
              head == 0x02000000, "apple i8_i8: encoding %08x", enc);
    stub_code_free(&c);
    /* The same key for AAPCS64 keeps the old layout, which FRAME cannot say. */
    cu_of(CALLI_ABI_AAPCS64, &s, 0, &rc);
    CHECK(rc == STUB_E_ENCODE, "aapcs64 i8_i8 not refused");
    /* Frameless, framed without service calls, framed with them. */
    CHECK(cu_of(CALLI_ABI_APPLE_ARM64, &s, 1, &rc) == 0x02000000 && rc == STUB_OK, "i8_i8_sgc");
    s = mk(B, 1, (const uint8_t[]){I4});
    CHECK(cu_of(CALLI_ABI_APPLE_ARM64, &s, 1, &rc) == 0x04000000 && rc == STUB_OK, "b_i4_sgc");
    CHECK(cu_of(CALLI_ABI_AAPCS64, &s, 1, &rc) == 0x04000000 && rc == STUB_OK, "aapcs b_i4_sgc");
    s = mk(I4, 2, (const uint8_t[]){S, B});
    CHECK(cu_of(CALLI_ABI_APPLE_ARM64, &s, 1, &rc) == 0x04000001 && rc == STUB_OK, "i4_s_b_sgc");
    /* Apple: a BOOL on the stack frames the stub even without calls. */
    s = mk(V, 9, (const uint8_t[]){I4, I4, I4, I4, I4, I4, I4, I4, B});
    CHECK(cu_of(CALLI_ABI_APPLE_ARM64, &s, 1, &rc) == 0x04000000 && rc == STUB_OK, "bool on stack");
    /* 64 strings: the largest Apple frame. */
    s = mk(V, 0, 0);
    s.nparams = 64;
    memset(s.params, S, 64);
    CHECK(cu_of(CALLI_ABI_APPLE_ARM64, &s, 0, &rc) == 0x04000001 && rc == STUB_OK, "v_s*64");

    /* Hand-made descriptions. x86-64 System V: push rbp; mov rbp, rsp;
     * push rbx; sub rsp, 24 -> RBP_FRAME, rbx at rbp-8 (offset 1, slot 1). */
    enum { PU = STUB_UW_PUSH, FP_ = STUB_UW_SET_FP, AL = STUB_UW_ALLOC, SV = STUB_UW_SAVE,
           PO = STUB_UW_POP };
    const struct hand_step sysv[] = {{1, PU, 5, 0}, {4, FP_, 5, 0}, {5, PU, 3, 0}, {9, AL, 0, 24}};
    CHECK(cu_hand(CALLI_ABI_SYSV_X64, sysv, 4, 9, &enc) == STUB_OK && enc == 0x01010001,
          "sysv frame: %08x", enc);
    CHECK(cu_hand(CALLI_ABI_SYSV_X64, sysv, 2, 4, &enc) == STUB_OK && enc == 0x01000000,
          "sysv frame without rbx: %08x", enc);
    /* rbx, r12, r14 pushed: offset 3, slots from rbp-24 up: r14, r12, rbx */
    const struct hand_step three[] = {{1, PU, 5, 0}, {4, FP_, 5, 0}, {5, PU, 3, 0},
                                      {7, PU, 12, 0}, {9, PU, 14, 0}};
    CHECK(cu_hand(CALLI_ABI_SYSV_X64, three, 5, 9, &enc) == STUB_OK &&
              enc == (0x01000000u | 3u << 16 | 4u | 2u << 3 | 1u << 6), "sysv three: %08x", enc);
    /* Microsoft x64: push rbx; sub rsp, 48 - no rbp frame: refused. */
    const struct hand_step win[] = {{1, PU, 3, 0}, {5, AL, 0, 48}};
    CHECK(cu_hand(CALLI_ABI_WIN_X64, win, 2, 5, &enc) == STUB_E_ENCODE, "win64 not refused");
    /* rsi saved (not in the compact register set): refused. */
    const struct hand_step rsi[] = {{1, PU, 5, 0}, {4, FP_, 5, 0}, {5, PU, 6, 0}};
    CHECK(cu_hand(CALLI_ABI_SYSV_X64, rsi, 3, 5, &enc) == STUB_E_ENCODE, "rsi not refused");
    /* A pop in the prologue: refused. */
    const struct hand_step pop[] = {{1, PU, 5, 0}, {4, FP_, 5, 0}, {5, PO, 5, 0}};
    CHECK(cu_hand(CALLI_ABI_SYSV_X64, pop, 3, 5, &enc) == STUB_E_ENCODE, "pop not refused");
    /* arm64, Apple's compilers' form: stp x20, x19, [sp, #-32]!;
     * stp x29, x30, [sp, #16]; add x29, sp, #16 -> FRAME | X19_X20. */
    const struct hand_step clang[] = {{4, AL, 0, 32}, {4, SV, 20, 0}, {4, SV, 19, 8},
                                      {8, SV, 29, 16}, {8, SV, 30, 24}, {12, FP_, 29, 16}};
    CHECK(cu_hand(CALLI_ABI_APPLE_ARM64, clang, 6, 12, &enc) == STUB_OK && enc == 0x04000001,
          "clang frame: %08x", enc);
    /* Two pairs: x21/x22 below x19/x20. */
    const struct hand_step two[] = {{4, AL, 0, 48}, {4, SV, 22, 0}, {4, SV, 21, 8},
                                    {8, SV, 20, 16}, {8, SV, 19, 24}, {12, SV, 29, 32},
                                    {12, SV, 30, 40}, {16, FP_, 29, 32}};
    CHECK(cu_hand(CALLI_ABI_APPLE_ARM64, two, 8, 16, &enc) == STUB_OK && enc == 0x04000003,
          "two pairs: %08x", enc);
    /* The pair swapped (x19 at x29-16): refused. */
    const struct hand_step swapped[] = {{4, AL, 0, 32}, {4, SV, 19, 0}, {4, SV, 20, 8},
                                        {8, SV, 29, 16}, {8, SV, 30, 24}, {12, FP_, 29, 16}};
    CHECK(cu_hand(CALLI_ABI_APPLE_ARM64, swapped, 6, 12, &enc) == STUB_E_ENCODE, "swap not refused");
    /* The old layout: stp x29, x30, [sp, #-80]!; mov x29, sp; stp x19, x20, [sp, #16]. */
    const struct hand_step old[] = {{4, AL, 0, 80}, {4, SV, 29, 0}, {4, SV, 30, 8},
                                    {8, FP_, 29, 0}, {12, SV, 19, 16}, {12, SV, 20, 24}};
    CHECK(cu_hand(CALLI_ABI_APPLE_ARM64, old, 6, 12, &enc) == STUB_E_ENCODE, "old not refused");
    /* Half a pair, or x18: refused. */
    const struct hand_step half[] = {{4, AL, 0, 32}, {4, SV, 19, 8}, {8, SV, 29, 16},
                                     {8, SV, 30, 24}, {12, FP_, 29, 16}};
    CHECK(cu_hand(CALLI_ABI_APPLE_ARM64, half, 5, 12, &enc) == STUB_E_ENCODE, "half not refused");
    /* Errors. */
    memset(&c, 0, sizeof c);
    c.abi = (enum calli_abi)99;
    CHECK(stub_compact_unwind(&c, &enc, 0) == STUB_E_ABI, "abi");
    CHECK(stub_compact_unwind(0, &enc, 0) == STUB_E_ARG && stub_compact_unwind(&c, 0, 0) == STUB_E_ARG,
          "null");
}

/* ---------------------------------------------------------------------------
 * BTI controls: what the BTI cases would catch.
 */
struct bti_ctl {
    const char *name;
    const uint8_t *bytes;
    const struct stub_code *c;
    int expect_fault;
};

static void bti_control(const struct bti_ctl *k, const void *unused)
{
    (void)unused;
    const char *name = k->name;
    const uint8_t *bytes = k->bytes;
    const struct stub_code *c = k->c;
    int expect_fault = k->expect_fault;
    static struct input in;
    static struct outcome o;
    set_case(name, "BTI control");
    cur_abi = c->abi;
    CHECK(calli_layout_compute(cur_sig, c->abi, &cur_lay) == 0, "layout");
    uint8_t *code = install_bytes(c, bytes, 1, 0);
    make_input(cur_sig, &cur_lay, &in);
    const void *rtp = 0;
    memcpy(mini_cookie + 8, &rtp, 8);
    int faulted = 0;
    expect_sigill = 1;
    if (sigsetjmp(sigill_jb, 1) == 0)
        run(cur_sig, &in, code, mini_cookie, bti_pad, 0, &o);
    else
        faulted = 1;
    expect_sigill = 0;
    CHECK(faulted == expect_fault, "%s", expect_fault ? "no BTI fault" : "unexpected BTI fault");
}

static void test_bti_controls(void)
{
    struct calli_sig s = mk(V, 1, (const uint8_t[]){I4});
    struct stub_code c;
    struct stub_opts on = {.bti = 1};
    cur_sig = &s;
    /* The right stub works in a guarded page... */
    CHECK(stub_generate(CALLI_ABI_AAPCS64, &s, 1, &on, &c, 0, 0) == STUB_OK, "generate");
    struct bti_ctl k1 = {"v_i4_sgc", c.bytes, &c, 0};
    CASE(bti_control, &k1, 0);
    /* ...without its landing pad it faults on entry... */
    static uint8_t bytes[64];
    memcpy(bytes, c.bytes + 4, c.len - 4);
    memcpy(bytes + c.len - 4, "\x1f\x20\x03\xd5", 4); /* nop: keep the length */
    struct stub_code nopad = c;
    struct bti_ctl k2 = {"v_i4_sgc without bti c", bytes, &nopad, 1};
    CASE(bti_control, &k2, 0);
    /* ...and `br x12` instead of `br x16` faults at the target's bti c. */
    memcpy(bytes, c.bytes, c.len);
    uint32_t br12 = 0xd61f0180, nop = 0xd503201f;
    memcpy(bytes + 4, &nop, 4);
    memcpy(bytes + 8, &br12, 4);
    static uint8_t bytes3[64];
    memcpy(bytes3, bytes, sizeof bytes3);
    struct bti_ctl k3 = {"v_i4_sgc with br x12", bytes3, &c, 1};
    CASE(bti_control, &k3, 0);
    stub_code_free(&c);
}

/* ---------------------------------------------------------------------------
 * Unwinding from every instruction: for instruction i, a copy of the stub
 * with `brk #0x77` at i; the SIGTRAP handler walks from the signal context
 * and checks the frame above the stub.
 */
static volatile uintptr_t uw_lo, uw_hi;
static struct tramp *volatile uw_tramp;
static volatile int uw_trapped, uw_state;
static char uw_why[200];
static sigjmp_buf uw_jb;
static unsigned unwound_pcs;

struct uw_walk {
    uintptr_t pc;
    int state; /* 0 looking for the stub, 1 found, 2 good, 3 bad */
};

static _Unwind_Reason_Code uw_cb(struct _Unwind_Context *ctx, void *arg)
{
    struct uw_walk *w = arg;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (w->state == 0) {
        if (ip == w->pc)
            w->state = 1;
        return _URC_NO_REASON;
    }
    /* In libgcc the context of frame N carries the CFA of frame N-1. */
    if (ip != (uintptr_t)tramp_after_call)
        snprintf(uw_why, sizeof uw_why, "pc +%lu: caller ip %#lx, not the trampoline",
                 (unsigned long)(w->pc - uw_lo), (unsigned long)ip);
    else if (_Unwind_GetCFA(ctx) != uw_tramp->sp_at_call)
        snprintf(uw_why, sizeof uw_why, "pc +%lu: stub CFA %#lx, want %#lx",
                 (unsigned long)(w->pc - uw_lo), (unsigned long)_Unwind_GetCFA(ctx),
                 (unsigned long)uw_tramp->sp_at_call);
    else if (_Unwind_GetGR(ctx, 19) != uw_tramp->cs_in[0] ||
             _Unwind_GetGR(ctx, 20) != uw_tramp->cs_in[1] ||
             _Unwind_GetGR(ctx, 29) != uw_tramp->cs_in[10])
        snprintf(uw_why, sizeof uw_why, "pc +%lu: recovered x19/x20/x29 wrong",
                 (unsigned long)(w->pc - uw_lo));
    else {
        w->state = 2;
        return _URC_NORMAL_STOP;
    }
    w->state = 3;
    return _URC_NORMAL_STOP;
}

/* Compact unwind at the trapped pc: the stub's encoding (from
 * stub_compact_unwind) applied to the machine state, the way libunwind's
 * CompactUnwinder_arm64 steps (restated here independently): FRAMELESS
 * size 0 takes the return address from x30 and leaves sp; FRAME reads x19
 * at x29-8 and x20 at x29-16 (and further pairs below), the caller's x29
 * at [x29], the return address at [x29+8], and sets sp = x29 + 16. The
 * result must be the trampoline's state at the call: pc, sp and x19-x29.
 * The encoding is claimed where compilers claim it: a frameless stub and a
 * frameless head everywhere, a frame from prologue_end to epilogue_start. */
static volatile int cu_on;              /* check this stub */
static volatile uint32_t cu_enc, cu_head, cu_fstart, cu_pend, cu_estart;
static volatile int cu_has_frame;
static unsigned cu_checked, cu_bad;     /* per stub */
static char cu_why[200];
static unsigned cu_pcs;                 /* in all */

static void cu_check(const ucontext_t *uc, uintptr_t pc)
{
    uint32_t off = (uint32_t)(pc - uw_lo), enc;
    if (!cu_has_frame || off < cu_fstart)
        enc = cu_has_frame ? cu_head : cu_enc;
    else if (off >= cu_pend && off <= cu_estart)
        enc = cu_enc;
    else
        return; /* prologue and epilogue: not described by compact unwind */
    uint64_t r[32];
    for (int i = 0; i < 31; i++)
        r[i] = uc->uc_mcontext.regs[i];
    uint64_t sp = uc->uc_mcontext.sp, ret;
    if ((enc & 0x0f000000) == 0x02000000) { /* FRAMELESS */
        sp += 16 * (uint64_t)(enc >> 12 & 0xfff);
        if (enc & 0xfff)
            goto bad_enc; /* the stubs never save registers without a frame */
        ret = r[30];
    } else if ((enc & 0x0f000000) == 0x04000000) { /* FRAME */
        if (enc & 0x00fffee0)
            goto bad_enc;
        uint64_t fp = r[29], loc = fp - 8;
        for (unsigned k = 0; k < 5; k++)
            if (enc & 1u << k) {
                memcpy(&r[19 + 2 * k], (const void *)(uintptr_t)loc, 8);
                memcpy(&r[20 + 2 * k], (const void *)(uintptr_t)(loc - 8), 8);
                loc -= 16;
            }
        memcpy(&r[29], (const void *)(uintptr_t)fp, 8);
        memcpy(&ret, (const void *)(uintptr_t)(fp + 8), 8);
        sp = fp + 16;
    } else {
        goto bad_enc;
    }
    cu_checked++;
    const char *what = 0;
    if (ret != (uintptr_t)tramp_after_call)
        what = "return address";
    else if (sp != uw_tramp->sp_at_call)
        what = "sp";
    for (int i = 19; i <= 29 && !what; i++)
        if (r[i] != uw_tramp->cs_in[i - 19])
            what = i == 29 ? "x29" : "a callee-saved register (x19-x28)";
    if (!what)
        return;
    if (!cu_bad++)
        snprintf(cu_why, sizeof cu_why, "pc +%u: compact encoding %08x gives the wrong %s", off,
                 enc, what);
    return;
bad_enc:
    if (!cu_bad++)
        snprintf(cu_why, sizeof cu_why, "pc +%u: unexpected compact encoding %08x", off, enc);
}

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.pc;
    uw_trapped = 1;
    if (cu_on && pc >= uw_lo && pc < uw_hi)
        cu_check(uc, pc);
    if (pc < uw_lo || pc >= uw_hi) {
        snprintf(uw_why, sizeof uw_why, "trap at %#lx, outside the stub", (unsigned long)pc);
        uw_state = 3;
    } else {
        struct uw_walk w = {pc, 0};
        _Unwind_Backtrace(uw_cb, &w);
        if (w.state < 2)
            snprintf(uw_why, sizeof uw_why, "pc +%lu: the walk %s", (unsigned long)(pc - uw_lo),
                     w.state ? "ended at the stub" : "never reached the stub");
        uw_state = w.state;
    }
    siglongjmp(uw_jb, 1);
}

struct uw_case {
    enum calli_abi abi;
    int sgc, rt_null, via_site;
    uint32_t force_enc; /* negative control: check this encoding instead, expect mismatches */
};

static void unwind_every_instruction(const struct calli_sig *s, const struct uw_case *u)
{
    enum calli_abi abi = u->abi;
    int sgc = u->sgc, rt_null = u->rt_null, via_site = u->via_site;
    char key[CALLI_SIG_TEXT_MAX];
    struct stub_code c;
    static struct input in;
    static struct tramp t;
    static const struct calli_runtime lean = {CALLI_RUNTIME_ABI_VERSION, 0, ss_svc, ss_svc,
                                              ss_s2n, ss_free};
    calli_sig_key(s, sgc, key, sizeof key);
    set_case(key, rt_null ? "walk from every instruction, runtime null"
                          : "walk from every instruction, runtime set");
    CHECK(stub_generate(abi, s, sgc, 0, &c, 0, 0) == STUB_OK, "generate");
    cur_abi = abi;
    CHECK(calli_layout_compute(s, abi, &cur_lay) == 0, "layout");
    make_input(s, &cur_lay, &in);
    const void *rtp = rt_null ? 0 : (const void *)&lean;
    memcpy(mini_cookie + 8, &rtp, 8);

    /* Mach-O arm64 stubs must have an exact compact encoding; AAPCS64
     * stubs are checked too when the encoding can describe them. */
    uint32_t enc = 0, head = 0;
    enum stub_err ce = stub_compact_unwind(&c, &enc, &head);
    CHECK(ce == STUB_OK || (abi == CALLI_ABI_AAPCS64 && ce == STUB_E_ENCODE),
          "stub_compact_unwind: %s", stub_strerror(ce));
    cu_on = ce == STUB_OK || u->force_enc;
    cu_enc = u->force_enc ? u->force_enc : enc;
    cu_head = head;
    cu_has_frame = c.has_frame;
    cu_fstart = c.frame_start;
    cu_pend = c.prologue_end;
    cu_estart = c.epilogue_start;
    cu_checked = cu_bad = 0;
    cu_why[0] = 0;

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGTRAP, &sa, &old) == 0, "sigaction");
    static uint8_t bytes[8192];
    unsigned trapped = 0;
    size_t n = c.len / 4;
    for (size_t i = 0; i < n; i++) {
        memcpy(bytes, c.bytes, c.len);
        uint32_t brk = 0xd4200ee0; /* brk #0x77 */
        memcpy(bytes + 4 * i, &brk, 4);
        uint8_t *code = install_bytes(&c, bytes, 0, 1);
        uw_lo = (uintptr_t)code;
        uw_hi = uw_lo + c.len;
        t = in.t;
        t.x12 = (uintptr_t)ss_target;
        t.x15 = (uintptr_t)mini_cookie;
        t.entry = code;
        t.call = via_site ? (void *)site_br16 : (void *)code;
        uw_tramp = &t;
        uw_trapped = 0;
        uw_state = 0;
        ss_calls = 0;
        if (sigsetjmp(uw_jb, 1) == 0)
            tramp_call(&t); /* an instruction off the path taken: runs through */
        unregister_fde();
        if (!uw_trapped)
            continue;
        if (uw_state != 2) {
            sigaction(SIGTRAP, &old, 0);
            fail("unwinding failed: %s", uw_why);
        }
        trapped++;
    }
    CHECK(sigaction(SIGTRAP, &old, 0) == 0, "sigaction");
    /* Every instruction on the path taken trapped once: the whole stub
     * when the runtime is set and there is no frameless path. */
    CHECK(trapped >= 1 && (rt_null || c.tail_call || trapped == n),
          "%u of %zu instructions trapped", trapped, n);
    unwound_pcs += trapped;
    cu_on = 0;
    if (u->force_enc) /* every pc of the body disagrees (but the first, before x19 and x20
                         are written, for an encoding that only omits them) */
        CHECK(cu_checked > 1 && cu_bad + 1 >= cu_checked,
              "negative control: %u of %u pcs disagree with encoding %08x", cu_bad, cu_checked,
              u->force_enc);
    else if (ce == STUB_OK)
        CHECK(cu_bad == 0 && cu_checked > 0, "compact unwind: %s (%u of %u pcs)",
              cu_bad ? cu_why : "no pc checked", cu_bad, cu_checked);
    if (!u->force_enc)
        cu_pcs += cu_checked;
    stub_code_free(&c);
}

static void test_unwind_every_instruction(void)
{
    rng_state = 0x57e95;
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++) {
        struct calli_sig s = mk(edge[e].ret, edge[e].n, edge[e].p);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        for (int v = 0; v < 8; v++) {
            if ((v & 2) && has_str)
                continue;
            struct uw_case u = {(v & 4) ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64, v & 1,
                                (v >> 1) & 1, (int)(e & 1), 0};
            CASE(unwind_every_instruction, &s, &u);
        }
    }
    /* Negative controls for the compact unwind check, at every pc of the
     * body: the AAPCS64 frame (x19/x20 above the frame record, CFA = x29 +
     * 80: the layout Apple stubs had before) read as FRAME with the x19/x20
     * pair, and an Apple frame read without its pair. */
    {
        struct calli_sig s = mk(I4, 2, (const uint8_t[]){S, B});
        struct uw_case old = {CALLI_ABI_AAPCS64, 0, 0, 0, 0x04000001};
        CASE(unwind_every_instruction, &s, &old);
        struct uw_case nopair = {CALLI_ABI_APPLE_ARM64, 0, 0, 0, 0x04000000};
        CASE(unwind_every_instruction, &s, &nopair);
    }
    /* The largest frames (an stp pre-index cannot allocate them). */
    for (int k = 0; k < 2; k++) {
        struct calli_sig s = mk(k ? I2 : V, 0, 0);
        s.nparams = CALLI_SIG_MAX_PARAMS;
        for (unsigned i = 0; i < s.nparams; i++)
            s.params[i] = k && i % 8 == 0 ? R8 : S;
        struct uw_case u = {k ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64, k, 0, 0, 0};
        CASE(unwind_every_instruction, &s, &u);
    }
    for (unsigned k = 0; k < 300; k++) {
        struct calli_sig s;
        rnd_sig(&s);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        struct uw_case u = {rndn(4) ? CALLI_ABI_AAPCS64 : CALLI_ABI_APPLE_ARM64, (int)rndn(2), 0, 0, 0};
        u.rt_null = !has_str && rndn(2);
        u.via_site = rndn(4) == 0;
        CASE(unwind_every_instruction, &s, &u);
    }
}

int main(void)
{
    verbose = getenv("STUB_A64_VERBOSE") != 0;
    setvbuf(stdout, 0, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    memory_init();
    clock_t t0 = clock();

    CASE(test_shapes, 0, 0);
    CASE(test_compact_unwind, 0, 0);
    test_bti_controls();
    test_edge_cases();
    unsigned edge_cases = helper_compared;
    test_random();
    test_unwind_every_instruction();

    printf("stub-a64: %u cases compared with the generic helper (%u edge, %u random), %u "
           "backtraces through registered FDEs, %u stub instructions unwound from (%u of them "
           "also by compact unwind); %.1f s\n",
           helper_compared, edge_cases, helper_compared - edge_cases, backtraces, unwound_pcs,
           cu_pcs, (double)(clock() - t0) / CLOCKS_PER_SEC);
    summary();
    return n_fail != 0;
}

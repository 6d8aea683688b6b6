/* stub_win_test.c - the Microsoft x64 stub generator
 * (stubs/stub_x86_64_win.c), proven against the real Win64 generic helper
 * under wine. Built with mingw (tests/stub_win/rules.mk); the Windows twin of
 * tests/unit/test_stub_x86_64.c and tests/stub_a64/stub_a64_test.c.
 *
 * The stubs are generated on the host (gen_stubs.c: Zydis is not available
 * for mingw), checked statically there, and linked into this program as a
 * blob (tramp_win.S, .incbin): for each one the signature, the suppress-gc
 * and IBT bits, the code, the frame offsets and its UNWIND_INFO from
 * stub_win64_unwind_info.
 *
 * Each stub is copied into executable memory (VirtualAlloc) and called -
 * and GenericPInvokeCalliHelper from build/x86_64-windows/libcalli_runtime.a
 * with a real cookie - through one assembly trampoline (tramp_win.S) that
 * loads r10/r11, rcx rdx r8 r9, all 128 bits of xmm0-5 (garbage above every
 * defined bit), a home area and 64 stack slots, and random values in rbx
 * rbp rsi rdi r12-r15 and xmm6-15, exactly as a call site would; it calls
 * directly or through a site that tail-jumps. The native target records
 * the registers and stack slots it receives, returns rax/xmm0 full of
 * garbage and trashes every other volatile register, as do the runtime's
 * service shims. The runtime table wraps the reference runtime (its event
 * log is captured by defining calli_host_write) and checks ctx and the
 * stack alignment of every service call.
 *
 * Both sides are checked against an independent model of spec sections 3-4
 * and docs/runtime.md (exact 64-bit register and slot contents, all 128
 * bits of vector arguments, rax or all of xmm0 after the return, the
 * callee-saved registers, rsp), then against each other.
 *
 * Unwinding, with the stub's UNWIND_INFO registered by RtlAddFunctionTable:
 * RtlCaptureStackBackTrace from inside the target must pass through the
 * stub to the trampoline; and from every instruction of a stub, a copy with
 * an int3 there traps, the vectored handler unwinds one frame with
 * RtlVirtualUnwind (or as a leaf where no function entry covers the pc),
 * checks it lands on the trampoline's return address with its rsp and its
 * callee-saved registers, and resumes execution there - what exception
 * dispatch does.
 *
 * Output ends with "stub-win64: N passed, 0 failed". STUB_WIN_VERBOSE=1
 * prints every case.
 */
#include <windows.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calli_host.h"
#include "calli_layout.h"
#include "calli_refrt.h"
#include "calli_runtime.h"
#include "calli_sig.h"
#include "harness.h"

void GenericPInvokeCalliHelper(void);

/* ---------------------------------------------------------------------------
 * The harness: counters, the current case, failures. A failed check prints
 * and leaves the case (CHECK returns); a crash ends the program naming it.
 */
static unsigned n_pass, n_fail, case_failed;
static int verbose;
static char cur_key[CALLI_SIG_TEXT_MAX + 160];
static const char *cur_side = "stub";

static void set_case(const char *key, const char *what)
{
    snprintf(cur_key, sizeof cur_key, "%s (%s)", key, what);
    case_failed = 0;
    if (verbose)
        fprintf(stderr, "case %s\n", cur_key);
}

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s: ", cur_key);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    case_failed = 1;
}

#define CHECK(cond, ...) do { if (!(cond)) { fail(__VA_ARGS__); return; } } while (0)

static void summary(void)
{
    printf("stub-win64: %u passed, %u failed\n", n_pass, n_fail);
    fflush(stdout);
}

static void end_case(void)
{
    if (case_failed) {
        n_fail++;
        if (n_fail >= 20) {
            fprintf(stderr, "stub-win64: too many failures, stopping\n");
            summary();
            ExitProcess(1);
        }
    } else {
        n_pass++;
    }
}

/* ---------------------------------------------------------------------------
 * Host primitives (the runtime's event log lands in `events`).
 */
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
        fwrite(buf, 1, len, stderr);
        fflush(stderr);
    }
}

/* A fatal error of the reference runtime (leave without enter, a pointer
 * freed twice, ...) inside a call cannot be left safely: name it and stop. */
_Noreturn void calli_host_abort(void)
{
    fprintf(stderr, "FAIL %s: the runtime aborted in a call through the %s (reason above)\n",
            cur_key, cur_side);
    n_fail++;
    summary();
    fflush(stderr);
    ExitProcess(1);
}

/* ---------------------------------------------------------------------------
 * Assembly (tramp_win.S) and the recording runtime table.
 */
struct tramp {
    uint64_t gpr[4];
    uint64_t xmm[6][2];
    uint64_t r10, r11;
    uint64_t stack[NSLOTS];
    uint64_t home[4];
    void *call, *entry;
    uint64_t cs_in[8];
    uint64_t x_in[10][2];
    uint64_t cs_out[8];
    uint64_t x_out[10][2];
    uint64_t rax, pad;
    uint64_t xmm0[2];
    uint64_t sp_at_call, sp_after;
};
_Static_assert(offsetof(struct tramp, xmm) == T_XMM, "tramp");
_Static_assert(offsetof(struct tramp, r10) == T_R10, "tramp");
_Static_assert(offsetof(struct tramp, r11) == T_R11, "tramp");
_Static_assert(offsetof(struct tramp, stack) == T_STACK, "tramp");
_Static_assert(offsetof(struct tramp, home) == T_HOME, "tramp");
_Static_assert(offsetof(struct tramp, call) == T_CALL, "tramp");
_Static_assert(offsetof(struct tramp, entry) == T_ENTRY, "tramp");
_Static_assert(offsetof(struct tramp, cs_in) == T_CS_IN, "tramp");
_Static_assert(offsetof(struct tramp, x_in) == T_X_IN, "tramp");
_Static_assert(offsetof(struct tramp, cs_out) == T_CS_OUT, "tramp");
_Static_assert(offsetof(struct tramp, x_out) == T_X_OUT, "tramp");
_Static_assert(offsetof(struct tramp, rax) == T_RAX, "tramp");
_Static_assert(offsetof(struct tramp, xmm0) == T_XMM0, "tramp");
_Static_assert(offsetof(struct tramp, sp_at_call) == T_SP, "tramp");
_Static_assert(offsetof(struct tramp, sp_after) == T_SP_AFTER, "tramp");
_Static_assert(sizeof(struct tramp) == T_SIZE, "tramp");

struct rec {
    uint64_t gpr[4];
    uint64_t xmm[4][2];
    uint64_t sp;
    uint64_t stack[NSLOTS];
};
_Static_assert(offsetof(struct rec, xmm) == R_XMM, "rec");
_Static_assert(offsetof(struct rec, sp) == R_SP, "rec");
_Static_assert(offsetof(struct rec, stack) == R_STACK, "rec");
_Static_assert(sizeof(struct rec) == R_SIZE, "rec");

_Alignas(16) struct rec rec_regs;
uint64_t rec_ret_rax;
_Alignas(16) uint64_t rec_ret_xmm0[2];
uint64_t svc_sp;
uint64_t ss_calls;

void tramp_call(struct tramp *t);
extern char tramp_after_call[];
void site_jmp(void);
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
extern const uint8_t stubs_blob[], stubs_blob_end[];

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
    wrt.bad_align += (svc_sp & 15) != 8; /* at entry: the return address pushed */
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
 * The target's C half: the strings it received, an optional backtrace.
 */
static const struct calli_sig *cur_sig;
static struct calli_layout cur_lay;
static unsigned target_calls;
static int want_backtrace;
#define MAXFRAMES 32
static void *bt_ip[MAXFRAMES];
static int bt_n;

static uint64_t rec_value(const struct rec *r, const struct calli_loc *l, uint64_t *hi)
{
    *hi = 0;
    if (l->kind == CALLI_LOC_GPR)
        return r->gpr[l->reg];
    if (l->kind == CALLI_LOC_FPR) {
        *hi = r->xmm[l->reg][1];
        return r->xmm[l->reg][0];
    }
    return r->stack[l->stack_off / 8];
}

void rec_target_c(void)
{
    static char line[64 + CALLI_SIG_MAX_PARAMS * (2 * 4 * MAXCH + 1)];
    char *p = line;
    target_calls++;
    if (want_backtrace)
        bt_n = RtlCaptureStackBackTrace(0, MAXFRAMES, bt_ip, NULL);
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
}

/* ---------------------------------------------------------------------------
 * Random numbers (splitmix64, fixed seeds).
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

/* ---------------------------------------------------------------------------
 * The stubs from the host (gen_stubs.c writes the format).
 */
struct stub_rec {
    uint8_t kind; /* 0 edge, 1 random, 2 64 parameters */
    uint8_t sgc, ibt, has_frame, tail_call;
    uint32_t frame_start, prologue_end, epilogue_start, frame_size, saved_regs;
    struct calli_sig sig;
    const uint8_t *code;
    uint32_t len;
    const uint8_t *uw;
    uint32_t uwlen;
    const uint8_t *starts; /* ninsn little-endian u16: where each instruction starts */
    uint32_t ninsn;
};

static const uint8_t *blob_p, *blob_end;

static int take(void *dst, size_t n)
{
    if ((size_t)(blob_end - blob_p) < n)
        return 0;
    memcpy(dst, blob_p, n);
    blob_p += n;
    return 1;
}

static uint32_t u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 0 at the end, -1 for a malformed blob, 1 for a record. */
static int next_stub(struct stub_rec *r)
{
    uint8_t h[8 + 4 * 8];
    if (blob_p == blob_end)
        return 0;
    if (!take(h, sizeof h))
        return -1;
    memset(r, 0, sizeof *r);
    r->kind = h[0];
    r->sig.callconv = 9;
    r->sig.ret = h[1];
    r->sig.nparams = h[2];
    r->sgc = h[3];
    r->ibt = h[4];
    r->has_frame = h[5];
    r->tail_call = h[6];
    r->frame_start = u32_at(h + 8);
    r->prologue_end = u32_at(h + 12);
    r->epilogue_start = u32_at(h + 16);
    r->frame_size = u32_at(h + 20);
    r->saved_regs = u32_at(h + 24);
    r->len = u32_at(h + 28);
    r->uwlen = u32_at(h + 32);
    r->ninsn = u32_at(h + 36);
    if (r->sig.nparams > CALLI_SIG_MAX_PARAMS || !take(r->sig.params, r->sig.nparams))
        return -1;
    if ((size_t)(blob_end - blob_p) < (size_t)r->len + r->uwlen + 2 * (size_t)r->ninsn ||
        r->ninsn > r->len)
        return -1;
    r->code = blob_p;
    blob_p += r->len;
    r->uw = blob_p;
    blob_p += r->uwlen;
    r->starts = blob_p;
    blob_p += 2 * (size_t)r->ninsn;
    for (uint32_t i = 0; i < r->ninsn; i++)
        if ((uint32_t)(r->starts[2 * i] | r->starts[2 * i + 1] << 8) >= r->len)
            return -1;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Executable memory: the stub at the start of a 64 KiB arena, its
 * UNWIND_INFO and RUNTIME_FUNCTION near the end (32-bit image-relative
 * addresses from the arena), registered with RtlAddFunctionTable.
 */
#define CODE_SIZE 65536
#define UW_OFF (CODE_SIZE - 4096)
#define RF_OFF (CODE_SIZE - 1024)
static uint8_t *arena;
static uint8_t *mini_cookie; /* 16 bytes at the end of a page before a guard page */
static RUNTIME_FUNCTION *registered;

static int memory_init(void)
{
    arena = VirtualAlloc(NULL, CODE_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    uint8_t *cp = VirtualAlloc(NULL, 2 * 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    DWORD old;
    if (!arena || !cp || !VirtualProtect(cp + 4096, 4096, PAGE_NOACCESS, &old))
        return 0;
    mini_cookie = cp + 4096 - 16;
    pool_init();
    return 1;
}

static void unregister_table(void)
{
    if (registered) {
        RtlDeleteFunctionTable(registered);
        registered = NULL;
    }
}

/* Copy the code (the stub's, or a patched copy) into the arena and
 * register its function entry [frame_start, len) when it has a frame. */
static uint8_t *install(const struct stub_rec *r, const uint8_t *bytes)
{
    unregister_table();
    if (r->len > UW_OFF || r->uwlen > RF_OFF - UW_OFF)
        return NULL;
    memset(arena, 0xcc, UW_OFF);
    memcpy(arena, bytes, r->len);
    if (r->has_frame) {
        memcpy(arena + UW_OFF, r->uw, r->uwlen);
        RUNTIME_FUNCTION *rf = (RUNTIME_FUNCTION *)(arena + RF_OFF);
        rf->BeginAddress = r->frame_start;
        rf->EndAddress = r->len;
        rf->UnwindData = UW_OFF;
        if (!RtlAddFunctionTable(rf, 1, (DWORD64)(uintptr_t)arena))
            return NULL;
        registered = rf;
    }
    FlushInstructionCache(GetCurrentProcess(), arena, CODE_SIZE);
    return arena;
}

/* ---------------------------------------------------------------------------
 * One case: the same inputs through the helper and through the stub, both
 * checked against the model.
 */
struct input {
    struct tramp t;
    const struct mstr *str[CALLI_SIG_MAX_PARAMS];
    uint64_t ret_rax, ret_xmm0[2];
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
        *hi = in->t.xmm[m->reg][1];
        return in->t.xmm[m->reg][0];
    }
    return in->t.stack[m->stack_off / 8];
}

static void make_input(const struct calli_sig *s, const struct calli_layout *l, struct input *in)
{
    memset(in, 0, sizeof *in);
    for (unsigned i = 0; i < 4; i++)
        in->t.gpr[i] = rnd();
    for (unsigned i = 0; i < 6; i++) {
        in->t.xmm[i][0] = rnd();
        in->t.xmm[i][1] = rnd();
    }
    for (unsigned i = 0; i < NSLOTS; i++)
        in->t.stack[i] = rnd();
    for (unsigned i = 0; i < 4; i++)
        in->t.home[i] = rnd();
    for (unsigned i = 0; i < 8; i++)
        in->t.cs_in[i] = rnd();
    for (unsigned i = 0; i < 10; i++) {
        in->t.x_in[i][0] = rnd();
        in->t.x_in[i][1] = rnd();
    }
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
            in->t.xmm[m->reg][0] = v;
        else
            in->t.stack[m->stack_off / 8] = v;
    }
    in->ret_rax = s->ret == CALLI_T_BOOL && rndn(2) ? (rnd() & ~0xffffffffull) |
                                                          (rndn(2) ? 0 : 1u << rndn(32))
                                                    : small_garbage(s->ret);
    in->ret_xmm0[0] = rnd();
    in->ret_xmm0[1] = rnd();
}

static void run(const struct calli_sig *s, const struct input *in, void *entry, void *cookie,
                int via_site, struct outcome *o)
{
    runtime_reset();
    nevents = 0;
    events[0] = 0;
    target_calls = 0;
    bt_n = 0;
    memset(&rec_regs, 0, sizeof rec_regs);
    rec_ret_rax = in->ret_rax;
    rec_ret_xmm0[0] = in->ret_xmm0[0];
    rec_ret_xmm0[1] = in->ret_xmm0[1];
    cur_sig = s;
    o->t = in->t;
    o->t.r10 = (uintptr_t)rec_target;
    o->t.r11 = (uintptr_t)cookie;
    o->t.entry = entry;
    o->t.call = via_site ? (void *)site_jmp : entry;
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

static uint64_t model_ret(uint8_t t, uint64_t rax)
{
    return t == CALLI_T_BOOL ? (uint32_t)rax != 0 : converted(t) ? model_arg(t, rax) : rax;
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

static const char *loc_text(const struct calli_loc *l, char *buf, size_t cap)
{
    if (l->kind == CALLI_LOC_STACK)
        snprintf(buf, cap, "stack+%u", l->stack_off);
    else
        snprintf(buf, cap, "%s%u", l->kind == CALLI_LOC_GPR ? "gpr" : "xmm", l->reg);
    return buf;
}

static const char *const cs_names[8] = {"rbx", "rbp", "rsi", "rdi", "r12", "r13", "r14", "r15"};

/* Compare one outcome with the model; 0, or the reason in msg. */
static int check(const char *who, const struct calli_sig *s, const struct input *in,
                 const struct outcome *o, const char *want_log, char *msg, size_t cap)
{
    char lt[32];
    if (o->calls != 1)
        return snprintf(msg, cap, "%s: target called %u times", who, o->calls), 1;
    if ((o->rec.sp & 15) != 8)
        return snprintf(msg, cap, "%s: rsp %% 16 = %u at the target's entry", who,
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
                                who, i, loc_text(n, lt, sizeof lt), (unsigned long long)got,
                                in->str[i] ? "a string" : "null"), 1;
            continue; /* contents: in the event log */
        }
        uint64_t want = model_arg(t, mv);
        if (got != want || ghi != mhi)
            return snprintf(msg, cap,
                            "%s: parameter %u (%s) at %s: got 0x%llx:%016llx, want 0x%llx:%016llx "
                            "(managed 0x%llx)",
                            who, i, calli_type_token(t), loc_text(n, lt, sizeof lt),
                            (unsigned long long)ghi, (unsigned long long)got,
                            (unsigned long long)mhi, (unsigned long long)want,
                            (unsigned long long)mv), 1;
    }
    if (strcmp(o->log, want_log))
        return snprintf(msg, cap, "%s: events\n%s-- want --\n%s", who, o->log, want_log), 1;
    if (calli_type_is_fp(s->ret)) {
        if (o->t.xmm0[0] != in->ret_xmm0[0] || o->t.xmm0[1] != in->ret_xmm0[1])
            return snprintf(msg, cap, "%s: xmm0 0x%016llx%016llx, want 0x%016llx%016llx", who,
                            (unsigned long long)o->t.xmm0[1], (unsigned long long)o->t.xmm0[0],
                            (unsigned long long)in->ret_xmm0[1],
                            (unsigned long long)in->ret_xmm0[0]), 1;
    } else if (s->ret != CALLI_T_VOID) {
        uint64_t want = model_ret(s->ret, in->ret_rax);
        if (o->t.rax != want)
            return snprintf(msg, cap, "%s: rax 0x%llx, want 0x%llx (target returned 0x%llx)", who,
                            (unsigned long long)o->t.rax, (unsigned long long)want,
                            (unsigned long long)in->ret_rax), 1;
    }
    for (unsigned i = 0; i < 8; i++)
        if (o->t.cs_out[i] != in->t.cs_in[i])
            return snprintf(msg, cap, "%s: %s not preserved", who, cs_names[i]), 1;
    for (unsigned i = 0; i < 10; i++)
        if (o->t.x_out[i][0] != in->t.x_in[i][0] || o->t.x_out[i][1] != in->t.x_in[i][1])
            return snprintf(msg, cap, "%s: xmm%u not preserved", who, 6 + i), 1;
    if (o->t.sp_after != o->t.sp_at_call)
        return snprintf(msg, cap, "%s: rsp moved by %lld", who,
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
 * The cookie: real for the helper, 16 bytes before a guard page for the
 * stub (which may read only `runtime`, at +8).
 */
static size_t sig_blob(const struct calli_sig *s, uint8_t *b)
{
    size_t n = 0;
    b[n++] = s->callconv;
    b[n++] = (uint8_t)s->nparams; /* at most 64: one byte */
    for (int i = -1; i < (int)s->nparams; i++) {
        uint8_t t = i < 0 ? s->ret : s->params[i];
        b[n++] = t;
        if (t == CALLI_T_PTR) {
            b[n++] = rndn(2) ? CALLI_T_VOID : CALLI_T_I4;
        } else if (t == CALLI_T_FNPTR) {
            static const uint8_t nested[3] = {9, 0, 1};
            memcpy(b + n, nested, 3);
            n += 3;
        }
    }
    return n;
}

static struct calli_cookie *make_cookie(const struct calli_sig *s, int sgc, const void *rt)
{
    uint8_t blob[16 + 4 * (CALLI_SIG_MAX_PARAMS + 1)];
    size_t n = sig_blob(s, blob);
    struct calli_cookie *c = calloc(1, sizeof *c + n + 8);
    if (!c)
        return NULL;
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = CALLI_COOKIE_VERSION;
    c->flags = sgc ? CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION : 0;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = (uint32_t)n;
    memcpy(c->sig, blob, n);
    return c;
}

/* ---------------------------------------------------------------------------
 * The differential case.
 */
struct case_opts {
    int rt_null, via_site, backtrace;
};

static unsigned helper_compared, backtraces, shapes[3];

static int in_range(const void *p, const void *lo, size_t n)
{
    return (uintptr_t)p >= (uintptr_t)lo && (uintptr_t)p < (uintptr_t)lo + n;
}

static void run_case(const struct stub_rec *r, const struct case_opts *co)
{
    static char msg[2 * sizeof events + 512], want[sizeof events];
    static struct input in;
    static struct outcome oh, os;
    char key[CALLI_SIG_TEXT_MAX], what[128];
    const struct calli_sig *s = &r->sig;
    int rt = !co->rt_null;

    calli_sig_key(s, r->sgc, key, sizeof key);
    snprintf(what, sizeof what, "runtime %s, ibt %d, %s", rt ? "set" : "null", r->ibt,
             co->via_site ? "tail site" : "call");
    set_case(key, what);
    CHECK(calli_layout_compute(s, CALLI_ABI_WIN_X64, &cur_lay) == 0, "no layout");
    uint8_t *code = install(r, r->code);
    CHECK(code, "cannot install the stub (%u bytes) or register its function table", r->len);
    shapes[!r->has_frame ? 0 : r->tail_call ? 1 : 2]++;

    make_input(s, &cur_lay, &in);
    model_events(s, r->sgc, rt, &in, want);
    struct calli_cookie *cookie = make_cookie(s, r->sgc, rt ? &wrt.rt : 0);
    CHECK(cookie, "out of memory");
    memcpy(mini_cookie, "garbage!", 8);
    const void *rtp = rt ? (const void *)&wrt.rt : 0;
    memcpy(mini_cookie + 8, &rtp, 8);

    cur_side = "generic helper";
    run(s, &in, (void *)GenericPInvokeCalliHelper, cookie, co->via_site, &oh);
    want_backtrace = co->backtrace;
    cur_side = "stub";
    run(s, &in, code, mini_cookie, co->via_site, &os);
    want_backtrace = 0;
    free(cookie);

    if (check("helper", s, &in, &oh, want, msg, sizeof msg))
        CHECK(0, "the generic helper deviates from the model: %s", msg);
    if (check("stub", s, &in, &os, want, msg, sizeof msg))
        CHECK(0, "%s", msg);
    /* Differential: identical target inputs, events and results. */
    for (unsigned i = 0; i < s->nparams; i++) {
        uint64_t h1, h2;
        uint64_t a = rec_value(&oh.rec, &cur_lay.native[i], &h1);
        uint64_t b = rec_value(&os.rec, &cur_lay.native[i], &h2);
        CHECK(s->params[i] == CALLI_T_STRING || (a == b && h1 == h2),
              "parameter %u differs between the helper and the stub", i);
    }
    CHECK(!strcmp(oh.log, os.log), "event logs differ");
    if (calli_type_is_fp(s->ret))
        CHECK(oh.t.xmm0[0] == os.t.xmm0[0] && oh.t.xmm0[1] == os.t.xmm0[1],
              "xmm0 differs between the helper and the stub");
    else if (s->ret != CALLI_T_VOID)
        CHECK(oh.t.rax == os.t.rax, "rax differs between the helper and the stub");
    helper_compared++;

    if (co->backtrace) {
        /* From inside the target: rec_target_c, rec_target, the stub (when
         * the path taken keeps a frame), the trampoline, its callers. */
        int framed = r->has_frame && !(r->tail_call && co->rt_null);
        int k = 0;
        while (k < bt_n && !in_range(bt_ip[k], (const void *)rec_target, 256))
            k++;
        CHECK(k < bt_n && k <= 2, "the backtrace from the target (%d frames) misses the target",
              bt_n);
        k++;
        if (framed) {
            CHECK(k < bt_n && in_range(bt_ip[k], code, r->len),
                  "the backtrace does not pass through the stub (frame %d: %p)", k,
                  k < bt_n ? bt_ip[k] : NULL);
            k++;
        }
        CHECK(k < bt_n && bt_ip[k] == (void *)tramp_after_call,
              "the backtrace went to %p, not the trampoline", k < bt_n ? bt_ip[k] : NULL);
        CHECK(k + 1 < bt_n, "the backtrace stopped at the trampoline");
        backtraces++;
    }
    unregister_table();
}

/* ---------------------------------------------------------------------------
 * Unwinding from every instruction: for instruction i, a copy of the stub
 * with int3 at i; the vectored handler puts the original byte back,
 * unwinds one frame and resumes in the trampoline with the unwound context.
 * When the unwind is wrong it resumes the stub at the original instruction
 * instead, so that the failure is reported by name and the run goes on.
 */
static volatile uintptr_t uw_lo, uw_hi, uw_pc;
static struct tramp *volatile uw_tramp;
static volatile int uw_active, uw_trapped, uw_state;
static volatile uint8_t uw_orig;
static char uw_why[200];
static unsigned unwound_pcs;

static void uw_check(CONTEXT *ctx, uintptr_t pc)
{
    CONTEXT c = *ctx;
    DWORD64 base = 0;
    c.Rip = pc;
    PRUNTIME_FUNCTION fe = RtlLookupFunctionEntry(pc, &base, NULL);
    if (fe) {
        PVOID hd = NULL;
        DWORD64 est = 0;
        RtlVirtualUnwind(UNW_FLAG_NHANDLER, base, pc, fe, &c, &hd, &est, NULL);
    } else { /* a leaf: the return address at [rsp] */
        c.Rip = *(DWORD64 *)(uintptr_t)c.Rsp;
        c.Rsp += 8;
    }
    const struct tramp *t = uw_tramp;
    const DWORD64 *cs[8] = {&c.Rbx, &c.Rbp, &c.Rsi, &c.Rdi, &c.R12, &c.R13, &c.R14, &c.R15};
    uw_state = 3;
    if (c.Rip != (DWORD64)(uintptr_t)tramp_after_call) {
        snprintf(uw_why, sizeof uw_why, "pc +%lu (%s function entry): caller rip %#llx, not the "
                 "trampoline", (unsigned long)(pc - uw_lo), fe ? "in its" : "no",
                 (unsigned long long)c.Rip);
        return;
    }
    if (c.Rsp != t->sp_at_call) {
        snprintf(uw_why, sizeof uw_why, "pc +%lu: caller rsp %#llx, want %#llx",
                 (unsigned long)(pc - uw_lo), (unsigned long long)c.Rsp,
                 (unsigned long long)t->sp_at_call);
        return;
    }
    for (unsigned i = 0; i < 8; i++)
        if (*cs[i] != t->cs_in[i]) {
            snprintf(uw_why, sizeof uw_why, "pc +%lu: recovered %s %#llx, want %#llx",
                     (unsigned long)(pc - uw_lo), cs_names[i], (unsigned long long)*cs[i],
                     (unsigned long long)t->cs_in[i]);
            return;
        }
    const M128A *x = &c.Xmm6;
    for (unsigned i = 0; i < 10; i++)
        if (x[i].Low != t->x_in[i][0] || (uint64_t)x[i].High != t->x_in[i][1]) {
            snprintf(uw_why, sizeof uw_why, "pc +%lu: recovered xmm%u wrong",
                     (unsigned long)(pc - uw_lo), 6 + i);
            return;
        }
    uw_state = 2;
    *ctx = c; /* resume in the trampoline, as an exception dispatch would */
}

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *ep)
{
    DWORD code = ep->ExceptionRecord->ExceptionCode;
    uintptr_t addr = (uintptr_t)ep->ExceptionRecord->ExceptionAddress;
    if (code == EXCEPTION_BREAKPOINT && uw_active && !uw_trapped && addr == uw_pc) {
        uw_trapped = 1;
        /* The original byte back first: the unwinder recognises an
         * epilogue by reading the code at pc. */
        *(volatile uint8_t *)addr = uw_orig;
        FlushInstructionCache(GetCurrentProcess(), (void *)addr, 1);
        uw_check(ep->ContextRecord, addr);
        if (uw_state != 2) /* run the real instruction instead */
            ep->ContextRecord->Rip = addr;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    fprintf(stderr, "stub-win64: exception 0x%08lx at %p in case %s, through the %s\n",
            (unsigned long)code, (void *)addr, cur_key, cur_side);
    n_fail++;
    summary();
    fflush(stderr);
    ExitProcess(2);
}

static void unwind_every_instruction(const struct stub_rec *r, int rt_null, int via_site)
{
    static const struct calli_runtime lean = {CALLI_RUNTIME_ABI_VERSION, 0, ss_svc, ss_svc,
                                              ss_s2n, ss_free};
    static uint8_t bytes[UW_OFF];
    static struct input in;
    static struct tramp t;
    char key[CALLI_SIG_TEXT_MAX];
    calli_sig_key(&r->sig, r->sgc, key, sizeof key);
    set_case(key, rt_null ? "unwind from every instruction, runtime null"
                          : "unwind from every instruction, runtime set");
    CHECK(calli_layout_compute(&r->sig, CALLI_ABI_WIN_X64, &cur_lay) == 0, "layout");
    CHECK(r->len <= sizeof bytes && r->ninsn > 0, "stub too large or empty");
    make_input(&r->sig, &cur_lay, &in);
    const void *rtp = rt_null ? 0 : (const void *)&lean;
    memcpy(mini_cookie + 8, &rtp, 8);

    unsigned trapped = 0;
    for (uint32_t i = 0; i < r->ninsn; i++) {
        uint32_t at = (uint32_t)(r->starts[2 * i] | r->starts[2 * i + 1] << 8);
        memcpy(bytes, r->code, r->len);
        bytes[at] = 0xcc; /* int3 */
        uint8_t *code = install(r, bytes);
        CHECK(code, "cannot install the stub");
        uw_lo = (uintptr_t)code;
        uw_hi = uw_lo + r->len;
        uw_pc = uw_lo + at;
        uw_orig = r->code[at];
        t = in.t;
        t.r10 = (uintptr_t)ss_target;
        t.r11 = (uintptr_t)mini_cookie;
        t.entry = code;
        t.call = via_site ? (void *)site_jmp : (void *)code;
        uw_tramp = &t;
        uw_trapped = 0;
        uw_state = 0;
        uw_active = 1;
        tramp_call(&t); /* an instruction off the path taken: runs through */
        uw_active = 0;
        unregister_table();
        if (!uw_trapped)
            continue;
        CHECK(uw_state == 2, "unwinding failed: %s", uw_why);
        trapped++;
    }
    /* Every instruction on the path taken trapped once: the whole stub when
     * the runtime is set and there is no frameless path. */
    CHECK(trapped >= 1 && (rt_null || r->tail_call || trapped == r->ninsn),
          "%u of %u instructions trapped", trapped, r->ninsn);
    unwound_pcs += trapped;
}

/* ---------------------------------------------------------------------------
 * main
 */
#define MAX_STUBS 8192
static struct stub_rec stubs[MAX_STUBS];

int main(void)
{
    verbose = getenv("STUB_WIN_VERBOSE") != 0;
    setvbuf(stdout, 0, _IOLBF, 0);
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    AddVectoredExceptionHandler(1, on_exception);
    if (!memory_init()) {
        fprintf(stderr, "stub-win64: VirtualAlloc failed\n");
        return 1;
    }
    DWORD t0 = GetTickCount();

    blob_p = stubs_blob;
    blob_end = stubs_blob_end;
    size_t nstubs = 0;
    static const uint8_t magic[12] = {'C', 'R', 'W', 'S', 'T', 'U', 'B', 'W', 1, 0, 0, 0};
    uint8_t head[12];
    if (!take(head, sizeof head) || memcmp(head, magic, sizeof magic)) {
        fprintf(stderr, "stub-win64: the stub blob has no header\n");
        return 1;
    }
    for (;;) {
        if (nstubs == MAX_STUBS) {
            fprintf(stderr, "stub-win64: more than %d stubs in the blob\n", MAX_STUBS);
            return 1;
        }
        int k = next_stub(&stubs[nstubs]);
        if (k == 0)
            break;
        if (k < 0) {
            fprintf(stderr, "stub-win64: malformed stub blob after %zu records\n", nstubs);
            return 1;
        }
        nstubs++;
    }

    unsigned edge = 0, random = 0;
    rng_state = 0x5eed0064;
    for (size_t i = 0; i < nstubs; i++) {
        const struct stub_rec *r = &stubs[i];
        int has_str = memchr(r->sig.params, CALLI_T_STRING, r->sig.nparams) != 0;
        if (r->kind == 1) {
            struct case_opts co = {.via_site = rndn(4) == 0, .backtrace = rndn(8) == 0};
            co.rt_null = !has_str && rndn(3) == 0;
            run_case(r, &co);
            end_case();
            random++;
            continue;
        }
        for (int v = 0; v < 4; v++) {
            struct case_opts co = {.rt_null = v & 1, .via_site = v >> 1, .backtrace = 1};
            if (co.rt_null && has_str)
                continue;
            for (int rep = 0; rep < (r->kind == 0 ? 2 : 1); rep++) { /* fresh garbage */
                run_case(r, &co);
                end_case();
                edge++;
            }
        }
    }
    printf("stub-win64: %u cases compared with the generic helper (%u edge, %u random; "
           "%u frameless, %u runtime-tested, %u framed), %u backtraces\n",
           helper_compared, edge, random, shapes[0], shapes[1], shapes[2], backtraces);
    set_case("all", "shape mix");
    if (!(shapes[0] > 50 && shapes[1] > 50 && shapes[2] > 500))
        fail("shape mix too narrow");
    end_case();

    rng_state = 0x57e95;
    unsigned uw_stubs = 0;
    for (size_t i = 0; i < nstubs; i++) {
        const struct stub_rec *r = &stubs[i];
        int has_str = memchr(r->sig.params, CALLI_T_STRING, r->sig.nparams) != 0;
        if (r->kind == 1 && rndn(4) != 0)
            continue;
        for (int v = 0; v < 2; v++) {
            if (v && has_str)
                continue;
            unwind_every_instruction(r, v, (int)(i & 1));
            end_case();
            uw_stubs++;
        }
    }
    printf("stub-win64: unwound from %u stub instructions of %u stubs (RtlVirtualUnwind); "
           "%.1f s\n", unwound_pcs, uw_stubs, (GetTickCount() - t0) / 1000.0);
    summary();
    return n_fail != 0;
}

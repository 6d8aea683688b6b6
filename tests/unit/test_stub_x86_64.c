/* test_stub_x86_64.c - the x86-64 System V stub generator, proven in
 * process against the real generic helper.
 *
 * For each signature (hand-picked edge cases plus thousands of random ones
 * from a fixed seed) the test generates the stub, copies it into an
 * executable page, and calls it - and GenericPInvokeCalliHelper with a real
 * cookie - through one assembly trampoline that loads r10/r11, the argument
 * registers (garbage above the defined bits of small values) and 64 stack
 * slots exactly as a call site would, and that records rax, xmm0 and the
 * callee-saved registers afterwards. The native target is an assembly
 * recorder that stores the raw registers and stack slots it receives and
 * returns values with garbage in the upper bits. The runtime table wraps the
 * reference runtime (whose event log we capture by defining
 * calli_host_write) and checks the context argument and the stack alignment
 * of every service call.
 *
 * Both the helper and the stub are checked against an independent model of
 * spec sections 3-4 (and docs/abi.md), so a disagreement says which side is
 * wrong. The unwind description is proven by registering the stub's FDE
 * (stubs/cfi_dwarf.c) with __register_frame and walking the stack with
 * _Unwind_Backtrace: from inside the target, and from every single
 * instruction of the stub (single-stepping with the trap flag).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>
#include <cmocka.h>
#include <Zydis/Zydis.h>

#include "calli_host.h"
#include "calli_layout.h"
#include "calli_refrt.h"
#include "calli_runtime.h"
#include "calli_sig.h"
#include "cfi_dwarf.h"
#include "stub.h"

void __register_frame(void *begin);
void __deregister_frame(void *begin);

#define XSTR_(x) #x
#define XSTR(x) XSTR_(x)

/* ---------------------------------------------------------------------------
 * The trampoline: a call site for any signature.
 */
#define NSLOTS 64 /* stack slots the trampoline always passes (512 bytes) */

struct tramp {
    uint64_t gpr[6];          /* rdi rsi rdx rcx r8 r9 */
    uint64_t xmm[8][2];       /* xmm0-7, all 128 bits */
    uint64_t r10, r11;        /* target, cookie */
    uint64_t stack[NSLOTS];   /* [rsp], [rsp+8], ... at the call */
    void *entry;              /* what the trampoline calls */
    uint64_t step;            /* set the trap flag right before the call */
    uint64_t cs_in[6];        /* rbx rbp r12 r13 r14 r15 at the call */
    uint64_t cs_out[6];       /* the same after the return */
    uint64_t rax;             /* after the return */
    uint64_t pad;
    uint64_t xmm0[2];         /* after the return */
    uint64_t sp_at_call;      /* rsp right before the call */
};
#define T_GPR 0
#define T_XMM 48
#define T_R10 176
#define T_R11 184
#define T_STACK 192
#define T_ENTRY 704
#define T_STEP 712
#define T_CS_IN 720
#define T_CS_OUT 768
#define T_RAX 816
#define T_XMM0 832
#define T_SP 848
_Static_assert(offsetof(struct tramp, xmm) == T_XMM, "tramp");
_Static_assert(offsetof(struct tramp, r10) == T_R10, "tramp");
_Static_assert(offsetof(struct tramp, r11) == T_R11, "tramp");
_Static_assert(offsetof(struct tramp, stack) == T_STACK, "tramp");
_Static_assert(offsetof(struct tramp, entry) == T_ENTRY, "tramp");
_Static_assert(offsetof(struct tramp, step) == T_STEP, "tramp");
_Static_assert(offsetof(struct tramp, cs_in) == T_CS_IN, "tramp");
_Static_assert(offsetof(struct tramp, cs_out) == T_CS_OUT, "tramp");
_Static_assert(offsetof(struct tramp, rax) == T_RAX, "tramp");
_Static_assert(offsetof(struct tramp, xmm0) == T_XMM0, "tramp");
_Static_assert(offsetof(struct tramp, sp_at_call) == T_SP, "tramp");

/* What the native target received. */
struct rec {
    uint64_t gpr[6];
    uint64_t xmm[8][2];
    uint64_t sp;              /* rsp at entry (return address at [sp]) */
    uint64_t stack[NSLOTS];   /* [sp+8], ... */
};
#define R_GPR 0
#define R_XMM 48
#define R_SP 176
#define R_STACK 184
_Static_assert(offsetof(struct rec, xmm) == R_XMM, "rec");
_Static_assert(offsetof(struct rec, sp) == R_SP, "rec");
_Static_assert(offsetof(struct rec, stack) == R_STACK, "rec");

struct rec rec_regs;         /* written by rec_target */
uint64_t rec_ret_rax;        /* what rec_target returns */
uint64_t rec_ret_xmm0[2] __attribute__((aligned(16)));
uint64_t svc_sp;             /* rsp at entry of the last service call */
void *site_jmp_dest;         /* where site_jmp tail-jumps */

uint64_t ss_calls;           /* calls into ss_target / ss_svc / ss_s2n */
void tramp_call(struct tramp *t);
void ss_target(void);
void ss_svc(void *ctx);
char *ss_s2n(const void *s, void *ctx);
void ss_free(char *p, void *ctx);
extern char tramp_after_call[];
void rec_target(void);
void site_jmp(void);
void rec_target_c(void);
void shim_enter(void *ctx);
void shim_leave(void *ctx);
char *shim_s2n(const void *s, void *ctx);
void shim_free(char *p, void *ctx);
void w_enter(void *ctx);
void w_leave(void *ctx);
char *w_s2n(const void *s, void *ctx);
void w_free(char *p, void *ctx);

__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"

    /* void tramp_call(struct tramp *t) */
    ".globl tramp_call\n"
    ".type tramp_call, @function\n"
    "tramp_call:\n"
    ".cfi_startproc\n"
    "  push rbp\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset rbp, -16\n"
    "  push rbx\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset rbx, -24\n"
    "  push r12\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset r12, -32\n"
    "  push r13\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset r13, -40\n"
    "  push r14\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset r14, -48\n"
    "  push r15\n  .cfi_adjust_cfa_offset 8\n  .cfi_offset r15, -56\n"
    "  sub rsp, 520\n  .cfi_adjust_cfa_offset 520\n"
    "  mov [rsp+512], rdi\n"
    "  xor ecx, ecx\n"
    "1:\n"
    "  mov rax, [rdi+" XSTR(T_STACK) "+rcx*8]\n"
    "  mov [rsp+rcx*8], rax\n"
    "  add ecx, 1\n"
    "  cmp ecx, " XSTR(NSLOTS) "\n"
    "  jne 1b\n"
    "  mov rax, rdi\n"
    "  mov rbx, [rax+" XSTR(T_CS_IN) "]\n"
    "  mov rbp, [rax+" XSTR(T_CS_IN) "+8]\n"
    "  mov r12, [rax+" XSTR(T_CS_IN) "+16]\n"
    "  mov r13, [rax+" XSTR(T_CS_IN) "+24]\n"
    "  mov r14, [rax+" XSTR(T_CS_IN) "+32]\n"
    "  mov r15, [rax+" XSTR(T_CS_IN) "+40]\n"
    "  movups xmm0, [rax+" XSTR(T_XMM) "]\n"
    "  movups xmm1, [rax+" XSTR(T_XMM) "+16]\n"
    "  movups xmm2, [rax+" XSTR(T_XMM) "+32]\n"
    "  movups xmm3, [rax+" XSTR(T_XMM) "+48]\n"
    "  movups xmm4, [rax+" XSTR(T_XMM) "+64]\n"
    "  movups xmm5, [rax+" XSTR(T_XMM) "+80]\n"
    "  movups xmm6, [rax+" XSTR(T_XMM) "+96]\n"
    "  movups xmm7, [rax+" XSTR(T_XMM) "+112]\n"
    "  mov r10, [rax+" XSTR(T_R10) "]\n"
    "  mov r11, [rax+" XSTR(T_R11) "]\n"
    "  mov rdi, [rax+" XSTR(T_GPR) "]\n"
    "  mov rsi, [rax+" XSTR(T_GPR) "+8]\n"
    "  mov rdx, [rax+" XSTR(T_GPR) "+16]\n"
    "  mov rcx, [rax+" XSTR(T_GPR) "+24]\n"
    "  mov r8, [rax+" XSTR(T_GPR) "+32]\n"
    "  mov r9, [rax+" XSTR(T_GPR) "+40]\n"
    "  mov [rax+" XSTR(T_SP) "], rsp\n"
    "  cmp qword ptr [rax+" XSTR(T_STEP) "], 0\n"
    "  je 2f\n"
    "  pushfq\n"
    "  or qword ptr [rsp], 0x100\n" /* TF: trap after the next instruction */
    "  popfq\n"
    "2:\n"
    "  call qword ptr [rax+" XSTR(T_ENTRY) "]\n"
    ".globl tramp_after_call\n"
    "tramp_after_call:\n"
    "  pushfq\n"
    "  and qword ptr [rsp], -257\n"
    "  popfq\n"
    "  mov r10, [rsp+512]\n"
    "  mov [r10+" XSTR(T_RAX) "], rax\n"
    "  movups [r10+" XSTR(T_XMM0) "], xmm0\n"
    "  mov [r10+" XSTR(T_CS_OUT) "], rbx\n"
    "  mov [r10+" XSTR(T_CS_OUT) "+8], rbp\n"
    "  mov [r10+" XSTR(T_CS_OUT) "+16], r12\n"
    "  mov [r10+" XSTR(T_CS_OUT) "+24], r13\n"
    "  mov [r10+" XSTR(T_CS_OUT) "+32], r14\n"
    "  mov [r10+" XSTR(T_CS_OUT) "+40], r15\n"
    "  add rsp, 520\n  .cfi_adjust_cfa_offset -520\n"
    "  pop r15\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore r15\n"
    "  pop r14\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore r14\n"
    "  pop r13\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore r13\n"
    "  pop r12\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore r12\n"
    "  pop rbx\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore rbx\n"
    "  pop rbp\n  .cfi_adjust_cfa_offset -8\n  .cfi_restore rbp\n"
    "  ret\n"
    ".cfi_endproc\n"
    ".size tramp_call, .-tramp_call\n"

    /* A call site that tail-jumps (`jmp helper`). */
    ".globl site_jmp\n"
    ".type site_jmp, @function\n"
    "site_jmp:\n"
    ".cfi_startproc\n"
    "  jmp qword ptr [rip+site_jmp_dest]\n"
    ".cfi_endproc\n"
    ".size site_jmp, .-site_jmp\n"

    /* The native target: record everything, let C look, return garbage. */
    ".globl rec_target\n"
    ".type rec_target, @function\n"
    "rec_target:\n"
    ".cfi_startproc\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "], rdi\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "+8], rsi\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "+16], rdx\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "+24], rcx\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "+32], r8\n"
    "  mov [rip+rec_regs+" XSTR(R_GPR) "+40], r9\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "], xmm0\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+16], xmm1\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+32], xmm2\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+48], xmm3\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+64], xmm4\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+80], xmm5\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+96], xmm6\n"
    "  movups [rip+rec_regs+" XSTR(R_XMM) "+112], xmm7\n"
    "  mov [rip+rec_regs+" XSTR(R_SP) "], rsp\n"
    "  lea rdx, [rip+rec_regs]\n"
    "  xor ecx, ecx\n"
    "1:\n"
    "  mov rax, [rsp+8+rcx*8]\n"
    "  mov [rdx+" XSTR(R_STACK) "+rcx*8], rax\n"
    "  add ecx, 1\n"
    "  cmp ecx, " XSTR(NSLOTS) "\n"
    "  jne 1b\n"
    "  sub rsp, 8\n  .cfi_adjust_cfa_offset 8\n"
    "  call rec_target_c\n"
    "  add rsp, 8\n  .cfi_adjust_cfa_offset -8\n"
    "  mov rax, [rip+rec_ret_rax]\n"
    "  movups xmm0, [rip+rec_ret_xmm0]\n"
    "  ret\n"
    ".cfi_endproc\n"
    ".size rec_target, .-rec_target\n"

    /* Lean target and services for single-stepping (few instructions to
     * trap on): count calls, s2n hands back its argument. */
    ".globl ss_target\nss_target:\n.cfi_startproc\n  add qword ptr [rip+ss_calls], 1\n  ret\n.cfi_endproc\n"
    ".globl ss_svc\nss_svc:\n.cfi_startproc\n  add qword ptr [rip+ss_calls], 1\n  ret\n.cfi_endproc\n"
    ".globl ss_free\nss_free:\n.cfi_startproc\n  add qword ptr [rip+ss_calls], 1\n  ret\n.cfi_endproc\n"
    ".globl ss_s2n\nss_s2n:\n.cfi_startproc\n  add qword ptr [rip+ss_calls], 1\n  mov rax, rdi\n  ret\n.cfi_endproc\n"

    /* Service-call shims: note rsp, continue in C. */
    ".globl shim_enter\nshim_enter:\n.cfi_startproc\n  mov [rip+svc_sp], rsp\n  jmp w_enter\n.cfi_endproc\n"
    ".globl shim_leave\nshim_leave:\n.cfi_startproc\n  mov [rip+svc_sp], rsp\n  jmp w_leave\n.cfi_endproc\n"
    ".globl shim_s2n\nshim_s2n:\n.cfi_startproc\n  mov [rip+svc_sp], rsp\n  jmp w_s2n\n.cfi_endproc\n"
    ".globl shim_free\nshim_free:\n.cfi_startproc\n  mov [rip+svc_sp], rsp\n  jmp w_free\n.cfi_endproc\n"
    ".att_syntax prefix\n");

/* ---------------------------------------------------------------------------
 * The host primitives (the runtime's event log lands in `events`) and the
 * recording runtime table.
 */
static char events[1 << 16];
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

/* The case being run, for messages (a crash or a runtime abort inside a
 * stub still names it). STUB_TEST_VERBOSE=1 prints every case. */
static char cur_key[CALLI_SIG_TEXT_MAX + 64];
static const char *cur_side = "stub";
static int verbose;

static void set_case(const char *key, const char *what)
{
    snprintf(cur_key, sizeof cur_key, "%s (%s)", key, what);
    if (verbose)
        fprintf(stderr, "case %s\n", cur_key);
}

/* The reference runtime's fatal errors (leave without enter, a pointer freed
 * twice, ...) fail the current case; cmocka's longjmp restores the
 * callee-saved registers, so leaving through a stub's frame is safe. */
_Noreturn void calli_host_abort(void)
{
    fail_msg("%s: the runtime aborted in a call through the %s (reason on the line above)",
             cur_key, cur_side);
    abort();
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
    wrt.bad_align += (svc_sp & 15) != 8;
}

void w_enter(void *ctx)
{
    svc_check(ctx);
    ref.rt.enter(ref.rt.ctx);
}

void w_leave(void *ctx)
{
    svc_check(ctx);
    ref.rt.leave(ref.rt.ctx);
}

char *w_s2n(const void *s, void *ctx)
{
    svc_check(ctx);
    return ref.rt.string_to_native(s, ref.rt.ctx);
}

void w_free(char *p, void *ctx)
{
    svc_check(ctx);
    ref.rt.free_native(p, ref.rt.ctx);
}

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

/* Spec section 3: UTF-16 to UTF-8, unpaired surrogates become U+FFFD. An
 * embedded U+0000 is converted like any other character: the runtime's log
 * shows all the bytes, the target (a C string) sees them up to the NUL. */
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

/* "null" or the hex of a managed string as the model converts it: all of
 * it (as_c_string 0) or up to the first NUL (1). */
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
 * The current case, as the target's C half sees it.
 */
static const struct calli_sig *cur_sig;
static struct calli_layout cur_lay;
static unsigned target_calls;
static int want_backtrace;

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

static uint64_t native_slot(const struct rec *r, const struct calli_loc *l)
{
    if (l->kind == CALLI_LOC_GPR)
        return r->gpr[l->reg];
    if (l->kind == CALLI_LOC_FPR)
        return r->xmm[l->reg][0];
    return r->stack[l->stack_off / 8];
}

void rec_target_c(void)
{
    char line[64 + 2 * 4 * MAXCH * 4];
    char *p = line;
    target_calls++;
    p += sprintf(p, "@call");
    for (unsigned i = 0; i < cur_sig->nparams; i++) {
        if (cur_sig->params[i] != CALLI_T_STRING)
            continue;
        const char *s = (const char *)(uintptr_t)native_slot(&rec_regs, &cur_lay.native[i]);
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

/* Encode a StandAloneMethodSig blob with varied, ignorable details
 * (pointees, nested FNPTR signatures, non-minimal compressed counts). */
static size_t sig_blob(const struct calli_sig *s, uint8_t *b)
{
    size_t n = 0;
    b[n++] = s->callconv;
    if (rndn(4) == 0) { /* two-byte compressed count */
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

/* ---------------------------------------------------------------------------
 * Executable memory, the minimal cookie the stub gets, FDE registration.
 */
static uint8_t *code_page;     /* 64 KiB, RW while writing, RX while running */
#define CODE_SIZE 65536
static uint8_t *mini_cookie;   /* 16 bytes at the end of a page before a guard page */
static long page_size;
/* The registered .eh_frame lives in the same mapping as the code, above
 * it: pc_begin is a 32-bit PC-relative field. */
#define EH_OFF (CODE_SIZE - 8192)
static int eh_registered;

static void memory_init(void)
{
    if (code_page)
        return;
    page_size = sysconf(_SC_PAGESIZE);
    code_page = mmap(0, CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(code_page != MAP_FAILED);
    uint8_t *cp = mmap(0, 2 * (size_t)page_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(cp != MAP_FAILED);
    assert_int_equal(mprotect(cp + page_size, (size_t)page_size, PROT_NONE), 0);
    mini_cookie = cp + page_size - 16;
    pool_init();
}

static void unregister_fde(void)
{
    if (eh_registered) {
        __deregister_frame(code_page + EH_OFF);
        eh_registered = 0;
    }
}

static void install(const struct stub_code *c, int with_fde)
{
    unregister_fde();
    assert_true(c->len <= EH_OFF);
    assert_int_equal(mprotect(code_page, CODE_SIZE, PROT_READ | PROT_WRITE), 0);
    memset(code_page, 0xcc, EH_OFF);
    memcpy(code_page, c->bytes, c->len);
    if (with_fde) {
        struct cfi_buf eh = {0};
        size_t cie;
        uint64_t base = (uintptr_t)code_page + EH_OFF;
        assert_int_equal(cfi_dwarf_cie(&eh, CALLI_ABI_SYSV_X64, &cie), CFI_OK);
        assert_int_equal(cfi_dwarf_fde(&eh, cie, c, base, (uintptr_t)code_page, 0), CFI_OK);
        assert_int_equal(cfi_dwarf_end(&eh), CFI_OK);
        assert_true(eh.len <= CODE_SIZE - EH_OFF);
        memcpy(code_page + EH_OFF, eh.data, eh.len);
        free(eh.data);
    }
    assert_int_equal(mprotect(code_page, CODE_SIZE, PROT_READ | PROT_EXEC), 0);
    if (with_fde) {
        __register_frame(code_page + EH_OFF);
        eh_registered = 1;
    }
}

static struct calli_cookie *make_cookie(const struct calli_sig *s, int sgc, const void *rt)
{
    uint8_t blob[1024];
    size_t n = sig_blob(s, blob);
    struct calli_cookie *c = aligned_alloc(8, (sizeof *c + n + 7) & ~(size_t)7);
    assert_non_null(c);
    c->magic = CALLI_COOKIE_MAGIC;
    c->version = CALLI_COOKIE_VERSION;
    c->flags = sgc ? CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION : 0;
    c->runtime = rt;
    c->cache = 0;
    c->sig_len = (uint32_t)n;
    memcpy(c->sig, blob, n);
    /* The decoder must read back our signature. */
    struct calli_sig back;
    struct calli_sig_error e;
    assert_int_equal(calli_sig_parse(blob, n, &back, &e), CALLI_SIG_OK);
    assert_int_equal(back.ret, s->ret);
    assert_int_equal(back.nparams, s->nparams);
    assert_memory_equal(back.params, s->params, s->nparams);
    return c;
}

/* ---------------------------------------------------------------------------
 * One case: the same inputs through the helper and through the stub, both
 * checked against the model.
 */
struct input {
    struct tramp t;                 /* registers and stack as the site passes them */
    const struct mstr *str[CALLI_SIG_MAX_PARAMS];
    uint64_t ret_rax, ret_xmm0[2];  /* what the target returns */
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
    case CALLI_T_BOOL: /* often false with garbage above, sometimes 0x80 etc. */
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

static void make_input(const struct calli_sig *s, const struct calli_layout *l, struct input *in)
{
    memset(in, 0, sizeof *in);
    for (unsigned i = 0; i < 6; i++)
        in->t.gpr[i] = rnd();
    for (unsigned i = 0; i < 8; i++)
        in->t.xmm[i][0] = rnd(), in->t.xmm[i][1] = rnd();
    for (unsigned i = 0; i < NSLOTS; i++)
        in->t.stack[i] = rnd();
    for (unsigned i = 0; i < 6; i++)
        in->t.cs_in[i] = rnd();
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
                int via_jmp, struct outcome *o)
{
    runtime_reset();
    nevents = 0;
    events[0] = 0;
    target_calls = 0;
    memset(&rec_regs, 0, sizeof rec_regs);
    rec_ret_rax = in->ret_rax;
    rec_ret_xmm0[0] = in->ret_xmm0[0];
    rec_ret_xmm0[1] = in->ret_xmm0[1];
    cur_sig = s;
    o->t = in->t;
    o->t.r10 = (uintptr_t)rec_target;
    o->t.r11 = (uintptr_t)cookie;
    if (via_jmp) {
        site_jmp_dest = entry;
        o->t.entry = (void *)site_jmp;
    } else {
        o->t.entry = entry;
    }
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

/* The model (spec section 3, docs/abi.md section 4). */
static uint32_t native32(uint8_t t, uint64_t v)
{
    switch (t) {
    case CALLI_T_BOOL: return (v & 0xff) != 0;
    case CALLI_T_I1: return (uint32_t)(int32_t)(int8_t)v;
    case CALLI_T_U1: return (uint8_t)v;
    case CALLI_T_I2: return (uint32_t)(int32_t)(int16_t)v;
    case CALLI_T_U2: case CALLI_T_CHAR: return (uint16_t)v;
    default: return (uint32_t)v;
    }
}

static int is32(uint8_t t)
{
    return t == CALLI_T_BOOL || t == CALLI_T_CHAR || t == CALLI_T_I1 || t == CALLI_T_U1 ||
           t == CALLI_T_I2 || t == CALLI_T_U2 || t == CALLI_T_I4 || t == CALLI_T_U4 ||
           t == CALLI_T_R4;
}

static uint64_t model_ret(uint8_t t, uint64_t rax)
{
    switch (t) {
    case CALLI_T_BOOL: return (uint32_t)rax != 0;
    case CALLI_T_I1: case CALLI_T_U1: case CALLI_T_I2: case CALLI_T_U2: case CALLI_T_CHAR:
        return native32(t, rax);
    default: return rax;
    }
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

/* Compare one outcome with the model; returns 0 or writes why into msg. */
static int check(const char *who, const struct calli_sig *s, int sgc, int rt,
                 const struct input *in, const struct outcome *o, const char *want_log,
                 char *msg, size_t cap)
{
    if (o->calls != 1)
        return snprintf(msg, cap, "%s: target called %u times", who, o->calls), 1;
    if ((o->rec.sp & 15) != 8)
        return snprintf(msg, cap, "%s: rsp %% 16 = %u at the target", who,
                        (unsigned)(o->rec.sp & 15)), 1;
    for (unsigned i = 0; i < s->nparams; i++) {
        uint8_t t = s->params[i];
        const struct calli_loc *m = &cur_lay.managed[i], *n = &cur_lay.native[i];
        uint64_t mv = m->kind == CALLI_LOC_GPR ? in->t.gpr[m->reg]
                    : m->kind == CALLI_LOC_FPR ? in->t.xmm[m->reg][0]
                                               : in->t.stack[m->stack_off / 8];
        uint64_t got = native_slot(&o->rec, n);
        if (t == CALLI_T_STRING) {
            if ((got == 0) != (in->str[i] == 0))
                return snprintf(msg, cap, "%s: parameter %u (string): pointer 0x%llx for %s",
                                who, i, (unsigned long long)got,
                                in->str[i] ? "a string" : "null"), 1;
            continue; /* contents: in the event log */
        }
        uint64_t want = is32(t) ? native32(t, mv) : mv;
        if (is32(t))
            got = (uint32_t)got;
        if (got != want)
            return snprintf(msg, cap,
                            "%s: parameter %u (%s) at %s%u: got 0x%llx, want 0x%llx (managed 0x%llx)",
                            who, i, calli_type_token(t),
                            n->kind == CALLI_LOC_STACK ? "stack+" : n->kind == CALLI_LOC_GPR ? "gpr" : "xmm",
                            n->kind == CALLI_LOC_STACK ? n->stack_off : n->reg,
                            (unsigned long long)got, (unsigned long long)want,
                            (unsigned long long)mv), 1;
    }
    if (strcmp(o->log, want_log))
        return snprintf(msg, cap, "%s: events\n%s-- want --\n%s", who, o->log, want_log), 1;
    if (s->ret != CALLI_T_VOID) {
        if (calli_type_is_fp(s->ret)) {
            if (o->t.xmm0[0] != in->ret_xmm0[0])
                return snprintf(msg, cap, "%s: xmm0 0x%llx, want 0x%llx", who,
                                (unsigned long long)o->t.xmm0[0],
                                (unsigned long long)in->ret_xmm0[0]), 1;
        } else if (o->t.rax != model_ret(s->ret, in->ret_rax)) {
            return snprintf(msg, cap, "%s: rax 0x%llx, want 0x%llx (target returned 0x%llx)", who,
                            (unsigned long long)o->t.rax,
                            (unsigned long long)model_ret(s->ret, in->ret_rax),
                            (unsigned long long)in->ret_rax), 1;
        }
    }
    for (unsigned i = 0; i < 6; i++)
        if (o->t.cs_out[i] != in->t.cs_in[i])
            return snprintf(msg, cap, "%s: callee-saved register %u not preserved", who, i), 1;
    if (o->bad_ctx || o->bad_align)
        return snprintf(msg, cap, "%s: %u service calls with a wrong ctx, %u misaligned", who,
                        o->bad_ctx, o->bad_align), 1;
    if (o->live || o->depth)
        return snprintf(msg, cap, "%s: %u strings live, enter depth %llu afterwards", who,
                        o->live, (unsigned long long)o->depth), 1;
    (void)sgc;
    (void)rt;
    return 0;
}

struct case_opts {
    int sgc, rt_null, ibt, via_jmp, backtrace;
};

static unsigned cases_run, helper_compared, backtraces, unwound_steps;

static void check_code(const struct calli_sig *s, int sgc, const struct stub_code *c, int ibt);

/* Generate, check statically, install, run helper and stub, compare. */
static void run_case(const struct calli_sig *s, const struct case_opts *co)
{
    char key[CALLI_SIG_TEXT_MAX], msg[2 * sizeof events + 512], err[256];
    struct stub_code c;
    struct stub_opts so = {.ibt = co->ibt};
    int rt = !co->rt_null;

    calli_sig_key(s, co->sgc, key, sizeof key);
    char what[96];
    snprintf(what, sizeof what, "runtime %s, ibt %d, %s", rt ? "set" : "null", co->ibt,
             co->via_jmp ? "jmp" : "call");
    set_case(key, what);
    if (stub_generate(CALLI_ABI_SYSV_X64, s, co->sgc, &so, &c, err, sizeof err) != STUB_OK)
        fail_msg("%s: stub_generate: %s", key, err);
    check_code(s, co->sgc, &c, co->ibt);
    assert_int_equal(calli_layout_compute(s, CALLI_ABI_SYSV_X64, &cur_lay), 0);
    install(&c, co->backtrace);

    static struct input in;
    static struct outcome oh, os;
    static char want[sizeof events];
    make_input(s, &cur_lay, &in);
    model_events(s, co->sgc, rt, &in, want);

    struct calli_cookie *cookie = make_cookie(s, co->sgc, rt ? &wrt.rt : 0);
    memcpy(mini_cookie, "garbage!", 8);
    const void *rtp = rt ? (const void *)&wrt.rt : 0;
    memcpy(mini_cookie + 8, &rtp, 8);

    cur_side = "generic helper";
    run(s, &in, (void *)GenericPInvokeCalliHelper, cookie, co->via_jmp, &oh);
    want_backtrace = co->backtrace;
    cur_side = "stub";
    run(s, &in, code_page, mini_cookie, co->via_jmp, &os);
    want_backtrace = 0;
    free(cookie);

    int hbad = check("helper", s, co->sgc, rt, &in, &oh, want, msg, sizeof msg);
    if (hbad)
        fail_msg("%s (sgc %d, runtime %s): the generic helper deviates from the spec: %s", key,
                 co->sgc, rt ? "set" : "null", msg);
    if (check("stub", s, co->sgc, rt, &in, &os, want, msg, sizeof msg))
        fail_msg("%s (sgc %d, runtime %s, ibt %d, jmp %d): %s", key, co->sgc, rt ? "set" : "null",
                 co->ibt, co->via_jmp, msg);
    /* The stub also hands back all 128 bits of xmm0 for FP results. */
    if (calli_type_is_fp(s->ret) && os.t.xmm0[1] != in.ret_xmm0[1])
        fail_msg("%s: stub lost the upper half of xmm0", key);
    /* Differential: identical target inputs where defined, identical events. */
    assert_string_equal(oh.log, os.log);
    if (!calli_type_is_fp(s->ret) && s->ret != CALLI_T_VOID)
        assert_int_equal(oh.t.rax, os.t.rax);
    else if (s->ret != CALLI_T_VOID)
        assert_int_equal(oh.t.xmm0[0], os.t.xmm0[0]);
    helper_compared++;

    if (co->backtrace) {
        /* From inside the target: rec_target_c, rec_target, then the stub
         * (when the path taken keeps a frame), the trampoline, its caller. */
        int framed = c.has_frame && !(c.tail_call && co->rt_null);
        int k = 2;
        if (bt_n < 2 || bt_ip[1] < (uintptr_t)rec_target || bt_ip[1] > (uintptr_t)rec_target + 256)
            fail_msg("%s: backtrace from the target does not start in the target", key);
        if (framed) {
            if (k >= bt_n || bt_ip[k] < (uintptr_t)code_page ||
                bt_ip[k] >= (uintptr_t)code_page + c.len)
                fail_msg("%s: backtrace from the target does not pass through the stub", key);
            k++;
        }
        if (k >= bt_n || bt_ip[k] != (uintptr_t)tramp_after_call)
            fail_msg("%s: the backtrace went to %#lx, not the trampoline", key,
                     k < bt_n ? (unsigned long)bt_ip[k] : 0ul);
        if (bt_rc != _URC_END_OF_STACK || k + 2 >= bt_n)
            fail_msg("%s: backtrace stopped (%d) after %d frames", key, bt_rc, bt_n);
        backtraces++;
    }
    unregister_fde();
    stub_code_free(&c);
    cases_run++;
}

/* ---------------------------------------------------------------------------
 * Static properties of generated code, by decoding it again.
 */
static void check_code(const struct calli_sig *s, int sgc, const struct stub_code *c, int ibt)
{
    char key[CALLI_SIG_TEXT_MAX];
    calli_sig_key(s, sgc, key, sizeof key);
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    size_t off = 0;
    int last_ret = 0, last_jmp_r10 = 0, first = 1;
    while (off < c->len) {
        ZydisDecodedInstruction ins;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, c->bytes + off, c->len - off, &ins, ops)))
            fail_msg("%s: undecodable byte at +%zu", key, off);
        if (first && ibt && ins.mnemonic != ZYDIS_MNEMONIC_ENDBR64)
            fail_msg("%s: IBT stub does not start with endbr64", key);
        first = 0;
        for (unsigned i = 0; i < ins.operand_count_visible; i++) {
            const ZydisDecodedOperand *op = &ops[i];
            if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.type == ZYDIS_MEMOP_TYPE_MEM) {
                ZydisRegister b = op->mem.base;
                if (op->mem.index != ZYDIS_REGISTER_NONE ||
                    !(b == ZYDIS_REGISTER_RSP || b == ZYDIS_REGISTER_RBP ||
                      b == ZYDIS_REGISTER_RBX || b == ZYDIS_REGISTER_R11))
                    fail_msg("%s: memory operand at +%zu is not rsp/rbp/rbx/r11-relative", key, off);
            }
            if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op->imm.is_relative) {
                int64_t dst = (int64_t)(off + ins.length) + op->imm.value.s;
                if (dst < 0 || dst >= (int64_t)c->len)
                    fail_msg("%s: branch at +%zu leaves the stub", key, off);
            }
        }
        last_ret = ins.mnemonic == ZYDIS_MNEMONIC_RET;
        last_jmp_r10 = ins.mnemonic == ZYDIS_MNEMONIC_JMP && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                       ops[0].reg.value == ZYDIS_REGISTER_R10;
        if (ins.mnemonic == ZYDIS_MNEMONIC_JMP && !last_jmp_r10 && ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
            fail_msg("%s: indirect jump other than jmp r10 at +%zu", key, off);
        off += ins.length;
    }
    if (c->has_frame ? !last_ret : !last_jmp_r10)
        fail_msg("%s: stub does not end in %s", key, c->has_frame ? "ret" : "jmp r10");

    /* The unwind description balances and keeps calls aligned. */
    int64_t sp = 8; /* CFA - rsp */
    uint32_t pc = 0;
    for (size_t i = 0; i < c->nunwind; i++) {
        const struct stub_unwind_step *u = &c->unwind[i];
        assert_true(u->pc_off >= pc && u->pc_off <= c->len);
        pc = u->pc_off;
        switch (u->op) {
        case STUB_UW_PUSH: sp += 8; break;
        case STUB_UW_POP: sp -= 8; break;
        case STUB_UW_ALLOC: sp += u->value; break;
        case STUB_UW_FREE: sp -= u->value; break;
        case STUB_UW_SP_FROM_FP: sp = 16 - u->value; break; /* fp = CFA - 16 */
        default: break;
        }
        if (pc == c->prologue_end && c->has_frame && u->op != STUB_UW_POP)
            assert_int_equal(sp, c->frame_size);
    }
    assert_int_equal(sp, 8);
    if (c->has_frame) {
        assert_int_equal(c->frame_size % 16, 0);
        assert_true(c->frame_start < c->prologue_end && c->prologue_end <= c->epilogue_start &&
                    c->epilogue_start < c->len);
    } else {
        assert_int_equal(c->nunwind, 0);
    }
}

/* ---------------------------------------------------------------------------
 * Tests.
 */
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

static void test_errors(void **state)
{
    (void)state;
    struct calli_sig s = mk(CALLI_T_I4, 1, (const uint8_t[]){CALLI_T_I4});
    struct stub_code c;
    char err[128];
    /* Microsoft x64 and arm64 have their own generators (stubs/stub_x86_64_win.c,
     * tests/stub_win/; stubs/stub_aarch64.c, tests/stub_a64/) */
    assert_int_equal(stub_generate(CALLI_ABI_WIN_X64, &s, 0, 0, &c, err, sizeof err), STUB_OK);
    stub_code_free(&c);
    assert_int_equal(stub_generate(CALLI_ABI_AAPCS64, &s, 0, 0, &c, err, sizeof err), STUB_OK);
    stub_code_free(&c);
    assert_int_equal(stub_generate(CALLI_ABI_APPLE_ARM64, &s, 0, 0, &c, err, sizeof err), STUB_OK);
    stub_code_free(&c);
    assert_int_equal(stub_generate((enum calli_abi)99, &s, 0, 0, &c, err, sizeof err), STUB_E_ABI);
    assert_non_null(strstr(err, "unknown ABI"));
    assert_null(c.bytes);
    assert_string_equal(stub_strerror(STUB_E_ABI), "not implemented for this ABI");
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, 0, 0, 0, &c, err, sizeof err), STUB_E_ARG);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 0, 0, 0, err, sizeof err), STUB_E_ARG);
    struct calli_sig bad = mk(CALLI_T_STRING, 0, 0);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &bad, 0, 0, &c, err, sizeof err), STUB_E_SIG);
    bad = mk(CALLI_T_VOID, 1, (const uint8_t[]){CALLI_T_VOID});
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &bad, 0, 0, &c, err, 0), STUB_E_SIG);
    bad = mk(CALLI_T_VOID, 1, (const uint8_t[]){0x11});
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &bad, 0, 0, &c, err, sizeof err), STUB_E_SIG);
    assert_non_null(strstr(err, "parameter 0"));
    bad = mk(CALLI_T_VOID, 0, 0);
    bad.nparams = CALLI_SIG_MAX_PARAMS + 1;
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &bad, 0, 0, &c, err, sizeof err), STUB_E_SIG);
    stub_code_free(&c);
    stub_code_free(0);
}

static void test_shapes(void **state)
{
    (void)state;
    struct stub_code c, d;
    struct stub_opts ibt = {.ibt = 1};
    /* void () suppress-gc: exactly `jmp r10`; with IBT, endbr64 first. */
    struct calli_sig s = mk(CALLI_T_VOID, 0, 0);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 1, 0, &c, 0, 0), STUB_OK);
    assert_int_equal(c.len, 3);
    assert_memory_equal(c.bytes, "\x41\xff\xe2", 3);
    assert_false(c.has_frame);
    assert_true(c.tail_call);
    stub_code_free(&c);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 1, &ibt, &c, 0, 0), STUB_OK);
    assert_memory_equal(c.bytes, "\xf3\x0f\x1e\xfa\x41\xff\xe2", 7);
    stub_code_free(&c);
    /* i8 (i8) without suppress-gc: runtime test, tail path, framed path. */
    s = mk(CALLI_T_I8, 1, (const uint8_t[]){CALLI_T_I8});
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 0, 0, &c, 0, 0), STUB_OK);
    assert_true(c.has_frame && c.tail_call);
    assert_true(c.frame_start > 0);
    assert_memory_equal(c.bytes + c.frame_start, "\x55\x48\x89\xe5", 4); /* push rbp; mov rbp,rsp */
    stub_code_free(&c);
    /* bool () suppress-gc: frame only for the return conversion, no rbx. */
    s = mk(CALLI_T_BOOL, 0, 0);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 1, 0, &c, 0, 0), STUB_OK);
    assert_true(c.has_frame && !c.tail_call);
    assert_int_equal(c.saved_regs, 0);
    assert_int_equal(c.frame_size, 16);
    stub_code_free(&c);
    /* A string: framed from the start, rbx saved. Deterministic output. */
    s = mk(CALLI_T_I4, 2, (const uint8_t[]){CALLI_T_STRING, CALLI_T_BOOL});
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 0, 0, &c, 0, 0), STUB_OK);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 0, 0, &d, 0, 0), STUB_OK);
    assert_true(c.has_frame && !c.tail_call && c.frame_start == 0);
    assert_int_equal(c.saved_regs, 1u << STUB_X86_RBX);
    assert_int_equal(c.len, d.len);
    assert_memory_equal(c.bytes, d.bytes, c.len);
    stub_code_free(&c);
    stub_code_free(&d);
}

/* The CFI program of a typical framed stub, byte for byte. */
static void test_cfi(void **state)
{
    (void)state;
    struct calli_sig s = mk(CALLI_T_I4, 1, (const uint8_t[]){CALLI_T_STRING});
    struct stub_code c;
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 1, 0, &c, 0, 0), STUB_OK);
    struct cfi_buf b = {0};
    assert_int_equal(cfi_dwarf_program(&c, &b), CFI_OK);
    uint8_t want[] = {
        0x41, 0x0e, 16, 0x86, 2, /* +1: push rbp: CFA=rsp+16, rbp at CFA-16 */
        0x43, 0x0d, 6,           /* +4: mov rbp,rsp: CFA=rbp+16 */
        0x41, 0x83, 3,           /* +5: push rbx: rbx at CFA-24 */
        0x00, 0xc3,              /* mov rbx,[rbp-8]: restore rbx (advance patched below) */
        0x41, 0x0c, 7, 8, 0xc6,  /* leave: CFA=rsp+8, restore rbp */
    };
    /* the advance to the epilogue depends on the body's length */
    uint32_t adv = c.epilogue_start + 4 - 5;
    assert_true(adv < 64);
    want[11] = (uint8_t)(0x40 | adv);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    free(b.data);
    /* A frameless stub has an empty program; FDE for it is still valid. */
    stub_code_free(&c);
    s = mk(CALLI_T_I4, 0, 0);
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, 1, 0, &c, 0, 0), STUB_OK);
    memset(&b, 0, sizeof b);
    assert_int_equal(cfi_dwarf_program(&c, &b), CFI_OK);
    assert_int_equal(b.len, 0);
    size_t cie, field;
    assert_int_equal(cfi_dwarf_cie(&b, CALLI_ABI_SYSV_X64, &cie), CFI_OK);
    assert_int_equal(cfi_dwarf_fde(&b, cie, &c, 0x1000, 0x4000, &field), CFI_OK);
    assert_int_equal(b.len % 8, 0);
    int32_t pcrel;
    memcpy(&pcrel, b.data + field, 4);
    assert_int_equal((int64_t)pcrel, 0x4000 - (0x1000 + (int64_t)field));
    size_t len = b.len;
    assert_int_equal(cfi_dwarf_fde(&b, cie, &c, 0x1000, 0x1000 + (1ull << 32), 0), CFI_E_RANGE);
    assert_int_equal(b.len, len);
    free(b.data);
    c.abi = CALLI_ABI_WIN_X64;
    memset(&b, 0, sizeof b);
    assert_int_equal(cfi_dwarf_program(&c, &b), CFI_E_ABI);
    stub_code_free(&c);
}

static const struct {
    uint8_t ret;
    uint8_t n;
    uint8_t p[40];
} edge[] = {
    {CALLI_T_VOID, 0, {0}},
    {CALLI_T_I4, 0, {0}},
    {CALLI_T_BOOL, 0, {0}},
    {CALLI_T_R8, 0, {0}},
    {CALLI_T_R4, 1, {CALLI_T_R4}},
    {CALLI_T_CHAR, 1, {CALLI_T_CHAR}},
    {CALLI_T_I1, 1, {CALLI_T_I1}},
    {CALLI_T_U1, 1, {CALLI_T_U1}},
    {CALLI_T_I2, 1, {CALLI_T_I2}},
    {CALLI_T_U2, 1, {CALLI_T_U2}},
    {CALLI_T_U4, 2, {CALLI_T_BOOL, CALLI_T_BOOL}},
    {CALLI_T_I8, 1, {CALLI_T_STRING}},
    {CALLI_T_VOID, 3, {CALLI_T_STRING, CALLI_T_STRING, CALLI_T_STRING}},
    {CALLI_T_PTR, 2, {CALLI_T_FNPTR, CALLI_T_PTR}},
    {CALLI_T_I, 2, {CALLI_T_I, CALLI_T_U}},
    {CALLI_T_U, 1, {CALLI_T_U8}},
    {CALLI_T_FNPTR, 1, {CALLI_T_R8}},
    /* every register used, then stack of both classes, small ones on the stack */
    {CALLI_T_BOOL, 24, {CALLI_T_I4, CALLI_T_R8, CALLI_T_U1, CALLI_T_R4, CALLI_T_I2, CALLI_T_R8,
                        CALLI_T_CHAR, CALLI_T_R4, CALLI_T_STRING, CALLI_T_R8, CALLI_T_BOOL,
                        CALLI_T_R8, CALLI_T_R4, CALLI_T_I1, CALLI_T_R8, CALLI_T_BOOL, CALLI_T_U2,
                        CALLI_T_R4, CALLI_T_STRING, CALLI_T_R8, CALLI_T_I1, CALLI_T_I8,
                        CALLI_T_R4, CALLI_T_U1}},
    /* 30 small integers: 24 on the stack, in place normalisation */
    {CALLI_T_I8, 30, {CALLI_T_BOOL, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_CHAR,
                      CALLI_T_BOOL, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_CHAR,
                      CALLI_T_BOOL, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_CHAR,
                      CALLI_T_BOOL, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_CHAR,
                      CALLI_T_BOOL, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_CHAR}},
    /* 20 doubles: 12 on the stack, pairs copied together */
    {CALLI_T_R4, 20, {CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8,
                      CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8,
                      CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8, CALLI_T_R8,
                      CALLI_T_R8, CALLI_T_R8}},
    /* strings on the stack only, the first register string not in rdi */
    {CALLI_T_U2, 10, {CALLI_T_I4, CALLI_T_STRING, CALLI_T_I4, CALLI_T_I4, CALLI_T_I4, CALLI_T_I4,
                      CALLI_T_STRING, CALLI_T_BOOL, CALLI_T_STRING, CALLI_T_I2}},
};

static void test_edge_cases(void **state)
{
    (void)state;
    memory_init();
    rng_state = 0x5eed0001;
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++) {
        struct calli_sig s = mk(edge[e].ret, edge[e].n, edge[e].p);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        for (int v = 0; v < 16; v++) {
            struct case_opts co = {.sgc = v & 1, .rt_null = (v >> 1) & 1, .ibt = (v >> 2) & 1,
                                   .via_jmp = (v >> 3) & 1};
            if (co.rt_null && has_str)
                continue;
            for (int rep = 0; rep < 4; rep++) /* fresh garbage each time */
                run_case(&s, &co);
        }
    }
    /* 64 parameters, the maximum, of every kind. */
    for (int k = 0; k < 4; k++) {
        struct calli_sig s = mk(CALLI_T_BOOL, 0, 0);
        s.nparams = CALLI_SIG_MAX_PARAMS;
        for (unsigned i = 0; i < s.nparams; i++)
            s.params[i] = k == 0 ? param_types[i % NPARAM_TYPES]
                        : k == 1 ? CALLI_T_STRING
                        : k == 2 ? CALLI_T_R4
                                 : CALLI_T_BOOL;
        struct case_opts co = {.sgc = k & 1, .rt_null = k == 3};
        run_case(&s, &co);
        co.sgc ^= 1;
        run_case(&s, &co);
    }
}

#define NRANDOM 2500

static void test_random(void **state)
{
    (void)state;
    memory_init();
    rng_state = 0xc0ffee2024ull;
    unsigned shapes[3] = {0, 0, 0};
    unsigned before = cases_run;
    for (unsigned n = 0; n < NRANDOM; n++) {
        struct calli_sig s;
        rnd_sig(&s);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        struct case_opts co = {.sgc = (int)rndn(2), .ibt = rndn(4) == 0, .via_jmp = rndn(4) == 0};
        co.rt_null = !has_str && rndn(3) == 0;
        co.backtrace = rndn(8) == 0;
        struct stub_code c;
        struct stub_opts so = {.ibt = co.ibt};
        assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, &s, co.sgc, &so, &c, 0, 0), STUB_OK);
        shapes[!c.has_frame ? 0 : c.tail_call ? 1 : 2]++;
        stub_code_free(&c);
        run_case(&s, &co);
    }
    printf("random: %u signatures compared against the generic helper "
           "(%u frameless, %u runtime-tested, %u framed)\n",
           cases_run - before, shapes[0], shapes[1], shapes[2]);
    assert_true(shapes[0] > 50 && shapes[1] > 50 && shapes[2] > 500);
}

/* ---------------------------------------------------------------------------
 * Unwinding from every instruction of a stub: single-step with TF; at each
 * pc inside the stub, walk from the signal frame and check that the frame
 * above the stub is the trampoline, with the right CFA and the trampoline's
 * rbx and rbp.
 */
static volatile uintptr_t ss_lo, ss_hi;
static volatile uint64_t ss_rbx, ss_rbp;
static volatile unsigned ss_steps, ss_bad, ss_pcs[CODE_SIZE];
static struct tramp *volatile ss_tramp;
static char ss_why[200];

struct ss_walk {
    uintptr_t pc;
    int state;      /* 0 looking for the stub, 1 found, 2 good, 3 bad */
    char why[200];
};

/* In libgcc, the context a callback gets for frame N holds, as its CFA, the
 * CFA of frame N-1 (its callee): the stub's CFA is checked in the
 * trampoline's frame. */
static _Unwind_Reason_Code ss_cb(struct _Unwind_Context *ctx, void *arg)
{
    struct ss_walk *w = arg;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
    if (w->state == 0) {
        if (ip == w->pc)
            w->state = 1;
        return _URC_NO_REASON;
    }
    if (ip != (uintptr_t)tramp_after_call) {
        snprintf(w->why, sizeof w->why, "pc +%lu: caller ip %#lx, not the trampoline",
                 (unsigned long)(w->pc - ss_lo), (unsigned long)ip);
    } else if (_Unwind_GetCFA(ctx) != ss_tramp->sp_at_call) {
        snprintf(w->why, sizeof w->why, "pc +%lu: stub CFA %#lx, want %#lx",
                 (unsigned long)(w->pc - ss_lo), (unsigned long)_Unwind_GetCFA(ctx),
                 (unsigned long)ss_tramp->sp_at_call);
    } else if (_Unwind_GetGR(ctx, 3) != ss_rbx || _Unwind_GetGR(ctx, 6) != ss_rbp) {
        snprintf(w->why, sizeof w->why, "pc +%lu: recovered rbx/rbp wrong",
                 (unsigned long)(w->pc - ss_lo));
    } else {
        w->state = 2;
        return _URC_NORMAL_STOP;
    }
    w->state = 3;
    return _URC_NORMAL_STOP;
}

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (pc == (uintptr_t)tramp_after_call) {
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100;
        return;
    }
    if (pc < ss_lo || pc >= ss_hi)
        return;
    ss_steps++;
    ss_pcs[pc - ss_lo]++;
    struct ss_walk w = {pc, 0, ""};
    _Unwind_Backtrace(ss_cb, &w);
    if (w.state != 2) {
        if (w.state < 2)
            snprintf(w.why, sizeof w.why, "pc +%lu: the walk %s", (unsigned long)(pc - ss_lo),
                     w.state ? "ended at the stub" : "never reached the stub");
        if (!ss_bad++)
            memcpy(ss_why, w.why, sizeof w.why);
    }
}

static void single_step(const struct calli_sig *s, int sgc, int rt_null, int via_jmp)
{
    char key[CALLI_SIG_TEXT_MAX];
    struct stub_code c;
    calli_sig_key(s, sgc, key, sizeof key);
    set_case(key, rt_null ? "single-step, runtime null" : "single-step, runtime set");
    assert_int_equal(stub_generate(CALLI_ABI_SYSV_X64, s, sgc, 0, &c, 0, 0), STUB_OK);
    assert_int_equal(calli_layout_compute(s, CALLI_ABI_SYSV_X64, &cur_lay), 0);
    install(&c, 1);

    static const struct calli_runtime lean = {
        CALLI_RUNTIME_ABI_VERSION, 0, ss_svc, ss_svc, ss_s2n, ss_free};
    static struct input in;
    static struct tramp t;
    make_input(s, &cur_lay, &in);
    const void *rtp = rt_null ? 0 : (const void *)&lean;
    memcpy(mini_cookie + 8, &rtp, 8);

    ss_lo = (uintptr_t)code_page;
    ss_hi = ss_lo + c.len;
    ss_steps = ss_bad = 0;
    memset((void *)ss_pcs, 0, sizeof ss_pcs);
    ss_why[0] = 0;
    ss_rbx = in.t.cs_in[0];
    ss_rbp = in.t.cs_in[1];
    ss_calls = 0;

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGTRAP, &sa, &old), 0);
    t = in.t;
    t.r10 = (uintptr_t)ss_target;
    t.r11 = (uintptr_t)mini_cookie;
    site_jmp_dest = code_page;
    t.entry = via_jmp ? (void *)site_jmp : (void *)code_page;
    t.step = 1;
    ss_tramp = &t; /* the stub's CFA is rsp before the call, which it records */
    tramp_call(&t);
    assert_int_equal(sigaction(SIGTRAP, &old, 0), 0);

    if (ss_bad)
        fail_msg("%s: unwinding failed at %u of %u steps; first: %s", key, ss_bad, ss_steps, ss_why);
    /* the target once, plus every service call of spec section 4 */
    unsigned nstr = 0;
    for (unsigned i = 0; i < s->nparams; i++)
        nstr += s->params[i] == CALLI_T_STRING;
    assert_int_equal(ss_calls, 1 + 2 * nstr + (!sgc && !rt_null ? 2 : 0));
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(t.cs_out[i], in.t.cs_in[i]);
    /* every instruction on the path taken was visited and unwound from */
    unsigned distinct = 0;
    for (size_t i = 0; i < c.len; i++)
        distinct += ss_pcs[i] != 0;
    assert_true(ss_steps >= distinct && distinct >= (c.len > 3 ? 2u : 1u));
    unwound_steps += ss_steps;
    unregister_fde();
    stub_code_free(&c);
}

static void test_unwind_every_instruction(void **state)
{
    (void)state;
    memory_init();
    rng_state = 0x57e95;
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++) {
        struct calli_sig s = mk(edge[e].ret, edge[e].n, edge[e].p);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        for (int v = 0; v < 8; v++) {
            if ((v & 2) && has_str)
                continue;
            single_step(&s, v & 1, (v >> 1) & 1, (v >> 2) & 1);
        }
    }
    for (unsigned n = 0; n < 300; n++) {
        struct calli_sig s;
        rnd_sig(&s);
        int has_str = memchr(s.params, CALLI_T_STRING, s.nparams) != 0;
        single_step(&s, (int)rndn(2), !has_str && rndn(2), rndn(4) == 0);
    }
}

int main(void)
{
    verbose = getenv("STUB_TEST_VERBOSE") != 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_cfi),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_unwind_every_instruction),
    };
    int rc = cmocka_run_group_tests(tests, 0, 0);
    printf("stub_x86_64: %u cases run, %u compared with the generic helper, %u backtraces "
           "through registered FDEs, %u single-stepped stub instructions unwound\n",
           cases_run, helper_compared, backtraces, unwound_steps);
    return rc;
}

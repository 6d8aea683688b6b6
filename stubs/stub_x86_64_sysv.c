/* stub_x86_64_sysv.c - the x86-64 System V stub generator (ELF, Mach-O
 * x86-64). Design and examples: docs/stubs.md.
 *
 * Entry (spec section 1, docs/abi.md section 2): target in r10, cookie in
 * r11, the managed arguments in rdi rsi rdx rcx r8 r9 / xmm0-7 / the 8-byte
 * slots at [rsp+8] (entered by `call` or by a tail `jmp` from the site: the
 * same thing to us). Of the cookie only `runtime` ([r11+8]) is read.
 *
 * Three shapes, chosen from the key alone:
 *
 *   A  nothing to do after the call (no STRING parameter, no return
 *      conversion, suppress-gc): normalise the small arguments in place
 *      (registers, and the incoming stack slots, which the callee owns under
 *      SysV) and `jmp r10`. No frame.
 *   B  like A but without suppress-gc: normalise in place, then test the
 *      runtime pointer; null: `jmp r10` as A; otherwise fall into a framed
 *      body that calls enter / the target / leave.
 *   C  everything else (STRING parameters or a return conversion): a framed
 *      body from the first instruction.
 *
 * The framed body: push rbp; mov rbp, rsp; [push rbx]; [sub rsp, N]. rbx
 * holds the runtime table across the service calls; the target, the
 * register arguments, the converted strings and the result live in rbp-
 * relative slots; the native stack arguments are built at [rsp]. The stack
 * is 16-byte aligned at every call. Epilogue: [mov rbx,[rbp-8]]; leave; ret.
 */
#include <string.h>

#include "stub_x86_64_common.h"

/* SysV integer argument registers, hardware numbering. */
static const uint8_t sysv_gpr[6] = {STUB_X86_RDI, STUB_X86_RSI, STUB_X86_RDX,
                                    STUB_X86_RCX, 8, 9};
enum { R_RAX = X64_RAX, R_RBX = X64_RBX, R_RSP = X64_RSP, R_RBP = X64_RBP, R_RDI = X64_RDI,
       R_RSI = X64_RSI, R_R10 = X64_R10, R_R11 = X64_R11 };

/* Offsets in struct calli_runtime. */
enum { RT_CTX = X64_RT_CTX, RT_ENTER = X64_RT_ENTER, RT_LEAVE = X64_RT_LEAVE,
       RT_S2N = X64_RT_S2N, RT_FREE = X64_RT_FREE };

struct gen {
    struct x86_asm a;
    struct stub_code *c;
    const struct calli_sig *sig;
    struct calli_layout lay;
    int sgc;
    unsigned nstr;   /* STRING parameters */
    int normalized;  /* small arguments already normalised in place */
    int calls;       /* service calls around the target: rbx, slots */
    int rt_test;     /* the runtime may be null here: test it around enter/leave */
    int32_t slot[CALLI_SIG_MAX_PARAMS]; /* rbp-relative: register argument saves;
                                           for STRING parameters also where the
                                           native pointer is kept for free_native */
    int32_t t_slot;  /* the target, after the call the integer result */
    int32_t x_slot;  /* the xmm0 result (16-aligned) */
};

#define G(g) (&(g)->a)
#define REG64(i) x86_reg(x86_gpr((i), 8))
#define MEM(base, disp, size) x86_mem(x86_gpr((base), 8), (disp), (size))

static void uw(struct gen *g, enum stub_unwind_op op, unsigned reg, int32_t value)
{
    x64_uw(G(g), op, reg, value);
}

/* Build the native stack arguments at [rsp] from the incoming ones at
 * [rbp+16] (STRING slots are filled when converted). Runs of two unconverted
 * slots move as one 16-byte copy through xmm8, which no argument uses. */
static void copy_stack_args(struct gen *g)
{
    x64_copy_stack_args(G(g), g->sig, &g->lay, g->normalized, R_RBP, 16, R_RSP, 0, 8);
}

/* rt->enter(ctx) / rt->leave(ctx), skipped at run time when the runtime
 * may be null here. */
static void call_gc_service(struct gen *g, int32_t fn)
{
    x64_gc_service(G(g), g->rt_test, R_RDI, fn);
}

/* Everything from `push rbp` to `ret`. rt_nonnull: shape B, whose head has
 * found the cookie's runtime non-null (no test around enter/leave). */
static void framed(struct gen *g, int rt_nonnull)
{
    const struct calli_sig *s = g->sig;
    struct stub_code *c = g->c;
    int fp_ret = calli_type_is_fp(s->ret), void_ret = s->ret == CALLI_T_VOID;

    g->calls = g->nstr > 0 || !g->sgc;
    /* With STRING parameters the runtime cannot be null (spec section 4). */
    g->rt_test = !g->sgc && g->nstr == 0 && !rt_nonnull;

    /* Frame layout, rbp-relative, growing down: [rbx], slots, then the
     * native stack arguments at [rsp]. */
    int32_t off = g->calls ? -8 : 0;
    if (g->calls) {
        g->t_slot = off -= 8;
        for (unsigned i = 0; i < s->nparams; i++)
            if (g->lay.managed[i].kind != CALLI_LOC_STACK || s->params[i] == CALLI_T_STRING)
                g->slot[i] = off -= 8;
        if (fp_ret)
            g->x_slot = off = (off - 16) & ~15;
    }
    uint32_t below = (uint32_t)-off + g->lay.native_stack_size; /* bytes under rbp */
    below = (below + 15) & ~15u;
    uint32_t alloc = below - (g->calls ? 8 : 0);

    c->has_frame = 1;
    c->frame_start = (uint32_t)c->len;
    X86(G(g), PUSH, REG64(R_RBP));
    uw(g, STUB_UW_PUSH, R_RBP, 0);
    X86(G(g), MOV, REG64(R_RBP), REG64(R_RSP));
    uw(g, STUB_UW_SET_FP, R_RBP, 0);
    if (g->calls) {
        X86(G(g), PUSH, REG64(R_RBX));
        uw(g, STUB_UW_PUSH, R_RBX, 0);
        c->saved_regs |= 1u << R_RBX;
    }
    if (alloc) {
        X86(G(g), SUB, REG64(R_RSP), x86_imm(alloc));
        uw(g, STUB_UW_ALLOC, 0, (int32_t)alloc);
    }
    c->prologue_end = (uint32_t)c->len;
    c->frame_size = 16 + below;

    if (g->calls) {
        X86(G(g), MOV, REG64(R_RBX), MEM(R_R11, 8, 8));
        X86(G(g), MOV, MEM(R_RBP, g->t_slot, 8), REG64(R_R10));
        /* Save the register arguments raw; the first STRING, if it is in a
         * register, goes straight from there to string_to_native. */
        int first_str = 1;
        for (unsigned i = 0; i < s->nparams; i++) {
            const struct calli_loc *m = &g->lay.managed[i];
            int is_str = s->params[i] == CALLI_T_STRING;
            if (m->kind == CALLI_LOC_GPR && !(is_str && first_str))
                X86(G(g), MOV, MEM(R_RBP, g->slot[i], 8), REG64(sysv_gpr[m->reg]));
            else if (m->kind == CALLI_LOC_FPR)
                X86(G(g), MOVSD, MEM(R_RBP, g->slot[i], 8), x86_reg(x86_xmm(m->reg)));
            if (is_str)
                first_str = 0;
        }
    }
    copy_stack_args(g);

    if (g->calls) {
        /* 1. string_to_native for each STRING, left to right. */
        unsigned k = 0;
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            const struct calli_loc *m = &g->lay.managed[i];
            if (m->kind == CALLI_LOC_GPR && k == 0) {
                if (sysv_gpr[m->reg] != R_RDI)
                    X86(G(g), MOV, REG64(R_RDI), REG64(sysv_gpr[m->reg]));
            } else if (m->kind == CALLI_LOC_GPR) {
                X86(G(g), MOV, REG64(R_RDI), MEM(R_RBP, g->slot[i], 8));
            } else {
                X86(G(g), MOV, REG64(R_RDI), MEM(R_RBP, 16 + (int32_t)m->stack_off, 8));
            }
            X86(G(g), MOV, REG64(R_RSI), MEM(R_RBX, RT_CTX, 8));
            X86(G(g), CALL, MEM(R_RBX, RT_S2N, 8));
            X86(G(g), MOV, MEM(R_RBP, g->slot[i], 8), REG64(R_RAX));
            if (m->kind == CALLI_LOC_STACK)
                X86(G(g), MOV, MEM(R_RSP, (int32_t)g->lay.native[i].stack_off, 8), REG64(R_RAX));
            k++;
        }
        /* 2. enter */
        if (!g->sgc)
            call_gc_service(g, RT_ENTER);
        /* 3. reload the register arguments in native form, call. */
        for (unsigned i = 0; i < s->nparams; i++) {
            const struct calli_loc *m = &g->lay.managed[i];
            if (m->kind == CALLI_LOC_GPR) {
                enum x64_conv cv = g->normalized ? X64_CV_NONE : x64_conv_of(s->params[i]);
                x64_load_norm(G(g), sysv_gpr[m->reg], R_RBP, g->slot[i], cv, 1);
            } else if (m->kind == CALLI_LOC_FPR) {
                X86(G(g), MOVSD, x86_reg(x86_xmm(m->reg)), MEM(R_RBP, g->slot[i], 8));
            }
        }
        X86(G(g), CALL, MEM(R_RBP, g->t_slot, 8));

        /* 4. leave, 5. free_native, keeping the result in the frame. */
        if (fp_ret)
            X86(G(g), MOVAPS, MEM(R_RBP, g->x_slot, 16), x86_reg(x86_xmm(0)));
        else if (!void_ret)
            X86(G(g), MOV, MEM(R_RBP, g->t_slot, 8), REG64(R_RAX));
        if (!g->sgc)
            call_gc_service(g, RT_LEAVE);
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            X86(G(g), MOV, REG64(R_RDI), MEM(R_RBP, g->slot[i], 8));
            X86(G(g), MOV, REG64(R_RSI), MEM(R_RBX, RT_CTX, 8));
            X86(G(g), CALL, MEM(R_RBX, RT_FREE, 8));
        }
        /* 6. the marshaled result */
        if (fp_ret)
            X86(G(g), MOVAPS, x86_reg(x86_xmm(0)), MEM(R_RBP, g->x_slot, 16));
        else if (!void_ret)
            x64_load_norm(G(g), R_RAX, R_RBP, g->t_slot, x64_conv_of(s->ret), 4);
    } else {
        /* Only a return conversion needs the frame. */
        if (!g->normalized)
            for (unsigned i = 0; i < s->nparams; i++)
                if (g->lay.managed[i].kind == CALLI_LOC_GPR)
                    x64_norm_reg(G(g), sysv_gpr[g->lay.managed[i].reg],
                                 x64_conv_of(s->params[i]));
        X86(G(g), CALL, REG64(R_R10));
        x64_norm_ret(G(g), x64_conv_of(s->ret));
    }

    c->epilogue_start = (uint32_t)c->len;
    if (g->calls) {
        X86(G(g), MOV, REG64(R_RBX), MEM(R_RBP, -8, 8));
        uw(g, STUB_UW_RELOAD, R_RBX, 0);
    }
    if (below) {
        X86_0(G(g), LEAVE);
        uw(g, STUB_UW_SP_FROM_FP, R_RBP, 0);
    } else {
        X86(G(g), POP, REG64(R_RBP));
    }
    uw(g, STUB_UW_POP, R_RBP, 0);
    X86_0(G(g), RET);
}

enum stub_err stub_gen_x86_64_sysv(const struct calli_sig *sig, int suppress_gc,
                                   const struct stub_opts *opts, struct stub_code *out,
                                   char *err, size_t errcap)
{
    struct gen g;
    memset(&g, 0, sizeof g);
    g.a.code = out;
    g.c = out;
    g.sig = sig;
    g.sgc = suppress_gc != 0;
    if (calli_layout_compute(sig, CALLI_ABI_SYSV_X64, &g.lay) != 0)
        return stub_fail(err, errcap, STUB_E_SIG, "no System V layout for this signature");
    for (unsigned i = 0; i < sig->nparams; i++)
        g.nstr += sig->params[i] == CALLI_T_STRING;
    int rconv = x64_conv_of(sig->ret) != X64_CV_NONE;

    if (opts->ibt)
        X86_0(G(&g), ENDBR64);

    if (g.nstr == 0 && !rconv) {
        /* Shapes A and B: normalise in place, tail-jump when nothing else
         * has to happen. */
        x64_normalize_in_place(G(&g), sig, &g.lay, sysv_gpr, 8);
        g.normalized = 1;
        out->tail_call = 1;
        if (x64_tail_head(G(&g), g.sgc))
            framed(&g, 1);
    } else {
        framed(&g, 0);
    }

    if (g.a.err != STUB_OK) {
        if (g.a.err == STUB_E_ENCODE)
            return stub_fail(err, errcap, STUB_E_ENCODE, "x86-64 encoder failed on %s", g.a.what);
        return g.a.err;
    }
    return STUB_OK;
}

/* stub_x86_64_win.c - the Microsoft x64 stub generator (PE/COFF x86-64).
 * Design and examples: docs/stubs.md section 9.
 *
 * Entry (spec section 1, docs/abi.md section 2): target in r10, cookie in
 * r11, the managed arguments by position in rcx rdx r8 r9 / xmm0-3, the
 * caller's 32-byte home area at [rsp+8], stack arguments in the 8-byte slots
 * from [rsp+40] (entered by `call` or by a tail `jmp` from the site: the
 * same thing to us). Of the cookie only `runtime` ([r11+8]) is read.
 *
 * The shapes are the System V ones (stub_x86_64_sysv.c), chosen from the
 * key alone:
 *
 *   A  no STRING parameter, no return conversion, suppress-gc: normalise
 *      the small arguments in place (registers, and the incoming stack
 *      slots, which the callee owns) and `jmp r10`. No frame.
 *   B  like A without suppress-gc: normalise in place, test the runtime
 *      pointer; null: `jmp r10`; otherwise a framed enter / call / leave.
 *   C  everything else: framed from the first instruction.
 *
 * The frame is the one Win64 unwind codes describe directly, with no frame
 * pointer: [push rbx]; sub rsp, N (prologue) ... add rsp, N; [pop rbx]; ret
 * (the canonical epilogue the Windows unwinder recognises). rbx holds the
 * runtime table across the service calls; everything else lives at fixed
 * rsp offsets in the body:
 *
 *   [rsp]            the 32-byte home area of every call the stub makes
 *   [rsp+32]         the native stack arguments of the target
 *   then             FP register arguments (all 128 bits, movaps) and the
 *                    xmm0 result, 16 bytes each; the target (then the rax
 *                    result); the integer register arguments and the
 *                    converted pointers of stack STRINGs, 8 bytes each
 *
 * N keeps rsp 16-byte aligned at every call. The caller's home area is
 * never written (the helper does not write it either).
 */
#include <stdio.h>
#include <string.h>

#include "stub_x86_64_common.h"

/* Win64 argument registers by position, hardware numbering. */
static const uint8_t win_gpr[4] = {X64_RCX, X64_RDX, X64_R8, X64_R9};

/* The home area a Win64 caller provides below the stack arguments. */
enum { HOME = 32 };
/* An allocation of a page or more needs a stack probe (__chkstk); the
 * largest frame (64 STRING parameters) is about 1.1 KiB. */
enum { MAX_ALLOC = 4096 - 16 };

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
    int32_t slot[CALLI_SIG_MAX_PARAMS]; /* rsp-relative saves of the register
                                           arguments; for STRING parameters
                                           also where the native pointer is kept
                                           for free_native */
    int32_t t_slot;  /* the target, after the call the integer result */
    int32_t x_slot;  /* the xmm0 result (16-aligned) */
    int32_t in_args; /* rsp-relative offset of the incoming stack arguments */
};

#define G(g) (&(g)->a)
#define REG64(i) x86_reg(x86_gpr((i), 8))
#define XMM(i) x86_reg(x86_xmm(i))
#define MEM(base, disp, size) x86_mem(x86_gpr((base), 8), (disp), (size))

/* Everything from the prologue to `ret`. rt_nonnull: shape B, whose head has
 * found the cookie's runtime non-null (no test around enter/leave). */
static void framed(struct gen *g, int rt_nonnull)
{
    const struct calli_sig *s = g->sig;
    struct stub_code *c = g->c;
    int fp_ret = calli_type_is_fp(s->ret), void_ret = s->ret == CALLI_T_VOID;

    g->calls = g->nstr > 0 || !g->sgc;
    /* With STRING parameters the runtime cannot be null (spec section 4). */
    g->rt_test = !g->sgc && g->nstr == 0 && !rt_nonnull;

    /* Frame layout, rsp-relative in the body, growing up (see the top). */
    uint32_t off = HOME + g->lay.native_stack_size, alloc;
    if (g->calls) {
        for (unsigned i = 0; i < s->nparams; i++)
            if (g->lay.managed[i].kind == CALLI_LOC_FPR) {
                g->slot[i] = (int32_t)off;
                off += 16;
            }
        if (fp_ret) {
            g->x_slot = (int32_t)off;
            off += 16;
        }
        g->t_slot = (int32_t)off;
        off += 8;
        for (unsigned i = 0; i < s->nparams; i++)
            if (g->lay.managed[i].kind == CALLI_LOC_GPR ||
                (g->lay.managed[i].kind == CALLI_LOC_STACK && s->params[i] == CALLI_T_STRING)) {
                g->slot[i] = (int32_t)off;
                off += 8;
            }
        alloc = (off + 15) & ~15u; /* entry rsp = 8 mod 16, push rbx: 0 mod 16 */
    } else {
        alloc = off + 8;           /* off is a multiple of 16 */
    }
    if (alloc > MAX_ALLOC) {
        if (g->a.err == STUB_OK) {
            g->a.err = STUB_E_ENCODE;
            snprintf(g->a.what, sizeof g->a.what, "a %u-byte frame (it would need a stack probe)",
                     alloc);
        }
        return;
    }
    g->in_args = (int32_t)alloc + (g->calls ? 8 : 0) + 8 + HOME;

    c->has_frame = 1;
    c->frame_start = (uint32_t)c->len;
    if (g->calls) {
        X86(G(g), PUSH, REG64(X64_RBX));
        x64_uw(G(g), STUB_UW_PUSH, X64_RBX, 0);
        c->saved_regs |= 1u << X64_RBX;
    }
    X86(G(g), SUB, REG64(X64_RSP), x86_imm(alloc));
    x64_uw(G(g), STUB_UW_ALLOC, 0, (int32_t)alloc);
    c->prologue_end = (uint32_t)c->len;
    c->frame_size = 8 + (g->calls ? 8 : 0) + alloc;

    if (g->calls) {
        X86(G(g), MOV, REG64(X64_RBX), MEM(X64_R11, X64_COOKIE_RUNTIME, 8));
        X86(G(g), MOV, MEM(X64_RSP, g->t_slot, 8), REG64(X64_R10));
        /* Save the register arguments raw (vector registers whole); the
         * first STRING, if it is in a register, goes straight from there to
         * string_to_native. */
        int first_str = 1;
        for (unsigned i = 0; i < s->nparams; i++) {
            const struct calli_loc *m = &g->lay.managed[i];
            int is_str = s->params[i] == CALLI_T_STRING;
            if (m->kind == CALLI_LOC_GPR && !(is_str && first_str))
                X86(G(g), MOV, MEM(X64_RSP, g->slot[i], 8), REG64(win_gpr[m->reg]));
            else if (m->kind == CALLI_LOC_FPR)
                X86(G(g), MOVAPS, MEM(X64_RSP, g->slot[i], 16), XMM(m->reg));
            if (is_str)
                first_str = 0;
        }
    }
    /* The native stack arguments at [rsp+32], through rax and xmm4 (neither
     * holds an argument; xmm4 is volatile on Win64, xmm6-15 are not). */
    x64_copy_stack_args(G(g), s, &g->lay, g->normalized, X64_RSP, g->in_args, X64_RSP, HOME, 4);

    if (g->calls) {
        /* 1. string_to_native for each STRING, left to right. */
        unsigned k = 0;
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            const struct calli_loc *m = &g->lay.managed[i];
            if (m->kind == CALLI_LOC_GPR && k == 0) {
                if (win_gpr[m->reg] != X64_RCX)
                    X86(G(g), MOV, REG64(X64_RCX), REG64(win_gpr[m->reg]));
            } else if (m->kind == CALLI_LOC_GPR) {
                X86(G(g), MOV, REG64(X64_RCX), MEM(X64_RSP, g->slot[i], 8));
            } else {
                X86(G(g), MOV, REG64(X64_RCX), MEM(X64_RSP, g->in_args + (int32_t)m->stack_off, 8));
            }
            X86(G(g), MOV, REG64(X64_RDX), MEM(X64_RBX, X64_RT_CTX, 8));
            X86(G(g), CALL, MEM(X64_RBX, X64_RT_S2N, 8));
            X86(G(g), MOV, MEM(X64_RSP, g->slot[i], 8), REG64(X64_RAX));
            if (m->kind == CALLI_LOC_STACK) /* the callee owns its copy */
                X86(G(g), MOV, MEM(X64_RSP, HOME + (int32_t)g->lay.native[i].stack_off, 8),
                    REG64(X64_RAX));
            k++;
        }
        /* 2. enter */
        if (!g->sgc)
            x64_gc_service(G(g), g->rt_test, X64_RCX, X64_RT_ENTER);
        /* 3. reload the register arguments in native form, call. */
        for (unsigned i = 0; i < s->nparams; i++) {
            const struct calli_loc *m = &g->lay.managed[i];
            if (m->kind == CALLI_LOC_GPR) {
                enum x64_conv cv = g->normalized ? X64_CV_NONE : x64_conv_of(s->params[i]);
                x64_load_norm(G(g), win_gpr[m->reg], X64_RSP, g->slot[i], cv, 1);
            } else if (m->kind == CALLI_LOC_FPR) {
                X86(G(g), MOVAPS, XMM(m->reg), MEM(X64_RSP, g->slot[i], 16));
            }
        }
        X86(G(g), CALL, MEM(X64_RSP, g->t_slot, 8));

        /* 4. leave, 5. free_native, keeping the result in the frame. */
        if (fp_ret)
            X86(G(g), MOVAPS, MEM(X64_RSP, g->x_slot, 16), XMM(0));
        else if (!void_ret)
            X86(G(g), MOV, MEM(X64_RSP, g->t_slot, 8), REG64(X64_RAX));
        if (!g->sgc)
            x64_gc_service(G(g), g->rt_test, X64_RCX, X64_RT_LEAVE);
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            X86(G(g), MOV, REG64(X64_RCX), MEM(X64_RSP, g->slot[i], 8));
            X86(G(g), MOV, REG64(X64_RDX), MEM(X64_RBX, X64_RT_CTX, 8));
            X86(G(g), CALL, MEM(X64_RBX, X64_RT_FREE, 8));
        }
        /* 6. the marshaled result */
        if (fp_ret)
            X86(G(g), MOVAPS, XMM(0), MEM(X64_RSP, g->x_slot, 16));
        else if (!void_ret)
            x64_load_norm(G(g), X64_RAX, X64_RSP, g->t_slot, x64_conv_of(s->ret), 4);
    } else {
        /* Only a return conversion needs the frame. */
        if (!g->normalized)
            for (unsigned i = 0; i < s->nparams; i++)
                if (g->lay.managed[i].kind == CALLI_LOC_GPR)
                    x64_norm_reg(G(g), win_gpr[g->lay.managed[i].reg],
                                 x64_conv_of(s->params[i]));
        X86(G(g), CALL, REG64(X64_R10));
        x64_norm_ret(G(g), x64_conv_of(s->ret));
    }

    /* The canonical epilogue: add rsp, N; [pop rbx]; ret. */
    c->epilogue_start = (uint32_t)c->len;
    X86(G(g), ADD, REG64(X64_RSP), x86_imm(alloc));
    x64_uw(G(g), STUB_UW_FREE, 0, (int32_t)alloc);
    if (g->calls) {
        X86(G(g), POP, REG64(X64_RBX));
        x64_uw(G(g), STUB_UW_POP, X64_RBX, 0);
    }
    X86_0(G(g), RET);
}

enum stub_err stub_gen_x86_64_win(const struct calli_sig *sig, int suppress_gc,
                                  const struct stub_opts *opts, struct stub_code *out,
                                  char *err, size_t errcap)
{
    struct gen g;
    memset(&g, 0, sizeof g);
    g.a.code = out;
    g.c = out;
    g.sig = sig;
    g.sgc = suppress_gc != 0;
    if (calli_layout_compute(sig, CALLI_ABI_WIN_X64, &g.lay) != 0)
        return stub_fail(err, errcap, STUB_E_SIG, "no Microsoft x64 layout for this signature");
    for (unsigned i = 0; i < sig->nparams; i++)
        g.nstr += sig->params[i] == CALLI_T_STRING;
    int rconv = x64_conv_of(sig->ret) != X64_CV_NONE;

    if (opts->ibt)
        X86_0(G(&g), ENDBR64);

    if (g.nstr == 0 && !rconv) {
        /* Shapes A and B: normalise in place, tail-jump when nothing else
         * has to happen. */
        x64_normalize_in_place(G(&g), sig, &g.lay, win_gpr, 8 + HOME);
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

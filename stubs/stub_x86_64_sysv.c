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

#include "x86_enc.h"

/* SysV integer argument registers, hardware numbering. */
static const uint8_t sysv_gpr[6] = {STUB_X86_RDI, STUB_X86_RSI, STUB_X86_RDX,
                                    STUB_X86_RCX, 8, 9};
enum { R_RAX = 0, R_RBX = 3, R_RSP = 4, R_RBP = 5, R_RDI = 7, R_RSI = 6, R_R10 = 10, R_R11 = 11 };

/* Offsets in struct calli_runtime. */
enum { RT_CTX = 8, RT_ENTER = 16, RT_LEAVE = 24, RT_S2N = 32, RT_FREE = 40 };

/* What a value needs between the managed and the native side (both
 * directions use the same rules, spec section 3). */
enum conv { CV_NONE, CV_BOOL, CV_S8, CV_U8, CV_S16, CV_U16 };

static enum conv conv_of(uint8_t t)
{
    switch (t) {
    case CALLI_T_BOOL: return CV_BOOL;
    case CALLI_T_I1: return CV_S8;
    case CALLI_T_U1: return CV_U8;
    case CALLI_T_I2: return CV_S16;
    case CALLI_T_U2: case CALLI_T_CHAR: return CV_U16;
    default: return CV_NONE;
    }
}

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
#define REG32(i) x86_reg(x86_gpr((i), 4))
#define REG8(i) x86_reg(x86_gpr((i), 1))
#define MEM(base, disp, size) x86_mem(x86_gpr((base), 8), (disp), (size))

/* dst32 = the native form of the small value held in the register's low bits. */
static void norm_reg(struct gen *g, unsigned r, enum conv cv)
{
    switch (cv) {
    case CV_BOOL: /* test dil, dil; setne dil; movzx edi, dil */
        X86(G(g), TEST, REG8(r), REG8(r));
        X86(G(g), SETNZ, REG8(r));
        X86(G(g), MOVZX, REG32(r), REG8(r));
        break;
    case CV_S8: X86(G(g), MOVSX, REG32(r), REG8(r)); break;
    case CV_U8: X86(G(g), MOVZX, REG32(r), REG8(r)); break;
    case CV_S16: X86(G(g), MOVSX, REG32(r), x86_reg(x86_gpr(r, 2))); break;
    case CV_U16: X86(G(g), MOVZX, REG32(r), x86_reg(x86_gpr(r, 2))); break;
    case CV_NONE: break;
    }
}

/* dst = the native form of the value at [base+disp] (whole 8 bytes when
 * there is nothing to convert; the result's upper 32 bits are zero otherwise).
 * width: the managed value's width for BOOL (1) or the return BOOL (4). */
static void load_norm(struct gen *g, unsigned dst, unsigned base, int32_t disp, enum conv cv,
                      unsigned bool_width)
{
    switch (cv) {
    case CV_BOOL: /* xor eax, eax; cmp byte [m], 0; setne al */
        X86(G(g), XOR, REG32(dst), REG32(dst));
        X86(G(g), CMP, MEM(base, disp, (uint16_t)bool_width), x86_imm(0));
        X86(G(g), SETNZ, REG8(dst));
        break;
    case CV_S8: X86(G(g), MOVSX, REG32(dst), MEM(base, disp, 1)); break;
    case CV_U8: X86(G(g), MOVZX, REG32(dst), MEM(base, disp, 1)); break;
    case CV_S16: X86(G(g), MOVSX, REG32(dst), MEM(base, disp, 2)); break;
    case CV_U16: X86(G(g), MOVZX, REG32(dst), MEM(base, disp, 2)); break;
    case CV_NONE: X86(G(g), MOV, REG64(dst), MEM(base, disp, 8)); break;
    }
}

static void uw(struct gen *g, enum stub_unwind_op op, unsigned reg, int32_t value)
{
    if (g->a.err == STUB_OK)
        g->a.err = stub_unwind_add(g->c, op, reg, value);
}

/* Normalise every small argument where it is: in its register, or in its
 * incoming stack slot ([rsp+8+off] at entry). */
static void normalize_in_place(struct gen *g)
{
    for (unsigned i = 0; i < g->sig->nparams; i++) {
        enum conv cv = conv_of(g->sig->params[i]);
        const struct calli_loc *m = &g->lay.managed[i];
        if (cv == CV_NONE)
            continue;
        if (m->kind == CALLI_LOC_GPR) {
            norm_reg(g, sysv_gpr[m->reg], cv);
        } else { /* small values are never FP class */
            int32_t d = 8 + (int32_t)m->stack_off;
            load_norm(g, R_RAX, R_RSP, d, cv, 1);
            X86(G(g), MOV, MEM(R_RSP, d, 8), REG64(R_RAX));
        }
    }
    g->normalized = 1;
}

/* Build the native stack arguments at [rsp] from the incoming ones at
 * [rbp+16] (STRING slots are filled when converted). Runs of two unconverted
 * slots move as one 16-byte copy through xmm8, which no argument uses. */
static void copy_stack_args(struct gen *g)
{
    unsigned idx[CALLI_SIG_MAX_PARAMS], n = 0;
    for (unsigned i = 0; i < g->sig->nparams; i++)
        if (g->lay.managed[i].kind == CALLI_LOC_STACK && g->sig->params[i] != CALLI_T_STRING)
            idx[n++] = i;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = idx[k];
        const struct calli_loc *m = &g->lay.managed[i], *nt = &g->lay.native[i];
        enum conv cv = g->normalized ? CV_NONE : conv_of(g->sig->params[i]);
        int32_t src = 16 + (int32_t)m->stack_off, dst = (int32_t)nt->stack_off;
        if (k + 1 < n && cv == CV_NONE) {
            unsigned j = idx[k + 1];
            enum conv cvj = g->normalized ? CV_NONE : conv_of(g->sig->params[j]);
            if (cvj == CV_NONE && g->lay.managed[j].stack_off == m->stack_off + 8 &&
                g->lay.native[j].stack_off == nt->stack_off + 8) {
                X86(G(g), MOVUPS, x86_reg(x86_xmm(8)), MEM(R_RBP, src, 16));
                X86(G(g), MOVUPS, MEM(R_RSP, dst, 16), x86_reg(x86_xmm(8)));
                k++;
                continue;
            }
        }
        load_norm(g, R_RAX, R_RBP, src, cv, 1);
        X86(G(g), MOV, MEM(R_RSP, dst, 8), REG64(R_RAX));
    }
}

/* rt->enter(ctx) / rt->leave(ctx), skipped at run time when the runtime
 * may be null here. */
static void call_gc_service(struct gen *g, int32_t fn)
{
    struct x86_label skip = {0, ZYDIS_MNEMONIC_JZ};
    if (g->rt_test) {
        X86(G(g), TEST, REG64(R_RBX), REG64(R_RBX));
        skip = x86_branch_fwd(G(g), ZYDIS_MNEMONIC_JZ);
    }
    X86(G(g), MOV, REG64(R_RDI), MEM(R_RBX, RT_CTX, 8));
    X86(G(g), CALL, MEM(R_RBX, fn, 8));
    if (g->rt_test)
        x86_bind(G(g), skip);
}

/* Everything from `push rbp` to `ret`. rt_in_r11: shape B, r11 already
 * holds the (non-null) runtime pointer. */
static void framed(struct gen *g, int rt_in_r11)
{
    const struct calli_sig *s = g->sig;
    struct stub_code *c = g->c;
    int fp_ret = calli_type_is_fp(s->ret), void_ret = s->ret == CALLI_T_VOID;

    g->calls = g->nstr > 0 || !g->sgc;
    /* With STRING parameters the runtime cannot be null (spec section 4). */
    g->rt_test = !g->sgc && g->nstr == 0 && !rt_in_r11;

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
        if (rt_in_r11)
            X86(G(g), MOV, REG64(R_RBX), REG64(R_R11));
        else
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
                enum conv cv = g->normalized ? CV_NONE : conv_of(s->params[i]);
                load_norm(g, sysv_gpr[m->reg], R_RBP, g->slot[i], cv, 1);
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
            load_norm(g, R_RAX, R_RBP, g->t_slot, conv_of(s->ret), 4);
    } else {
        /* Only a return conversion needs the frame. */
        if (!g->normalized)
            for (unsigned i = 0; i < s->nparams; i++)
                if (g->lay.managed[i].kind == CALLI_LOC_GPR)
                    norm_reg(g, sysv_gpr[g->lay.managed[i].reg], conv_of(s->params[i]));
        X86(G(g), CALL, REG64(R_R10));
        enum conv rc = conv_of(s->ret);
        if (rc == CV_BOOL) { /* all 32 bits count */
            X86(G(g), TEST, REG32(R_RAX), REG32(R_RAX));
            X86(G(g), SETNZ, REG8(R_RAX));
            X86(G(g), MOVZX, REG32(R_RAX), REG8(R_RAX));
        } else {
            norm_reg(g, R_RAX, rc);
        }
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
    int rconv = conv_of(sig->ret) != CV_NONE;

    if (opts->ibt)
        X86_0(G(&g), ENDBR64);

    if (g.nstr == 0 && !rconv) {
        /* Shapes A and B: normalise in place, tail-jump when nothing else
         * has to happen. */
        normalize_in_place(&g);
        out->tail_call = 1;
        if (g.sgc) {
            X86(G(&g), JMP, REG64(R_R10));
        } else {
            X86(G(&g), MOV, REG64(R_R11), MEM(R_R11, 8, 8));
            X86(G(&g), TEST, REG64(R_R11), REG64(R_R11));
            struct x86_label body = x86_branch_fwd(G(&g), ZYDIS_MNEMONIC_JNZ);
            X86(G(&g), JMP, REG64(R_R10));
            x86_bind(G(&g), body);
            framed(&g, 1);
        }
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

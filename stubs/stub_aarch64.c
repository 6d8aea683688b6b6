/* stub_aarch64.c - the arm64 stub generator: AAPCS64 (ELF arm64, Windows
 * arm64) and Apple arm64 (Mach-O). Design and examples: docs/stubs.md
 * section 8.
 *
 * Entry (spec section 1, docs/abi.md section 2): target in x12, cookie in
 * x15, the managed arguments in x0-x7 / v0-v7 / from [sp] (entered by `bl`
 * or by a tail `b` from the site: the same thing to us). Of the cookie only
 * `runtime` ([x15, #8]) is read. The stub clobbers only x0-x17 (x9-x11,
 * x15 and x16 as scratch) and v0-v7; it preserves x19-x29 and d8-d15 and
 * only saves and restores x30, so a PAC-signed return address in the caller
 * is never disturbed.
 *
 * Three shapes, chosen from the key alone (as on x86-64):
 *
 *   A  nothing to do after the call (no STRING parameter, no return
 *      conversion, suppress-gc) and the native stack arguments are where the
 *      managed ones are (always on AAPCS64; on Apple arm64 unless a BOOL is on
 *      the stack): normalise the small arguments in place (registers and the
 *      incoming stack slots) and tail-branch to the target. No frame.
 *   B  like A but without suppress-gc: normalise in place, then test the
 *      runtime pointer; null: tail-branch as A; otherwise fall into a framed
 *      body that calls enter / the target / leave.
 *   C  everything else: a framed body from the first instruction.
 *
 * The tail branch is `br x12`, or `mov x16, x12; br x16` for BTI images: a
 * `br` from a guarded page through any register but x16/x17 sets BTYPE 0b11,
 * which a target's `bti c` landing pad rejects.
 *
 * The framed body (x29-relative slots, all offsets positive):
 *
 *     stp x29, x30, [sp, #-F]!       (F > 504: sub sp, sp, #F; stp x29, x30, [sp])
 *     mov x29, sp
 *     [stp x19, x20, [sp, #16]]      x19 = runtime table, x20 = target
 *     [sub sp, sp, #OUT]             the native stack arguments, at [sp]
 *     ...
 *     [add sp, sp, #OUT]
 *     [ldp x19, x20, [sp, #16]]
 *     ldp x29, x30, [sp], #F         (F > 504: ldp x29, x30, [sp]; add sp, sp, #F)
 *     ret
 *
 * Frame record at [x29], then x19/x20, the vector argument registers (16
 * bytes each), the integer argument registers, the result (x0 and all of
 * q0), and the converted pointers of stack STRINGs. sp is 16-byte aligned
 * at every call. The epilogue mirrors the prologue instruction by
 * instruction (what Windows arm64 unwind codes need), and no frame reaches
 * a page (no stack probe is ever needed): F <= 704, OUT <= 448.
 *
 * Apple arm64 stubs with service calls use the frame Apple's compilers make
 * instead, the one compact unwind's UNWIND_ARM64_MODE_FRAME describes
 * (CFA = x29 + 16, x19 at x29-8, x20 at x29-16; docs/stubs.md section 8,
 * "The Apple frame"):
 *
 *     stp x29, x30, [sp, #-16]!
 *     mov x29, sp
 *     stp x20, x19, [sp, #-16]!
 *     sub sp, sp, #(slots + OUT)     slots below x20, growing down
 *     ...                            the same body, slots addressed from sp
 *     add sp, sp, #(slots + OUT)     (pairs: from x29, negative offsets)
 *     ldp x20, x19, [sp], #16
 *     ldp x29, x30, [sp], #16
 *     ret
 */
#include <string.h>

#include "a64_enc.h"
#include "stub_int.h"

/* Offsets in struct calli_runtime. */
enum { RT_CTX = 8, RT_ENTER = 16, RT_LEAVE = 24, RT_S2N = 32, RT_FREE = 40 };

enum { X0 = 0, X1 = 1, X9 = 9, X10 = 10, X11 = 11, X12 = 12, X15 = 15, X16 = 16,
       X19 = 19, X20 = 20, FP = 29, LR = 30, SP = 31 };

/* What a value needs between the managed and the native side (spec
 * section 3; both directions use the same rules). */
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
    struct stub_code *c;
    enum stub_err err; /* first failure; later emissions are no-ops */
    const char *what;  /* the instruction the encoder refused */
    const struct calli_sig *sig;
    struct calli_layout lay;
    int apple, sgc, bti;
    unsigned nstr;     /* STRING parameters */
    int normalized;    /* small arguments already normalised in place */
    int calls;         /* service calls around the target: x19/x20, slots */
    int rt_test;       /* the runtime may be null here: test it around enter/leave */
    uint32_t F;        /* frame record + slots: x29 = entry sp - F */
    uint32_t out;      /* outgoing stack-argument area below that */
    int afr;           /* Apple frame with service calls: the frame record on
                          top (x29 = entry sp - 16), x19/x20 and the slots
                          below it (negative x29 offsets) */
    uint32_t below;    /* afr: x29 - sp in the body */
    uint32_t in_off;   /* x29 + in_off = entry sp (the incoming stack args) */
    int32_t qbase, gbase, ret_x, ret_q;      /* x29-relative slots */
    int32_t sslot[CALLI_SIG_MAX_PARAMS];     /* stack STRINGs' native pointers */
    unsigned ng, nq;   /* argument registers of each class in use */
};

static void emit(struct gen *g, uint32_t w, const char *what)
{
    if (g->err != STUB_OK)
        return;
    if (w == A64_BAD) {
        g->err = STUB_E_ENCODE;
        g->what = what;
        return;
    }
    uint8_t b[4] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24)};
    g->err = stub_code_append(g->c, b, 4);
}

#define E(g, call) emit((g), (call), #call)

static void uw(struct gen *g, enum stub_unwind_op op, unsigned reg, int32_t value)
{
    if (g->err == STUB_OK)
        g->err = stub_unwind_add(g->c, op, reg, value);
}

/* Wd = the native form of the small value in the low bits of Wd. */
static void norm_reg(struct gen *g, unsigned r, enum conv cv)
{
    switch (cv) {
    case CV_BOOL:
        E(g, a64_tst_w_ff(r));
        E(g, a64_cset_w(r, A64_NE));
        break;
    case CV_S8: E(g, a64_sxtb_w(r, r)); break;
    case CV_U8: E(g, a64_uxtb_w(r, r)); break;
    case CV_S16: E(g, a64_sxth_w(r, r)); break;
    case CV_U16: E(g, a64_uxth_w(r, r)); break;
    case CV_NONE: break;
    }
}

/* dst = the native form of the value at [base, #off]: all 8 bytes when
 * there is nothing to convert, else the 32-bit value zero-extended.
 * bool_w: a BOOL is read as its low byte (1, a managed bool) or as all 32
 * bits (4, a native BOOL result). */
static void load_norm(struct gen *g, unsigned dst, unsigned base, int32_t off, enum conv cv,
                      unsigned bool_w)
{
    switch (cv) {
    case CV_BOOL:
        E(g, a64_ldst(bool_w == 4 ? A64_LDR_W : A64_LDRB, dst, base, off));
        E(g, a64_cmp_w_imm(dst, 0));
        E(g, a64_cset_w(dst, A64_NE));
        break;
    case CV_S8: E(g, a64_ldst(A64_LDRSB_W, dst, base, off)); break;
    case CV_U8: E(g, a64_ldst(A64_LDRB, dst, base, off)); break;
    case CV_S16: E(g, a64_ldst(A64_LDRSH_W, dst, base, off)); break;
    case CV_U16: E(g, a64_ldst(A64_LDRH, dst, base, off)); break;
    case CV_NONE: E(g, a64_ldst(A64_LDR_X, dst, base, off)); break;
    }
}

static enum a64_ldst_op ld_of_size(unsigned size)
{
    return size == 1 ? A64_LDRB : size == 2 ? A64_LDRH : size == 4 ? A64_LDR_W : A64_LDR_X;
}

static enum a64_ldst_op st_of_size(unsigned size)
{
    return size == 1 ? A64_STRB : size == 2 ? A64_STRH : size == 4 ? A64_STR_W : A64_STR_X;
}

/* The tail branch to the target (see the top of the file). */
static void tail_branch(struct gen *g)
{
    if (g->bti) {
        E(g, a64_mov(X16, X12));
        E(g, a64_br(X16));
    } else {
        E(g, a64_br(X12));
    }
}

/* Do the native stack arguments sit exactly where the managed ones are,
 * with the same sizes? Always on AAPCS64; on Apple arm64 unless a BOOL
 * (1 byte managed, 4 native) is on the stack. */
static int stack_in_place(const struct calli_layout *l)
{
    for (unsigned i = 0; i < l->nparams; i++)
        if (l->managed[i].kind == CALLI_LOC_STACK &&
            (l->managed[i].stack_off != l->native[i].stack_off ||
             l->managed[i].size != l->native[i].size))
            return 0;
    return 1;
}

/* Normalise every small argument where it is: in its register or in its
 * incoming stack slot ([sp, #off] at entry). Apple arm64 passes small stack
 * arguments in their own size, so only registers change there. */
static void normalize_in_place(struct gen *g)
{
    for (unsigned i = 0; i < g->sig->nparams; i++) {
        enum conv cv = conv_of(g->sig->params[i]);
        const struct calli_loc *m = &g->lay.managed[i];
        if (cv == CV_NONE)
            continue;
        if (m->kind == CALLI_LOC_GPR) {
            norm_reg(g, m->reg, cv);
        } else if (!g->apple) { /* small values are never FP class */
            load_norm(g, X9, SP, (int32_t)m->stack_off, cv, 1);
            E(g, a64_ldst(A64_STR_X, X9, SP, (int32_t)m->stack_off));
        }
    }
    g->normalized = 1;
}

/* Build the native stack arguments at [sp] from the incoming ones at
 * [x10] = entry sp (STRING slots are filled when converted). AAPCS64: two
 * neighbouring unconverted slots move with one ldp/stp. Apple arm64: each
 * value in its own size, a BOOL grows to 4 bytes. */
static void copy_stack_args(struct gen *g)
{
    unsigned idx[CALLI_SIG_MAX_PARAMS], n = 0;
    for (unsigned i = 0; i < g->sig->nparams; i++)
        if (g->lay.managed[i].kind == CALLI_LOC_STACK && g->sig->params[i] != CALLI_T_STRING)
            idx[n++] = i;
    if (n == 0)
        return;
    E(g, a64_add_imm(X10, FP, g->in_off));
    for (unsigned k = 0; k < n; k++) {
        unsigned i = idx[k];
        const struct calli_loc *m = &g->lay.managed[i], *nt = &g->lay.native[i];
        enum conv cv = g->normalized ? CV_NONE : conv_of(g->sig->params[i]);
        int32_t src = (int32_t)m->stack_off, dst = (int32_t)nt->stack_off;
        if (g->apple) {
            if (conv_of(g->sig->params[i]) == CV_BOOL) {
                load_norm(g, X9, X10, src, CV_BOOL, 1);
                E(g, a64_ldst(A64_STR_W, X9, SP, dst));
            } else { /* the value's own bytes are its native form */
                E(g, a64_ldst(ld_of_size(m->size), X9, X10, src));
                E(g, a64_ldst(st_of_size(nt->size), X9, SP, dst));
            }
            continue;
        }
        if (k + 1 < n && cv == CV_NONE) {
            unsigned j = idx[k + 1];
            enum conv cvj = g->normalized ? CV_NONE : conv_of(g->sig->params[j]);
            if (cvj == CV_NONE && g->lay.managed[j].stack_off == m->stack_off + 8 &&
                g->lay.native[j].stack_off == nt->stack_off + 8) {
                E(g, a64_ldstp(A64_LDP_X, A64_OFFSET, X9, X11, X10, src));
                E(g, a64_ldstp(A64_STP_X, A64_OFFSET, X9, X11, SP, dst));
                k++;
                continue;
            }
        }
        load_norm(g, X9, X10, src, cv, 1);
        E(g, a64_ldst(A64_STR_X, X9, SP, dst));
    }
}

/* rt->enter(ctx) / rt->leave(ctx), skipped at run time when the runtime
 * may be null here. */
static void call_gc_service(struct gen *g, int32_t fn)
{
    size_t at = 0;
    if (g->rt_test) {
        at = g->c->len;
        E(g, a64_cbz_x(X19, 0)); /* patched below */
    }
    E(g, a64_ldst(A64_LDR_X, X0, X19, RT_CTX));
    E(g, a64_ldst(A64_LDR_X, X9, X19, fn));
    E(g, a64_blr(X9));
    if (g->rt_test && g->err == STUB_OK) {
        uint32_t w = a64_cbz_x(X19, (int32_t)(g->c->len - at));
        memcpy(g->c->bytes + at, (uint8_t[]){(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16),
                                             (uint8_t)(w >> 24)}, 4);
    }
}

/* The base register and offset of the frame slot at x29 + o. Slots are
 * x29-relative with positive offsets, except in an Apple frame with service
 * calls, where they lie below the frame record: a single load or store has
 * no negative scaled form, so it addresses the slot from sp (x29 - below). */
static unsigned slot_base(const struct gen *g, int32_t *o)
{
    if (!g->afr)
        return FP;
    *o += (int32_t)g->below;
    return SP;
}

/* A pair access to the slots at x29 + o: from x29 when the signed offset
 * fits (always, for the layouts made here), else (afr) from sp. */
static uint32_t slot_pair(const struct gen *g, enum a64_pair_op op, unsigned r1, unsigned r2,
                          int32_t o)
{
    uint32_t w = a64_ldstp(op, A64_OFFSET, r1, r2, FP, o);
    if (w == A64_BAD && g->afr)
        w = a64_ldstp(op, A64_OFFSET, r1, r2, SP, o + (int32_t)g->below);
    return w;
}

static void slot_ldst(struct gen *g, enum a64_ldst_op op, unsigned rt, int32_t o, const char *what)
{
    unsigned base = slot_base(g, &o);
    emit(g, a64_ldst(op, rt, base, o), what);
}

/* Save (store 1) or reload (0) the integer argument registers that are in
 * use, pairing neighbours. On reload the small ones are normalised on the
 * way (unless already done); skip: a register not to save (-1: none). */
static void gpr_args(struct gen *g, int store, int skip)
{
    const struct calli_sig *s = g->sig;
    int used[8] = {0};
    enum conv cv[8] = {CV_NONE};
    for (unsigned i = 0; i < s->nparams; i++) {
        const struct calli_loc *m = &g->lay.managed[i];
        if (m->kind != CALLI_LOC_GPR)
            continue;
        used[m->reg] = !(store && (int)m->reg == skip);
        cv[m->reg] = store || g->normalized ? CV_NONE : conv_of(s->params[i]);
    }
    for (unsigned r = 0; r < 8; r++) {
        if (!used[r])
            continue;
        int32_t off = g->gbase + 8 * (int32_t)r;
        if (r + 1 < 8 && used[r + 1] && cv[r] == CV_NONE && cv[r + 1] == CV_NONE) {
            E(g, slot_pair(g, store ? A64_STP_X : A64_LDP_X, r, r + 1, off));
            r++;
        } else if (store) {
            slot_ldst(g, A64_STR_X, r, off, "str x (argument slot)");
        } else {
            unsigned base = slot_base(g, &off);
            load_norm(g, r, base, off, cv[r], 1);
        }
    }
}

/* Save or reload the vector argument registers in use, all 128 bits. */
static void fpr_args(struct gen *g, int store)
{
    int used[8] = {0};
    for (unsigned i = 0; i < g->sig->nparams; i++)
        if (g->lay.managed[i].kind == CALLI_LOC_FPR)
            used[g->lay.managed[i].reg] = 1;
    for (unsigned r = 0; r < 8; r++) {
        if (!used[r])
            continue;
        int32_t off = g->qbase + 16 * (int32_t)r;
        if (r + 1 < 8 && used[r + 1]) {
            E(g, slot_pair(g, store ? A64_STP_Q : A64_LDP_Q, r, r + 1, off));
            r++;
        } else {
            slot_ldst(g, store ? A64_STR_Q : A64_LDR_Q, r, off, "str/ldr q (argument slot)");
        }
    }
}

static uint32_t align16(uint32_t v)
{
    return (v + 15) & ~15u;
}

/* Everything from the frame's first instruction to `ret`. rt_in_x15:
 * shape B, x15 already holds the (non-null) runtime pointer. */
static void framed(struct gen *g, int rt_in_x15)
{
    const struct calli_sig *s = g->sig;
    struct stub_code *c = g->c;

    g->calls = g->nstr > 0 || !g->sgc;
    /* With STRING parameters the runtime cannot be null (spec section 4). */
    g->rt_test = !g->sgc && g->nstr == 0 && !rt_in_x15;

    /* Frame layout, x29-relative. */
    uint32_t off = 16; /* the frame record */
    g->afr = g->apple && g->calls;
    if (g->calls)
        for (unsigned i = 0; i < s->nparams; i++) {
            const struct calli_loc *m = &g->lay.managed[i];
            if (m->kind == CALLI_LOC_GPR && m->reg + 1u > g->ng)
                g->ng = m->reg + 1u;
            if (m->kind == CALLI_LOC_FPR && m->reg + 1u > g->nq)
                g->nq = m->reg + 1u;
        }
    if (g->afr) {
        /* Apple: the layout compact unwind's UNWIND_ARM64_MODE_FRAME
         * describes (what Apple's compilers make): CFA = x29 + 16, x19 at
         * x29 - 8, x20 at x29 - 16, then the slots, growing down. */
        int32_t o = -16; /* x20 */
        o -= 16 * (int32_t)g->nq;
        g->qbase = o;
        o -= (int32_t)align16(8 * g->ng);
        g->gbase = o;
        o -= 32;
        g->ret_x = o;
        g->ret_q = o + 16;
        for (unsigned i = 0; i < s->nparams; i++)
            if (s->params[i] == CALLI_T_STRING && g->lay.managed[i].kind == CALLI_LOC_STACK) {
                o -= 8;
                g->sslot[i] = o;
            }
        g->F = 16;
        g->out = g->lay.native_stack_size; /* a multiple of 16 */
        g->below = align16((uint32_t)-o) + g->out;
        g->in_off = 16;
    } else if (g->calls) {
        off += 16; /* x19, x20 */
        g->qbase = (int32_t)off;
        off += 16 * g->nq;
        g->gbase = (int32_t)off;
        off = align16(off + 8 * g->ng);
        g->ret_x = (int32_t)off;
        g->ret_q = (int32_t)off + 16;
        off += 32;
        for (unsigned i = 0; i < s->nparams; i++)
            if (s->params[i] == CALLI_T_STRING && g->lay.managed[i].kind == CALLI_LOC_STACK) {
                g->sslot[i] = (int32_t)off;
                off += 8;
            }
    }
    if (!g->afr) {
        g->F = align16(off);
        g->out = g->lay.native_stack_size; /* a multiple of 16 */
        g->in_off = g->F;
    }

    c->has_frame = 1;
    c->frame_start = (uint32_t)c->len;
    if (g->afr) {
        /* Each step leaves a state DWARF describes; from the `sub` on, the
         * FRAME encoding with the x19/x20 pair holds. */
        E(g, a64_ldstp(A64_STP_X, A64_PRE, FP, LR, SP, -16));
        uw(g, STUB_UW_ALLOC, 0, 16);
        uw(g, STUB_UW_SAVE, FP, 0);
        uw(g, STUB_UW_SAVE, LR, 8);
        E(g, a64_mov_sp(FP, SP));
        uw(g, STUB_UW_SET_FP, FP, 0);
        E(g, a64_ldstp(A64_STP_X, A64_PRE, X20, X19, SP, -16));
        uw(g, STUB_UW_ALLOC, 0, 16);
        uw(g, STUB_UW_SAVE, X20, 0);
        uw(g, STUB_UW_SAVE, X19, 8);
        E(g, a64_sub_imm(SP, SP, g->below - 16));
        uw(g, STUB_UW_ALLOC, 0, (int32_t)(g->below - 16));
        c->saved_regs = 1u << FP | 1u << LR | 1u << X19 | 1u << X20;
        c->prologue_end = (uint32_t)c->len;
        c->frame_size = 16 + g->below;
    } else if (g->F <= 504) {
        E(g, a64_ldstp(A64_STP_X, A64_PRE, FP, LR, SP, -(int32_t)g->F));
        uw(g, STUB_UW_ALLOC, 0, (int32_t)g->F);
    } else {
        E(g, a64_sub_imm(SP, SP, g->F));
        uw(g, STUB_UW_ALLOC, 0, (int32_t)g->F);
        E(g, a64_ldstp(A64_STP_X, A64_OFFSET, FP, LR, SP, 0));
    }
    if (!g->afr) {
        uw(g, STUB_UW_SAVE, FP, 0);
        uw(g, STUB_UW_SAVE, LR, 8);
        E(g, a64_mov_sp(FP, SP));
        uw(g, STUB_UW_SET_FP, FP, 0);
        c->saved_regs = 1u << FP | 1u << LR;
        if (g->calls) {
            E(g, a64_ldstp(A64_STP_X, A64_OFFSET, X19, X20, SP, 16));
            uw(g, STUB_UW_SAVE, X19, 16);
            uw(g, STUB_UW_SAVE, X20, 24);
            c->saved_regs |= 1u << X19 | 1u << X20;
        }
        if (g->out) {
            E(g, a64_sub_imm(SP, SP, g->out));
            uw(g, STUB_UW_ALLOC, 0, (int32_t)g->out);
        }
        c->prologue_end = (uint32_t)c->len;
        c->frame_size = g->F + g->out;
    }

    if (g->calls) {
        if (rt_in_x15)
            E(g, a64_mov(X19, X15));
        else
            E(g, a64_ldst(A64_LDR_X, X19, X15, 8));
        E(g, a64_mov(X20, X12));
        /* The register arguments, raw; the first STRING, if it is in a
         * register, goes straight from there to string_to_native. */
        int first_reg_str = -1;
        for (unsigned i = 0; i < s->nparams; i++)
            if (s->params[i] == CALLI_T_STRING) {
                if (g->lay.managed[i].kind == CALLI_LOC_GPR)
                    first_reg_str = g->lay.managed[i].reg;
                break;
            }
        gpr_args(g, 1, first_reg_str);
        fpr_args(g, 1);
        copy_stack_args(g);

        /* 1. string_to_native for each STRING, left to right. */
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            const struct calli_loc *m = &g->lay.managed[i];
            int32_t slot = m->kind == CALLI_LOC_GPR ? g->gbase + 8 * m->reg : g->sslot[i];
            if (m->kind == CALLI_LOC_GPR && (int)m->reg == first_reg_str) {
                if (m->reg != X0)
                    E(g, a64_mov(X0, m->reg));
            } else if (m->kind == CALLI_LOC_GPR) {
                slot_ldst(g, A64_LDR_X, X0, slot, "ldr x0 (string slot)");
            } else {
                E(g, a64_ldst(A64_LDR_X, X0, FP, (int32_t)(g->in_off + m->stack_off)));
            }
            E(g, a64_ldst(A64_LDR_X, X1, X19, RT_CTX));
            E(g, a64_ldst(A64_LDR_X, X9, X19, RT_S2N));
            E(g, a64_blr(X9));
            slot_ldst(g, A64_STR_X, X0, slot, "str x0 (string slot)");
            if (m->kind == CALLI_LOC_STACK)
                E(g, a64_ldst(A64_STR_X, X0, SP, (int32_t)g->lay.native[i].stack_off));
        }
        /* 2. enter */
        if (!g->sgc)
            call_gc_service(g, RT_ENTER);
        /* 3. the register arguments in native form, the call. */
        gpr_args(g, 0, -1);
        fpr_args(g, 0);
        E(g, a64_blr(X20));
        /* 4. leave, 5. free_native, keeping the whole result (x0 and all
         * of q0, whatever the type, as the helper does) in the frame. */
        slot_ldst(g, A64_STR_X, X0, g->ret_x, "str x0 (result slot)");
        slot_ldst(g, A64_STR_Q, 0, g->ret_q, "str q0 (result slot)");
        if (!g->sgc)
            call_gc_service(g, RT_LEAVE);
        for (unsigned i = 0; i < s->nparams; i++) {
            if (s->params[i] != CALLI_T_STRING)
                continue;
            const struct calli_loc *m = &g->lay.managed[i];
            int32_t slot = m->kind == CALLI_LOC_GPR ? g->gbase + 8 * m->reg : g->sslot[i];
            slot_ldst(g, A64_LDR_X, X0, slot, "ldr x0 (string slot)");
            E(g, a64_ldst(A64_LDR_X, X1, X19, RT_CTX));
            E(g, a64_ldst(A64_LDR_X, X9, X19, RT_FREE));
            E(g, a64_blr(X9));
        }
        /* 6. the marshaled result */
        slot_ldst(g, A64_LDR_Q, 0, g->ret_q, "ldr q0 (result slot)");
        int32_t rx = g->ret_x;
        unsigned rbase = slot_base(g, &rx);
        load_norm(g, X0, rbase, rx, conv_of(s->ret), 4);
    } else {
        /* Only a return conversion (or Apple's stack layout) needs the frame. */
        if (!g->normalized)
            for (unsigned i = 0; i < s->nparams; i++)
                if (g->lay.managed[i].kind == CALLI_LOC_GPR)
                    norm_reg(g, g->lay.managed[i].reg, conv_of(s->params[i]));
        copy_stack_args(g);
        E(g, a64_blr(X12));
        enum conv rc = conv_of(s->ret);
        if (rc == CV_BOOL) { /* all 32 bits count */
            E(g, a64_cmp_w_imm(X0, 0));
            E(g, a64_cset_w(X0, A64_NE));
        } else {
            norm_reg(g, X0, rc);
        }
    }

    c->epilogue_start = (uint32_t)c->len;
    if (g->afr) { /* the prologue undone, instruction by instruction */
        E(g, a64_add_imm(SP, SP, g->below - 16));
        uw(g, STUB_UW_FREE, 0, (int32_t)(g->below - 16));
        E(g, a64_ldstp(A64_LDP_X, A64_POST, X20, X19, SP, 16));
        uw(g, STUB_UW_RELOAD, X20, 0);
        uw(g, STUB_UW_RELOAD, X19, 0);
        uw(g, STUB_UW_FREE, 0, 16);
        E(g, a64_ldstp(A64_LDP_X, A64_POST, FP, LR, SP, 16));
        uw(g, STUB_UW_RELOAD, FP, 0);
        uw(g, STUB_UW_RELOAD, LR, 0);
        uw(g, STUB_UW_FREE, 0, 16);
        E(g, a64_ret());
        return;
    }
    if (g->out) {
        E(g, a64_add_imm(SP, SP, g->out));
        uw(g, STUB_UW_FREE, 0, (int32_t)g->out);
    }
    if (g->calls) {
        E(g, a64_ldstp(A64_LDP_X, A64_OFFSET, X19, X20, SP, 16));
        uw(g, STUB_UW_RELOAD, X19, 0);
        uw(g, STUB_UW_RELOAD, X20, 0);
    }
    if (g->F <= 504) {
        E(g, a64_ldstp(A64_LDP_X, A64_POST, FP, LR, SP, (int32_t)g->F));
        uw(g, STUB_UW_RELOAD, FP, 0);
        uw(g, STUB_UW_RELOAD, LR, 0);
        uw(g, STUB_UW_FREE, 0, (int32_t)g->F);
    } else {
        E(g, a64_ldstp(A64_LDP_X, A64_OFFSET, FP, LR, SP, 0));
        uw(g, STUB_UW_RELOAD, FP, 0);
        uw(g, STUB_UW_RELOAD, LR, 0);
        E(g, a64_add_imm(SP, SP, g->F));
        uw(g, STUB_UW_FREE, 0, (int32_t)g->F);
    }
    E(g, a64_ret());
}

enum stub_err stub_gen_aarch64(enum calli_abi abi, const struct calli_sig *sig, int suppress_gc,
                               const struct stub_opts *opts, struct stub_code *out, char *err,
                               size_t errcap)
{
    struct gen g;
    memset(&g, 0, sizeof g);
    g.c = out;
    g.sig = sig;
    g.sgc = suppress_gc != 0;
    g.bti = opts->bti != 0;
    g.apple = abi == CALLI_ABI_APPLE_ARM64;
    if (calli_layout_compute(sig, abi, &g.lay) != 0)
        return stub_fail(err, errcap, STUB_E_SIG, "no arm64 layout for this signature");
    for (unsigned i = 0; i < sig->nparams; i++)
        g.nstr += sig->params[i] == CALLI_T_STRING;
    int rconv = conv_of(sig->ret) != CV_NONE;

    if (g.bti)
        E(&g, a64_bti_c());

    if (g.nstr == 0 && !rconv && stack_in_place(&g.lay)) {
        /* Shapes A and B: normalise in place, tail-branch when nothing
         * else has to happen. */
        normalize_in_place(&g);
        out->tail_call = 1;
        if (g.sgc) {
            tail_branch(&g);
        } else {
            E(&g, a64_ldst(A64_LDR_X, X15, X15, 8));
            E(&g, a64_cbnz_x(X15, g.bti ? 12 : 8));
            tail_branch(&g);
            framed(&g, 1);
        }
    } else {
        framed(&g, 0);
    }

    if (g.err != STUB_OK) {
        if (g.err == STUB_E_ENCODE)
            return stub_fail(err, errcap, STUB_E_ENCODE, "arm64 encoder refused %s", g.what);
        return g.err;
    }
    return STUB_OK;
}

/* stub_x86_64_common.c - see stub_x86_64_common.h. */
#include "stub_x86_64_common.h"

#define REG64(i) x86_reg(x86_gpr((i), 8))
#define REG32(i) x86_reg(x86_gpr((i), 4))
#define REG8(i) x86_reg(x86_gpr((i), 1))
#define MEM(base, disp, size) x86_mem(x86_gpr((base), 8), (disp), (size))

enum x64_conv x64_conv_of(uint8_t t)
{
    switch (t) {
    case CALLI_T_BOOL: return X64_CV_BOOL;
    case CALLI_T_I1: return X64_CV_S8;
    case CALLI_T_U1: return X64_CV_U8;
    case CALLI_T_I2: return X64_CV_S16;
    case CALLI_T_U2: case CALLI_T_CHAR: return X64_CV_U16;
    default: return X64_CV_NONE;
    }
}

void x64_norm_reg(struct x86_asm *a, unsigned r, enum x64_conv cv)
{
    switch (cv) {
    case X64_CV_BOOL: /* test dil, dil; setne dil; movzx edi, dil */
        X86(a, TEST, REG8(r), REG8(r));
        X86(a, SETNZ, REG8(r));
        X86(a, MOVZX, REG32(r), REG8(r));
        break;
    case X64_CV_S8: X86(a, MOVSX, REG32(r), REG8(r)); break;
    case X64_CV_U8: X86(a, MOVZX, REG32(r), REG8(r)); break;
    case X64_CV_S16: X86(a, MOVSX, REG32(r), x86_reg(x86_gpr(r, 2))); break;
    case X64_CV_U16: X86(a, MOVZX, REG32(r), x86_reg(x86_gpr(r, 2))); break;
    case X64_CV_NONE: break;
    }
}

void x64_load_norm(struct x86_asm *a, unsigned dst, unsigned base, int32_t disp,
                   enum x64_conv cv, unsigned bool_width)
{
    switch (cv) {
    case X64_CV_BOOL: /* xor eax, eax; cmp byte [m], 0; setne al */
        X86(a, XOR, REG32(dst), REG32(dst));
        X86(a, CMP, MEM(base, disp, (uint16_t)bool_width), x86_imm(0));
        X86(a, SETNZ, REG8(dst));
        break;
    case X64_CV_S8: X86(a, MOVSX, REG32(dst), MEM(base, disp, 1)); break;
    case X64_CV_U8: X86(a, MOVZX, REG32(dst), MEM(base, disp, 1)); break;
    case X64_CV_S16: X86(a, MOVSX, REG32(dst), MEM(base, disp, 2)); break;
    case X64_CV_U16: X86(a, MOVZX, REG32(dst), MEM(base, disp, 2)); break;
    case X64_CV_NONE: X86(a, MOV, REG64(dst), MEM(base, disp, 8)); break;
    }
}

void x64_norm_ret(struct x86_asm *a, enum x64_conv rc)
{
    if (rc == X64_CV_BOOL) { /* all 32 bits count */
        X86(a, TEST, REG32(X64_RAX), REG32(X64_RAX));
        X86(a, SETNZ, REG8(X64_RAX));
        X86(a, MOVZX, REG32(X64_RAX), REG8(X64_RAX));
    } else {
        x64_norm_reg(a, X64_RAX, rc);
    }
}

void x64_uw(struct x86_asm *a, enum stub_unwind_op op, unsigned reg, int32_t value)
{
    if (a->err == STUB_OK)
        a->err = stub_unwind_add(a->code, op, reg, value);
}

void x64_normalize_in_place(struct x86_asm *a, const struct calli_sig *sig,
                            const struct calli_layout *lay, const uint8_t *argreg,
                            int32_t stack_disp)
{
    for (unsigned i = 0; i < sig->nparams; i++) {
        enum x64_conv cv = x64_conv_of(sig->params[i]);
        const struct calli_loc *m = &lay->managed[i];
        if (cv == X64_CV_NONE)
            continue;
        if (m->kind == CALLI_LOC_GPR) {
            x64_norm_reg(a, argreg[m->reg], cv);
        } else { /* small values are never FP class */
            int32_t d = stack_disp + (int32_t)m->stack_off;
            x64_load_norm(a, X64_RAX, X64_RSP, d, cv, 1);
            X86(a, MOV, MEM(X64_RSP, d, 8), REG64(X64_RAX));
        }
    }
}

void x64_copy_stack_args(struct x86_asm *a, const struct calli_sig *sig,
                         const struct calli_layout *lay, int normalized, unsigned src_base,
                         int32_t src_disp, unsigned dst_base, int32_t dst_disp,
                         unsigned scratch_xmm)
{
    unsigned idx[CALLI_SIG_MAX_PARAMS], n = 0;
    for (unsigned i = 0; i < sig->nparams && i < CALLI_SIG_MAX_PARAMS; i++)
        if (lay->managed[i].kind == CALLI_LOC_STACK && sig->params[i] != CALLI_T_STRING)
            idx[n++] = i;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = idx[k];
        const struct calli_loc *m = &lay->managed[i], *nt = &lay->native[i];
        enum x64_conv cv = normalized ? X64_CV_NONE : x64_conv_of(sig->params[i]);
        int32_t src = src_disp + (int32_t)m->stack_off, dst = dst_disp + (int32_t)nt->stack_off;
        if (k + 1 < n && cv == X64_CV_NONE) {
            unsigned j = idx[k + 1];
            enum x64_conv cvj = normalized ? X64_CV_NONE : x64_conv_of(sig->params[j]);
            if (cvj == X64_CV_NONE && lay->managed[j].stack_off == m->stack_off + 8 &&
                lay->native[j].stack_off == nt->stack_off + 8) {
                X86(a, MOVUPS, x86_reg(x86_xmm(scratch_xmm)), MEM(src_base, src, 16));
                X86(a, MOVUPS, MEM(dst_base, dst, 16), x86_reg(x86_xmm(scratch_xmm)));
                k++;
                continue;
            }
        }
        x64_load_norm(a, X64_RAX, src_base, src, cv, 1);
        X86(a, MOV, MEM(dst_base, dst, 8), REG64(X64_RAX));
    }
}

void x64_gc_service(struct x86_asm *a, int rt_test, unsigned arg_reg, int32_t fn)
{
    struct x86_label skip = {0, ZYDIS_MNEMONIC_JZ};
    if (rt_test) {
        X86(a, TEST, REG64(X64_RBX), REG64(X64_RBX));
        skip = x86_branch_fwd(a, ZYDIS_MNEMONIC_JZ);
    }
    X86(a, MOV, REG64(arg_reg), MEM(X64_RBX, X64_RT_CTX, 8));
    X86(a, CALL, MEM(X64_RBX, fn, 8));
    if (rt_test)
        x86_bind(a, skip);
}

int x64_tail_head(struct x86_asm *a, int sgc)
{
    if (sgc) {
        X86(a, JMP, REG64(X64_R10));
        return 0;
    }
    /* One compare, not `mov r11,[r11+8]; test r11,r11`: one instruction
     * less on the frameless path (the body loads the pointer itself). */
    X86(a, CMP, MEM(X64_R11, X64_COOKIE_RUNTIME, 8), x86_imm(0));
    struct x86_label body = x86_branch_fwd(a, ZYDIS_MNEMONIC_JNZ);
    X86(a, JMP, REG64(X64_R10));
    x86_bind(a, body);
    return 1;
}

/* x86_enc.h - a thin layer over the Zydis 4 encoder for the x86-64 stub
 * generators: operand constructors, append-to-stub emission with sticky
 * error reporting, and short forward branches. Every byte of a stub comes
 * from ZydisEncoderEncodeInstruction. */
#ifndef CALLIRW_X86_ENC_H
#define CALLIRW_X86_ENC_H

#include <Zydis/Zydis.h>

#include "stub_int.h"

struct x86_asm {
    struct stub_code *code;
    enum stub_err err; /* first failure; later emissions are no-ops */
    char what[96];     /* the instruction that failed */
};

typedef ZydisEncoderOperand x86_op;

x86_op x86_reg(ZydisRegister r);
/* [base + disp], size bytes (1, 2, 4, 8, 16). */
x86_op x86_mem(ZydisRegister base, int32_t disp, uint16_t size);
x86_op x86_imm(int64_t v);

/* Encode one instruction and append it. */
void x86_emit(struct x86_asm *a, ZydisMnemonic m, unsigned nops, const x86_op *ops);
#define X86_OPS_(...) (const x86_op[]){__VA_ARGS__}
#define X86_N_(...) (sizeof(X86_OPS_(__VA_ARGS__)) / sizeof(x86_op))
#define X86(a, mnem, ...) x86_emit((a), ZYDIS_MNEMONIC_##mnem, X86_N_(__VA_ARGS__), X86_OPS_(__VA_ARGS__))
#define X86_0(a, mnem) x86_emit((a), ZYDIS_MNEMONIC_##mnem, 0, 0)

/* A short (rel8) forward branch whose target is bound later. */
struct x86_label {
    size_t at;       /* offset of the branch instruction */
    ZydisMnemonic m; /* JZ, JNZ, JMP */
};
struct x86_label x86_branch_fwd(struct x86_asm *a, ZydisMnemonic m);
/* Make the branch land at the current end of the code. */
void x86_bind(struct x86_asm *a, struct x86_label l);

/* General-purpose register `index` (0 rax ... 15 r15, hardware order) at a
 * width of 1, 2, 4 or 8 bytes; XMM register `index`. */
ZydisRegister x86_gpr(unsigned index, unsigned width);
ZydisRegister x86_xmm(unsigned index);

#endif

/* x86_enc.c - see x86_enc.h. */
#include <stdio.h>
#include <string.h>

#include "x86_enc.h"

x86_op x86_reg(ZydisRegister r)
{
    x86_op o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_REGISTER;
    o.reg.value = r;
    return o;
}

x86_op x86_mem(ZydisRegister base, int32_t disp, uint16_t size)
{
    x86_op o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_MEMORY;
    o.mem.base = base;
    o.mem.index = ZYDIS_REGISTER_NONE;
    o.mem.displacement = disp;
    o.mem.size = size;
    return o;
}

x86_op x86_imm(int64_t v)
{
    x86_op o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    o.imm.s = v;
    return o;
}

static size_t encode(struct x86_asm *a, ZydisMnemonic m, unsigned nops, const x86_op *ops,
                     ZydisBranchType bt, ZydisBranchWidth bw, uint8_t *buf)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.branch_type = bt;
    req.branch_width = bw;
    req.operand_count = (ZyanU8)nops;
    for (unsigned i = 0; i < nops && i < ZYDIS_ENCODER_MAX_OPERANDS; i++)
        req.operands[i] = ops[i];
    ZyanUSize len = ZYDIS_MAX_INSTRUCTION_LENGTH;
    if (nops > ZYDIS_ENCODER_MAX_OPERANDS ||
        !ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &len))) {
        if (a->err == STUB_OK) {
            a->err = STUB_E_ENCODE;
            snprintf(a->what, sizeof a->what, "%s with %u operands",
                     ZydisMnemonicGetString(m), nops);
        }
        return 0;
    }
    return len;
}

static void append(struct x86_asm *a, const uint8_t *buf, size_t len)
{
    if (a->err == STUB_OK && len)
        a->err = stub_code_append(a->code, buf, len);
}

void x86_emit(struct x86_asm *a, ZydisMnemonic m, unsigned nops, const x86_op *ops)
{
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    if (a->err != STUB_OK)
        return;
    append(a, buf, encode(a, m, nops, ops, ZYDIS_BRANCH_TYPE_NONE, ZYDIS_BRANCH_WIDTH_NONE, buf));
}

struct x86_label x86_branch_fwd(struct x86_asm *a, ZydisMnemonic m)
{
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    struct x86_label l = {a->code->len, m};
    x86_op disp = x86_imm(0);
    if (a->err == STUB_OK)
        append(a, buf, encode(a, m, 1, &disp, ZYDIS_BRANCH_TYPE_SHORT, ZYDIS_BRANCH_WIDTH_8, buf));
    return l;
}

void x86_bind(struct x86_asm *a, struct x86_label l)
{
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    if (a->err != STUB_OK)
        return;
    /* Re-encode the branch in place with its now-known displacement; a
     * short branch is 2 bytes whatever the displacement. */
    int64_t disp = (int64_t)a->code->len - (int64_t)(l.at + 2);
    if (disp > 127) {
        a->err = STUB_E_ENCODE;
        snprintf(a->what, sizeof a->what, "short branch over %lld bytes", (long long)disp);
        return;
    }
    x86_op op = x86_imm(disp);
    size_t len = encode(a, l.m, 1, &op, ZYDIS_BRANCH_TYPE_SHORT, ZYDIS_BRANCH_WIDTH_8, buf);
    if (len != 2) {
        if (a->err == STUB_OK) {
            a->err = STUB_E_ENCODE;
            snprintf(a->what, sizeof a->what, "short branch of %zu bytes", len);
        }
        return;
    }
    memcpy(a->code->bytes + l.at, buf, len);
}

ZydisRegister x86_gpr(unsigned index, unsigned width)
{
    static const ZydisRegister r8[16] = {
        ZYDIS_REGISTER_AL, ZYDIS_REGISTER_CL, ZYDIS_REGISTER_DL, ZYDIS_REGISTER_BL,
        ZYDIS_REGISTER_SPL, ZYDIS_REGISTER_BPL, ZYDIS_REGISTER_SIL, ZYDIS_REGISTER_DIL,
        ZYDIS_REGISTER_R8B, ZYDIS_REGISTER_R9B, ZYDIS_REGISTER_R10B, ZYDIS_REGISTER_R11B,
        ZYDIS_REGISTER_R12B, ZYDIS_REGISTER_R13B, ZYDIS_REGISTER_R14B, ZYDIS_REGISTER_R15B};
    static const ZydisRegister r16[16] = {
        ZYDIS_REGISTER_AX, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_DX, ZYDIS_REGISTER_BX,
        ZYDIS_REGISTER_SP, ZYDIS_REGISTER_BP, ZYDIS_REGISTER_SI, ZYDIS_REGISTER_DI,
        ZYDIS_REGISTER_R8W, ZYDIS_REGISTER_R9W, ZYDIS_REGISTER_R10W, ZYDIS_REGISTER_R11W,
        ZYDIS_REGISTER_R12W, ZYDIS_REGISTER_R13W, ZYDIS_REGISTER_R14W, ZYDIS_REGISTER_R15W};
    static const ZydisRegister r32[16] = {
        ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_EBX,
        ZYDIS_REGISTER_ESP, ZYDIS_REGISTER_EBP, ZYDIS_REGISTER_ESI, ZYDIS_REGISTER_EDI,
        ZYDIS_REGISTER_R8D, ZYDIS_REGISTER_R9D, ZYDIS_REGISTER_R10D, ZYDIS_REGISTER_R11D,
        ZYDIS_REGISTER_R12D, ZYDIS_REGISTER_R13D, ZYDIS_REGISTER_R14D, ZYDIS_REGISTER_R15D};
    static const ZydisRegister r64[16] = {
        ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
        ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI,
        ZYDIS_REGISTER_R8, ZYDIS_REGISTER_R9, ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11,
        ZYDIS_REGISTER_R12, ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15};
    index &= 15;
    switch (width) {
    case 1: return r8[index];
    case 2: return r16[index];
    case 4: return r32[index];
    default: return r64[index];
    }
}

ZydisRegister x86_xmm(unsigned index)
{
    return (ZydisRegister)(ZYDIS_REGISTER_XMM0 + (index & 15));
}

/* gen_stubs.c - the host half of check-stub-win64 (tests/stub_win/rules.mk).
 *
 *   gen_stubs STUBS.bin SEH.S SEH.xdata
 *
 * Generates the Microsoft x64 stubs that stub_win_test.exe runs under wine
 * (Zydis, which the generator needs, is not available for mingw): edge
 * signatures in every combination of suppress-gc and IBT, signatures of 64
 * parameters, and random signatures of 0-20 parameters from a fixed seed.
 * Every stub is checked statically here, by decoding it again with Zydis:
 *
 *   - generation is deterministic;
 *   - memory operands are rsp-, rbx- or r11-relative (r11: only [r11+8]);
 *   - rbp, rsi, rdi, r12-r15 and xmm6-15 (callee-saved on Win64, except
 *     rbx, which is pushed first) are never named;
 *   - branches stay inside the stub; the only indirect jump is `jmp r10`,
 *     the only calls `call r10`, `call [rsp+d]` and the services
 *     `call [rbx+16|24|32|40]`, each with rsp 16-byte aligned;
 *   - the stub ends in `ret` (framed) or `jmp r10`, and nothing follows
 *     the one `ret`;
 *   - the prologue is pushes then `sub rsp, N`; the epilogue is the
 *     canonical `add rsp, N; pop...; ret` (the bytes the Windows unwinder
 *     matches: 48 83/81 C4, 5x / 41 5x, C3);
 *   - the unwind description is exactly what the decoded instructions do,
 *     balances, and matches frame_size;
 *   - stub_win64_unwind_info accepts it.
 *
 * STUBS.bin: "CRWSTUBW", u32 version 1, then per stub (little-endian)
 *   u8 kind (0 edge, 1 random, 2 64 parameters), u8 ret, u8 nparams,
 *   u8 sgc, u8 ibt, u8 has_frame, u8 tail_call, u8 0,
 *   u32 frame_start, prologue_end, epilogue_start, frame_size, saved_regs,
 *   u32 len, u32 uwlen, u32 ninsn,
 *   u8 params[nparams], u8 code[len], u8 unwind_info[uwlen],
 *   u16 insn_start[ninsn].
 *
 * SEH.S / SEH.xdata: the oracle for stub_win64_unwind_info. SEH.S holds, for
 * every framed edge stub, one random stub in four and a few hand-made
 * descriptions covering every unwind code (SET_FPREG, SAVE_NONVOL and its
 * FAR form, both ALLOC_LARGE forms, eight pushes), a function made of the
 * stub's bytes from frame_start with the equivalent .seh_* directives at the
 * offsets of its unwind steps. The rule assembles it with mingw's assembler
 * and compares the .xdata section it produces with SEH.xdata, which is what
 * stub_win64_unwind_info wrote for the same stubs, in the same order.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>

#include "calli_layout.h"
#include "calli_sig.h"
#include "stub.h"

static const char *cur;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "gen_stubs: %s: ", cur ? cur : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

/* ---------------------------------------------------------------------------
 * Random signatures (splitmix64, fixed seed).
 */
static uint64_t rng_state = 0x3517ab1e64ull;

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

static void rnd_sig(struct calli_sig *s)
{
    memset(s, 0, sizeof *s);
    s->callconv = 9;
    do
        s->ret = rndn(8) == 0 ? CALLI_T_VOID : param_types[rndn(NPARAM_TYPES)];
    while (s->ret == CALLI_T_STRING);
    unsigned r = rndn(10);
    s->nparams = (uint16_t)(r < 5 ? rndn(5) : r < 8 ? 5 + rndn(6) : 11 + rndn(10)); /* 0-20 */
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
    uint8_t p[24];
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
    /* the first string not in rcx; FP arguments by position */
    {I4, 3, {I4, B, S}},
    {R4, 4, {R8, I4, R4, B}},
    {I8, 4, {I4, R8, S, R4}},
    /* exactly one stack argument of each kind */
    {I8, 5, {I8, R8, I8, R8, B}},
    {R8, 5, {R8, R8, R8, R8, R8}},
    {V, 5, {S, S, S, S, S}},
    /* every register, then the stack, of every kind */
    {B, 20, {I4, R8, U1, R4, I2, R8, C_, R4, S, R8, B, R8, R4, I1, R8, B, U2, R4, S, I8}},
    /* small integers on the stack, normalised in place */
    {I8, 18, {B, I1, U1, I2, U2, C_, B, I1, U1, I2, U2, C_, B, I1, U1, I2, U2, C_}},
    /* doubles on the stack, pairs copied together */
    {R4, 14, {R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8, R8}},
    /* strings on the stack */
    {U2, 9, {S, S, S, S, S, S, S, S, S}},
};

/* ---------------------------------------------------------------------------
 * Static checks.
 */
static int forbidden(ZydisRegister r)
{
    if (r >= ZYDIS_REGISTER_XMM6 && r <= ZYDIS_REGISTER_XMM15)
        return 1;
    if (r >= ZYDIS_REGISTER_YMM0 && r <= ZYDIS_REGISTER_ZMM31)
        return 1;
    if (r >= ZYDIS_REGISTER_XMM16 && r <= ZYDIS_REGISTER_XMM31)
        return 1;
    ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    return big == ZYDIS_REGISTER_RBP || big == ZYDIS_REGISTER_RSI || big == ZYDIS_REGISTER_RDI ||
           (big >= ZYDIS_REGISTER_R12 && big <= ZYDIS_REGISTER_R15);
}

static unsigned hw(ZydisRegister r)
{
    return (unsigned)(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r) -
                      ZYDIS_REGISTER_RAX);
}

/* Decode c, check it, and fill starts[] (instruction offsets). */
static size_t check_code(const struct stub_code *c, int ibt, uint16_t *starts, size_t cap)
{
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    struct stub_unwind_step want[64];
    size_t nw = 0, n = 0;
    int64_t depth = 0, max_depth = 0; /* bytes below the return address */
    int rbx_saved = 0, nret = 0, last_ret = 0, last_jmp = 0, in_prologue = 0;
    unsigned pushes[16], npush = 0;
    size_t off = 0;
    CHECK(c->len > 0 && c->len < 65536, "length %zu", c->len);
    while (off < c->len) {
        ZydisDecodedInstruction ins;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        CHECK(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, c->bytes + off, c->len - off, &ins, ops)),
              "undecodable byte at +%zu", off);
        CHECK(n < cap, "too many instructions");
        starts[n++] = (uint16_t)off;
        CHECK(n > 1 || !ibt || ins.mnemonic == ZYDIS_MNEMONIC_ENDBR64,
              "IBT stub does not start with endbr64");
        CHECK(nret == 0, "code after the ret at +%zu", off);
        if (off == c->frame_start && c->has_frame)
            in_prologue = 1;
        if (off == c->prologue_end)
            in_prologue = 0;
        uint32_t end = (uint32_t)(off + ins.length);
        for (unsigned i = 0; i < ins.operand_count; i++) {
            const ZydisDecodedOperand *op = &ops[i];
            if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
                CHECK(!forbidden(op->reg.value), "%s named at +%zu",
                      ZydisRegisterGetString(op->reg.value), off);
                if (hw(op->reg.value) == 3 && (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
                    ins.mnemonic != ZYDIS_MNEMONIC_POP)
                    CHECK(rbx_saved, "rbx written at +%zu before it is pushed", off);
            }
            if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.type == ZYDIS_MEMOP_TYPE_MEM &&
                op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
                ZydisRegister b = op->mem.base;
                CHECK(op->mem.index == ZYDIS_REGISTER_NONE &&
                          (b == ZYDIS_REGISTER_RSP || b == ZYDIS_REGISTER_RBX ||
                           (b == ZYDIS_REGISTER_R11 && op->mem.disp.value == 8)),
                      "memory operand at +%zu is not rsp/rbx/[r11+8]-relative", off);
            }
            if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op->imm.is_relative) {
                int64_t dst = (int64_t)end + op->imm.value.s;
                CHECK(dst > (int64_t)off && dst < (int64_t)c->len, "branch at +%zu leaves", off);
            }
        }
        last_ret = ins.mnemonic == ZYDIS_MNEMONIC_RET;
        last_jmp = ins.mnemonic == ZYDIS_MNEMONIC_JMP && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                   ops[0].reg.value == ZYDIS_REGISTER_R10;
        nret += last_ret;
        if (ins.mnemonic == ZYDIS_MNEMONIC_JMP)
            CHECK(last_jmp || ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE,
                  "indirect jump other than jmp r10 at +%zu", off);
        if (ins.mnemonic == ZYDIS_MNEMONIC_CALL) {
            const ZydisDecodedOperand *t = &ops[0];
            int ok = (t->type == ZYDIS_OPERAND_TYPE_REGISTER && t->reg.value == ZYDIS_REGISTER_R10) ||
                     (t->type == ZYDIS_OPERAND_TYPE_MEMORY && t->mem.base == ZYDIS_REGISTER_RSP) ||
                     (t->type == ZYDIS_OPERAND_TYPE_MEMORY && t->mem.base == ZYDIS_REGISTER_RBX &&
                      (t->mem.disp.value == 16 || t->mem.disp.value == 24 ||
                       t->mem.disp.value == 32 || t->mem.disp.value == 40));
            CHECK(ok, "unexpected call at +%zu", off);
            CHECK((8 + depth) % 16 == 0, "call at +%zu with rsp misaligned by %lld", off,
                  (long long)((8 + depth) % 16));
            CHECK(c->has_frame, "a call in a frameless stub");
        }
#define STEP(op_, reg_, val_)                                                           \
    do {                                                                                \
        CHECK(nw < 64, "too many unwind steps");                                        \
        want[nw++] = (struct stub_unwind_step){.pc_off = end, .op = (op_), .reg = (reg_), \
                                               .value = (val_)};                       \
    } while (0)
        /* What the instruction does to rsp. */
        int writes_rsp = 0;
        for (unsigned i = 0; i < ins.operand_count; i++)
            if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[i].reg.value == ZYDIS_REGISTER_RSP &&
                (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
                writes_rsp = 1;
        if (ins.mnemonic == ZYDIS_MNEMONIC_PUSH) {
            CHECK(in_prologue && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && npush < 16,
                  "push outside the prologue at +%zu", off);
            pushes[npush++] = hw(ops[0].reg.value);
            rbx_saved |= hw(ops[0].reg.value) == 3;
            depth += 8;
            STEP(STUB_UW_PUSH, hw(ops[0].reg.value), 0);
        } else if (ins.mnemonic == ZYDIS_MNEMONIC_POP) {
            CHECK(off >= c->epilogue_start && npush > 0 && hw(ops[0].reg.value) == pushes[npush - 1],
                  "pop at +%zu is not the epilogue's", off);
            npush--;
            depth -= 8;
            STEP(STUB_UW_POP, hw(ops[0].reg.value), 0);
        } else if ((ins.mnemonic == ZYDIS_MNEMONIC_SUB || ins.mnemonic == ZYDIS_MNEMONIC_ADD) &&
                   ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                   ops[0].reg.value == ZYDIS_REGISTER_RSP) {
            CHECK(ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE, "rsp changed by a register");
            int32_t v = (int32_t)ops[1].imm.value.s;
            if (ins.mnemonic == ZYDIS_MNEMONIC_SUB) {
                CHECK(in_prologue, "sub rsp outside the prologue at +%zu", off);
                depth += v;
                STEP(STUB_UW_ALLOC, 0, v);
            } else {
                CHECK(off == c->epilogue_start, "add rsp at +%zu is not the epilogue's start", off);
                /* the form the unwinder matches: REX.W 83/81 /0 with rsp */
                CHECK(c->bytes[off] == 0x48 && (c->bytes[off + 1] == 0x83 || c->bytes[off + 1] == 0x81) &&
                          c->bytes[off + 2] == 0xc4, "non-canonical add rsp at +%zu", off);
                depth -= v;
                STEP(STUB_UW_FREE, 0, v);
            }
        } else {
            CHECK(!writes_rsp || ins.mnemonic == ZYDIS_MNEMONIC_CALL || ins.mnemonic == ZYDIS_MNEMONIC_RET ||
                      ins.mnemonic == ZYDIS_MNEMONIC_JMP,
                  "rsp written at +%zu", off);
            CHECK(!in_prologue, "%s in the prologue at +%zu", ZydisMnemonicGetString(ins.mnemonic), off);
            if (off >= c->epilogue_start && c->has_frame)
                CHECK(ins.mnemonic == ZYDIS_MNEMONIC_RET && npush == 0 && depth == 0,
                      "%s in the epilogue at +%zu", ZydisMnemonicGetString(ins.mnemonic), off);
        }
#undef STEP
        if (depth > max_depth)
            max_depth = depth;
        off = end;
    }
    CHECK(c->has_frame ? last_ret && nret == 1 : last_jmp && nret == 0, "stub does not end in %s",
          c->has_frame ? "ret" : "jmp r10");
    CHECK(depth == 0, "the stack does not balance");
    CHECK(nw == c->nunwind, "%zu unwind steps, the code does %zu", c->nunwind, nw);
    for (size_t k = 0; k < nw; k++) {
        const struct stub_unwind_step *u = &c->unwind[k], *x = &want[k];
        CHECK(u->pc_off == x->pc_off && u->op == x->op && u->reg == x->reg && u->value == x->value,
              "unwind step %zu: pc +%u op %u reg %u value %d; the code does pc +%u op %u reg %u "
              "value %d", k, u->pc_off, u->op, u->reg, u->value, x->pc_off, x->op, x->reg, x->value);
    }
    if (c->has_frame) {
        CHECK(c->frame_size == 8 + max_depth && c->frame_size % 16 == 0, "frame_size %u, the code "
              "keeps %lld", c->frame_size, (long long)(8 + max_depth));
        CHECK(c->frame_start < c->prologue_end && c->prologue_end <= c->epilogue_start &&
                  c->epilogue_start < c->len, "frame offsets");
        CHECK(c->saved_regs == (rbx_saved ? 1u << 3 : 0), "saved_regs 0x%x", c->saved_regs);
    } else {
        CHECK(c->nunwind == 0 && max_depth == 0, "frameless stub with a frame");
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * Output.
 */
static FILE *fbin, *fasm, *fxdata;
static unsigned nseh, counts[3];

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const char *const regname[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static void asm_bytes(const uint8_t *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        fprintf(fasm, "%s0x%02x%s", (i - from) % 16 == 0 ? "    .byte " : "", b[i],
                i + 1 == to || (i - from) % 16 == 15 ? "\n" : ", ");
}

/* The stub as a function with .seh_* directives, and its UNWIND_INFO as
 * stub_win64_unwind_info writes it. */
static void emit_seh(const struct stub_code *c)
{
    uint8_t uw[4 + 2 * 256];
    size_t uwlen;
    CHECK(stub_win64_unwind_info(c, uw, sizeof uw, &uwlen) == STUB_OK, "unwind info");
    fprintf(fasm, "\n    .p2align 4\nseh_%u:\n    .seh_proc seh_%u\n", nseh, nseh);
    size_t at = c->frame_start;
    for (size_t k = 0; k < c->nunwind && c->unwind[k].pc_off <= c->prologue_end; k++) {
        const struct stub_unwind_step *u = &c->unwind[k];
        asm_bytes(c->bytes, at, u->pc_off);
        at = u->pc_off;
        switch (u->op) {
        case STUB_UW_PUSH: fprintf(fasm, "    .seh_pushreg %s\n", regname[u->reg & 15]); break;
        case STUB_UW_ALLOC: fprintf(fasm, "    .seh_stackalloc %d\n", u->value); break;
        case STUB_UW_SET_FP: fprintf(fasm, "    .seh_setframe %s, %d\n", regname[u->reg & 15], u->value); break;
        case STUB_UW_SAVE: fprintf(fasm, "    .seh_savereg %s, %d\n", regname[u->reg & 15], u->value); break;
        default: die("prologue step %u", u->op);
        }
    }
    asm_bytes(c->bytes, at, c->prologue_end);
    fprintf(fasm, "    .seh_endprologue\n");
    asm_bytes(c->bytes, c->prologue_end, c->len);
    fprintf(fasm, "    .seh_endproc\n");
    fwrite(uw, 1, uwlen, fxdata);
    nseh++;
}

static void emit(unsigned kind, const struct calli_sig *s, int sgc, int ibt, int seh)
{
    static char key[CALLI_SIG_TEXT_MAX + 32];
    static uint16_t starts[65536];
    char err[200];
    struct stub_code c, d;
    struct stub_opts so = {.ibt = ibt};
    calli_sig_key(s, sgc, key, sizeof key);
    if (ibt)
        strcat(key, " (ibt)");
    cur = key;
    CHECK(stub_generate(CALLI_ABI_WIN_X64, s, sgc, &so, &c, err, sizeof err) == STUB_OK,
          "stub_generate: %s", err);
    CHECK(stub_generate(CALLI_ABI_WIN_X64, s, sgc, &so, &d, err, sizeof err) == STUB_OK &&
              d.len == c.len && !memcmp(c.bytes, d.bytes, c.len) && d.nunwind == c.nunwind &&
              (c.nunwind == 0 || !memcmp(c.unwind, d.unwind, c.nunwind * sizeof *c.unwind)),
          "generation is not deterministic");
    stub_code_free(&d);
    size_t ninsn = check_code(&c, ibt, starts, sizeof starts / sizeof starts[0]);
    uint8_t uw[4 + 2 * 256];
    size_t uwlen = 0;
    CHECK(stub_win64_unwind_info(&c, uw, sizeof uw, &uwlen) == STUB_OK, "stub_win64_unwind_info");
    CHECK(uwlen >= 4 && uw[1] == (c.has_frame ? c.prologue_end - c.frame_start : 0),
          "SizeOfProlog %u", uw[1]);
    if (seh && c.has_frame)
        emit_seh(&c);

    uint8_t h[8 + 4 * 8];
    memset(h, 0, sizeof h);
    h[0] = (uint8_t)kind;
    h[1] = s->ret;
    h[2] = (uint8_t)s->nparams;
    h[3] = (uint8_t)sgc;
    h[4] = (uint8_t)ibt;
    h[5] = (uint8_t)c.has_frame;
    h[6] = (uint8_t)c.tail_call;
    put32(h + 8, c.frame_start);
    put32(h + 12, c.prologue_end);
    put32(h + 16, c.epilogue_start);
    put32(h + 20, c.frame_size);
    put32(h + 24, c.saved_regs);
    put32(h + 28, (uint32_t)c.len);
    put32(h + 32, (uint32_t)uwlen);
    put32(h + 36, (uint32_t)ninsn);
    fwrite(h, 1, sizeof h, fbin);
    fwrite(s->params, 1, s->nparams, fbin);
    fwrite(c.bytes, 1, c.len, fbin);
    fwrite(uw, 1, uwlen, fbin);
    for (size_t i = 0; i < ninsn; i++) {
        uint8_t b[2] = {(uint8_t)starts[i], (uint8_t)(starts[i] >> 8)};
        fwrite(b, 1, 2, fbin);
    }
    counts[kind]++;
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

/* Hand-made unwind descriptions beyond what the generator emits today:
 * every unwind code, on dummy code (nops) of the right lengths. */
struct hstep {
    uint32_t pc;
    uint8_t op, reg;
    int32_t value;
};

static void emit_hand(const char *name, uint32_t prologue_end, uint32_t len,
                      const struct hstep *st, size_t n)
{
    static uint8_t nops[256];
    struct stub_code c;
    memset(&c, 0, sizeof c);
    memset(nops, 0x90, sizeof nops);
    cur = name;
    CHECK(len <= sizeof nops && n <= 32, "hand-made description too large");
    struct stub_unwind_step u[32];
    for (size_t i = 0; i < n; i++)
        u[i] = (struct stub_unwind_step){.pc_off = st[i].pc, .op = st[i].op, .reg = st[i].reg,
                                         .value = st[i].value};
    c.abi = CALLI_ABI_WIN_X64;
    c.bytes = nops;
    c.len = len;
    c.has_frame = 1;
    c.frame_start = 0;
    c.prologue_end = prologue_end;
    c.epilogue_start = prologue_end + 1;
    c.unwind = u;
    c.nunwind = n;
    emit_seh(&c);
}

enum { PU = STUB_UW_PUSH, AL = STUB_UW_ALLOC, FP = STUB_UW_SET_FP, SV = STUB_UW_SAVE,
       FR = STUB_UW_FREE, SF = STUB_UW_SP_FROM_FP, PO = STUB_UW_POP };

static void hand_made(void)
{
    /* eight pushes, a 16-bit ALLOC_LARGE, a frame pointer at rsp+128;
     * epilogue lea rsp, [rbp+0xf80] */
    static const struct hstep a[] = {
        {1, PU, 5, 0}, {2, PU, 3, 0}, {3, PU, 6, 0}, {4, PU, 7, 0}, {6, PU, 12, 0},
        {8, PU, 13, 0}, {10, PU, 14, 0}, {12, PU, 15, 0}, {19, AL, 0, 0x1000},
        {27, FP, 5, 128},
        {40, SF, 5, 0x1000 - 128}, {42, PO, 15, 0}, {44, PO, 14, 0}, {46, PO, 13, 0},
        {48, PO, 12, 0}, {49, PO, 7, 0}, {50, PO, 6, 0}, {51, PO, 3, 0}, {52, PO, 5, 0}};
    emit_hand("hand: pushes, ALLOC_LARGE, SET_FPREG", 27, 53, a, sizeof a / sizeof a[0]);
    /* a 32-bit ALLOC_LARGE, SAVE_NONVOL and SAVE_NONVOL_FAR */
    static const struct hstep b[] = {
        {7, AL, 0, 600000}, {12, SV, 3, 0x10}, {20, SV, 6, 0x80000},
        {25, STUB_UW_RELOAD, 3, 0}, {28, STUB_UW_RELOAD, 6, 0}, {35, FR, 0, 600000}};
    emit_hand("hand: ALLOC_LARGE 32-bit, SAVE_NONVOL(_FAR)", 20, 36, b, sizeof b / sizeof b[0]);
    /* the ALLOC_SMALL / ALLOC_LARGE boundary, and a frame offset of 240 */
    static const struct hstep c[] = {
        {1, PU, 5, 0}, {5, AL, 0, 128}, {10, FP, 5, 0}, {12, FR, 0, 128}, {13, PO, 5, 0}};
    emit_hand("hand: ALLOC_SMALL 128", 10, 14, c, sizeof c / sizeof c[0]);
    static const struct hstep d[] = {
        {2, PU, 13, 0}, {9, AL, 0, 256}, {14, FP, 13, 240}, {20, SF, 13, 16}, {22, PO, 13, 0}};
    emit_hand("hand: ALLOC_LARGE 136, frame offset 240", 14, 23, d, sizeof d / sizeof d[0]);
    /* pushes only */
    static const struct hstep e[] = {{1, PU, 3, 0}, {2, PU, 6, 0}, {5, PO, 6, 0}, {6, PO, 3, 0}};
    emit_hand("hand: pushes only", 2, 7, e, sizeof e / sizeof e[0]);
}

#define NRANDOM 6000

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gen_stubs STUBS.bin SEH.S SEH.xdata\n");
        return 2;
    }
    fbin = fopen(argv[1], "wb");
    fasm = fopen(argv[2], "w");
    fxdata = fopen(argv[3], "wb");
    if (!fbin || !fasm || !fxdata) {
        perror("gen_stubs");
        return 1;
    }
    fwrite("CRWSTUBW\1\0\0\0", 1, 12, fbin);
    fprintf(fasm, "/* Generated by tests/stub_win/gen_stubs.c: stubs with the .seh_* directives\n"
                  " * equivalent to their unwind descriptions (see there). */\n"
                  "    .intel_syntax noprefix\n    .text\n");

    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++) {
        struct calli_sig s = mk(edge[e].ret, edge[e].n, edge[e].p);
        for (int v = 0; v < 4; v++)
            emit(0, &s, v & 1, v >> 1, 1);
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
        emit(2, &s, 0, 0, 1);
        emit(2, &s, 1, 0, 1);
    }
    for (unsigned n = 0; n < NRANDOM; n++) {
        struct calli_sig s;
        rnd_sig(&s);
        int sgc = (int)rndn(2), ibt = rndn(8) == 0;
        emit(1, &s, sgc, ibt, rndn(2) == 0);
    }
    hand_made();
    cur = "output";
    CHECK(!ferror(fbin) && !ferror(fasm) && !ferror(fxdata) && !fclose(fbin) && !fclose(fasm) &&
              !fclose(fxdata), "write error");
    printf("gen_stubs: %u edge, %u random, %u 64-parameter stubs checked statically; %u "
           "functions with .seh_* directives\n", counts[0], counts[1], counts[2], nseh);
    return 0;
}

/* a64_dec.h - a small, table-driven AArch64 decoder: exactly what the
 * arm64 scanner (scan_aarch64.c) needs, nothing more.
 *
 * Every 32-bit word gets an answer:
 *  - its class (enum a64_op): the branches (with their targets), ADRP, ADR,
 *    ADD (immediate), LDR (unsigned offset), LDR (literal), MOVZ/MOVN/MOVK
 *    and ORR-as-MOV are decoded field by field; everything else is OTHER
 *    (or UNDEF: permanently undefined / unallocated, never falls through;
 *    BRANCH_UNKNOWN: something in the branch/system space we do not know,
 *    which the scanner treats like an indirect jump);
 *  - the set of general registers x0-x30 it may write (a64_insn.writes).
 *    This answer is conservative for every encoding: where an encoding
 *    group is not decoded precisely, every register field it could name is
 *    in the set. Register 31 (SP / XZR) is never in the set.
 *
 * docs/scan.md section 7 explains why this is a hand-written table and not
 * Capstone. tests/unit/test_a64_dec.c checks it against
 * aarch64-linux-gnu-objdump on a committed table of encodings.
 */
#ifndef CALLIRW_A64_DEC_H
#define CALLIRW_A64_DEC_H

#include <stddef.h>
#include <stdint.h>

enum a64_op {
    A64_OTHER = 0,      /* not one of the classes below; see writes */
    A64_UNDEF,          /* UDF, unallocated: never falls through */
    A64_BRANCH_UNKNOWN, /* branch/exception/system space, not decoded: may
                           transfer control anywhere */
    A64_B,              /* B imm26 */
    A64_BL,             /* BL imm26 */
    A64_BCOND,          /* B.cond / BC.cond imm19 */
    A64_CBZ,            /* CBZ / CBNZ imm19 (A64_F_NEG: CBNZ) */
    A64_TBZ,            /* TBZ / TBNZ imm14 (A64_F_NEG: TBNZ) */
    A64_BR,             /* BR Xn; BRAA/BRAB/BRAAZ/BRABZ (A64_F_PAC) */
    A64_BLR,            /* BLR Xn; BLRAA/BLRAB/BLRAAZ/BLRABZ (A64_F_PAC) */
    A64_RET,            /* RET Xn; RETAA/RETAB (A64_F_PAC) */
    A64_ERET,           /* ERET, ERETAA, ERETAB, DRPS */
    A64_TRAP,           /* BRK, HLT, DCPS1-3, TCANCEL: do not fall through */
    A64_SVC,            /* SVC, HVC, SMC: fall through, may write x0-x17 */
    A64_HINT,           /* the hint space: NOP, BTI, PAC hints, ... */
    A64_ADRP,           /* ADRP Xd, page */
    A64_ADR,            /* ADR Xd, label */
    A64_ADD_IMM,        /* ADD Rd|SP, Rn|SP, #imm12 {, LSL #12} (32- and 64-bit) */
    A64_LDR_UIMM,       /* LDR Wt/Xt, [Xn|SP, #uimm] (unsigned offset) */
    A64_LDR_LIT,        /* LDR Wt/Xt, label */
    A64_MOVZ,
    A64_MOVN,
    A64_MOVK,
    A64_MOV_REG,        /* ORR Rd, ZR, Rm (no shift): MOV Rd, Rm */
};

#define A64_F_END 0x01u    /* does not fall through (B, BR, RET, ERET, traps, UNDEF,
                              BRANCH_UNKNOWN) */
#define A64_F_CALL 0x02u   /* BL, BLR*: control returns after it */
#define A64_F_TARGET 0x04u /* imm is a branch target (B, BL, B.cond, CBZ, TBZ) */
#define A64_F_PAC 0x08u    /* the pointer-authenticating variant (BRAA, RETAB, ...) */
#define A64_F_NEG 0x10u    /* CBNZ, TBNZ */
#define A64_F_BTI 0x20u    /* a BTI landing pad (HINT) */
#define A64_F_CONSERVATIVE 0x40u /* writes is an over-approximation (a group not
                                    decoded exactly) */

struct a64_insn {
    uint32_t word;
    uint8_t op;      /* enum a64_op */
    uint8_t flags;   /* A64_F_* */
    uint8_t rd;      /* bits 4:0 (Rd / Rt) */
    uint8_t rn;      /* bits 9:5 */
    uint8_t rm;      /* bits 20:16 (MOV Rm); BRAA/BLRAA: the modifier (bits 4:0) */
    uint8_t sf;      /* 1: 64-bit form (X registers) */
    uint8_t cond;    /* B.cond */
    uint8_t bit;     /* TBZ/TBNZ: the tested bit */
    uint8_t shift;   /* MOVZ/MOVN/MOVK: 0, 16, 32, 48; ADD: 0 or 12 */
    int64_t imm;     /* B, BL, B.cond, CBZ, TBZ, ADR, LDR literal: byte offset
                        from the instruction; ADRP: byte offset of the page from
                        the instruction's page (a multiple of 4096); ADD: imm12
                        (unshifted); LDR uimm: byte offset (scaled);
                        MOVZ/MOVN/MOVK: imm16 */
    uint32_t writes; /* bit n set: may write Xn / Wn (n = 0..30) */
    const char *mnem; /* a mnemonic for messages ("add", "ldp", "mrs", "sve", ...) */
};

/* Decode one instruction word (little-endian value). Never fails. */
void a64_decode(uint32_t word, struct a64_insn *out);

/* The word at p (4 bytes, little-endian). */
static inline uint32_t a64_word(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Branch / ADR / LDR literal target, ADRP page, at address pc. */
uint64_t a64_target(const struct a64_insn *in, uint64_t pc);

/* Format in aarch64-linux-gnu-objdump's syntax (without its comments) for
 * the decoded classes, e.g. "bl 0x400123", "adrp x16, 0x41f000",
 * "ldr x17, [x16, #8]", "mov x0, #0x10000"; other words as
 * "MNEM .inst 0x12345678". Returns buf. */
const char *a64_format(const struct a64_insn *in, uint64_t pc, char *buf, size_t n);

/* Does the instruction possibly write Xr (0..30)? */
static inline int a64_writes(const struct a64_insn *in, unsigned r)
{
    return r < 31 && (in->writes >> r & 1u);
}

#endif

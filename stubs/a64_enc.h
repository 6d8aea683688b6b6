/* a64_enc.h - a tiny encoder for the few A64 instruction classes the arm64
 * stub generator needs (stubs/stub_aarch64.c). Every function returns the
 * fixed 32-bit encoding of one instruction, or A64_BAD (0, which is `udf #0`
 * and never a valid result here) when an operand is out of range: a register
 * number above 31, an offset that is not a multiple of the access size or
 * does not fit the field, an immediate that cannot be expressed. Nothing is
 * ever silently truncated. Standalone (no other callirw header); the unit
 * test tests/unit/test_a64_enc.c checks every class against
 * aarch64-linux-gnu-as output.
 *
 * Register numbers: 0-30 are x0-x30 (w0-w30, q0-q30 by context). 31 means
 * the stack pointer where the instruction's field allows it (A64_SP: the
 * base of a load/store, either operand of add/sub immediate) and the zero
 * register elsewhere (A64_ZR).
 */
#ifndef CALLIRW_A64_ENC_H
#define CALLIRW_A64_ENC_H

#include <stdint.h>

#define A64_BAD 0u
#define A64_SP 31u
#define A64_ZR 31u
#define A64_LR 30u
#define A64_FP 29u

/* Condition codes (the A64 encoding). */
enum a64_cond {
    A64_EQ = 0, A64_NE = 1, A64_HS = 2, A64_LO = 3, A64_MI = 4, A64_PL = 5,
    A64_VS = 6, A64_VC = 7, A64_HI = 8, A64_LS = 9, A64_GE = 10, A64_LT = 11,
    A64_GT = 12, A64_LE = 13, A64_AL = 14,
};

/* Single-register loads and stores, unsigned scaled offset form
 * `op Rt, [Rn|sp, #off]`: off must be a multiple of the access size and at
 * most 4095 times it. Rt is a w register for the byte, halfword and word
 * forms (the loads zero- or, for LDRSB/LDRSH, sign-extend to 32 bits and
 * clear bits 32-63, as every w write does), an x register for X and a
 * q register (all 128 bits) for Q. */
enum a64_ldst_op {
    A64_STRB, A64_STRH, A64_STR_W, A64_STR_X, A64_STR_Q,
    A64_LDRB, A64_LDRH, A64_LDR_W, A64_LDR_X, A64_LDR_Q,
    A64_LDRSB_W, A64_LDRSH_W,
};
uint32_t a64_ldst(enum a64_ldst_op op, unsigned rt, unsigned rn, int32_t off);

/* Pair loads and stores `op Rt, Rt2, [Rn|sp, #off]` (A64_OFFSET),
 * `[Rn|sp, #off]!` (A64_PRE) or `[Rn|sp], #off` (A64_POST): off is a
 * multiple of the register size (8 for x, 16 for q) in [-64, 63] times it.
 * LDP requires Rt != Rt2 (and, written back, neither equal to Rn). */
enum a64_pair_op { A64_STP_X, A64_LDP_X, A64_STP_Q, A64_LDP_Q };
enum a64_index { A64_OFFSET, A64_PRE, A64_POST };
uint32_t a64_ldstp(enum a64_pair_op op, enum a64_index idx, unsigned rt, unsigned rt2,
                   unsigned rn, int32_t off);

/* `add Xd|sp, Xn|sp, #imm` / `sub ...` (64-bit): imm in [0, 4095], or a
 * multiple of 4096 below 2^24 (the `lsl #12` form). */
uint32_t a64_add_imm(unsigned rd, unsigned rn, uint32_t imm);
uint32_t a64_sub_imm(unsigned rd, unsigned rn, uint32_t imm);
/* `mov Xd, Xm` (orr Xd, xzr, Xm); neither may be sp. */
uint32_t a64_mov(unsigned rd, unsigned rm);
/* `mov Xd|sp, Xn|sp` (add Xd, Xn, #0): the form that reads or writes sp. */
uint32_t a64_mov_sp(unsigned rd, unsigned rn);

/* `cmp Wn, #imm` (subs wzr, Wn, #imm), imm in [0, 4095]. */
uint32_t a64_cmp_w_imm(unsigned rn, uint32_t imm);
/* `tst Wn, #0xff` (ands wzr, Wn, #0xff): the low byte of a w register. */
uint32_t a64_tst_w_ff(unsigned rn);
/* `cset Wd, cond` (csinc Wd, wzr, wzr, !cond); cond not AL. */
uint32_t a64_cset_w(unsigned rd, enum a64_cond cond);
/* 32-bit extensions of the low 8 / 16 bits: sxtb, sxth, uxtb, uxth Wd, Wn. */
uint32_t a64_sxtb_w(unsigned rd, unsigned rn);
uint32_t a64_sxth_w(unsigned rd, unsigned rn);
uint32_t a64_uxtb_w(unsigned rd, unsigned rn);
uint32_t a64_uxth_w(unsigned rd, unsigned rn);

/* Branches. Offsets are in bytes from the branch instruction itself and
 * must be multiples of 4: cbz/cbnz Xt within +-1 MiB, b within +-128 MiB. */
uint32_t a64_cbz_x(unsigned rt, int32_t off);
uint32_t a64_cbnz_x(unsigned rt, int32_t off);
uint32_t a64_b(int32_t off);
/* `adrp Xd, .+pages*4096` (the page of the instruction plus pages pages):
 * pages in [-2^20, 2^20), i.e. +-4 GiB; d in 0-30. */
uint32_t a64_adrp(unsigned rd, int64_t pages);
/* br / blr Xn: n in 0-30 (31 would be xzr). */
uint32_t a64_br(unsigned rn);
uint32_t a64_blr(unsigned rn);
uint32_t a64_ret(void); /* ret x30 */

/* Hints. */
uint32_t a64_bti_c(void);
uint32_t a64_nop(void);

#endif

/* a64_enc.c - see a64_enc.h. Encodings from the Arm Architecture Reference
 * Manual (A64 base instructions), verified against aarch64-linux-gnu-as by
 * tests/unit/test_a64_enc.c. */
#include "a64_enc.h"

#define REG_OK(r) ((r) <= 31u)

uint32_t a64_ldst(enum a64_ldst_op op, unsigned rt, unsigned rn, int32_t off)
{
    static const struct {
        uint32_t base;
        unsigned shift; /* log2 of the access size */
    } tab[] = {
        [A64_STRB] = {0x39000000u, 0},    [A64_STRH] = {0x79000000u, 1},
        [A64_STR_W] = {0xb9000000u, 2},   [A64_STR_X] = {0xf9000000u, 3},
        [A64_STR_Q] = {0x3d800000u, 4},   [A64_LDRB] = {0x39400000u, 0},
        [A64_LDRH] = {0x79400000u, 1},    [A64_LDR_W] = {0xb9400000u, 2},
        [A64_LDR_X] = {0xf9400000u, 3},   [A64_LDR_Q] = {0x3dc00000u, 4},
        [A64_LDRSB_W] = {0x39c00000u, 0}, [A64_LDRSH_W] = {0x79c00000u, 1},
    };
    if ((unsigned)op >= sizeof tab / sizeof tab[0] || !REG_OK(rt) || !REG_OK(rn) || off < 0)
        return A64_BAD;
    unsigned sh = tab[op].shift;
    uint32_t uoff = (uint32_t)off;
    if (uoff & ((1u << sh) - 1) || (uoff >> sh) > 4095)
        return A64_BAD;
    return tab[op].base | (uoff >> sh) << 10 | rn << 5 | rt;
}

uint32_t a64_ldstp(enum a64_pair_op op, enum a64_index idx, unsigned rt, unsigned rt2,
                   unsigned rn, int32_t off)
{
    uint32_t base;
    unsigned sh;
    int load = op == A64_LDP_X || op == A64_LDP_Q, vec = op == A64_STP_Q || op == A64_LDP_Q;
    switch (op) {
    case A64_STP_X: case A64_LDP_X: base = 0xa8000000u; sh = 3; break;
    case A64_STP_Q: case A64_LDP_Q: base = 0xac000000u; sh = 4; break;
    default: return A64_BAD;
    }
    switch (idx) {
    case A64_POST: base |= 1u << 23; break;
    case A64_OFFSET: base |= 2u << 23; break;
    case A64_PRE: base |= 3u << 23; break;
    default: return A64_BAD;
    }
    if (!REG_OK(rt) || !REG_OK(rt2) || !REG_OK(rn))
        return A64_BAD;
    if (load && rt == rt2)
        return A64_BAD; /* CONSTRAINED UNPREDICTABLE */
    if (!vec && idx != A64_OFFSET && rn != 31 && (rn == rt || rn == rt2))
        return A64_BAD; /* write-back into a transferred register */
    int32_t size = 1 << sh;
    if (off % size)
        return A64_BAD;
    int32_t imm = off / size;
    if (imm < -64 || imm > 63)
        return A64_BAD;
    return base | (load ? 1u << 22 : 0) | ((uint32_t)imm & 0x7f) << 15 | rt2 << 10 | rn << 5 | rt;
}

static uint32_t addsub_imm(uint32_t base, unsigned rd, unsigned rn, uint32_t imm)
{
    if (!REG_OK(rd) || !REG_OK(rn))
        return A64_BAD;
    if (imm <= 4095)
        return base | imm << 10 | rn << 5 | rd;
    if ((imm & 4095) == 0 && imm < (1u << 24))
        return base | 1u << 22 | (imm >> 12) << 10 | rn << 5 | rd;
    return A64_BAD;
}

uint32_t a64_add_imm(unsigned rd, unsigned rn, uint32_t imm)
{
    return addsub_imm(0x91000000u, rd, rn, imm);
}

uint32_t a64_sub_imm(unsigned rd, unsigned rn, uint32_t imm)
{
    return addsub_imm(0xd1000000u, rd, rn, imm);
}

uint32_t a64_mov(unsigned rd, unsigned rm)
{
    /* 31 would be xzr here, not sp: refuse it rather than surprise. */
    if (rd > 30 || rm > 30)
        return A64_BAD;
    return 0xaa0003e0u | rm << 16 | rd;
}

uint32_t a64_mov_sp(unsigned rd, unsigned rn)
{
    return addsub_imm(0x91000000u, rd, rn, 0);
}

uint32_t a64_cmp_w_imm(unsigned rn, uint32_t imm)
{
    if (rn > 30 || imm > 4095) /* rn 31 would be wsp */
        return A64_BAD;
    return 0x7100001fu | imm << 10 | rn << 5;
}

uint32_t a64_tst_w_ff(unsigned rn)
{
    if (!REG_OK(rn))
        return A64_BAD;
    return 0x72001c1fu | rn << 5; /* ands wzr, wn, #0xff: N=0 immr=0 imms=7 */
}

uint32_t a64_cset_w(unsigned rd, enum a64_cond cond)
{
    if (!REG_OK(rd) || (unsigned)cond >= A64_AL)
        return A64_BAD;
    return 0x1a9f07e0u | ((unsigned)cond ^ 1u) << 12 | rd;
}

static uint32_t bfm(uint32_t base, unsigned rd, unsigned rn)
{
    if (!REG_OK(rd) || !REG_OK(rn))
        return A64_BAD;
    return base | rn << 5 | rd;
}

uint32_t a64_sxtb_w(unsigned rd, unsigned rn) { return bfm(0x13001c00u, rd, rn); }
uint32_t a64_sxth_w(unsigned rd, unsigned rn) { return bfm(0x13003c00u, rd, rn); }
uint32_t a64_uxtb_w(unsigned rd, unsigned rn) { return bfm(0x53001c00u, rd, rn); }
uint32_t a64_uxth_w(unsigned rd, unsigned rn) { return bfm(0x53003c00u, rd, rn); }

static uint32_t cb(uint32_t base, unsigned rt, int32_t off)
{
    if (!REG_OK(rt) || off % 4 || off < -(1 << 20) || off >= (1 << 20))
        return A64_BAD;
    return base | ((uint32_t)(off / 4) & 0x7ffff) << 5 | rt;
}

uint32_t a64_cbz_x(unsigned rt, int32_t off) { return cb(0xb4000000u, rt, off); }
uint32_t a64_cbnz_x(unsigned rt, int32_t off) { return cb(0xb5000000u, rt, off); }

uint32_t a64_b(int32_t off)
{
    if (off % 4 || off < -(1 << 27) || off >= (1 << 27))
        return A64_BAD;
    return 0x14000000u | ((uint32_t)(off / 4) & 0x3ffffff);
}

uint32_t a64_adrp(unsigned rd, int64_t pages)
{
    if (rd > 30 || pages < -(INT64_C(1) << 20) || pages >= (INT64_C(1) << 20))
        return A64_BAD;
    uint32_t imm = (uint32_t)pages & 0x1fffffu;
    return 0x90000000u | (imm & 3u) << 29 | (imm >> 2) << 5 | rd;
}

/* Rn 31 would be xzr: refused. */
uint32_t a64_br(unsigned rn) { return rn <= 30 ? 0xd61f0000u | rn << 5 : A64_BAD; }
uint32_t a64_blr(unsigned rn) { return rn <= 30 ? 0xd63f0000u | rn << 5 : A64_BAD; }
uint32_t a64_ret(void) { return 0xd65f03c0u; }
uint32_t a64_bti_c(void) { return 0xd503245fu; }
uint32_t a64_nop(void) { return 0xd503201fu; }

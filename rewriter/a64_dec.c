/* a64_dec.c - the table-driven AArch64 decoder of a64_dec.h.
 *
 * One table of (mask, value) rows covers the whole 32-bit encoding space;
 * the first row that matches a word decides its class, which register
 * fields it may write and a mnemonic for messages. Rows are ordered from
 * the exact encodings of the classes the scanner reasons about to the
 * catch-all row of each top-level group (Arm ARM C4.1: op0 = bits 28:25):
 *
 *   0000 reserved (UDF) / SME     100x data processing (immediate)
 *   0001 unallocated              101x branches, exception generation, system
 *   0010 SVE                      x1x0 loads and stores
 *   0011 unallocated              x101 data processing (register)
 *                                 x111 SIMD and floating point
 *
 * The writes rule of a catch-all row names every register field the group
 * can write (A64_F_CONSERVATIVE); all other rows are exact, which
 * tests/unit/test_a64_dec.c checks against objdump.
 */
#include <stdio.h>
#include <string.h>

#include "a64_dec.h"

/* Which fields the instruction writes. */
#define W_RD 0x001u   /* bits 4:0 (Rd, Rt) */
#define W_RN 0x002u   /* bits 9:5 (base register writeback) */
#define W_RT2 0x004u  /* bits 14:10 (second register of a pair) */
#define W_RS 0x008u   /* bits 20:16 (status of a store-exclusive, CAS compare value) */
#define W_RS1 0x010u  /* Rs + 1 (CASP) */
#define W_RD1 0x020u  /* Rt + 1 (MRRS) */
#define W_RT8 0x040u  /* Rt .. Rt + 7 (LD64B) */
#define W_X30 0x080u  /* the link register (BL, BLR) */
#define W_SYS 0x100u  /* x0-x17: what a supervisor, hypervisor or secure monitor call
                         may return in (SMC Calling Convention) */
#define W_HINT 0x200u /* by the hint number (hint_writes) */

#define CONS A64_F_CONSERVATIVE

struct row {
    uint32_t mask, value;
    uint8_t op;
    uint8_t flags;
    uint16_t wr;
    const char *mnem;
};

static const struct row rows[] = {
    /* ---- branches, exception generation, system (op0 = 101x) ---- */
    {0xfc000000, 0x14000000, A64_B, A64_F_END | A64_F_TARGET, 0, "b"},
    {0xfc000000, 0x94000000, A64_BL, A64_F_CALL | A64_F_TARGET, W_X30, "bl"},
    {0xff000010, 0x54000000, A64_BCOND, A64_F_TARGET, 0, "b.cond"},
    {0xff000010, 0x54000010, A64_BCOND, A64_F_TARGET, 0, "bc.cond"},
    {0x7f000000, 0x34000000, A64_CBZ, A64_F_TARGET, 0, "cbz"},
    {0x7f000000, 0x35000000, A64_CBZ, A64_F_TARGET | A64_F_NEG, 0, "cbnz"},
    {0x7f000000, 0x36000000, A64_TBZ, A64_F_TARGET, 0, "tbz"},
    {0x7f000000, 0x37000000, A64_TBZ, A64_F_TARGET | A64_F_NEG, 0, "tbnz"},
    {0xfffffc1f, 0xd61f0000, A64_BR, A64_F_END, 0, "br"},
    {0xfffffc1f, 0xd63f0000, A64_BLR, A64_F_CALL, W_X30, "blr"},
    {0xfffffc1f, 0xd65f0000, A64_RET, A64_F_END, 0, "ret"},
    {0xfffff81f, 0xd61f081f, A64_BR, A64_F_END | A64_F_PAC, 0, "braaz"},
    {0xfffff81f, 0xd63f081f, A64_BLR, A64_F_CALL | A64_F_PAC, W_X30, "blraaz"},
    {0xfffffbff, 0xd65f0bff, A64_RET, A64_F_END | A64_F_PAC, 0, "retaa"},
    {0xfffff800, 0xd71f0800, A64_BR, A64_F_END | A64_F_PAC, 0, "braa"},
    {0xfffff800, 0xd73f0800, A64_BLR, A64_F_CALL | A64_F_PAC, W_X30, "blraa"},
    {0xffffffff, 0xd69f03e0, A64_ERET, A64_F_END, 0, "eret"},
    {0xfffffbff, 0xd69f0bff, A64_ERET, A64_F_END | A64_F_PAC, 0, "eretaa"},
    {0xffffffff, 0xd6bf03e0, A64_ERET, A64_F_END, 0, "drps"},
    {0xfe000000, 0xd6000000, A64_BRANCH_UNKNOWN, A64_F_END, 0, "branch"},
    {0xffe0001f, 0xd4000001, A64_SVC, 0, W_SYS, "svc"},
    {0xffe0001f, 0xd4000002, A64_SVC, 0, W_SYS, "hvc"},
    {0xffe0001f, 0xd4000003, A64_SVC, 0, W_SYS, "smc"},
    {0xffe0001f, 0xd4200000, A64_TRAP, A64_F_END, 0, "brk"},
    {0xffe0001f, 0xd4400000, A64_TRAP, A64_F_END, 0, "hlt"},
    {0xffe0001f, 0xd4600000, A64_TRAP, A64_F_END, 0, "tcancel"},
    {0xffe0001f, 0xd4a00001, A64_TRAP, A64_F_END, 0, "dcps1"},
    {0xffe0001f, 0xd4a00002, A64_TRAP, A64_F_END, 0, "dcps2"},
    {0xffe0001f, 0xd4a00003, A64_TRAP, A64_F_END, 0, "dcps3"},
    {0xff000000, 0xd4000000, A64_BRANCH_UNKNOWN, A64_F_END, 0, "exception"},
    {0xfffff01f, 0xd503201f, A64_HINT, 0, W_HINT, "hint"},
    {0xfffff000, 0xd5032000, A64_OTHER, CONS, W_RD, "hint"},
    {0xffe00000, 0xd5600000, A64_OTHER, 0, W_RD | W_RD1, "mrrs"},
    {0xffe00000, 0xd5400000, A64_OTHER, 0, 0, "msrr"},  /* MSRR, SYSP */
    {0xffe00000, 0xd5200000, A64_OTHER, 0, W_RD, "mrs"}, /* MRS, SYSL, TSTART, TTEST */
    {0xffe00000, 0xd5000000, A64_OTHER, 0, 0, "msr"},   /* MSR, SYS, barriers, PSTATE, WFET */
    {0x1c000000, 0x14000000, A64_BRANCH_UNKNOWN, A64_F_END, 0, "branch"},

    /* ---- data processing, immediate (op0 = 100x) ---- */
    {0x9f000000, 0x10000000, A64_ADR, 0, W_RD, "adr"},
    {0x9f000000, 0x90000000, A64_ADRP, 0, W_RD, "adrp"},
    {0x7f800000, 0x11000000, A64_ADD_IMM, 0, W_RD, "add"},
    {0x7f800000, 0x31000000, A64_OTHER, 0, W_RD, "adds"},
    {0x7f800000, 0x51000000, A64_OTHER, 0, W_RD, "sub"},
    {0x7f800000, 0x71000000, A64_OTHER, 0, W_RD, "subs"},
    {0x1fc00000, 0x11800000, A64_OTHER, 0, W_RD, "addg"}, /* ADDG, SUBG */
    {0x1fc00000, 0x11c00000, A64_OTHER, 0, W_RD, "smax"}, /* min/max (immediate) */
    {0x9fc00000, 0x12c00000, A64_UNDEF, A64_F_END, 0, "undefined"}, /* move wide, 32-bit, hw 1x */
    {0x7f800000, 0x32800000, A64_UNDEF, A64_F_END, 0, "undefined"}, /* move wide, opc 01 */
    {0x7f800000, 0x12800000, A64_MOVN, 0, W_RD, "movn"},
    {0x7f800000, 0x52800000, A64_MOVZ, 0, W_RD, "movz"},
    {0x7f800000, 0x72800000, A64_MOVK, 0, W_RD, "movk"},
    {0x9fc00000, 0x12400000, A64_UNDEF, A64_F_END, 0, "undefined"}, /* logical, 32-bit, N=1 */
    {0x1f800000, 0x12000000, A64_OTHER, 0, W_RD, "orr"}, /* AND, ORR, EOR, ANDS */
    {0x1f800000, 0x13000000, A64_OTHER, 0, W_RD, "ubfm"}, /* SBFM, BFM, UBFM */
    {0x1f800000, 0x13800000, A64_OTHER, 0, W_RD, "extr"},
    {0x1c000000, 0x10000000, A64_OTHER, CONS, W_RD, "dp-imm"},

    /* ---- loads and stores (op0 = x1x0) ---- */
    /* load register (literal) */
    {0xbf000000, 0x18000000, A64_LDR_LIT, 0, W_RD, "ldr"},
    {0xff000000, 0x98000000, A64_OTHER, 0, W_RD, "ldrsw"},
    {0xff000000, 0xd8000000, A64_OTHER, 0, 0, "prfm"},
    {0x3f000000, 0x1c000000, A64_OTHER, 0, 0, "ldr"}, /* SIMD&FP */
    /* exclusive, ordered, compare and swap */
    {0x3fe00000, 0x08000000, A64_OTHER, 0, W_RS, "stxr"},
    {0xbfe00000, 0x88200000, A64_OTHER, 0, W_RS, "stxp"},
    {0xbfe00000, 0x08200000, A64_OTHER, 0, W_RS | W_RS1, "casp"},
    {0x3fe00000, 0x08400000, A64_OTHER, 0, W_RD, "ldxr"},
    {0xbfe00000, 0x88600000, A64_OTHER, 0, W_RD | W_RT2, "ldxp"},
    {0xbfe00000, 0x08600000, A64_OTHER, 0, W_RS | W_RS1, "caspa"},
    {0x3fe00000, 0x08800000, A64_OTHER, 0, 0, "stlr"},
    {0x3fe00000, 0x08c00000, A64_OTHER, 0, W_RD, "ldar"},
    {0x3fa00000, 0x08a00000, A64_OTHER, 0, W_RS, "cas"},
    /* SIMD structures (LD1-LD4, ST1-ST4 and replicating forms) */
    {0xbe800000, 0x0c800000, A64_OTHER, 0, W_RN, "ld1"},
    {0xbe800000, 0x0c000000, A64_OTHER, 0, 0, "ld1"},
    /* register pairs */
    {0x3ec00000, 0x28c00000, A64_OTHER, 0, W_RD | W_RT2 | W_RN, "ldp"},
    {0x3ec00000, 0x28400000, A64_OTHER, 0, W_RD | W_RT2, "ldp"},
    {0x3ec00000, 0x28800000, A64_OTHER, 0, W_RN, "stp"},
    {0x3ec00000, 0x28000000, A64_OTHER, 0, 0, "stp"},
    {0x3e800000, 0x2c800000, A64_OTHER, 0, W_RN, "ldp"}, /* SIMD&FP */
    {0x3e800000, 0x2c000000, A64_OTHER, 0, 0, "ldp"},
    /* unsigned offset */
    {0xbfc00000, 0xb9400000, A64_LDR_UIMM, 0, W_RD, "ldr"},
    {0xffc00000, 0xf9800000, A64_OTHER, 0, 0, "prfm"},
    {0x3fc00000, 0x39000000, A64_OTHER, 0, 0, "str"},
    {0x3f000000, 0x39000000, A64_OTHER, 0, W_RD, "ldr"},
    {0x3f000000, 0x3d000000, A64_OTHER, 0, 0, "ldr"}, /* SIMD&FP */
    /* unscaled, post-/pre-indexed, unprivileged, register offset */
    {0x3fe00c00, 0x38000000, A64_OTHER, 0, 0, "stur"},
    {0xffe00c00, 0xf8800000, A64_OTHER, 0, 0, "prfum"},
    {0x3f200c00, 0x38000000, A64_OTHER, 0, W_RD, "ldur"},
    {0x3fe00400, 0x38000400, A64_OTHER, 0, W_RN, "str"},
    {0x3f200400, 0x38000400, A64_OTHER, 0, W_RD | W_RN, "ldr"},
    {0x3fe00c00, 0x38000800, A64_OTHER, 0, 0, "sttr"},
    {0x3f200c00, 0x38000800, A64_OTHER, 0, W_RD, "ldtr"},
    {0x3fe00c00, 0x38200800, A64_OTHER, 0, 0, "str"},
    {0xffe00c00, 0xf8a00800, A64_OTHER, 0, 0, "prfm"},
    {0x3f200c00, 0x38200800, A64_OTHER, 0, W_RD, "ldr"},
    /* atomic memory operations */
    {0x3f208c00, 0x38200000, A64_OTHER, 0, W_RD, "ldadd"}, /* LD<op>, ST<op> when Rt = 31 */
    {0x3f20fc00, 0x38208000, A64_OTHER, 0, W_RD, "swp"},
    {0x3f20fc00, 0x3820c000, A64_OTHER, 0, W_RD, "ldapr"},
    {0x3f20ec00, 0x3820a000, A64_OTHER, 0, W_RS, "st64bv"},
    {0x3f20fc00, 0x3820d000, A64_OTHER, 0, W_RT8, "ld64b"},
    {0x3f20fc00, 0x38209000, A64_OTHER, 0, 0, "st64b"},
    {0x3f200c00, 0x38200000, A64_OTHER, CONS, W_RD | W_RS | W_RT8, "atomic"},
    /* pointer-authenticated loads */
    {0xff200c00, 0xf8200c00, A64_OTHER, 0, W_RD | W_RN, "ldraa"},
    {0xff200c00, 0xf8200400, A64_OTHER, 0, W_RD, "ldraa"},
    {0x3f200400, 0x38200400, A64_OTHER, CONS, W_RD | W_RN, "ldraa"},
    /* SIMD&FP registers: only the base's writeback */
    {0x3f200400, 0x3c000400, A64_OTHER, 0, W_RN, "ldr"},
    {0x3f000000, 0x3c000000, A64_OTHER, 0, 0, "ldr"},
    /* LDAPUR / STLUR (unscaled, release-consistent) */
    {0x3fe00c00, 0x19000000, A64_OTHER, 0, 0, "stlur"},
    {0x3f200c00, 0x19000000, A64_OTHER, 0, W_RD, "ldapur"},
    /* memory copy and set (CPY*, SET*): all three registers advance */
    {0x3b200c00, 0x19000400, A64_OTHER, CONS, W_RD | W_RS | W_RN, "cpy"},
    {0x3f000000, 0x1d000000, A64_OTHER, 0, 0, "ldapur"}, /* SIMD&FP */
    /* the rest (memory tags, RCpc3, LSE128, ...) */
    {0x0a000000, 0x08000000, A64_OTHER, CONS, W_RD | W_RT2 | W_RN | W_RS | W_RS1, "ldst"},

    /* ---- data processing, register (op0 = x101) ---- */
    {0x3fe00000, 0x3a400000, A64_OTHER, 0, 0, "ccmp"}, /* CCMN, CCMP */
    {0xffe07c10, 0xba000400, A64_OTHER, 0, 0, "rmif"},
    {0xffffbc1f, 0x3a00080d, A64_OTHER, 0, 0, "setf8"},
    {0xffe0ffe0, 0xaa0003e0, A64_MOV_REG, 0, W_RD, "mov"},
    {0xffe0ffe0, 0x2a0003e0, A64_MOV_REG, 0, W_RD, "mov"},
    {0x1f000000, 0x0a000000, A64_OTHER, 0, W_RD, "orr"}, /* logical (shifted register) */
    {0x1f000000, 0x0b000000, A64_OTHER, 0, W_RD, "add"}, /* add/sub (shifted, extended) */
    {0x1fe00000, 0x1a000000, A64_OTHER, 0, W_RD, "adc"},
    {0x1fe00000, 0x1a800000, A64_OTHER, 0, W_RD, "csel"},
    {0x1fe00000, 0x1ac00000, A64_OTHER, 0, W_RD, "sdiv"}, /* data processing, 1/2 sources */
    {0x1f000000, 0x1b000000, A64_OTHER, 0, W_RD, "madd"},
    {0x0e000000, 0x0a000000, A64_OTHER, 0, W_RD, "dp-reg"},

    /* ---- SIMD and floating point (op0 = x111) ---- */
    {0x5f26fc00, 0x1e220000, A64_OTHER, 0, 0, "scvtf"},     /* integer -> FP */
    {0x5f27fc00, 0x1e270000, A64_OTHER, 0, 0, "fmov"},      /* general -> FP */
    {0x5f20fc00, 0x1e200000, A64_OTHER, 0, W_RD, "fcvtzs"}, /* FP -> integer, FMOV, FJCVTZS */
    {0x5f260000, 0x1e020000, A64_OTHER, 0, 0, "scvtf"},     /* fixed point -> FP */
    {0x5f200000, 0x1e000000, A64_OTHER, 0, W_RD, "fcvtzs"}, /* FP -> fixed point */
    {0xbfe0ec00, 0x0e002c00, A64_OTHER, 0, W_RD, "umov"},   /* UMOV, SMOV */
    {0x0e000000, 0x0e000000, A64_OTHER, 0, 0, "simd"},

    /* ---- SVE (0010), SME (1000 with bit 31), reserved and unallocated ---- */
    {0x1e000000, 0x04000000, A64_OTHER, CONS, W_RD, "sve"},
    {0x9e000000, 0x80000000, A64_OTHER, CONS, W_RD, "sme"},
    {0xffff0000, 0x00000000, A64_UNDEF, A64_F_END, 0, "udf"},
    {0x1e000000, 0x00000000, A64_UNDEF, A64_F_END, 0, "undefined"},
    {0x1e000000, 0x02000000, A64_UNDEF, A64_F_END, 0, "undefined"},
    {0x1e000000, 0x06000000, A64_UNDEF, A64_F_END, 0, "undefined"},
};

static int64_t sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    v &= (m << 1) - 1;
    return (int64_t)((v ^ m) - m);
}

static uint32_t bit(unsigned r)
{
    return r < 31 ? 1u << r : 0;
}

/* Registers the hint CRm:op2 (bits 11:5) writes, and its name when it has
 * one that matters; *known = 0 when the hint is not one we know (then x16,
 * x17 and x30, the registers the known register-writing hints use). */
static uint32_t hint_writes(unsigned h, int *known, const char **mnem)
{
    static const char *const pac[8] = {"paciaz", "paciasp", "pacibz", "pacibsp",
                                       "autiaz", "autiasp", "autibz", "autibsp"};
    static const char *const p1716[4] = {"pacia1716", "pacib1716", "autia1716", "autib1716"};
    *known = 1;
    switch (h) {
    case 0x00: *mnem = "nop"; return 0;
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
        return 0; /* YIELD, WFE, WFI, SEV, SEVL, DGH */
    case 0x07: *mnem = "xpaclri"; return bit(30);
    case 0x08: case 0x0a: case 0x0c: case 0x0e:
        *mnem = p1716[(h - 8) / 2];
        return bit(17);
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x16:
        return 0; /* ESB, PSB CSYNC, TSB CSYNC, GCSB DSYNC, CSDB, CLRBHB */
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
        *mnem = pac[h - 0x18];
        return bit(30);
    case 0x20: case 0x22: case 0x24: case 0x26:
        *mnem = "bti"; /* BTI, BTI c, BTI j, BTI jc */
        return 0;
    case 0x28: *mnem = "chkfeat"; return bit(16);
    default:
        *known = 0;
        return bit(16) | bit(17) | bit(30);
    }
}

void a64_decode(uint32_t w, struct a64_insn *in)
{
    memset(in, 0, sizeof *in);
    in->word = w;
    const struct row *r = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if ((w & rows[i].mask) == rows[i].value) {
            r = &rows[i];
            break;
        }
    static const struct row fallback = {0, 0, A64_OTHER, CONS, W_RD | W_RN | W_RT2 | W_RS, "?"};
    if (!r)
        r = &fallback; /* not reached: the groups above cover every word */
    in->op = r->op;
    in->flags = r->flags;
    in->mnem = r->mnem;
    in->rd = w & 31;
    in->rn = w >> 5 & 31;
    in->rm = w >> 16 & 31;
    in->sf = w >> 31;

    unsigned rt2 = w >> 10 & 31, rs = w >> 16 & 31;
    uint32_t m = 0;
    if (r->wr & W_RD) m |= bit(in->rd);
    if (r->wr & W_RN) m |= bit(in->rn);
    if (r->wr & W_RT2) m |= bit(rt2);
    if (r->wr & W_RS) m |= bit(rs);
    if (r->wr & W_RS1) m |= bit(rs + 1);
    if (r->wr & W_RD1) m |= bit(in->rd + 1u);
    if (r->wr & W_RT8)
        for (unsigned k = 0; k < 8; k++)
            m |= bit(in->rd + k);
    if (r->wr & W_X30) m |= bit(30);
    if (r->wr & W_SYS) m |= 0x3ffffu;
    if (r->wr & W_HINT) {
        int known;
        m |= hint_writes(w >> 5 & 0x7f, &known, &in->mnem);
        if (!known)
            in->flags |= CONS;
        if (!strcmp(in->mnem, "bti"))
            in->flags |= A64_F_BTI;
    }
    in->writes = m;

    switch (in->op) {
    case A64_B:
    case A64_BL:
        in->imm = sext(w & 0x3ffffff, 26) * 4;
        break;
    case A64_BCOND:
        in->cond = w & 15;
        in->imm = sext(w >> 5 & 0x7ffff, 19) * 4;
        break;
    case A64_CBZ:
        in->imm = sext(w >> 5 & 0x7ffff, 19) * 4;
        break;
    case A64_TBZ:
        in->bit = (uint8_t)((w >> 31) << 5 | (w >> 19 & 31));
        in->imm = sext(w >> 5 & 0x3fff, 14) * 4;
        break;
    case A64_BR:
    case A64_BLR:
        in->rm = in->rd; /* BRAA, BLRAA: the modifier */
        break;
    case A64_ADR:
    case A64_ADRP: {
        uint64_t v = (uint64_t)(w >> 5 & 0x7ffff) << 2 | (w >> 29 & 3);
        in->imm = sext(v, 21) * (in->op == A64_ADRP ? 4096 : 1);
        in->sf = 1;
        break;
    }
    case A64_ADD_IMM:
        in->shift = (w >> 22 & 1) ? 12 : 0;
        in->imm = w >> 10 & 0xfff;
        break;
    case A64_LDR_UIMM:
        in->sf = w >> 30 & 1;
        in->imm = (int64_t)(w >> 10 & 0xfff) << (in->sf ? 3 : 2);
        break;
    case A64_LDR_LIT:
        in->sf = w >> 30 & 1;
        in->imm = sext(w >> 5 & 0x7ffff, 19) * 4;
        break;
    case A64_MOVZ:
    case A64_MOVN:
    case A64_MOVK:
        in->shift = (uint8_t)((w >> 21 & 3) * 16);
        in->imm = w >> 5 & 0xffff;
        break;
    default:
        break;
    }
}

uint64_t a64_target(const struct a64_insn *in, uint64_t pc)
{
    if (in->op == A64_ADRP)
        return (pc & ~(uint64_t)0xfff) + (uint64_t)in->imm;
    return pc + (uint64_t)in->imm;
}

/* Register n of width sf; 31 is SP when sp, else the zero register. */
static const char *reg(unsigned n, int sf, int sp, char *b)
{
    if (n == 31)
        return sp ? (sf ? "sp" : "wsp") : (sf ? "xzr" : "wzr");
    b[0] = sf ? 'x' : 'w';
    b[1] = (char)('0' + n / 10);
    b[2] = (char)('0' + n % 10);
    b[3] = 0;
    if (n < 10) {
        b[1] = b[2];
        b[2] = 0;
    }
    return b;
}

const char *a64_format(const struct a64_insn *in, uint64_t pc, char *buf, size_t n)
{
    static const char *const cond[16] = {"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc",
                                         "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"};
    char a[4], b[4];
    unsigned long long t = (unsigned long long)a64_target(in, pc);
    uint32_t w = in->word;
    int pac = in->flags & A64_F_PAC;
    const char *key = (w >> 10 & 1) ? "b" : "a";
    switch (in->op) {
    case A64_B:
    case A64_BL:
        snprintf(buf, n, "%s 0x%llx", in->mnem, t);
        break;
    case A64_BCOND:
        snprintf(buf, n, "%s.%s 0x%llx", (w >> 4 & 1) ? "bc" : "b", cond[in->cond], t);
        break;
    case A64_CBZ:
        snprintf(buf, n, "%s %s, 0x%llx", in->mnem, reg(in->rd, in->sf, 0, a), t);
        break;
    case A64_TBZ:
        snprintf(buf, n, "%s %s, #%u, 0x%llx", in->mnem, reg(in->rd, in->bit >= 32, 0, a),
                 in->bit, t);
        break;
    case A64_BR:
    case A64_BLR: {
        const char *base = in->op == A64_BR ? "br" : "blr";
        if (!pac)
            snprintf(buf, n, "%s %s", base, reg(in->rn, 1, 0, a));
        else if ((w >> 21 & 0xf) >= 8) /* BRAA, BLRAA: with a modifier */
            snprintf(buf, n, "%sa%s %s, %s", base, key, reg(in->rn, 1, 0, a),
                     reg(in->rm, 1, 1, b));
        else
            snprintf(buf, n, "%sa%sz %s", base, key, reg(in->rn, 1, 0, a));
        break;
    }
    case A64_RET:
        if (pac)
            snprintf(buf, n, "reta%s", key);
        else if (in->rn == 30)
            snprintf(buf, n, "ret");
        else
            snprintf(buf, n, "ret %s", reg(in->rn, 1, 0, a));
        break;
    case A64_ERET:
        if (w == 0xd6bf03e0)
            snprintf(buf, n, "drps");
        else if (pac)
            snprintf(buf, n, "ereta%s", key);
        else
            snprintf(buf, n, "eret");
        break;
    case A64_ADRP:
    case A64_ADR:
        snprintf(buf, n, "%s %s, 0x%llx", in->mnem, reg(in->rd, 1, 0, a), t);
        break;
    case A64_ADD_IMM:
        if (in->imm == 0 && in->shift == 0 && (in->rd == 31 || in->rn == 31))
            snprintf(buf, n, "mov %s, %s", reg(in->rd, in->sf, 1, a), reg(in->rn, in->sf, 1, b));
        else
            snprintf(buf, n, "add %s, %s, #0x%llx%s", reg(in->rd, in->sf, 1, a),
                     reg(in->rn, in->sf, 1, b), (unsigned long long)in->imm,
                     in->shift ? ", lsl #12" : "");
        break;
    case A64_LDR_UIMM:
        if (in->imm)
            snprintf(buf, n, "ldr %s, [%s, #%lld]", reg(in->rd, in->sf, 0, a),
                     reg(in->rn, 1, 1, b), (long long)in->imm);
        else
            snprintf(buf, n, "ldr %s, [%s]", reg(in->rd, in->sf, 0, a), reg(in->rn, 1, 1, b));
        break;
    case A64_LDR_LIT:
        snprintf(buf, n, "ldr %s, 0x%llx", reg(in->rd, in->sf, 0, a), t);
        break;
    case A64_MOVZ:
    case A64_MOVN: {
        uint64_t v = (uint64_t)in->imm << in->shift;
        int alias = !(in->imm == 0 && in->shift != 0);
        if (in->op == A64_MOVN) {
            v = ~v;
            if (!in->sf)
                alias = alias && in->imm != 0xffff;
        }
        if (!in->sf)
            v &= 0xffffffffu;
        if (alias)
            snprintf(buf, n, "mov %s, #0x%llx", reg(in->rd, in->sf, 0, a), (unsigned long long)v);
        else if (in->shift)
            snprintf(buf, n, "%s %s, #0x%llx, lsl #%u", in->mnem, reg(in->rd, in->sf, 0, a),
                     (unsigned long long)in->imm, in->shift);
        else
            snprintf(buf, n, "%s %s, #0x%llx", in->mnem, reg(in->rd, in->sf, 0, a),
                     (unsigned long long)in->imm);
        break;
    }
    case A64_MOVK:
        if (in->shift)
            snprintf(buf, n, "movk %s, #0x%llx, lsl #%u", reg(in->rd, in->sf, 0, a),
                     (unsigned long long)in->imm, in->shift);
        else
            snprintf(buf, n, "movk %s, #0x%llx", reg(in->rd, in->sf, 0, a),
                     (unsigned long long)in->imm);
        break;
    case A64_MOV_REG:
        snprintf(buf, n, "mov %s, %s", reg(in->rd, in->sf, 0, a), reg(in->rm, in->sf, 0, b));
        break;
    default:
        snprintf(buf, n, "%s .inst 0x%08x", in->mnem, w);
        break;
    }
    return buf;
}

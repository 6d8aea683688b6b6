/* compact_unwind.c - the Mach-O compact unwind encoding of a stub
 * (docs/stubs.md, "Mach-O compact unwind"), derived from its unwind steps so
 * that the object writer (__LD,__compact_unwind) and the image writer
 * (__unwind_info) share one answer.
 *
 * The prologue's steps are replayed to the state at prologue_end (CFA-
 * relative sp, frame pointer and save slots), and that state is accepted
 * only if the encoding describes it exactly; anything else is refused, never
 * approximated. The rules are those of Apple's <mach-o/compact_unwind_
 * encoding.h> as libunwind's CompactUnwinder applies them:
 *   x86-64 RBP_FRAME: CFA = rbp + 16, rbp at CFA-16, the return address at
 *     CFA-8; the registers of the list are read upwards from rbp - 8*offset,
 *     one 3-bit slot each (1 rbx, 2 r12, ... 5 r15, 0 none).
 *   arm64 FRAME: CFA = x29 + 16, x29 at CFA-16, x30 at CFA-8; each pair
 *     flagged (x19/x20 = bit 0 ... x27/x28 = bit 4) is read downwards from
 *     x29 - 8: first x19 at x29-8, then x20 at x29-16, then the next pair.
 *   Frameless: x86-64 STACK_IMMD with the stack size in 8-byte units (1: the
 *     return address only), arm64 FRAMELESS with size 0 (return address in
 *     x30, sp untouched).
 * Restated from the public headers and libunwind's behaviour, not copied. */
#include <string.h>

#include "stub_int.h"

enum {
    CU_X86_64_RBP_FRAME = 0x01000000,
    CU_X86_64_STACK_IMMD = 0x02000000,
    CU_ARM64_FRAMELESS = 0x02000000,
    CU_ARM64_FRAME = 0x04000000,
};

/* The CFA-relative state once the prologue is done. */
struct cu_state {
    int64_t sp_off;      /* CFA - sp */
    int fp_set;
    unsigned fp_reg;
    int64_t fp_off;      /* CFA - fp */
    int64_t saved[32];   /* CFA-relative slot (negative); 0: not saved */
};

static enum stub_err replay(const struct stub_code *c, int x86, struct cu_state *st)
{
    memset(st, 0, sizeof *st);
    st->sp_off = x86 ? 8 : 0; /* the entry state: x86-64 has pushed the return address */
    if (c->frame_start >= c->prologue_end || c->prologue_end > c->len || !c->nunwind)
        return STUB_E_ENCODE;
    for (size_t i = 0; i < c->nunwind; i++) {
        const struct stub_unwind_step *s = &c->unwind[i];
        if (s->pc_off > c->prologue_end)
            break;
        if (s->reg > 31 || s->value < 0)
            return STUB_E_ENCODE;
        switch (s->op) {
        case STUB_UW_PUSH:
            if (!x86)
                return STUB_E_ENCODE;
            st->sp_off += 8;
            st->saved[s->reg] = -st->sp_off;
            break;
        case STUB_UW_ALLOC: st->sp_off += s->value; break;
        case STUB_UW_FREE: st->sp_off -= s->value; break;
        case STUB_UW_SET_FP:
            st->fp_set = 1;
            st->fp_reg = s->reg;
            st->fp_off = st->sp_off - s->value;
            break;
        case STUB_UW_SAVE: /* at sp + value = CFA - sp_off + value */
            st->saved[s->reg] = s->value - st->sp_off;
            if (st->saved[s->reg] >= 0)
                return STUB_E_ENCODE;
            break;
        default: /* pops, reloads, sp from fp: not prologue actions */
            return STUB_E_ENCODE;
        }
        if (st->sp_off < 0)
            return STUB_E_ENCODE;
    }
    return STUB_OK;
}

/* RBP_FRAME: CFA = rbp + 16, rbp at CFA-16, the others in up to 5 slots
 * below rbp. */
static enum stub_err x86_frame(const struct cu_state *st, uint32_t *enc)
{
    static const uint8_t slot_code[16] = {[STUB_X86_RBX] = 1, [STUB_X86_R12] = 2,
                                          [STUB_X86_R13] = 3, [STUB_X86_R14] = 4,
                                          [STUB_X86_R15] = 5};
    if (!st->fp_set || st->fp_reg != STUB_X86_RBP || st->fp_off != 16 ||
        st->saved[STUB_X86_RBP] != -16)
        return STUB_E_ENCODE;
    int64_t lowest = 0; /* rbp-relative */
    for (unsigned r = 0; r < 32; r++) {
        if (!st->saved[r] || r == STUB_X86_RBP)
            continue;
        int64_t rel = st->saved[r] + 16;
        if (r >= 16 || !slot_code[r] || rel > -8 || rel % 8)
            return STUB_E_ENCODE;
        if (rel < lowest)
            lowest = rel;
    }
    uint32_t offset = (uint32_t)(-lowest / 8), regs = 0;
    if (offset > 5)
        return STUB_E_ENCODE;
    for (unsigned r = 0; r < 16; r++) {
        if (!st->saved[r] || r == STUB_X86_RBP)
            continue;
        uint32_t slot = offset + (uint32_t)((st->saved[r] + 16) / 8); /* from rbp - 8*offset up */
        regs |= (uint32_t)slot_code[r] << (3 * slot);
    }
    *enc = CU_X86_64_RBP_FRAME | offset << 16 | regs;
    return STUB_OK;
}

/* FRAME: CFA = x29 + 16, x29 at CFA-16, x30 at CFA-8, whole pairs of
 * x19-x28 from CFA-24 down, in pair order without gaps. */
static enum stub_err a64_frame(const struct cu_state *st, uint32_t *enc)
{
    if (!st->fp_set || st->fp_reg != STUB_A64_FP || st->fp_off != 16 ||
        st->saved[STUB_A64_FP] != -16 || st->saved[STUB_A64_LR] != -8)
        return STUB_E_ENCODE;
    for (unsigned r = 0; r < 32; r++)
        if (st->saved[r] && (r < 19 || r > 30))
            return STUB_E_ENCODE;
    uint32_t pairs = 0;
    int64_t loc = -24; /* CFA-relative: x29 - 8 */
    for (unsigned k = 0; k < 5; k++) {
        unsigned a = 19 + 2 * k, b = a + 1;
        if (!st->saved[a] && !st->saved[b])
            continue;
        if (st->saved[a] != loc || st->saved[b] != loc - 8)
            return STUB_E_ENCODE;
        pairs |= 1u << k;
        loc -= 16;
    }
    *enc = CU_ARM64_FRAME | pairs;
    return STUB_OK;
}

enum stub_err stub_compact_unwind(const struct stub_code *code, uint32_t *encoding,
                                  uint32_t *head)
{
    if (!code || !encoding)
        return STUB_E_ARG;
    int x86;
    switch (code->abi) {
    case CALLI_ABI_SYSV_X64: case CALLI_ABI_WIN_X64: x86 = 1; break;
    case CALLI_ABI_AAPCS64: case CALLI_ABI_APPLE_ARM64: x86 = 0; break;
    default: return STUB_E_ABI;
    }
    uint32_t frameless = x86 ? CU_X86_64_STACK_IMMD | 1u << 16 : CU_ARM64_FRAMELESS;
    if (head)
        *head = frameless;
    if (!code->has_frame) {
        if (code->nunwind)
            return STUB_E_ENCODE;
        *encoding = frameless;
        return STUB_OK;
    }
    struct cu_state st;
    enum stub_err e = replay(code, x86, &st);
    if (e == STUB_OK)
        e = x86 ? x86_frame(&st, encoding) : a64_frame(&st, encoding);
    return e;
}

/* unwind_win64.c - a Microsoft x64 stub's unwind description as Win64
 * UNWIND_INFO (see stub.h, docs/stubs.md section 9). Pure and freestanding
 * apart from the stub types: no allocation, every write bounds-checked.
 *
 * UNWIND_INFO, version 1:
 *   u8  Version (bits 0-2) | Flags (bits 3-7)
 *   u8  SizeOfProlog
 *   u8  CountOfCodes         16-bit slots that follow
 *   u8  FrameRegister (bits 0-3) | FrameOffset (bits 4-7, scaled by 16)
 *   u16 UnwindCode[CountOfCodes rounded up to even]
 * Each UNWIND_CODE is { u8 CodeOffset; u8 UnwindOp (0-3) | OpInfo (4-7) },
 * some followed by 1 or 2 extra slots; they are listed in reverse program
 * order (the unwinder undoes the prologue from its end).
 */
#include "stub.h"

enum {
    UWOP_PUSH_NONVOL = 0,     /* info: register */
    UWOP_ALLOC_LARGE = 1,     /* info 0: next slot = size / 8; info 1: next two = size */
    UWOP_ALLOC_SMALL = 2,     /* info: size / 8 - 1 (8 to 128 bytes) */
    UWOP_SET_FPREG = 3,       /* FrameRegister = rsp + 16 * FrameOffset */
    UWOP_SAVE_NONVOL = 4,     /* info: register; next slot = offset / 8 */
    UWOP_SAVE_NONVOL_FAR = 5, /* info: register; next two slots = offset */
};

#define MAX_SLOTS 255 /* CountOfCodes is one byte */

/* One prologue step as UNWIND_CODE slots, in the order they are stored. */
static unsigned code_slots(const struct stub_unwind_step *u, uint32_t base, uint16_t slot[3])
{
    uint16_t off = (uint16_t)(u->pc_off - base);
    uint32_t v = (uint32_t)u->value;
    switch (u->op) {
    case STUB_UW_PUSH:
        slot[0] = (uint16_t)(off | (UWOP_PUSH_NONVOL | u->reg << 4) << 8);
        return 1;
    case STUB_UW_ALLOC:
        if (v <= 128) {
            slot[0] = (uint16_t)(off | (UWOP_ALLOC_SMALL | (v / 8 - 1) << 4) << 8);
            return 1;
        }
        if (v / 8 <= 0xffff) {
            slot[0] = (uint16_t)(off | (UWOP_ALLOC_LARGE | 0 << 4) << 8);
            slot[1] = (uint16_t)(v / 8);
            return 2;
        }
        slot[0] = (uint16_t)(off | (UWOP_ALLOC_LARGE | 1 << 4) << 8);
        slot[1] = (uint16_t)v;
        slot[2] = (uint16_t)(v >> 16);
        return 3;
    case STUB_UW_SET_FP:
        slot[0] = (uint16_t)(off | UWOP_SET_FPREG << 8);
        return 1;
    case STUB_UW_SAVE:
        if (v / 8 <= 0xffff) {
            slot[0] = (uint16_t)(off | (UWOP_SAVE_NONVOL | u->reg << 4) << 8);
            slot[1] = (uint16_t)(v / 8);
            return 2;
        }
        slot[0] = (uint16_t)(off | (UWOP_SAVE_NONVOL_FAR | u->reg << 4) << 8);
        slot[1] = (uint16_t)v;
        slot[2] = (uint16_t)(v >> 16);
        return 3;
    default:
        return 0;
    }
}

enum stub_err stub_win64_unwind_info(const struct stub_code *c, uint8_t *out, size_t cap,
                                     size_t *len)
{
    if (!c || !len || (!out && cap))
        return STUB_E_ARG;
    *len = 0;
    if (c->abi != CALLI_ABI_WIN_X64)
        return STUB_E_ABI;
    if (!c->has_frame) { /* a leaf: no codes */
        if (c->nunwind)
            return STUB_E_ENCODE;
        *len = 4;
        if (cap < 4)
            return STUB_E_NOMEM;
        out[0] = 1;
        out[1] = out[2] = out[3] = 0;
        return STUB_OK;
    }
    uint32_t base = c->frame_start;
    if (c->prologue_end < base || c->prologue_end - base > 255 ||
        c->epilogue_start < c->prologue_end || c->epilogue_start > c->len)
        return STUB_E_ENCODE;
    if (c->nunwind && !c->unwind)
        return STUB_E_ENCODE;

    /* The prologue: pushes, one allocation, saves, a frame pointer last. */
    unsigned phase = 0, nslots = 0, npush = 0, fp_reg = 0, fp_off = 0;
    uint8_t pushed[16];
    uint32_t alloc = 0, pc = base, pushed_mask = 0, saved_mask = 0;
    size_t i = 0;
    for (; i < c->nunwind && c->unwind[i].pc_off <= c->prologue_end; i++) {
        const struct stub_unwind_step *u = &c->unwind[i];
        uint16_t slot[3];
        if (u->pc_off < pc || u->pc_off == base || u->reg > 15)
            return STUB_E_ENCODE;
        pc = u->pc_off;
        switch (u->op) {
        case STUB_UW_PUSH:
            if (phase != 0 || u->reg == STUB_X86_RSP || (pushed_mask >> u->reg & 1))
                return STUB_E_ENCODE;
            pushed_mask |= 1u << u->reg;
            pushed[npush++] = u->reg;
            break;
        case STUB_UW_ALLOC:
            if (phase != 0 || u->value <= 0 || u->value % 8)
                return STUB_E_ENCODE;
            alloc = (uint32_t)u->value;
            phase = 1;
            break;
        case STUB_UW_SAVE: /* at [rsp + v] with rsp final: after the allocation */
            if (phase == 0 || u->value < 0 || u->value % 8 || u->reg == STUB_X86_RSP)
                return STUB_E_ENCODE;
            saved_mask |= 1u << u->reg;
            break;
        case STUB_UW_SET_FP:
            if (phase == 2 || u->reg == 0 || u->reg == STUB_X86_RSP || u->value < 0 ||
                u->value > 240 || u->value % 16)
                return STUB_E_ENCODE;
            fp_reg = u->reg;
            fp_off = (unsigned)u->value / 16;
            phase = 2;
            break;
        default:
            return STUB_E_ENCODE;
        }
        unsigned n = code_slots(u, base, slot);
        if (n == 0 || nslots + n > MAX_SLOTS)
            return STUB_E_ENCODE;
        nslots += n;
    }
    size_t nprologue = i;

    /* The epilogue: the registers saved with mov reloaded (body code in
     * Win64 terms), the allocation freed at once, then the pops. */
    size_t k = i;
    while (k < c->nunwind && c->unwind[k].op == STUB_UW_RELOAD && c->unwind[k].reg < 16 &&
           (saved_mask >> c->unwind[k].reg & 1))
        k++;
    if (k < c->nunwind) {
        const struct stub_unwind_step *u = &c->unwind[k];
        if (u->op == STUB_UW_FREE) {
            if ((uint32_t)u->value != alloc || alloc == 0)
                return STUB_E_ENCODE;
            k++;
        } else if (u->op == STUB_UW_SP_FROM_FP) {
            /* lea rsp, [fp + v]: rsp back where the pushes left it */
            if (!fp_reg || u->reg != fp_reg || u->value != (int32_t)alloc - (int32_t)(16 * fp_off))
                return STUB_E_ENCODE;
            k++;
        } else if (alloc) {
            return STUB_E_ENCODE;
        }
    } else if (alloc || npush) {
        return STUB_E_ENCODE;
    }
    for (unsigned p = npush; p-- > 0; k++)
        if (k >= c->nunwind || c->unwind[k].op != STUB_UW_POP || c->unwind[k].reg != pushed[p])
            return STUB_E_ENCODE;
    if (k != c->nunwind)
        return STUB_E_ENCODE;
    for (size_t j = nprologue; j < c->nunwind; j++)
        if (c->unwind[j].pc_off < pc || (pc = c->unwind[j].pc_off) > c->len)
            return STUB_E_ENCODE;

    /* Write it: the header, the codes from the last step back, a pad slot. */
    size_t need = 4 + 2 * (size_t)((nslots + 1) & ~1u);
    *len = need;
    if (cap < need)
        return STUB_E_NOMEM;
    out[0] = 1;
    out[1] = (uint8_t)(c->prologue_end - base);
    out[2] = (uint8_t)nslots;
    out[3] = (uint8_t)(fp_reg | fp_off << 4);
    size_t w = 4;
    for (size_t j = nprologue; j-- > 0;) {
        uint16_t slot[3];
        unsigned n = code_slots(&c->unwind[j], base, slot);
        for (unsigned s = 0; s < n; s++, w += 2) {
            out[w] = (uint8_t)slot[s];
            out[w + 1] = (uint8_t)(slot[s] >> 8);
        }
    }
    if (w < need)
        out[w] = out[w + 1] = 0;
    return STUB_OK;
}

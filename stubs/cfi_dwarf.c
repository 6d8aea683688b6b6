/* cfi_dwarf.c - see cfi_dwarf.h. */
#include <stdlib.h>
#include <string.h>

#include "cfi_dwarf.h"

enum {
    DW_CFA_nop = 0x00,
    DW_CFA_advance_loc = 0x40,
    DW_CFA_offset = 0x80,
    DW_CFA_restore = 0xc0,
    DW_CFA_advance_loc1 = 0x02,
    DW_CFA_advance_loc2 = 0x03,
    DW_CFA_advance_loc4 = 0x04,
    DW_CFA_def_cfa = 0x0c,
    DW_CFA_def_cfa_register = 0x0d,
    DW_CFA_def_cfa_offset = 0x0e,
    DW_EH_PE_pcrel_sdata4 = 0x1b,
    DWARF_X86_RSP = 7,
    DWARF_X86_RA = 16,
};

/* arm64 (AAPCS64 and Apple arm64 share them): x0-x30 are DWARF 0-30, sp 31;
 * instructions are 4 bytes, so advances count in units of 4. */
enum { DWARF_A64_SP = 31, DWARF_A64_RA = 30, A64_CODE_ALIGN = 4 };

static int is_a64(enum calli_abi abi)
{
    return abi == CALLI_ABI_AAPCS64 || abi == CALLI_ABI_APPLE_ARM64;
}

/* Hardware register number -> DWARF x86-64 register number. */
static const uint8_t x86_dwarf[16] = {0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};

static enum cfi_err put(struct cfi_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            return CFI_E_NOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return CFI_OK;
}

static enum cfi_err put8(struct cfi_buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    return put(b, &c, 1);
}

static enum cfi_err put32(struct cfi_buf *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(b, c, 4);
}

static void set32(struct cfi_buf *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[at + i] = (uint8_t)(v >> (8 * i));
}

static enum cfi_err uleb(struct cfi_buf *b, uint64_t v)
{
    enum cfi_err e = CFI_OK;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        e = put8(b, c | (v ? 0x80 : 0));
    } while (v && e == CFI_OK);
    return e;
}

static enum cfi_err sleb(struct cfi_buf *b, int64_t v)
{
    enum cfi_err e;
    int more;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7; /* arithmetic */
        more = !((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40)));
        e = put8(b, c | (more ? 0x80 : 0));
    } while (more && e == CFI_OK);
    return e;
}

/* Pad the entry starting at `start` (its length field) to a multiple of 8
 * and fill in the length. */
static enum cfi_err finish_entry(struct cfi_buf *b, size_t start)
{
    enum cfi_err e = CFI_OK;
    while ((b->len - start) % 8 && e == CFI_OK)
        e = put8(b, DW_CFA_nop);
    if (e == CFI_OK)
        set32(b, start, (uint32_t)(b->len - start - 4));
    return e;
}

/* The arm64 CIE: code alignment 4, data alignment -8, return address
 * column 30 (x30), initial rule CFA = sp + 0 (x30 holds the return address,
 * no register is saved yet). */
static enum cfi_err cie_a64(struct cfi_buf *b, size_t *cie_off)
{
    size_t start = b->len;
    enum cfi_err e = put32(b, 0);                 /* length, filled below */
    if (!e) e = put32(b, 0);                      /* CIE id */
    if (!e) e = put8(b, 1);                       /* version */
    if (!e) e = put(b, "zR", 3);                  /* augmentation */
    if (!e) e = uleb(b, A64_CODE_ALIGN);          /* code alignment */
    if (!e) e = sleb(b, -8);                      /* data alignment */
    if (!e) e = put8(b, DWARF_A64_RA);            /* return address column */
    if (!e) e = uleb(b, 1);                       /* augmentation data length */
    if (!e) e = put8(b, DW_EH_PE_pcrel_sdata4);   /* FDE pointer encoding */
    if (!e) e = put8(b, DW_CFA_def_cfa);          /* CFA = sp + 0 */
    if (!e) e = uleb(b, DWARF_A64_SP);
    if (!e) e = uleb(b, 0);
    if (!e) e = finish_entry(b, start);
    if (!e && cie_off)
        *cie_off = start;
    return e;
}

enum cfi_err cfi_dwarf_cie(struct cfi_buf *b, enum calli_abi abi, size_t *cie_off)
{
    if (is_a64(abi))
        return cie_a64(b, cie_off);
    if (abi != CALLI_ABI_SYSV_X64)
        return CFI_E_ABI;
    size_t start = b->len;
    enum cfi_err e = put32(b, 0);                 /* length, filled below */
    if (!e) e = put32(b, 0);                      /* CIE id */
    if (!e) e = put8(b, 1);                       /* version */
    if (!e) e = put(b, "zR", 3);                  /* augmentation */
    if (!e) e = uleb(b, 1);                       /* code alignment */
    if (!e) e = sleb(b, -8);                      /* data alignment */
    if (!e) e = put8(b, DWARF_X86_RA);            /* return address column */
    if (!e) e = uleb(b, 1);                       /* augmentation data length */
    if (!e) e = put8(b, DW_EH_PE_pcrel_sdata4);   /* FDE pointer encoding */
    if (!e) e = put8(b, DW_CFA_def_cfa);          /* CFA = rsp + 8 */
    if (!e) e = uleb(b, DWARF_X86_RSP);
    if (!e) e = uleb(b, 8);
    if (!e) e = put8(b, DW_CFA_offset | DWARF_X86_RA); /* RA at CFA - 8 */
    if (!e) e = uleb(b, 1);
    if (!e) e = finish_entry(b, start);
    if (!e && cie_off)
        *cie_off = start;
    return e;
}

/* Emitting state of one FDE program: advances are written lazily, right
 * before the next instruction, so steps that change no rule cost nothing. */
struct prog {
    struct cfi_buf *b;
    uint32_t loc, pc; /* pc described so far; pc of the current step */
    enum cfi_err e;
};

static void op(struct prog *p, unsigned opcode)
{
    if (p->e)
        return;
    uint32_t d = p->pc - p->loc;
    if (d == 0) {
    } else if (d < 64) {
        p->e = put8(p->b, DW_CFA_advance_loc | d);
    } else if (d < 256) {
        p->e = put8(p->b, DW_CFA_advance_loc1);
        if (!p->e) p->e = put8(p->b, d);
    } else if (d < 65536) {
        p->e = put8(p->b, DW_CFA_advance_loc2);
        if (!p->e) p->e = put(p->b, (uint8_t[]){(uint8_t)d, (uint8_t)(d >> 8)}, 2);
    } else {
        p->e = put8(p->b, DW_CFA_advance_loc4);
        if (!p->e) p->e = put32(p->b, d);
    }
    p->loc = p->pc;
    if (!p->e)
        p->e = put8(p->b, opcode);
}

static void arg(struct prog *p, uint64_t v)
{
    if (!p->e)
        p->e = uleb(p->b, v);
}

/* One DW_CFA instruction at p->pc, preceded by the advance to it in
 * units of A64_CODE_ALIGN. */
static void a64_op(struct prog *p, unsigned opcode)
{
    if (p->e)
        return;
    uint32_t d = (p->pc - p->loc) / A64_CODE_ALIGN;
    if (d == 0) {
    } else if (d < 64) {
        p->e = put8(p->b, DW_CFA_advance_loc | d);
    } else if (d < 256) {
        p->e = put8(p->b, DW_CFA_advance_loc1);
        if (!p->e) p->e = put8(p->b, d);
    } else if (d < 65536) {
        p->e = put8(p->b, DW_CFA_advance_loc2);
        if (!p->e) p->e = put(p->b, (uint8_t[]){(uint8_t)d, (uint8_t)(d >> 8)}, 2);
    } else {
        p->e = put8(p->b, DW_CFA_advance_loc4);
        if (!p->e) p->e = put32(p->b, d);
    }
    p->loc = p->pc;
    if (!p->e)
        p->e = put8(p->b, opcode);
}

/* arm64: replay the machine actions of each pc (all steps sharing a
 * pc_off take effect together), then emit only the rules that changed: the
 * CFA (on x29 once the frame pointer is set, else on sp) and, per register,
 * "saved at CFA-n" or "restored". */
static enum cfi_err program_a64(const struct stub_code *code, struct cfi_buf *b)
{
    int64_t sp_off = 0;     /* CFA - sp */
    int fp_set = 0;
    unsigned fp_reg = 0;
    int64_t fp_off = 0;     /* CFA - fp */
    int64_t saved[31] = {0}, emitted[31] = {0}; /* CFA-relative (negative); 0: not saved */
    unsigned cfa_reg = DWARF_A64_SP;
    int64_t cfa_off = 0;
    struct prog p = {b, 0, 0, CFI_OK};
    size_t start = b->len;

    for (size_t i = 0; i < code->nunwind && !p.e;) {
        uint32_t pc = code->unwind[i].pc_off;
        if (pc < p.pc || pc > code->len || pc % A64_CODE_ALIGN)
            goto bad;
        for (; i < code->nunwind && code->unwind[i].pc_off == pc; i++) {
            const struct stub_unwind_step *s = &code->unwind[i];
            if (s->reg > 30 && s->op != STUB_UW_ALLOC && s->op != STUB_UW_FREE)
                goto bad;
            switch (s->op) {
            case STUB_UW_ALLOC: sp_off += s->value; break;
            case STUB_UW_FREE: sp_off -= s->value; break;
            case STUB_UW_SAVE:
                saved[s->reg] = s->value - sp_off; /* at sp + value = CFA - sp_off + value */
                if (saved[s->reg] >= 0 || saved[s->reg] % 8)
                    goto bad;
                break;
            case STUB_UW_SET_FP:
                fp_set = 1;
                fp_reg = s->reg;
                fp_off = sp_off - s->value;
                break;
            case STUB_UW_SP_FROM_FP:
                if (!fp_set)
                    goto bad;
                sp_off = fp_off - s->value;
                break;
            case STUB_UW_RELOAD:
                saved[s->reg] = 0;
                if (fp_set && s->reg == fp_reg)
                    fp_set = 0;
                break;
            default: goto bad; /* PUSH / POP: not arm64 */
            }
            if (sp_off < 0 || sp_off % 16)
                goto bad;
        }
        p.pc = pc;
        unsigned want_reg = fp_set ? fp_reg : DWARF_A64_SP;
        int64_t want_off = fp_set ? fp_off : sp_off;
        if (want_off < 0)
            goto bad;
        if (want_reg != cfa_reg && want_off != cfa_off) {
            a64_op(&p, DW_CFA_def_cfa);
            arg(&p, want_reg);
            arg(&p, (uint64_t)want_off);
        } else if (want_reg != cfa_reg) {
            a64_op(&p, DW_CFA_def_cfa_register);
            arg(&p, want_reg);
        } else if (want_off != cfa_off) {
            a64_op(&p, DW_CFA_def_cfa_offset);
            arg(&p, (uint64_t)want_off);
        }
        cfa_reg = want_reg;
        cfa_off = want_off;
        for (unsigned r = 0; r < 31; r++) {
            if (saved[r] == emitted[r])
                continue;
            if (saved[r]) {
                a64_op(&p, DW_CFA_offset | r);
                arg(&p, (uint64_t)(-saved[r] / 8));
            } else {
                a64_op(&p, DW_CFA_restore | r);
            }
            emitted[r] = saved[r];
        }
    }
    if (p.e)
        b->len = start;
    return p.e;
bad:
    b->len = start;
    return CFI_E_UNWIND;
}

enum cfi_err cfi_dwarf_program(const struct stub_code *code, struct cfi_buf *b)
{
    if (is_a64(code->abi))
        return program_a64(code, b);
    if (code->abi != CALLI_ABI_SYSV_X64)
        return CFI_E_ABI;
    /* cfa_reg/cfa_off: the current CFA rule; sp_off = CFA - rsp;
     * fp_off = CFA - fp once a frame pointer is set. */
    unsigned cfa_reg = STUB_X86_RSP;
    int64_t cfa_off = 8, sp_off = 8, fp_off = 0;
    struct prog p = {b, 0, 0, CFI_OK};
    size_t start = b->len;

    for (size_t i = 0; i < code->nunwind && !p.e; i++) {
        const struct stub_unwind_step *s = &code->unwind[i];
        if (s->pc_off < p.pc || s->pc_off > code->len || s->reg > 15)
            goto bad;
        p.pc = s->pc_off;
        unsigned dw = x86_dwarf[s->reg];
        switch (s->op) {
        case STUB_UW_PUSH: sp_off += 8; break;
        case STUB_UW_ALLOC: sp_off += s->value; break;
        case STUB_UW_FREE: sp_off -= s->value; break;
        case STUB_UW_SP_FROM_FP: sp_off = fp_off - s->value; break;
        case STUB_UW_POP: sp_off -= 8; break;
        case STUB_UW_SET_FP: case STUB_UW_RELOAD: break;
        default: goto bad;
        }
        if (sp_off <= 0 || sp_off % 8)
            goto bad;
        switch (s->op) {
        case STUB_UW_PUSH: /* saved at CFA - sp_off */
            if (cfa_reg == STUB_X86_RSP) {
                op(&p, DW_CFA_def_cfa_offset);
                arg(&p, (uint64_t)(cfa_off = sp_off));
            }
            op(&p, DW_CFA_offset | dw);
            arg(&p, (uint64_t)sp_off / 8);
            break;
        case STUB_UW_ALLOC: case STUB_UW_FREE: case STUB_UW_SP_FROM_FP:
            if (cfa_reg == STUB_X86_RSP) {
                op(&p, DW_CFA_def_cfa_offset);
                arg(&p, (uint64_t)(cfa_off = sp_off));
            }
            break;
        case STUB_UW_SET_FP:
            fp_off = sp_off - s->value;
            if (fp_off == cfa_off) {
                op(&p, DW_CFA_def_cfa_register);
                arg(&p, dw);
            } else {
                op(&p, DW_CFA_def_cfa);
                arg(&p, dw);
                arg(&p, (uint64_t)fp_off);
            }
            cfa_reg = s->reg;
            cfa_off = fp_off;
            break;
        case STUB_UW_POP:
            if (s->reg == cfa_reg) { /* popping the frame pointer: back to rsp */
                cfa_reg = STUB_X86_RSP;
                op(&p, DW_CFA_def_cfa);
                arg(&p, DWARF_X86_RSP);
                arg(&p, (uint64_t)(cfa_off = sp_off));
            } else if (cfa_reg == STUB_X86_RSP) {
                op(&p, DW_CFA_def_cfa_offset);
                arg(&p, (uint64_t)(cfa_off = sp_off));
            }
            op(&p, DW_CFA_restore | dw);
            break;
        case STUB_UW_RELOAD:
            op(&p, DW_CFA_restore | dw);
            break;
        }
    }
    return p.e;
bad:
    b->len = start;
    return CFI_E_UNWIND;
}

enum cfi_err cfi_dwarf_fde(struct cfi_buf *b, size_t cie_off, const struct stub_code *code,
                           uint64_t base, uint64_t func, size_t *pc_field)
{
    if (code->abi != CALLI_ABI_SYSV_X64 && !is_a64(code->abi))
        return CFI_E_ABI;
    if (cie_off > b->len || code->len > UINT32_MAX)
        return CFI_E_UNWIND;
    size_t start = b->len, field = start + 8;
    int64_t rel = (int64_t)(func - (base + field));
    if (rel != (int32_t)rel)
        return CFI_E_RANGE;
    enum cfi_err e = put32(b, 0);                              /* length */
    if (!e) e = put32(b, (uint32_t)(b->len - cie_off));        /* CIE pointer */
    if (!e) e = put32(b, (uint32_t)rel);                       /* pc_begin, pcrel */
    if (!e) e = put32(b, (uint32_t)code->len);                 /* pc_range */
    if (!e) e = uleb(b, 0);                                    /* augmentation data */
    if (!e) e = cfi_dwarf_program(code, b);
    if (!e) e = finish_entry(b, start);
    if (e) {
        b->len = start;
        return e;
    }
    if (pc_field)
        *pc_field = field;
    return CFI_OK;
}

enum cfi_err cfi_dwarf_end(struct cfi_buf *b)
{
    return put32(b, 0);
}

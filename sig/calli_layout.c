/* calli_layout.c - argument locations per ABI (see calli_layout.h).
 *
 * Every v1 type is a scalar of at most 8 bytes, so classification is simple:
 * R4/R8 are floating-point class, everything else (BOOL, CHAR, integers,
 * pointers, STRING) is integer class. Marshaling never changes an argument's
 * class, so the managed and native sides use the same registers; they can
 * differ only in stack layout, and only on Apple arm64, where stack
 * arguments are packed at their natural size and alignment and a managed
 * bool (1 byte) becomes a native BOOL (4 bytes).
 */
#include "calli_layout.h"

int calli_type_is_fp(uint8_t type)
{
    return type == CALLI_T_R4 || type == CALLI_T_R8;
}

unsigned calli_type_managed_size(uint8_t type)
{
    switch (type) {
    case CALLI_T_BOOL: case CALLI_T_I1: case CALLI_T_U1:
        return 1;
    case CALLI_T_CHAR: case CALLI_T_I2: case CALLI_T_U2:
        return 2;
    case CALLI_T_I4: case CALLI_T_U4: case CALLI_T_R4:
        return 4;
    case CALLI_T_I8: case CALLI_T_U8: case CALLI_T_R8: case CALLI_T_I:
    case CALLI_T_U: case CALLI_T_PTR: case CALLI_T_FNPTR: case CALLI_T_STRING:
        return 8;
    default:
        return 0;
    }
}

unsigned calli_type_native_size(uint8_t type)
{
    /* BOOL becomes a 32-bit Win32 BOOL; STRING a pointer; the rest keep
     * their size (their register value is extended to 32 bits, spec 3). */
    return type == CALLI_T_BOOL ? 4 : calli_type_managed_size(type);
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Place one stack argument of the given size; returns its offset. */
static uint32_t stack_place(uint32_t *cursor, unsigned size, int packed)
{
    uint32_t off;
    if (packed) { /* Apple arm64: natural size and alignment */
        off = align_up(*cursor, size);
        *cursor = off + size;
    } else {      /* SysV, Win64, AAPCS64: one 8-byte slot each */
        off = *cursor;
        *cursor = off + 8;
    }
    return off;
}

int calli_layout_compute(const struct calli_sig *sig, enum calli_abi abi,
                         struct calli_layout *out)
{
    unsigned ngpr, nfpr;
    int positional = 0, packed = 0;

    switch (abi) {
    case CALLI_ABI_SYSV_X64: ngpr = 6; nfpr = 8; break;
    case CALLI_ABI_WIN_X64: ngpr = 4; nfpr = 4; positional = 1; break;
    case CALLI_ABI_AAPCS64: ngpr = 8; nfpr = 8; break;
    case CALLI_ABI_APPLE_ARM64: ngpr = 8; nfpr = 8; packed = 1; break;
    default: return -1;
    }
    if (!sig || !out || sig->nparams > CALLI_SIG_MAX_PARAMS)
        return -1;

    out->abi = abi;
    out->nparams = sig->nparams;
    out->ngpr = (uint8_t)ngpr;
    out->nfpr = (uint8_t)nfpr;
    out->ret_kind = sig->ret == CALLI_T_VOID ? 0
                  : calli_type_is_fp(sig->ret) ? CALLI_LOC_FPR : CALLI_LOC_GPR;

    unsigned gpr = 0, fpr = 0;
    uint32_t mcur = 0, ncur = 0;
    for (unsigned i = 0; i < sig->nparams; i++) {
        uint8_t t = sig->params[i];
        int fp = calli_type_is_fp(t);
        struct calli_loc *m = &out->managed[i], *n = &out->native[i];
        unsigned msize = calli_type_managed_size(t), nsize = calli_type_native_size(t);
        if (msize == 0)
            return -1; /* not a v1 parameter type */

        m->reserved = n->reserved = 0;
        m->size = (uint8_t)msize;
        n->size = (uint8_t)nsize;
        m->stack_off = n->stack_off = 0;

        unsigned idx;
        int in_reg;
        if (positional) { /* Win64: argument i uses register slot i of either class */
            idx = i;
            in_reg = i < ngpr;
        } else if (fp) {
            idx = fpr;
            in_reg = fpr < nfpr;
            fpr += in_reg;
        } else {
            idx = gpr;
            in_reg = gpr < ngpr;
            gpr += in_reg;
        }
        if (in_reg) {
            m->kind = n->kind = fp ? CALLI_LOC_FPR : CALLI_LOC_GPR;
            m->reg = n->reg = (uint8_t)idx;
        } else {
            m->kind = n->kind = CALLI_LOC_STACK;
            m->reg = n->reg = 0;
            m->stack_off = stack_place(&mcur, msize, packed);
            n->stack_off = stack_place(&ncur, nsize, packed);
        }
    }
    out->managed_stack_size = align_up(mcur, 8);
    out->native_stack_size = align_up(ncur, 16);
    return 0;
}

/* calli_layout.h - where each argument of a v1 signature lives, on the
 * managed side (what the call site passes) and on the native side (what the
 * target receives), for each supported ABI. Shared by the runtime's generic
 * helper and the stub generators. Freestanding.
 *
 * All v1 types are scalars of at most 8 bytes, so each argument takes one
 * general-purpose register, one floating-point register or one stack slot.
 */
#ifndef CALLI_LAYOUT_H
#define CALLI_LAYOUT_H

#include <stdint.h>
#include "calli_sig.h"

#ifdef __cplusplus
extern "C" {
#endif

enum calli_abi {
    CALLI_ABI_SYSV_X64 = 1,  /* x86-64 System V (ELF, Mach-O x86-64) */
    CALLI_ABI_WIN_X64 = 2,   /* Microsoft x64 (PE) */
    CALLI_ABI_AAPCS64 = 3,   /* AAPCS64 (ELF arm64, Windows arm64) */
    CALLI_ABI_APPLE_ARM64 = 4, /* Apple arm64 (Mach-O): packed stack args */
};

enum calli_loc_kind { CALLI_LOC_GPR = 1, CALLI_LOC_FPR = 2, CALLI_LOC_STACK = 3 };

struct calli_loc {
    uint8_t kind;       /* enum calli_loc_kind */
    uint8_t reg;        /* register index in the ABI's argument sequence */
    uint8_t size;       /* bytes the value occupies at this location */
    uint8_t reserved;
    uint32_t stack_off; /* CALLI_LOC_STACK: byte offset from the first stack
                           argument (the caller's sp at the call, past the
                           Win64 home area; arm64: sp) */
};

struct calli_layout {
    enum calli_abi abi;
    uint16_t nparams;
    uint8_t ngpr, nfpr;           /* argument registers the ABI has */
    uint32_t managed_stack_size;  /* bytes of stack arguments, managed side */
    uint32_t native_stack_size;   /* bytes of stack arguments, native side (16-aligned) */
    struct calli_loc managed[CALLI_SIG_MAX_PARAMS];
    struct calli_loc native[CALLI_SIG_MAX_PARAMS];
    uint8_t ret_kind;             /* 0 void, CALLI_LOC_GPR or CALLI_LOC_FPR */
};

/* 1 for types passed in floating-point registers (R4, R8). */
int calli_type_is_fp(uint8_t type);
/* Bytes of the value on each side (managed: bool 1, char 2, ...; native:
 * bool 4 (BOOL), small integers as their own size, string 8). */
unsigned calli_type_managed_size(uint8_t type);
unsigned calli_type_native_size(uint8_t type);

/* Compute the layout. Returns 0, or -1 for an unknown ABI. */
int calli_layout_compute(const struct calli_sig *sig, enum calli_abi abi,
                         struct calli_layout *out);

#ifdef __cplusplus
}
#endif
#endif

/* mathlib/sites.S - legacy call sites into libm and libc arithmetic through
 * the generic helper. 0x0D float64, 0x0C float32, 0x08 int32, 0x0A int64,
 * 0x06 int16. All suppress the GC transition (flags 1) except hypot. */
    .intel_syntax noprefix
#include "../calli_x86_64.inc"

/* float64 pow(float64, float64) */
COOKIE ck_pow, 1, 0, 0x09, 2, 0x0D, 0x0D, 0x0D
/* float64 hypot(float64, float64), with the GC transition (runtime table) */
COOKIE ck_hypot, 0, calli_refrt_default, 0x02, 2, 0x0D, 0x0D, 0x0D
/* float64 ldexp(float64, int32) */
COOKIE ck_ldexp, 1, 0, 0x09, 2, 0x0D, 0x0D, 0x08
/* float32 fmaf(float32, float32, float32) */
COOKIE ck_fmaf, 1, 0, 0x09, 3, 0x0C, 0x0C, 0x0C, 0x0C
/* int64 llabs(int64) */
COOKIE ck_llabs, 1, 0, 0x09, 1, 0x0A, 0x0A
/* int32 abs(int16): the int16 argument is sign-extended by the marshaler */
COOKIE ck_abs16, 1, 0, 0x09, 1, 0x08, 0x06

CALLI_SITE m_pow, pow, ck_pow
CALLI_SITE m_hypot, hypot, ck_hypot
CALLI_SITE m_ldexp, ldexp, ck_ldexp
CALLI_SITE m_fmaf, fmaf, ck_fmaf
CALLI_SITE m_llabs, llabs, ck_llabs
CALLI_SITE m_abs16, abs, ck_abs16

    .section .note.GNU-stack, "", @progbits

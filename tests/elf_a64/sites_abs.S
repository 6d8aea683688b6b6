/* sites_abs.S - cookies by literal pools the assembler builds (ldr x15,
 * =sym: an absolute address, R_AARCH64_ABS64 on the literal), the large
 * code model's movz/movk (not a cookie form), and blr through the helper's
 * address computed by adrp + add (what a linker that relaxes GOT loads
 * leaves of the blr form): only in objects and non-PIE executables. */
#include "calli.inc"

COOKIE ck_abs_a, 0, 0, 0x09, 1, 0x08, 0x0C              /* int32 (float32) */
COOKIE ck_abs_b, 1, 0, 0x09, 1, 0x18, 0x18              /* nint (nint) suppress-gc */
COOKIE ck_abs_c, 0, 0, 0x09, 3, 0x01, 0x06, 0x07, 0x1B, 0x01, 0, 0x01 /* void (int16, uint16, fnptr) */

FUNC a_lit
    PROLOGUE
    mov x12, x0
    ldr x15, =ck_abs_a
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF a_lit

FUNC a_lit_tail
    ldr x15, =ck_abs_b
    mov x12, x0
    b GenericPInvokeCalliHelper
ENDF a_lit_tail
    .ltorg

/* movz/movk: not a cookie form (the large code model) */
FUNC a_movk
    PROLOGUE
    movz x15, #:abs_g3:ck_abs_c
    movk x15, #:abs_g2_nc:ck_abs_c
    movk x15, #:abs_g1_nc:ck_abs_c
    movk x15, #:abs_g0_nc:ck_abs_c
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF a_movk

FUNC a_blr_addr
    PROLOGUE
    ADRPADD x16, GenericPInvokeCalliHelper
    ldr x15, =ck_abs_c
    mov x12, x0
    blr x16
    EPILOGUE
ENDF a_blr_addr
    .ltorg

    .section .note.GNU-stack, "", %progbits

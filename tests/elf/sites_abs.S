/* sites_abs.S - cookies by absolute immediates (mov r11d, imm32;
 * mov r11, simm32; movabs r11, imm64): only in objects and non-PIE
 * executables. */
    .intel_syntax noprefix
#include "calli.inc"

COOKIE ck_abs_a, 0, 0, 0x09, 1, 0x08, 0x0C              /* int32 (float32) */
COOKIE ck_abs_b, 1, 0, 0x09, 1, 0x18, 0x18              /* nint (nint) suppress-gc */
COOKIE ck_abs_c, 0, 0, 0x09, 3, 0x01, 0x06, 0x07, 0x1B, 0x01, 0, 0x01 /* void (int16, uint16, fnptr) */

FUNC a_imm32
    mov r10, rdi
    mov r11d, offset ck_abs_a
    call GenericPInvokeCalliHelper
    ret
ENDF a_imm32

FUNC a_simm32
    mov r10, rdi
    mov r11, offset ck_abs_b
    call GenericPInvokeCalliHelper
    ret
ENDF a_simm32

FUNC a_movabs
    movabs r11, offset ck_abs_c
    mov r10, rdi
    jmp GenericPInvokeCalliHelper
ENDF a_movabs

    .section .note.GNU-stack, "", @progbits

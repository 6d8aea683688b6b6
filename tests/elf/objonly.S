/* objonly.S - forms only a relocatable object can have: a cookie symbol
 * this object does not define, an absolute cookie address without a
 * relocation, a cookie in the same section reached without a relocation,
 * all calling a helper defined (locally) in the same section, which the
 * assembler resolves without a relocation. */
    .intel_syntax noprefix
#include "calli.inc"

FUNC o_extern_cookie
    lea r11, [rip + ext_cookie]
    mov r10, rdi
    call GenericPInvokeCalliHelper
    ret
ENDF o_extern_cookie

FUNC o_abs_noreloc
    mov r11d, 0x1234
    mov r10, rdi
    call GenericPInvokeCalliHelper
    ret
ENDF o_abs_noreloc

FUNC o_local
    lea r11, [rip + .Lck_text]
    mov r10, rdi
    call GenericPInvokeCalliHelper
    ret
ENDF o_local

    .type GenericPInvokeCalliHelper, @function   /* local: no relocation */
GenericPInvokeCalliHelper:
    jmp r10
    .size GenericPInvokeCalliHelper, . - GenericPInvokeCalliHelper

    .p2align 3
.Lck_text:                        /* int32 (int32) */
    .long 0x494C4143
    .short 1, 0
    .quad 0, 0
    .long 4
    .byte 0x09, 1, 0x08, 0x08

    .section .note.GNU-stack, "", @progbits

/* objonly.S - forms only a relocatable object can have: a cookie symbol
 * this object does not define, adrp and add naming different cookies, a
 * cookie in the same section reached by adr or by a literal without a
 * relocation, all calling a helper defined (locally) in the same section,
 * which the assembler resolves without a relocation. */
#include "calli.inc"

COOKIE ck_o_a, 0, 0, 0x09, 1, 0x08, 0x08                /* int32 (int32) */
COOKIE ck_o_b, 0, 0, 0x09, 1, 0x08, 0x08

FUNC o_extern_cookie
    ADRPADD x15, ext_cookie
    mov x12, x0
    b GenericPInvokeCalliHelper
ENDF o_extern_cookie

FUNC o_mismatch
    adrp x15, ck_o_a
    add x15, x15, :lo12:ck_o_b
    mov x12, x0
    b GenericPInvokeCalliHelper
ENDF o_mismatch

FUNC o_adr_local
    adr x15, .Lck_text
    mov x12, x0
    b GenericPInvokeCalliHelper
ENDF o_adr_local

FUNC o_lit_local
    ldr x15, .Lckptr_text
    mov x12, x0
    b GenericPInvokeCalliHelper
ENDF o_lit_local

    .type GenericPInvokeCalliHelper, %function   /* local: no relocation */
GenericPInvokeCalliHelper:
    mov x16, x12
    br x16
    .size GenericPInvokeCalliHelper, . - GenericPInvokeCalliHelper

    .p2align 3
.Lck_text:                        /* int32 (int32) */
    .word 0x494C4143
    .hword 1, 0
    .xword 0, 0
    .word 4
    .byte 0x09, 1, 0x08, 0x08
    .p2align 3
.Lckptr_text:
    .xword ck_o_a

    .section .note.GNU-stack, "", %progbits

/* far.S - sites whose helper is out of bl range (the helper is placed in
 * its own section .farhelper far away by the link): the linker reaches it
 * through a veneer (a range-extension thunk), which must count as the
 * helper; f_thunk calls it through a hand-written veneer of lld's
 * AbsLongThunk shape (ldr x16, lit; br x16; lit: .xword helper), whose
 * br x16 is no site of its own. main calls all three sites. */
#include "calli.inc"

COOKIE ck_f_a, 0, 0, 0x09, 1, 0x08, 0x08                /* int32 (int32) */

FUNC f_add1
    add w0, w0, #1
    ret
ENDF f_add1

FUNC f_bl
    PROLOGUE
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_f_a
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF f_bl

FUNC f_tail
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_f_a
    b GenericPInvokeCalliHelper
ENDF f_tail

FUNC f_thunk
    PROLOGUE
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_f_a
    bl abs_thunk
    EPILOGUE
ENDF f_thunk

    .text
    .p2align 3
abs_thunk:                              /* no symbol type, no size, no CFI */
    bti c
    ldr x16, 1f
    br x16
1:  .xword GenericPInvokeCalliHelper

FUNC main
    PROLOGUE
    ADRPADD x0, f_add1
    mov w1, #39
    bl f_bl
    mov w1, w0
    ADRPADD x0, f_add1
    bl f_tail
    mov w1, w0
    ADRPADD x0, f_add1
    bl f_thunk
    sub w0, w0, #42
    EPILOGUE
ENDF main

    .section .farhelper, "ax", %progbits
    .p2align 2
    .globl GenericPInvokeCalliHelper
    .type GenericPInvokeCalliHelper, %function
GenericPInvokeCalliHelper:               /* no CFI: .eh_frame's 32-bit */
    bti c                                /* offsets cannot reach 8 GiB away */
    mov x16, x12
    br x16
    .size GenericPInvokeCalliHelper, . - GenericPInvokeCalliHelper

    .section .note.GNU-stack, "", %progbits

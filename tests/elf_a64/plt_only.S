/* plt_only.S - sites that reach an imported helper only by bl / b, so the
 * linker gives it a lazy PLT entry and a JUMP_SLOT (with BTI: a bti c
 * entry). main calls its site, through the real helper. */
#include "calli.inc"

COOKIE ck_q_a, 0, 0, 0x09, 1, 0x08, 0x08                /* int32 (int32) */

FUNC q_add1
    add w0, w0, #1
    ret
ENDF q_add1

FUNC main
    PROLOGUE
    ADRPADD x15, ck_q_a
    ADRPADD x12, q_add1
    mov w0, #41
    bl GenericPInvokeCalliHelper
    sub w0, w0, #42                     /* 0 when the helper called q_add1(41) */
    EPILOGUE
ENDF main

FUNC q_tail
    mov x12, x0
    ADRPADD x15, ck_q_a
    b GenericPInvokeCalliHelper
ENDF q_tail

    .section .note.GNU-stack, "", %progbits

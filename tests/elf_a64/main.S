/* main.S - the entry point of the test executables: calls the rewritable
 * sites of sites_pic.S that the generic helper can marshal (through the
 * real runtime when it is built), checks each result, returns 0 when all
 * are right, else the number of the first wrong one. */
#include "calli.inc"

FUNC t_add1
    add x0, x0, #1
    ret
ENDF t_add1

FUNC t_void
    ret
ENDF t_void

/* CHECK n, function, target, argument, expected */
.macro CHECK n, f, t, arg, want
    ADRPADD x0, \t
    mov x1, #\arg
    bl \f
    mov w19, #\n
    cmp x0, #\want
    b.ne 9f
.endm

FUNC main
    PROLOGUE
    str x19, [sp, #-16]!
    CHECK 1, p_bl, t_add1, 41, 42
    CHECK 2, p_tail, t_add1, 1, 2
    CHECK 3, p_tail_got, t_add1, 99, 100
    CHECK 4, p_cookie_got, t_add1, 6, 7
    CHECK 5, p_two, t_add1, 40, 42
    CHECK 6, p_cookie_ptr, t_add1, 9, 10
    CHECK 7, p_between, t_add1, 3, 4
    ADRPADD x0, t_void
    bl p_blr_got
    mov w19, #0
9:  mov w0, w19
    ldr x19, [sp], #16
    EPILOGUE
ENDF main

    .section .note.GNU-stack, "", %progbits

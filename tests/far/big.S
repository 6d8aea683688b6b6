/* big.S - an arm64 program whose text is larger than BL's 128 MiB reach,
 * with a 256 MiB .bss that puts the stub segment far above the text too:
 *   .text.a  sites A (bl, b)   -- 136 MiB before the end of the text
 *   .text.b  136 MiB of filler
 *   .text.c  sites B (bl, b), the helper, main
 *   .bss     256 MiB
 * Rewritten, sites B reach their stub through a range-extension veneer in
 * the free bytes after the executable segment; sites A reach neither the
 * stubs nor any free bytes and are left, with the reason. main checks
 * every result and returns 0; its output names each call. */
#include "../elf_a64/calli.inc"

COOKIE ck_i, 0, 0, 0x09, 1, 0x08, 0x08                 /* int32 (int32) */

.macro FN name, sec
    .section \sec, "ax", %progbits
    .globl \name
    .type \name, %function
    .p2align 4
\name:
    .cfi_startproc
    bti c
.endm

FN f_add1, .text.a
    add w0, w0, #1
    ret
ENDF f_add1

FN a_bl, .text.a
    PROLOGUE
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF a_bl

FN a_tail, .text.a
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i
    b GenericPInvokeCalliHelper
ENDF a_tail

    .section .text.b, "ax", %progbits
    .skip 136 * 1024 * 1024

FN b_bl, .text.c
    PROLOGUE
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF b_bl

FN b_tail, .text.c
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i
    b GenericPInvokeCalliHelper
ENDF b_tail

/* The generic helper of these tests: jump to the target (x12). */
FN GenericPInvokeCalliHelper, .text.c
    mov x16, x12
    br x16
ENDF GenericPInvokeCalliHelper

/* main: w19 = 0, then four calls each adding 1; returns 4 - 4 = 0 */
FN main, .text.c
    PROLOGUE
    str x19, [sp, #-16]!
    mov w19, #0
    ADRPADD x0, f_add1
    mov w1, w19
    bl a_bl
    mov w19, w0
    ADRPADD x0, f_add1
    mov w1, w19
    bl a_tail
    mov w19, w0
    ADRPADD x0, f_add1
    mov w1, w19
    bl b_bl
    mov w19, w0
    ADRPADD x0, f_add1
    mov w1, w19
    bl b_tail
    sub w0, w0, #4
    ldr x19, [sp], #16
    EPILOGUE
ENDF main

    .bss
    .p2align 12
    .globl big_bss
big_bss:
    .skip 256 * 1024 * 1024

    .section .note.GNU-stack, "", %progbits

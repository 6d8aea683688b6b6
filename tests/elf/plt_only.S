/* plt_only.S - sites that reach an imported helper only through @PLT, so
 * the linker gives it a lazy PLT entry and a JUMP_SLOT (with -z ibt: an
 * endbr64 entry in .plt.sec). */
    .intel_syntax noprefix
#include "calli.inc"

COOKIE ck_q_a, 0, 0, 0x09, 2, 0x0C, 0x0C, 0x08          /* float32 (float32, int32) */

FUNC main
    sub rsp, 8
    lea r11, [rip + ck_q_a]
    lea r10, [rip + main]
    call GenericPInvokeCalliHelper@PLT
    xor eax, eax
    add rsp, 8
    ret
ENDF main

FUNC q_tail
    mov r10, rdi
    lea r11, [rip + ck_q_a]
    jmp GenericPInvokeCalliHelper@PLT
ENDF q_tail

    .section .note.GNU-stack, "", @progbits

/* helper_x86_64_win.S - GenericPInvokeCalliHelper and the invoke trampoline
 * for the Microsoft x64 convention (PE/COFF, mingw). See docs/runtime.md and
 * runtime/calli_dispatch.h.
 *
 * Entry (spec section 1): target in r10, cookie in r11, managed arguments by
 * position in rcx rdx r8 r9 / xmm0-3, stack arguments from [rsp+40] (return
 * address + the caller's 32-byte home area). Exit: rax / xmm0 hold the
 * marshaled result; rbx rbp rdi rsi r12-r15 xmm6-15 preserved (the helper
 * touches none of them; the C dispatcher preserves them by convention).
 * Unwind information: .seh_* directives (UNWIND_INFO with rbp as the frame
 * register), so RtlVirtualUnwind walks through both frames.
 */
#include "calli_dispatch.h"

    .intel_syntax noprefix
    .text

    .globl GenericPInvokeCalliHelper
    .def GenericPInvokeCalliHelper; .scl 2; .type 32; .endef
    .p2align 4
GenericPInvokeCalliHelper:
    .seh_proc GenericPInvokeCalliHelper
    push rbp
    .seh_pushreg rbp
    mov rbp, rsp
    .seh_setframe rbp, 0
    sub rsp, CALLI_REGS_SIZE + 32     /* save area + home area of the dispatcher call */
    .seh_stackalloc CALLI_REGS_SIZE + 32
    .seh_endprologue
    and rsp, -16                      /* defensive: aligned even if the site was not */
    mov [rsp + 32 + CALLI_REGS_GPR + 0], rcx
    mov [rsp + 32 + CALLI_REGS_GPR + 8], rdx
    mov [rsp + 32 + CALLI_REGS_GPR + 16], r8
    mov [rsp + 32 + CALLI_REGS_GPR + 24], r9
    movaps [rsp + 32 + CALLI_REGS_FPR + 0], xmm0
    movaps [rsp + 32 + CALLI_REGS_FPR + 16], xmm1
    movaps [rsp + 32 + CALLI_REGS_FPR + 32], xmm2
    movaps [rsp + 32 + CALLI_REGS_FPR + 48], xmm3
    lea rcx, [rsp + 32]               /* save area */
    lea rdx, [rbp + 48]               /* managed stack arguments: entry rsp + 40 */
    mov r8, r10                       /* target */
    mov r9, r11                       /* cookie */
    call calli_rt_dispatch
    mov rax, [rsp + 32 + CALLI_REGS_RET_GPR]
    movaps xmm0, [rsp + 32 + CALLI_REGS_RET_FPR]
    lea rsp, [rbp]
    pop rbp
    ret
    .seh_endproc

/* void calli_rt_invoke(struct calli_invoke *inv) */
    .globl calli_rt_invoke
    .def calli_rt_invoke; .scl 2; .type 32; .endef
    .p2align 4
calli_rt_invoke:
    .seh_proc calli_rt_invoke
    push rbp
    .seh_pushreg rbp
    push rbx
    .seh_pushreg rbx
    mov rbp, rsp
    .seh_setframe rbp, 0
    .seh_endprologue
    mov rbx, rcx
    mov rcx, [rbx + CALLI_INVOKE_STACK_SIZE]
    lea rax, [rcx + 32]               /* stack arguments + the target's home area */
    sub rsp, rax
    and rsp, -16
    mov r8, [rbx + CALLI_INVOKE_STACK]
    xor eax, eax
1:  cmp rax, rcx
    jae 2f
    mov rdx, [r8 + rax]
    mov [rsp + 32 + rax], rdx
    add rax, 8
    jmp 1b
2:  movdqu xmm0, [rbx + CALLI_REGS_FPR + 0]
    movdqu xmm1, [rbx + CALLI_REGS_FPR + 16]
    movdqu xmm2, [rbx + CALLI_REGS_FPR + 32]
    movdqu xmm3, [rbx + CALLI_REGS_FPR + 48]
    mov rcx, [rbx + CALLI_REGS_GPR + 0]
    mov rdx, [rbx + CALLI_REGS_GPR + 8]
    mov r8, [rbx + CALLI_REGS_GPR + 16]
    mov r9, [rbx + CALLI_REGS_GPR + 24]
    call [rbx + CALLI_INVOKE_TARGET]
    mov [rbx + CALLI_REGS_RET_GPR], rax
    movdqu [rbx + CALLI_REGS_RET_FPR], xmm0
    lea rsp, [rbp]
    pop rbx
    pop rbp
    ret
    .seh_endproc

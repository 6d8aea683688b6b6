/* helper_x86_64_sysv.S - GenericPInvokeCalliHelper and the invoke trampoline
 * for x86-64 System V, ELF and Mach-O (runtime/asm_sym.h: what differs). See
 * docs/runtime.md and runtime/calli_dispatch.h.
 *
 * Entry (spec section 1): target in r10, cookie in r11, managed arguments in
 * rdi rsi rdx rcx r8 r9 / xmm0-7 and on the stack from [rsp+8] (entered by
 * `call`; a tail `jmp` from a frameless point leaves the same state).
 * Exit: rax / xmm0 hold the marshaled result; rbx rbp r12-r15 preserved.
 */
#include "asm_sym.h"
#include "calli_dispatch.h"

    .intel_syntax noprefix
    .text

/* void GenericPInvokeCalliHelper(void) - special convention, see above. */
    FUNC_BEGIN(GenericPInvokeCalliHelper)
    .p2align 4
CSYM(GenericPInvokeCalliHelper):
    .cfi_startproc
    ELF_ONLY(endbr64)
    push rbp
    .cfi_def_cfa_offset 16
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    sub rsp, CALLI_REGS_SIZE
    and rsp, -16                      /* defensive: aligned even if the site was not */
    mov [rsp + CALLI_REGS_GPR + 0], rdi
    mov [rsp + CALLI_REGS_GPR + 8], rsi
    mov [rsp + CALLI_REGS_GPR + 16], rdx
    mov [rsp + CALLI_REGS_GPR + 24], rcx
    mov [rsp + CALLI_REGS_GPR + 32], r8
    mov [rsp + CALLI_REGS_GPR + 40], r9
    movaps [rsp + CALLI_REGS_FPR + 0], xmm0
    movaps [rsp + CALLI_REGS_FPR + 16], xmm1
    movaps [rsp + CALLI_REGS_FPR + 32], xmm2
    movaps [rsp + CALLI_REGS_FPR + 48], xmm3
    movaps [rsp + CALLI_REGS_FPR + 64], xmm4
    movaps [rsp + CALLI_REGS_FPR + 80], xmm5
    movaps [rsp + CALLI_REGS_FPR + 96], xmm6
    movaps [rsp + CALLI_REGS_FPR + 112], xmm7
    mov rdi, rsp                      /* save area */
    lea rsi, [rbp + 16]               /* managed stack arguments: entry rsp + 8 */
    mov rdx, r10                      /* target */
    mov rcx, r11                      /* cookie */
    call CSYM(calli_rt_dispatch)
    mov rax, [rsp + CALLI_REGS_RET_GPR]
    movaps xmm0, [rsp + CALLI_REGS_RET_FPR]
    leave
    .cfi_def_cfa rsp, 8
    ret
    .cfi_endproc
    FUNC_END(GenericPInvokeCalliHelper)

/* void calli_rt_invoke(struct calli_invoke *inv) */
    FUNC_BEGIN(calli_rt_invoke)
    HIDDEN(calli_rt_invoke)
    .p2align 4
CSYM(calli_rt_invoke):
    .cfi_startproc
    ELF_ONLY(endbr64)
    push rbp
    .cfi_def_cfa_offset 16
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    push rbx
    .cfi_offset rbx, -24
    mov rbx, rdi
    mov rcx, [rbx + CALLI_INVOKE_STACK_SIZE]
    sub rsp, rcx
    and rsp, -16
    mov rsi, [rbx + CALLI_INVOKE_STACK]
    xor eax, eax
1:  cmp rax, rcx
    jae 2f
    mov rdx, [rsi + rax]
    mov [rsp + rax], rdx
    add rax, 8
    jmp 1b
2:  movdqu xmm0, [rbx + CALLI_REGS_FPR + 0]
    movdqu xmm1, [rbx + CALLI_REGS_FPR + 16]
    movdqu xmm2, [rbx + CALLI_REGS_FPR + 32]
    movdqu xmm3, [rbx + CALLI_REGS_FPR + 48]
    movdqu xmm4, [rbx + CALLI_REGS_FPR + 64]
    movdqu xmm5, [rbx + CALLI_REGS_FPR + 80]
    movdqu xmm6, [rbx + CALLI_REGS_FPR + 96]
    movdqu xmm7, [rbx + CALLI_REGS_FPR + 112]
    mov rdi, [rbx + CALLI_REGS_GPR + 0]
    mov rsi, [rbx + CALLI_REGS_GPR + 8]
    mov rdx, [rbx + CALLI_REGS_GPR + 16]
    mov rcx, [rbx + CALLI_REGS_GPR + 24]
    mov r8, [rbx + CALLI_REGS_GPR + 32]
    mov r9, [rbx + CALLI_REGS_GPR + 40]
    mov eax, 8                        /* al: vector-register bound, for variadic targets */
    call [rbx + CALLI_INVOKE_TARGET]
    mov [rbx + CALLI_REGS_RET_GPR], rax
    movdqu [rbx + CALLI_REGS_RET_FPR], xmm0
    mov rbx, [rbp - 8]
    .cfi_restore rbx
    leave
    .cfi_def_cfa rsp, 8
    ret
    .cfi_endproc
    FUNC_END(calli_rt_invoke)

#if defined(__ELF__)
    .section .note.GNU-stack, "", @progbits

/* IBT and SHSTK compatible: both entries begin with endbr64, every return
 * matches its call. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long 4                           /* n_namesz */
    .long 16                          /* n_descsz */
    .long 5                           /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz "GNU"
    .long 0xc0000002                  /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long 4
    .long 3                           /* IBT | SHSTK */
    .p2align 3
#else
    .subsections_via_symbols
#endif

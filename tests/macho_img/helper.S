/* helper.S - a stand-in for GenericPInvokeCalliHelper (jumps to the target)
 * and, with -DMAIN, an entry point that calls the sites (-DNO_HELPER:
 * only that). */
    .text
#if defined(__x86_64__)
#ifndef NO_HELPER
    .globl _GenericPInvokeCalliHelper
    .p2align 4
_GenericPInvokeCalliHelper:
    .cfi_startproc
    jmp *%r10
    .cfi_endproc
#endif
#ifdef MAIN
    .globl _main
    .p2align 4
_main:
    .cfi_startproc
    push %rbp
    .cfi_def_cfa_offset 16
    .cfi_offset %rbp, -16
    mov %rsp, %rbp
    .cfi_def_cfa_register %rbp
    lea _target(%rip), %rdi
    call _site_call
    lea _target(%rip), %rdi
    call _site_tail
    xor %eax, %eax
    pop %rbp
    ret
    .cfi_endproc
_target:
    .cfi_startproc
    xor %eax, %eax
    ret
    .cfi_endproc
#endif
#else
#ifndef NO_HELPER
    .globl _GenericPInvokeCalliHelper
    .p2align 4
_GenericPInvokeCalliHelper:
    .cfi_startproc
    br x12
    .cfi_endproc
#endif
#ifdef MAIN
    .globl _main
    .p2align 4
_main:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    .cfi_def_cfa w29, 16
    .cfi_offset w30, -8
    .cfi_offset w29, -16
    adr x0, _target
    bl _site_call
    adr x0, _target
    bl _site_tail
    mov w0, #0
    ldp x29, x30, [sp], #16
    ret
    .cfi_endproc
_target:
    .cfi_startproc
    mov w0, #0
    ret
    .cfi_endproc
#endif
#endif

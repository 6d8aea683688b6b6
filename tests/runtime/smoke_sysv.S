/* smoke_sysv.S - call sites for smoke.c, x86-64 System V (see smoke.c). */
    .intel_syntax noprefix
    .text

#define C_RBX 0xb0b1b2b3b4b5b6b7
#define C_R12 0x1212121212121212
#define C_R13 0x1313131313131313
#define C_R14 0x1414141414141414
#define C_R15 0x1515151515151515

/* void site_call(struct site *s) */
    .globl site_call
    .type site_call, @function
site_call:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                          /* s at [rbp-48] */
    sub rsp, 8                        /* [rbp-56]: rsp at the call */
    mov r12, rdi
    mov rcx, [r12 + 136]
    sub rsp, rcx
    and rsp, -16
    mov rsi, [r12 + 128]
    xor eax, eax
1:  cmp rax, rcx
    jae 2f
    mov rdx, [rsi + rax]
    mov [rsp + rax], rdx
    add rax, 8
    jmp 1b
2:  mov [rbp - 56], rsp
    movq xmm0, [r12 + 64]
    movq xmm1, [r12 + 72]
    movq xmm2, [r12 + 80]
    movq xmm3, [r12 + 88]
    movq xmm4, [r12 + 96]
    movq xmm5, [r12 + 104]
    movq xmm6, [r12 + 112]
    movq xmm7, [r12 + 120]
    mov r10, [r12 + 144]
    mov r11, [r12 + 152]
    mov rdi, [r12 + 0]
    mov rsi, [r12 + 8]
    mov rdx, [r12 + 16]
    mov rcx, [r12 + 24]
    mov r8, [r12 + 32]
    mov r9, [r12 + 40]
    mov rax, [r12 + 160]
    movabs rbx, C_RBX
    movabs r13, C_R13
    movabs r14, C_R14
    movabs r15, C_R15
    movabs r12, C_R12
    test rax, rax
    jnz 5f
    call GenericPInvokeCalliHelper
    jmp 6f
5:  call tail_site
6:  mov r10, [rbp - 48]
    mov [r10 + 168], rax
    movq [r10 + 176], xmm0
    mov qword ptr [r10 + 184], 0
    movabs rax, C_RBX
    cmp rbx, rax
    jne 7f
    movabs rax, C_R12
    cmp r12, rax
    jne 7f
    movabs rax, C_R13
    cmp r13, rax
    jne 7f
    movabs rax, C_R14
    cmp r14, rax
    jne 7f
    movabs rax, C_R15
    cmp r15, rax
    jne 7f
    cmp rsp, [rbp - 56]
    jne 7f
    mov qword ptr [r10 + 184], 1
7:  lea rsp, [rbp - 40]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
    .size site_call, . - site_call

tail_site:
    jmp GenericPInvokeCalliHelper

/* uint64_t bt_site(void *target, const void *cookie): unwind info, no stack args */
    .globl bt_site
    .type bt_site, @function
bt_site:
    .cfi_startproc
    push rbp
    .cfi_def_cfa_offset 16
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    mov rax, [rbp + 8]
    mov [rip + bt_site_ret], rax
    mov r10, rdi
    mov r11, rsi
    call GenericPInvokeCalliHelper
    .globl bt_site_after_call
bt_site_after_call:
    pop rbp
    .cfi_def_cfa rsp, 8
    ret
    .cfi_endproc
    .size bt_site, . - bt_site

    .section .note.GNU-stack, "", @progbits

/* smoke_win64.S - call sites for smoke.c, Microsoft x64 (see smoke.c).
 * Canaries in every callee-saved register: rbx rsi rdi r12-r15, xmm6-15. */
    .intel_syntax noprefix
    .text

#define C_RBX 0xb0b1b2b3b4b5b6b7
#define C_RSI 0x5151515151515151
#define C_RDI 0xd1d1d1d1d1d1d1d1
#define C_R12 0x1212121212121212
#define C_R13 0x1313131313131313
#define C_R14 0x1414141414141414
#define C_R15 0x1515151515151515
#define C_X(n) (0x3ff0000000000000 + n)

/* Frame after the prologue (rbp = rsp): [rbp+0..160) xmm6-15,
 * [rbp+160] s, [rbp+168] rsp at the call, [rbp+176] pad. */
    .globl site_call
    .def site_call; .scl 2; .type 32; .endef
site_call:
    .seh_proc site_call
    push rbp
    .seh_pushreg rbp
    push rbx
    .seh_pushreg rbx
    push rsi
    .seh_pushreg rsi
    push rdi
    .seh_pushreg rdi
    push r12
    .seh_pushreg r12
    push r13
    .seh_pushreg r13
    push r14
    .seh_pushreg r14
    push r15
    .seh_pushreg r15
    sub rsp, 184
    .seh_stackalloc 184
    movaps [rsp + 0], xmm6
    .seh_savexmm xmm6, 0
    movaps [rsp + 16], xmm7
    .seh_savexmm xmm7, 16
    movaps [rsp + 32], xmm8
    .seh_savexmm xmm8, 32
    movaps [rsp + 48], xmm9
    .seh_savexmm xmm9, 48
    movaps [rsp + 64], xmm10
    .seh_savexmm xmm10, 64
    movaps [rsp + 80], xmm11
    .seh_savexmm xmm11, 80
    movaps [rsp + 96], xmm12
    .seh_savexmm xmm12, 96
    movaps [rsp + 112], xmm13
    .seh_savexmm xmm13, 112
    movaps [rsp + 128], xmm14
    .seh_savexmm xmm14, 128
    movaps [rsp + 144], xmm15
    .seh_savexmm xmm15, 144
    mov rbp, rsp
    .seh_setframe rbp, 0
    .seh_endprologue
    mov [rbp + 160], rcx
    mov r12, rcx
    mov rcx, [r12 + 136]
    lea rax, [rcx + 32]
    sub rsp, rax
    and rsp, -16
    mov rsi, [r12 + 128]
    xor eax, eax
1:  cmp rax, rcx
    jae 2f
    mov rdx, [rsi + rax]
    mov [rsp + 32 + rax], rdx
    add rax, 8
    jmp 1b
2:  mov [rbp + 168], rsp
    movabs rax, C_X(6)
    movq xmm6, rax
    movabs rax, C_X(7)
    movq xmm7, rax
    movabs rax, C_X(8)
    movq xmm8, rax
    movabs rax, C_X(9)
    movq xmm9, rax
    movabs rax, C_X(10)
    movq xmm10, rax
    movabs rax, C_X(11)
    movq xmm11, rax
    movabs rax, C_X(12)
    movq xmm12, rax
    movabs rax, C_X(13)
    movq xmm13, rax
    movabs rax, C_X(14)
    movq xmm14, rax
    movabs rax, C_X(15)
    movq xmm15, rax
    movq xmm0, [r12 + 64]
    movq xmm1, [r12 + 72]
    movq xmm2, [r12 + 80]
    movq xmm3, [r12 + 88]
    mov r10, [r12 + 144]
    mov r11, [r12 + 152]
    mov rcx, [r12 + 0]
    mov rdx, [r12 + 8]
    mov r8, [r12 + 16]
    mov r9, [r12 + 24]
    mov rax, [r12 + 160]
    movabs rbx, C_RBX
    movabs rsi, C_RSI
    movabs rdi, C_RDI
    movabs r13, C_R13
    movabs r14, C_R14
    movabs r15, C_R15
    movabs r12, C_R12
    test rax, rax
    jnz 5f
    call GenericPInvokeCalliHelper
    jmp 6f
5:  call tail_site
6:  mov r10, [rbp + 160]
    mov [r10 + 168], rax
    movq [r10 + 176], xmm0
    mov qword ptr [r10 + 184], 0
#define CHK(reg, val) movabs rax, val; cmp reg, rax; jne 7f
    CHK(rbx, C_RBX)
    CHK(rsi, C_RSI)
    CHK(rdi, C_RDI)
    CHK(r12, C_R12)
    CHK(r13, C_R13)
    CHK(r14, C_R14)
    CHK(r15, C_R15)
#define CHKX(n) movq rax, xmm##n; movabs rdx, C_X(n); cmp rax, rdx; jne 7f
    CHKX(6)
    CHKX(7)
    CHKX(8)
    CHKX(9)
    CHKX(10)
    CHKX(11)
    CHKX(12)
    CHKX(13)
    CHKX(14)
    CHKX(15)
    cmp rsp, [rbp + 168]
    jne 7f
    mov qword ptr [r10 + 184], 1
7:  lea rsp, [rbp]
    movaps xmm6, [rsp + 0]
    movaps xmm7, [rsp + 16]
    movaps xmm8, [rsp + 32]
    movaps xmm9, [rsp + 48]
    movaps xmm10, [rsp + 64]
    movaps xmm11, [rsp + 80]
    movaps xmm12, [rsp + 96]
    movaps xmm13, [rsp + 112]
    movaps xmm14, [rsp + 128]
    movaps xmm15, [rsp + 144]
    add rsp, 184
    pop r15
    pop r14
    pop r13
    pop r12
    pop rdi
    pop rsi
    pop rbx
    pop rbp
    ret
    .seh_endproc

tail_site:
    jmp GenericPInvokeCalliHelper

/* uint64_t bt_site(void *target, const void *cookie) */
    .globl bt_site
    .def bt_site; .scl 2; .type 32; .endef
bt_site:
    .seh_proc bt_site
    push rbp
    .seh_pushreg rbp
    mov rbp, rsp
    .seh_setframe rbp, 0
    sub rsp, 32
    .seh_stackalloc 32
    .seh_endprologue
    mov rax, [rbp + 8]
    mov [rip + bt_site_ret], rax
    mov r10, rcx
    mov r11, rdx
    call GenericPInvokeCalliHelper
    .globl bt_site_after_call
bt_site_after_call:
    lea rsp, [rbp]
    pop rbp
    ret
    .seh_endproc

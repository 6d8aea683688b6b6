/* tramp_win.S - the Microsoft x64 side of stub_win_test.c: a call site for
 * any signature, a recording target, the runtime's service shims and the
 * lean functions for the unwinding test. Every function that moves rsp has
 * SEH unwind information (.seh_*), so RtlVirtualUnwind and
 * RtlCaptureStackBackTrace walk through them. */
#include "harness.h"

    .intel_syntax noprefix
    .text

/* void tramp_call(struct tramp *t): rbx rbp rsi rdi r12-r15 and xmm6-15 from
 * t->cs_in / t->x_in, the home area and NSLOTS stack slots from t, xmm0-5,
 * rcx rdx r8 r9, r10 and r11 from t; call t->call; record rax, xmm0, the
 * callee-saved registers and rsp after the return. */
    .globl tramp_call
    .def tramp_call; .scl 2; .type 32; .endef
    .p2align 4
tramp_call:
    .seh_proc tramp_call
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
    sub rsp, TR_FRAME
    .seh_stackalloc TR_FRAME
    movaps [rsp + TR_XSAVE + 0], xmm6
    .seh_savexmm xmm6, TR_XSAVE + 0
    movaps [rsp + TR_XSAVE + 16], xmm7
    .seh_savexmm xmm7, TR_XSAVE + 16
    movaps [rsp + TR_XSAVE + 32], xmm8
    .seh_savexmm xmm8, TR_XSAVE + 32
    movaps [rsp + TR_XSAVE + 48], xmm9
    .seh_savexmm xmm9, TR_XSAVE + 48
    movaps [rsp + TR_XSAVE + 64], xmm10
    .seh_savexmm xmm10, TR_XSAVE + 64
    movaps [rsp + TR_XSAVE + 80], xmm11
    .seh_savexmm xmm11, TR_XSAVE + 80
    movaps [rsp + TR_XSAVE + 96], xmm12
    .seh_savexmm xmm12, TR_XSAVE + 96
    movaps [rsp + TR_XSAVE + 112], xmm13
    .seh_savexmm xmm13, TR_XSAVE + 112
    movaps [rsp + TR_XSAVE + 128], xmm14
    .seh_savexmm xmm14, TR_XSAVE + 128
    movaps [rsp + TR_XSAVE + 144], xmm15
    .seh_savexmm xmm15, TR_XSAVE + 144
    .seh_endprologue
    mov [rsp + TR_TPTR], rcx
    mov rax, rcx
    xor ecx, ecx
1:  mov rdx, [rax + T_HOME + rcx*8]
    mov [rsp + rcx*8], rdx
    add ecx, 1
    cmp ecx, 4
    jne 1b
    xor ecx, ecx
2:  mov rdx, [rax + T_STACK + rcx*8]
    mov [rsp + 32 + rcx*8], rdx
    add ecx, 1
    cmp ecx, NSLOTS
    jne 2b
    movups xmm6, [rax + T_X_IN + 0]
    movups xmm7, [rax + T_X_IN + 16]
    movups xmm8, [rax + T_X_IN + 32]
    movups xmm9, [rax + T_X_IN + 48]
    movups xmm10, [rax + T_X_IN + 64]
    movups xmm11, [rax + T_X_IN + 80]
    movups xmm12, [rax + T_X_IN + 96]
    movups xmm13, [rax + T_X_IN + 112]
    movups xmm14, [rax + T_X_IN + 128]
    movups xmm15, [rax + T_X_IN + 144]
    mov rbx, [rax + T_CS_IN + 0]
    mov rbp, [rax + T_CS_IN + 8]
    mov rsi, [rax + T_CS_IN + 16]
    mov rdi, [rax + T_CS_IN + 24]
    mov r12, [rax + T_CS_IN + 32]
    mov r13, [rax + T_CS_IN + 40]
    mov r14, [rax + T_CS_IN + 48]
    mov r15, [rax + T_CS_IN + 56]
    movups xmm0, [rax + T_XMM + 0]
    movups xmm1, [rax + T_XMM + 16]
    movups xmm2, [rax + T_XMM + 32]
    movups xmm3, [rax + T_XMM + 48]
    movups xmm4, [rax + T_XMM + 64]
    movups xmm5, [rax + T_XMM + 80]
    mov r10, [rax + T_R10]
    mov r11, [rax + T_R11]
    mov rcx, [rax + T_GPR + 0]
    mov rdx, [rax + T_GPR + 8]
    mov r8, [rax + T_GPR + 16]
    mov r9, [rax + T_GPR + 24]
    mov [rax + T_SP], rsp
    call [rax + T_CALL]
    .globl tramp_after_call
tramp_after_call:
    mov r10, [rsp + TR_TPTR]
    mov [r10 + T_RAX], rax
    movups [r10 + T_XMM0], xmm0
    mov [r10 + T_SP_AFTER], rsp
    mov [r10 + T_CS_OUT + 0], rbx
    mov [r10 + T_CS_OUT + 8], rbp
    mov [r10 + T_CS_OUT + 16], rsi
    mov [r10 + T_CS_OUT + 24], rdi
    mov [r10 + T_CS_OUT + 32], r12
    mov [r10 + T_CS_OUT + 40], r13
    mov [r10 + T_CS_OUT + 48], r14
    mov [r10 + T_CS_OUT + 56], r15
    movups [r10 + T_X_OUT + 0], xmm6
    movups [r10 + T_X_OUT + 16], xmm7
    movups [r10 + T_X_OUT + 32], xmm8
    movups [r10 + T_X_OUT + 48], xmm9
    movups [r10 + T_X_OUT + 64], xmm10
    movups [r10 + T_X_OUT + 80], xmm11
    movups [r10 + T_X_OUT + 96], xmm12
    movups [r10 + T_X_OUT + 112], xmm13
    movups [r10 + T_X_OUT + 128], xmm14
    movups [r10 + T_X_OUT + 144], xmm15
    movaps xmm6, [rsp + TR_XSAVE + 0]
    movaps xmm7, [rsp + TR_XSAVE + 16]
    movaps xmm8, [rsp + TR_XSAVE + 32]
    movaps xmm9, [rsp + TR_XSAVE + 48]
    movaps xmm10, [rsp + TR_XSAVE + 64]
    movaps xmm11, [rsp + TR_XSAVE + 80]
    movaps xmm12, [rsp + TR_XSAVE + 96]
    movaps xmm13, [rsp + TR_XSAVE + 112]
    movaps xmm14, [rsp + TR_XSAVE + 128]
    movaps xmm15, [rsp + TR_XSAVE + 144]
    add rsp, TR_FRAME
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

/* A call site that tail-jumps (`jmp helper`): to t->entry, which the
 * trampoline left in rax. */
    .globl site_jmp
    .def site_jmp; .scl 2; .type 32; .endef
    .p2align 4
site_jmp:
    jmp [rax + T_ENTRY]

/* Volatile registers the stub must not rely on across a call: everything
 * but rax (the result) and xmm0 when asked; and the home area the caller
 * gave us ([rsp+48] in a function that allocated 40 bytes), which a Win64
 * callee owns. */
.macro TRASH keep_xmm0=0
    movabs rcx, 0xdeadbeefcafe0001
    mov [rsp + 48], rcx
    mov [rsp + 56], rcx
    mov [rsp + 64], rcx
    mov [rsp + 72], rcx
    mov rdx, rcx
    mov r8, rcx
    mov r9, rcx
    mov r10, rcx
    mov r11, rcx
    movq xmm1, rcx
    pinsrq xmm1, rcx, 1
    movaps xmm2, xmm1
    movaps xmm3, xmm1
    movaps xmm4, xmm1
    movaps xmm5, xmm1
.if \keep_xmm0 == 0
    movaps xmm0, xmm1
.endif
.endm

/* The native target: record everything, let C look, return rec_ret_rax /
 * rec_ret_xmm0 with every other volatile register trashed. */
    .globl rec_target
    .def rec_target; .scl 2; .type 32; .endef
    .p2align 4
rec_target:
    .seh_proc rec_target
    sub rsp, 40
    .seh_stackalloc 40
    .seh_endprologue
    mov [rip + rec_regs + R_GPR + 0], rcx
    mov [rip + rec_regs + R_GPR + 8], rdx
    mov [rip + rec_regs + R_GPR + 16], r8
    mov [rip + rec_regs + R_GPR + 24], r9
    movups [rip + rec_regs + R_XMM + 0], xmm0
    movups [rip + rec_regs + R_XMM + 16], xmm1
    movups [rip + rec_regs + R_XMM + 32], xmm2
    movups [rip + rec_regs + R_XMM + 48], xmm3
    lea rax, [rsp + 40]
    mov [rip + rec_regs + R_SP], rax
    lea r10, [rip + rec_regs]
    xor ecx, ecx
1:  mov rax, [rsp + 80 + rcx*8]
    mov [r10 + R_STACK + rcx*8], rax
    add ecx, 1
    cmp ecx, NSLOTS
    jne 1b
    call rec_target_c
    TRASH 0
    mov rax, [rip + rec_ret_rax]
    movups xmm0, [rip + rec_ret_xmm0]
    add rsp, 40
    ret
    .seh_endproc

/* Service-call shims: note rsp at entry, call the C wrapper, trash the
 * volatile registers (keeping rax for string_to_native). */
.macro SHIM name, impl
    .globl \name
    .def \name; .scl 2; .type 32; .endef
    .p2align 4
\name:
    .seh_proc \name
    mov [rip + svc_sp], rsp
    sub rsp, 40
    .seh_stackalloc 40
    .seh_endprologue
    call \impl
    TRASH 0
    add rsp, 40
    ret
    .seh_endproc
.endm
    SHIM shim_enter, w_enter
    SHIM shim_leave, w_leave
    SHIM shim_s2n, w_s2n
    SHIM shim_free, w_free

/* Lean target and services for the unwinding test: few instructions, no
 * state; s2n hands back its argument. Leaves: no unwind information. */
    .globl ss_target
    .globl ss_svc
    .globl ss_s2n
    .globl ss_free
    .p2align 4
ss_target:
ss_svc:
ss_free:
    add qword ptr [rip + ss_calls], 1
    ret
ss_s2n:
    add qword ptr [rip + ss_calls], 1
    mov rax, rcx
    ret

/* The stubs, generated on the host (gen_stubs.c), as read-only data. */
    .section .rdata, "dr"
    .p2align 4
    .globl stubs_blob
stubs_blob:
    .incbin STUBS_BIN
    .globl stubs_blob_end
stubs_blob_end:

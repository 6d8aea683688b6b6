/* tramp.S - the assembly half of the arm64 stub test (stub_a64_test.c):
 * a call site for any signature, a recording native target, service-call
 * shims, lean services for the unwinding walk, and an Apple arm64 variant
 * of the generic helper (the runtime builds none; it is the AAPCS64 helper
 * with the Apple layout passed to the same C core). */
#include "harness.h"
#include "calli_dispatch.h"

/* Trash every caller-saved register the callee may clobber, except x0 (and
 * x9, used afterwards): a stub must keep nothing there across a call. */
.macro TRASH
    movn x1, #0x1111
    movn x2, #0x2222
    movn x3, #0x3333
    movn x4, #0x4444
    movn x5, #0x5555
    movn x6, #0x6666
    movn x7, #0x7777
    movn x8, #0x8888
    movn x10, #0xaaaa
    movn x11, #0xbbbb
    movn x12, #0xcccc
    movn x13, #0xdddd
    movn x14, #0xeeee
    movn x15, #0xffff
    movn x16, #0x1616
    movn x17, #0x1717
    dup v1.2d, x1
    dup v2.2d, x2
    dup v3.2d, x3
    dup v4.2d, x4
    dup v5.2d, x5
    dup v6.2d, x6
    dup v7.2d, x7
    dup v16.2d, x16
    dup v17.2d, x17
    dup v31.2d, x13
.endm

    .text

/* void tramp_call(struct tramp *t) */
    .globl tramp_call
    .type tramp_call, %function
    .p2align 2
tramp_call:
    .cfi_startproc
    stp x29, x30, [sp, #-TRAMP_SAVE]!
    .cfi_def_cfa_offset TRAMP_SAVE
    .cfi_offset x29, -176
    .cfi_offset x30, -168
    stp x19, x20, [sp, #16]
    .cfi_offset x19, -160
    .cfi_offset x20, -152
    stp x21, x22, [sp, #32]
    .cfi_offset x21, -144
    .cfi_offset x22, -136
    stp x23, x24, [sp, #48]
    .cfi_offset x23, -128
    .cfi_offset x24, -120
    stp x25, x26, [sp, #64]
    .cfi_offset x25, -112
    .cfi_offset x26, -104
    stp x27, x28, [sp, #80]
    .cfi_offset x27, -96
    .cfi_offset x28, -88
    stp d8, d9, [sp, #96]
    .cfi_offset 72, -80
    .cfi_offset 73, -72
    stp d10, d11, [sp, #112]
    .cfi_offset 74, -64
    .cfi_offset 75, -56
    stp d12, d13, [sp, #128]
    .cfi_offset 76, -48
    .cfi_offset 77, -40
    stp d14, d15, [sp, #144]
    .cfi_offset 78, -32
    .cfi_offset 79, -24
    str x0, [sp, #160]
    sub sp, sp, #512
    .cfi_def_cfa_offset TRAMP_SAVE + 512
    add x11, x0, #T_STACK
    mov x9, #0
1:  ldr x10, [x11, x9, lsl #3]
    str x10, [sp, x9, lsl #3]
    add x9, x9, #1
    cmp x9, #NSLOTS
    b.ne 1b
    add x11, x0, #T_CS_IN
    ldp x19, x20, [x11, #0]
    ldp x21, x22, [x11, #16]
    ldp x23, x24, [x11, #32]
    ldp x25, x26, [x11, #48]
    ldp x27, x28, [x11, #64]
    ldr x29, [x11, #80]
    ldp d8, d9, [x11, #88]
    ldp d10, d11, [x11, #104]
    ldp d12, d13, [x11, #120]
    ldp d14, d15, [x11, #136]
    ldp q0, q1, [x0, #T_FPR]
    ldp q2, q3, [x0, #T_FPR + 32]
    ldp q4, q5, [x0, #T_FPR + 64]
    ldp q6, q7, [x0, #T_FPR + 96]
    ldr x12, [x0, #T_X12]
    ldr x15, [x0, #T_X15]
    ldr x16, [x0, #T_ENTRY]
    ldr x17, [x0, #T_CALL]
    mov x9, sp
    str x9, [x0, #T_SP]
    ldp x2, x3, [x0, #16]
    ldp x4, x5, [x0, #32]
    ldp x6, x7, [x0, #48]
    ldp x0, x1, [x0, #0]
    blr x17
    .globl tramp_after_call
tramp_after_call:
    ldr x10, [sp, #TRAMP_T_PTR]
    mov x9, sp
    str x9, [x10, #T_SP_AFTER]
    str x0, [x10, #T_X0]
    str q0, [x10, #T_Q0]
    add x11, x10, #T_CS_OUT
    stp x19, x20, [x11, #0]
    stp x21, x22, [x11, #16]
    stp x23, x24, [x11, #32]
    stp x25, x26, [x11, #48]
    stp x27, x28, [x11, #64]
    str x29, [x11, #80]
    stp d8, d9, [x11, #88]
    stp d10, d11, [x11, #104]
    stp d12, d13, [x11, #120]
    stp d14, d15, [x11, #136]
    add sp, sp, #512
    .cfi_def_cfa_offset TRAMP_SAVE
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x29, x30, [sp], #TRAMP_SAVE
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size tramp_call, . - tramp_call

/* A call site that tail-branches (`b helper`; here through x16, as a
 * veneer would): x30 still points into the trampoline. */
    .globl site_br16
    .type site_br16, %function
site_br16:
    .cfi_startproc
    br x16
    .cfi_endproc
    .size site_br16, . - site_br16

/* The native target: record the argument registers (all 128 bits of the
 * vector ones), sp and NSLOTS stack slots; let C look; return rec_ret_x0 and
 * rec_ret_q0 with every other caller-saved register trashed. */
    .globl rec_target
    .type rec_target, %function
    .p2align 2
rec_target:
    .cfi_startproc
    hint #34
    adrp x9, rec_regs
    add x9, x9, :lo12:rec_regs
    stp x0, x1, [x9, #R_GPR]
    stp x2, x3, [x9, #R_GPR + 16]
    stp x4, x5, [x9, #R_GPR + 32]
    stp x6, x7, [x9, #R_GPR + 48]
    stp q0, q1, [x9, #R_FPR]
    stp q2, q3, [x9, #R_FPR + 32]
    stp q4, q5, [x9, #R_FPR + 64]
    stp q6, q7, [x9, #R_FPR + 96]
    mov x10, sp
    str x10, [x9, #R_SP]
    add x11, x9, #R_STACK
    mov x13, #0
1:  ldr x10, [sp, x13, lsl #3]
    str x10, [x11, x13, lsl #3]
    add x13, x13, #1
    cmp x13, #NSLOTS
    b.ne 1b
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    bl rec_target_c
    TRASH
    adrp x9, rec_ret_x0
    ldr x0, [x9, :lo12:rec_ret_x0]
    adrp x9, rec_ret_q0
    ldr q0, [x9, :lo12:rec_ret_q0]
    ldp x29, x30, [sp], #16
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size rec_target, . - rec_target

/* Service shims: note sp at entry, continue in C, trash the caller-saved
 * registers on the way back (x0 is the result for string_to_native). */
.macro SHIM name, cfunc
    .globl \name
    .type \name, %function
    .p2align 2
\name:
    .cfi_startproc
    hint #34
    adrp x9, svc_sp
    mov x10, sp
    str x10, [x9, :lo12:svc_sp]
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    bl \cfunc
    TRASH
    ldp x29, x30, [sp], #16
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size \name, . - \name
.endm
    SHIM shim_enter, w_enter
    SHIM shim_leave, w_leave
    SHIM shim_s2n, w_s2n
    SHIM shim_free, w_free

/* Lean target and services for the walk from every instruction: count the
 * calls; string_to_native hands back its argument. */
.macro LEAN name, body
    .globl \name
    .type \name, %function
    .p2align 2
\name:
    .cfi_startproc
    hint #34
    adrp x9, ss_calls
    ldr x10, [x9, :lo12:ss_calls]
    add x10, x10, #1
    str x10, [x9, :lo12:ss_calls]
    \body
    ret
    .cfi_endproc
    .size \name, . - \name
.endm
    LEAN ss_target, nop
    LEAN ss_svc, nop
    LEAN ss_free, nop
    LEAN ss_s2n, nop

/* apple_helper: GenericPInvokeCalliHelper for Apple arm64 (packed stack
 * arguments), i.e. runtime/helper_aarch64.S calling apple_dispatch. */
#define FRAME (16 + CALLI_REGS_SIZE)
#define SAVE 16
    .globl apple_helper
    .type apple_helper, %function
    .p2align 4
apple_helper:
    .cfi_startproc
    hint #34
    stp x29, x30, [sp, #-FRAME]!
    .cfi_def_cfa_offset FRAME
    .cfi_offset x29, -FRAME
    .cfi_offset x30, -(FRAME - 8)
    mov x29, sp
    stp x0, x1, [sp, #SAVE + CALLI_REGS_GPR + 0]
    stp x2, x3, [sp, #SAVE + CALLI_REGS_GPR + 16]
    stp x4, x5, [sp, #SAVE + CALLI_REGS_GPR + 32]
    stp x6, x7, [sp, #SAVE + CALLI_REGS_GPR + 48]
    stp q0, q1, [sp, #SAVE + CALLI_REGS_FPR + 0]
    stp q2, q3, [sp, #SAVE + CALLI_REGS_FPR + 32]
    stp q4, q5, [sp, #SAVE + CALLI_REGS_FPR + 64]
    stp q6, q7, [sp, #SAVE + CALLI_REGS_FPR + 96]
    add x0, sp, #SAVE
    add x1, sp, #FRAME
    mov x2, x12
    mov x3, x15
    bl apple_dispatch
    ldr x0, [sp, #SAVE + CALLI_REGS_RET_GPR]
    ldr q0, [sp, #SAVE + CALLI_REGS_RET_FPR]
    ldp x29, x30, [sp], #FRAME
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size apple_helper, . - apple_helper

    .section .note.GNU-stack, "", %progbits

/* helper_aarch64.S - GenericPInvokeCalliHelper and the invoke trampoline for
 * AAPCS64 (ELF) and Apple arm64 (Mach-O; runtime/asm_sym.h: what differs;
 * the dispatcher built for Apple reads stack arguments packed by natural
 * size). See docs/runtime.md and runtime/calli_dispatch.h.
 *
 * Entry (spec section 1): target in x12, cookie in x15, managed arguments in
 * x0-x7 / v0-v7 and on the stack from sp (entered by `bl`, or by `b` from a
 * frameless point: x30 then holds the site's caller's return address).
 * Exit: x0 / q0 hold the marshaled result; x19-x28, x29, d8-d15 preserved
 * (the helper touches none of them but x29, which it saves).
 * Both entries begin with `bti c` (a NOP without BTI).
 */
#include "asm_sym.h"
#include "calli_dispatch.h"

#define FRAME (16 + CALLI_REGS_SIZE) /* frame record + save area */
#define SAVE 16                      /* save area offset from sp */

    .text

    FUNC_BEGIN(GenericPInvokeCalliHelper)
    .p2align 4
CSYM(GenericPInvokeCalliHelper):
    .cfi_startproc
    hint #34                          /* bti c */
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
    add x0, sp, #SAVE                 /* save area */
    add x1, sp, #FRAME                /* managed stack arguments: entry sp */
    mov x2, x12                       /* target */
    mov x3, x15                       /* cookie */
    bl CSYM(calli_rt_dispatch)
    ldr x0, [sp, #SAVE + CALLI_REGS_RET_GPR]
    ldr q0, [sp, #SAVE + CALLI_REGS_RET_FPR]
    ldp x29, x30, [sp], #FRAME
    ELF_ONLY(.cfi_restore x29; .cfi_restore x30; .cfi_def_cfa_offset 0)
    ret
    .cfi_endproc
    FUNC_END(GenericPInvokeCalliHelper)

/* void calli_rt_invoke(struct calli_invoke *inv) */
    FUNC_BEGIN(calli_rt_invoke)
    HIDDEN(calli_rt_invoke)
    .p2align 4
CSYM(calli_rt_invoke):
    .cfi_startproc
    hint #34                          /* bti c */
    stp x29, x30, [sp, #-32]!
    .cfi_def_cfa_offset 32
    .cfi_offset x29, -32
    .cfi_offset x30, -24
    str x19, [sp, #16]
    .cfi_offset x19, -16
    mov x29, sp
    .cfi_def_cfa_register x29
    mov x19, x0
    ldr x9, [x19, #CALLI_INVOKE_STACK_SIZE]
    sub x10, sp, x9
    and sp, x10, #-16
    ldr x10, [x19, #CALLI_INVOKE_STACK]
    mov x11, #0
1:  cmp x11, x9
    b.hs 2f
    ldr x13, [x10, x11]
    str x13, [sp, x11]
    add x11, x11, #8
    b 1b
2:  ldp q0, q1, [x19, #CALLI_REGS_FPR + 0]
    ldp q2, q3, [x19, #CALLI_REGS_FPR + 32]
    ldp q4, q5, [x19, #CALLI_REGS_FPR + 64]
    ldp q6, q7, [x19, #CALLI_REGS_FPR + 96]
    ldr x9, [x19, #CALLI_INVOKE_TARGET]
    ldp x0, x1, [x19, #CALLI_REGS_GPR + 0]
    ldp x2, x3, [x19, #CALLI_REGS_GPR + 16]
    ldp x4, x5, [x19, #CALLI_REGS_GPR + 32]
    ldp x6, x7, [x19, #CALLI_REGS_GPR + 48]
    blr x9
    str x0, [x19, #CALLI_REGS_RET_GPR]
    str q0, [x19, #CALLI_REGS_RET_FPR]
    mov sp, x29
    ELF_ONLY(.cfi_def_cfa_register sp)
    ldr x19, [sp, #16]
    ELF_ONLY(.cfi_restore x19)
    ldp x29, x30, [sp], #32
    ELF_ONLY(.cfi_restore x29; .cfi_restore x30; .cfi_def_cfa_offset 0)
    ret
    .cfi_endproc
    FUNC_END(calli_rt_invoke)

#if defined(__ELF__)
    .section .note.GNU-stack, "", %progbits

/* BTI compatible: both entries begin with `bti c`. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long 4                           /* n_namesz */
    .long 16                          /* n_descsz */
    .long 5                           /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz "GNU"
    .long 0xc0000000                  /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .long 4
    .long 1                           /* BTI */
    .p2align 3
#else
    .subsections_via_symbols
#endif

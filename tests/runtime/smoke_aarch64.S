/* smoke_aarch64.S - call sites for smoke.c, AAPCS64 (see smoke.c).
 * Canaries in every callee-saved register: x19-x28, d8-d15. */
    .text

/* Frame: [x29] fp/lr, [x29+16..96) x19-x28, [x29+96..160) d8-d15,
 * [x29+160] s, [x29+168] sp at the call. */
    .globl site_call
    .type site_call, %function
site_call:
    stp x29, x30, [sp, #-176]!
    mov x29, sp
    stp x19, x20, [sp, #16]
    stp x21, x22, [sp, #32]
    stp x23, x24, [sp, #48]
    stp x25, x26, [sp, #64]
    stp x27, x28, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    str x0, [sp, #160]
    mov x19, x0
    ldr x9, [x19, #136]
    sub x10, sp, x9
    and sp, x10, #-16
    ldr x10, [x19, #128]
    mov x11, #0
1:  cmp x11, x9
    b.hs 2f
    ldr x13, [x10, x11]
    str x13, [sp, x11]
    add x11, x11, #8
    b 1b
2:  mov x10, sp
    str x10, [x29, #168]
    .irp n, 8, 9, 10, 11, 12, 13, 14, 15
    ldr x9, =0x3ff00000000000\n
    fmov d\n, x9
    .endr
    .irp n, 20, 21, 22, 23, 24, 25, 26, 27, 28
    ldr x\n, =0x\n\n\n\n\n\n\n\n
    .endr
    ldp d0, d1, [x19, #64]
    ldp d2, d3, [x19, #80]
    ldp d4, d5, [x19, #96]
    ldp d6, d7, [x19, #112]
    ldr x12, [x19, #144]
    ldr x15, [x19, #152]
    ldr x9, [x19, #160]
    ldp x0, x1, [x19, #0]
    ldp x2, x3, [x19, #16]
    ldp x4, x5, [x19, #32]
    ldp x6, x7, [x19, #48]
    ldr x19, =0x1919191919191919
    cbnz x9, 5f
    bl GenericPInvokeCalliHelper
    b 6f
5:  bl tail_site
6:  ldr x10, [x29, #160]
    str x0, [x10, #168]
    str d0, [x10, #176]
    str xzr, [x10, #184]
    ldr x9, =0x1919191919191919
    cmp x19, x9
    b.ne 7f
    .irp n, 20, 21, 22, 23, 24, 25, 26, 27, 28
    ldr x9, =0x\n\n\n\n\n\n\n\n
    cmp x\n, x9
    b.ne 7f
    .endr
    .irp n, 8, 9, 10, 11, 12, 13, 14, 15
    ldr x9, =0x3ff00000000000\n
    fmov x11, d\n
    cmp x11, x9
    b.ne 7f
    .endr
    ldr x9, [x29, #168]
    mov x11, sp
    cmp x11, x9
    b.ne 7f
    mov x9, #1
    str x9, [x10, #184]
7:  mov sp, x29
    ldp x19, x20, [sp, #16]
    ldp x21, x22, [sp, #32]
    ldp x23, x24, [sp, #48]
    ldp x25, x26, [sp, #64]
    ldp x27, x28, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldp x29, x30, [sp], #176
    ret
    .ltorg
    .size site_call, . - site_call

tail_site:
    b GenericPInvokeCalliHelper

/* uint64_t bt_site(void *target, const void *cookie) */
    .globl bt_site
    .type bt_site, %function
bt_site:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov x29, sp
    adrp x9, bt_site_ret
    str x30, [x9, :lo12:bt_site_ret]
    mov x12, x0
    mov x15, x1
    bl GenericPInvokeCalliHelper
    .globl bt_site_after_call
bt_site_after_call:
    ldp x29, x30, [sp], #16
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size bt_site, . - bt_site

    .section .note.GNU-stack, "", %progbits

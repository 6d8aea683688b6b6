/* sites.S - call sites of the generic helper for the image writer's tests
 * (docs/macho-images.md): two direct calls from a framed function and a
 * tail jump, each with its cookie (docs/abi.md section 3) in __DATA; the
 * string one names a runtime table, so its stub makes service calls. Assembled for x86-64 and
 * arm64 (clang --target=...-apple-macos11). */
.macro COOKIE name, flags, siglen, runtime=0
    .p2align 3
\name:
    .long 0x494C4143
    .short 1, \flags
    .quad \runtime, 0
    .long \siglen
.endm

    .section __DATA,__data
COOKIE ck_i4_i4, 0, 4
    .byte 0x09, 1, 0x08, 0x08             /* int32 (int32) */
COOKIE ck_i4_s, 0, 4, rt_table
    .byte 0x09, 1, 0x08, 0x0E             /* int32 (string): a stub with service calls */
COOKIE ck_v_sgc, 1, 3
    .byte 0x09, 0, 0x01                   /* void () suppress-gc */

    .p2align 3
rt_table:                                 /* a calli_runtime stand-in (rebased) */
    .quad 1, 0, 0, 0, 0, 0

    .text
#if defined(__x86_64__)
    .intel_syntax noprefix
    .globl _site_call
    .p2align 4
_site_call:
    .cfi_startproc
    push rbp
    .cfi_def_cfa_offset 16
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    mov r10, rdi
    lea r11, [rip + ck_i4_i4]
    call _GenericPInvokeCalliHelper
    mov r10, rdi
    lea r11, [rip + ck_i4_s]
    call _GenericPInvokeCalliHelper
    pop rbp
    ret
    .cfi_endproc

    .globl _site_tail
    .p2align 4
_site_tail:
    .cfi_startproc
    mov r10, rdi
    lea r11, [rip + ck_v_sgc]
    jmp _GenericPInvokeCalliHelper
    .cfi_endproc
#else
    .globl _site_call
    .p2align 4
_site_call:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    .cfi_def_cfa w29, 16
    .cfi_offset w30, -8
    .cfi_offset w29, -16
    mov x12, x0
    adrp x15, ck_i4_i4@PAGE
    add x15, x15, ck_i4_i4@PAGEOFF
    bl _GenericPInvokeCalliHelper
    mov x12, x0
    adrp x15, ck_i4_s@PAGE
    add x15, x15, ck_i4_s@PAGEOFF
    bl _GenericPInvokeCalliHelper
    ldp x29, x30, [sp], #16
    ret
    .cfi_endproc

    .globl _site_tail
    .p2align 4
_site_tail:
    .cfi_startproc
    mov x12, x0
    adrp x15, ck_v_sgc@PAGE
    add x15, x15, ck_v_sgc@PAGEOFF
    b _GenericPInvokeCalliHelper
    .cfi_endproc
#endif

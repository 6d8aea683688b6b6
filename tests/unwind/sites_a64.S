/* sites_a64.S - the arm64 (AAPCS64, ELF) counterpart of sites.S: call sites
 * whose targets walk the stack. One needs a framed stub (bool return:
 * converted after the call), one a frameless tail-branch stub (int32 (int32)
 * suppress-gc), one a framed stub reached through the GOT (`blr x16`), and
 * one a framed stub with a string, reached by a tail branch (`b helper`)
 * from a site that keeps no frame. Target in x12, cookie in x15. */

.macro COOKIE name, flags, runtime, sig:vararg
    .data
    .balign 8
\name:
    .long 0x494C4143
    .short 1, \flags
    .quad \runtime
    .quad 0
    .long .Le\@ - .Ls\@
.Ls\@: .byte \sig
.Le\@:
    .text
.endm

/* A framed site: frame record, then `bl helper` (or `blr x16` with x16
 * loaded from the helper's GOT slot in the same block). */
.macro SITE name, target, cookie, how
    .globl \name
    .type \name, %function
    .p2align 2
\name:
    .cfi_startproc
    stp x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov x29, sp
    adrp x12, \target
    add x12, x12, :lo12:\target
    adrp x15, \cookie
    add x15, x15, :lo12:\cookie
    .ifc \how,got
    adrp x16, :got:GenericPInvokeCalliHelper
    ldr x16, [x16, :got_lo12:GenericPInvokeCalliHelper]
    blr x16
    .else
    bl GenericPInvokeCalliHelper
    .endif
    ldp x29, x30, [sp], #16
    .cfi_restore x29
    .cfi_restore x30
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .globl \name\()_end
\name\()_end:
    .size \name, . - \name
.endm

COOKIE ck_bool, 0, calli_refrt_default, 0x09, 1, 0x02, 0x08   /* bool (int32) */
COOKIE ck_i4, 1, 0, 0x09, 1, 0x08, 0x08                       /* int32 (int32) suppress-gc */
COOKIE ck_str, 0, calli_refrt_default, 0x09, 1, 0x08, 0x0E    /* int32 (string) */

SITE site_framed, walk_bool, ck_bool, direct
SITE site_tail_stub, walk_i4, ck_i4, direct
SITE site_got, walk_bool, ck_bool, got

/* A tail branch from the site: the site keeps no frame (x30 still holds
 * main's return address), so the walk reaches its caller (main) directly. */
    .globl site_tailcall
    .type site_tailcall, %function
    .p2align 2
site_tailcall:
    .cfi_startproc
    adrp x12, walk_str
    add x12, x12, :lo12:walk_str
    adrp x15, ck_str
    add x15, x15, :lo12:ck_str
    b GenericPInvokeCalliHelper
    .cfi_endproc
    .globl site_tailcall_end
site_tailcall_end:
    .size site_tailcall, . - site_tailcall

    .section .note.GNU-stack, "", %progbits

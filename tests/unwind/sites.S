/* sites.S - call sites whose targets walk the stack. One needs a framed stub
 * (bool return: converted after the call), one a frameless tail-jump stub
 * (int32 (int32) suppress-gc), one a framed stub with a string, reached by
 * a tail call from its site, and one through the GOT. */
    .intel_syntax noprefix

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

.macro SITE name, target, cookie, how
    .globl \name
    .type \name, @function
\name:
    .cfi_startproc
    push rbp
    .cfi_def_cfa_offset 16
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    lea r10, [rip + \target]
    lea r11, [rip + \cookie]
    .ifc \how,got
    call [rip + GenericPInvokeCalliHelper@GOTPCREL]
    .else
    call GenericPInvokeCalliHelper
    .endif
    pop rbp
    .cfi_def_cfa rsp, 8
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

/* A tail call from the site: the site's own frame is gone, so the walk
 * reaches its caller (main) directly. */
    .globl site_tailcall
    .type site_tailcall, @function
site_tailcall:
    .cfi_startproc
    lea r10, [rip + walk_str]
    lea r11, [rip + ck_str]
    jmp GenericPInvokeCalliHelper
    .cfi_endproc
    .globl site_tailcall_end
site_tailcall_end:
    .size site_tailcall, . - site_tailcall

    .section .note.GNU-stack, "", @progbits

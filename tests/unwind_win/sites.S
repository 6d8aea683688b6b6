/* sites.S - Win64 call sites whose targets walk the stack (tests/unwind_win,
 * the PE twin of tests/unwind). site_framed needs a framed stub (bool
 * return: converted after the call), site_tail_stub a frameless tail-jump
 * stub (int32 (int32) suppress-gc), site_str a framed stub with a string;
 * site_tailcall jumps to the helper (its own frame is gone: the walk goes
 * from the stub or helper straight to main). The framed sites carry SEH
 * unwind information (.pdata/.xdata), like compiled code. */
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

/* push rbx (a callee-saved register, as a compiler would save it), a home
 * area for the callee, the call, the mirror epilogue. */
.macro SITE name, target, cookie
    .text
    .globl \name
    .def \name; .scl 2; .type 32; .endef
    .seh_proc \name
\name:
    push rbx
    .seh_pushreg rbx
    sub rsp, 48
    .seh_stackalloc 48
    .seh_endprologue
    lea r10, [rip + \target]
    lea r11, [rip + \cookie]
    call GenericPInvokeCalliHelper
    nop
    add rsp, 48
    pop rbx
    ret
    .seh_endproc
.endm

COOKIE ck_bool, 0, calli_refrt_default, 0x09, 1, 0x02, 0x08   /* bool (int32) */
COOKIE ck_i4, 1, 0, 0x09, 1, 0x08, 0x08                       /* int32 (int32) suppress-gc */
COOKIE ck_str, 0, calli_refrt_default, 0x09, 1, 0x08, 0x0E    /* int32 (string) */

SITE site_framed, walk_bool, ck_bool
SITE site_tail_stub, walk_i4, ck_i4
SITE site_str, walk_str, ck_str

/* A tail call from the site (a leaf: no frame, no unwind information). */
    .text
    .globl site_tailcall
    .def site_tailcall; .scl 2; .type 32; .endef
site_tailcall:
    lea r10, [rip + walk_str]
    lea r11, [rip + ck_str]
    jmp GenericPInvokeCalliHelper

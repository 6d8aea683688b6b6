/* sites.S - x86-64 Windows (mingw, GAS) call sites of the generic helper,
 * reached through its import: "call [rip+__imp_...]" (FF 15 through the IAT
 * slot) and "jmp GenericPInvokeCalliHelper" (E9 to the import library's
 * thunk, itself "jmp [rip+__imp_...]"). Each sets the cookie (r11) and the
 * target (r10) in the same block. The cookie is valid: int32 f(void). */
    .text
    .globl site_imp
    .def site_imp; .scl 2; .type 32; .endef
    .seh_proc site_imp
site_imp:
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    leaq cookie(%rip), %r11
    leaq target(%rip), %r10
    call *__imp_GenericPInvokeCalliHelper(%rip)
    addq $40, %rsp
    ret
    .seh_endproc

    .globl site_thunk
    .def site_thunk; .scl 2; .type 32; .endef
site_thunk:
    leaq cookie(%rip), %r11
    leaq target(%rip), %r10
    jmp GenericPInvokeCalliHelper

    .def target; .scl 3; .type 32; .endef
target:
    movl $42, %eax
    ret

    .data
    .balign 8
cookie:
    .long 0x494C4143    /* "CALI" */
    .short 1, 0         /* version, flags */
    .quad 0, 0          /* runtime, cache */
    .long 3             /* sig_len */
    .byte 0x01, 0x00, 0x08  /* C, 0 params, returns I4 */

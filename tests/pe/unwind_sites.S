/* unwind_sites.S - one call site whose stub keeps a frame (bool (): a return
 * conversion, docs/stubs.md section 9 shape C): site_bool calls the helper
 * (through its import) with the target in r10, the C function passed in rcx
 * by the caller (unwind_main.c), and a cookie for bool () with runtime 0.
 * The target walks the stack: it must unwind through the helper, or once
 * rewritten through the stub, whose RUNTIME_FUNCTION is in the new
 * exception directory. */
    .text
    .globl site_bool
    .def site_bool; .scl 2; .type 32; .endef
    .seh_proc site_bool
site_bool:
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    movq %rcx, %r10
    leaq cookie_bool(%rip), %r11
    call *__imp_GenericPInvokeCalliHelper(%rip)
    addq $40, %rsp
    ret
    .seh_endproc

    .data
    .balign 8
cookie_bool:
    .long 0x494C4143    /* "CALI" */
    .short 1, 0         /* version, flags */
    .quad 0, 0          /* runtime, cache */
    .long 3             /* sig_len */
    .byte 0x01, 0x00, 0x02  /* C, 0 params, returns BOOLEAN */

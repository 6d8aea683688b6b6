/* obj_dedup.S - x86-64 Windows call sites for the COFF object writer's
 * COMDAT test (tests/pe/obj_check.sh): assembled twice, with
 * -DSITE_IMP=... -DSITE_CALL=..., into two objects whose sites share the
 * stub keys i4 (int32 f(void), like tests/pe/sites.S) and i8_sgc (int64
 * f(void), suppress-gc: a frameless stub). Rewritten, each object carries
 * its own COMDAT copy of both stubs; the link keeps one of each. The
 * cookies' runtime is 0, so the stubs only call the target. The long
 * section name below lives in the string table (tests/unit/test_pe_write_obj.c
 * moves it). */
    .text
    .globl SITE_IMP
    .def SITE_IMP; .scl 2; .type 32; .endef
    .seh_proc SITE_IMP
SITE_IMP:
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    leaq cookie_i4(%rip), %r11
    leaq target_i4(%rip), %r10
    call *__imp_GenericPInvokeCalliHelper(%rip)
    addq $40, %rsp
    ret
    .seh_endproc

    .globl SITE_CALL
    .def SITE_CALL; .scl 2; .type 32; .endef
    .seh_proc SITE_CALL
SITE_CALL:
    subq $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    leaq cookie_i8(%rip), %r11
    leaq target_i8(%rip), %r10
    call GenericPInvokeCalliHelper
    addq $40, %rsp
    ret
    .seh_endproc

    .def target_i4; .scl 3; .type 32; .endef
target_i4:
    movl $42, %eax
    ret
    .def target_i8; .scl 3; .type 32; .endef
target_i8:
    movabsq $0x123456789, %rax
    ret

    .data
    .balign 8
cookie_i4:
    .long 0x494C4143        /* "CALI" */
    .short 1, 0             /* version, flags */
    .quad 0, 0              /* runtime, cache */
    .long 3                 /* sig_len */
    .byte 0x01, 0x00, 0x08  /* C, 0 params, returns I4 */
    .balign 8
cookie_i8:
    .long 0x494C4143
    .short 1, 1             /* version, flags: SUPPRESS_GC_TRANSITION */
    .quad 0, 0
    .long 3
    .byte 0x01, 0x00, 0x0A  /* C, 0 params, returns I8 */

    .section .rdata$callirw_test_a_rather_long_section_name, "dr"
    .asciz "long"

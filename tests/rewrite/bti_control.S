/* bti_control.S - branch targets for tests/rewrite/bti_control.c.
 *   pad     starts with bti c: a valid target of blr
 *   nopad   no landing pad: blr into it faults in a BTI-guarded page
 *   br_x9   tail-branches with `br x9` to padded (bti c): BTYPE 3, which
 *           bti c rejects - why BTI stubs tail-branch through x16
 *   br_x16  the same with `br x16`: BTYPE 1, accepted by bti c */
    .text
    .macro FN name
    .globl \name
    .type \name, %function
    .p2align 2
\name:
    .endm

FN pad
    hint #34                          /* bti c */
    mov w0, #7
    ret
FN nopad
    mov w0, #7
    ret
    .p2align 2
padded:                               /* local: adr reaches it in a shared library too */
    hint #34
    mov w0, #7
    ret
FN br_x9
    hint #34
    adr x9, padded
    br x9
FN br_x16
    hint #34
    adr x16, padded
    br x16

    .section .note.GNU-stack, "", %progbits
#ifndef NO_BTI_NOTE
    .section .note.gnu.property, "a"
    .p2align 3
    .long 4, 16, 5                    /* namesz, descsz, NT_GNU_PROPERTY_TYPE_0 */
    .asciz "GNU"
    .long 0xc0000000, 4, 1, 0         /* GNU_PROPERTY_AARCH64_FEATURE_1_AND: BTI */
#endif

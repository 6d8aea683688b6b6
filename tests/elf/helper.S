/* helper.S - a stand-in for the generic helper when the runtime library is
 * not built: tail-calls the target (no marshaling). Linked statically into
 * some test programs and built as libhelper.so for the others. */
    .intel_syntax noprefix
    .text
    .globl GenericPInvokeCalliHelper
    .type GenericPInvokeCalliHelper, @function
    .p2align 4
GenericPInvokeCalliHelper:
    jmp r10
    .size GenericPInvokeCalliHelper, . - GenericPInvokeCalliHelper
    .section .note.GNU-stack, "", @progbits

/* main.S - an entry point for the test executables. */
    .intel_syntax noprefix
    .text
    .globl main
    .type main, @function
main:
    xor eax, eax
    ret
    .size main, . - main
    .section .note.GNU-stack, "", @progbits

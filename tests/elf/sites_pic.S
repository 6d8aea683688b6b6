/* sites_pic.S - rewritable sites in every position-independent form:
 * direct call, @PLT call, call through the GOT (-fno-plt style), the two
 * tail-jump forms, and the cookie by lea or by a GOT load. Linked into
 * objects, non-PIE and PIE executables and a shared library. */
    .intel_syntax noprefix
#include "calli.inc"

COOKIE ck_i4_i4, 0, 0, 0x09, 1, 0x08, 0x08              /* int32 (int32) */
COOKIE ck_r8_r8r8, 0, 0, 0x01, 2, 0x0D, 0x0D, 0x0D       /* float64 (float64, float64) */
COOKIE ck_v_sgc, 1, 0, 0x09, 0, 0x01                    /* void () suppress-gc */
COOKIE ck_str, 0, rt_table, 0x09, 1, 0x19, 0x0E         /* nuint (string), runtime set */
COOKIE ck_bool, 0, 0, 0x09, 2, 0x02, 0x03, 0x0F, 0x04   /* bool (char16, ptr) */
COOKIEG ck_got, 0, 0, 0x09, 1, 0x0B, 0x0A                /* uint64 (int64) */

    .data
    .balign 8
    .globl rt_table
rt_table:                                               /* a calli_runtime stand-in */
    .quad 1, 0, 0, 0, 0, 0

FUNC p_direct
    mov r10, rdi
    lea r11, [rip + ck_i4_i4]
    call GenericPInvokeCalliHelper
    ret
ENDF p_direct

FUNC p_plt
    push rbx
    lea r11, [rip + ck_r8_r8r8]
    mov r10, rsi
    call GenericPInvokeCalliHelper@PLT
    pop rbx
    ret
ENDF p_plt

FUNC p_got
    sub rsp, 8
    lea r11, [rip + ck_v_sgc]
    mov r10, rdi
    call [rip + GenericPInvokeCalliHelper@GOTPCREL]
    add rsp, 8
    ret
ENDF p_got

FUNC p_tail
    mov r10, rdi
    lea r11, [rip + ck_str]
    jmp GenericPInvokeCalliHelper
ENDF p_tail

FUNC p_tail_got
    lea r11, [rip + ck_bool]
    mov r10, rdi
    jmp [rip + GenericPInvokeCalliHelper@GOTPCREL]
ENDF p_tail_got

FUNC p_cookie_got
    mov r11, [rip + ck_got@GOTPCREL]
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF p_cookie_got

/* Two sites in one function, the second reusing nothing from the first. */
FUNC p_two
    push rbx
    mov rbx, rdi
    lea r11, [rip + ck_i4_i4]
    mov r10, rbx
    call GenericPInvokeCalliHelper@PLT
    mov edi, eax
    lea r11, [rip + ck_v_sgc]
    mov r10, rbx
    call GenericPInvokeCalliHelper@PLT
    pop rbx
    ret
ENDF p_two

/* The cookie's address loaded from a constant pointer (RELRO data). */
    .section .data.rel.ro, "aw"
    .balign 8
ckptr_ro:
    .quad ck_got
FUNC p_cookie_ptr
    mov r10, rdi
    mov r11, [rip + ckptr_ro]
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF p_cookie_ptr

/* Not a site: a call to another function, and r11 used for something else. */
FUNC p_not_site
    lea r11, [rip + ck_i4_i4]
    call p_direct
    ret
ENDF p_not_site

    .section .note.GNU-stack, "", @progbits

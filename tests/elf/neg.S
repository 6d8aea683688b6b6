/* neg.S - sites that must be left alone, one reason each: the cookie is not
 * provably constant (another basic block, overwritten, clobbered by a call,
 * never set, a jump table in the function, a 32-bit lea, a pointer in
 * writable data), or the cookie itself is bad (magic, version, flags,
 * sig_len past its section, unsupported signature, STRING with runtime 0). */
    .intel_syntax noprefix
#include "calli.inc"

COOKIE ck_n_ok, 0, 0, 0x09, 1, 0x08, 0x08                 /* int32 (int32): valid */
CKRAW ck_n_magic, 0x494C4144, 1, 0, 0, 3, 0x09, 0, 0x01   /* magic "DALI" */
CKRAW ck_n_version, 0x494C4143, 2, 0, 0, 3, 0x09, 0, 0x01 /* version 2 */
CKRAW ck_n_flags, 0x494C4143, 1, 0x8001, 0, 3, 0x09, 0, 0x01 /* unknown flag 0x8000 */
COOKIE ck_n_sig, 0, 0, 0x09, 1, 0x08, 0x11, 0x08          /* VALUETYPE parameter */
COOKIE ck_n_vararg, 0, 0, 0x05, 0, 0x01                   /* vararg */
COOKIE ck_n_str0, 0, 0, 0x09, 1, 0x08, 0x0E               /* STRING with runtime 0 */

/* sig_len 100 with 3 bytes left in the section */
    .section .ckbad, "aw"
    .balign 8
ck_n_siglen:
    .long 0x494C4143
    .short 1, 0
    .quad 0, 0
    .long 100
    .byte 0x09, 0, 0x01

    .data
    .balign 8
ckptr_rw:                           /* a writable pointer: not provably constant */
    .quad ck_n_ok

FUNC n_other
    ret
ENDF n_other

/* A branch target between the setter and the call. */
FUNC n_target_between
    lea r11, [rip + ck_n_ok]
.Lagain:
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    dec esi
    jnz .Lagain
    ret
ENDF n_target_between

/* The setter is before a conditional branch: another basic block. */
FUNC n_after_branch
    lea r11, [rip + ck_n_ok]
    test esi, esi
    je 1f
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
1:  ret
ENDF n_after_branch

FUNC n_overwritten
    lea r11, [rip + ck_n_ok]
    add r11, 8
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF n_overwritten

FUNC n_clobbered
    push rbx
    lea r11, [rip + ck_n_ok]
    call n_other
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    pop rbx
    ret
ENDF n_clobbered

FUNC n_unset
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF n_unset

FUNC n_jump_table
    lea r11, [rip + ck_n_ok]
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    jmp rsi
ENDF n_jump_table

FUNC n_lea32
    lea r11d, [rip + ck_n_ok]
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF n_lea32

FUNC n_writable_ptr
    mov r11, [rip + ckptr_rw]
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF n_writable_ptr

.macro BADSITE name, cookie
FUNC \name
    lea r11, [rip + \cookie]
    mov r10, rdi
    call GenericPInvokeCalliHelper@PLT
    ret
ENDF \name
.endm

BADSITE n_magic, ck_n_magic
BADSITE n_version, ck_n_version
BADSITE n_flags, ck_n_flags
BADSITE n_siglen, ck_n_siglen
BADSITE n_sig, ck_n_sig
BADSITE n_vararg, ck_n_vararg
BADSITE n_str0, ck_n_str0

    .section .note.GNU-stack, "", @progbits

/* neg.S - sites that must be left alone, one reason each: the cookie is not
 * provably constant (another basic block, overwritten, clobbered by a call
 * or an svc, never set, a jump table in the function, a 32-bit add, a
 * pointer in writable data, a literal in writable data, ldp), the
 * destination of blr not provably the helper's slot in the block, or the
 * cookie itself is bad (magic, version, flags, sig_len past its section,
 * unsupported signature, STRING with runtime 0). n_x16_changed is no site
 * at all: x16 no longer holds the helper when blr uses it. */
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
    .word 0x494C4143
    .hword 1, 0
    .xword 0, 0
    .word 100
    .byte 0x09, 0, 0x01

    .data
    .balign 8
ckptr_rw:                           /* writable pointers: not provably constant */
    .xword ck_n_ok
cklit_rw:
    .xword ck_n_ok

FUNC n_other
    ret
ENDF n_other

/* A branch target between the setter and the call. */
FUNC n_target_between
    PROLOGUE
    ADRPADD x15, ck_n_ok
1:  mov x12, x0
    bl GenericPInvokeCalliHelper
    subs w1, w1, #1
    b.ne 1b
    EPILOGUE
ENDF n_target_between

/* The setter is before a conditional branch: another basic block. */
FUNC n_after_branch
    PROLOGUE
    ADRPADD x15, ck_n_ok
    cbz w1, 1f
    mov x12, x0
    bl GenericPInvokeCalliHelper
1:  EPILOGUE
ENDF n_after_branch

FUNC n_overwritten
    PROLOGUE
    ADRPADD x15, ck_n_ok
    add x15, x15, #8
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_overwritten

FUNC n_clobbered
    PROLOGUE
    ADRPADD x15, ck_n_ok
    bl n_other
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_clobbered

FUNC n_svc
    PROLOGUE
    ADRPADD x15, ck_n_ok
    mov x8, #172                        /* getpid */
    svc #0
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_svc

FUNC n_unset
    PROLOGUE
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_unset

FUNC n_jump_table
    PROLOGUE
    ADRPADD x15, ck_n_ok
    mov x12, x0
    bl GenericPInvokeCalliHelper
    ldp x29, x30, [sp], #16
    br x2
ENDF n_jump_table

FUNC n_add32
    PROLOGUE
    adrp x15, ck_n_ok
    add w15, w15, :lo12:ck_n_ok
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_add32

FUNC n_ldp
    PROLOGUE
    ADRPADD x15, ck_n_ok
    ldp x14, x15, [x1]
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_ldp

FUNC n_writable_ptr
    PROLOGUE
    adrp x15, ckptr_rw
    ldr x15, [x15, :lo12:ckptr_rw]
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_writable_ptr

FUNC n_writable_lit
    PROLOGUE
    ldr x15, cklit_rw
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF n_writable_lit

/* The helper's address loaded into x16 before a branch target. */
FUNC n_blr_target_between
    PROLOGUE
    GOTLOAD x16, GenericPInvokeCalliHelper
1:  ADRPADD x15, ck_n_ok
    mov x12, x0
    blr x16
    subs w1, w1, #1
    b.ne 1b
    EPILOGUE
ENDF n_blr_target_between

/* Not a site: x16 is overwritten between the load and the blr. */
FUNC n_x16_changed
    PROLOGUE
    GOTLOAD x16, GenericPInvokeCalliHelper
    ADRPADD x15, ck_n_ok
    mov x16, x2
    mov x12, x0
    blr x16
    EPILOGUE
ENDF n_x16_changed

.macro BADSITE name, cookie
FUNC \name
    PROLOGUE
    ADRPADD x15, \cookie
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF \name
.endm

BADSITE n_magic, ck_n_magic
BADSITE n_version, ck_n_version
BADSITE n_flags, ck_n_flags
BADSITE n_siglen, ck_n_siglen
BADSITE n_sig, ck_n_sig
BADSITE n_vararg, ck_n_vararg
BADSITE n_str0, ck_n_str0

    .section .note.GNU-stack, "", %progbits

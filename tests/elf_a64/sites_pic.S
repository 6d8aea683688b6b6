/* sites_pic.S - rewritable sites in every position-independent form: bl
 * (direct, or through the PLT in a PIE / shared library), b (tail), blr and
 * br through the GOT (-fno-plt style), and the cookie by adrp + add, by a
 * GOT load, by a load from a constant pointer, by ldr literal. Linked into
 * objects, non-PIE and PIE executables and a shared library. Sites are
 * called as f(target, arg): x12 = target, x0 = arg. */
#include "calli.inc"

COOKIE ck_i4_i4, 0, 0, 0x09, 1, 0x08, 0x08              /* int32 (int32) */
COOKIE ck_r8_r8r8, 0, 0, 0x01, 2, 0x0D, 0x0D, 0x0D       /* float64 (float64, float64) */
COOKIE ck_v_sgc, 1, 0, 0x09, 0, 0x01                    /* void () suppress-gc */
COOKIE ck_i8_i8, 0, 0, 0x09, 1, 0x0A, 0x0A              /* int64 (int64) */
COOKIE ck_str, 0, rt_table, 0x09, 1, 0x19, 0x0E         /* nuint (string), runtime set */
COOKIE ck_bool, 0, 0, 0x09, 2, 0x02, 0x03, 0x0F, 0x04   /* bool (char16, ptr) */
COOKIEG ck_got, 0, 0, 0x09, 1, 0x0B, 0x0A                /* uint64 (int64) */

    .data
    .balign 8
    .globl rt_table
rt_table:                                               /* a calli_runtime stand-in */
    .xword 1, 0, 0, 0, 0, 0

/* Constant pointers to cookies (RELRO in linked images). */
    .section .data.rel.ro, "aw"
    .balign 8
ckptr_ro:
    .xword ck_got
ckptr_lit:
    .xword ck_str

/* bl, cookie by adrp + add */
FUNC p_bl
    PROLOGUE
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i4_i4
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF p_bl

FUNC p_bl_r8
    PROLOGUE
    ADRPADD x15, ck_r8_r8r8
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF p_bl_r8

/* blr through the helper's GOT slot */
FUNC p_blr_got
    PROLOGUE
    ADRPADD x15, ck_v_sgc
    mov x12, x0
    GOTLOAD x16, GenericPInvokeCalliHelper
    blr x16
    EPILOGUE
ENDF p_blr_got

/* b: a tail call */
FUNC p_tail
    mov x12, x0
    mov x0, x1
    ADRPADD x15, ck_i4_i4
    b GenericPInvokeCalliHelper
ENDF p_tail

/* br through the GOT: a tail call */
FUNC p_tail_got
    ADRPADD x15, ck_i8_i8
    mov x12, x0
    mov x0, x1
    GOTLOAD x17, GenericPInvokeCalliHelper
    br x17
ENDF p_tail_got

/* the cookie's address from its GOT slot */
FUNC p_cookie_got
    PROLOGUE
    GOTLOAD x15, ck_got
    mov x12, x0
    mov x0, x1
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF p_cookie_got

/* two sites in one function, the second reusing nothing from the first */
FUNC p_two
    PROLOGUE
    str x19, [sp, #-16]!
    mov x19, x0
    mov x12, x19
    mov x0, x1
    ADRPADD x15, ck_i4_i4
    bl GenericPInvokeCalliHelper
    ADRPADD x15, ck_i4_i4
    mov x12, x19
    bl GenericPInvokeCalliHelper
    ldr x19, [sp], #16
    EPILOGUE
ENDF p_two

/* the cookie's address loaded from a constant pointer (adrp + ldr) */
FUNC p_cookie_ptr
    PROLOGUE
    mov x12, x0
    mov x0, x1
    adrp x15, ckptr_ro
    ldr x15, [x15, :lo12:ckptr_ro]
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF p_cookie_ptr

/* the cookie's address by ldr literal (the literal in RELRO data) */
FUNC p_cookie_lit
    PROLOGUE
    ldr x15, ckptr_lit
    mov x12, x0
    bl GenericPInvokeCalliHelper
    EPILOGUE
ENDF p_cookie_lit

/* adrp and ldr in different registers; blr x17 */
FUNC p_blr_split
    PROLOGUE
    adrp x9, :got:GenericPInvokeCalliHelper
    ADRPADD x15, ck_bool
    ldr x17, [x9, :got_lo12:GenericPInvokeCalliHelper]
    mov x12, x0
    blr x17
    EPILOGUE
ENDF p_blr_split

/* between the cookie and the call, instructions that do not write x15:
 * ccmp with nzcv 15, a store of x15 with writeback of sp, a vector
 * register 15, x16/x17 (pacia1716), paciasp/autiasp of x30 */
FUNC p_between
    paciasp
    PROLOGUE
    str d15, [sp, #-16]!
    mov x12, x0
    ADRPADD x15, ck_i4_i4
    cmp x0, #1
    ccmp x0, x1, #15, ne
    str x15, [sp, #-16]!
    ldr x9, [sp], #16
    fmov d15, x1
    mov x16, #1
    mov x17, x12
    hint #8                             /* pacia1716 */
    mov x0, x1
    bl GenericPInvokeCalliHelper
    ldr d15, [sp], #16
    ldp x29, x30, [sp], #16
    .cfi_restore 30
    .cfi_restore 29
    .cfi_def_cfa_offset 0
    autiasp
    ret
ENDF p_between

/* not a site: a call to another function, x15 set for something else */
FUNC p_not_site
    PROLOGUE
    ADRPADD x15, ck_i4_i4
    bl p_bl
    GOTLOAD x16, p_bl
    blr x16
    EPILOGUE
ENDF p_not_site

    .section .note.GNU-stack, "", %progbits

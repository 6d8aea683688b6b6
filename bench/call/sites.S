/* sites.S - the call sites bench/call measures, shaped as a JIT emits them
 * (spec section 1): target in r10, cookie in r11, then the generic helper.
 * `callirw rewrite` turns each `jmp GenericPInvokeCalliHelper` into a jump
 * to the signature's stub; nothing else here changes.
 *
 * Each site uses the tail form (`jmp helper`, spec section 1) so that the
 * C caller's stack arguments reach the helper or stub untouched; a site in
 * the call form would need a frame and a copy of the 12-parameter row's
 * stack arguments, which would be harness cost, not calli cost.
 *
 * The floor (bd_*) is the same site with the cookie load dropped and the
 * jump going straight to r10: the call a JIT emits when the target is known
 * to need no marshaling. A site and its floor differ only by what the calli
 * convention adds: `lea r11, cookie` and the helper or stub.
 *
 * Signature bytes (ECMA-335): 0x09 unmanaged, count, return, parameters;
 * 0x01 void, 0x02 bool, 0x05 uint8, 0x06 int16, 0x08 int32, 0x0A int64,
 * 0x0D float64, 0x0E string. COOKIE flags 1 = SUPPRESS_GC_TRANSITION. */
    .intel_syntax noprefix
#include "../../examples/calli_x86_64.inc"

.macro BENCH_SITE name, target, cookie
    .text
    .globl bs_\name
    .type bs_\name, @function
    .p2align 4
bs_\name:
    .cfi_startproc
    mov r10, [rip + \target@GOTPCREL]
    lea r11, [rip + \cookie]
    jmp GenericPInvokeCalliHelper
    .cfi_endproc
    .size bs_\name, . - bs_\name

    .globl bd_\name
    .type bd_\name, @function
    .p2align 4
bd_\name:
    .cfi_startproc
    mov r10, [rip + \target@GOTPCREL]
    jmp r10
    .cfi_endproc
    .size bd_\name, . - bd_\name
.endm

/* int32 (int32, int32), suppress-gc, no runtime: the stub is `jmp r10` */
COOKIE ck_add_sgc, 1, 0, 0x09, 2, 0x08, 0x08, 0x08
/* int32 (int32, int32) with the GC transition through the runtime table */
COOKIE ck_add_gc, 0, calli_refrt_default, 0x09, 2, 0x08, 0x08, 0x08
/* float64 (float64, float64), no flag, runtime 0: no transition (spec 4),
 * but the stub must test the runtime pointer at run time */
COOKIE ck_mul, 0, 0, 0x09, 2, 0x0D, 0x0D, 0x0D
/* bool (bool), suppress-gc: argument and return conversions */
COOKIE ck_not, 1, 0, 0x09, 1, 0x02, 0x02
/* int32 (string), GC transition, runtime table: s2n, enter, leave, free */
COOKIE ck_len, 0, calli_refrt_default, 0x09, 1, 0x08, 0x0E
/* float64 (int32, float64, int64, float64, int32, int16, int64, float64,
 * int32, uint8, int64, float64), suppress-gc: 8 integer-class parameters,
 * so the uint8 and the last int64 go on the stack under System V */
COOKIE ck_mix, 1, 0, 0x09, 12, 0x0D, 0x08, 0x0D, 0x0A, 0x0D, 0x08, 0x06, 0x0A, 0x0D, 0x08, 0x05, 0x0A, 0x0D
/* void (), suppress-gc */
COOKIE ck_void, 1, 0, 0x09, 0, 0x01

BENCH_SITE add_sgc, t_add, ck_add_sgc
BENCH_SITE add_gc, t_add, ck_add_gc
BENCH_SITE mul, t_mul, ck_mul
BENCH_SITE not, t_not, ck_not
BENCH_SITE len, t_len, ck_len
BENCH_SITE mix, t_mix, ck_mix
BENCH_SITE void, t_void, ck_void

    .section .note.GNU-stack, "", @progbits

/* test_a64_enc.c - the A64 encoder of the arm64 stub generator
 * (stubs/a64_enc.c), against aarch64-linux-gnu-as.
 *
 * The table below was produced once by assembling the "text" column with
 * aarch64-linux-gnu-as (binutils 2.40, `.arch armv8.5-a`) and reading the
 * words back with objcopy -O binary; only the result is committed, so the
 * test needs no cross tools. It covers every instruction class and form the
 * encoder offers, at the edges of every immediate field (offsets 0 and the
 * maximum, the negative pair offsets, lsl #12, branch extremes), sp and the
 * zero register where a field allows them, and every condition. The second
 * half checks that every out-of-range operand is refused (A64_BAD), never
 * truncated into some other instruction.
 *
 * The last test runs the arm64 stub generator (stubs/stub_aarch64.c) and its
 * DWARF CFI (stubs/cfi_dwarf.c) on the host under ASan/UBSan for thousands
 * of signatures: memory safety, determinism, CFI that encodes, a few exact
 * bytes. Their behaviour is proven under qemu by tests/stub_a64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "a64_enc.h"
#include "cfi_dwarf.h"
#include "stub.h"

struct row {
    uint32_t got, want;
    const char *text;
};
#define T(expr, w, txt) {(expr), (w), (txt)}

static void test_table(void **state)
{
    (void)state;
    const struct row rows[] = {
    T(a64_ldst(A64_STRB, 0, 31, 0), 0x390003e0, "strb w0, [sp, #0]"),
    T(a64_ldst(A64_STRB, 1, 29, 1), 0x390007a1, "strb w1, [x29, #1]"),
    T(a64_ldst(A64_STRB, 30, 0, 4095), 0x393ffc1e, "strb w30, [x0, #4095]"),
    T(a64_ldst(A64_STRB, 9, 10, 17), 0x39004549, "strb w9, [x10, #17]"),
    T(a64_ldst(A64_STRB, 19, 15, 100), 0x390191f3, "strb w19, [x15, #100]"),
    T(a64_ldst(A64_STRB, 7, 31, 4095), 0x393fffe7, "strb w7, [sp, #4095]"),
    T(a64_ldst(A64_STRB, 31, 31, 8), 0x390023ff, "strb wzr, [sp, #8]"),
    T(a64_ldst(A64_STRH, 0, 31, 0), 0x790003e0, "strh w0, [sp, #0]"),
    T(a64_ldst(A64_STRH, 1, 29, 2), 0x790007a1, "strh w1, [x29, #2]"),
    T(a64_ldst(A64_STRH, 30, 0, 8190), 0x793ffc1e, "strh w30, [x0, #8190]"),
    T(a64_ldst(A64_STRH, 9, 10, 34), 0x79004549, "strh w9, [x10, #34]"),
    T(a64_ldst(A64_STRH, 19, 15, 200), 0x790191f3, "strh w19, [x15, #200]"),
    T(a64_ldst(A64_STRH, 7, 31, 8190), 0x793fffe7, "strh w7, [sp, #8190]"),
    T(a64_ldst(A64_STRH, 31, 31, 16), 0x790023ff, "strh wzr, [sp, #16]"),
    T(a64_ldst(A64_STR_W, 0, 31, 0), 0xb90003e0, "str w0, [sp, #0]"),
    T(a64_ldst(A64_STR_W, 1, 29, 4), 0xb90007a1, "str w1, [x29, #4]"),
    T(a64_ldst(A64_STR_W, 30, 0, 16380), 0xb93ffc1e, "str w30, [x0, #16380]"),
    T(a64_ldst(A64_STR_W, 9, 10, 68), 0xb9004549, "str w9, [x10, #68]"),
    T(a64_ldst(A64_STR_W, 19, 15, 400), 0xb90191f3, "str w19, [x15, #400]"),
    T(a64_ldst(A64_STR_W, 7, 31, 16380), 0xb93fffe7, "str w7, [sp, #16380]"),
    T(a64_ldst(A64_STR_W, 31, 31, 32), 0xb90023ff, "str wzr, [sp, #32]"),
    T(a64_ldst(A64_STR_X, 0, 31, 0), 0xf90003e0, "str x0, [sp, #0]"),
    T(a64_ldst(A64_STR_X, 1, 29, 8), 0xf90007a1, "str x1, [x29, #8]"),
    T(a64_ldst(A64_STR_X, 30, 0, 32760), 0xf93ffc1e, "str x30, [x0, #32760]"),
    T(a64_ldst(A64_STR_X, 9, 10, 136), 0xf9004549, "str x9, [x10, #136]"),
    T(a64_ldst(A64_STR_X, 19, 15, 800), 0xf90191f3, "str x19, [x15, #800]"),
    T(a64_ldst(A64_STR_X, 7, 31, 32760), 0xf93fffe7, "str x7, [sp, #32760]"),
    T(a64_ldst(A64_STR_X, 31, 31, 64), 0xf90023ff, "str xzr, [sp, #64]"),
    T(a64_ldst(A64_STR_Q, 0, 31, 0), 0x3d8003e0, "str q0, [sp, #0]"),
    T(a64_ldst(A64_STR_Q, 1, 29, 16), 0x3d8007a1, "str q1, [x29, #16]"),
    T(a64_ldst(A64_STR_Q, 30, 0, 65520), 0x3dbffc1e, "str q30, [x0, #65520]"),
    T(a64_ldst(A64_STR_Q, 9, 10, 272), 0x3d804549, "str q9, [x10, #272]"),
    T(a64_ldst(A64_STR_Q, 19, 15, 1600), 0x3d8191f3, "str q19, [x15, #1600]"),
    T(a64_ldst(A64_STR_Q, 7, 31, 65520), 0x3dbfffe7, "str q7, [sp, #65520]"),
    T(a64_ldst(A64_LDRB, 0, 31, 0), 0x394003e0, "ldrb w0, [sp, #0]"),
    T(a64_ldst(A64_LDRB, 1, 29, 1), 0x394007a1, "ldrb w1, [x29, #1]"),
    T(a64_ldst(A64_LDRB, 30, 0, 4095), 0x397ffc1e, "ldrb w30, [x0, #4095]"),
    T(a64_ldst(A64_LDRB, 9, 10, 17), 0x39404549, "ldrb w9, [x10, #17]"),
    T(a64_ldst(A64_LDRB, 19, 15, 100), 0x394191f3, "ldrb w19, [x15, #100]"),
    T(a64_ldst(A64_LDRB, 7, 31, 4095), 0x397fffe7, "ldrb w7, [sp, #4095]"),
    T(a64_ldst(A64_LDRB, 31, 31, 8), 0x394023ff, "ldrb wzr, [sp, #8]"),
    T(a64_ldst(A64_LDRH, 0, 31, 0), 0x794003e0, "ldrh w0, [sp, #0]"),
    T(a64_ldst(A64_LDRH, 1, 29, 2), 0x794007a1, "ldrh w1, [x29, #2]"),
    T(a64_ldst(A64_LDRH, 30, 0, 8190), 0x797ffc1e, "ldrh w30, [x0, #8190]"),
    T(a64_ldst(A64_LDRH, 9, 10, 34), 0x79404549, "ldrh w9, [x10, #34]"),
    T(a64_ldst(A64_LDRH, 19, 15, 200), 0x794191f3, "ldrh w19, [x15, #200]"),
    T(a64_ldst(A64_LDRH, 7, 31, 8190), 0x797fffe7, "ldrh w7, [sp, #8190]"),
    T(a64_ldst(A64_LDRH, 31, 31, 16), 0x794023ff, "ldrh wzr, [sp, #16]"),
    T(a64_ldst(A64_LDR_W, 0, 31, 0), 0xb94003e0, "ldr w0, [sp, #0]"),
    T(a64_ldst(A64_LDR_W, 1, 29, 4), 0xb94007a1, "ldr w1, [x29, #4]"),
    T(a64_ldst(A64_LDR_W, 30, 0, 16380), 0xb97ffc1e, "ldr w30, [x0, #16380]"),
    T(a64_ldst(A64_LDR_W, 9, 10, 68), 0xb9404549, "ldr w9, [x10, #68]"),
    T(a64_ldst(A64_LDR_W, 19, 15, 400), 0xb94191f3, "ldr w19, [x15, #400]"),
    T(a64_ldst(A64_LDR_W, 7, 31, 16380), 0xb97fffe7, "ldr w7, [sp, #16380]"),
    T(a64_ldst(A64_LDR_W, 31, 31, 32), 0xb94023ff, "ldr wzr, [sp, #32]"),
    T(a64_ldst(A64_LDR_X, 0, 31, 0), 0xf94003e0, "ldr x0, [sp, #0]"),
    T(a64_ldst(A64_LDR_X, 1, 29, 8), 0xf94007a1, "ldr x1, [x29, #8]"),
    T(a64_ldst(A64_LDR_X, 30, 0, 32760), 0xf97ffc1e, "ldr x30, [x0, #32760]"),
    T(a64_ldst(A64_LDR_X, 9, 10, 136), 0xf9404549, "ldr x9, [x10, #136]"),
    T(a64_ldst(A64_LDR_X, 19, 15, 800), 0xf94191f3, "ldr x19, [x15, #800]"),
    T(a64_ldst(A64_LDR_X, 7, 31, 32760), 0xf97fffe7, "ldr x7, [sp, #32760]"),
    T(a64_ldst(A64_LDR_X, 31, 31, 64), 0xf94023ff, "ldr xzr, [sp, #64]"),
    T(a64_ldst(A64_LDR_Q, 0, 31, 0), 0x3dc003e0, "ldr q0, [sp, #0]"),
    T(a64_ldst(A64_LDR_Q, 1, 29, 16), 0x3dc007a1, "ldr q1, [x29, #16]"),
    T(a64_ldst(A64_LDR_Q, 30, 0, 65520), 0x3dfffc1e, "ldr q30, [x0, #65520]"),
    T(a64_ldst(A64_LDR_Q, 9, 10, 272), 0x3dc04549, "ldr q9, [x10, #272]"),
    T(a64_ldst(A64_LDR_Q, 19, 15, 1600), 0x3dc191f3, "ldr q19, [x15, #1600]"),
    T(a64_ldst(A64_LDR_Q, 7, 31, 65520), 0x3dffffe7, "ldr q7, [sp, #65520]"),
    T(a64_ldst(A64_LDRSB_W, 0, 31, 0), 0x39c003e0, "ldrsb w0, [sp, #0]"),
    T(a64_ldst(A64_LDRSB_W, 1, 29, 1), 0x39c007a1, "ldrsb w1, [x29, #1]"),
    T(a64_ldst(A64_LDRSB_W, 30, 0, 4095), 0x39fffc1e, "ldrsb w30, [x0, #4095]"),
    T(a64_ldst(A64_LDRSB_W, 9, 10, 17), 0x39c04549, "ldrsb w9, [x10, #17]"),
    T(a64_ldst(A64_LDRSB_W, 19, 15, 100), 0x39c191f3, "ldrsb w19, [x15, #100]"),
    T(a64_ldst(A64_LDRSB_W, 7, 31, 4095), 0x39ffffe7, "ldrsb w7, [sp, #4095]"),
    T(a64_ldst(A64_LDRSB_W, 31, 31, 8), 0x39c023ff, "ldrsb wzr, [sp, #8]"),
    T(a64_ldst(A64_LDRSH_W, 0, 31, 0), 0x79c003e0, "ldrsh w0, [sp, #0]"),
    T(a64_ldst(A64_LDRSH_W, 1, 29, 2), 0x79c007a1, "ldrsh w1, [x29, #2]"),
    T(a64_ldst(A64_LDRSH_W, 30, 0, 8190), 0x79fffc1e, "ldrsh w30, [x0, #8190]"),
    T(a64_ldst(A64_LDRSH_W, 9, 10, 34), 0x79c04549, "ldrsh w9, [x10, #34]"),
    T(a64_ldst(A64_LDRSH_W, 19, 15, 200), 0x79c191f3, "ldrsh w19, [x15, #200]"),
    T(a64_ldst(A64_LDRSH_W, 7, 31, 8190), 0x79ffffe7, "ldrsh w7, [sp, #8190]"),
    T(a64_ldst(A64_LDRSH_W, 31, 31, 16), 0x79c023ff, "ldrsh wzr, [sp, #16]"),
    T(a64_ldstp(A64_STP_X, A64_OFFSET, 29, 30, 31, -512), 0xa9207bfd, "stp x29, x30, [sp, #-512]"),
    T(a64_ldstp(A64_STP_X, A64_OFFSET, 19, 20, 31, 504), 0xa91fd3f3, "stp x19, x20, [sp, #504]"),
    T(a64_ldstp(A64_STP_X, A64_OFFSET, 0, 1, 29, 0), 0xa90007a0, "stp x0, x1, [x29, #0]"),
    T(a64_ldstp(A64_STP_X, A64_OFFSET, 9, 11, 10, 8), 0xa900ad49, "stp x9, x11, [x10, #8]"),
    T(a64_ldstp(A64_STP_X, A64_OFFSET, 2, 3, 31, -24), 0xa93e8fe2, "stp x2, x3, [sp, #-24]"),
    T(a64_ldstp(A64_STP_X, A64_PRE, 29, 30, 31, -512), 0xa9a07bfd, "stp x29, x30, [sp, #-512]!"),
    T(a64_ldstp(A64_STP_X, A64_PRE, 19, 20, 31, 504), 0xa99fd3f3, "stp x19, x20, [sp, #504]!"),
    T(a64_ldstp(A64_STP_X, A64_PRE, 0, 1, 29, 0), 0xa98007a0, "stp x0, x1, [x29, #0]!"),
    T(a64_ldstp(A64_STP_X, A64_PRE, 9, 11, 10, 8), 0xa980ad49, "stp x9, x11, [x10, #8]!"),
    T(a64_ldstp(A64_STP_X, A64_PRE, 2, 3, 31, -24), 0xa9be8fe2, "stp x2, x3, [sp, #-24]!"),
    T(a64_ldstp(A64_STP_X, A64_POST, 29, 30, 31, -512), 0xa8a07bfd, "stp x29, x30, [sp], #-512"),
    T(a64_ldstp(A64_STP_X, A64_POST, 19, 20, 31, 504), 0xa89fd3f3, "stp x19, x20, [sp], #504"),
    T(a64_ldstp(A64_STP_X, A64_POST, 0, 1, 29, 0), 0xa88007a0, "stp x0, x1, [x29], #0"),
    T(a64_ldstp(A64_STP_X, A64_POST, 9, 11, 10, 8), 0xa880ad49, "stp x9, x11, [x10], #8"),
    T(a64_ldstp(A64_STP_X, A64_POST, 2, 3, 31, -24), 0xa8be8fe2, "stp x2, x3, [sp], #-24"),
    T(a64_ldstp(A64_LDP_X, A64_OFFSET, 29, 30, 31, -512), 0xa9607bfd, "ldp x29, x30, [sp, #-512]"),
    T(a64_ldstp(A64_LDP_X, A64_OFFSET, 19, 20, 31, 504), 0xa95fd3f3, "ldp x19, x20, [sp, #504]"),
    T(a64_ldstp(A64_LDP_X, A64_OFFSET, 0, 1, 29, 0), 0xa94007a0, "ldp x0, x1, [x29, #0]"),
    T(a64_ldstp(A64_LDP_X, A64_OFFSET, 9, 11, 10, 8), 0xa940ad49, "ldp x9, x11, [x10, #8]"),
    T(a64_ldstp(A64_LDP_X, A64_OFFSET, 2, 3, 31, -24), 0xa97e8fe2, "ldp x2, x3, [sp, #-24]"),
    T(a64_ldstp(A64_LDP_X, A64_PRE, 29, 30, 31, -512), 0xa9e07bfd, "ldp x29, x30, [sp, #-512]!"),
    T(a64_ldstp(A64_LDP_X, A64_PRE, 19, 20, 31, 504), 0xa9dfd3f3, "ldp x19, x20, [sp, #504]!"),
    T(a64_ldstp(A64_LDP_X, A64_PRE, 0, 1, 29, 0), 0xa9c007a0, "ldp x0, x1, [x29, #0]!"),
    T(a64_ldstp(A64_LDP_X, A64_PRE, 9, 11, 10, 8), 0xa9c0ad49, "ldp x9, x11, [x10, #8]!"),
    T(a64_ldstp(A64_LDP_X, A64_PRE, 2, 3, 31, -24), 0xa9fe8fe2, "ldp x2, x3, [sp, #-24]!"),
    T(a64_ldstp(A64_LDP_X, A64_POST, 29, 30, 31, -512), 0xa8e07bfd, "ldp x29, x30, [sp], #-512"),
    T(a64_ldstp(A64_LDP_X, A64_POST, 19, 20, 31, 504), 0xa8dfd3f3, "ldp x19, x20, [sp], #504"),
    T(a64_ldstp(A64_LDP_X, A64_POST, 0, 1, 29, 0), 0xa8c007a0, "ldp x0, x1, [x29], #0"),
    T(a64_ldstp(A64_LDP_X, A64_POST, 9, 11, 10, 8), 0xa8c0ad49, "ldp x9, x11, [x10], #8"),
    T(a64_ldstp(A64_LDP_X, A64_POST, 2, 3, 31, -24), 0xa8fe8fe2, "ldp x2, x3, [sp], #-24"),
    T(a64_ldstp(A64_STP_Q, A64_OFFSET, 29, 30, 31, -1024), 0xad207bfd, "stp q29, q30, [sp, #-1024]"),
    T(a64_ldstp(A64_STP_Q, A64_OFFSET, 19, 20, 31, 1008), 0xad1fd3f3, "stp q19, q20, [sp, #1008]"),
    T(a64_ldstp(A64_STP_Q, A64_OFFSET, 0, 1, 29, 0), 0xad0007a0, "stp q0, q1, [x29, #0]"),
    T(a64_ldstp(A64_STP_Q, A64_OFFSET, 9, 11, 10, 16), 0xad00ad49, "stp q9, q11, [x10, #16]"),
    T(a64_ldstp(A64_STP_Q, A64_OFFSET, 2, 3, 31, -48), 0xad3e8fe2, "stp q2, q3, [sp, #-48]"),
    T(a64_ldstp(A64_STP_Q, A64_PRE, 29, 30, 31, -1024), 0xada07bfd, "stp q29, q30, [sp, #-1024]!"),
    T(a64_ldstp(A64_STP_Q, A64_PRE, 19, 20, 31, 1008), 0xad9fd3f3, "stp q19, q20, [sp, #1008]!"),
    T(a64_ldstp(A64_STP_Q, A64_PRE, 0, 1, 29, 0), 0xad8007a0, "stp q0, q1, [x29, #0]!"),
    T(a64_ldstp(A64_STP_Q, A64_PRE, 9, 11, 10, 16), 0xad80ad49, "stp q9, q11, [x10, #16]!"),
    T(a64_ldstp(A64_STP_Q, A64_PRE, 2, 3, 31, -48), 0xadbe8fe2, "stp q2, q3, [sp, #-48]!"),
    T(a64_ldstp(A64_STP_Q, A64_POST, 29, 30, 31, -1024), 0xaca07bfd, "stp q29, q30, [sp], #-1024"),
    T(a64_ldstp(A64_STP_Q, A64_POST, 19, 20, 31, 1008), 0xac9fd3f3, "stp q19, q20, [sp], #1008"),
    T(a64_ldstp(A64_STP_Q, A64_POST, 0, 1, 29, 0), 0xac8007a0, "stp q0, q1, [x29], #0"),
    T(a64_ldstp(A64_STP_Q, A64_POST, 9, 11, 10, 16), 0xac80ad49, "stp q9, q11, [x10], #16"),
    T(a64_ldstp(A64_STP_Q, A64_POST, 2, 3, 31, -48), 0xacbe8fe2, "stp q2, q3, [sp], #-48"),
    T(a64_ldstp(A64_LDP_Q, A64_OFFSET, 29, 30, 31, -1024), 0xad607bfd, "ldp q29, q30, [sp, #-1024]"),
    T(a64_ldstp(A64_LDP_Q, A64_OFFSET, 19, 20, 31, 1008), 0xad5fd3f3, "ldp q19, q20, [sp, #1008]"),
    T(a64_ldstp(A64_LDP_Q, A64_OFFSET, 0, 1, 29, 0), 0xad4007a0, "ldp q0, q1, [x29, #0]"),
    T(a64_ldstp(A64_LDP_Q, A64_OFFSET, 9, 11, 10, 16), 0xad40ad49, "ldp q9, q11, [x10, #16]"),
    T(a64_ldstp(A64_LDP_Q, A64_OFFSET, 2, 3, 31, -48), 0xad7e8fe2, "ldp q2, q3, [sp, #-48]"),
    T(a64_ldstp(A64_LDP_Q, A64_PRE, 29, 30, 31, -1024), 0xade07bfd, "ldp q29, q30, [sp, #-1024]!"),
    T(a64_ldstp(A64_LDP_Q, A64_PRE, 19, 20, 31, 1008), 0xaddfd3f3, "ldp q19, q20, [sp, #1008]!"),
    T(a64_ldstp(A64_LDP_Q, A64_PRE, 0, 1, 29, 0), 0xadc007a0, "ldp q0, q1, [x29, #0]!"),
    T(a64_ldstp(A64_LDP_Q, A64_PRE, 9, 11, 10, 16), 0xadc0ad49, "ldp q9, q11, [x10, #16]!"),
    T(a64_ldstp(A64_LDP_Q, A64_PRE, 2, 3, 31, -48), 0xadfe8fe2, "ldp q2, q3, [sp, #-48]!"),
    T(a64_ldstp(A64_LDP_Q, A64_POST, 29, 30, 31, -1024), 0xace07bfd, "ldp q29, q30, [sp], #-1024"),
    T(a64_ldstp(A64_LDP_Q, A64_POST, 19, 20, 31, 1008), 0xacdfd3f3, "ldp q19, q20, [sp], #1008"),
    T(a64_ldstp(A64_LDP_Q, A64_POST, 0, 1, 29, 0), 0xacc007a0, "ldp q0, q1, [x29], #0"),
    T(a64_ldstp(A64_LDP_Q, A64_POST, 9, 11, 10, 16), 0xacc0ad49, "ldp q9, q11, [x10], #16"),
    T(a64_ldstp(A64_LDP_Q, A64_POST, 2, 3, 31, -48), 0xacfe8fe2, "ldp q2, q3, [sp], #-48"),
    T(a64_add_imm(31, 31, 16u), 0x910043ff, "add sp, sp, #16"),
    T(a64_add_imm(31, 31, 4095u), 0x913fffff, "add sp, sp, #4095"),
    T(a64_add_imm(10, 29, 512u), 0x910803aa, "add x10, x29, #512"),
    T(a64_add_imm(0, 1, 0u), 0x91000020, "add x0, x1, #0"),
    T(a64_add_imm(31, 31, 4096u), 0x914007ff, "add sp, sp, #1, lsl #12"),
    T(a64_add_imm(9, 31, 16773120u), 0x917fffe9, "add x9, sp, #4095, lsl #12"),
    T(a64_add_imm(29, 31, 28672u), 0x91401ffd, "add x29, sp, #7, lsl #12"),
    T(a64_sub_imm(31, 31, 16u), 0xd10043ff, "sub sp, sp, #16"),
    T(a64_sub_imm(31, 31, 4095u), 0xd13fffff, "sub sp, sp, #4095"),
    T(a64_sub_imm(10, 29, 512u), 0xd10803aa, "sub x10, x29, #512"),
    T(a64_sub_imm(0, 1, 0u), 0xd1000020, "sub x0, x1, #0"),
    T(a64_sub_imm(31, 31, 4096u), 0xd14007ff, "sub sp, sp, #1, lsl #12"),
    T(a64_sub_imm(9, 31, 16773120u), 0xd17fffe9, "sub x9, sp, #4095, lsl #12"),
    T(a64_sub_imm(29, 31, 28672u), 0xd1401ffd, "sub x29, sp, #7, lsl #12"),
    T(a64_mov(0, 1), 0xaa0103e0, "mov x0, x1"),
    T(a64_mov(16, 12), 0xaa0c03f0, "mov x16, x12"),
    T(a64_mov(19, 15), 0xaa0f03f3, "mov x19, x15"),
    T(a64_mov(20, 12), 0xaa0c03f4, "mov x20, x12"),
    T(a64_mov(30, 0), 0xaa0003fe, "mov x30, x0"),
    T(a64_mov(0, 30), 0xaa1e03e0, "mov x0, x30"),
    T(a64_mov_sp(29, 31), 0x910003fd, "add x29, sp, #0"),
    T(a64_mov_sp(31, 29), 0x910003bf, "add sp, x29, #0"),
    T(a64_mov_sp(0, 31), 0x910003e0, "add x0, sp, #0"),
    T(a64_mov_sp(31, 0), 0x9100001f, "add sp, x0, #0"),
    T(a64_mov_sp(5, 6), 0x910000c5, "add x5, x6, #0"),
    T(a64_cmp_w_imm(0, 0), 0x7100001f, "cmp w0, #0"),
    T(a64_cmp_w_imm(9, 0), 0x7100013f, "cmp w9, #0"),
    T(a64_cmp_w_imm(1, 255), 0x7103fc3f, "cmp w1, #255"),
    T(a64_cmp_w_imm(30, 4095), 0x713fffdf, "cmp w30, #4095"),
    T(a64_tst_w_ff(0), 0x72001c1f, "tst w0, #0xff"),
    T(a64_tst_w_ff(7), 0x72001cff, "tst w7, #0xff"),
    T(a64_tst_w_ff(9), 0x72001d3f, "tst w9, #0xff"),
    T(a64_tst_w_ff(30), 0x72001fdf, "tst w30, #0xff"),
    T(a64_cset_w(0, A64_EQ), 0x1a9f17e0, "cset w0, eq"),
    T(a64_cset_w(1, A64_NE), 0x1a9f07e1, "cset w1, ne"),
    T(a64_cset_w(2, A64_HS), 0x1a9f37e2, "cset w2, hs"),
    T(a64_cset_w(3, A64_LO), 0x1a9f27e3, "cset w3, lo"),
    T(a64_cset_w(4, A64_MI), 0x1a9f57e4, "cset w4, mi"),
    T(a64_cset_w(5, A64_PL), 0x1a9f47e5, "cset w5, pl"),
    T(a64_cset_w(6, A64_VS), 0x1a9f77e6, "cset w6, vs"),
    T(a64_cset_w(7, A64_VC), 0x1a9f67e7, "cset w7, vc"),
    T(a64_cset_w(8, A64_HI), 0x1a9f97e8, "cset w8, hi"),
    T(a64_cset_w(9, A64_LS), 0x1a9f87e9, "cset w9, ls"),
    T(a64_cset_w(10, A64_GE), 0x1a9fb7ea, "cset w10, ge"),
    T(a64_cset_w(11, A64_LT), 0x1a9fa7eb, "cset w11, lt"),
    T(a64_cset_w(12, A64_GT), 0x1a9fd7ec, "cset w12, gt"),
    T(a64_cset_w(13, A64_LE), 0x1a9fc7ed, "cset w13, le"),
    T(a64_sxtb_w(0, 0), 0x13001c00, "sxtb w0, w0"),
    T(a64_sxtb_w(7, 7), 0x13001ce7, "sxtb w7, w7"),
    T(a64_sxtb_w(9, 3), 0x13001c69, "sxtb w9, w3"),
    T(a64_sxtb_w(30, 1), 0x13001c3e, "sxtb w30, w1"),
    T(a64_sxth_w(0, 0), 0x13003c00, "sxth w0, w0"),
    T(a64_sxth_w(7, 7), 0x13003ce7, "sxth w7, w7"),
    T(a64_sxth_w(9, 3), 0x13003c69, "sxth w9, w3"),
    T(a64_sxth_w(30, 1), 0x13003c3e, "sxth w30, w1"),
    T(a64_uxtb_w(0, 0), 0x53001c00, "uxtb w0, w0"),
    T(a64_uxtb_w(7, 7), 0x53001ce7, "uxtb w7, w7"),
    T(a64_uxtb_w(9, 3), 0x53001c69, "uxtb w9, w3"),
    T(a64_uxtb_w(30, 1), 0x53001c3e, "uxtb w30, w1"),
    T(a64_uxth_w(0, 0), 0x53003c00, "uxth w0, w0"),
    T(a64_uxth_w(7, 7), 0x53003ce7, "uxth w7, w7"),
    T(a64_uxth_w(9, 3), 0x53003c69, "uxth w9, w3"),
    T(a64_uxth_w(30, 1), 0x53003c3e, "uxth w30, w1"),
    T(a64_cbz_x(15, 8), 0xb400004f, "cbz x15, .+8"),
    T(a64_cbz_x(19, 12), 0xb4000073, "cbz x19, .+12"),
    T(a64_cbz_x(0, -4), 0xb4ffffe0, "cbz x0, .-4"),
    T(a64_cbz_x(9, 1048572), 0xb47fffe9, "cbz x9, .+1048572"),
    T(a64_cbz_x(9, -1048576), 0xb4800009, "cbz x9, .-1048576"),
    T(a64_cbz_x(31, 0), 0xb400001f, "cbz xzr, .+0"),
    T(a64_cbnz_x(15, 8), 0xb500004f, "cbnz x15, .+8"),
    T(a64_cbnz_x(19, 12), 0xb5000073, "cbnz x19, .+12"),
    T(a64_cbnz_x(0, -4), 0xb5ffffe0, "cbnz x0, .-4"),
    T(a64_cbnz_x(9, 1048572), 0xb57fffe9, "cbnz x9, .+1048572"),
    T(a64_cbnz_x(9, -1048576), 0xb5800009, "cbnz x9, .-1048576"),
    T(a64_cbnz_x(31, 0), 0xb500001f, "cbnz xzr, .+0"),
    T(a64_b(0), 0x14000000, "b .+0"),
    T(a64_b(4), 0x14000001, "b .+4"),
    T(a64_b(-4), 0x17ffffff, "b .-4"),
    T(a64_b(134217724), 0x15ffffff, "b .+134217724"),
    T(a64_b(-134217728), 0x16000000, "b .-134217728"),
    /* adrp: words checked with aarch64-linux-gnu-objdump (as would emit a
     * relocation for a label operand) */
    T(a64_adrp(16, 0), 0x90000010, "adrp x16, .+0"),
    T(a64_adrp(16, 1), 0xb0000010, "adrp x16, .+0x1000"),
    T(a64_adrp(16, -1), 0xf0fffff0, "adrp x16, .-0x1000"),
    T(a64_adrp(16, 0xfffff), 0xf07ffff0, "adrp x16, .+0xfffff000"),
    T(a64_adrp(16, -0x100000), 0x90800010, "adrp x16, .-0x100000000"),
    T(a64_adrp(0, 7), 0xf0000020, "adrp x0, .+0x7000"),
    T(a64_br(0), 0xd61f0000, "br x0"),
    T(a64_blr(0), 0xd63f0000, "blr x0"),
    T(a64_br(9), 0xd61f0120, "br x9"),
    T(a64_blr(9), 0xd63f0120, "blr x9"),
    T(a64_br(12), 0xd61f0180, "br x12"),
    T(a64_blr(12), 0xd63f0180, "blr x12"),
    T(a64_br(16), 0xd61f0200, "br x16"),
    T(a64_blr(16), 0xd63f0200, "blr x16"),
    T(a64_br(20), 0xd61f0280, "br x20"),
    T(a64_blr(20), 0xd63f0280, "blr x20"),
    T(a64_br(30), 0xd61f03c0, "br x30"),
    T(a64_blr(30), 0xd63f03c0, "blr x30"),
    T(a64_ret(), 0xd65f03c0, "ret"),
    T(a64_bti_c(), 0xd503245f, "bti c"),
    T(a64_nop(), 0xd503201f, "nop"),
    };
    unsigned bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].got != rows[i].want) {
            fprintf(stderr, "%-36s encoded 0x%08x, as says 0x%08x\n", rows[i].text, rows[i].got,
                    rows[i].want);
            bad++;
        }
    assert_int_equal(bad, 0);
    printf("a64_enc: %zu encodings agree with aarch64-linux-gnu-as\n", sizeof rows / sizeof rows[0]);
}

static void test_refused(void **state)
{
    (void)state;
    const uint32_t refused[] = {
        /* single loads/stores: register numbers, negative, misaligned, too far, unknown op */
        a64_ldst(A64_STR_X, 32, 31, 0), a64_ldst(A64_STR_X, 0, 32, 0),
        a64_ldst(A64_STR_X, 0, 31, -8), a64_ldst(A64_STR_X, 0, 31, 4),
        a64_ldst(A64_STR_X, 0, 31, 4096 * 8), a64_ldst(A64_LDR_Q, 0, 31, 8),
        a64_ldst(A64_LDR_Q, 0, 31, 4096 * 16), a64_ldst(A64_LDRH, 0, 31, 1),
        a64_ldst(A64_LDRB, 0, 31, 4096), a64_ldst(A64_LDR_W, 0, 31, 2),
        a64_ldst(A64_LDRSH_W, 0, 31, 8192), a64_ldst((enum a64_ldst_op)99, 0, 31, 0),
        /* pairs: range, alignment, LDP with equal registers, write-back into
         * a transferred register, unknown op or index */
        a64_ldstp(A64_STP_X, A64_PRE, 29, 30, 31, -520), a64_ldstp(A64_STP_X, A64_PRE, 29, 30, 31, 512),
        a64_ldstp(A64_STP_Q, A64_OFFSET, 0, 1, 29, 1024), a64_ldstp(A64_STP_Q, A64_OFFSET, 0, 1, 29, 8),
        a64_ldstp(A64_LDP_X, A64_OFFSET, 9, 9, 10, 0), a64_ldstp(A64_LDP_Q, A64_OFFSET, 3, 3, 10, 0),
        a64_ldstp(A64_STP_X, A64_OFFSET, 0, 1, 31, 4), a64_ldstp(A64_LDP_X, A64_POST, 10, 11, 10, 16),
        a64_ldstp(A64_STP_X, A64_PRE, 9, 10, 10, -16), a64_ldstp(A64_STP_X, (enum a64_index)7, 0, 1, 31, 0),
        a64_ldstp((enum a64_pair_op)9, A64_OFFSET, 0, 1, 31, 0), a64_ldstp(A64_STP_X, A64_OFFSET, 32, 1, 31, 0),
        /* add/sub immediates that need more than imm12 {lsl 12} */
        a64_add_imm(31, 31, 4097), a64_sub_imm(31, 31, 1u << 24), a64_sub_imm(31, 31, 0x1001000),
        a64_add_imm(32, 31, 0), a64_mov_sp(31, 32),
        /* mov through orr cannot name sp; cmp cannot name wsp */
        a64_mov(31, 0), a64_mov(0, 31), a64_cmp_w_imm(31, 0), a64_cmp_w_imm(0, 4096),
        a64_cset_w(0, A64_AL), a64_cset_w(0, (enum a64_cond)15), a64_cset_w(32, A64_EQ),
        a64_sxtb_w(32, 0), a64_uxth_w(0, 32), a64_tst_w_ff(32),
        /* branches: alignment and range */
        a64_cbz_x(0, 2), a64_cbz_x(0, 1 << 20), a64_cbnz_x(0, -(1 << 20) - 4), a64_cbz_x(32, 0),
        a64_b(2), a64_b(1 << 27), a64_b(-(1 << 27) - 4), a64_br(31), a64_blr(31), a64_br(32),
        a64_adrp(16, 1 << 20), a64_adrp(16, -(1 << 20) - 1), a64_adrp(31, 0),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (refused[i] != A64_BAD)
            fail_msg("refusal case %zu encoded as 0x%08x", i, refused[i]);
}

/* Every offset of the scaled fields lands in the field unchanged. */
static void test_fields(void **state)
{
    (void)state;
    for (int32_t k = 0; k < 4096; k++) {
        assert_int_equal(a64_ldst(A64_LDR_X, 1, 2, 8 * k), 0xf9400041u | (uint32_t)k << 10);
        assert_int_equal(a64_ldst(A64_STR_Q, 1, 2, 16 * k), 0x3d800041u | (uint32_t)k << 10);
        assert_int_equal(a64_ldst(A64_LDRB, 1, 2, k), 0x39400041u | (uint32_t)k << 10);
        assert_int_equal(a64_add_imm(1, 2, (uint32_t)k), 0x91000041u | (uint32_t)k << 10);
    }
    for (int32_t k = -64; k < 64; k++) {
        assert_int_equal(a64_ldstp(A64_STP_X, A64_OFFSET, 1, 2, 3, 8 * k),
                         0xa9000861u | ((uint32_t)k & 0x7f) << 15);
        assert_int_equal(a64_ldstp(A64_LDP_Q, A64_POST, 1, 2, 3, 16 * k),
                         0xacc00861u | ((uint32_t)k & 0x7f) << 15);
    }
    for (int32_t k = -(1 << 18); k < (1 << 18); k += 997)
        assert_int_equal(a64_cbnz_x(5, 4 * k), 0xb5000005u | ((uint32_t)k & 0x7ffff) << 5);
}

static uint64_t rng = 0xa64a64;

static unsigned rndn(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_generator_host(void **state)
{
    (void)state;
    static const uint8_t types[] = {0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x18, 0x19, 0x1b};
    size_t total = 0;
    for (unsigned n = 0; n < 4000; n++) {
        struct calli_sig s;
        memset(&s, 0, sizeof s);
        s.callconv = 9;
        do
            s.ret = rndn(8) ? types[rndn(sizeof types)] : CALLI_T_VOID;
        while (s.ret == CALLI_T_STRING);
        s.nparams = (uint16_t)(n < 64 ? n : rndn(CALLI_SIG_MAX_PARAMS + 1));
        for (unsigned i = 0; i < s.nparams; i++)
            s.params[i] = n % 7 == 0 ? CALLI_T_STRING : types[rndn(sizeof types)];
        enum calli_abi abi = n & 1 ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64;
        struct stub_opts o = {.bti = (int)(n >> 1 & 1)};
        struct stub_code c, d;
        char err[160];
        assert_int_equal(stub_generate(abi, &s, (int)(n >> 2 & 1), &o, &c, err, sizeof err), STUB_OK);
        assert_int_equal(stub_generate(abi, &s, (int)(n >> 2 & 1), &o, &d, err, sizeof err), STUB_OK);
        assert_int_equal(c.len, d.len);
        assert_memory_equal(c.bytes, d.bytes, c.len);
        assert_int_equal(c.len % 4, 0);
        if (o.bti)
            assert_int_equal(c.bytes[0] | c.bytes[1] << 8 | c.bytes[2] << 16 | (uint32_t)c.bytes[3] << 24,
                             a64_bti_c());
        struct cfi_buf b = {0};
        size_t cie;
        assert_int_equal(cfi_dwarf_cie(&b, abi, &cie), CFI_OK);
        assert_int_equal(cfi_dwarf_fde(&b, cie, &c, 0x10000, 0x20000, 0), CFI_OK);
        assert_int_equal(b.len % 8, 0);
        free(b.data);
        total += c.len;
        stub_code_free(&c);
        stub_code_free(&d);
    }
    /* The arm64 CIE, byte for byte: zR, code 4, data -8, RA x30, CFA = sp+0. */
    struct cfi_buf b = {0};
    assert_int_equal(cfi_dwarf_cie(&b, CALLI_ABI_AAPCS64, 0), CFI_OK);
    const uint8_t cie[] = {0x14, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 4, 0x78, 30, 1, 0x1b,
                           0x0c, 31, 0, 0, 0, 0, 0};
    assert_int_equal(b.len, sizeof cie);
    assert_memory_equal(b.data, cie, sizeof cie);
    free(b.data);
    /* A malformed arm64 description is refused, not encoded. */
    struct stub_code bad = {.abi = CALLI_ABI_AAPCS64, .len = 8};
    struct stub_unwind_step st = {.pc_off = 2, .op = STUB_UW_ALLOC, .value = 16};
    bad.unwind = &st;
    bad.nunwind = 1;
    memset(&b, 0, sizeof b);
    assert_int_equal(cfi_dwarf_program(&bad, &b), CFI_E_UNWIND); /* pc not a multiple of 4 */
    st.pc_off = 4;
    st.op = STUB_UW_PUSH;
    assert_int_equal(cfi_dwarf_program(&bad, &b), CFI_E_UNWIND); /* x86 op */
    st.op = STUB_UW_ALLOC;
    st.value = 8;
    assert_int_equal(cfi_dwarf_program(&bad, &b), CFI_E_UNWIND); /* sp misaligned */
    assert_int_equal(b.len, 0);
    free(b.data);
    printf("a64 stubs: 4000 generated on the host (%zu bytes), deterministic, CFI encodes\n", total);
}

/* Range-extension veneers (stubs/veneer_a64.c): the words objdump showed
 * for check-far's exe-veneer (veneer 0x4018d0, stub 0x20011520), both ends
 * of adrp's reach, and refusals. */
static void test_veneer(void **state)
{
    (void)state;
    uint8_t v[STUB_VENEER_BYTES];
    uint32_t w[3];
    assert_int_equal(stub_veneer_a64(0x4018d0, 0x20011520, v), STUB_OK);
    memcpy(w, v, sizeof w);
    assert_int_equal(w[0], 0x900fe090); /* adrp x16, 0x20011000 */
    assert_int_equal(w[1], 0x91148210); /* add x16, x16, #0x520 */
    assert_int_equal(w[2], 0xd61f0200); /* br x16 */
    assert_int_equal(stub_veneer_a64(0x100000000, 0x100000000 + 0xfffff000 + 0xffc, v), STUB_OK);
    assert_int_equal(stub_veneer_a64(0x100000000, 0x100000000 - 0x100000000, v), STUB_OK);
    assert_int_equal(stub_veneer_a64(0x100000000, 0x100000000 + 0x100000000, v), STUB_E_ENCODE);
    assert_int_equal(stub_veneer_a64(0x100001000, 0x1000, v), STUB_OK); /* -2^20 pages */
    assert_int_equal(stub_veneer_a64(0x100002000, 0x1000, v), STUB_E_ENCODE);
    assert_int_equal(stub_veneer_a64(0x1002, 0x2000, v), STUB_E_ENCODE);
    assert_int_equal(stub_veneer_a64(0x1000, 0x2002, v), STUB_E_ENCODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_generator_host),
        cmocka_unit_test(test_veneer),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}

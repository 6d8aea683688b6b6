/* stub_x86_64_common.h - what the two x86-64 stub generators (System V in
 * stub_x86_64_sysv.c, Microsoft x64 in stub_x86_64_win.c) share: the value
 * conversions of spec section 3 as instruction sequences, the in-place
 * normalisation of shapes A and B, the copy of stack arguments, the
 * enter/leave service calls and the unwind-step helper. Internal to stubs/.
 * Design: docs/stubs.md. */
#ifndef CALLIRW_STUB_X86_64_COMMON_H
#define CALLIRW_STUB_X86_64_COMMON_H

#include "x86_enc.h"

/* General-purpose registers, hardware numbering. */
enum {
    X64_RAX = 0, X64_RCX = 1, X64_RDX = 2, X64_RBX = 3, X64_RSP = 4, X64_RBP = 5,
    X64_RSI = 6, X64_RDI = 7, X64_R8 = 8, X64_R9 = 9, X64_R10 = 10, X64_R11 = 11,
};

/* Offsets in struct calli_runtime, and of `runtime` in the cookie. */
enum { X64_RT_CTX = 8, X64_RT_ENTER = 16, X64_RT_LEAVE = 24, X64_RT_S2N = 32, X64_RT_FREE = 40 };
enum { X64_COOKIE_RUNTIME = 8 };

/* What a value needs between the managed and the native side (both
 * directions use the same rules, spec section 3). */
enum x64_conv { X64_CV_NONE, X64_CV_BOOL, X64_CV_S8, X64_CV_U8, X64_CV_S16, X64_CV_U16 };

enum x64_conv x64_conv_of(uint8_t type);

/* Register r's low bits in native form, in r's 32-bit register (BOOL:
 * `test dil,dil; setne dil; movzx edi,dil`; otherwise one movsx/movzx). */
void x64_norm_reg(struct x86_asm *a, unsigned r, enum x64_conv cv);

/* dst = the native form of the value at [base+disp]: all 8 bytes when there
 * is nothing to convert, else the converted 32-bit value (upper half zero).
 * bool_width: the bytes a BOOL occupies there (1 managed argument, 4 native
 * result). */
void x64_load_norm(struct x86_asm *a, unsigned dst, unsigned base, int32_t disp,
                   enum x64_conv cv, unsigned bool_width);

/* The return conversion in eax, right after the target returned (BOOL: all
 * 32 bits count). */
void x64_norm_ret(struct x86_asm *a, enum x64_conv rc);

/* Append an unwind step at the current end of the code (sticky error). */
void x64_uw(struct x86_asm *a, enum stub_unwind_op op, unsigned reg, int32_t value);

/* Normalise every small argument where it is: in its argument register
 * (argreg[loc.reg]) or in its incoming stack slot [rsp + stack_disp +
 * stack_off], through rax. */
void x64_normalize_in_place(struct x86_asm *a, const struct calli_sig *sig,
                            const struct calli_layout *lay, const uint8_t *argreg,
                            int32_t stack_disp);

/* Copy the non-STRING stack arguments from [src_base + src_disp + managed
 * offset] to [dst_base + dst_disp + native offset], normalising unless
 * `normalized`, through rax. Two unconverted neighbours move as one 16-byte
 * movups through xmm `scratch_xmm`, which must not hold an argument. */
void x64_copy_stack_args(struct x86_asm *a, const struct calli_sig *sig,
                         const struct calli_layout *lay, int normalized, unsigned src_base,
                         int32_t src_disp, unsigned dst_base, int32_t dst_disp,
                         unsigned scratch_xmm);

/* rt->enter(ctx) / rt->leave(ctx) with the runtime table in rbx: `mov
 * arg_reg, [rbx+8]; call [rbx+fn]`, skipped at run time (`test rbx,rbx; jz`)
 * when rt_test says the runtime may be null. */
void x64_gc_service(struct x86_asm *a, int rt_test, unsigned arg_reg, int32_t fn);

/* The frameless head of shapes A and B (after the in-place
 * normalisation): A (suppress-gc) is `jmp r10` and returns 0; B is
 * `cmp qword [r11+8],0; jnz body; jmp r10; body:` and returns 1: the framed
 * body (the cookie, with a non-null runtime, still in r11) must follow. */
int x64_tail_head(struct x86_asm *a, int sgc);

#endif

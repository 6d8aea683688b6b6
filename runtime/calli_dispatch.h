/* calli_dispatch.h - the interface between the assembly of the generic helper
 * and its C dispatcher (internal to runtime/; see docs/runtime.md).
 *
 * GenericPInvokeCalliHelper (helper_*.S) saves the argument registers into a
 * struct calli_regs on its own stack and calls
 *     calli_rt_dispatch(save, managed_stack_args, target, cookie);
 * the dispatcher validates the cookie, marshals, calls the target through
 * calli_rt_invoke (also assembly) and stores the marshaled return value in
 * save->ret_gpr / save->ret_fpr, which the helper loads into rax / xmm0
 * (x0 / q0) before returning to the call site.
 *
 * The offsets below are used by the assembly; the static assertions keep the
 * two in step.
 */
#ifndef CALLI_DISPATCH_H
#define CALLI_DISPATCH_H

#define CALLI_REGS_GPR 0        /* 8 x 8: SysV rdi rsi rdx rcx r8 r9; Win64 rcx rdx r8 r9; arm64 x0-x7 */
#define CALLI_REGS_FPR 64       /* 8 x 16: xmm0-7 / q0-7, all 128 bits */
#define CALLI_REGS_RET_GPR 192  /* rax / x0 */
#define CALLI_REGS_RET_FPR 208  /* xmm0 / q0, all 128 bits */
#define CALLI_REGS_SIZE 224

#define CALLI_INVOKE_STACK 224      /* const void *: native stack-argument block */
#define CALLI_INVOKE_STACK_SIZE 232 /* uint64_t: its size, a multiple of 16 */
#define CALLI_INVOKE_TARGET 240     /* void *: the function to call */
#define CALLI_INVOKE_SIZE 256

#ifndef __ASSEMBLER__

#include "calli_layout.h"
#include "calli_runtime.h"
#include "rt_util.h"

/* Register values, managed (helper save area) or native (invoke input). */
struct calli_regs {
    uint64_t gpr[8];
    uint64_t fpr[8][2];
    uint64_t ret_gpr;
    uint64_t ret_pad;
    uint64_t ret_fpr[2];
};

/* What calli_rt_invoke consumes: native registers, native stack block,
 * target; it writes regs.ret_gpr / regs.ret_fpr. */
struct calli_invoke {
    struct calli_regs regs;
    const void *stack;
    uint64_t stack_size;
    void *target;
    uint64_t pad;
};

_Static_assert(__builtin_offsetof(struct calli_regs, gpr) == CALLI_REGS_GPR, "regs");
_Static_assert(__builtin_offsetof(struct calli_regs, fpr) == CALLI_REGS_FPR, "regs");
_Static_assert(__builtin_offsetof(struct calli_regs, ret_gpr) == CALLI_REGS_RET_GPR, "regs");
_Static_assert(__builtin_offsetof(struct calli_regs, ret_fpr) == CALLI_REGS_RET_FPR, "regs");
_Static_assert(sizeof(struct calli_regs) == CALLI_REGS_SIZE, "regs");
_Static_assert(__builtin_offsetof(struct calli_invoke, stack) == CALLI_INVOKE_STACK, "invoke");
_Static_assert(__builtin_offsetof(struct calli_invoke, stack_size) == CALLI_INVOKE_STACK_SIZE, "invoke");
_Static_assert(__builtin_offsetof(struct calli_invoke, target) == CALLI_INVOKE_TARGET, "invoke");
_Static_assert(sizeof(struct calli_invoke) == CALLI_INVOKE_SIZE, "invoke");

/* The limit on a cookie's sig_len the helper accepts. */
#define CALLI_RT_MAX_SIG_LEN 65536u

/* The ABI this library's helper implements. */
#if defined(__x86_64__) && (defined(_WIN32) || defined(__CYGWIN__))
#define CALLI_RT_NATIVE_ABI CALLI_ABI_WIN_X64
#elif defined(__x86_64__)
#define CALLI_RT_NATIVE_ABI CALLI_ABI_SYSV_X64
#elif defined(__aarch64__) && defined(__APPLE__)
#define CALLI_RT_NATIVE_ABI CALLI_ABI_APPLE_ARM64
#elif defined(__aarch64__)
#define CALLI_RT_NATIVE_ABI CALLI_ABI_AAPCS64
#else
#error "the calli runtime supports x86-64 and arm64 only"
#endif

/* Assembly: call inv->target with the native arguments of *inv. */
CALLI_RT_INTERNAL void calli_rt_invoke(struct calli_invoke *inv);

/* Called by GenericPInvokeCalliHelper; the native ABI, calli_rt_invoke. */
CALLI_RT_INTERNAL void calli_rt_dispatch(struct calli_regs *save, const unsigned char *stack_args,
                                         void *target, const struct calli_cookie *cookie);

/* The ABI-independent core, also used by the unit tests to drive the
 * marshaling of every ABI on the host with a recording `invoke`. Performs
 * the whole call (validation, spec section 4 in order) and writes the
 * marshaled return value into save->ret_gpr / save->ret_fpr. */
typedef void (*calli_rt_invoke_fn)(struct calli_invoke *inv);
CALLI_RT_INTERNAL void calli_rt_call(enum calli_abi abi, struct calli_regs *save,
                                     const unsigned char *stack_args, void *target,
                                     const struct calli_cookie *cookie, calli_rt_invoke_fn invoke);

/* The marshaling of one value (spec section 3), exposed for tests. */
CALLI_RT_INTERNAL uint64_t calli_rt_arg_to_native(uint8_t type, uint64_t managed);
CALLI_RT_INTERNAL uint64_t calli_rt_ret_to_managed(uint8_t type, uint64_t native);

#endif /* __ASSEMBLER__ */
#endif

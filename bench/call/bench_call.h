/* bench_call.h - declarations shared by bench/call's harness (main.c), its
 * native targets (targets.c) and its call sites (sites.S). */
#ifndef BENCH_CALL_H
#define BENCH_CALL_H

#include <stdint.h>

#define NOINLINE __attribute__((noinline, noclone))

/* targets.c: the native functions (native types of spec section 3) */
extern volatile uint64_t t_void_calls;
int32_t t_add(int32_t a, int32_t b);
double t_mul(double a, double b);
int32_t t_not(int32_t b);
int32_t t_len(const char *s);
double t_mix(int32_t a, double b, int64_t c, double d, int32_t e, int16_t f, int64_t g, double h,
             int32_t i, uint8_t j, int64_t k, double l);
void t_void(void);

/* sites.S: bs_* call through the calli convention (helper, or the stub once
 * rewritten), bd_* are the same sites jumping straight to the target. The
 * types are the managed ones (BOOL is passed as a byte, in an int32 here;
 * STRING is a pointer to a managed string). */
#define BENCH_SITES(X)                                                                             \
    X(add_sgc, int32_t, (int32_t, int32_t))                                                        \
    X(add_gc, int32_t, (int32_t, int32_t))                                                         \
    X(mul, double, (double, double))                                                               \
    X(not, int32_t, (int32_t))                                                                     \
    X(len, int32_t, (const void *))                                                                \
    X(mix, double,                                                                                 \
      (int32_t, double, int64_t, double, int32_t, int16_t, int64_t, double, int32_t, uint8_t,     \
       int64_t, double))                                                                           \
    X(void, void, (void))
#define BENCH_DECL(name, ret, params) ret bs_##name params; ret bd_##name params;
BENCH_SITES(BENCH_DECL)
#undef BENCH_DECL

#endif

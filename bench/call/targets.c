/* targets.c - the native targets every way of bench/call calls. A separate
 * translation unit with noinline, so that no caller (the floor included)
 * can inline or specialise them: each call below is a real call. */
#include "bench_call.h"

volatile uint64_t t_void_calls;

NOINLINE int32_t t_add(int32_t a, int32_t b) { return a + b; }

NOINLINE double t_mul(double a, double b) { return a * b; }

/* Native BOOL in and out (spec section 3): 0/1 in, 0/1 out. */
NOINLINE int32_t t_not(int32_t b) { return b == 0; }

/* A byte count, as strlen would give, over the UTF-8 the marshaler made. */
NOINLINE int32_t t_len(const char *s)
{
    int32_t n = 0;
    if (s)
        while (s[n])
            n++;
    return n;
}

NOINLINE double t_mix(int32_t a, double b, int64_t c, double d, int32_t e, int16_t f, int64_t g,
                      double h, int32_t i, uint8_t j, int64_t k, double l)
{
    return a + b + (double)c + d + e + f + (double)g + h + i + j + (double)k + l;
}

NOINLINE void t_void(void) { t_void_calls++; }

/* mathlib - a legacy program whose libm calls go through the generic helper
 * (sites.S): doubles, floats, a 16-bit integer that needs sign extension. */
#include "../example.h"
#include "calli_refrt.h"

double m_pow(double x, double y);
double m_hypot(double x, double y);
double m_ldexp(double x, uint64_t e);   /* int32 exponent; upper bits garbage */
float m_fmaf(float a, float b, float c);
int64_t m_llabs(int64_t v);
int32_t m_abs16(uint64_t v);            /* int16 in the low 16 bits */

int main(void)
{
    calli_refrt_init(&calli_refrt_default, 0);

    printf("pow(2, 0.5)      = %.17g\n", m_pow(2.0, 0.5));
    printf("pow(10, -3)      = %.17g\n", m_pow(10.0, -3.0));
    printf("hypot(3, 4)      = %.17g\n", m_hypot(3.0, 4.0));
    printf("hypot(1e300, 1e300) = %.17g\n", m_hypot(1e300, 1e300));
    printf("ldexp(0.75, 4)   = %.17g\n", m_ldexp(0.75, 0xffffffff00000004ull));
    printf("ldexp(1, -1074)  = %.17g\n", m_ldexp(1.0, (uint32_t)-1074));
    printf("fmaf(1.5, 2, .25) = %.9g\n", (double)m_fmaf(1.5f, 2.0f, 0.25f));
    printf("llabs(-2^62)     = %lld\n", (long long)m_llabs(-(1ll << 62)));
    /* 0xfff6 is -10 as int16; the garbage above it must not matter. */
    printf("abs((int16)0xfff6) = %d\n", m_abs16(0x12345678abcdfff6ull));

    long n = bench_calls();
    if (n) {
        BENCH("pow(float64,float64)", n, m_pow(1.0001, 3.0) > 0);
        BENCH("abs(int16)->int32", n, m_abs16(0xfff6));
    }
    return 0;
}

/* textlib - a legacy program whose string and character calls into libc go
 * through the generic helper (sites.S), the way a JIT emits unmanaged calli. */
#include <locale.h>

#include "../example.h"
#include "calli_refrt.h"

/* The call sites: each forwards through GenericPInvokeCalliHelper. */
size_t m_strlen(const struct calli_managed_string *s);
int32_t m_puts(const struct calli_managed_string *s);
int32_t m_strcmp(const struct calli_managed_string *a, const struct calli_managed_string *b);
uint32_t m_isalpha(uint64_t c);   /* bool: 0 or 1 in 32 bits */
uint32_t m_towupper(uint64_t c);  /* char16: zero-extended to 32 bits */

int main(void)
{
    setlocale(LC_CTYPE, "C.UTF-8"); /* towupper maps beyond ASCII */
    calli_refrt_init(&calli_refrt_default, 0);

    const char16_t *words[] = {u"hello", u"Gr\u00fc\u00dfe", u"\u65e5\u672c\u8a9e",
                               u"\U0001F600 smile", u"", u"broken \xd800 surrogate"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const struct calli_managed_string *w = mstr(words[i]);
        fflush(stdout);
        m_puts(w);
        printf("  strlen = %zu UTF-8 bytes (%d UTF-16 units)\n", m_strlen(w), w->length);
    }
    printf("strcmp(apple, apricot) < 0: %s\n",
           m_strcmp(mstr(u"apple"), mstr(u"apricot")) < 0 ? "yes" : "no");
    printf("strcmp(same, same) = %d\n", m_strcmp(mstr(u"same"), mstr(u"same")));

    /* Upper bits are garbage on purpose: the marshaler uses the low 32. */
    const char probe[] = "aZ9_";
    for (const char *p = probe; *p; p++)
        printf("isalpha('%c') = %u\n", *p, m_isalpha(0xdead000000000000ull | (uint8_t)*p));
    printf("towupper(U+00E9) = U+%04X\n", m_towupper(0xffffffff000000e9ull));
    printf("towupper(U+0078) = U+%04X\n", m_towupper(0x1234567800010078ull));

    long n = bench_calls();
    if (n) {
        const struct calli_managed_string *w = mstr(u"benchmark");
        BENCH("strlen(string)", n, m_strlen(w));
        BENCH("isalpha(int32)->bool", n, m_isalpha('q'));
    }
    return 0;
}

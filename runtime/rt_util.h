/* rt_util.h - tiny freestanding helpers shared by the runtime's C files:
 * byte copies, unaligned little-endian loads and stores, and a bounded text
 * builder for the one-line fatal messages and event lines. Everything is
 * static so that each object stays self-contained (no libc, no memcpy). */
#ifndef CALLI_RT_UTIL_H
#define CALLI_RT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Internal symbols: hidden on ELF and Mach-O so that the assembly reaches
 * them without a PLT / stub and programs cannot interpose them (nor see them
 * exported from the runtime dylib). PE has no visibility. */
#if defined(__ELF__) || defined(__APPLE__)
#define CALLI_RT_INTERNAL __attribute__((visibility("hidden")))
#else
#define CALLI_RT_INTERNAL
#endif

static inline void rt_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
}

/* Little-endian load / store of n (1..8) bytes; the loaded value is
 * zero-extended. Works at any alignment. */
static inline uint64_t rt_load(const void *p, unsigned n)
{
    const unsigned char *s = p;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)s[i] << (8 * i);
    return v;
}

static inline void rt_store(void *p, uint64_t v, unsigned n)
{
    unsigned char *d = p;
    for (unsigned i = 0; i < n; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

/* A bounded text buffer: appends past the capacity are dropped, the text
 * stays NUL-terminated (cap >= 1). */
struct rt_text {
    char *buf;
    size_t len, cap;
};

static inline void rt_putc(struct rt_text *t, char c)
{
    if (t->len + 1 < t->cap) {
        t->buf[t->len++] = c;
        t->buf[t->len] = 0;
    }
}

static inline void rt_puts(struct rt_text *t, const char *s)
{
    while (*s)
        rt_putc(t, *s++);
}

static inline void rt_puthex(struct rt_text *t, uint64_t v, unsigned digits)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = digits; i-- > 0;)
        rt_putc(t, hex[(v >> (4 * i)) & 15]);
}

static inline void rt_putu(struct rt_text *t, uint64_t v)
{
    char d[20];
    unsigned n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        rt_putc(t, d[--n]);
}

static inline void rt_puti(struct rt_text *t, int64_t v)
{
    if (v < 0) {
        rt_putc(t, '-');
        rt_putu(t, (uint64_t)0 - (uint64_t)v);
    } else {
        rt_putu(t, (uint64_t)v);
    }
}

#endif

/* example.h - what the example programs share: managed strings and a timer. */
#ifndef CALLIRW_EXAMPLE_H
#define CALLIRW_EXAMPLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uchar.h>

#include "calli_runtime.h"

/* A managed string (spec section 3) built from a UTF-16 literal. */
static inline const struct calli_managed_string *mstr(const char16_t *u)
{
    size_t n = 0;
    while (u[n])
        n++;
    struct calli_managed_string *s = malloc(sizeof *s + n * sizeof(uint16_t));
    if (!s) {
        perror("malloc");
        exit(1);
    }
    s->header = 0;
    s->length = (int32_t)n;
    memcpy(s->chars, u, n * sizeof(uint16_t));
    return s;
}

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Timings go to stderr as "bench NAME NS_PER_CALL", so that stdout stays a
 * pure function of the program's inputs (the demo compares it byte for byte
 * before and after the rewrite). BENCH_CALLS sets the number of calls. */
#define BENCH(name, calls, expr)                                              \
    do {                                                                      \
        volatile uint64_t sink_ = 0;                                          \
        double t0_ = now_ns();                                                \
        for (long i_ = 0; i_ < (calls); i_++)                                 \
            sink_ += (uint64_t)(expr);                                        \
        double t1_ = now_ns();                                                \
        fprintf(stderr, "bench %s %.1f\n", (name), (t1_ - t0_) / (double)(calls)); \
        (void)sink_;                                                          \
    } while (0)

static inline long bench_calls(void)
{
    const char *e = getenv("BENCH_CALLS");
    long n = e ? strtol(e, NULL, 10) : 0;
    return n > 0 ? n : 0;
}

#endif

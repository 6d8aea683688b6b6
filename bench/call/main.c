/* main.c - bench/call's harness: one loop per signature, run four ways in
 * this binary (direct: the floor bd_*; hand: the floor with the marshaling
 * the signature needs written in C around it; site: bs_*, which is the
 * generic helper in the original image and the stub in the rewritten one;
 * ffi: ffi_call with a cif prepared once, marshaling as "hand").
 * bench/call/run.sh runs the original and the rewritten image and joins the
 * columns; docs/bench-method.md, "Cost per call", explains the method.
 *
 *   bench_call check          every way gives the same results (else exit 1);
 *                             prints them (the two images must print the same)
 *   bench_call count N        under callgrind: for each row and way, the
 *                             instructions of loop(N) and loop(2N), one dump
 *                             each ("row way N")
 *   bench_call time N REPS    ns per call: best of REPS timed loops of N calls
 *   bench_call loop ROW WAY N one loop (for perf stat)
 */
#include <ffi.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "bench_call.h"
#include "calli_refrt.h"

enum way { W_DIRECT, W_HAND, W_SITE, W_FFI, W_COUNT };
static const char *const way_name[W_COUNT] = {"direct", "hand", "site", "ffi"};

static const struct calli_runtime *rt; /* &calli_refrt_default.rt */

/* "hello, world": a managed string (spec section 3) and, for the floor, the
 * UTF-8 the marshaler makes of it. */
static struct {
    uint64_t header;
    int32_t length;
    uint16_t chars[12];
} mstr = {0, 12, {'h', 'e', 'l', 'l', 'o', ',', ' ', 'w', 'o', 'r', 'l', 'd'}};
static const char ustr[] = "hello, world";

static ffi_cif cif_ii, cif_dd, cif_b, cif_s, cif_mix, cif_v;

static void die(const char *what)
{
    fprintf(stderr, "bench_call: %s\n", what);
    exit(1);
}

static void prep(ffi_cif *cif, unsigned n, ffi_type *ret, ffi_type **args)
{
    if (ffi_prep_cif(cif, FFI_DEFAULT_ABI, n, ret, args) != FFI_OK)
        die("ffi_prep_cif failed");
}

static void prep_all(void)
{
    static ffi_type *ii[] = {&ffi_type_sint32, &ffi_type_sint32};
    static ffi_type *dd[] = {&ffi_type_double, &ffi_type_double};
    static ffi_type *b[] = {&ffi_type_sint32};
    static ffi_type *s[] = {&ffi_type_pointer};
    static ffi_type *mix[] = {&ffi_type_sint32, &ffi_type_double, &ffi_type_sint64,
                              &ffi_type_double, &ffi_type_sint32, &ffi_type_sint16,
                              &ffi_type_sint64, &ffi_type_double, &ffi_type_sint32,
                              &ffi_type_uint8,  &ffi_type_sint64, &ffi_type_double};
    prep(&cif_ii, 2, &ffi_type_sint32, ii);
    prep(&cif_dd, 2, &ffi_type_double, dd);
    prep(&cif_b, 1, &ffi_type_sint32, b);
    prep(&cif_s, 1, &ffi_type_sint32, s);
    prep(&cif_mix, 12, &ffi_type_double, mix);
    prep(&cif_v, 0, &ffi_type_void, NULL);
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* The loops. The direct and site ways share one loop per signature (only
 * the function pointer differs); the ffi loops do what a libffi user must
 * to get the stub's semantics: the GC transition and the string conversion
 * through the same runtime table, around ffi_call. */

typedef int32_t (*fn_ii)(int32_t, int32_t);
static NOINLINE uint64_t loop_ii(fn_ii f, long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++)
        acc += (uint32_t)f((int32_t)i, 7);
    return acc;
}

static inline __attribute__((always_inline)) uint64_t ffi_ii_body(long n, int gc)
{
    int32_t a, b = 7;
    void *av[2] = {&a, &b};
    ffi_arg r;
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        a = (int32_t)i;
        if (gc)
            rt->enter(rt->ctx);
        ffi_call(&cif_ii, FFI_FN(t_add), &r, av);
        if (gc)
            rt->leave(rt->ctx);
        acc += (uint32_t)(int32_t)r;
    }
    return acc;
}
static NOINLINE uint64_t ffi_ii(long n) { return ffi_ii_body(n, 0); }
static NOINLINE uint64_t ffi_ii_gc(long n) { return ffi_ii_body(n, 1); }

/* The floor plus, by hand in C, the work the calli convention adds to it:
 * here the GC transition. */
static NOINLINE uint64_t hand_ii_gc(long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        rt->enter(rt->ctx);
        int32_t r = bd_add_gc((int32_t)i, 7);
        rt->leave(rt->ctx);
        acc += (uint32_t)r;
    }
    return acc;
}

typedef double (*fn_dd)(double, double);
static NOINLINE uint64_t loop_dd(fn_dd f, long n)
{
    double acc = 0;
    for (long i = 0; i < n; i++)
        acc += f((double)i, 0.5);
    return dbits(acc);
}
static NOINLINE uint64_t ffi_dd(long n)
{
    double a, b = 0.5, r, acc = 0;
    void *av[2] = {&a, &b};
    for (long i = 0; i < n; i++) {
        a = (double)i;
        ffi_call(&cif_dd, FFI_FN(t_mul), &r, av);
        acc += r;
    }
    return dbits(acc);
}

typedef int32_t (*fn_b)(int32_t);
static NOINLINE uint64_t loop_b(fn_b f, long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++)
        acc = acc * 3 + (uint32_t)f((int32_t)(i & 1));
    return acc;
}
static NOINLINE uint64_t hand_b(long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(i & 1);
        /* a managed bool may be any byte: hide that this one is 0/1, so the
         * compiler keeps the conversion (an empty asm costs nothing) */
        __asm__("" : "+r"(b));
        acc = acc * 3 + (bd_not(b != 0) != 0);
    }
    return acc;
}
static NOINLINE uint64_t ffi_b(long n)
{
    int32_t a;
    void *av[1] = {&a};
    ffi_arg r;
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        a = (int32_t)(i & 1) != 0; /* managed bool -> BOOL */
        ffi_call(&cif_b, FFI_FN(t_not), &r, av);
        acc = acc * 3 + ((int32_t)r != 0); /* BOOL -> managed bool */
    }
    return acc;
}

typedef int32_t (*fn_s)(const void *);
static NOINLINE uint64_t loop_s(fn_s f, const void *s, long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++)
        acc += (uint32_t)f(s);
    return acc;
}
static NOINLINE uint64_t hand_s(long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        char *p = rt->string_to_native(&mstr, rt->ctx);
        rt->enter(rt->ctx);
        int32_t r = bd_len(p);
        rt->leave(rt->ctx);
        rt->free_native(p, rt->ctx);
        acc += (uint32_t)r;
    }
    return acc;
}
static NOINLINE uint64_t ffi_s(long n)
{
    char *p;
    void *av[1] = {&p};
    ffi_arg r;
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        p = rt->string_to_native(&mstr, rt->ctx);
        rt->enter(rt->ctx);
        ffi_call(&cif_s, FFI_FN(t_len), &r, av);
        rt->leave(rt->ctx);
        rt->free_native(p, rt->ctx);
        acc += (uint32_t)(int32_t)r;
    }
    return acc;
}

typedef double (*fn_mix)(int32_t, double, int64_t, double, int32_t, int16_t, int64_t, double,
                         int32_t, uint8_t, int64_t, double);
static NOINLINE uint64_t loop_mix(fn_mix f, long n)
{
    double acc = 0;
    for (long i = 0; i < n; i++)
        acc += f((int32_t)i, 0.25, i * 3, 1.5, (int32_t)-i, (int16_t)i, 5, 2.0, 9, (uint8_t)i, -7,
                 0.125);
    return dbits(acc);
}
static NOINLINE uint64_t ffi_mix(long n)
{
    int32_t a, e, i9 = 9;
    double b = 0.25, d = 1.5, h = 2.0, l = 0.125, r, acc = 0;
    int64_t c, g = 5, k = -7;
    int16_t f;
    uint8_t j;
    void *av[12] = {&a, &b, &c, &d, &e, &f, &g, &h, &i9, &j, &k, &l};
    for (long i = 0; i < n; i++) {
        a = (int32_t)i;
        c = i * 3;
        e = (int32_t)-i;
        f = (int16_t)i;
        j = (uint8_t)i;
        ffi_call(&cif_mix, FFI_FN(t_mix), &r, av);
        acc += r;
    }
    return dbits(acc);
}

typedef void (*fn_v)(void);
static NOINLINE uint64_t loop_v(fn_v f, long n)
{
    uint64_t before = t_void_calls;
    for (long i = 0; i < n; i++)
        f();
    return t_void_calls - before;
}
static NOINLINE uint64_t ffi_v(long n)
{
    uint64_t before = t_void_calls;
    for (long i = 0; i < n; i++)
        ffi_call(&cif_v, FFI_FN(t_void), NULL, NULL);
    return t_void_calls - before;
}

/* One row: a signature, its three ways, and the runtime events one call
 * through the calli convention must cause (spec section 4). */
struct row {
    const char *name;
    unsigned events; /* per site call */
    int hand;        /* has a hand-marshaled loop (else "hand" is the floor) */
    uint64_t (*run)(enum way w, long n);
};

static uint64_t run_add_sgc(enum way w, long n)
{
    return w == W_FFI ? ffi_ii(n) : loop_ii(w == W_SITE ? bs_add_sgc : bd_add_sgc, n);
}
static uint64_t run_add_gc(enum way w, long n)
{
    if (w == W_HAND)
        return hand_ii_gc(n);
    return w == W_FFI ? ffi_ii_gc(n) : loop_ii(w == W_SITE ? bs_add_gc : bd_add_gc, n);
}
static uint64_t run_mul(enum way w, long n)
{
    return w == W_FFI ? ffi_dd(n) : loop_dd(w == W_SITE ? bs_mul : bd_mul, n);
}
static uint64_t run_not(enum way w, long n)
{
    if (w == W_HAND)
        return hand_b(n);
    return w == W_FFI ? ffi_b(n) : loop_b(w == W_SITE ? bs_not : bd_not, n);
}
static uint64_t run_len(enum way w, long n)
{
    if (w == W_FFI)
        return ffi_s(n);
    if (w == W_HAND)
        return hand_s(n);
    /* the floor gets the already converted string */
    return w == W_SITE ? loop_s(bs_len, &mstr, n) : loop_s(bd_len, ustr, n);
}
static uint64_t run_mix(enum way w, long n)
{
    return w == W_FFI ? ffi_mix(n) : loop_mix(w == W_SITE ? bs_mix : bd_mix, n);
}
static uint64_t run_void(enum way w, long n)
{
    return w == W_FFI ? ffi_v(n) : loop_v(w == W_SITE ? bs_void : bd_void, n);
}

static const struct row rows[] = {
    {"add_sgc", 0, 0, run_add_sgc}, {"add_gc", 2, 1, run_add_gc}, {"mul", 0, 0, run_mul},
    {"not", 0, 1, run_not},         {"len", 4, 1, run_len},       {"mix", 0, 0, run_mix},
    {"void", 0, 0, run_void},
};
#define NROWS (sizeof rows / sizeof rows[0])

static long parse_long(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v <= 0 || v > 1000000000L)
        die("bad count (want 1..1000000000)");
    return v;
}

/* Every way of every row must give the same result, for several counts
 * (so a wrong value in any one call shows), with the runtime's books
 * balanced and the expected number of events. */
static int check(int print)
{
    static const long counts[] = {1, 2, 3, 17, 1000};
    int bad = 0;
    for (size_t r = 0; r < NROWS; r++) {
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            long n = counts[c];
            uint64_t res[W_COUNT];
            for (int w = 0; w < W_COUNT; w++) {
                uint64_t ev = calli_refrt_default.events;
                res[w] = rows[r].run((enum way)w, n);
                uint64_t got = calli_refrt_default.events - ev;
                uint64_t want = w == W_DIRECT ? 0 : (uint64_t)rows[r].events * (uint64_t)n;
                if (w == W_HAND && !rows[r].hand)
                    want = 0;
                if (got != want || calli_refrt_default.depth || calli_refrt_default.live) {
                    fprintf(stderr,
                            "bench_call: %s %s n=%ld: %" PRIu64 " runtime events (want %" PRIu64
                            "), depth %" PRIu64 ", %u strings live\n",
                            rows[r].name, way_name[w], n, got, want, calli_refrt_default.depth,
                            calli_refrt_default.live);
                    bad = 1;
                }
            }
            if (res[W_SITE] != res[W_DIRECT] || res[W_FFI] != res[W_DIRECT] ||
                res[W_HAND] != res[W_DIRECT]) {
                fprintf(stderr,
                        "bench_call: %s n=%ld: results differ: direct %#" PRIx64 ", hand %#" PRIx64
                        ", site %#" PRIx64 ", ffi %#" PRIx64 "\n",
                        rows[r].name, n, res[W_DIRECT], res[W_HAND], res[W_SITE], res[W_FFI]);
                bad = 1;
            }
            if (print)
                printf("%s n=%ld: %#" PRIx64 "\n", rows[r].name, n, res[W_SITE]);
        }
    }
    if (bad)
        fprintf(stderr, "bench_call: check FAILED: the ways disagree; nothing measured\n");
    return bad;
}

static void count(long n)
{
    char desc[64];
    for (size_t r = 0; r < NROWS; r++)
        for (int w = 0; w < W_COUNT; w++) {
            rows[r].run((enum way)w, 16); /* warm: lazy binding, first-call paths */
            for (long k = 1; k <= 2; k++) {
                snprintf(desc, sizeof desc, "%s %s %ld", rows[r].name, way_name[w], k * n);
                CALLGRIND_ZERO_STATS;
                rows[r].run((enum way)w, k * n);
                CALLGRIND_DUMP_STATS_AT(desc);
            }
        }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Repetitions interleave the ways, so a burst of load from elsewhere hits
 * every way alike; the best repetition is kept. */
static void timeit(long n, long reps)
{
    double best[NROWS][W_COUNT];
    for (size_t r = 0; r < NROWS; r++)
        for (int w = 0; w < W_COUNT; w++) {
            best[r][w] = 1e300;
            rows[r].run((enum way)w, n / 10 + 1);
        }
    volatile uint64_t sink = 0;
    for (long k = 0; k < reps; k++)
        for (size_t r = 0; r < NROWS; r++)
            for (int w = 0; w < W_COUNT; w++) {
                double t0 = now_ns();
                sink += rows[r].run((enum way)w, n);
                double t = now_ns() - t0;
                if (t < best[r][w])
                    best[r][w] = t;
            }
    (void)sink;
    for (size_t r = 0; r < NROWS; r++)
        for (int w = 0; w < W_COUNT; w++)
            printf("%s %s %.3f\n", rows[r].name, way_name[w], best[r][w] / (double)n);
}

int main(int argc, char **argv)
{
    calli_refrt_init(&calli_refrt_default, 0);
    rt = &calli_refrt_default.rt;
    prep_all();
    if (argc == 2 && !strcmp(argv[1], "check"))
        return check(1);
    /* every measuring mode checks first: a benchmark of a wrong call is
     * worse than none */
    if (argc >= 2 && check(0) != 0)
        return 1;
    if (argc == 3 && !strcmp(argv[1], "count")) {
        count(parse_long(argv[2]));
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "time")) {
        timeit(parse_long(argv[2]), parse_long(argv[3]));
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "loop")) {
        long n = parse_long(argv[4]);
        for (size_t r = 0; r < NROWS; r++)
            for (int w = 0; w < W_COUNT; w++)
                if (!strcmp(argv[2], rows[r].name) && !strcmp(argv[3], way_name[w])) {
                    rows[r].run((enum way)w, n);
                    return 0;
                }
        die("unknown row or way");
    }
    fprintf(stderr, "usage: bench_call check | count N | time N REPS | loop ROW WAY N\n");
    return 2;
}

/* test_refrt.c - the reference calli_runtime (runtime/refrt.c), called
 * directly through its table: UTF-16 -> UTF-8 conversion, the event log
 * text, live tracking and arena reuse, and every fatal misuse (forked
 * children: exactly one line on stderr, then SIGABRT).
 *
 * Defines calli_host_write (to capture the log) and takes calli_host_abort
 * from the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calli_host.h"
#include "calli_refrt.h"

static char cap[1 << 18];
static size_t cap_len;
static int cap_writes;

void calli_host_write(int stream, const void *buf, size_t len)
{
    if (stream == CALLI_HOST_OUT) {
        assert_true(cap_len + len < sizeof cap);
        memcpy(cap + cap_len, buf, len);
        cap_len += len;
        cap[cap_len] = 0;
        cap_writes++;
        return;
    }
    const char *p = buf;
    while (len) {
        ssize_t n = write(2, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void cap_reset(void)
{
    cap_len = 0;
    cap[0] = 0;
    cap_writes = 0;
}

/* A managed string from UTF-16 units (8-aligned, chars at offset 12),
 * followed by a low surrogate that is not part of it: reading past the
 * length would pair it with a final high surrogate. */
static void *mstr(const uint16_t *u, int32_t n)
{
    size_t un = (size_t)(n > 0 ? n : 0);
    unsigned char *s = calloc(1, 16 + 2 * un);
    assert_non_null(s);
    memcpy(s + 8, &n, 4);
    if (n > 0)
        memcpy(s + 12, u, 2 * un);
    static const uint16_t low = 0xdc00;
    memcpy(s + 12 + 2 * un, &low, 2);
    return s;
}

static struct calli_refrt R;

static void conv(const uint16_t *u, int32_t n, const char *want, size_t want_len)
{
    calli_refrt_init(&R, 0);
    void *s = mstr(u, n);
    char *p = R.rt.string_to_native(s, R.rt.ctx);
    assert_non_null(p);
    assert_memory_equal(p, want, want_len + 1); /* NUL-terminated */
    assert_int_equal(R.live, 1);
    R.rt.free_native(p, R.rt.ctx);
    assert_int_equal(R.live, 0);
    assert_int_equal(R.used, 0);
    free(s);
}
#define CONV(want, ...)                                                                        \
    do {                                                                                       \
        static const uint16_t u_[] = {__VA_ARGS__};                                            \
        conv(u_, (int32_t)(sizeof u_ / sizeof u_[0]), want, sizeof(want) - 1);                 \
    } while (0)

static void t_utf8(void **st)
{
    (void)st;
    CONV("hello", 'h', 'e', 'l', 'l', 'o');
    CONV("\x7f", 0x7f);
    CONV("\xc2\x80", 0x80);                           /* first 2-byte */
    CONV("\xc3\xa9", 0xe9);                           /* é */
    CONV("\xdf\xbf", 0x7ff);                          /* last 2-byte */
    CONV("\xe0\xa0\x80", 0x800);                      /* first 3-byte */
    CONV("\xe2\x82\xac", 0x20ac);                     /* € */
    CONV("\xed\x9f\xbf", 0xd7ff);                     /* just below the surrogates */
    CONV("\xee\x80\x80", 0xe000);                     /* just above */
    CONV("\xef\xbf\xbf", 0xffff);
    CONV("\xf0\x9f\x98\x80", 0xd83d, 0xde00);         /* U+1F600 */
    CONV("\xf0\x90\x80\x80", 0xd800, 0xdc00);         /* U+10000 */
    CONV("\xf4\x8f\xbf\xbf", 0xdbff, 0xdfff);         /* U+10FFFF */
    CONV("\xef\xbf\xbd", 0xd800);                     /* lone high at the end */
    CONV("\xef\xbf\xbd", 0xdc00);                     /* lone low */
    CONV("\xef\xbf\xbd" "a", 0xd83d, 'a');            /* high then non-low */
    CONV("a\xef\xbf\xbd", 'a', 0xde00);               /* low without high */
    CONV("\xef\xbf\xbd\xef\xbf\xbd", 0xdc00, 0xd800); /* reversed pair: two */
    CONV("\xef\xbf\xbd\xf0\x9f\x98\x80", 0xd83d, 0xd83d, 0xde00); /* high, then a pair */
    CONV("\xef\xbf\xbd\xef\xbf\xbd", 0xd800, 0xd800);
    CONV("a\0b", 'a', 0, 'b');                        /* U+0000 stays a 00 byte */
    conv(0, 0, "", 0);                                /* empty */
}

static void t_null(void **st)
{
    (void)st;
    calli_refrt_init(&R, CALLI_REFRT_LOG);
    cap_reset();
    assert_null(R.rt.string_to_native(0, R.rt.ctx));
    R.rt.free_native(0, R.rt.ctx);
    assert_string_equal(cap, "@s2n null\n@free null\n");
    assert_int_equal(R.live, 0);
    assert_int_equal(R.events, 2);
}

static void t_log(void **st)
{
    (void)st;
    calli_refrt_init(&R, CALLI_REFRT_LOG);
    assert_int_equal(R.rt.abi_version, 1);
    assert_ptr_equal(R.rt.ctx, &R);
    cap_reset();
    static const uint16_t u1[] = {'A', 0xe9, 0xd83d, 0xde00, 0xdc00};
    void *s1 = mstr(u1, 5), *s0 = mstr(0, 0);
    R.rt.enter(R.rt.ctx);
    char *p1 = R.rt.string_to_native(s1, R.rt.ctx);
    char *p0 = R.rt.string_to_native(s0, R.rt.ctx);
    assert_int_equal(R.depth, 1);
    R.rt.leave(R.rt.ctx);
    R.rt.free_native(p1, R.rt.ctx);
    R.rt.free_native(p0, R.rt.ctx);
    assert_string_equal(cap, "@enter\n"
                             "@s2n 41c3a9f09f9880efbfbd\n"
                             "@s2n \n"
                             "@leave\n"
                             "@free 41c3a9f09f9880efbfbd\n"
                             "@free \n");
    assert_int_equal(cap_writes, 6); /* one write per event line */
    assert_int_equal(R.events, 6);
    assert_int_equal(R.depth, 0);

    /* Without the flag: the same bookkeeping, no output. */
    calli_refrt_init(&R, 0);
    cap_reset();
    R.rt.enter(R.rt.ctx);
    p1 = R.rt.string_to_native(s1, R.rt.ctx);
    R.rt.free_native(p1, R.rt.ctx);
    R.rt.leave(R.rt.ctx);
    assert_int_equal(cap_len, 0);
    assert_int_equal(R.events, 4);
    free(s1);
    free(s0);
}

/* A long string: the log line holds all of it in one write. */
static void t_long(void **st)
{
    (void)st;
    enum { N = 20000 };
    static uint16_t u[N];
    for (int i = 0; i < N; i++)
        u[i] = 0x20ac; /* 3 bytes each: 60000 bytes of UTF-8 */
    calli_refrt_init(&R, CALLI_REFRT_LOG);
    cap_reset();
    void *s = mstr(u, N);
    char *p = R.rt.string_to_native(s, R.rt.ctx);
    assert_int_equal(strlen(p), 3 * N);
    assert_int_equal(cap_writes, 1);
    assert_int_equal(cap_len, 5 + 6 * N + 1);
    assert_memory_equal(cap, "@s2n e282ace282ac", 17);
    assert_int_equal(cap[cap_len - 1], '\n');
    R.rt.free_native(p, R.rt.ctx);
    assert_int_equal(cap_writes, 2);
    free(s);
}

static void t_arena(void **st)
{
    (void)st;
    calli_refrt_init(&R, 0);
    static const uint16_t u[] = {'x', 'y', 'z'};
    void *s = mstr(u, 3);
    char *a = R.rt.string_to_native(s, R.rt.ctx);
    char *b = R.rt.string_to_native(s, R.rt.ctx);
    assert_ptr_not_equal(a, b);
    assert_int_equal(R.live, 2);
    uint32_t used2 = R.used;
    assert_true(used2 > 0);
    /* Freed out of order: the arena is reset only when live reaches 0. */
    R.rt.free_native(b, R.rt.ctx);
    assert_int_equal(R.live, 1);
    assert_int_equal(R.used, used2);
    assert_string_equal(a, "xyz");
    R.rt.free_native(a, R.rt.ctx);
    assert_int_equal(R.used, 0);
    /* Reuse: the next string lands where the first did. */
    char *c = R.rt.string_to_native(s, R.rt.ctx);
    assert_ptr_equal(c, a);
    R.rt.free_native(c, R.rt.ctx);
    /* Many rounds never exhaust the arena. */
    for (int i = 0; i < 100000; i++) {
        char *p = R.rt.string_to_native(s, R.rt.ctx);
        char *q = R.rt.string_to_native(s, R.rt.ctx);
        R.rt.free_native(p, R.rt.ctx);
        R.rt.free_native(q, R.rt.ctx);
    }
    assert_int_equal(R.used, 0);
    /* 64 strings live at once (the most one call can have). */
    char *ps[64];
    for (int i = 0; i < 64; i++)
        ps[i] = R.rt.string_to_native(s, R.rt.ctx);
    for (int i = 0; i < 64; i++) {
        assert_string_equal(ps[i], "xyz");
        R.rt.free_native(ps[i], R.rt.ctx);
    }
    assert_int_equal(R.live, 0);
    /* The default instance works like any other. */
    calli_refrt_init(&calli_refrt_default, 0);
    char *d = calli_refrt_default.rt.string_to_native(s, calli_refrt_default.rt.ctx);
    assert_string_equal(d, "xyz");
    calli_refrt_default.rt.free_native(d, calli_refrt_default.rt.ctx);
    assert_int_equal(calli_refrt_default.live, 0);
    free(s);
}

/* ---- fatal misuse ----------------------------------------------------- */

static void expect_fatal(void (*fn)(void), const char *line)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char buf[512];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("child did not abort (status 0x%x): %s", status, buf);
    assert_string_equal(buf, line);
}

static void f_negative(void)
{
    calli_refrt_init(&R, 0);
    void *s = mstr(0, -7);
    R.rt.string_to_native(s, R.rt.ctx);
}
static void f_negative_min(void)
{
    calli_refrt_init(&R, 0);
    void *s = mstr(0, INT32_MIN);
    R.rt.string_to_native(s, R.rt.ctx);
}
static void f_leave(void)
{
    calli_refrt_init(&R, 0);
    R.rt.enter(R.rt.ctx);
    R.rt.leave(R.rt.ctx);
    R.rt.leave(R.rt.ctx);
}
static void f_free_unknown(void)
{
    calli_refrt_init(&R, 0);
    static char other[8];
    R.rt.free_native(other, R.rt.ctx);
}
static void f_free_inside(void)
{
    calli_refrt_init(&R, 0);
    static const uint16_t u[] = {'a', 'b'};
    char *p = R.rt.string_to_native(mstr(u, 2), R.rt.ctx);
    R.rt.free_native(p + 1, R.rt.ctx);
}
static void f_double_free(void)
{
    calli_refrt_init(&R, 0);
    static const uint16_t u[] = {'a', 'b'};
    void *s = mstr(u, 2);
    char *p = R.rt.string_to_native(s, R.rt.ctx);
    char *q = R.rt.string_to_native(s, R.rt.ctx);
    (void)q;
    R.rt.free_native(p, R.rt.ctx);
    R.rt.free_native(p, R.rt.ctx);
}
static void f_free_after_reset(void)
{
    calli_refrt_init(&R, 0);
    static const uint16_t u[] = {'a', 'b'};
    char *p = R.rt.string_to_native(mstr(u, 2), R.rt.ctx);
    R.rt.free_native(p, R.rt.ctx);
    R.rt.free_native(p, R.rt.ctx);
}
static void f_exhaust(void)
{
    calli_refrt_init(&R, 0);
    static uint16_t u[40000];
    for (int i = 0; i < 40000; i++)
        u[i] = 'a';
    void *s = mstr(u, 40000);
    R.rt.string_to_native(s, R.rt.ctx); /* 8 + 40008 bytes */
    R.rt.string_to_native(s, R.rt.ctx); /* needs 40008 more, 25520 free */
}
static void f_too_big(void)
{
    calli_refrt_init(&R, 0);
    static uint16_t u[30000];
    for (int i = 0; i < 30000; i++)
        u[i] = 0x20ac; /* 90000 bytes */
    R.rt.string_to_native(mstr(u, 30000), R.rt.ctx);
}

static void t_fatal(void **st)
{
    (void)st;
    expect_fatal(f_negative, "calli_refrt: fatal: string_to_native: negative length -7\n");
    expect_fatal(f_negative_min, "calli_refrt: fatal: string_to_native: negative length -2147483648\n");
    expect_fatal(f_leave, "calli_refrt: fatal: leave without enter\n");
    expect_fatal(f_free_unknown, "calli_refrt: fatal: free_native: pointer not handed out\n");
    expect_fatal(f_free_inside, "calli_refrt: fatal: free_native: pointer not handed out\n");
    expect_fatal(f_double_free, "calli_refrt: fatal: free_native: pointer already freed\n");
    expect_fatal(f_free_after_reset, "calli_refrt: fatal: free_native: pointer not handed out\n");
    expect_fatal(f_exhaust,
                 "calli_refrt: fatal: string_to_native: arena exhausted (need 40016 bytes, 25520 free)\n");
    expect_fatal(f_too_big,
                 "calli_refrt: fatal: string_to_native: arena exhausted (need 90016 bytes, 65536 free)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_utf8),  cmocka_unit_test(t_null),  cmocka_unit_test(t_log),
        cmocka_unit_test(t_long),  cmocka_unit_test(t_arena), cmocka_unit_test(t_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

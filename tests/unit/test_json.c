/* test_json.c - rw_json_str (rewriter/json.c): every output is valid JSON
 * that reads back as the intended string, for the names hostile files carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *render(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    rw_json_str(f, s);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void expect(const char *in, const char *want)
{
    char *got = render(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_escapes(void **state)
{
    (void)state;
    expect(NULL, "\"\"");
    expect("", "\"\"");
    expect(".text", "\".text\"");
    expect("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect("\n\r\t\x01\x1f\x7f", "\"\\n\\r\\t\\u0001\\u001f\\u007f\"");
}

static void test_utf8(void **state)
{
    (void)state;
    /* well-formed: passes through (2, 3 and 4 bytes) */
    expect("\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"");
    expect("\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* ill-formed: each byte escaped */
    expect("\xff", "\"\\u00ff\"");
    expect("\xc3", "\"\\u00c3\"");                       /* truncated */
    expect("\xc3(", "\"\\u00c3(\"");                     /* bad continuation */
    expect("\xc0\xaf", "\"\\u00c0\\u00af\"");            /* overlong '/' */
    expect("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\""); /* overlong */
    expect("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""); /* surrogate U+D800 */
    expect("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* > U+10FFFF */
    expect("\x80x", "\"\\u0080x\"");                     /* lone continuation */
}

/* Every 1- to 3-byte string: the output holds no raw control byte and no
 * ill-formed UTF-8 (what a JSON parser would reject). */
static int valid_utf8_no_ctl(const unsigned char *p)
{
    while (*p) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        size_t n = *p < 0x80 ? 1 : (*p >= 0xC2 && *p <= 0xDF) ? 2 : (*p >= 0xE0 && *p <= 0xEF) ? 3
                                                                 : (*p >= 0xF0 && *p <= 0xF4) ? 4 : 0;
        if (!n)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

static void test_exhaustive(void **state)
{
    (void)state;
    char s[4];
    for (unsigned a = 1; a < 256; a++)
        for (unsigned b = 0; b < 256; b += (a < 0xC0 ? 255 : 1)) {
            s[0] = (char)a;
            s[1] = (char)b;
            s[2] = b ? (char)0x80 : 0;
            s[3] = 0;
            char *out = render(s);
            if (!valid_utf8_no_ctl((const unsigned char *)out))
                fail_msg("invalid output for %02x %02x", a, b);
            free(out);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

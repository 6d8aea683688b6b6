/* test_sig.c - the ECMA-335 signature decoder (sig/calli_sig.c).
 *
 * Every blob is parsed from a heap buffer of exactly its length, so that
 * ASan reports any read past the end (the decoder takes hostile input).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "calli_sig.h"

/* A blob literal and its length: B(0x01, 0x00, 0x01). */
#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Parse a copy of blob in a heap buffer of exactly len bytes. */
static enum calli_sig_err parse_heap(const uint8_t *blob, size_t len, struct calli_sig *sig,
                                     struct calli_sig_error *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, blob, len);
    /* Poison the outputs: the parser must set what it reports. */
    memset(sig, 0xA5, sizeof *sig);
    memset(err, 0xA5, sizeof *err);
    enum calli_sig_err e = calli_sig_parse(copy, len, sig, err);
    free(copy);
    assert_int_equal(err->err, e);
    return e;
}

static void reason_of(const struct calli_sig_error *err, char *buf, size_t cap)
{
    size_t n = calli_sig_reason(err, buf, cap);
    assert_true(n > 0);
    assert_true(n < cap);
    assert_int_equal(strlen(buf), n);
    assert_null(strchr(buf, '\n'));
}

/* Parse, expect success, check return type and parameters. */
static struct calli_sig expect_ok(const uint8_t *blob, size_t len, uint8_t ret, unsigned n,
                                  const uint8_t *params)
{
    struct calli_sig s;
    struct calli_sig_error e;
    enum calli_sig_err r = parse_heap(blob, len, &s, &e);
    if (r != CALLI_SIG_OK) {
        char why[CALLI_SIG_REASON_MAX];
        reason_of(&e, why, sizeof why);
        fail_msg("expected ok, got %d: %s", (int)r, why);
    }
    assert_int_equal(e.offset, 0);
    assert_int_equal(s.ret, ret);
    assert_int_equal(s.nparams, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(s.params[i], params[i]);
    return s;
}

/* Parse, expect failure with this code / offset / value, and a reason that
 * contains each of the NULL-terminated words. Returns the error. */
static struct calli_sig_error expect_err_v(const uint8_t *blob, size_t len,
                                           enum calli_sig_err code, uint32_t offset,
                                           uint32_t value, va_list words)
{
    struct calli_sig s;
    struct calli_sig_error e;
    enum calli_sig_err r = parse_heap(blob, len, &s, &e);
    char why[CALLI_SIG_REASON_MAX];
    reason_of(&e, why, sizeof why);
    if (r != code)
        fail_msg("expected error %d, got %d: %s", (int)code, (int)r, why);
    assert_int_equal(e.offset, offset);
    assert_int_equal(e.value, value);
    for (const char *w = va_arg(words, const char *); w; w = va_arg(words, const char *))
        if (!strstr(why, w))
            fail_msg("reason '%s' lacks '%s'", why, w);
    return e;
}

static struct calli_sig_error expect_err(const uint8_t *blob, size_t len,
                                         enum calli_sig_err code, uint32_t offset,
                                         uint32_t value, ...)
{
    va_list ap;
    va_start(ap, value);
    struct calli_sig_error e = expect_err_v(blob, len, code, offset, value, ap);
    va_end(ap);
    return e;
}

static void expect_reason_exact(const uint8_t *blob, size_t len, const char *text)
{
    struct calli_sig s;
    struct calli_sig_error e;
    assert_int_not_equal(parse_heap(blob, len, &s, &e), CALLI_SIG_OK);
    char why[CALLI_SIG_REASON_MAX];
    reason_of(&e, why, sizeof why);
    assert_string_equal(why, text);
}

static void expect_key(const struct calli_sig *s, int sgc, const char *key, const char *readable)
{
    char buf[CALLI_SIG_TEXT_MAX];
    assert_int_equal(calli_sig_key(s, sgc, buf, sizeof buf), strlen(key));
    assert_string_equal(buf, key);
    assert_int_equal(calli_sig_format(s, sgc, buf, sizeof buf), strlen(readable));
    assert_string_equal(buf, readable);
}

/* Every v1 scalar (legal as return, parameter and pointee). */
static const uint8_t scalars[] = {
    CALLI_T_BOOL, CALLI_T_CHAR, CALLI_T_I1, CALLI_T_U1, CALLI_T_I2, CALLI_T_U2, CALLI_T_I4,
    CALLI_T_U4,   CALLI_T_I8,   CALLI_T_U8, CALLI_T_R4, CALLI_T_R8, CALLI_T_I,  CALLI_T_U,
};
#define NSCALARS (sizeof scalars / sizeof scalars[0])

/* ------------------------------------------------------------------------
 * Element types
 * --------------------------------------------------------------------- */

static void test_scalars_as_param_and_return(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCALARS; i++) {
        uint8_t t = scalars[i];
        uint8_t blob[] = {0x09, 0x02, t, t, t};
        uint8_t p[] = {t, t};
        expect_ok(blob, sizeof blob, t, 2, p);
    }
    /* All of them in one signature, in order. */
    uint8_t all[3 + NSCALARS];
    all[0] = 0x01;
    all[1] = (uint8_t)NSCALARS;
    all[2] = CALLI_T_VOID;
    memcpy(all + 3, scalars, NSCALARS);
    expect_ok(all, sizeof all, CALLI_T_VOID, NSCALARS, scalars);
}

static void test_void_string_ptr_fnptr(void **state)
{
    (void)state;
    expect_ok(B(0x01, 0x00, 0x01), CALLI_T_VOID, 0, NULL);
    expect_ok(B(0x01, 0x01, 0x01, 0x0E), CALLI_T_VOID, 1, (const uint8_t[]){CALLI_T_STRING});
    expect_ok(B(0x01, 0x01, 0x0F, 0x01, 0x0F, 0x01), CALLI_T_PTR, 1,
              (const uint8_t[]){CALLI_T_PTR});
    expect_ok(B(0x01, 0x01, 0x1B, 0x01, 0x00, 0x01, 0x1B, 0x01, 0x00, 0x08), CALLI_T_FNPTR, 1,
              (const uint8_t[]){CALLI_T_FNPTR});
    expect_ok(B(0x01, 0x03, 0x08, 0x0E, 0x0E, 0x0E), CALLI_T_I4, 3,
              (const uint8_t[]){CALLI_T_STRING, CALLI_T_STRING, CALLI_T_STRING});
}

static void test_void_param(void **state)
{
    (void)state;
    struct calli_sig_error e = expect_err(B(0x01, 0x02, 0x08, 0x08, 0x01), CALLI_SIG_E_VOID_PARAM,
                                          4, 0x01, "VOID", "parameter", "offset 4", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_PARAMS);
    assert_int_equal(e.nested, 0);
}

static void test_string_return(void **state)
{
    (void)state;
    struct calli_sig_error e = expect_err(B(0x01, 0x01, 0x0E, 0x0E), CALLI_SIG_E_STRING_RETURN,
                                          2, 0x0E, "STRING", "return", "offset 2", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_RET);
}

/* Reference classification, written independently of the decoder. */
enum expect { X_OK, X_TYPE, X_CMOD, X_VOIDP, X_STRRET, X_TRUNC };

static enum expect classify(uint8_t code, int as_param)
{
    switch (code) {
    case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08:
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x18: case 0x19:
        return X_OK;
    case 0x01: return as_param ? X_VOIDP : X_OK;
    case 0x0E: return as_param ? X_OK : X_STRRET;
    case 0x0F: case 0x1B: return X_TRUNC; /* a pointee / nested sig must follow */
    case 0x1F: case 0x20: return X_CMOD;
    default: return X_TYPE;
    }
}

static void check_class(const uint8_t *blob, size_t len, enum expect x, uint32_t off,
                        uint8_t code)
{
    struct calli_sig s;
    struct calli_sig_error e;
    enum calli_sig_err r = parse_heap(blob, len, &s, &e);
    switch (x) {
    case X_OK: assert_int_equal(r, CALLI_SIG_OK); break;
    case X_TRUNC: assert_int_equal(r, CALLI_SIG_E_TRUNCATED); assert_int_equal(e.offset, len); break;
    case X_TYPE: assert_int_equal(r, CALLI_SIG_E_TYPE); break;
    case X_CMOD: assert_int_equal(r, CALLI_SIG_E_CMOD); break;
    case X_VOIDP: assert_int_equal(r, CALLI_SIG_E_VOID_PARAM); break;
    case X_STRRET: assert_int_equal(r, CALLI_SIG_E_STRING_RETURN); break;
    }
    if (x != X_OK && x != X_TRUNC) {
        assert_int_equal(e.offset, off);
        assert_int_equal(e.value, code);
    }
}

/* All 256 codes, as the only parameter and as the return type. */
static void test_every_code(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        uint8_t code = (uint8_t)c;
        uint8_t as_param[] = {0x01, 0x01, 0x08, code};
        uint8_t as_ret[] = {0x01, 0x00, code};
        check_class(as_param, sizeof as_param, classify(code, 1), 3, code);
        check_class(as_ret, sizeof as_ret, classify(code, 0), 2, code);
    }
}

/* The unsupported types the spec names, each with its own reason text. */
static void test_unsupported_types_reason(void **state)
{
    (void)state;
    static const struct {
        uint8_t code;
        const char *name;
    } t[] = {
        {0x00, "END (0x00)"},        {0x10, "BYREF (0x10)"},      {0x11, "VALUETYPE (0x11)"},
        {0x12, "CLASS (0x12)"},      {0x13, "VAR (0x13)"},        {0x14, "ARRAY (0x14)"},
        {0x15, "GENERICINST (0x15)"}, {0x16, "TYPEDBYREF (0x16)"}, {0x1C, "OBJECT (0x1C)"},
        {0x1D, "SZARRAY (0x1D)"},    {0x1E, "MVAR (0x1E)"},       {0x41, "SENTINEL (0x41)"},
        {0x45, "PINNED (0x45)"},     {0x21, "INTERNAL (0x21)"},   {0x40, "MODIFIER (0x40)"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t p[] = {0x01, 0x02, 0x01, 0x08, t[i].code, 0x08};
        expect_err(p, sizeof p, CALLI_SIG_E_TYPE, 4, t[i].code, "unsupported element type",
                   t[i].name, "at offset 4", NULL);
        uint8_t r[] = {0x09, 0x00, t[i].code};
        expect_err(r, sizeof r, CALLI_SIG_E_TYPE, 2, t[i].code, t[i].name, "at offset 2", NULL);
    }
    /* Unassigned codes are named by their value. */
    expect_err(B(0x01, 0x01, 0x01, 0x17), CALLI_SIG_E_TYPE, 3, 0x17, "unknown element type 0x17",
               "offset 3", NULL);
    expect_err(B(0x01, 0x01, 0x01, 0xFF), CALLI_SIG_E_TYPE, 3, 0xFF, "0xFF", NULL);
    expect_reason_exact(B(0x01, 0x01, 0x01, 0x11),
                        "unsupported element type VALUETYPE (0x11) at offset 3");
}

static void test_cmod_everywhere(void **state)
{
    (void)state;
    expect_err(B(0x01, 0x00, 0x1F, 0x00, 0x01), CALLI_SIG_E_CMOD, 2, 0x1F, "custom modifier",
               "CMOD_REQD (0x1F)", "offset 2", NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x20, 0x04, 0x08), CALLI_SIG_E_CMOD, 3, 0x20,
               "CMOD_OPT (0x20)", "offset 3", NULL);
    /* Behind a PTR and inside a nested FNPTR signature. */
    struct calli_sig_error e = expect_err(B(0x01, 0x01, 0x01, 0x0F, 0x1F, 0x04, 0x08),
                                          CALLI_SIG_E_CMOD, 4, 0x1F, "CMOD_REQD", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_POINTEE);
    e = expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x01, 0x01, 0x20, 0x04, 0x08),
                   CALLI_SIG_E_CMOD, 7, 0x20, "CMOD_OPT", "offset 7", "nested FNPTR", NULL);
    assert_int_equal(e.nested, 1);
}

/* ------------------------------------------------------------------------
 * Calling conventions
 * --------------------------------------------------------------------- */

static void test_callconv_all_bytes(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        uint8_t blob[] = {(uint8_t)c, 0x00, 0x01};
        struct calli_sig s;
        struct calli_sig_error e;
        enum calli_sig_err r = parse_heap(blob, sizeof blob, &s, &e);
        enum calli_sig_err want;
        unsigned nib = c & 0x0F;
        if (c & 0x80)
            want = CALLI_SIG_E_CONV_BITS;
        else if (c & 0x40)
            want = CALLI_SIG_E_EXPLICITTHIS;
        else if (c & 0x20)
            want = CALLI_SIG_E_HASTHIS;
        else if (c & 0x10)
            want = CALLI_SIG_E_GENERIC;
        else if (nib == 5)
            want = CALLI_SIG_E_VARARG;
        else if (nib == 1 || nib == 2 || nib == 3 || nib == 4 || nib == 9)
            want = CALLI_SIG_OK;
        else
            want = CALLI_SIG_E_CALLCONV;
        assert_int_equal(r, want);
        if (want == CALLI_SIG_OK) {
            assert_int_equal(s.callconv, nib);
        } else {
            assert_int_equal(e.offset, 0);
            assert_int_equal(e.value, c);
            assert_int_equal(e.where, CALLI_SIG_IN_CALLCONV);
        }
    }
}

static void test_callconv_reasons(void **state)
{
    (void)state;
    expect_reason_exact(B(0x05, 0x00, 0x01), "vararg calling convention (0x05) at offset 0");
    expect_err(B(0x10, 0x00, 0x01), CALLI_SIG_E_GENERIC, 0, 0x10, "generic", "0x10", NULL);
    expect_err(B(0x21, 0x00, 0x01), CALLI_SIG_E_HASTHIS, 0, 0x21, "has-this", "0x21", NULL);
    expect_err(B(0x61, 0x00, 0x01), CALLI_SIG_E_EXPLICITTHIS, 0, 0x61, "explicit-this", NULL);
    expect_err(B(0x81, 0x00, 0x01), CALLI_SIG_E_CONV_BITS, 0, 0x81, "0x80", "0x81", NULL);
    expect_err(B(0x00, 0x00, 0x01), CALLI_SIG_E_CALLCONV, 0, 0x00, "not an unmanaged",
               "DEFAULT", "offset 0", NULL);
    expect_err(B(0x06), CALLI_SIG_E_CALLCONV, 0, 0x06, "FIELD", NULL);
    expect_err(B(0x07), CALLI_SIG_E_CALLCONV, 0, 0x07, "LOCAL_SIG", NULL);
    expect_err(B(0x08), CALLI_SIG_E_CALLCONV, 0, 0x08, "PROPERTY", NULL);
    expect_err(B(0x0A), CALLI_SIG_E_CALLCONV, 0, 0x0A, "GENERICINST", NULL);
    expect_err(B(0x0F, 0x00, 0x01), CALLI_SIG_E_CALLCONV, 0, 0x0F, "0x0F", NULL);
}

static void test_callconv_names(void **state)
{
    (void)state;
    assert_string_equal(calli_callconv_name(1), "C");
    assert_string_equal(calli_callconv_name(2), "StdCall");
    assert_string_equal(calli_callconv_name(3), "ThisCall");
    assert_string_equal(calli_callconv_name(4), "FastCall");
    assert_string_equal(calli_callconv_name(9), "Unmanaged");
    for (unsigned c = 0; c < 256; c++)
        if (c != 1 && c != 2 && c != 3 && c != 4 && c != 9)
            assert_null(calli_callconv_name((uint8_t)c));
}

/* ------------------------------------------------------------------------
 * PTR and FNPTR
 * --------------------------------------------------------------------- */

static void test_ptr_pointees_accepted(void **state)
{
    (void)state;
    const uint8_t ptr[] = {CALLI_T_PTR};
    for (size_t i = 0; i < NSCALARS; i++) {
        uint8_t b[] = {0x01, 0x01, 0x01, 0x0F, scalars[i]};
        expect_ok(b, sizeof b, CALLI_T_VOID, 1, ptr);
    }
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x01), CALLI_T_VOID, 1, ptr);              /* void* */
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x0F, 0x0F, 0x04), CALLI_T_VOID, 1, ptr);  /* i1** */
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x1B, 0x01, 0x00, 0x01), CALLI_T_VOID, 1, ptr);
    /* VALUETYPE / CLASS with 1-, 2- and 4-byte tokens, minimal or not. */
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x11, 0x09), CALLI_T_VOID, 1, ptr);
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x12, 0x00), CALLI_T_VOID, 1, ptr);
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x11, 0x81, 0x23), CALLI_T_VOID, 1, ptr);
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x12, 0xDF, 0xFF, 0xFF, 0xFF), CALLI_T_VOID, 1, ptr);
    expect_ok(B(0x01, 0x01, 0x01, 0x0F, 0x11, 0xC0, 0x00, 0x00, 0x05), CALLI_T_VOID, 1, ptr);
    /* As the return type, followed by more parameters. */
    expect_ok(B(0x01, 0x02, 0x0F, 0x11, 0x80, 0x05, 0x0F, 0x12, 0x06, 0x08), CALLI_T_PTR, 2,
              (const uint8_t[]){CALLI_T_PTR, CALLI_T_I4});
}

static void test_ptr_pointees_rejected(void **state)
{
    (void)state;
    struct calli_sig_error e;
    e = expect_err(B(0x01, 0x01, 0x01, 0x0F, 0x0E), CALLI_SIG_E_TYPE, 4, 0x0E,
                   "unsupported PTR pointee type STRING (0x0E)", "offset 4", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_POINTEE);
    static const uint8_t bad[] = {0x00, 0x10, 0x13, 0x14, 0x15, 0x16, 0x1C, 0x1D, 0x1E, 0x41, 0x45};
    for (size_t i = 0; i < sizeof bad; i++) {
        uint8_t b[] = {0x01, 0x01, 0x01, 0x0F, bad[i], 0x00, 0x00};
        e = expect_err(b, sizeof b, CALLI_SIG_E_TYPE, 4, bad[i], "pointee", NULL);
        assert_int_equal(e.where, CALLI_SIG_IN_POINTEE);
    }
    /* A malformed or missing token. */
    e = expect_err(B(0x01, 0x01, 0x01, 0x0F, 0x11, 0xE0, 0x00, 0x00, 0x00),
                   CALLI_SIG_E_BAD_COMPRESSED, 5, 0xE0, "compressed", "token", "0xE0",
                   "offset 5", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_TOKEN);
    e = expect_err(B(0x01, 0x01, 0x01, 0x0F, 0x12), CALLI_SIG_E_TRUNCATED, 5, 0, "token", NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_TOKEN);
    e = expect_err(B(0x01, 0x01, 0x01, 0x0F, 0x12, 0xC0, 0x01), CALLI_SIG_E_TRUNCATED, 7, 0,
                   "offset 7", NULL);
    /* VALUETYPE/CLASS are pointees only, never direct types. */
    expect_err(B(0x01, 0x01, 0x01, 0x12, 0x05), CALLI_SIG_E_TYPE, 3, 0x12, "CLASS", NULL);
}

static void test_fnptr_nested(void **state)
{
    (void)state;
    const uint8_t f[] = {CALLI_T_FNPTR, CALLI_T_I4};
    /* Nested: stdcall int32 (string, ptr to fnptr). */
    expect_ok(B(0x01, 0x02, 0x01, 0x1B, 0x02, 0x02, 0x08, 0x0E, 0x0F, 0x1B, 0x09, 0x00, 0x01,
                0x08),
              CALLI_T_VOID, 2, f);
    /* Nested with a 2-byte count. */
    expect_ok(B(0x01, 0x02, 0x01, 0x1B, 0x04, 0x80, 0x01, 0x0D, 0x0C, 0x08), CALLI_T_VOID, 2, f);

    struct calli_sig_error e;
    e = expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x05, 0x00, 0x01), CALLI_SIG_E_VARARG, 4, 0x05,
                   "vararg", "offset 4", "nested FNPTR", NULL);
    assert_int_equal(e.nested, 1);
    /* A managed function pointer (DEFAULT, HASTHIS) is not a v1 signature. */
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x00, 0x00, 0x01), CALLI_SIG_E_CALLCONV, 4, 0x00, NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x20, 0x00, 0x01), CALLI_SIG_E_HASTHIS, 4, 0x20, NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x00, 0x0E), CALLI_SIG_E_STRING_RETURN, 6, 0x0E,
               NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x01, 0x01, 0x01), CALLI_SIG_E_VOID_PARAM, 7, 0x01,
               NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x41, 0x01), CALLI_SIG_E_TOO_MANY, 5, 65, NULL);
    expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x01, 0x01, 0x11, 0x01), CALLI_SIG_E_TYPE, 7, 0x11,
               "VALUETYPE", NULL);
    /* A nested signature that is complete but the outer one is not. */
    e = expect_err(B(0x01, 0x02, 0x01, 0x1B, 0x01, 0x00, 0x01), CALLI_SIG_E_TRUNCATED, 7, 0,
                   "parameter list", NULL);
    assert_int_equal(e.nested, 0);
    /* Truncated inside the nested signature. */
    e = expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x02, 0x01, 0x08), CALLI_SIG_E_TRUNCATED, 8, 0,
                   "truncated", "parameter list", "nested FNPTR", NULL);
    assert_int_equal(e.nested, 1);
    e = expect_err(B(0x01, 0x01, 0x01, 0x1B), CALLI_SIG_E_TRUNCATED, 4, 0, "calling convention",
                   NULL);
    assert_int_equal(e.where, CALLI_SIG_IN_CALLCONV);
    /* Two levels. */
    e = expect_err(B(0x01, 0x01, 0x01, 0x1B, 0x01, 0x01, 0x01, 0x1B, 0x01, 0x00, 0x16),
                   CALLI_SIG_E_TYPE, 10, 0x16, "TYPEDBYREF", "level 2", NULL);
    assert_int_equal(e.nested, 2);
}

static void test_depth_bound(void **state)
{
    (void)state;
    uint8_t b[64];
    const uint8_t ptr[] = {CALLI_T_PTR};
    struct calli_sig_error e;

    /* PTR x 8 then I4: the deepest allowed. PTR x 9: too deep at the 9th. */
    for (unsigned k = 1; k <= 10; k++) {
        size_t n = 0;
        b[n++] = 0x01; b[n++] = 0x01; b[n++] = 0x01;
        for (unsigned i = 0; i < k; i++)
            b[n++] = 0x0F;
        b[n++] = 0x08;
        if (k <= CALLI_SIG_MAX_DEPTH) {
            expect_ok(b, n, CALLI_T_VOID, 1, ptr);
        } else {
            e = expect_err(b, n, CALLI_SIG_E_TOO_DEEP, 3 + CALLI_SIG_MAX_DEPTH,
                           CALLI_SIG_MAX_DEPTH, "nested", "8", NULL);
            assert_int_equal(e.where, CALLI_SIG_IN_POINTEE);
        }
    }
    /* FNPTR chains: FNPTR (void (FNPTR (void (... void ()))). */
    for (unsigned k = 1; k <= 10; k++) {
        size_t n = 0;
        b[n++] = 0x01; b[n++] = 0x01; b[n++] = 0x01;
        for (unsigned i = 0; i < k; i++) {
            b[n++] = 0x1B;
            if (i + 1 < k) {
                b[n++] = 0x01; b[n++] = 0x01; b[n++] = 0x01;
            }
        }
        b[n++] = 0x01; b[n++] = 0x00; b[n++] = 0x01;
        if (k <= CALLI_SIG_MAX_DEPTH)
            expect_ok(b, n, CALLI_T_VOID, 1, (const uint8_t[]){CALLI_T_FNPTR});
        else
            expect_err(b, n, CALLI_SIG_E_TOO_DEEP, 3 + 4 * CALLI_SIG_MAX_DEPTH,
                       CALLI_SIG_MAX_DEPTH, NULL);
    }
    /* Mixed: PTR FNPTR PTR FNPTR ... counts the same way. */
    {
        size_t n = 0;
        b[n++] = 0x01; b[n++] = 0x00;
        for (unsigned i = 0; i < 4; i++) {
            b[n++] = 0x0F;
            b[n++] = 0x1B; b[n++] = 0x01; b[n++] = 0x00;
        }
        b[n++] = 0x08;
        expect_ok(b, n, CALLI_T_PTR, 0, NULL);
        /* Make the innermost return one more PTR: 9 levels. */
        b[n - 1] = 0x0F;
        b[n++] = 0x08;
        expect_err(b, n, CALLI_SIG_E_TOO_DEEP, (uint32_t)(n - 2), CALLI_SIG_MAX_DEPTH, NULL);
    }
    /* A long run of PTRs fails fast without deep recursion. */
    {
        size_t n = 100000;
        uint8_t *big = malloc(n);
        assert_non_null(big);
        big[0] = 0x01; big[1] = 0x00;
        memset(big + 2, 0x0F, n - 2);
        expect_err(big, n, CALLI_SIG_E_TOO_DEEP, 2 + CALLI_SIG_MAX_DEPTH, CALLI_SIG_MAX_DEPTH,
                   NULL);
        free(big);
    }
}

/* ------------------------------------------------------------------------
 * Compressed counts, truncation, trailing bytes
 * --------------------------------------------------------------------- */

static void test_compressed_counts(void **state)
{
    (void)state;
    const uint8_t p3[] = {CALLI_T_I1, CALLI_T_I2, CALLI_T_I4};
    expect_ok(B(0x01, 0x03, 0x01, 0x04, 0x06, 0x08), CALLI_T_VOID, 3, p3);
    expect_ok(B(0x01, 0x80, 0x03, 0x01, 0x04, 0x06, 0x08), CALLI_T_VOID, 3, p3); /* non-minimal */
    expect_ok(B(0x01, 0xC0, 0x00, 0x00, 0x03, 0x01, 0x04, 0x06, 0x08), CALLI_T_VOID, 3, p3);
    expect_ok(B(0x01, 0x80, 0x00, 0x01), CALLI_T_VOID, 0, NULL);
    expect_ok(B(0x01, 0xC0, 0x00, 0x00, 0x00, 0x01), CALLI_T_VOID, 0, NULL);

    /* 64 parameters (0x40) in each form; 65 is too many. */
    uint8_t b[8 + CALLI_SIG_MAX_PARAMS];
    uint8_t p[CALLI_SIG_MAX_PARAMS];
    for (unsigned i = 0; i < CALLI_SIG_MAX_PARAMS; i++)
        p[i] = (i % 3 == 0) ? CALLI_T_STRING : scalars[i % NSCALARS];
    static const uint8_t forms[3][4] = {{0x40}, {0x80, 0x40}, {0xC0, 0x00, 0x00, 0x40}};
    for (unsigned f = 0; f < 3; f++) {
        size_t flen = f == 0 ? 1 : f == 1 ? 2 : 4;
        size_t n = 0;
        b[n++] = 0x09;
        memcpy(b + n, forms[f], flen);
        n += flen;
        b[n++] = CALLI_T_R8;
        memcpy(b + n, p, CALLI_SIG_MAX_PARAMS);
        n += CALLI_SIG_MAX_PARAMS;
        expect_ok(b, n, CALLI_T_R8, CALLI_SIG_MAX_PARAMS, p);
    }
    expect_err(B(0x01, 0x41, 0x01), CALLI_SIG_E_TOO_MANY, 1, 65, "too many parameters (65 > 64)",
               NULL);
    expect_reason_exact(B(0x01, 0x81, 0x2C, 0x01, 0x08),
                        "too many parameters (300 > 64) at offset 1");
    expect_err(B(0x01, 0xDF, 0xFF, 0xFF, 0xFF), CALLI_SIG_E_TOO_MANY, 1, 0x1FFFFFFF, "536870911",
               NULL);
    expect_err(B(0x01, 0xBF, 0xFF), CALLI_SIG_E_TOO_MANY, 1, 0x3FFF, NULL);

    /* 111xxxxx lead bytes are malformed. */
    for (unsigned lead = 0xE0; lead <= 0xFF; lead++) {
        uint8_t bad[] = {0x01, (uint8_t)lead, 0x00, 0x00, 0x00, 0x01};
        struct calli_sig_error e = expect_err(bad, sizeof bad, CALLI_SIG_E_BAD_COMPRESSED, 1, lead,
                                              "malformed compressed integer", "parameter count",
                                              "offset 1", NULL);
        assert_int_equal(e.where, CALLI_SIG_IN_COUNT);
    }
    /* Truncated inside the count. */
    expect_err(B(0x01, 0x80), CALLI_SIG_E_TRUNCATED, 2, 0, "parameter count", NULL);
    expect_err(B(0x01, 0xC0, 0x00, 0x00), CALLI_SIG_E_TRUNCATED, 4, 0, "parameter count", NULL);
}

/* Valid blobs whose every strict prefix must be reported as truncated. */
static const struct {
    size_t len;
    uint8_t b[24];
} corpus[] = {
    {3, {0x01, 0x00, 0x01}},
    {7, {0x01, 0x04, 0x08, 0x02, 0x03, 0x0E, 0x0D}},
    {6, {0x09, 0x80, 0x02, 0x0A, 0x18, 0x19}},
    {8, {0x02, 0xC0, 0x00, 0x00, 0x02, 0x0C, 0x0D, 0x0E}},
    {6, {0x01, 0x01, 0x0F, 0x01, 0x0F, 0x01}},
    {9, {0x04, 0x01, 0x01, 0x0F, 0x11, 0xC0, 0x00, 0x12, 0x34}},
    {8, {0x03, 0x01, 0x0F, 0x12, 0x81, 0x00, 0x0F, 0x05}},
    {14, {0x01, 0x02, 0x01, 0x1B, 0x02, 0x02, 0x08, 0x0E, 0x0F, 0x1B, 0x09, 0x00, 0x01, 0x08}},
    {11, {0x09, 0x01, 0x1B, 0x01, 0x01, 0x08, 0x1B, 0x01, 0x00, 0x01, 0x0E}},
    {14, {0x01, 0x0B, 0x02, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C}},
    {12, {0x01, 0x01, 0x01, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x08}},
    {8, {0x01, 0x01, 0x01, 0x1B, 0x01, 0x80, 0x00, 0x01}},
};
#define NCORPUS (sizeof corpus / sizeof corpus[0])

static void test_corpus_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCORPUS; i++) {
        struct calli_sig s;
        struct calli_sig_error e;
        if (parse_heap(corpus[i].b, corpus[i].len, &s, &e) != CALLI_SIG_OK) {
            char why[CALLI_SIG_REASON_MAX];
            reason_of(&e, why, sizeof why);
            fail_msg("corpus[%zu]: %s", i, why);
        }
    }
}

/* Every strict prefix of a valid blob, in a heap buffer of exactly that
 * length: the count comes first, so no prefix is complete, and every byte a
 * prefix has is parsed as in the full blob, so the only possible verdict is
 * "truncated" at the prefix's end (or "empty" for length 0). */
static void test_every_prefix_truncated(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < NCORPUS; i++) {
        for (size_t n = 0; n < corpus[i].len; n++) {
            struct calli_sig s;
            struct calli_sig_error e;
            enum calli_sig_err r = parse_heap(corpus[i].b, n, &s, &e);
            if (n == 0) {
                assert_int_equal(r, CALLI_SIG_E_EMPTY);
                continue;
            }
            if (r != CALLI_SIG_E_TRUNCATED)
                fail_msg("corpus[%zu] prefix %zu: got %d", i, n, (int)r);
            assert_int_equal(e.offset, n);
            assert_int_equal(e.value, 0);
            char why[CALLI_SIG_REASON_MAX];
            reason_of(&e, why, sizeof why);
            char want[64];
            snprintf(want, sizeof want, "truncated: blob ends at offset %zu inside ", n);
            assert_non_null(strstr(why, want));
            checked++;
        }
    }
    assert_true(checked >= 90);
    expect_reason_exact(B(0x01, 0x02, 0x01, 0x08),
                        "truncated: blob ends at offset 4 inside the parameter list");
}

static void test_trailing_and_empty(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCORPUS; i++) {
        for (size_t extra = 1; extra <= 3; extra++) {
            uint8_t b[32];
            memcpy(b, corpus[i].b, corpus[i].len);
            memset(b + corpus[i].len, 0x08, extra);
            expect_err(b, corpus[i].len + extra, CALLI_SIG_E_TRAILING, (uint32_t)corpus[i].len,
                       (uint32_t)extra, "trailing", "after the last parameter", NULL);
        }
    }
    expect_reason_exact(B(0x01, 0x00, 0x01, 0x00),
                        "1 trailing byte after the last parameter at offset 3");
    expect_err(NULL, 0, CALLI_SIG_E_EMPTY, 0, 0, "empty", NULL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct calli_sig s;
    struct calli_sig_error e;
    const uint8_t ok[] = {0x01, 0x00, 0x01};
    assert_int_equal(calli_sig_parse(NULL, 3, &s, &e), CALLI_SIG_E_ARG);
    assert_int_equal(e.err, CALLI_SIG_E_ARG);
    assert_int_equal(calli_sig_parse(ok, 3, NULL, &e), CALLI_SIG_E_ARG);
    assert_int_equal(calli_sig_parse(NULL, 0, &s, &e), CALLI_SIG_E_EMPTY);
    /* A null error pointer is fine, on success and on failure. */
    assert_int_equal(calli_sig_parse(ok, 3, &s, NULL), CALLI_SIG_OK);
    assert_int_equal(calli_sig_parse(ok, 2, &s, NULL), CALLI_SIG_E_TRUNCATED);
    /* On success the error is cleared. */
    memset(&e, 0x5A, sizeof e);
    assert_int_equal(calli_sig_parse(ok, 3, &s, &e), CALLI_SIG_OK);
    assert_int_equal(e.err, CALLI_SIG_OK);
    assert_int_equal(e.offset, 0);
    assert_int_equal(e.nested, 0);
}

/* ------------------------------------------------------------------------
 * Names, keys, readable forms, reasons
 * --------------------------------------------------------------------- */

static void test_type_names(void **state)
{
    (void)state;
    static const struct {
        uint8_t t;
        const char *name, *token;
    } n[] = {
        {CALLI_T_VOID, "void", "v"},     {CALLI_T_BOOL, "bool", "b"},
        {CALLI_T_CHAR, "char16", "c"},   {CALLI_T_I1, "int8", "i1"},
        {CALLI_T_U1, "uint8", "u1"},     {CALLI_T_I2, "int16", "i2"},
        {CALLI_T_U2, "uint16", "u2"},    {CALLI_T_I4, "int32", "i4"},
        {CALLI_T_U4, "uint32", "u4"},    {CALLI_T_I8, "int64", "i8"},
        {CALLI_T_U8, "uint64", "u8"},    {CALLI_T_R4, "float32", "r4"},
        {CALLI_T_R8, "float64", "r8"},   {CALLI_T_STRING, "string", "s"},
        {CALLI_T_PTR, "ptr", "p"},       {CALLI_T_I, "nint", "i"},
        {CALLI_T_U, "nuint", "u"},       {CALLI_T_FNPTR, "fnptr", "f"},
    };
    unsigned known = 0;
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        assert_string_equal(calli_type_name(n[i].t), n[i].name);
        assert_string_equal(calli_type_token(n[i].t), n[i].token);
    }
    for (unsigned c = 0; c < 256; c++)
        if (calli_type_name((uint8_t)c)) {
            assert_non_null(calli_type_token((uint8_t)c));
            known++;
        } else {
            assert_null(calli_type_token((uint8_t)c));
        }
    assert_int_equal(known, sizeof n / sizeof n[0]);
    assert_string_equal(calli_sig_elem_name(0x02), "BOOLEAN");
    assert_string_equal(calli_sig_elem_name(0x1F), "CMOD_REQD");
    assert_string_equal(calli_sig_elem_name(0x45), "PINNED");
    assert_null(calli_sig_elem_name(0x17));
    assert_null(calli_sig_elem_name(0x1A));
    assert_null(calli_sig_elem_name(0x99));
}

static struct calli_sig parse_ok(const uint8_t *b, size_t n)
{
    struct calli_sig s;
    struct calli_sig_error e;
    assert_int_equal(parse_heap(b, n, &s, &e), CALLI_SIG_OK);
    return s;
}

static void test_keys_and_readable(void **state)
{
    (void)state;
    struct calli_sig s = parse_ok(B(0x01, 0x04, 0x08, 0x02, 0x03, 0x0E, 0x0D));
    expect_key(&s, 0, "i4_b_c_s_r8", "int32 (bool, char16, string, float64)");
    expect_key(&s, 1, "i4_b_c_s_r8_sgc", "int32 (bool, char16, string, float64) suppress-gc");
    s = parse_ok(B(0x09, 0x00, 0x01));
    expect_key(&s, 0, "v", "void ()");
    expect_key(&s, 1, "v_sgc", "void () suppress-gc");
    s = parse_ok(B(0x01, 0x0B, 0x0A, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0B, 0x0C, 0x18, 0x19, 0x0F,
                   0x01, 0x1B, 0x01, 0x00, 0x01));
    expect_key(&s, 0, "i8_i1_u1_i2_u2_u4_u8_r4_i_u_p_f",
               "int64 (int8, uint8, int16, uint16, uint32, uint64, float32, nint, nuint, ptr, "
               "fnptr)");
    /* A non-zero suppress_gc value other than 1 means set. */
    expect_key(&s, 7, "i8_i1_u1_i2_u2_u4_u8_r4_i_u_p_f_sgc",
               "int64 (int8, uint8, int16, uint16, uint32, uint64, float32, nint, nuint, ptr, "
               "fnptr) suppress-gc");
}

static void test_key_folds_callconv_and_pointees(void **state)
{
    (void)state;
    static const uint8_t convs[] = {1, 2, 3, 4, 9};
    for (size_t i = 0; i < sizeof convs; i++) {
        uint8_t b[] = {convs[i], 0x02, 0x0D, 0x0E, 0x18};
        struct calli_sig s = parse_ok(b, sizeof b);
        assert_int_equal(s.callconv, convs[i]);
        expect_key(&s, 0, "r8_s_i", "float64 (string, nint)");
    }
    /* void* / int** / MyStruct* / fnptr* all give "p"; every FNPTR gives "f". */
    const struct {
        size_t len;
        uint8_t b[16];
    } v[] = {
        {6, {0x01, 0x01, 0x0F, 0x01, 0x0F, 0x01}},
        {8, {0x01, 0x01, 0x0F, 0x0F, 0x08, 0x0F, 0x0F, 0x0D}},
        {9, {0x01, 0x01, 0x0F, 0x11, 0x05, 0x0F, 0x12, 0x81, 0x00}},
        {9, {0x02, 0x01, 0x0F, 0x1B, 0x01, 0x00, 0x01, 0x0F, 0x04}},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct calli_sig s;
        struct calli_sig_error e;
        assert_int_equal(parse_heap(v[i].b, v[i].len, &s, &e), CALLI_SIG_OK);
        expect_key(&s, 0, "p_p", "ptr (ptr)");
    }
    struct calli_sig a = parse_ok(B(0x01, 0x01, 0x1B, 0x01, 0x00, 0x01, 0x1B, 0x02, 0x01, 0x08,
                                    0x0E));
    struct calli_sig b = parse_ok(B(0x09, 0x01, 0x1B, 0x04, 0x00, 0x0D, 0x1B, 0x01, 0x00, 0x01));
    expect_key(&a, 0, "f_f", "fnptr (fnptr)");
    expect_key(&b, 0, "f_f", "fnptr (fnptr)");
}

/* snprintf semantics for the key, the readable form and the reason. */
static void check_snprintf(size_t (*fn)(const void *, char *, size_t), const void *arg,
                           const char *full)
{
    size_t len = strlen(full);
    char buf[CALLI_SIG_TEXT_MAX + 8];
    assert_int_equal(fn(arg, NULL, 0), len);
    memset(buf, '#', sizeof buf);
    assert_int_equal(fn(arg, buf, 0), len);
    assert_int_equal(buf[0], '#'); /* cap 0: nothing written */
    for (size_t cap = 1; cap <= len + 2; cap++) {
        memset(buf, '#', sizeof buf);
        assert_int_equal(fn(arg, buf, cap), len);
        size_t kept = cap - 1 < len ? cap - 1 : len;
        assert_memory_equal(buf, full, kept);
        assert_int_equal(buf[kept], '\0');
        for (size_t j = kept + 1; j < sizeof buf; j++)
            assert_int_equal(buf[j], '#'); /* nothing beyond the terminator */
    }
}

static const struct calli_sig *g_sig;
static size_t key_fn(const void *sgc, char *b, size_t c)
{
    return calli_sig_key(g_sig, *(const int *)sgc, b, c);
}
static size_t fmt_fn(const void *sgc, char *b, size_t c)
{
    return calli_sig_format(g_sig, *(const int *)sgc, b, c);
}
static size_t reason_fn(const void *e, char *b, size_t c)
{
    return calli_sig_reason(e, b, c);
}

static void test_snprintf_semantics(void **state)
{
    (void)state;
    struct calli_sig s = parse_ok(B(0x01, 0x04, 0x08, 0x02, 0x03, 0x0E, 0x0D));
    g_sig = &s;
    const int off = 0, on = 1;
    check_snprintf(key_fn, &off, "i4_b_c_s_r8");
    check_snprintf(key_fn, &on, "i4_b_c_s_r8_sgc");
    check_snprintf(fmt_fn, &on, "int32 (bool, char16, string, float64) suppress-gc");
    struct calli_sig_error e = {CALLI_SIG_E_TYPE, 3, 0x11, CALLI_SIG_IN_PARAMS, 0};
    check_snprintf(reason_fn, &e, "unsupported element type VALUETYPE (0x11) at offset 3");
    e.nested = 2;
    check_snprintf(reason_fn, &e,
                   "unsupported element type VALUETYPE (0x11) at offset 3 (in a nested FNPTR "
                   "signature, level 2)");
    /* The largest texts fit the documented bounds. */
    struct calli_sig big;
    memset(&big, 0, sizeof big);
    big.callconv = 1;
    big.ret = CALLI_T_R8;
    big.nparams = CALLI_SIG_MAX_PARAMS;
    memset(big.params, CALLI_T_R8, sizeof big.params);
    assert_true(calli_sig_format(&big, 1, NULL, 0) < CALLI_SIG_TEXT_MAX);
    assert_true(calli_sig_key(&big, 1, NULL, 0) < CALLI_SIG_TEXT_MAX);
    for (unsigned c = 0; c < CALLI_SIG_E_COUNT_ + 2; c++)
        for (unsigned w = 0; w < 8; w++) {
            struct calli_sig_error x = {(enum calli_sig_err)c, UINT32_MAX, UINT32_MAX,
                                        (uint8_t)w, 255};
            assert_true(calli_sig_reason(&x, NULL, 0) < CALLI_SIG_REASON_MAX);
        }
    assert_true(calli_sig_reason(NULL, NULL, 0) > 0);
}

static void test_invalid_struct_formats_empty(void **state)
{
    (void)state;
    struct calli_sig s;
    memset(&s, 0, sizeof s);
    s.callconv = 1;
    s.ret = CALLI_T_I4;
    s.nparams = 1;
    s.params[0] = CALLI_T_I4;
    char buf[32];
    assert_int_equal(calli_sig_key(&s, 0, buf, sizeof buf), 5);
    struct calli_sig bad = s;
    bad.nparams = CALLI_SIG_MAX_PARAMS + 1;
    assert_int_equal(calli_sig_key(&bad, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    bad = s;
    bad.ret = CALLI_T_STRING;
    assert_int_equal(calli_sig_format(&bad, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    bad = s;
    bad.params[0] = CALLI_T_VOID;
    assert_int_equal(calli_sig_key(&bad, 0, buf, sizeof buf), 0);
    bad = s;
    bad.params[0] = 0x11;
    assert_int_equal(calli_sig_format(&bad, 1, buf, sizeof buf), 0);
    assert_int_equal(calli_sig_key(NULL, 0, buf, sizeof buf), 0);
    assert_int_equal(calli_sig_format(NULL, 0, buf, sizeof buf), 0);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int a = 0; a < CALLI_SIG_E_COUNT_; a++) {
        const char *ta = calli_sig_strerror((enum calli_sig_err)a);
        assert_non_null(ta);
        assert_true(strlen(ta) > 0);
        for (int b = 0; b < a; b++)
            assert_string_not_equal(ta, calli_sig_strerror((enum calli_sig_err)b));
    }
    assert_string_equal(calli_sig_strerror(CALLI_SIG_E_VARARG), "vararg calling convention");
    assert_string_equal(calli_sig_strerror((enum calli_sig_err)999), "unknown error");
}

/* ------------------------------------------------------------------------
 * Fuzz: no crash, no read past the end, OK results re-render and re-parse
 * --------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift64*: deterministic across platforms. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* A byte that is more often than not a plausible element type. */
static uint8_t rnd_elem(void)
{
    static const uint8_t likely[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                     0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x0F, 0x0F, 0x18,
                                     0x19, 0x1B, 0x1B, 0x11, 0x12, 0x1F, 0x20, 0x10, 0x1D};
    return rnd() % 4 ? likely[rnd() % sizeof likely] : (uint8_t)rnd();
}

static const uint8_t convs[] = {0x01, 0x02, 0x03, 0x04, 0x09};

/* Valid by construction (the test's own model of the grammar): a type for
 * the given role at nesting depth d, appended at b[*n]; cap bounds it. */
static bool gen_valid_sig(uint8_t *b, size_t *n, size_t cap, unsigned d);

static bool gen_valid_type(uint8_t *b, size_t *n, size_t cap, unsigned d, int role)
{
    if (*n + 6 > cap)
        return false;
    unsigned pick = rnd() % 10;
    if (pick < 2 && d < CALLI_SIG_MAX_DEPTH) {            /* PTR pointee */
        b[(*n)++] = CALLI_T_PTR;
        unsigned k = rnd() % 4;
        if (k == 0) {
            b[(*n)++] = CALLI_T_VOID;
            return true;
        }
        if (k == 1) {                                     /* VALUETYPE/CLASS token */
            b[(*n)++] = rnd() % 2 ? 0x11 : 0x12;
            b[(*n)++] = 0x80 | (uint8_t)(rnd() % 0x40);
            b[(*n)++] = (uint8_t)rnd();
            return true;
        }
        return gen_valid_type(b, n, cap, d + 1, 2);
    }
    if (pick < 3 && d < CALLI_SIG_MAX_DEPTH) {            /* FNPTR */
        b[(*n)++] = CALLI_T_FNPTR;
        return gen_valid_sig(b, n, cap, d + 1);
    }
    if (pick < 4 && role == 0) {
        b[(*n)++] = CALLI_T_VOID;
        return true;
    }
    if (pick < 5 && role == 1) {
        b[(*n)++] = CALLI_T_STRING;
        return true;
    }
    b[(*n)++] = scalars[rnd() % NSCALARS];
    return true;
}

static bool gen_valid_sig(uint8_t *b, size_t *n, size_t cap, unsigned d)
{
    if (*n + 8 > cap)
        return false;
    unsigned count = rnd() % (d ? 3 : 9);
    b[(*n)++] = convs[rnd() % sizeof convs];
    if (rnd() % 4) {
        b[(*n)++] = (uint8_t)count;
    } else {                                              /* non-minimal count */
        b[(*n)++] = 0x80;
        b[(*n)++] = (uint8_t)count;
    }
    if (!gen_valid_type(b, n, cap, d, 0))
        return false;
    for (unsigned i = 0; i < count; i++)
        if (!gen_valid_type(b, n, cap, d, 1))
            return false;
    return true;
}

static size_t gen_blob(uint8_t *b, size_t cap)
{
    unsigned mode = rnd() % 5;
    if (mode == 4) { /* valid, sometimes with one byte changed */
        size_t n = 0;
        if (!gen_valid_sig(b, &n, cap, 0))
            return n;
        if (rnd() % 3 == 0)
            b[rnd() % n] = rnd_elem();
        return n;
    }
    size_t n = rnd() % (cap < 40 ? cap : 40);
    if (mode == 0) { /* uniform random bytes */
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rnd();
        return n;
    }
    if (mode == 1) { /* a corpus entry, mutated */
        size_t k = rnd() % NCORPUS;
        n = corpus[k].len;
        memcpy(b, corpus[k].b, n);
        unsigned flips = 1 + rnd() % 3;
        for (unsigned f = 0; f < flips; f++)
            b[rnd() % n] = (uint8_t)(rnd() % 2 ? rnd() : rnd_elem());
        if (rnd() % 4 == 0)
            n = rnd() % (n + 1);
        return n;
    }
    /* Structured: plausible header, plausible types. */
    size_t i = 0;
    b[i++] = rnd() % 8 ? convs[rnd() % sizeof convs] : (uint8_t)rnd();
    b[i++] = (uint8_t)(rnd() % 8);
    while (i < n)
        b[i++] = rnd() % 6 ? rnd_elem() : (uint8_t)(rnd() % 8);
    return n < 2 ? 2 : n;
}

/* Minimal canonical blob for a parsed signature: PTR -> PTR VOID, FNPTR ->
 * FNPTR C void(). Parsing it must give back the same signature. */
static size_t encode(const struct calli_sig *s, uint8_t *b)
{
    size_t n = 0;
    b[n++] = s->callconv;
    b[n++] = (uint8_t)s->nparams; /* <= 64: one byte */
    for (int i = -1; i < (int)s->nparams; i++) {
        uint8_t t = i < 0 ? s->ret : s->params[i];
        b[n++] = t;
        if (t == CALLI_T_PTR)
            b[n++] = CALLI_T_VOID;
        else if (t == CALLI_T_FNPTR) {
            b[n++] = 0x01; b[n++] = 0x00; b[n++] = CALLI_T_VOID;
        }
    }
    return n;
}

static void test_fuzz(void **state)
{
    (void)state;
    rng_state = 0x9E3779B97F4A7C15ULL;
    unsigned oks = 0, errs[CALLI_SIG_E_COUNT_] = {0};
    uint8_t tmp[64];
    for (unsigned iter = 0; iter < 200000; iter++) {
        size_t n = gen_blob(tmp, sizeof tmp);
        struct calli_sig s;
        struct calli_sig_error e;
        enum calli_sig_err r = parse_heap(tmp, n, &s, &e);
        assert_true((unsigned)r < CALLI_SIG_E_COUNT_);
        errs[r]++;
        if (r != CALLI_SIG_OK) {
            assert_true(e.offset <= n);
            char why[CALLI_SIG_REASON_MAX];
            reason_of(&e, why, sizeof why);
            continue;
        }
        oks++;
        assert_true(s.nparams <= CALLI_SIG_MAX_PARAMS);
        char key[CALLI_SIG_TEXT_MAX], form[CALLI_SIG_TEXT_MAX];
        size_t kl = calli_sig_key(&s, (int)(iter & 1), key, sizeof key);
        size_t fl = calli_sig_format(&s, (int)(iter & 1), form, sizeof form);
        assert_true(kl > 0 && kl < sizeof key);
        assert_true(fl > 0 && fl < sizeof form);
        assert_int_equal(strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_"), kl);
        uint8_t canon[4 + 4 * (CALLI_SIG_MAX_PARAMS + 1)];
        size_t cl = encode(&s, canon);
        struct calli_sig s2;
        struct calli_sig_error e2;
        assert_int_equal(parse_heap(canon, cl, &s2, &e2), CALLI_SIG_OK);
        assert_int_equal(s2.callconv, s.callconv);
        assert_int_equal(s2.ret, s.ret);
        assert_int_equal(s2.nparams, s.nparams);
        assert_memory_equal(s2.params, s.params, s.nparams);
        char key2[CALLI_SIG_TEXT_MAX];
        calli_sig_key(&s2, (int)(iter & 1), key2, sizeof key2);
        assert_string_equal(key, key2);
    }
    print_message("fuzz: %u ok, %u truncated, %u type, %u trailing, %u cmod, %u too deep\n", oks,
                  errs[CALLI_SIG_E_TRUNCATED], errs[CALLI_SIG_E_TYPE],
                  errs[CALLI_SIG_E_TRAILING], errs[CALLI_SIG_E_CMOD], errs[CALLI_SIG_E_TOO_DEEP]);
    /* The generator must reach both the accepting and the rejecting paths. */
    assert_true(oks > 20000);
    assert_true(errs[CALLI_SIG_E_TRUNCATED] > 1000);
    assert_true(errs[CALLI_SIG_E_TYPE] > 1000);
    assert_true(errs[CALLI_SIG_E_TRAILING] > 100);
    assert_true(errs[CALLI_SIG_E_CMOD] > 100);
}

/* The test's grammar model and the decoder agree: every generated valid
 * blob parses, with the same count, and each of its strict prefixes is
 * truncated at its end. */
static void test_generated_valid(void **state)
{
    (void)state;
    rng_state = 0x0123456789ABCDEFULL;
    unsigned made = 0;
    uint8_t b[96];
    for (unsigned iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        if (!gen_valid_sig(b, &n, sizeof b, 0))
            continue;
        made++;
        struct calli_sig s;
        struct calli_sig_error e;
        enum calli_sig_err r = parse_heap(b, n, &s, &e);
        if (r != CALLI_SIG_OK) {
            char why[CALLI_SIG_REASON_MAX];
            reason_of(&e, why, sizeof why);
            fail_msg("generated blob %u rejected: %s", iter, why);
        }
        assert_int_equal(s.nparams, b[1] == 0x80 ? b[2] : b[1]);
        for (size_t k = 1; k < n; k++) {
            assert_int_equal(parse_heap(b, k, &s, &e), CALLI_SIG_E_TRUNCATED);
            assert_int_equal(e.offset, k);
        }
    }
    assert_true(made > 15000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_as_param_and_return),
        cmocka_unit_test(test_void_string_ptr_fnptr),
        cmocka_unit_test(test_void_param),
        cmocka_unit_test(test_string_return),
        cmocka_unit_test(test_every_code),
        cmocka_unit_test(test_unsupported_types_reason),
        cmocka_unit_test(test_cmod_everywhere),
        cmocka_unit_test(test_callconv_all_bytes),
        cmocka_unit_test(test_callconv_reasons),
        cmocka_unit_test(test_callconv_names),
        cmocka_unit_test(test_ptr_pointees_accepted),
        cmocka_unit_test(test_ptr_pointees_rejected),
        cmocka_unit_test(test_fnptr_nested),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_compressed_counts),
        cmocka_unit_test(test_corpus_valid),
        cmocka_unit_test(test_every_prefix_truncated),
        cmocka_unit_test(test_trailing_and_empty),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_keys_and_readable),
        cmocka_unit_test(test_key_folds_callconv_and_pointees),
        cmocka_unit_test(test_snprintf_semantics),
        cmocka_unit_test(test_invalid_struct_formats_empty),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_generated_valid),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

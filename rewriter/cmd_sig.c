/* cmd_sig.c - `callirw sig`: decode signature blobs given in hex and print,
 * for each, the verdict, the readable form, the stub key and the calling
 * convention (text or JSON; schema in docs/sig.md).
 *
 * Every argument is decoded before anything is printed, so a bad argument
 * produces exactly one error line and no partial output.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calli_sig.h"
#include "cli.h"
#include "json.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: callirw sig [--json] [--suppress-gc] HEX...\n"
            "\n"
            "Decode ECMA-335 StandAloneMethodSig blobs, one per HEX argument (an\n"
            "optional 0x prefix; ':', '-', '_' and spaces between digits are ignored),\n"
            "and print for each: the verdict (ok, or unsupported with the reason),\n"
            "the readable form, the stub key and the calling convention.\n"
            "\n"
            "  --json         one JSON array of objects instead of text (docs/sig.md)\n"
            "  --suppress-gc  as if the cookie had SUPPRESS_GC_TRANSITION (key and form)\n"
            "  --help         this text\n"
            "\n"
            "exit codes: 0 every blob is supported, 2 a blob is not, or bad usage\n");
}

/* One decoded argument. */
struct blob {
    const char *arg;
    uint8_t *bytes;
    size_t len;
};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_separator(char c)
{
    return c == ':' || c == '-' || c == '_' || c == ' ';
}

/* Decode one argument into b->bytes (malloc'd; an empty blob is allowed and
 * is reported later as an empty signature). On bad input prints the one
 * error line and returns false. */
static bool decode_hex(const char *arg, struct blob *b)
{
    const char *s = arg;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t digits = 0;
    for (const char *p = s; *p; p++) {
        if (is_separator(*p))
            continue;
        if (hex_digit(*p) < 0) {
            fprintf(stderr, "callirw: sig: '%s' is not hex (bad character '%c')\n", arg, *p);
            return false;
        }
        digits++;
    }
    if (digits % 2) {
        fprintf(stderr, "callirw: sig: '%s' is not hex (odd number of digits)\n", arg);
        return false;
    }
    b->arg = arg;
    b->len = digits / 2;
    b->bytes = malloc(b->len ? b->len : 1);
    if (!b->bytes) {
        fprintf(stderr, "callirw: sig: out of memory\n");
        return false;
    }
    size_t n = 0;
    int high = -1;
    for (const char *p = s; *p; p++) {
        if (is_separator(*p))
            continue;
        if (high < 0) {
            high = hex_digit(*p);
        } else {
            b->bytes[n++] = (uint8_t)(high << 4 | hex_digit(*p));
            high = -1;
        }
    }
    return true;
}

/* Stable identifiers for --json's "error" field. */
static const char *err_id(enum calli_sig_err e)
{
    static const char *const ids[CALLI_SIG_E_COUNT_] = {
        [CALLI_SIG_OK] = "ok",
        [CALLI_SIG_E_EMPTY] = "empty",
        [CALLI_SIG_E_TRUNCATED] = "truncated",
        [CALLI_SIG_E_TRAILING] = "trailing",
        [CALLI_SIG_E_BAD_COMPRESSED] = "bad_compressed",
        [CALLI_SIG_E_CALLCONV] = "callconv",
        [CALLI_SIG_E_VARARG] = "vararg",
        [CALLI_SIG_E_GENERIC] = "generic",
        [CALLI_SIG_E_HASTHIS] = "hasthis",
        [CALLI_SIG_E_EXPLICITTHIS] = "explicitthis",
        [CALLI_SIG_E_CONV_BITS] = "conv_bits",
        [CALLI_SIG_E_TOO_MANY] = "too_many",
        [CALLI_SIG_E_CMOD] = "cmod",
        [CALLI_SIG_E_TYPE] = "type",
        [CALLI_SIG_E_STRING_RETURN] = "string_return",
        [CALLI_SIG_E_VOID_PARAM] = "void_param",
        [CALLI_SIG_E_TOO_DEEP] = "too_deep",
        [CALLI_SIG_E_ARG] = "arg",
    };
    return (unsigned)e < CALLI_SIG_E_COUNT_ && ids[e] ? ids[e] : "unknown";
}

/* The decoded result of one blob, with every text already rendered. */
struct verdict {
    enum calli_sig_err err;
    struct calli_sig sig;
    struct calli_sig_error error;
    char reason[CALLI_SIG_REASON_MAX];
    char readable[CALLI_SIG_TEXT_MAX];
    char key[CALLI_SIG_TEXT_MAX];
};

static void judge(const struct blob *b, bool sgc, struct verdict *v)
{
    v->err = calli_sig_parse(b->bytes, b->len, &v->sig, &v->error);
    calli_sig_reason(&v->error, v->reason, sizeof v->reason);
    v->readable[0] = v->key[0] = '\0';
    if (v->err == CALLI_SIG_OK) {
        calli_sig_format(&v->sig, sgc, v->readable, sizeof v->readable);
        calli_sig_key(&v->sig, sgc, v->key, sizeof v->key);
    }
}

static void print_hex(FILE *out, const struct blob *b)
{
    for (size_t i = 0; i < b->len; i++)
        fprintf(out, "%02x", b->bytes[i]);
}

static void print_text(FILE *out, const struct blob *b, const struct verdict *v)
{
    if (b->len)
        print_hex(out, b);
    else
        fputs("(empty)", out);
    fputc('\n', out);
    if (v->err != CALLI_SIG_OK) {
        fprintf(out, "  verdict:  unsupported: %s\n", v->reason);
        return;
    }
    fprintf(out, "  verdict:  ok\n");
    fprintf(out, "  readable: %s\n", v->readable);
    fprintf(out, "  key:      %s\n", v->key);
    fprintf(out, "  callconv: %s\n", calli_callconv_name(v->sig.callconv));
}

/* A JSON string, or null when s is null. */
/* A JSON string, or null. */
static void json_str(FILE *out, const char *s)
{
    if (s)
        rw_json_str(out, s);
    else
        fputs("null", out);
}

static void print_json(FILE *out, const struct blob *b, const struct verdict *v, bool sgc)
{
    bool ok = v->err == CALLI_SIG_OK;
    fputs("  {\"hex\": \"", out);
    print_hex(out, b);
    fprintf(out, "\", \"ok\": %s, \"suppress_gc\": %s, \"callconv\": ", ok ? "true" : "false",
            sgc ? "true" : "false");
    json_str(out, ok ? calli_callconv_name(v->sig.callconv) : NULL);
    fputs(", \"readable\": ", out);
    json_str(out, ok ? v->readable : NULL);
    fputs(", \"key\": ", out);
    json_str(out, ok ? v->key : NULL);
    fputs(", \"ret\": ", out);
    json_str(out, ok ? calli_type_name(v->sig.ret) : NULL);
    fputs(", \"params\": [", out);
    for (unsigned i = 0; ok && i < v->sig.nparams; i++) {
        if (i)
            fputs(", ", out);
        json_str(out, calli_type_name(v->sig.params[i]));
    }
    fputs("], \"error\": ", out);
    json_str(out, ok ? NULL : err_id(v->err));
    fputs(", \"reason\": ", out);
    json_str(out, ok ? NULL : v->reason);
    fputs(", \"offset\": ", out);
    if (ok)
        fputs("null", out);
    else
        fprintf(out, "%u", (unsigned)v->error.offset);
    fputc('}', out);
}

static void free_blobs(struct blob *blobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(blobs[i].bytes);
    free(blobs);
}

int cmd_sig(int argc, char **argv)
{
    bool json = false, sgc = false, options = true;
    struct blob *blobs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *blobs);
    size_t n = 0;
    if (!blobs) {
        fprintf(stderr, "callirw: sig: out of memory\n");
        return CALLIRW_EXIT_INTERNAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && a[0] == '-' && a[1] == '-') {
            if (!strcmp(a, "--")) {
                options = false;
            } else if (!strcmp(a, "--json")) {
                json = true;
            } else if (!strcmp(a, "--suppress-gc")) {
                sgc = true;
            } else if (!strcmp(a, "--help")) {
                free_blobs(blobs, n);
                usage(stdout);
                return CALLIRW_EXIT_OK;
            } else {
                fprintf(stderr, "callirw: sig: unknown option '%s' (try 'callirw sig --help')\n", a);
                free_blobs(blobs, n);
                return CALLIRW_EXIT_BAD_INPUT;
            }
        } else if (options && !strcmp(a, "-h")) {
            free_blobs(blobs, n);
            usage(stdout);
            return CALLIRW_EXIT_OK;
        } else {
            if (!decode_hex(a, &blobs[n])) {
                free_blobs(blobs, n);
                return CALLIRW_EXIT_BAD_INPUT;
            }
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "callirw: sig: no signature given (try 'callirw sig --help')\n");
        free_blobs(blobs, n);
        return CALLIRW_EXIT_BAD_INPUT;
    }

    bool all_ok = true;
    struct verdict v;
    if (json)
        fputs("[\n", stdout);
    for (size_t i = 0; i < n; i++) {
        judge(&blobs[i], sgc, &v);
        all_ok = all_ok && v.err == CALLI_SIG_OK;
        if (json) {
            print_json(stdout, &blobs[i], &v, sgc);
            fputs(i + 1 < n ? ",\n" : "\n", stdout);
        } else {
            print_text(stdout, &blobs[i], &v);
        }
    }
    if (json)
        fputs("]\n", stdout);
    free_blobs(blobs, n);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "callirw: sig: cannot write the output\n");
        return CALLIRW_EXIT_INTERNAL;
    }
    return all_ok ? CALLIRW_EXIT_OK : CALLIRW_EXIT_BAD_INPUT;
}

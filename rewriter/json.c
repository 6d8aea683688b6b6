/* json.c - JSON string literals (json.h). */
#include <stddef.h>

#include "json.h"

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0. p is NUL-terminated, so a
 * truncated sequence stops at a byte that is not a continuation. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || /* overlong, surrogate */
        (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))   /* overlong, > U+10FFFF */
        return 0;
    return n;
}

void rw_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        size_t n;
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p >= 0x80 && (n = utf8_len(p)) > 0) {
                fwrite(p, 1, n, f);
                p += n;
                continue;
            }
            if (*p < 0x20 || *p >= 0x7F)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
        p++;
    }
    fputc('"', f);
}

/* refrt.c - the reference calli_runtime (calli_refrt.h): UTF-16 -> UTF-8
 * string marshaling into a fixed arena, enter/leave depth tracking, and an
 * optional event log on the host's output stream. Freestanding, no malloc.
 * Not thread-safe (one program thread at a time may use an instance; the
 * log line buffer is shared by all instances). See docs/runtime.md.
 *
 * Arena: a sequence of blocks { uint32_t size; uint32_t state; char
 * bytes[size + 1] } padded to 8 bytes; `used` is the end of the last block.
 * free_native accepts exactly the pointers of live blocks (found by walking
 * the chain); when `live` drops to 0 the arena is reset.
 */
#include "calli_host.h"
#include "calli_refrt.h"
#include "rt_util.h"

#define BLOCK_HDR 8u
#define STATE_LIVE 0x4556494cu /* "LIVE" */
#define STATE_FREE 0x45455246u /* "FREE" */

struct calli_refrt calli_refrt_default;

/* One event line: "@free " + two hex digits per byte + "\n". A string in the
 * arena is shorter than the arena. */
static char log_line[16 + 2 * CALLI_REFRT_ARENA];

__attribute__((noinline, cold)) static _Noreturn void
refrt_fatal(const char *what, const char *num_prefix, int64_t num, const char *more, int64_t num2,
            const char *suffix)
{
    char buf[192];
    struct rt_text t = {buf, 0, sizeof buf};
    buf[0] = 0;
    rt_puts(&t, "calli_refrt: fatal: ");
    rt_puts(&t, what);
    if (num_prefix) {
        rt_puts(&t, num_prefix);
        rt_puti(&t, num);
    }
    if (more) {
        rt_puts(&t, more);
        rt_puti(&t, num2);
    }
    if (suffix)
        rt_puts(&t, suffix);
    rt_putc(&t, '\n');
    calli_host_write(CALLI_HOST_ERR, buf, t.len);
    calli_host_abort();
}

static struct calli_refrt *self(void *ctx, const char *fn)
{
    if (!ctx)
        refrt_fatal(fn, 0, 0, 0, 0, ": null context");
    return ctx;
}

static void log_event(struct calli_refrt *r, const char *tag, const unsigned char *bytes,
                      uint32_t n, int null)
{
    r->events++;
    if (!(r->flags & CALLI_REFRT_LOG))
        return;
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    while (*tag)
        log_line[len++] = *tag++;
    if (null) {
        log_line[len++] = ' ';
        const char *s = "null";
        while (*s)
            log_line[len++] = *s++;
    } else if (bytes) {
        log_line[len++] = ' ';
        for (uint32_t i = 0; i < n; i++) {
            log_line[len++] = hex[bytes[i] >> 4];
            log_line[len++] = hex[bytes[i] & 15];
        }
    }
    log_line[len++] = '\n';
    calli_host_write(CALLI_HOST_OUT, log_line, len);
}

static void refrt_enter(void *ctx)
{
    struct calli_refrt *r = self(ctx, "enter");
    r->depth++;
    log_event(r, "@enter", 0, 0, 0);
}

static void refrt_leave(void *ctx)
{
    struct calli_refrt *r = self(ctx, "leave");
    if (r->depth == 0)
        refrt_fatal("leave without enter", 0, 0, 0, 0, 0);
    r->depth--;
    log_event(r, "@leave", 0, 0, 0);
}

/* UTF-8 bytes of UTF-16 units, unpaired surrogates as U+FFFD. */
static uint64_t utf8_length(const uint16_t *u, uint32_t n)
{
    uint64_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c < 0x80)
            len += 1;
        else if (c < 0x800)
            len += 2;
        else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            len += 4;
            i++;
        } else
            len += 3; /* BMP, or an unpaired surrogate -> EF BF BD */
    }
    return len;
}

static void utf8_encode(const uint16_t *u, uint32_t n, unsigned char *out)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        if (c < 0x80) {
            *out++ = (unsigned char)c;
        } else if (c < 0x800) {
            *out++ = (unsigned char)(0xC0 | (c >> 6));
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *out++ = (unsigned char)(0xE0 | (c >> 12));
            *out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            *out++ = (unsigned char)(0xF0 | (c >> 18));
            *out++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    *out = 0;
}

static char *refrt_string_to_native(const void *managed, void *ctx)
{
    struct calli_refrt *r = self(ctx, "string_to_native");
    if (!managed) {
        log_event(r, "@s2n", 0, 0, 1);
        return 0;
    }
    const unsigned char *ms = managed;
    int32_t length = (int32_t)(uint32_t)rt_load(ms + CALLI_MSTRING_OFF_LENGTH, 4);
    if (length < 0)
        refrt_fatal("string_to_native: negative length", " ", length, 0, 0, 0);
    /* The chars are 2-byte aligned in any real string; read them as such. */
    const uint16_t *chars = (const uint16_t *)(const void *)(ms + CALLI_MSTRING_OFF_CHARS);
    uint64_t n = utf8_length(chars, (uint32_t)length);
    uint64_t need = BLOCK_HDR + ((n + 1 + 7) & ~(uint64_t)7);
    uint64_t avail = (uint64_t)CALLI_REFRT_ARENA - r->used;
    if (need > avail)
        refrt_fatal("string_to_native: arena exhausted", " (need ", (int64_t)need, " bytes, ",
                    (int64_t)avail, " free)");
    unsigned char *blk = r->arena + r->used;
    rt_store(blk, n, 4);
    rt_store(blk + 4, STATE_LIVE, 4);
    utf8_encode(chars, (uint32_t)length, blk + BLOCK_HDR);
    r->used += (uint32_t)need;
    r->live++;
    log_event(r, "@s2n", blk + BLOCK_HDR, (uint32_t)n, 0);
    return (char *)(blk + BLOCK_HDR);
}

static void refrt_free_native(char *p, void *ctx)
{
    struct calli_refrt *r = self(ctx, "free_native");
    if (!p) {
        log_event(r, "@free", 0, 0, 1);
        return;
    }
    /* Only the start of a block handed out and not yet freed is valid. */
    unsigned char *blk = 0;
    uint32_t size = 0;
    for (uint32_t off = 0; off < r->used;) {
        uint32_t sz = (uint32_t)rt_load(r->arena + off, 4);
        if ((unsigned char *)p == r->arena + off + BLOCK_HDR) {
            blk = r->arena + off;
            size = sz;
            break;
        }
        off += BLOCK_HDR + ((sz + 1 + 7) & ~7u);
    }
    if (!blk)
        refrt_fatal("free_native: pointer not handed out", 0, 0, 0, 0, 0);
    if (rt_load(blk + 4, 4) != STATE_LIVE)
        refrt_fatal("free_native: pointer already freed", 0, 0, 0, 0, 0);
    log_event(r, "@free", blk + BLOCK_HDR, size, 0);
    rt_store(blk + 4, STATE_FREE, 4);
    if (--r->live == 0)
        r->used = 0;
}

void calli_refrt_init(struct calli_refrt *r, unsigned flags)
{
    r->rt.abi_version = CALLI_RUNTIME_ABI_VERSION;
    r->rt.ctx = r;
    r->rt.enter = refrt_enter;
    r->rt.leave = refrt_leave;
    r->rt.string_to_native = refrt_string_to_native;
    r->rt.free_native = refrt_free_native;
    r->flags = flags;
    r->live = 0;
    r->used = 0;
    r->depth = 0;
    r->events = 0;
}

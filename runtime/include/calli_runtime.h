/* calli_runtime.h - the public contract of the unmanaged-calli ABI, version 1.
 *
 * Layouts follow ../shared/spec/calli-abi.md (sections 2 and 4) exactly; see
 * docs/abi.md. 64-bit targets only (x86-64, arm64), little-endian.
 * Freestanding: needs only <stdint.h> and <stddef.h>.
 */
#ifndef CALLI_RUNTIME_H
#define CALLI_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALLI_COOKIE_MAGIC 0x494C4143u /* the bytes 'C' 'A' 'L' 'I' */
#define CALLI_COOKIE_VERSION 1u
#define CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION 0x0001u
#define CALLI_COOKIE_FLAGS_KNOWN CALLI_COOKIE_FLAG_SUPPRESS_GC_TRANSITION
#define CALLI_RUNTIME_ABI_VERSION 1u

/* Offsets of the cookie's fields (spec section 2). */
#define CALLI_COOKIE_OFF_MAGIC 0
#define CALLI_COOKIE_OFF_VERSION 4
#define CALLI_COOKIE_OFF_FLAGS 6
#define CALLI_COOKIE_OFF_RUNTIME 8
#define CALLI_COOKIE_OFF_CACHE 16
#define CALLI_COOKIE_OFF_SIG_LEN 24
#define CALLI_COOKIE_OFF_SIG 28
#define CALLI_COOKIE_ALIGN 8

/* The service table a cookie points at (spec section 4). */
struct calli_runtime {
    uint64_t abi_version; /* CALLI_RUNTIME_ABI_VERSION */
    void *ctx;
    void (*enter)(void *ctx);
    void (*leave)(void *ctx);
    char *(*string_to_native)(const void *managed_string, void *ctx);
    void (*free_native)(char *native_string, void *ctx);
};

/* The signature cookie: static, 8-byte aligned, writable data. */
struct calli_cookie {
    uint32_t magic;   /* CALLI_COOKIE_MAGIC */
    uint16_t version; /* CALLI_COOKIE_VERSION */
    uint16_t flags;   /* CALLI_COOKIE_FLAG_* */
    const struct calli_runtime *runtime; /* may be 0 */
    uint64_t cache;   /* 0 in the image; the generic helper may write it */
    uint32_t sig_len;
    uint8_t sig[];    /* ECMA-335 StandAloneMethodSig, sig_len bytes */
};

/* A managed string: chars at offset 12, no terminator. */
struct calli_managed_string {
    uint64_t header;
    int32_t length;
    uint16_t chars[];
};
#define CALLI_MSTRING_OFF_LENGTH 8
#define CALLI_MSTRING_OFF_CHARS 12

_Static_assert(sizeof(void *) == 8, "the calli ABI is defined for 64-bit targets");
_Static_assert(offsetof(struct calli_cookie, magic) == CALLI_COOKIE_OFF_MAGIC, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, version) == CALLI_COOKIE_OFF_VERSION, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, flags) == CALLI_COOKIE_OFF_FLAGS, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, runtime) == CALLI_COOKIE_OFF_RUNTIME, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, cache) == CALLI_COOKIE_OFF_CACHE, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, sig_len) == CALLI_COOKIE_OFF_SIG_LEN, "cookie layout");
_Static_assert(offsetof(struct calli_cookie, sig) == CALLI_COOKIE_OFF_SIG, "cookie layout");
_Static_assert(offsetof(struct calli_managed_string, length) == CALLI_MSTRING_OFF_LENGTH, "string layout");
_Static_assert(offsetof(struct calli_managed_string, chars) == CALLI_MSTRING_OFF_CHARS, "string layout");
_Static_assert(sizeof(struct calli_runtime) == 48, "runtime table layout");

/* The generic helper. It has a special calling convention (target in r10 /
 * x12, cookie in r11 / x15, arguments as the platform passes the managed
 * types) and cannot be called from C; it is declared so that its address can
 * be taken. */
void GenericPInvokeCalliHelper(void);

#ifdef __cplusplus
}
#endif
#endif

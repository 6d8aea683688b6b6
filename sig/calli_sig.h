/* calli_sig.h - decoder for ECMA-335 StandAloneMethodSig blobs as the
 * unmanaged-calli ABI v1 uses them (spec section 3, docs/abi.md).
 *
 * Freestanding: no libc, no allocation; shared by the runtime's generic
 * helper and by the rewriter. Never reads outside [blob, blob + len).
 */
#ifndef CALLI_SIG_H
#define CALLI_SIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types, with their ECMA-335 codes. */
enum calli_type {
    CALLI_T_VOID = 0x01,
    CALLI_T_BOOL = 0x02,
    CALLI_T_CHAR = 0x03,
    CALLI_T_I1 = 0x04,
    CALLI_T_U1 = 0x05,
    CALLI_T_I2 = 0x06,
    CALLI_T_U2 = 0x07,
    CALLI_T_I4 = 0x08,
    CALLI_T_U4 = 0x09,
    CALLI_T_I8 = 0x0A,
    CALLI_T_U8 = 0x0B,
    CALLI_T_R4 = 0x0C,
    CALLI_T_R8 = 0x0D,
    CALLI_T_STRING = 0x0E,
    CALLI_T_PTR = 0x0F,
    CALLI_T_I = 0x18,
    CALLI_T_U = 0x19,
    CALLI_T_FNPTR = 0x1B,
};

/* Limits that make hostile blobs cheap to reject. */
#define CALLI_SIG_MAX_PARAMS 64 /* more is "too many parameters" */
#define CALLI_SIG_MAX_DEPTH 8   /* nesting of PTR / FNPTR */

/* A parsed, validated v1 signature. PTR and FNPTR keep only their element
 * code: the pointee / nested signature is parsed, validated, then dropped. */
struct calli_sig {
    uint8_t callconv; /* low nibble of the calling-convention byte: 1,2,3,4,9 */
    uint8_t ret;      /* enum calli_type (VOID allowed; STRING not) */
    uint16_t nparams;
    uint8_t params[CALLI_SIG_MAX_PARAMS]; /* enum calli_type (no VOID) */
};

enum calli_sig_err {
    CALLI_SIG_OK = 0,
    CALLI_SIG_E_EMPTY,          /* zero-length blob */
    CALLI_SIG_E_TRUNCATED,      /* blob ends inside the signature */
    CALLI_SIG_E_TRAILING,       /* bytes after the last parameter */
    CALLI_SIG_E_BAD_COMPRESSED, /* 111xxxxx lead byte */
    CALLI_SIG_E_CALLCONV,       /* not an unmanaged convention (0, 6-8, A-F) */
    CALLI_SIG_E_VARARG,         /* convention 5 */
    CALLI_SIG_E_GENERIC,        /* 0x10 */
    CALLI_SIG_E_HASTHIS,        /* 0x20 */
    CALLI_SIG_E_EXPLICITTHIS,   /* 0x40 */
    CALLI_SIG_E_CONV_BITS,      /* 0x80 or other undefined bits */
    CALLI_SIG_E_TOO_MANY,       /* nparams > CALLI_SIG_MAX_PARAMS */
    CALLI_SIG_E_CMOD,           /* CMOD_REQD / CMOD_OPT */
    CALLI_SIG_E_TYPE,           /* unsupported element type (byte = code) */
    CALLI_SIG_E_STRING_RETURN,  /* STRING as the return type */
    CALLI_SIG_E_VOID_PARAM,     /* VOID as a parameter type */
    CALLI_SIG_E_TOO_DEEP,       /* PTR/FNPTR nested deeper than MAX_DEPTH */
    CALLI_SIG_E_ARG,            /* null pointer argument */
    CALLI_SIG_E_COUNT_
};

/* Where and why a parse failed. */
struct calli_sig_error {
    enum calli_sig_err err;
    uint32_t offset; /* byte offset in the blob where the problem is */
    uint32_t value;  /* the offending byte / count, when there is one */
};

/* Parse and validate. On failure *out is unspecified and *error (if not
 * null) says where and why. */
enum calli_sig_err calli_sig_parse(const uint8_t *blob, size_t len,
                                   struct calli_sig *out,
                                   struct calli_sig_error *error);

/* Short, fixed text for an error code, e.g. "vararg calling convention". */
const char *calli_sig_strerror(enum calli_sig_err err);

/* Specific reason, e.g. "unsupported element type VALUETYPE (0x11) at
 * offset 3". snprintf-like: writes at most cap bytes including the NUL,
 * returns the length the full text needs (excluding the NUL). */
size_t calli_sig_reason(const struct calli_sig_error *error, char *buf, size_t cap);

/* The canonical stub key (spec section 5): identifier-safe, e.g.
 * "i4_b_c_s_r8" or "v_sgc": return type token, then one token per
 * parameter, then "sgc" when SUPPRESS_GC_TRANSITION is set. The calling
 * convention is folded away and PTR / FNPTR lose their pointee. snprintf-like. */
size_t calli_sig_key(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap);

/* Readable form, e.g. "int32 (bool, char16, string, float64) suppress-gc".
 * snprintf-like. */
size_t calli_sig_format(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap);

/* Names of one element type: "int32" and "i4". Null for unknown codes. */
const char *calli_type_name(uint8_t type);
const char *calli_type_token(uint8_t type);

/* Room a key or readable form can need, including the NUL. */
#define CALLI_SIG_TEXT_MAX (16 + 10 * (CALLI_SIG_MAX_PARAMS + 1))

#ifdef __cplusplus
}
#endif
#endif

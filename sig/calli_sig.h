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
#define CALLI_SIG_MAX_DEPTH 8   /* nesting of PTR / FNPTR: at most 8 of them
                                   around any type ("PTR" x 8 then I4 is fine,
                                   x 9 is CALLI_SIG_E_TOO_DEEP) */

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
    CALLI_SIG_E_CONV_BITS,      /* 0x80, the one undefined bit */
    CALLI_SIG_E_TOO_MANY,       /* nparams > CALLI_SIG_MAX_PARAMS */
    CALLI_SIG_E_CMOD,           /* CMOD_REQD / CMOD_OPT */
    CALLI_SIG_E_TYPE,           /* unsupported element type (byte = code) */
    CALLI_SIG_E_STRING_RETURN,  /* STRING as the return type */
    CALLI_SIG_E_VOID_PARAM,     /* VOID as a parameter type */
    CALLI_SIG_E_TOO_DEEP,       /* PTR/FNPTR nested deeper than MAX_DEPTH */
    CALLI_SIG_E_ARG,            /* null pointer argument */
    CALLI_SIG_E_COUNT_
};

/* The part of a signature the parser was reading when it failed; makes the
 * reason specific ("... inside the parameter list"). */
enum calli_sig_where {
    CALLI_SIG_IN_SIG = 0,   /* the blob as a whole (empty, trailing bytes) */
    CALLI_SIG_IN_CALLCONV,  /* the calling-convention byte */
    CALLI_SIG_IN_COUNT,     /* the compressed parameter count */
    CALLI_SIG_IN_RET,       /* the return type */
    CALLI_SIG_IN_PARAMS,    /* the parameter list */
    CALLI_SIG_IN_POINTEE,   /* a PTR's pointee type */
    CALLI_SIG_IN_TOKEN,     /* the TypeDefOrRef token after a VALUETYPE/CLASS pointee */
};

/* Where and why a parse failed. */
struct calli_sig_error {
    enum calli_sig_err err;
    uint32_t offset; /* byte offset in the blob where the problem is; for
                        E_TRUNCATED the blob's length (where a byte is missing) */
    uint32_t value;  /* the offending byte (callconv byte, element type, lead
                        byte of a compressed integer), the parameter count for
                        E_TOO_MANY, the number of extra bytes for E_TRAILING,
                        CALLI_SIG_MAX_DEPTH for E_TOO_DEEP; else 0 */
    uint8_t where;   /* enum calli_sig_where */
    uint8_t nested;  /* how many FNPTR signatures enclose the problem (0: the
                        outer signature itself) */
};

/* Parse and validate. On failure *out is unspecified and *error (if not
 * null) says where and why; on success error->err is CALLI_SIG_OK. A null
 * out, or a null blob with len > 0, is CALLI_SIG_E_ARG. */
enum calli_sig_err calli_sig_parse(const uint8_t *blob, size_t len,
                                   struct calli_sig *out,
                                   struct calli_sig_error *error);

/* Short, fixed text for an error code, e.g. "vararg calling convention". */
const char *calli_sig_strerror(enum calli_sig_err err);

/* Specific one-line reason, e.g. "unsupported element type VALUETYPE (0x11)
 * at offset 3". snprintf-like: writes at most cap bytes including the NUL
 * (always NUL-terminates when cap > 0; buf may be null when cap is 0),
 * returns the length the full text needs (excluding the NUL). Always
 * shorter than CALLI_SIG_REASON_MAX. */
size_t calli_sig_reason(const struct calli_sig_error *error, char *buf, size_t cap);

/* The canonical stub key (spec section 5): identifier-safe, e.g.
 * "i4_b_c_s_r8" or "v_sgc": return type token, then one token per
 * parameter, then "sgc" when SUPPRESS_GC_TRANSITION is set. The calling
 * convention is folded away and PTR / FNPTR lose their pointee. snprintf-like.
 * A sig that calli_sig_parse could not have produced (null, nparams > MAX,
 * a code that is not a v1 type, VOID parameter, STRING return) yields ""
 * and 0; every valid key is at least one character long. */
size_t calli_sig_key(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap);

/* Readable form, e.g. "int32 (bool, char16, string, float64) suppress-gc",
 * "void ()". snprintf-like; "" and 0 for an invalid sig, as calli_sig_key. */
size_t calli_sig_format(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap);

/* Names of one element type: "int32" and "i4". Null for codes that are not
 * v1 types (enum calli_type). */
const char *calli_type_name(uint8_t type);
const char *calli_type_token(uint8_t type);

/* ECMA-335 name of any element-type code, as reasons print it: "VALUETYPE",
 * "BOOLEAN", "CMOD_REQD", "SENTINEL". Null for unassigned codes. */
const char *calli_sig_elem_name(uint8_t code);

/* Name of an accepted calling convention (low nibble 1, 2, 3, 4, 9):
 * "C", "StdCall", "ThisCall", "FastCall", "Unmanaged". Null otherwise. */
const char *calli_callconv_name(uint8_t callconv);

/* Room a key or readable form can need, including the NUL. */
#define CALLI_SIG_TEXT_MAX (16 + 10 * (CALLI_SIG_MAX_PARAMS + 1))
/* Room a reason can need, including the NUL. */
#define CALLI_SIG_REASON_MAX 160

#ifdef __cplusplus
}
#endif
#endif

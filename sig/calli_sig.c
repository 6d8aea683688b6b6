/* calli_sig.c - decoder for ECMA-335 StandAloneMethodSig blobs as the
 * unmanaged-calli ABI v1 uses them (spec section 3, docs/abi.md section 4,
 * decisions in docs/sig.md).
 *
 * Freestanding: this file is linked into the runtime, which is built with
 * -ffreestanding -fno-builtin for three targets, so it uses no libc at all
 * (the tiny helpers below stand in for strlen/snprintf) and allocates
 * nothing. Blobs are hostile input: every read goes through rd_byte(), which
 * checks the position against the length first, and the only recursion
 * (PTR pointees, FNPTR signatures) is bounded by CALLI_SIG_MAX_DEPTH.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calli_sig.h"

/* ECMA-335 II.23.1.16 codes that the parser must recognise besides the v1
 * types of enum calli_type. */
enum {
    ELEM_VALUETYPE = 0x11,
    ELEM_CLASS = 0x12,
    ELEM_CMOD_REQD = 0x1F,
    ELEM_CMOD_OPT = 0x20,
};

/* II.23.2.3 calling-convention byte. */
enum {
    CONV_MASK = 0x0F,
    CONV_VARARG = 0x05,
    CONV_GENERIC = 0x10,
    CONV_HASTHIS = 0x20,
    CONV_EXPLICITTHIS = 0x40,
    CONV_UNDEFINED = 0x80,
};

/* What a type is being parsed as: decides which element types are legal. */
enum role { ROLE_RET, ROLE_PARAM, ROLE_POINTEE };

/* ------------------------------------------------------------------------
 * Type tables
 * --------------------------------------------------------------------- */

struct type_names {
    const char *name;  /* readable: "int32" */
    const char *token; /* key token: "i4" */
};

static const struct type_names *type_names(uint8_t type)
{
    static const struct type_names t[] = {
        {"void", "v"},     {"bool", "b"},     {"char16", "c"},   {"int8", "i1"},
        {"uint8", "u1"},   {"int16", "i2"},   {"uint16", "u2"},  {"int32", "i4"},
        {"uint32", "u4"},  {"int64", "i8"},   {"uint64", "u8"},  {"float32", "r4"},
        {"float64", "r8"}, {"string", "s"},   {"ptr", "p"},
    };
    static const struct type_names nint = {"nint", "i"}, nuint = {"nuint", "u"},
                                   fnptr = {"fnptr", "f"};
    if (type >= CALLI_T_VOID && type <= CALLI_T_PTR)
        return &t[type - CALLI_T_VOID];
    switch (type) {
    case CALLI_T_I: return &nint;
    case CALLI_T_U: return &nuint;
    case CALLI_T_FNPTR: return &fnptr;
    default: return NULL;
    }
}

const char *calli_type_name(uint8_t type)
{
    const struct type_names *n = type_names(type);
    return n ? n->name : NULL;
}

const char *calli_type_token(uint8_t type)
{
    const struct type_names *n = type_names(type);
    return n ? n->token : NULL;
}

const char *calli_sig_elem_name(uint8_t code)
{
    /* II.23.1.16; 0x17 and 0x1A are unassigned. */
    static const char *const low[0x22] = {
        "END",       "VOID",     "BOOLEAN",     "CHAR",       "I1",        "U1",
        "I2",        "U2",       "I4",          "U4",         "I8",        "U8",
        "R4",        "R8",       "STRING",      "PTR",        "BYREF",     "VALUETYPE",
        "CLASS",     "VAR",      "ARRAY",       "GENERICINST", "TYPEDBYREF", NULL,
        "I",         "U",        NULL,          "FNPTR",      "OBJECT",    "SZARRAY",
        "MVAR",      "CMOD_REQD", "CMOD_OPT",   "INTERNAL",
    };
    if (code < sizeof low / sizeof low[0])
        return low[code];
    switch (code) {
    case 0x40: return "MODIFIER";
    case 0x41: return "SENTINEL";
    case 0x45: return "PINNED";
    default: return NULL;
    }
}

const char *calli_callconv_name(uint8_t callconv)
{
    switch (callconv) {
    case 1: return "C";
    case 2: return "StdCall";
    case 3: return "ThisCall";
    case 4: return "FastCall";
    case 9: return "Unmanaged";
    default: return NULL;
    }
}

/* Names of the low-nibble values that are not unmanaged conventions, for
 * the reason text (II.23.2.1-3, plus CoreCLR's 0xA and 0xB). */
static const char *conv_kind_name(uint8_t nibble)
{
    switch (nibble) {
    case 0x0: return "DEFAULT";
    case 0x5: return "VARARG";
    case 0x6: return "FIELD";
    case 0x7: return "LOCAL_SIG";
    case 0x8: return "PROPERTY";
    case 0xA: return "GENERICINST";
    case 0xB: return "NATIVEVARARG";
    default: return "undefined";
    }
}

/* The v1 scalars: legal anywhere (return, parameter, pointee). */
static bool is_scalar(uint8_t t)
{
    return (t >= CALLI_T_BOOL && t <= CALLI_T_R8) || t == CALLI_T_I || t == CALLI_T_U;
}

static bool valid_ret(uint8_t t)
{
    return t == CALLI_T_VOID || is_scalar(t) || t == CALLI_T_PTR || t == CALLI_T_FNPTR;
}

static bool valid_param(uint8_t t)
{
    return is_scalar(t) || t == CALLI_T_STRING || t == CALLI_T_PTR || t == CALLI_T_FNPTR;
}

/* ------------------------------------------------------------------------
 * Parser
 * --------------------------------------------------------------------- */

struct reader {
    const uint8_t *blob;
    size_t len;
    size_t pos;
    uint8_t nested; /* FNPTR signatures enclosing the current position */
    struct calli_sig_error *error;
};

static uint32_t clamp32(size_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Record a failure; returns its code so callers can `return fail(...)`. */
static enum calli_sig_err fail(struct reader *r, enum calli_sig_err err, size_t offset,
                               uint32_t value, enum calli_sig_where where)
{
    r->error->err = err;
    r->error->offset = clamp32(offset);
    r->error->value = value;
    r->error->where = (uint8_t)where;
    r->error->nested = r->nested;
    return err;
}

/* The only place that reads the blob. */
static enum calli_sig_err rd_byte(struct reader *r, enum calli_sig_where where, uint8_t *b)
{
    if (r->pos >= r->len)
        return fail(r, CALLI_SIG_E_TRUNCATED, r->len, 0, where);
    *b = r->blob[r->pos++];
    return CALLI_SIG_OK;
}

/* II.23.2 compressed unsigned integer: 0xxxxxxx, 10xxxxxx +1, 110xxxxx +3
 * bytes, big-endian. Non-minimal encodings (5 as 80 05) are accepted: the
 * spec says encoders use the shortest form, but nothing depends on it and
 * CoreCLR's decoder accepts them too. 111xxxxx is malformed. */
static enum calli_sig_err rd_compressed(struct reader *r, enum calli_sig_where where,
                                        uint32_t *out)
{
    size_t at = r->pos;
    uint8_t b;
    enum calli_sig_err e = rd_byte(r, where, &b);
    if (e)
        return e;
    unsigned extra;
    uint32_t v;
    if ((b & 0x80) == 0) {
        extra = 0;
        v = b;
    } else if ((b & 0xC0) == 0x80) {
        extra = 1;
        v = b & 0x3F;
    } else if ((b & 0xE0) == 0xC0) {
        extra = 3;
        v = b & 0x1F;
    } else {
        return fail(r, CALLI_SIG_E_BAD_COMPRESSED, at, b, where);
    }
    for (unsigned i = 0; i < extra; i++) {
        if ((e = rd_byte(r, where, &b)))
            return e;
        v = (v << 8) | b;
    }
    *out = v;
    return CALLI_SIG_OK;
}

static enum calli_sig_err parse_method_sig(struct reader *r, unsigned depth,
                                           struct calli_sig *out);

/* PTR and FNPTR each add one level; refuse the one that would exceed the
 * bound before recursing, so the C stack depth is bounded too. */
static enum calli_sig_err enter_level(struct reader *r, size_t at, unsigned depth,
                                      enum calli_sig_where where)
{
    if (depth >= CALLI_SIG_MAX_DEPTH)
        return fail(r, CALLI_SIG_E_TOO_DEEP, at, CALLI_SIG_MAX_DEPTH, where);
    return CALLI_SIG_OK;
}

static enum calli_sig_where role_where(enum role role)
{
    switch (role) {
    case ROLE_RET: return CALLI_SIG_IN_RET;
    case ROLE_PARAM: return CALLI_SIG_IN_PARAMS;
    default: return CALLI_SIG_IN_POINTEE;
    }
}

/* One type (ECMA RetType, Param or a PTR's pointee), at nesting `depth`.
 * Stores the element code in *code; PTR/FNPTR keep only their code. */
static enum calli_sig_err parse_type(struct reader *r, enum role role, unsigned depth,
                                     uint8_t *code)
{
    enum calli_sig_where where = role_where(role);
    size_t at = r->pos;
    uint8_t t;
    enum calli_sig_err e = rd_byte(r, where, &t);
    if (e)
        return e;
    *code = t;

    if (is_scalar(t))
        return CALLI_SIG_OK;
    switch (t) {
    case CALLI_T_VOID:
        /* "void *" is a fine pointee, "void" a fine return type. */
        if (role == ROLE_PARAM)
            return fail(r, CALLI_SIG_E_VOID_PARAM, at, t, where);
        return CALLI_SIG_OK;
    case CALLI_T_STRING:
        /* Marshaled as a parameter only; a pointer to a managed string
         * reference is a managed byref in disguise. */
        if (role == ROLE_RET)
            return fail(r, CALLI_SIG_E_STRING_RETURN, at, t, where);
        if (role == ROLE_POINTEE)
            return fail(r, CALLI_SIG_E_TYPE, at, t, where);
        return CALLI_SIG_OK;
    case CALLI_T_PTR: {
        uint8_t pointee;
        if ((e = enter_level(r, at, depth, where)))
            return e;
        return parse_type(r, ROLE_POINTEE, depth + 1, &pointee);
    }
    case CALLI_T_FNPTR:
        if ((e = enter_level(r, at, depth, where)))
            return e;
        /* Same rules as the outer signature; on failure `nested` stays
         * raised, which is fine: fail() has already recorded it. */
        r->nested++;
        if ((e = parse_method_sig(r, depth + 1, NULL)))
            return e;
        r->nested--;
        return CALLI_SIG_OK;
    case ELEM_VALUETYPE:
    case ELEM_CLASS:
        /* Only behind a PTR: "MyStruct *" is just a pointer to the native
         * side. The TypeDefOrRefOrSpecEncoded token must be a well-formed
         * compressed integer; its table and row are not checked (there is
         * no metadata to check them against). */
        if (role == ROLE_POINTEE) {
            uint32_t token;
            return rd_compressed(r, CALLI_SIG_IN_TOKEN, &token);
        }
        return fail(r, CALLI_SIG_E_TYPE, at, t, where);
    case ELEM_CMOD_REQD:
    case ELEM_CMOD_OPT:
        return fail(r, CALLI_SIG_E_CMOD, at, t, where);
    default:
        return fail(r, CALLI_SIG_E_TYPE, at, t, where);
    }
}

/* The calling-convention byte. The flag bits are checked before the low
 * nibble so that, e.g., a managed instance signature (0x20) is reported as
 * "has-this" rather than as a generic "not unmanaged". */
static enum calli_sig_err parse_callconv(struct reader *r, uint8_t *conv)
{
    size_t at = r->pos;
    uint8_t b;
    enum calli_sig_err e = rd_byte(r, CALLI_SIG_IN_CALLCONV, &b);
    if (e)
        return e;
    if (b & CONV_UNDEFINED)
        return fail(r, CALLI_SIG_E_CONV_BITS, at, b, CALLI_SIG_IN_CALLCONV);
    if (b & CONV_EXPLICITTHIS)
        return fail(r, CALLI_SIG_E_EXPLICITTHIS, at, b, CALLI_SIG_IN_CALLCONV);
    if (b & CONV_HASTHIS)
        return fail(r, CALLI_SIG_E_HASTHIS, at, b, CALLI_SIG_IN_CALLCONV);
    if (b & CONV_GENERIC)
        return fail(r, CALLI_SIG_E_GENERIC, at, b, CALLI_SIG_IN_CALLCONV);
    if ((b & CONV_MASK) == CONV_VARARG)
        return fail(r, CALLI_SIG_E_VARARG, at, b, CALLI_SIG_IN_CALLCONV);
    if (!calli_callconv_name(b & CONV_MASK))
        return fail(r, CALLI_SIG_E_CALLCONV, at, b, CALLI_SIG_IN_CALLCONV);
    *conv = b & CONV_MASK;
    return CALLI_SIG_OK;
}

/* A whole method signature: the outer one (out != NULL) or one nested in
 * an FNPTR (out == NULL: validated, then dropped). Same rules for both. */
static enum calli_sig_err parse_method_sig(struct reader *r, unsigned depth,
                                           struct calli_sig *out)
{
    uint8_t conv = 0, ret = 0, param = 0;
    uint32_t count;
    enum calli_sig_err e;

    if ((e = parse_callconv(r, &conv)))
        return e;
    size_t count_at = r->pos;
    if ((e = rd_compressed(r, CALLI_SIG_IN_COUNT, &count)))
        return e;
    /* Before reading the types: a huge count is rejected at once. */
    if (count > CALLI_SIG_MAX_PARAMS)
        return fail(r, CALLI_SIG_E_TOO_MANY, count_at, count, CALLI_SIG_IN_COUNT);
    if ((e = parse_type(r, ROLE_RET, depth, &ret)))
        return e;
    if (out) {
        out->callconv = conv;
        out->ret = ret;
        out->nparams = (uint16_t)count;
    }
    for (uint32_t i = 0; i < count; i++) {
        if ((e = parse_type(r, ROLE_PARAM, depth, &param)))
            return e;
        if (out)
            out->params[i] = param;
    }
    return CALLI_SIG_OK;
}

enum calli_sig_err calli_sig_parse(const uint8_t *blob, size_t len, struct calli_sig *out,
                                   struct calli_sig_error *error)
{
    struct calli_sig_error scratch;
    struct reader r = {blob, len, 0, 0, error ? error : &scratch};

    if (!out || (!blob && len))
        return fail(&r, CALLI_SIG_E_ARG, 0, 0, CALLI_SIG_IN_SIG);
    /* Deterministic contents even on failure (plain loop: no memset). */
    out->callconv = 0;
    out->ret = 0;
    out->nparams = 0;
    for (size_t i = 0; i < CALLI_SIG_MAX_PARAMS; i++)
        out->params[i] = 0;

    if (len == 0)
        return fail(&r, CALLI_SIG_E_EMPTY, 0, 0, CALLI_SIG_IN_SIG);
    enum calli_sig_err e = parse_method_sig(&r, 0, out);
    if (e)
        return e;
    if (r.pos != len)
        return fail(&r, CALLI_SIG_E_TRAILING, r.pos, clamp32(len - r.pos), CALLI_SIG_IN_SIG);
    r.error->err = CALLI_SIG_OK;
    r.error->offset = 0;
    r.error->value = 0;
    r.error->where = CALLI_SIG_IN_SIG;
    r.error->nested = 0;
    return CALLI_SIG_OK;
}

/* ------------------------------------------------------------------------
 * Text: a bounded writer with snprintf semantics
 * --------------------------------------------------------------------- */

struct writer {
    char *buf;
    size_t cap;
    size_t n; /* length the full text needs so far */
};

static void put_c(struct writer *w, char c)
{
    if (w->n + 1 < w->cap)
        w->buf[w->n] = c;
    w->n++;
}

static void put_s(struct writer *w, const char *s)
{
    while (*s)
        put_c(w, *s++);
}

static void put_dec(struct writer *w, uint32_t v)
{
    char tmp[10];
    unsigned k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        put_c(w, tmp[--k]);
}

/* "0x11": two upper-case hex digits (the way reasons print bytes). */
static void put_hex8(struct writer *w, uint32_t v)
{
    static const char digits[] = "0123456789ABCDEF";
    put_s(w, "0x");
    put_c(w, digits[(v >> 4) & 0xF]);
    put_c(w, digits[v & 0xF]);
}

static size_t finish(struct writer *w)
{
    if (w->cap)
        w->buf[w->n < w->cap ? w->n : w->cap - 1] = '\0';
    return w->n;
}

const char *calli_sig_strerror(enum calli_sig_err err)
{
    switch (err) {
    case CALLI_SIG_OK: return "ok";
    case CALLI_SIG_E_EMPTY: return "empty signature";
    case CALLI_SIG_E_TRUNCATED: return "truncated signature";
    case CALLI_SIG_E_TRAILING: return "trailing bytes after the signature";
    case CALLI_SIG_E_BAD_COMPRESSED: return "malformed compressed integer";
    case CALLI_SIG_E_CALLCONV: return "not an unmanaged calling convention";
    case CALLI_SIG_E_VARARG: return "vararg calling convention";
    case CALLI_SIG_E_GENERIC: return "generic signature";
    case CALLI_SIG_E_HASTHIS: return "has-this signature";
    case CALLI_SIG_E_EXPLICITTHIS: return "explicit-this signature";
    case CALLI_SIG_E_CONV_BITS: return "undefined calling-convention bits";
    case CALLI_SIG_E_TOO_MANY: return "too many parameters";
    case CALLI_SIG_E_CMOD: return "custom modifier";
    case CALLI_SIG_E_TYPE: return "unsupported element type";
    case CALLI_SIG_E_STRING_RETURN: return "STRING as the return type";
    case CALLI_SIG_E_VOID_PARAM: return "VOID as a parameter type";
    case CALLI_SIG_E_TOO_DEEP: return "PTR/FNPTR nested too deep";
    case CALLI_SIG_E_ARG: return "null argument";
    default: return "unknown error";
    }
}

static const char *where_text(uint8_t where)
{
    switch (where) {
    case CALLI_SIG_IN_CALLCONV: return "the calling convention";
    case CALLI_SIG_IN_COUNT: return "the parameter count";
    case CALLI_SIG_IN_RET: return "the return type";
    case CALLI_SIG_IN_PARAMS: return "the parameter list";
    case CALLI_SIG_IN_POINTEE: return "a PTR pointee type";
    case CALLI_SIG_IN_TOKEN: return "a VALUETYPE/CLASS token";
    default: return "the signature";
    }
}

/* "VALUETYPE (0x11)", or "0x7A" for an unassigned code. */
static void put_elem(struct writer *w, uint32_t code)
{
    const char *name = calli_sig_elem_name((uint8_t)code);
    if (name) {
        put_s(w, name);
        put_s(w, " (");
        put_hex8(w, code);
        put_c(w, ')');
    } else {
        put_hex8(w, code);
    }
}

/* The body of a reason, without the offset. */
static void put_reason_body(struct writer *w, const struct calli_sig_error *e)
{
    switch (e->err) {
    case CALLI_SIG_E_TRUNCATED:
        put_s(w, "truncated: blob ends at offset ");
        put_dec(w, e->offset);
        put_s(w, " inside ");
        put_s(w, where_text(e->where));
        return;
    case CALLI_SIG_E_EMPTY:
        put_s(w, "empty signature blob (length 0)");
        return;
    case CALLI_SIG_E_TRAILING:
        put_dec(w, e->value);
        put_s(w, e->value == 1 ? " trailing byte" : " trailing bytes");
        put_s(w, " after the last parameter");
        break;
    case CALLI_SIG_E_BAD_COMPRESSED:
        put_s(w, "malformed compressed integer in ");
        put_s(w, where_text(e->where));
        put_s(w, ": lead byte ");
        put_hex8(w, e->value);
        put_s(w, " (111xxxxx)");
        break;
    case CALLI_SIG_E_CALLCONV:
        put_s(w, "not an unmanaged calling convention: ");
        put_s(w, conv_kind_name((uint8_t)(e->value & CONV_MASK)));
        put_s(w, " (");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_VARARG:
        put_s(w, "vararg calling convention (");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_GENERIC:
        put_s(w, "generic calling convention (bit 0x10 in ");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_HASTHIS:
        put_s(w, "has-this calling convention (bit 0x20 in ");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_EXPLICITTHIS:
        put_s(w, "explicit-this calling convention (bit 0x40 in ");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_CONV_BITS:
        put_s(w, "undefined calling-convention bit 0x80 (in ");
        put_hex8(w, e->value);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_TOO_MANY:
        put_s(w, "too many parameters (");
        put_dec(w, e->value);
        put_s(w, " > ");
        put_dec(w, CALLI_SIG_MAX_PARAMS);
        put_c(w, ')');
        break;
    case CALLI_SIG_E_CMOD:
        put_s(w, "custom modifier ");
        put_elem(w, e->value);
        break;
    case CALLI_SIG_E_TYPE:
        if (!calli_sig_elem_name((uint8_t)e->value))
            put_s(w, "unknown element type ");
        else if (e->where == CALLI_SIG_IN_POINTEE)
            put_s(w, "unsupported PTR pointee type ");
        else
            put_s(w, "unsupported element type ");
        put_elem(w, e->value);
        break;
    case CALLI_SIG_E_STRING_RETURN:
        put_s(w, "STRING (0x0E) as the return type");
        break;
    case CALLI_SIG_E_VOID_PARAM:
        put_s(w, "VOID (0x01) as a parameter type");
        break;
    case CALLI_SIG_E_TOO_DEEP:
        put_s(w, "PTR/FNPTR nested more than ");
        put_dec(w, CALLI_SIG_MAX_DEPTH);
        put_s(w, " deep");
        break;
    case CALLI_SIG_E_ARG:
        put_s(w, "null argument");
        return;
    case CALLI_SIG_OK:
        put_s(w, "ok");
        return;
    default:
        put_s(w, "unknown error ");
        put_dec(w, (uint32_t)e->err);
        return;
    }
    put_s(w, " at offset ");
    put_dec(w, e->offset);
}

size_t calli_sig_reason(const struct calli_sig_error *error, char *buf, size_t cap)
{
    struct writer w = {buf, buf ? cap : 0, 0};
    if (!error) {
        put_s(&w, "no error information");
        return finish(&w);
    }
    put_reason_body(&w, error);
    if (error->nested && error->err != CALLI_SIG_OK) {
        put_s(&w, " (in a nested FNPTR signature, level ");
        put_dec(&w, error->nested);
        put_c(&w, ')');
    }
    return finish(&w);
}

/* ------------------------------------------------------------------------
 * Key and readable form
 * --------------------------------------------------------------------- */

/* Could calli_sig_parse have produced this? Guards the formatters against
 * hand-built structs. */
static bool sig_is_valid(const struct calli_sig *sig)
{
    if (!sig || sig->nparams > CALLI_SIG_MAX_PARAMS || !valid_ret(sig->ret))
        return false;
    for (unsigned i = 0; i < sig->nparams; i++)
        if (!valid_param(sig->params[i]))
            return false;
    return true;
}

size_t calli_sig_key(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap)
{
    struct writer w = {buf, buf ? cap : 0, 0};
    if (sig_is_valid(sig)) {
        put_s(&w, calli_type_token(sig->ret));
        for (unsigned i = 0; i < sig->nparams; i++) {
            put_c(&w, '_');
            put_s(&w, calli_type_token(sig->params[i]));
        }
        if (suppress_gc)
            put_s(&w, "_sgc");
    }
    return finish(&w);
}

size_t calli_sig_format(const struct calli_sig *sig, int suppress_gc, char *buf, size_t cap)
{
    struct writer w = {buf, buf ? cap : 0, 0};
    if (sig_is_valid(sig)) {
        put_s(&w, calli_type_name(sig->ret));
        put_s(&w, " (");
        for (unsigned i = 0; i < sig->nparams; i++) {
            if (i)
                put_s(&w, ", ");
            put_s(&w, calli_type_name(sig->params[i]));
        }
        put_c(&w, ')');
        if (suppress_gc)
            put_s(&w, " suppress-gc");
    }
    return finish(&w);
}

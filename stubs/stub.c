/* stub.c - the format-neutral part of the stub generators: argument
 * checks, dispatch by ABI, the code and unwind buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_int.h"

const char *stub_strerror(enum stub_err err)
{
    switch (err) {
    case STUB_OK: return "success";
    case STUB_E_ARG: return "null argument";
    case STUB_E_ABI: return "not implemented for this ABI";
    case STUB_E_SIG: return "invalid signature";
    case STUB_E_NOMEM: return "out of memory";
    case STUB_E_ENCODE: return "instruction encoding failed";
    case STUB_E_COUNT_: break;
    }
    return "unknown stub error";
}

enum stub_err stub_fail(char *err, size_t cap, enum stub_err code, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

enum stub_err stub_code_append(struct stub_code *c, const void *p, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + n)
            cap *= 2;
        uint8_t *b = realloc(c->bytes, cap);
        if (!b)
            return STUB_E_NOMEM;
        c->bytes = b;
        c->cap = cap;
    }
    memcpy(c->bytes + c->len, p, n);
    c->len += n;
    return STUB_OK;
}

enum stub_err stub_unwind_add(struct stub_code *c, enum stub_unwind_op op, unsigned reg,
                              int32_t value)
{
    if (c->nunwind == c->unwind_cap) {
        size_t cap = c->unwind_cap ? 2 * c->unwind_cap : 8;
        struct stub_unwind_step *u = realloc(c->unwind, cap * sizeof *u);
        if (!u)
            return STUB_E_NOMEM;
        c->unwind = u;
        c->unwind_cap = cap;
    }
    c->unwind[c->nunwind++] = (struct stub_unwind_step){
        .pc_off = (uint32_t)c->len, .op = (uint8_t)op, .reg = (uint8_t)reg, .value = value};
    return STUB_OK;
}

void stub_code_free(struct stub_code *code)
{
    if (!code)
        return;
    free(code->bytes);
    free(code->unwind);
    memset(code, 0, sizeof *code);
}

/* A signature calli_sig_parse could have produced: v1 types only, no VOID
 * parameter, no STRING return, at most CALLI_SIG_MAX_PARAMS parameters. */
static int sig_valid(const struct calli_sig *sig, char *err, size_t errcap)
{
    if (sig->nparams > CALLI_SIG_MAX_PARAMS)
        return stub_fail(err, errcap, STUB_E_SIG, "%u parameters (at most %d)",
                         sig->nparams, CALLI_SIG_MAX_PARAMS), 0;
    if (sig->ret != CALLI_T_VOID &&
        (calli_type_managed_size(sig->ret) == 0 || sig->ret == CALLI_T_STRING))
        return stub_fail(err, errcap, STUB_E_SIG, "unsupported return type 0x%02x", sig->ret), 0;
    for (unsigned i = 0; i < sig->nparams; i++) {
        uint8_t t = sig->params[i];
        if (calli_type_managed_size(t) == 0) /* also VOID */
            return stub_fail(err, errcap, STUB_E_SIG,
                             "unsupported type 0x%02x for parameter %u", t, i), 0;
    }
    return 1;
}

enum stub_err stub_generate(enum calli_abi abi, const struct calli_sig *sig, int suppress_gc,
                            const struct stub_opts *opts, struct stub_code *out, char *err,
                            size_t errcap)
{
    static const struct stub_opts none;
    enum stub_err e;

    if (err && errcap)
        err[0] = 0;
    if (!out)
        return stub_fail(err, errcap, STUB_E_ARG, "no output stub");
    memset(out, 0, sizeof *out);
    if (!sig)
        return stub_fail(err, errcap, STUB_E_ARG, "no signature");
    if (!sig_valid(sig, err, errcap))
        return STUB_E_SIG;
    out->abi = abi;
    switch (abi) {
    case CALLI_ABI_SYSV_X64:
        e = stub_gen_x86_64_sysv(sig, suppress_gc, opts ? opts : &none, out, err, errcap);
        break;
    case CALLI_ABI_WIN_X64:
        e = stub_gen_x86_64_win(sig, suppress_gc, opts ? opts : &none, out, err, errcap);
        break;
    case CALLI_ABI_AAPCS64:
    case CALLI_ABI_APPLE_ARM64:
        e = stub_gen_aarch64(abi, sig, suppress_gc, opts ? opts : &none, out, err, errcap);
        break;
    default:
        return stub_fail(err, errcap, STUB_E_ABI, "unknown ABI %d", (int)abi);
    }
    if (e != STUB_OK) {
        stub_code_free(out);
        if (err && errcap && !err[0])
            stub_fail(err, errcap, e, "%s", stub_strerror(e));
    }
    return e;
}

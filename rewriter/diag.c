/* diag.c - error codes and one-line diagnostics. */
#include <stdarg.h>
#include <stdio.h>

#include "image.h"

const char *rw_strerror(enum rw_err err)
{
    switch (err) {
    case RW_OK: return "success";
    case RW_E_IO: return "I/O error";
    case RW_E_NOMEM: return "out of memory";
    case RW_E_FORMAT: return "unrecognised file format";
    case RW_E_CORRUPT: return "malformed file";
    case RW_E_UNSUPPORTED: return "unsupported input";
    case RW_E_NOROOM: return "no room to add the stubs";
    case RW_E_INTERNAL: return "internal error";
    }
    return "unknown error";
}

enum rw_err rw_fail(struct rw_diag *d, enum rw_err err, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
        d->err = err;
    }
    return err;
}

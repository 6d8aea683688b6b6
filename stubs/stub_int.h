/* stub_int.h - internals shared by the stub generators (not for the rest of
 * callirw: include stub.h). */
#ifndef CALLIRW_STUB_INT_H
#define CALLIRW_STUB_INT_H

#include "stub.h"

/* Append n bytes to the code buffer; STUB_E_NOMEM when it cannot grow. */
enum stub_err stub_code_append(struct stub_code *c, const void *p, size_t n);
/* Append one unwind step taking effect at the current end of the code. */
enum stub_err stub_unwind_add(struct stub_code *c, enum stub_unwind_op op, unsigned reg,
                              int32_t value);
/* snprintf-like into err (cap may be 0); returns code for `return stub_fail(...)`. */
enum stub_err stub_fail(char *err, size_t cap, enum stub_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Per-ABI generators, called by stub_generate with validated arguments and
 * an empty *out (abi set). */
enum stub_err stub_gen_x86_64_sysv(const struct calli_sig *sig, int suppress_gc,
                                   const struct stub_opts *opts, struct stub_code *out,
                                   char *err, size_t errcap);
enum stub_err stub_gen_x86_64_win(const struct calli_sig *sig, int suppress_gc,
                                  const struct stub_opts *opts, struct stub_code *out,
                                  char *err, size_t errcap);
/* AAPCS64 and Apple arm64 (abi says which). */
enum stub_err stub_gen_aarch64(enum calli_abi abi, const struct calli_sig *sig, int suppress_gc,
                               const struct stub_opts *opts, struct stub_code *out, char *err,
                               size_t errcap);

#endif

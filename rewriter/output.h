/* output.h - writing an output file atomically. */
#ifndef CALLIRW_OUTPUT_H
#define CALLIRW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"

/* Write data to a temporary file beside dest, flush it to disk (fsync:
 * without it a crash soon after the rename can leave dest empty or partial
 * on some file systems, and with `rewrite -i` dest was the input), give it
 * `mode`, and rename it over dest. On any failure the temporary file is
 * removed and dest is untouched. */
enum rw_err rw_write_atomic(const char *dest, const uint8_t *data, size_t len, mode_t mode,
                            struct rw_diag *d);

/* The same for a buffer the caller frees right after without reading it
 * again: each written part's whole pages are released (MADV_DONTNEED) as
 * the write goes, so that pages rw_copy_input mapped from the input file
 * do not all become resident while being written. data's contents are
 * undefined on return. The fsync only when durable: `rewrite -i`, whose
 * dest is the input, the only copy of the user's bytes; `-o` writes a new
 * file as cp, objcopy and ld do (still never a partial one: the rename). */
enum rw_err rw_write_atomic_consume(const char *dest, uint8_t *data, size_t len, mode_t mode,
                                    int durable, struct rw_diag *d);

#endif

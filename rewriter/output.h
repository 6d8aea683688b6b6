/* output.h - writing an output file atomically. */
#ifndef CALLIRW_OUTPUT_H
#define CALLIRW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image.h"

/* Write data to a temporary file beside dest, flush it to disk, give it
 * `mode`, and rename it over dest. On any failure the temporary file is
 * removed and dest is untouched. */
enum rw_err rw_write_atomic(const char *dest, const uint8_t *data, size_t len, mode_t mode,
                            struct rw_diag *d);

#endif

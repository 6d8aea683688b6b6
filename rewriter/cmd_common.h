/* cmd_common.h - what the subcommands share: exit-code mapping, naming a
 * location (and json.h's string writer). */
#ifndef CALLIRW_CMD_COMMON_H
#define CALLIRW_CMD_COMMON_H

#include <stdio.h>

#include "image.h"
#include "json.h"

/* The exit code for an error while reading input (bad input: 2) or while
 * producing output (internal / I/O: 3). */
int rw_exit_for_input(enum rw_err e);
int rw_exit_for_output(enum rw_err e);

/* "func+0x1c" for a location, or "" when no function covers it. */
void rw_describe_loc(const struct rw_image *img, uint32_t sec, uint64_t off, char *buf,
                     size_t cap);


#endif

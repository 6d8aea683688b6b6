/* cmd_common.h - what the subcommands share: exit-code mapping, naming a
 * location (and json.h's string writer). */
#ifndef CALLIRW_CMD_COMMON_H
#define CALLIRW_CMD_COMMON_H

#include <stdint.h>
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

/* scan one image (a file's bytes or a container's slice, named label) and
 * print the table or the JSON object to out; the scan command's exit code
 * (0 sites, 1 none, 2 bad input, 3 internal), errors on stderr.
 * helper_rva: UINT64_MAX for none. */
int rw_scan_print(const char *label, const uint8_t *data, size_t size, const char *helper,
                  uint64_t helper_rva, int json, FILE *out);

#endif

/* cli.h - the callirw command-line driver: exit codes and subcommands. */
#ifndef CALLIRW_CLI_H
#define CALLIRW_CLI_H

#include <stdint.h>

#include "image.h"

/* Exit codes (docs/abi.md, "Exit codes"). */
enum callirw_exit {
    CALLIRW_EXIT_OK = 0,        /* success: the job was done */
    CALLIRW_EXIT_NOTHING = 1,   /* nothing to do: no site, or already rewritten */
    CALLIRW_EXIT_BAD_INPUT = 2, /* bad input or bad usage; no output written */
    CALLIRW_EXIT_INTERNAL = 3,  /* internal or I/O error; no output written */
};

/* One subcommand: argv[0] is the subcommand's name. Returns an exit code. */
typedef int (*callirw_cmd_fn)(int argc, char **argv);

/* cmd_common.c: --r2r-helper-id N (scan, rewrite, inspect): the
 * READYTORUN_HELPER id whose Helper fixups are the calli helper's cells
 * (docs/r2r.md). Sets it process-wide; -1 (message printed) when N is not a
 * number in 0..0x1FFFFFFF (an ECMA-335 compressed integer). */
int rw_opt_r2r_helper_id(const char *cmd, const char *arg);

/* cmd_common.c: --helper-rva RVA (scan, rewrite): parse RVA into *rva; -1
 * (message printed) when it is not a number below 2^32. */
int rw_opt_helper_rva(const char *cmd, const char *arg, uint64_t *rva);
/* After the image is open: tell the back-end the helper is at base + rva
 * (format.h add_helper_rva). Returns the error (message in d). */
enum rw_err rw_apply_helper_rva(struct rw_image *img, uint64_t rva, struct rw_diag *d);

int cmd_sig(int argc, char **argv);
int cmd_rewrite(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_scan(int argc, char **argv);

#endif

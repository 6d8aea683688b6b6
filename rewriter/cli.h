/* cli.h - the callirw command-line driver: exit codes and subcommands. */
#ifndef CALLIRW_CLI_H
#define CALLIRW_CLI_H

/* Exit codes (docs/abi.md, "Exit codes"). */
enum callirw_exit {
    CALLIRW_EXIT_OK = 0,        /* success: the job was done */
    CALLIRW_EXIT_NOTHING = 1,   /* nothing to do: no site, or already rewritten */
    CALLIRW_EXIT_BAD_INPUT = 2, /* bad input or bad usage; no output written */
    CALLIRW_EXIT_INTERNAL = 3,  /* internal or I/O error; no output written */
};

/* One subcommand: argv[0] is the subcommand's name. Returns an exit code. */
typedef int (*callirw_cmd_fn)(int argc, char **argv);

int cmd_sig(int argc, char **argv);
int cmd_rewrite(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_scan(int argc, char **argv);

#endif

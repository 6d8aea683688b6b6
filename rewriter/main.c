/* main.c - callirw's driver: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CALLIRW_VERSION "0.1.0"

struct command {
    const char *name;
    callirw_cmd_fn fn;
    const char *summary;
};

static const struct command commands[] = {
    {"sig", cmd_sig, "decode signature blobs given in hex: readable form, stub key, verdict"},
    {"rewrite", cmd_rewrite, "redirect the helper's call sites to per-signature stubs"},
    {"inspect", cmd_inspect, "show a rewritten image's stubs and sites (its rewrite map)"},
    {"scan", cmd_scan, "list the helper's call sites in an image, their cookies and verdicts"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: callirw COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'callirw COMMAND --help' describes one command.\n"
                 "exit codes: 0 done, 1 nothing to do, 2 bad input or usage, 3 internal error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CALLIRW_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CALLIRW_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("callirw %s\n", CALLIRW_VERSION);
        return CALLIRW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "callirw: unknown command '%s' (try 'callirw --help')\n", argv[1]);
    return CALLIRW_EXIT_BAD_INPUT;
}

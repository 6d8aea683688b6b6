/* cmd_common.c - helpers shared by the subcommands. */
#include <stdio.h>

#include "cli.h"
#include "cmd_common.h"

int rw_exit_for_input(enum rw_err e)
{
    return e == RW_E_NOMEM || e == RW_E_INTERNAL ? CALLIRW_EXIT_INTERNAL : CALLIRW_EXIT_BAD_INPUT;
}

int rw_exit_for_output(enum rw_err e)
{
    return e == RW_E_NOROOM || e == RW_E_UNSUPPORTED || e == RW_E_CORRUPT || e == RW_E_FORMAT
               ? CALLIRW_EXIT_BAD_INPUT
               : CALLIRW_EXIT_INTERNAL;
}

void rw_describe_loc(const struct rw_image *img, uint32_t sec, uint64_t off, char *buf,
                     size_t cap)
{
    const struct rw_func *f = rw_func_at(img, sec, off);
    if (f && f->name)
        snprintf(buf, cap, "%s+0x%llx", f->name, (unsigned long long)(off - f->start));
    else if (cap)
        buf[0] = 0;
}

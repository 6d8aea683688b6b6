/* cmd_common.c - helpers shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd_common.h"
#include "format.h"
#include "pe_r2r.h"

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

/* An option's number (decimal, 0x hex, 0 octal) no greater than max; -1
 * with one line on stderr ("callirw: CMD: OPT needs WHAT, not 'ARG'"). */
static int opt_number(const char *cmd, const char *opt, const char *what, const char *arg,
                      unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v = 0;
    errno = 0;
    if (arg && arg[0] >= '0' && arg[0] <= '9')
        v = strtoull(arg, &end, 0);
    if (!end || *end || errno || v > max) {
        fprintf(stderr, "callirw: %s: %s needs %s, not '%s'\n", cmd, opt, what, arg ? arg : "");
        return -1;
    }
    *out = v;
    return 0;
}

int rw_opt_r2r_helper_id(const char *cmd, const char *arg)
{
    unsigned long long v;
    if (opt_number(cmd, "--r2r-helper-id", "a number in 0..0x1fffffff", arg, 0x1FFFFFFFull, &v))
        return -1;
    rw_r2r_set_helper_id((uint32_t)v);
    return 0;
}

int rw_opt_helper_rva(const char *cmd, const char *arg, uint64_t *rva)
{
    unsigned long long v;
    if (opt_number(cmd, "--helper-rva", "a number below 2^32", arg, 0xFFFFFFFFull, &v))
        return -1;
    *rva = v;
    return 0;
}

enum rw_err rw_apply_helper_rva(struct rw_image *img, uint64_t rva, struct rw_diag *d)
{
    if (!img->ops || !img->ops->add_helper_rva)
        return rw_fail(d, RW_E_UNSUPPORTED, "--helper-rva applies to PE images only");
    return img->ops->add_helper_rva(img, rva, d);
}

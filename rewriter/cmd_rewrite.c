/* cmd_rewrite.c - `callirw rewrite IN (-o OUT | -i) [--dry-run] [--helper NAME]`:
 * read -> scan -> plan -> emit (the back-end's write) -> write atomically. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cli.h"
#include "cmd_common.h"
#include "format.h"
#include "output.h"
#include "plan.h"
#include "scan.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: callirw rewrite IN -o OUT [--helper NAME] [--helper-rva RVA] [--r2r-helper-id N]\n"
            "       callirw rewrite IN -i [--helper NAME] [--helper-rva RVA] [--r2r-helper-id N]\n"
            "       callirw rewrite IN --dry-run [--helper NAME] [--helper-rva RVA] [--r2r-helper-id N]\n"
            "\n"
            "Append a stub per signature, redirect every rewritable call of the\n"
            "generic helper to its stub, and record a rewrite map. The output is\n"
            "written to a temporary file and renamed into place; IN is only\n"
            "modified with -i. --dry-run prints the plan and writes nothing.\n"
            "exit: 0 rewritten, 1 nothing to do (no site, or already rewritten),\n"
            "      2 bad input or usage, 3 internal or I/O error\n");
}

static void print_sites(const struct rw_image *img, const struct rw_plan *plan)
{
    const struct rw_scan *scan = plan->scan;
    for (size_t i = 0; scan && i < scan->nsites; i++) {
        const struct rw_site *site = &scan->sites[i];
        char where[160];
        rw_describe_loc(img, site->section, site->offset, where, sizeof where);
        if (site->verdict != RW_SITE_OK)
            printf("  site 0x%08llx %-24s %-12s left: %s\n", (unsigned long long)site->addr, where,
                   rw_site_form_name(site->form), site->reason);
        else if (site->veneer != RW_NONE && site->veneer < plan->nveneers)
            printf("  site 0x%08llx %-24s %-12s -> %s (through the veneer at 0x%llx)\n",
                   (unsigned long long)site->addr, where, rw_site_form_name(site->form),
                   plan->stubs[site->stub].key,
                   (unsigned long long)plan->veneers[site->veneer].va);
        else
            printf("  site 0x%08llx %-24s %-12s -> %s\n", (unsigned long long)site->addr, where,
                   rw_site_form_name(site->form), plan->stubs[site->stub].key);
    }
}

static void print_plan(const struct rw_image *img, const struct rw_plan *plan)
{
    printf("plan: %zu stub%s", plan->nstubs, plan->nstubs == 1 ? "" : "s");
    if (plan->nveneers)
        printf(", %zu range-extension veneer%s", plan->nveneers, plan->nveneers == 1 ? "" : "s");
    printf("\n");
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        printf("  stub %-28s %4zu bytes  %3u site%s  %s%s\n", s->key, s->code.len, s->nsites,
               s->nsites == 1 ? " " : "s", s->readable, s->code.has_frame ? "" : "  (tail jump)");
    }
    print_sites(img, plan);
}

struct rw_rewrite_opts {
    const char *helper;
    uint64_t helper_rva; /* UINT64_MAX: none */
    int dry;
};

/* One image (a whole file or a container's slice; label names it): open,
 * scan, plan and, unless a dry run, write the new bytes to *buf. data NULL:
 * the whole file at label, mapped by rw_image_open (img.mapped: the writer
 * may drop input pages it has copied, rw_copy_input). Returns
 * CALLIRW_EXIT_OK (rewritten, or would be), CALLIRW_EXIT_NOTHING, or an
 * error exit code, having printed its one line. When rewritten, summary
 * says so ("callirw: LABEL: rewrote ...") for the caller to print once the
 * output exists. */
static int rewrite_one(const char *label, const uint8_t *data, size_t size,
                       const struct rw_rewrite_opts *o, struct rw_buf *buf, char *summary,
                       size_t cap)
{
    struct rw_image img;
    struct rw_diag d = {0};
    struct rw_scan scan = {0};
    struct rw_plan plan = {0};
    int rc;
    enum rw_err e = data ? rw_image_open_mem(&img, label, data, size, o->helper, &d)
                         : rw_image_open(&img, label, o->helper, &d);
    if (!e && o->helper_rva != UINT64_MAX && (e = rw_apply_helper_rva(&img, o->helper_rva, &d)))
        rw_image_close(&img);
    if (e) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", label, d.msg);
        return rw_exit_for_input(e);
    }
    if (img.rewritten) {
        printf("callirw: %s already carries a rewrite map: nothing to do\n", label);
        rc = CALLIRW_EXIT_NOTHING;
        goto done;
    }
    if ((e = rw_scan_image(&img, &scan, &d))) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", label, d.msg);
        rc = rw_exit_for_input(e);
        goto done;
    }
    if (scan.nok == 0) {
        printf("callirw: %s: no rewritable site (%zu found, all left as they are): nothing to do\n",
               label, scan.nsites);
        rc = CALLIRW_EXIT_NOTHING;
        goto done;
    }
    if ((e = rw_plan_build(&img, &scan, &plan, &d))) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", label, d.msg);
        rc = rw_exit_for_output(e);
        goto done;
    }
    if (scan.nok == 0) { /* the plan left every site (out of reach) */
        print_sites(&img, &plan);
        printf("callirw: %s: no site can reach the stubs (%zu found, all left as they are): "
               "nothing to do\n", label, scan.nsites);
        rc = CALLIRW_EXIT_NOTHING;
        goto done;
    }
    if (o->dry) {
        print_plan(&img, &plan);
        printf("callirw: %s: would rewrite %zu site%s (%zu left) with %zu stub%s (dry run: nothing written)\n",
               label, scan.nok, scan.nok == 1 ? "" : "s", scan.nsites - scan.nok, plan.nstubs,
               plan.nstubs == 1 ? "" : "s");
        rc = CALLIRW_EXIT_OK;
        goto done;
    }
    if ((e = img.ops->write(&img, &plan, buf, &d))) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", label, d.msg);
        rc = rw_exit_for_output(e);
        goto done;
    }
    snprintf(summary, cap, "callirw: %s: rewrote %zu site%s (%zu left), %zu stub%s", label, scan.nok,
           scan.nok == 1 ? "" : "s", scan.nsites - scan.nok, plan.nstubs,
           plan.nstubs == 1 ? "" : "s");
    rc = CALLIRW_EXIT_OK;
done:
    rw_plan_free(&plan);
    rw_scan_free(&scan);
    rw_image_close(&img);
    return rc;
}

/* A container (fat file): every slice on its own; any error fails the
 * whole file (nothing written); rewritten when at least one slice was. */
static int rewrite_container(const struct rw_container_ops *co, const char *path,
                             const uint8_t *data, size_t size, const struct rw_rewrite_opts *o,
                             struct rw_buf *out)
{
    struct rw_diag d = {0};
    struct rw_slice *sl = NULL;
    size_t n = 0;
    enum rw_err e = co->split(data, size, &sl, &n, &d);
    if (e) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", path, d.msg);
        return rw_exit_for_input(e);
    }
    struct rw_buf *outs = calloc(n ? n : 1, sizeof *outs);
    if (!outs) {
        free(sl);
        fprintf(stderr, "callirw: rewrite: %s: out of memory\n", path);
        return CALLIRW_EXIT_INTERNAL;
    }
    int rc = CALLIRW_EXIT_NOTHING;
    size_t done_n = 0;
    for (size_t i = 0; i < n; i++) {
        char label[4096];
        snprintf(label, sizeof label, "%s[%s]", path, sl[i].name);
        char summary[4352] = "";
        int r = rewrite_one(label, data + sl[i].offset, (size_t)sl[i].size, o, &outs[i], summary,
                            sizeof summary);
        if (summary[0])
            printf("%s\n", summary);
        if (r == CALLIRW_EXIT_OK) {
            done_n++;
            rc = CALLIRW_EXIT_OK;
        } else if (r != CALLIRW_EXIT_NOTHING) {
            rc = r;
            goto out;
        }
    }
    if (rc == CALLIRW_EXIT_OK && !o->dry && (e = co->join(data, size, sl, n, outs, out, &d))) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", path, d.msg);
        rc = rw_exit_for_output(e);
        goto out;
    }
    if (rc == CALLIRW_EXIT_NOTHING)
        printf("callirw: %s: no slice of the %s file to rewrite: nothing to do\n", path, co->name);
    else
        printf("callirw: %s: %zu of %zu slice%s rewritten\n", path, done_n, n, n == 1 ? "" : "s");
out:
    for (size_t i = 0; i < n; i++)
        rw_buf_free(&outs[i]);
    free(outs);
    free(sl);
    return rc;
}

int cmd_rewrite(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"in-place", no_argument, NULL, 'i'},
        {"dry-run", no_argument, NULL, 'n'},
        {"helper", required_argument, NULL, 'H'},
        {"r2r-helper-id", required_argument, NULL, 'R'},
        {"helper-rva", required_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *helper = NULL;
    uint64_t helper_rva = UINT64_MAX;
    int inplace = 0, dry = 0, c;
    /* Blocks of 1 MiB and more from mmap, always: returned to the system
     * when freed (glibc's adaptive threshold would serve them from the heap
     * after the first large free and keep the freed memory resident). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:inh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'i': inplace = 1; break;
        case 'n': dry = 1; break;
        case 'H': helper = optarg; break;
        case 'R':
            if (rw_opt_r2r_helper_id("rewrite", optarg))
                return CALLIRW_EXIT_BAD_INPUT;
            break;
        case 'A':
            if (rw_opt_helper_rva("rewrite", optarg, &helper_rva))
                return CALLIRW_EXIT_BAD_INPUT;
            break;
        case 'h': usage(stdout); return CALLIRW_EXIT_OK;
        default: usage(stderr); return CALLIRW_EXIT_BAD_INPUT;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "callirw: rewrite: expected exactly one input file\n");
        return CALLIRW_EXIT_BAD_INPUT;
    }
    const char *in = argv[optind];
    if (!dry && !!out == !!inplace) {
        fprintf(stderr, "callirw: rewrite: give either -o OUT or -i (or --dry-run)\n");
        return CALLIRW_EXIT_BAD_INPUT;
    }
    if (inplace)
        out = in;

    struct rw_diag d = {0};
    const uint8_t *data;
    size_t size;
    enum rw_err e = rw_file_map(in, &data, &size, &d);
    if (e) {
        fprintf(stderr, "callirw: rewrite: %s: %s\n", in, d.msg);
        return rw_exit_for_input(e);
    }
    const struct rw_rewrite_opts o = {helper, helper_rva, dry};
    struct rw_buf buf = {0};
    int rc;
    const struct rw_container_ops *co = rw_container_probe(data, size);
    char summary[4352] = "";
    if (!co) { /* open the file itself: see rewrite_one */
        rw_file_unmap(data, size);
        data = NULL;
        size = 0;
        rc = rewrite_one(in, NULL, 0, &o, &buf, summary, sizeof summary);
    } else {
        rc = rewrite_container(co, in, data, size, &o, &buf);
    }
    if (rc == CALLIRW_EXIT_OK && !dry) {
        struct stat st;
        struct stat ost;
        int have_in = stat(in, &st) == 0;
        mode_t mode = have_in ? st.st_mode : 0755;
        /* durable (fsync) when the output replaces the input: -i, or -o
         * naming the input file again (output.h) */
        int durable = inplace || (have_in && stat(out, &ost) == 0 && ost.st_dev == st.st_dev &&
                                  ost.st_ino == st.st_ino);
        if ((e = rw_write_atomic_consume(out, buf.data, buf.len, mode, durable, &d))) { /* freed below */
            fprintf(stderr, "callirw: rewrite: %s\n", d.msg); /* names the output */
            rc = CALLIRW_EXIT_INTERNAL;
        } else if (co) {
            printf("callirw: %s: -> %s\n", in, out);
        } else {
            printf("%s -> %s\n", summary, out);
        }
    }
    rw_buf_free(&buf);
    rw_file_unmap(data, size);
    return rc;
}

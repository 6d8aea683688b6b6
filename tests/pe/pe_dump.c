/* pe_dump.c - a small driver for the PE/COFF back-end (formats/pe*.c), for
 * manual runs and sweeps over many files, independent of the CLI.
 *
 *   pe_dump [--json] [--model] [--scan] [--quiet] [--helper NAME]
 *           [--r2r-helper-id N] FILE...
 *
 * Each FILE is read into a buffer of exactly its size (so that ASan sees any
 * read past the end), probed and opened with rw_pe_ops. Default output: the
 * back-end's describe text (--json: its JSON object). --model adds the
 * model (sections, symbols, relocations, functions, helper). --scan runs the
 * scanner over the model. --quiet prints one line per file instead:
 *   ok PATH sections=N symbols=N relocs=N funcs=N helper_slots=N [r2r]
 *   err PATH CODE: MESSAGE
 *   skip PATH (not PE/COFF)
 * and a tally at the end. Exit: 0 unless a file failed with an internal
 * error or a message that is not one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "pe_r2r.h"
#include "scan.h"

extern const struct rw_format_ops rw_pe_ops;

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END)) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n >= 0 ? malloc(n ? (size_t)n : 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = p ? (size_t)n : 0;
    return p;
}

static void print_model(const struct rw_image *img)
{
    printf("model: %zu sections, %zu symbols, %zu relocations, %zu functions\n", img->nsec, img->nsym,
           img->nrel, img->nfunc);
    for (size_t i = 0; i < img->nsec; i++) {
        const struct rw_section *s = &img->sec[i];
        printf("  sec %2zu id %2u %-16s addr 0x%016llx size 0x%08llx flags%s%s%s%s%s%s\n", i, s->id, s->name,
               (unsigned long long)s->addr, (unsigned long long)s->size, s->flags & RW_SEC_ALLOC ? " A" : "",
               s->flags & RW_SEC_EXEC ? " X" : "", s->flags & RW_SEC_WRITE ? " W" : "",
               s->flags & RW_SEC_NOBITS ? " NOBITS" : "", s->flags & RW_SEC_GOT ? " GOT" : "",
               s->data ? "" : " (no data)");
    }
    size_t nshow = img->nsym < 40 ? img->nsym : 40;
    for (size_t i = 0; i < nshow; i++) {
        const struct rw_symbol *s = &img->sym[i];
        printf("  sym %4zu id 0x%08x sec %4d value 0x%llx%s%s%s%s %s\n", i, s->id,
               s->section == RW_NONE ? -1 : (int)s->section, (unsigned long long)s->value,
               s->flags & RW_SYM_FUNC ? " FUNC" : "", s->flags & RW_SYM_GLOBAL ? " GLOBAL" : "",
               s->flags & RW_SYM_UNDEF ? " UNDEF" : "", s->flags & RW_SYM_DYNAMIC ? " DYN" : "", s->name);
    }
    size_t rshow = img->nrel < 40 ? img->nrel : 40;
    for (size_t i = 0; i < rshow; i++) {
        const struct rw_reloc *r = &img->rel[i];
        printf("  rel sec %u off 0x%llx kind %u raw %u sym %s addend %lld\n", r->section,
               (unsigned long long)r->offset, r->kind, r->raw_type,
               r->symbol == RW_NONE ? "-" : img->sym[r->symbol].name, (long long)r->addend);
    }
    size_t fshow = img->nfunc < 40 ? img->nfunc : 40;
    for (size_t i = 0; i < fshow; i++) {
        const struct rw_func *f = &img->func[i];
        printf("  func sec %u [0x%llx, 0x%llx) %s\n", f->section, (unsigned long long)f->start,
               (unsigned long long)f->end, f->name ? f->name : "");
    }
    for (size_t i = 0; i < img->helper.nsyms; i++)
        printf("  helper sym %s\n", img->sym[img->helper.syms[i]].name);
    for (size_t i = 0; i < img->helper.nimp_syms; i++)
        printf("  helper imp sym %s\n", img->sym[img->helper.imp_syms[i]].name);
    for (size_t i = 0; i < img->helper.nslots; i++)
        printf("  helper slot 0x%llx\n", (unsigned long long)img->helper.slots[i]);
    for (size_t i = 0; i < img->helper.naddrs; i++)
        printf("  helper addr 0x%llx\n", (unsigned long long)img->helper.addrs[i]);
}

int main(int argc, char **argv)
{
    int json = 0, model = 0, scan = 0, quiet = 0, bad = 0;
    const char *helper = "GenericPInvokeCalliHelper";
    unsigned n_ok = 0, n_err = 0, n_skip = 0, n_sites = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--model"))
            model = 1;
        else if (!strcmp(argv[i], "--scan"))
            scan = 1;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else if (!strcmp(argv[i], "--helper") && i + 1 < argc)
            helper = argv[++i];
        else if (!strcmp(argv[i], "--r2r-helper-id") && i + 1 < argc)
            rw_r2r_set_helper_id((uint32_t)strtoul(argv[++i], NULL, 0));
        else {
            fprintf(stderr, "usage: pe_dump [--json] [--model] [--scan] [--quiet] [--helper NAME] "
                            "[--r2r-helper-id N] FILE...\n");
            return 2;
        }
    }
    for (; i < argc; i++) {
        size_t size;
        unsigned char *data = slurp(argv[i], &size);
        if (!data) {
            printf("err %s io: cannot read\n", argv[i]);
            n_err++;
            continue;
        }
        struct rw_image img;
        memset(&img, 0, sizeof img);
        img.path = argv[i];
        img.data = data;
        img.size = size;
        img.helper_name = helper;
        img.ops = &rw_pe_ops;
        if (!rw_pe_ops.probe(data, size)) {
            if (quiet)
                printf("skip %s\n", argv[i]);
            else
                printf("%s: not PE/COFF\n", argv[i]);
            n_skip++;
            free(data);
            continue;
        }
        struct rw_diag d = {0};
        enum rw_err e = rw_pe_ops.open(&img, &d);
        struct rw_scan sc = {0};
        if (!e && scan)
            e = rw_scan_image(&img, &sc, &d);
        if (e) {
            printf("err %s %s: %s\n", argv[i], rw_strerror(e), d.msg);
            if (e == RW_E_INTERNAL || !d.msg[0] || strchr(d.msg, '\n'))
                bad = 1;
            n_err++;
        } else {
            n_ok++;
            if (quiet) {
                printf("ok %s sections=%zu symbols=%zu relocs=%zu funcs=%zu helper_slots=%zu", argv[i],
                       img.nsec, img.nsym, img.nrel, img.nfunc, img.helper.nslots);
                if (scan)
                    printf(" sites=%zu", sc.nsites);
                printf("\n");
            } else {
                rw_pe_ops.describe(&img, stdout, json);
                if (model)
                    print_model(&img);
                if (scan)
                    printf("scan: %zu sites, %zu rewritable\n", sc.nsites, sc.nok);
            }
            n_sites += sc.nsites > 0;
        }
        if (scan && !e)
            rw_scan_free(&sc);
        rw_pe_ops.close(&img);
        free(data);
    }
    if (quiet)
        printf("total: %u opened, %u errors, %u not PE/COFF, %u with sites\n", n_ok, n_err, n_skip, n_sites);
    return bad ? 1 : 0;
}

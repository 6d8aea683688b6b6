/* fuzz_pe.c - deterministic mutation test of the PE/COFF back-end: for each
 * input, truncated copies and copies with 1-4 bytes changed (in buffers of
 * exactly their size, so that ASan sees any read past the end; half of the
 * changes aimed at the first 4 KiB, where the headers and most tables are),
 * each opened with rw_pe_ops and, when that succeeds, described (text and
 * JSON), read through read_pointer and scanned. Built with ASan/UBSan: any
 * memory error aborts. Every failure must be FORMAT, CORRUPT or UNSUPPORTED
 * with a one-line message. Prints a tally per input.
 *
 * usage: fuzz_pe [-n MUTANTS] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "scan.h"

extern const struct rw_format_ops rw_pe_ops;

static uint64_t rng = 0xD1B54A32D192ED03ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n > 0 ? malloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = p ? (size_t)n : 0;
    return p;
}

struct tally {
    unsigned ok, err[RW_E_INTERNAL + 1];
};

static int run_one(const unsigned char *data, size_t size, struct tally *t, FILE *devnull)
{
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return -1;
    memcpy(copy, data, size);
    struct rw_image img;
    memset(&img, 0, sizeof img);
    img.path = "mutant";
    img.data = copy;
    img.size = size;
    img.helper_name = "GenericPInvokeCalliHelper";
    img.ops = &rw_pe_ops;
    struct rw_diag d = {0};
    int rc = 0;
    enum rw_err e = rw_pe_ops.probe(copy, size) ? rw_pe_ops.open(&img, &d) : RW_E_FORMAT;
    if (e == RW_OK) {
        t->ok++;
        rw_pe_ops.describe(&img, devnull, 0);
        rw_pe_ops.describe(&img, devnull, 1);
        uint64_t v;
        for (size_t i = 0; i < img.nsec; i++)
            rw_pe_ops.read_pointer(&img, img.sec[i].addr + (next() % (img.sec[i].size + 16)), &v);
        for (size_t i = 0; i < img.helper.nslots; i++)
            rw_pe_ops.read_pointer(&img, img.helper.slots[i], &v);
        struct rw_scan sc;
        struct rw_diag sd = {0};
        if (t->ok % 4 == 1) { /* the scanner is the slow part */
            img.decode_all = 1; /* decode even when nothing names the helper */
            if (rw_scan_image(&img, &sc, &sd) == RW_OK)
                rw_scan_free(&sc);
            else if (!sd.msg[0] || strchr(sd.msg, '\n') || sd.err == RW_E_INTERNAL) {
                fprintf(stderr, "fuzz_pe: scan error %d with a bad message: '%s'\n", sd.err, sd.msg);
                rc = -1;
            }
        }
    } else if (e != RW_E_FORMAT && e != RW_E_CORRUPT && e != RW_E_UNSUPPORTED && e != RW_E_NOMEM) {
        fprintf(stderr, "fuzz_pe: unexpected error %d: %s\n", e, d.msg);
        rc = -1;
    } else if (e != RW_E_FORMAT && (!d.msg[0] || strchr(d.msg, '\n'))) {
        fprintf(stderr, "fuzz_pe: error %d without a one-line message: '%s'\n", e, d.msg);
        rc = -1;
    } else {
        t->err[e]++;
    }
    rw_pe_ops.close(&img);
    free(copy);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned mutants = 3000;
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "-n")) {
        mutants = (unsigned)strtoul(argv[2], NULL, 0);
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: fuzz_pe [-n MUTANTS] FILE...\n");
        return 2;
    }
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        return 2;
    int bad = 0;
    for (; i < argc; i++) {
        size_t size;
        unsigned char *data = slurp(argv[i], &size);
        if (!data) {
            fprintf(stderr, "fuzz_pe: cannot read %s\n", argv[i]);
            bad = 1;
            continue;
        }
        struct tally t;
        memset(&t, 0, sizeof t);
        unsigned char *buf = malloc(size);
        if (!buf)
            return 3;
        unsigned ntrunc = 0;
        for (size_t len = 0; len < size && ntrunc < 3000; len += len < 1024 ? 1 : 1 + size / 2000, ntrunc++)
            if (run_one(data, len, &t, devnull))
                bad = 1;
        for (unsigned m = 0; m < mutants; m++) {
            memcpy(buf, data, size);
            unsigned flips = 1 + (unsigned)(next() % 4);
            for (unsigned f = 0; f < flips; f++) {
                size_t lim = next() % 2 && size > 4096 ? 4096 : size;
                size_t pos = (size_t)(next() % lim);
                switch (next() % 4) {
                case 0: buf[pos] ^= (unsigned char)(1u << (next() % 8)); break;
                case 1: buf[pos] = (unsigned char)next(); break;
                case 2: buf[pos] = 0; break;
                default: buf[pos] = 0xFF; break;
                }
            }
            if (run_one(buf, size, &t, devnull))
                bad = 1;
        }
        printf("fuzz_pe: %s: %u truncations + %u mutants: %u opened, %u format, %u corrupt, %u unsupported\n",
               argv[i], ntrunc, mutants, t.ok, t.err[RW_E_FORMAT], t.err[RW_E_CORRUPT],
               t.err[RW_E_UNSUPPORTED]);
        free(buf);
        free(data);
    }
    fclose(devnull);
    return bad;
}

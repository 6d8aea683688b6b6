/* fuzz_elf.c - deterministic mutation test of the ELF reader and the
 * scanner: for each input file, thousands of truncated and byte-flipped
 * copies (each in a buffer of exactly its size, so that ASan sees any read
 * past the end) are opened with the ELF back-end and scanned. Built with
 * ASan/UBSan; any memory error aborts. Every failure must be a clean error
 * code with a one-line message. Prints a tally per input.
 *
 * usage: fuzz_elf [-n ITERATIONS] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "scan.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

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
    unsigned ok, sites, err[RW_E_INTERNAL + 1];
};

static int run_one(const unsigned char *data, size_t size, struct tally *t)
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
    img.ops = &rw_elf_ops;
    img.decode_all = 1; /* the decoder runs on every mutant (scan.c may skip it) */
    struct rw_diag d = {0};
    enum rw_err e = rw_elf_ops.probe(copy, size) ? rw_elf_ops.open(&img, &d) : RW_E_FORMAT;
    if (e == RW_OK) {
        struct rw_scan sc;
        e = rw_scan_image(&img, &sc, &d);
        if (e == RW_OK) {
            t->ok++;
            t->sites += sc.nsites > 0;
            rw_scan_free(&sc);
        }
    }
    if (e != RW_OK) {
        if ((unsigned)e > RW_E_INTERNAL || e == RW_E_INTERNAL) {
            fprintf(stderr, "fuzz_elf: unexpected error %d: %s\n", e, d.msg);
            return -1;
        }
        if (e != RW_E_FORMAT && (!d.msg[0] || strchr(d.msg, '\n'))) {
            fprintf(stderr, "fuzz_elf: error %d without a one-line message: '%s'\n", e, d.msg);
            return -1;
        }
        t->err[e]++;
    }
    rw_elf_ops.close(&img);
    free(copy);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned iters = 3000;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-n")) {
        iters = (unsigned)strtoul(argv[i + 1], NULL, 10);
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: fuzz_elf [-n ITERATIONS] FILE...\n");
        return 2;
    }
    int fail = 0;
    for (; i < argc; i++) {
        size_t size;
        unsigned char *orig = slurp(argv[i], &size);
        if (!orig) {
            fprintf(stderr, "fuzz_elf: cannot read %s\n", argv[i]);
            return 2;
        }
        unsigned char *buf = malloc(size);
        struct tally t = {0};
        rng = 0x9e3779b97f4a7c15ull ^ size;
        if (run_one(orig, size, &t))
            fail = 1;
        /* truncations: every byte of the first 4 KiB, then evenly spread */
        size_t step = size / 400 + 1;
        for (size_t n = 0; n < size && !fail; n += n < 4096 ? 1 : step)
            fail |= run_one(orig, n, &t) != 0;
        /* byte flips: headers and header tables get most of them */
        for (unsigned k = 0; k < iters && !fail; k++) {
            memcpy(buf, orig, size);
            unsigned nflip = 1 + (unsigned)(next() % 8);
            for (unsigned f = 0; f < nflip; f++) {
                size_t pos;
                uint64_t r = next();
                if (r % 4 == 0 || size <= 4096)
                    pos = (size_t)(next() % size);
                else if (r % 4 == 1)
                    pos = (size_t)(next() % 64);
                else
                    pos = size > 4096 ? (size_t)(next() % 4096) : 0;
                if (r % 4 == 3 && size > 4096) /* the section header table, at the end */
                    pos = size - 1 - (size_t)(next() % (size < 8192 ? size : 8192));
                uint8_t v = (uint8_t)next();
                buf[pos] = (next() & 1) ? v : (uint8_t)(buf[pos] ^ (1u << (v & 7)));
            }
            fail |= run_one(buf, size, &t) != 0;
        }
        printf("fuzz_elf: %s: %u opened and scanned (%u with sites); errors: corrupt %u, "
               "unsupported %u, format %u, nomem %u\n",
               argv[i], t.ok, t.sites, t.err[RW_E_CORRUPT], t.err[RW_E_UNSUPPORTED],
               t.err[RW_E_FORMAT], t.err[RW_E_NOMEM]);
        free(buf);
        free(orig);
        if (fail)
            break;
    }
    return fail;
}

/* fuzz_a64.c - deterministic mutation test of the arm64 scanner: for each
 * input file, thousands of copies whose executable sections have some
 * instruction words replaced (random words, single bit flips, words copied
 * from elsewhere, and a menu of the encodings the scanner reasons about:
 * bl/b near and far, adrp/add/ldr into x15/x16/x17, ldr literal, blr/br,
 * ret, cbz, b.cond, udf, bti, svc) are opened with the ELF back-end and
 * scanned, in a buffer of exactly the file's size, under ASan/UBSan. The
 * headers are not touched, so every mutant must open; each scan must
 * succeed and return sites that are in bounds, 4-byte aligned, 4 bytes
 * long, sorted, with a known form, verdict and cookie form and a one-line
 * reason. (tests/elf/fuzz_elf covers truncated and byte-flipped headers.)
 *
 * usage: fuzz_a64 [-n ITERATIONS] [-h HELPER] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "scan.h"

static uint64_t rng;

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

struct range {
    size_t off, size; /* file bytes of an executable section */
};

static const char *helper = "GenericPInvokeCalliHelper";

static enum rw_err open_scan(unsigned char *data, size_t size, struct rw_image *img,
                             struct rw_scan *sc, struct rw_diag *d)
{
    memset(img, 0, sizeof *img);
    img->path = "mutant";
    img->data = data;
    img->size = size;
    img->helper_name = helper;
    img->ops = &rw_elf_ops;
    enum rw_err e = rw_elf_ops.open(img, d);
    img->decode_all = 1; /* the decoder runs on every mutant (scan.c may skip it) */
    if (e == RW_OK)
        e = rw_scan_image(img, sc, d);
    return e;
}

/* A word the scanner has an opinion about. */
static uint32_t menu(uint32_t here)
{
    static const uint8_t regs[] = {15, 16, 17, 12, 9, 30, 0};
    unsigned r = regs[next() % sizeof regs];
    uint32_t imm = (uint32_t)next();
    switch (next() % 16) {
    case 0: return 0x94000000u | (imm & 0x3ffffffu);                 /* bl */
    case 1: return 0x14000000u | (imm & 0x3ffffffu);                 /* b */
    case 2: return (here & 0xfc000000u) | ((here + (uint32_t)(next() % 64) - 32) & 0x3ffffffu);
    case 3: return 0x90000000u | (imm & 0x60ffffe0u) | r;            /* adrp */
    case 4: return 0x91000000u | (imm & 0x3ffc00u) | r << 5 | r;     /* add xr, xr, #imm */
    case 5: return 0xf9400000u | (imm & 0x3ffc00u) | (unsigned)(next() % 32) << 5 | r; /* ldr */
    case 6: return 0x58000000u | (imm & 0xffffe0u) | r;              /* ldr literal */
    case 7: return 0xd63f0000u | r << 5;                             /* blr */
    case 8: return 0xd61f0000u | r << 5;                             /* br */
    case 9: return 0xd65f03c0u;                                      /* ret */
    case 10: return 0xb4000000u | (imm & 0xffffe0u) | r;             /* cbz */
    case 11: return 0x54000000u | (imm & 0xffffe0u) | (imm & 15);    /* b.cond */
    case 12: return 0x00000000u;                                     /* udf */
    case 13: return 0xd503245fu;                                     /* bti c */
    case 14: return 0xd4000001u;                                     /* svc #0 */
    default: return 0x10000000u | (imm & 0x60ffffe0u) | r;           /* adr */
    }
}

static int check(const struct rw_image *img, const struct rw_scan *sc)
{
    for (size_t i = 0; i < sc->nsites; i++) {
        const struct rw_site *s = &sc->sites[i];
        const char *why = NULL;
        if (s->section >= img->nsec || s->offset + 4 > img->sec[s->section].size)
            why = "out of its section";
        else if (s->offset % 4 || s->length != 4)
            why = "misaligned or not 4 bytes";
        else if (s->form < RW_FORM_BL || s->form > RW_FORM_BR)
            why = "not an arm64 form";
        else if (s->cookie_form != RW_COOKIE_NONE &&
                 (s->cookie_form < RW_COOKIE_ADRP_ADD || s->cookie_form > RW_COOKIE_LDR_LIT))
            why = "not an arm64 cookie form";
        else if (s->verdict > RW_SITE_NO_RELOCATION)
            why = "unknown verdict";
        else if (!memchr(s->reason, 0, sizeof s->reason) || strchr(s->reason, '\n') ||
                 (s->verdict == RW_SITE_OK) != (s->reason[0] == 0))
            why = "bad reason";
        else if (s->cookie_section != RW_NONE && s->cookie_section >= img->nsec)
            why = "cookie section out of range";
        else if (i && (sc->sites[i - 1].section > s->section ||
                       (sc->sites[i - 1].section == s->section &&
                        sc->sites[i - 1].offset >= s->offset)))
            why = "not sorted";
        if (why) {
            fprintf(stderr, "fuzz_a64: site %zu: %s\n", i, why);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned iters = 2000;
    int i = 1;
    while (i + 1 < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "-n"))
            iters = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "-h"))
            helper = argv[i + 1];
        else
            break;
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: fuzz_a64 [-n ITERATIONS] [-h HELPER] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) {
        size_t size;
        unsigned char *orig = slurp(argv[i], &size);
        if (!orig) {
            fprintf(stderr, "fuzz_a64: cannot read %s\n", argv[i]);
            return 2;
        }
        struct rw_image img;
        struct rw_scan sc;
        struct rw_diag d = {0};
        unsigned char *copy = malloc(size);
        memcpy(copy, orig, size);
        if (open_scan(copy, size, &img, &sc, &d) != RW_OK || img.machine != RW_MACH_AARCH64) {
            fprintf(stderr, "fuzz_a64: %s: not a scannable arm64 ELF file: %s\n", argv[i], d.msg);
            return 2;
        }
        size_t base_sites = sc.nsites;
        struct range rg[64];
        size_t nrg = 0, total = 0;
        for (size_t k = 0; k < img.nsec && nrg < 64; k++)
            if ((img.sec[k].flags & RW_SEC_EXEC) && img.sec[k].data && img.sec[k].size >= 4) {
                rg[nrg].off = (size_t)(img.sec[k].data - copy);
                rg[nrg].size = (size_t)img.sec[k].size & ~(size_t)3;
                total += rg[nrg++].size;
            }
        rw_scan_free(&sc);
        rw_elf_ops.close(&img);
        free(copy);
        if (!total) {
            fprintf(stderr, "fuzz_a64: %s: no executable section\n", argv[i]);
            return 2;
        }
        rng = 0x9e3779b97f4a7c15ull ^ size;
        unsigned long with_sites = 0, sites = 0, ok = 0;
        for (unsigned it = 0; it < iters; it++) {
            unsigned char *buf = malloc(size);
            memcpy(buf, orig, size);
            unsigned nmut = 1 + (unsigned)(next() % 24);
            for (unsigned m = 0; m < nmut; m++) {
                size_t pick = (size_t)(next() % total), k = 0;
                while (pick >= rg[k].size)
                    pick -= rg[k++].size;
                unsigned char *p = buf + rg[k].off + (pick & ~(size_t)3);
                uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24;
                switch (next() % 4) {
                case 0: w = (uint32_t)next(); break;
                case 1: w ^= 1u << (next() % 32); break;
                case 2: {
                    size_t q = rg[k].off + ((size_t)(next() % rg[k].size) & ~(size_t)3);
                    memcpy(&w, buf + q, 4);
                    break;
                }
                default: w = menu(w); break;
                }
                p[0] = (unsigned char)w, p[1] = (unsigned char)(w >> 8);
                p[2] = (unsigned char)(w >> 16), p[3] = (unsigned char)(w >> 24);
            }
            struct rw_diag dd = {0};
            enum rw_err e = open_scan(buf, size, &img, &sc, &dd);
            if (e != RW_OK) {
                fprintf(stderr, "fuzz_a64: %s: mutant %u: error %d: %s\n", argv[i], it, e, dd.msg);
                return 1;
            }
            if (check(&img, &sc)) {
                fprintf(stderr, "fuzz_a64: %s: mutant %u\n", argv[i], it);
                return 1;
            }
            with_sites += sc.nsites > 0;
            sites += sc.nsites;
            ok += sc.nok;
            rw_scan_free(&sc);
            rw_elf_ops.close(&img);
            free(buf);
        }
        printf("fuzz_a64: %s: %u code mutants scanned (%zu sites unmutated; mutants: %lu with "
               "sites, %lu sites, %lu rewritable)\n",
               argv[i], iters, base_sites, with_sites, sites, ok);
        free(orig);
    }
    return 0;
}

/* sign_tool.c - test driver for formats/macho_sign.c and formats/macho_fat.c
 * (tests/macho_sign/check.sh). Built with ASan/UBSan against libcallirw.a.
 *
 *   sign_tool info FILE                  what macho_sign_info reads
 *   sign_tool resign IN OUT [--page-shift N] [--ident S] [--flip OFF] [--keep-lc]
 *                                        a fresh signature with IN's identity
 *                                        (the old one zeroed first; with new
 *                                        options the signature is resized and
 *                                        LC_CODE_SIGNATURE / __LINKEDIT follow,
 *                                        unless --keep-lc: a caller's mistake)
 *   sign_tool probe FILE                 exit 0 when the fat probe claims FILE
 *   sign_tool split FAT                  the slices, one line each
 *   sign_tool join FAT OUT [I=FILE]...   split and join, slice I replaced
 *   sign_tool fuzz N FILE...             every header byte (fat table or
 *                                        signature blobs) set to edge values,
 *                                        then N random mutated and truncated
 *                                        copies, through probe/split/join and
 *                                        macho_sign_info
 *   sign_tool sha256 FILE                SHA-256 in odd-sized pieces (hex)
 *
 * Errors: one line on stderr, exit status 10 + the rw_err code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "macho_priv.h"
#include "macho_sign.h"
#include "sha256.h"

static int fail(const struct rw_diag *d, enum rw_err e)
{
    fprintf(stderr, "sign_tool: %s: %s\n", rw_strerror(e), d->msg);
    return 10 + (int)e;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(2);
    }
}

static int cmd_info(const char *path)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    struct macho_sig_info si;
    struct rw_diag d = {0};
    enum rw_err e = macho_sign_info(data, size, &si, &d);
    free(data);
    if (e)
        return fail(&d, e);
    if (!si.present)
        printf("unsigned\n");
    else
        printf("ident=%s flags=0x%x page_shift=%u exec_seg=0x%llx+0x%llx flags=0x%llx\n",
               si.ident, si.cd_flags, si.page_shift, (unsigned long long)si.exec_seg_base,
               (unsigned long long)si.exec_seg_limit, (unsigned long long)si.exec_seg_flags);
    return 0;
}

/* The driver's own load-command walk: LC_CODE_SIGNATURE and __LINKEDIT. */
static int find_cmds(uint8_t *p, size_t size, uint8_t **cs, uint8_t **le)
{
    *cs = *le = NULL;
    if (size < 32)
        return -1;
    uint32_t ncmds = macho_u32(p + 16), end = 32 + macho_u32(p + 20), off = 32;
    if (end > size)
        return -1;
    for (uint32_t i = 0; i < ncmds && off + 8 <= end; i++) {
        uint32_t cmd = macho_u32(p + off), sz = macho_u32(p + off + 4);
        if (sz < 8 || sz > end - off)
            return -1;
        if (cmd == MACHO_LC_CODE_SIGNATURE)
            *cs = p + off;
        if (cmd == MACHO_LC_SEGMENT_64 && !strcmp((char *)p + off + 8, "__LINKEDIT"))
            *le = p + off;
        off += sz;
    }
    return *cs ? 0 : -1;
}

static int cmd_resign(int argc, char **argv)
{
    size_t size;
    uint8_t *data = slurp(argv[0], &size);
    struct macho_sig_info si;
    struct rw_diag d = {0};
    enum rw_err e = macho_sign_info(data, size, &si, &d);
    if (e) {
        free(data);
        return fail(&d, e);
    }
    if (!si.present) {
        fprintf(stderr, "sign_tool: %s is not signed\n", argv[0]);
        return 2;
    }
    int keep_lc = 0;
    for (int i = 2; i < argc; i += 2) {
        if (!strcmp(argv[i], "--keep-lc")) {
            keep_lc = 1;
            i--;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sign_tool: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--page-shift"))
            si.page_shift = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ident"))
            snprintf(si.ident, sizeof si.ident, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--flip")) {
            size_t at = strtoul(argv[i + 1], NULL, 0);
            if (at < size)
                data[at] ^= 0x5a;
        } else {
            fprintf(stderr, "sign_tool: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    uint8_t *cs, *le;
    if (find_cmds(data, size, &cs, &le)) {
        fprintf(stderr, "sign_tool: no LC_CODE_SIGNATURE\n");
        return 2;
    }
    uint32_t off = macho_u32(cs + 8);
    size_t need = macho_sign_size(off, si.ident, si.page_shift);
    if (off > size) {
        fprintf(stderr, "sign_tool: signature offset past the end\n");
        return 2;
    }
    if (off + need != size) {
        /* resize: the signature is the file's (and __LINKEDIT's) tail */
        uint8_t *p = realloc(data, off + need);
        if (!p)
            return 2;
        data = p;
        size = off + need;
        find_cmds(data, size, &cs, &le);
        if (!keep_lc)
            macho_put32(cs + 12, (uint32_t)need);
        if (le && !keep_lc) {
            uint64_t fileoff = macho_u64(le + 40);
            macho_put64(le + 48, size - fileoff);
            macho_put64(le + 32, (size - fileoff + 0x3fff) & ~(uint64_t)0x3fff);
        }
    }
    memset(data + off, 0, need); /* nothing of the old signature may survive */
    e = macho_sign_write(data, size, off, (uint32_t)need, &si, &d);
    if (e) {
        free(data);
        return fail(&d, e);
    }
    spit(argv[1], data, size);
    free(data);
    return 0;
}

static int cmd_split(const char *path)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    struct rw_slice *s;
    size_t n;
    struct rw_diag d = {0};
    int probe = rw_macho_fat_ops.probe(data, size);
    enum rw_err e = rw_macho_fat_ops.split(data, size, &s, &n, &d);
    free(data);
    if (e)
        return fail(&d, e);
    printf("probe=%d\n", probe);
    for (size_t i = 0; i < n; i++)
        printf("%zu %s offset=0x%llx size=%llu align=%u\n", i, s[i].name,
               (unsigned long long)s[i].offset, (unsigned long long)s[i].size, s[i].align);
    free(s);
    return 0;
}

static int cmd_join(int argc, char **argv)
{
    size_t size;
    uint8_t *data = slurp(argv[0], &size);
    struct rw_slice *s;
    size_t n;
    struct rw_diag d = {0};
    enum rw_err e = rw_macho_fat_ops.split(data, size, &s, &n, &d);
    if (e) {
        free(data);
        return fail(&d, e);
    }
    struct rw_buf *outs = calloc(n, sizeof *outs), out = {0};
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        size_t k = strtoul(argv[i], NULL, 0);
        if (!eq || k >= n) {
            fprintf(stderr, "sign_tool: bad replacement %s\n", argv[i]);
            return 2;
        }
        outs[k].data = slurp(eq + 1, &outs[k].len);
    }
    e = rw_macho_fat_ops.join(data, size, s, n, outs, &out, &d);
    if (!e)
        spit(argv[1], out.data, out.len);
    for (size_t i = 0; i < n; i++)
        free(outs[i].data);
    free(outs);
    free(s);
    rw_buf_free(&out);
    free(data);
    return e ? fail(&d, e) : 0;
}

/* Deterministic xorshift, so that a failing run can be repeated. */
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* sig: the offset of the original's signature (0: none), whose headers get
 * a share of the mutations */
static void poke(const uint8_t *orig, size_t size, size_t sig, uint8_t *buf, size_t *n)
{
    memcpy(buf, orig, size);
    *n = size;
    int k = 1 + (int)(rnd() % 4);
    for (int i = 0; i < k; i++) {
        size_t at;
        uint64_t r = rnd() % 4;
        if (r == 0 || size < 64)
            at = rnd() % size;                /* anywhere */
        else if (r == 1)
            at = rnd() % 64;                  /* headers */
        else if (r == 2)
            at = sig && sig + 128 <= size ? sig + rnd() % 128     /* SuperBlob, CodeDirectory */
                                          : size - 1 - rnd() % (size < 512 ? size : 512);
        else
            at = 8 + rnd() % (size < 200 ? size - 8 : 192); /* fat arch table */
        buf[at] = (rnd() & 1) ? (uint8_t)rnd() : (uint8_t)(buf[at] ^ (1u << (rnd() % 8)));
    }
    if (rnd() % 8 == 0)
        *n = rnd() % size; /* truncated */
}

/* One mutated copy through everything; 0, or 1 on a contract breach (ASan
 * reports the rest). counts[err] tallies the outcomes. */
static int try_one(const uint8_t *buf, size_t n, unsigned counts[8])
{
    /* an exact-size copy, so that ASan sees any read past the end */
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, buf, n);
    struct rw_diag d = {0};
    struct macho_sig_info si;
    enum rw_err e = macho_sign_info(p, n, &si, &d);
    counts[e & 7]++;
    if (e == RW_OK && si.present && strnlen(si.ident, sizeof si.ident) == sizeof si.ident) {
        fprintf(stderr, "sign_tool: unterminated identifier\n");
        return 1;
    }
    (void)rw_macho_fat_ops.probe(p, n);
    struct rw_slice *s;
    size_t ns;
    e = rw_macho_fat_ops.split(p, n, &s, &ns, &d);
    counts[e & 7]++;
    if (e == RW_OK) {
        for (size_t i = 0; i < ns; i++)
            if (s[i].offset > n || s[i].size > n - s[i].offset) {
                fprintf(stderr, "sign_tool: split let a slice out of the file\n");
                return 1;
            }
        struct rw_buf out = {0};
        e = rw_macho_fat_ops.join(p, n, s, ns, NULL, &out, &d);
        if (e != RW_OK) {
            fprintf(stderr, "sign_tool: join refused what split accepted: %s\n", d.msg);
            return 1;
        }
        rw_buf_free(&out);
        free(s);
    }
    free(p);
    return 0;
}

static int cmd_fuzz(int argc, char **argv)
{
    long iters = strtol(argv[0], NULL, 0);
    unsigned counts[8] = {0};
    static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x7f, 0x01, 0x40};
    for (int f = 1; f < argc; f++) {
        size_t size;
        uint8_t *orig = slurp(argv[f], &size);
        if (!size)
            continue;
        uint8_t *buf = malloc(size), *cs, *le;
        memcpy(buf, orig, size);
        size_t sig = find_cmds(buf, size, &cs, &le) ? 0 : macho_u32(cs + 8);
        /* every byte of the headers that matter, set to each edge value:
         * the fat header and arch table, or the SuperBlob and CodeDirectory */
        size_t from = sig ? sig : 0, to = sig ? sig + 160 : 8 + 3 * 32;
        for (size_t at = from; at < to && at < size; at++)
            for (size_t v = 0; v < sizeof vals; v++) {
                memcpy(buf, orig, size);
                buf[at] = vals[v];
                if (try_one(buf, size, counts))
                    return 1;
            }
        for (long it = 0; it < iters; it++) {
            size_t n;
            poke(orig, size, sig, buf, &n);
            if (try_one(buf, n, counts))
                return 1;
        }
        free(buf);
        free(orig);
    }
    printf("fuzz: ok=%u format=%u corrupt=%u unsupported=%u\n", counts[RW_OK],
           counts[RW_E_FORMAT], counts[RW_E_CORRUPT], counts[RW_E_UNSUPPORTED]);
    return 0;
}

static int cmd_sha256(const char *path)
{
    size_t size;
    uint8_t *data = slurp(path, &size);
    struct rw_sha256 c;
    rw_sha256_init(&c);
    /* odd pieces cross the 64-byte block boundary every way */
    for (size_t at = 0, k = 1; at < size; k = k % 131 + 7) {
        size_t len = size - at < k ? size - at : k;
        rw_sha256_update(&c, data + at, len);
        at += len;
    }
    uint8_t h[RW_SHA256_SIZE];
    rw_sha256_final(&c, h);
    for (unsigned i = 0; i < RW_SHA256_SIZE; i++)
        printf("%02x", h[i]);
    printf("\n");
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "info"))
        return cmd_info(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "resign"))
        return cmd_resign(argc - 2, argv + 2);
    if (argc >= 3 && !strcmp(argv[1], "split"))
        return cmd_split(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "join"))
        return cmd_join(argc - 2, argv + 2);
    if (argc >= 4 && !strcmp(argv[1], "fuzz"))
        return cmd_fuzz(argc - 2, argv + 2);
    if (argc >= 3 && !strcmp(argv[1], "probe")) {
        size_t size;
        uint8_t *data = slurp(argv[2], &size);
        int r = rw_macho_fat_ops.probe(data, size);
        free(data);
        return r ? 0 : 1;
    }
    if (argc >= 3 && !strcmp(argv[1], "sha256"))
        return cmd_sha256(argv[2]);
    fprintf(stderr, "usage: sign_tool info|resign|probe|split|join|fuzz|sha256 ...\n");
    return 2;
}

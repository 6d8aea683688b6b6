/* unw_test.c - drives macho_unwind_rebuild (formats/macho_unwind.c) on the
 * __TEXT,__unwind_info of real Mach-O images (docs/macho-unwind.md).
 *
 *   unw_test rebuild IN OUT [N STEP GAP ENC,ENC,...]
 *       Rebuilds IN's table with N functions added, the first GAP bytes
 *       above the old table's end, STEP bytes apart, encodings cycling
 *       through the list (hex); end = the last + STEP. OUT is a copy of IN
 *       whose __unwind_info header points at the new table, appended to the
 *       file (so that llvm-objdump decodes it whatever its size). Prints the
 *       old end, the new end and every added (offset, encoding), for the
 *       checker (check.py). The new table must also rebuild to itself.
 *   unw_test fuzz IN N
 *       N mutants of IN's table (fields set to hostile values, bytes
 *       flipped, truncations), each in a buffer of exactly its size for
 *       ASan: every one must be rebuilt or refused as CORRUPT/UNSUPPORTED
 *       with a one-line message; a rebuilt one must rebuild to itself.
 *   unw_test api
 *       The interface's refusals (unsorted adds, adds below the old end,
 *       LSDA flags, a bad end, a NULL table) and a table built from nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    *size = p ? (size_t)n : 0;
    return p;
}

/* The image offset of __TEXT,__unwind_info's section_64 header, or 0; *seg
 * gets its segment command's. A small bounds-checked walk of the load
 * commands (thin 64-bit images). */
static size_t find_unwind(const uint8_t *img, size_t size, size_t *seg)
{
    if (size < MACHO_HEADER_SIZE || le32(img) != MACHO_MH_MAGIC_64)
        return 0;
    uint32_t ncmds = le32(img + 16), sizeofcmds = le32(img + 20);
    if (sizeofcmds > size - MACHO_HEADER_SIZE)
        return 0;
    size_t at = MACHO_HEADER_SIZE, end = MACHO_HEADER_SIZE + (size_t)sizeofcmds;
    for (uint32_t i = 0; i < ncmds; i++) {
        if (end - at < 8)
            return 0;
        uint32_t cmd = le32(img + at), cmdsize = le32(img + at + 4);
        if (cmdsize < 8 || cmdsize > end - at)
            return 0;
        if (cmd == MACHO_LC_SEGMENT_64 && cmdsize >= MACHO_SEGMENT_CMD_SIZE) {
            uint32_t nsects = le32(img + at + 64);
            if (nsects > (cmdsize - MACHO_SEGMENT_CMD_SIZE) / MACHO_SECTION_SIZE)
                return 0;
            for (uint32_t s = 0; s < nsects; s++) {
                size_t h = at + MACHO_SEGMENT_CMD_SIZE + (size_t)s * MACHO_SECTION_SIZE;
                if (!strncmp((const char *)img + h, "__unwind_info", 16) &&
                    !strncmp((const char *)img + h + 16, "__TEXT", 16)) {
                    *seg = at;
                    return h;
                }
            }
        }
        at += cmdsize;
    }
    return 0;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* The section's bytes (offset at h + 48, size at h + 40). */
static int section_bytes(const uint8_t *img, size_t size, size_t h, const uint8_t **p, size_t *n)
{
    uint64_t sz = (uint64_t)le32(img + h + 40) | (uint64_t)le32(img + h + 44) << 32;
    uint32_t off = le32(img + h + 48);
    if (off > size || sz > size - off)
        return -1;
    *p = img + off;
    *n = (size_t)sz;
    return 0;
}

/* The old table's end (its sentinel's function offset), read independently
 * of the rebuild so that the driver can place the adds. */
static uint32_t table_end(const uint8_t *t, size_t n)
{
    if (n < 28)
        return 0;
    uint32_t ix = le32(t + 20), nix = le32(t + 24);
    if (!nix || ix > n || (uint64_t)nix * 12 > n - ix)
        return 0;
    return le32(t + ix + 12 * ((size_t)nix - 1));
}

/* A table rebuilt with no adds and the same end must come back unchanged:
 * the layout is canonical, and the reader accepts what the writer makes. */
static int check_fixpoint(const struct rw_buf *b, uint32_t end, const char *what)
{
    uint8_t *copy = malloc(b->len ? b->len : 1);
    if (!copy)
        return -1;
    memcpy(copy, b->data, b->len);
    struct rw_buf again = {0};
    struct rw_diag d = {0};
    enum rw_err e = macho_unwind_rebuild(copy, b->len, NULL, 0, end, &again, &d);
    int bad = e != RW_OK || again.len != b->len || memcmp(again.data, b->data, b->len);
    if (bad)
        fprintf(stderr, "unw_test: %s: the new table does not rebuild to itself (%s%s%s)\n", what, rw_strerror(e),
                e ? ": " : "", e ? d.msg : "");
    free(copy);
    rw_buf_free(&again);
    return bad ? -1 : 0;
}

static int cmd_rebuild(int argc, char **argv)
{
    int rc = 2;
    size_t size, seg = 0;
    uint8_t *img = slurp(argv[2], &size), *o = NULL;
    struct macho_unwind_add *adds = NULL;
    struct rw_buf b = {0};
    const uint8_t *sec;
    size_t n, h = img ? find_unwind(img, size, &seg) : 0;
    if (!h || section_bytes(img, size, h, &sec, &n)) {
        fprintf(stderr, "unw_test: %s has no readable __TEXT,__unwind_info\n", argv[2]);
        goto out;
    }
    uint32_t old_end = table_end(sec, n);
    size_t nadd = 0;
    uint32_t step = 16, gap = 0, encs[512], nenc = 0;
    if (argc == 8) {
        nadd = strtoul(argv[4], NULL, 0);
        step = (uint32_t)strtoul(argv[5], NULL, 0);
        gap = (uint32_t)strtoul(argv[6], NULL, 0);
        for (char *s = argv[7]; *s && nenc < 512;) {
            encs[nenc++] = (uint32_t)strtoul(s, &s, 16);
            if (*s == ',')
                s++;
        }
    }
    adds = calloc(nadd ? nadd : 1, sizeof *adds);
    if (!adds || (nadd && (!nenc || !step)))
        goto out;
    printf("old_end 0x%x\n", old_end);
    for (size_t i = 0; i < nadd; i++) {
        adds[i].func_off = old_end + gap + (uint32_t)i * step;
        adds[i].encoding = encs[i % nenc];
        printf("add 0x%x 0x%08x\n", adds[i].func_off, adds[i].encoding);
    }
    uint32_t end = nadd ? adds[nadd - 1].func_off + step : old_end;
    printf("end 0x%x\n", end);

    struct rw_diag d = {0};
    enum rw_err e = macho_unwind_rebuild(sec, n, adds, nadd, end, &b, &d);
    rc = 1;
    if (e) {
        fprintf(stderr, "unw_test: %s: rebuild: %s: %s\n", argv[2], rw_strerror(e), d.msg);
        goto out;
    }
    if (check_fixpoint(&b, end, argv[2]))
        goto out;
    printf("size 0x%zx -> 0x%zx\n", n, b.len);

    /* the copy: file + padding to 4 + the new table; the header points at
     * it. A table grown past its segment's end moves (in address only) to
     * the segment's start, which llvm-objdump accepts and does not use. */
    rc = 2;
    size_t at = (size + 3) & ~(size_t)3;
    if (at + b.len > UINT32_MAX || !(o = calloc(at + b.len, 1)))
        goto out;
    memcpy(o, img, size);
    memcpy(o + at, b.data, b.len);
    uint64_t vmaddr = le64(img + seg + 24), vmsize = le64(img + seg + 32);
    if (le64(img + h + 32) - vmaddr + b.len > vmsize) {
        if (b.len > vmsize) {
            fprintf(stderr, "unw_test: %s: the new table is larger than its segment\n", argv[2]);
            goto out;
        }
        put64(o + h + 32, vmaddr);
    }
    put64(o + h + 40, b.len);
    put32(o + h + 48, (uint32_t)at);
    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(o, 1, at + b.len, f) != at + b.len || fclose(f)) {
        fprintf(stderr, "unw_test: cannot write the copy\n");
        goto out;
    }
    rc = 0;
out:
    free(o);
    free(adds);
    free(img);
    rw_buf_free(&b);
    return rc;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Hostile values for a 32-bit or 16-bit field. */
static uint32_t hostile(size_t n)
{
    static const uint32_t v[] = {0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000,
                                 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff};
    uint64_t r = next();
    switch (r % 4) {
    case 0: return (uint32_t)n;
    case 1: return (uint32_t)n - 4 * (uint32_t)(r >> 8 & 3);
    case 2: return (uint32_t)(r >> 16);
    default: return v[(r >> 8) % (sizeof v / sizeof v[0])];
    }
}

/* One mutant: e must be OK (and the output a fixpoint), CORRUPT or
 * UNSUPPORTED with a message; tallies by outcome. */
static int try_mutant(const uint8_t *m, size_t n, unsigned *ok, unsigned *refused)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return -1;
    memcpy(copy, m, n);
    static const struct macho_unwind_add adds[] = {{0xf0000000u, 0x04000000u}, {0xf0000100u, 0x02000000u}};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        struct rw_buf b = {0};
        struct rw_diag d = {0};
        uint32_t end = k ? 0xf0000200u : 0xffffffffu;
        enum rw_err e = macho_unwind_rebuild(copy, n, adds, k ? 2 : 0, end, &b, &d);
        if (e == RW_OK) {
            ++*ok;
            rc = check_fixpoint(&b, end, "mutant");
        } else if ((e == RW_E_CORRUPT || e == RW_E_UNSUPPORTED) && d.msg[0] && !strchr(d.msg, '\n')) {
            ++*refused;
        } else {
            fprintf(stderr, "unw_test: mutant: unexpected %s: \"%s\"\n", rw_strerror(e), d.msg);
            rc = -1;
        }
        rw_buf_free(&b);
    }
    free(copy);
    return rc;
}

static int cmd_fuzz(char **argv)
{
    size_t size, seg;
    uint8_t *img = slurp(argv[2], &size), *m = NULL;
    size_t h = img ? find_unwind(img, size, &seg) : 0;
    const uint8_t *sec;
    size_t n;
    int rc = 1;
    if (!h || section_bytes(img, size, h, &sec, &n) || n < 28 || !(m = malloc(n))) {
        fprintf(stderr, "unw_test: %s has no readable __TEXT,__unwind_info\n", argv[2]);
        rc = 2;
        goto out;
    }
    unsigned long iters = strtoul(argv[3], NULL, 0);
    unsigned ok = 0, refused = 0;
    /* the original is accepted */
    if (try_mutant(sec, n, &ok, &refused) || refused)
        goto out;
    for (unsigned long it = 0; it < iters; it++) {
        memcpy(m, sec, n);
        size_t len = n;
        uint64_t r = next();
        int changes = 1 + (int)(r % 3);
        for (int c = 0; c < changes; c++) {
            r = next();
            switch (r % 5) {
            case 0: /* a header field */
                put32(m + 4 * (1 + (r >> 8) % 6), hostile(n));
                break;
            case 1: /* an aligned word anywhere (index entries, page headers, entries) */
                put32(m + 4 * ((r >> 8) % (n / 4)), hostile(n));
                break;
            case 2: { /* a 16-bit page field */
                size_t at = 2 * ((r >> 8) % (n / 2));
                uint32_t v = hostile(n);
                m[at] = (uint8_t)v;
                m[at + 1] = (uint8_t)(v >> 8);
                break;
            }
            case 3: /* a byte */
                m[(r >> 8) % n] ^= (uint8_t)(1u << (r >> 40 & 7));
                break;
            default: /* truncation */
                len = (size_t)((r >> 8) % (len + 1));
                break;
            }
        }
        if (try_mutant(m, len, &ok, &refused))
            goto out;
    }
    /* every prefix of the first 256 bytes (header, arrays, first level) */
    for (size_t len = 0; len < n && len < 256; len++)
        if (try_mutant(sec, len, &ok, &refused))
            goto out;
    printf("unw_test: fuzz %s: %lu mutants: %u rebuilds accepted, %u refused, no crash\n", argv[2], iters, ok, refused);
    rc = 0;
out:
    free(m);
    free(img);
    return rc;
}

/* ---- the interface's own refusals ---- */

static int expect(const char *what, enum rw_err got, enum rw_err want, const struct rw_diag *d)
{
    if (got == want && (want == RW_OK || d->msg[0]))
        return 0;
    fprintf(stderr, "unw_test: api: %s: got %s (%s), want %s\n", what, rw_strerror(got), d->msg, rw_strerror(want));
    return 1;
}

static int cmd_api(void)
{
    int bad = 0;
    struct rw_buf b = {0};
    struct rw_diag d = {0};
    /* from nothing: two functions, then the same table with one more */
    struct macho_unwind_add two[] = {{0x1000, 0x04000000}, {0x1010, 0x02000000}};
    bad |= expect("from nothing", macho_unwind_rebuild(NULL, 0, two, 2, 0x1020, &b, &d), RW_OK, &d);
    bad |= check_fixpoint(&b, 0x1020, "from nothing") != 0;
    struct rw_buf b2 = {0};
    struct macho_unwind_add more[] = {{0x1040, 0x02010000}};
    bad |= expect("one more", macho_unwind_rebuild(b.data, b.len, more, 1, 0x1050, &b2, &d), RW_OK, &d);
    /* entries: 0x1000, 0x1010, gap 0x1020 (encoding 0), 0x1040; sentinel 0x1050 */
    if (!bad && (le32(b2.data + 24) != 2 || le32(b2.data + le32(b2.data + 20) + 12) != 0x1050)) {
        fprintf(stderr, "unw_test: api: one more: wrong first level\n");
        bad = 1;
    }
    rw_buf_free(&b2);

    struct macho_unwind_add unsorted[] = {{0x2000, 0x04000000}, {0x2000, 0x04000000}};
    bad |= expect("unsorted", macho_unwind_rebuild(b.data, b.len, unsorted, 2, 0x3000, &b2, &d), RW_E_INTERNAL, &d);
    struct macho_unwind_add below[] = {{0x1018, 0x04000000}};
    bad |= expect("below the old end", macho_unwind_rebuild(b.data, b.len, below, 1, 0x3000, &b2, &d), RW_E_CORRUPT, &d);
    struct macho_unwind_add lsda[] = {{0x2000, 0x44000000}};
    bad |= expect("LSDA flag", macho_unwind_rebuild(b.data, b.len, lsda, 1, 0x3000, &b2, &d), RW_E_INTERNAL, &d);
    struct macho_unwind_add pers[] = {{0x2000, 0x14000000}};
    bad |= expect("personality", macho_unwind_rebuild(b.data, b.len, pers, 1, 0x3000, &b2, &d), RW_E_INTERNAL, &d);
    struct macho_unwind_add ok1[] = {{0x2000, 0x04000000}};
    bad |= expect("end not past", macho_unwind_rebuild(b.data, b.len, ok1, 1, 0x2000, &b2, &d), RW_E_INTERNAL, &d);
    bad |= expect("end below", macho_unwind_rebuild(b.data, b.len, NULL, 0, 0x1018, &b2, &d), RW_E_INTERNAL, &d);
    bad |= expect("NULL table", macho_unwind_rebuild(NULL, 8, NULL, 0, 0x1018, &b2, &d), RW_E_INTERNAL, &d);
    bad |= expect("NULL adds", macho_unwind_rebuild(b.data, b.len, NULL, 1, 0x3000, &b2, &d), RW_E_INTERNAL, &d);
    put32(b.data, 2);
    bad |= expect("version 2", macho_unwind_rebuild(b.data, b.len, NULL, 0, 0x1020, &b2, &d), RW_E_UNSUPPORTED, &d);
    if (b2.len) {
        fprintf(stderr, "unw_test: api: a refused rebuild wrote %zu bytes\n", b2.len);
        bad = 1;
    }
    rw_buf_free(&b);
    rw_buf_free(&b2);
    if (!bad)
        printf("unw_test: api: refusals and a table from nothing ok\n");
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "rebuild"))
        return cmd_rebuild(argc, argv);
    if (argc == 8 && !strcmp(argv[1], "rebuild"))
        return cmd_rebuild(argc, argv);
    if (argc == 4 && !strcmp(argv[1], "fuzz"))
        return cmd_fuzz(argv);
    if (argc == 2 && !strcmp(argv[1], "api"))
        return cmd_api();
    fprintf(stderr, "usage: unw_test rebuild IN OUT [N STEP GAP ENCS] | fuzz IN N | api\n");
    return 2;
}

/* macho_fat.c - fat (universal) files as containers of thin images
 * (docs/macho-signing.md, "Fat files").
 *
 * A fat header is big-endian: magic (FAT_MAGIC 0xcafebabe with 20-byte
 * fat_arch entries, FAT_MAGIC_64 0xcafebabf with 32-byte fat_arch_64
 * entries), nfat_arch, then the entries. Java class files share 0xcafebabe
 * (their version numbers sit where nfat_arch is), so the probe also wants a
 * small count and every slice inside the file. What a slice holds is the
 * thin back-end's business, not ours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

#define FAT_MAX_ARCH 64u   /* more is not a plausible fat file */
#define FAT_MAX_ALIGN 20u  /* 1 MiB; lipo uses 12 (4 KiB) or 14 (16 KiB) */
#define FAT_HDR 8u
#define FAT_ARCH 20u
#define FAT_ARCH_64 32u

struct fat_entry {
    uint32_t cputype, cpusubtype, align, reserved;
    uint64_t offset, size;
};

struct fat_hdr {
    int wide;           /* FAT_MAGIC_64 */
    uint32_t n;
    uint64_t table_end; /* first byte after the arch table */
    struct fat_entry e[FAT_MAX_ARCH];
};

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)macho_be32(p) << 32 | macho_be32(p + 4);
}
static void put_be64(uint8_t *p, uint64_t v)
{
    macho_put_be32(p, (uint32_t)(v >> 32));
    macho_put_be32(p + 4, (uint32_t)v);
}

/* Read and check the header: count, table, every slice inside the file
 * after the table, sane alignment; with strict, also no two slices
 * overlapping and no architecture twice. */
static enum rw_err fat_read(const uint8_t *data, size_t size, int strict, struct fat_hdr *h,
                            struct rw_diag *d)
{
    memset(h, 0, sizeof *h);
    if (size < FAT_HDR)
        return rw_fail(d, RW_E_FORMAT, "not a fat Mach-O file");
    uint32_t magic = macho_be32(data);
    if (magic != MACHO_FAT_MAGIC && magic != MACHO_FAT_MAGIC_64)
        return rw_fail(d, RW_E_FORMAT, "not a fat Mach-O file");
    h->wide = magic == MACHO_FAT_MAGIC_64;
    h->n = macho_be32(data + 4);
    if (h->n == 0 || h->n > FAT_MAX_ARCH)
        return rw_fail(d, RW_E_CORRUPT, "fat header: implausible slice count %u", h->n);
    uint32_t esz = h->wide ? FAT_ARCH_64 : FAT_ARCH;
    h->table_end = FAT_HDR + (uint64_t)h->n * esz;
    if (h->table_end > size)
        return rw_fail(d, RW_E_CORRUPT, "fat header: %u arch entries run past the end", h->n);
    for (uint32_t i = 0; i < h->n; i++) {
        const uint8_t *p = data + FAT_HDR + (size_t)i * esz;
        struct fat_entry *e = &h->e[i];
        e->cputype = macho_be32(p);
        e->cpusubtype = macho_be32(p + 4);
        if (h->wide) {
            e->offset = be64(p + 8);
            e->size = be64(p + 16);
            e->align = macho_be32(p + 24);
            e->reserved = macho_be32(p + 28);
        } else {
            e->offset = macho_be32(p + 8);
            e->size = macho_be32(p + 12);
            e->align = macho_be32(p + 16);
        }
        if (e->size == 0)
            return rw_fail(d, RW_E_CORRUPT, "fat slice %u is empty", i);
        if (e->offset < h->table_end || e->offset > size ||
            e->size > size - e->offset)
            return rw_fail(d, RW_E_CORRUPT,
                           "fat slice %u (offset 0x%llx, %llu bytes) lies outside the file", i,
                           (unsigned long long)e->offset, (unsigned long long)e->size);
        if (e->align > FAT_MAX_ALIGN)
            return rw_fail(d, RW_E_CORRUPT, "fat slice %u: implausible alignment 2^%u", i,
                           e->align);
    }
    if (!strict)
        return RW_OK;
    for (uint32_t i = 0; i < h->n; i++)
        for (uint32_t j = i + 1; j < h->n; j++) {
            const struct fat_entry *a = &h->e[i], *b = &h->e[j];
            if (a->offset < b->offset + b->size && b->offset < a->offset + a->size)
                return rw_fail(d, RW_E_CORRUPT, "fat slices %u and %u overlap", i, j);
            if (a->cputype == b->cputype &&
                ((a->cpusubtype ^ b->cpusubtype) & ~MACHO_CPU_SUBTYPE_MASK) == 0)
                return rw_fail(d, RW_E_CORRUPT, "fat slices %u and %u have the same architecture",
                               i, j);
        }
    return RW_OK;
}

/* A name for messages, as lipo spells it. */
static void arch_name(uint32_t cpu, uint32_t sub, char name[24])
{
    sub &= ~MACHO_CPU_SUBTYPE_MASK;
    const char *s = NULL;
    switch (cpu) {
    case MACHO_CPU_TYPE_X86_64: s = sub == 8 ? "x86_64h" : "x86_64"; break;
    case 7u: s = "i386"; break;
    case MACHO_CPU_TYPE_ARM64: s = sub == MACHO_CPU_SUBTYPE_ARM64E ? "arm64e" : "arm64"; break;
    case 12u | 0x02000000u: s = "arm64_32"; break;
    case 12u:
        s = sub == 9 ? "armv7" : sub == 11 ? "armv7s" : sub == 12 ? "armv7k" : sub == 6 ? "armv6"
                                                                                    : "arm";
        break;
    case 18u: s = "ppc"; break;
    case 18u | MACHO_CPU_ARCH_ABI64: s = "ppc64"; break;
    }
    if (s)
        snprintf(name, 24, "%s", s);
    else
        snprintf(name, 24, "cpu 0x%x", cpu);
}

static int fat_probe(const uint8_t *data, size_t size)
{
    struct fat_hdr *h = malloc(sizeof *h);
    if (!h)
        return 0;
    int ok = fat_read(data, size, 0, h, NULL) == RW_OK;
    free(h);
    return ok;
}

static enum rw_err fat_split(const uint8_t *data, size_t size, struct rw_slice **slices,
                             size_t *n, struct rw_diag *d)
{
    *slices = NULL;
    *n = 0;
    struct fat_hdr *h = malloc(sizeof *h);
    if (!h)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    enum rw_err e = fat_read(data, size, 1, h, d);
    if (e) {
        free(h);
        return e;
    }
    struct rw_slice *s = calloc(h->n, sizeof *s);
    if (!s) {
        free(h);
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < h->n; i++) {
        s[i].offset = h->e[i].offset;
        s[i].size = h->e[i].size;
        s[i].align = h->e[i].align;
        arch_name(h->e[i].cputype, h->e[i].cpusubtype, s[i].name);
    }
    *slices = s;
    *n = h->n;
    free(h);
    return RW_OK;
}

/* The new layout: slices in their original file order, each at a multiple
 * of its alignment, right after the previous one (as lipo lays them out). */
static enum rw_err fat_layout(const struct fat_hdr *h, const uint64_t *nsize, uint64_t *noff,
                              uint64_t *total, struct rw_diag *d)
{
    int done[FAT_MAX_ARCH] = {0};
    uint64_t pos = h->table_end;
    for (uint32_t k = 0; k < h->n; k++) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < h->n; i++)
            if (!done[i] && (best == UINT32_MAX || h->e[i].offset < h->e[best].offset))
                best = i;
        done[best] = 1;
        uint64_t a = (uint64_t)1 << h->e[best].align;
        if (pos > UINT64_MAX - a || nsize[best] > (UINT64_MAX >> 1))
            return rw_fail(d, RW_E_NOROOM, "fat file too large");
        pos = (pos + a - 1) & ~(a - 1);
        noff[best] = pos;
        if (nsize[best] > UINT64_MAX - pos)
            return rw_fail(d, RW_E_NOROOM, "fat file too large");
        pos += nsize[best];
        if (!h->wide && pos > UINT32_MAX)
            return rw_fail(d, RW_E_NOROOM,
                           "fat file would pass 4 GiB: its 32-bit header cannot say where "
                           "slice %u lies", best);
    }
    *total = pos;
    return RW_OK;
}

static enum rw_err fat_join(const uint8_t *data, size_t size, const struct rw_slice *slices,
                            size_t n, const struct rw_buf *outs, struct rw_buf *out,
                            struct rw_diag *d)
{
    struct fat_hdr *h = malloc(sizeof *h);
    if (!h)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    enum rw_err e = fat_read(data, size, 1, h, d);
    if (e)
        goto done;
    if (n != h->n) {
        e = rw_fail(d, RW_E_INTERNAL, "fat join: %zu slices given, the header has %u", n, h->n);
        goto done;
    }
    const uint8_t *src[FAT_MAX_ARCH];
    uint64_t nsize[FAT_MAX_ARCH], noff[FAT_MAX_ARCH], total = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        if (slices[i].offset != h->e[i].offset || slices[i].size != h->e[i].size) {
            e = rw_fail(d, RW_E_INTERNAL, "fat join: slice %u is not the header's", i);
            goto done;
        }
        if (outs && outs[i].data) {
            src[i] = outs[i].data;
            nsize[i] = outs[i].len;
        } else {
            src[i] = data + h->e[i].offset;
            nsize[i] = h->e[i].size;
        }
        if (nsize[i] == 0) {
            e = rw_fail(d, RW_E_INTERNAL, "fat join: slice %u is empty", i);
            goto done;
        }
    }
    e = fat_layout(h, nsize, noff, &total, d);
    if (e)
        goto done;
    if (total > SIZE_MAX - out->len) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    size_t base = out->len;
    e = rw_buf_reserve(out, base + (size_t)total);
    if (e) {
        rw_fail(d, e, "out of memory");
        goto done;
    }
    uint8_t *o = out->data + base;
    memset(o, 0, (size_t)total); /* the padding between slices */
    macho_put_be32(o, h->wide ? MACHO_FAT_MAGIC_64 : MACHO_FAT_MAGIC);
    macho_put_be32(o + 4, h->n);
    for (uint32_t i = 0; i < h->n; i++) {
        uint8_t *p = o + FAT_HDR + (size_t)i * (h->wide ? FAT_ARCH_64 : FAT_ARCH);
        macho_put_be32(p, h->e[i].cputype);
        macho_put_be32(p + 4, h->e[i].cpusubtype);
        if (h->wide) {
            put_be64(p + 8, noff[i]);
            put_be64(p + 16, nsize[i]);
            macho_put_be32(p + 24, h->e[i].align);
            macho_put_be32(p + 28, h->e[i].reserved);
        } else {
            macho_put_be32(p + 8, (uint32_t)noff[i]);
            macho_put_be32(p + 12, (uint32_t)nsize[i]);
            macho_put_be32(p + 16, h->e[i].align);
        }
        memcpy(o + noff[i], src[i], (size_t)nsize[i]);
    }
    out->len = base + (size_t)total;
done:
    free(h);
    return e;
}

const struct rw_container_ops rw_macho_fat_ops = {
    .name = "Mach-O fat",
    .probe = fat_probe,
    .split = fat_split,
    .join = fat_join,
};

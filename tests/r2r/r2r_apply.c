/* r2r_apply.c - a test-only stand-in for the image writer around
 * pe_r2r_rewrite (formats/pe_write_r2r.c; docs/r2r.md, "Proof").
 *
 *   r2r_apply IN OUT NSTUBS [--no-crwmap] [--no-pdata]
 *
 * Appends to the linked PE32+ image IN what a rewrite of a ReadyToRun image
 * adds, with NSTUBS stand-in stubs instead of real ones (the sites are not
 * redirected: that is the image writer's part):
 *   .stubtx  NSTUBS stubs (`ret`, 16 bytes each) and their UNWIND_INFOs;
 *   .r2rdat  at at_rva: what pe_r2r_rewrite appends (the new RuntimeFunctions
 *            table with the stubs' entries, the map, the relocated header),
 *            then the PE exception directory rebuilt (old entries + stubs');
 *   .crwmap  the rewrite map (unless --no-crwmap), as the image writer adds.
 * The edits pe_r2r_rewrite returns (the CLI header's ManagedNativeHeader) are
 * applied; data directory 3 points at the rebuilt exception table (with
 * --no-pdata it is left alone: a negative control, the program's
 * RtlLookupFunctionEntry check must then fail on the stubs' entries).
 * Exit: 0 written; 2 pe_r2r_rewrite refused (its one line on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "map.h"
#include "pe_r2r.h"
#include "pe_write.h"

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) / a * a;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* host is little-endian (x86-64) */
}

static void die(const char *what)
{
    fprintf(stderr, "r2r_apply: %s\n", what);
    exit(3);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: r2r_apply IN OUT NSTUBS [--no-crwmap] [--no-pdata]");
    unsigned nstubs = (unsigned)atoi(argv[3]);
    int crwmap = 1, pdata = 1;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--no-crwmap"))
            crwmap = 0;
        else if (!strcmp(argv[i], "--no-pdata"))
            pdata = 0;
        else
            die("unknown option");
    }
    if (nstubs < 1 || nstubs > 64)
        die("NSTUBS: 1..64");
    struct rw_image img;
    struct rw_diag d = {0};
    if (rw_image_open(&img, argv[1], NULL, &d)) {
        fprintf(stderr, "r2r_apply: %s: %s\n", argv[1], d.msg);
        return 2;
    }
    const struct pe_state *st = pe_st(&img);
    if (!st || st->object || !st->r2r)
        die("not a ReadyToRun image");
    const uint8_t *in = img.data;
    size_t in_size = img.size;
    uint32_t opt = st->pe_off + 24;
    uint32_t shdr = opt + (in[st->pe_off + 20] | in[st->pe_off + 21] << 8);
    uint32_t sa = st->section_alignment, fa = st->file_alignment;
    uint32_t first_raw = st->size_of_headers, va_end = 0;
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *s = in + shdr + 40 * i;
        uint32_t vs, va, raw, ptr;
        memcpy(&vs, s + 8, 4), memcpy(&va, s + 12, 4), memcpy(&raw, s + 16, 4), memcpy(&ptr, s + 20, 4);
        if (raw && ptr < first_raw)
            first_raw = ptr;
        if (align_up(va + vs, sa) > va_end)
            va_end = align_up(va + vs, sa);
    }
    if (shdr + 40 * (st->nsec + 3) > first_raw)
        die("no room for three more section headers");

    /* .stubtx: the stand-in stubs and their unwind data */
    uint32_t text_rva = va_end, ncode = 16 * nstubs, text_size = ncode + 4 * nstubs;
    uint8_t *text = calloc(1, text_size);
    uint8_t *stub_rf = calloc(nstubs, 12);
    if (!text || !stub_rf)
        die("out of memory");
    struct rw_map_stub *ms = calloc(nstubs, sizeof *ms);
    if (!ms)
        die("out of memory");
    for (unsigned i = 0; i < nstubs; i++) {
        memset(text + 16 * i, 0xCC, 16);
        text[16 * i] = 0xC3;
        text[ncode + 4 * i] = 0x01; /* UNWIND_INFO version 1, no prologue */
        put32(stub_rf + 12 * i, text_rva + 16 * i);
        put32(stub_rf + 12 * i + 4, text_rva + 16 * i + 1);
        put32(stub_rf + 12 * i + 8, text_rva + ncode + 4 * i);
        ms[i] = (struct rw_map_stub){st->image_base + text_rva + 16 * i, 16, "i4_i4_i4", "int32 (int32, int32)", 0, 0};
    }
    struct rw_map m = {.machine = 1, .flags = 0, .stubs = ms, .nstubs = nstubs};
    uint8_t *map;
    size_t map_len;
    if (rw_map_encode(&m, &map, &map_len, &d))
        die(d.msg);

    /* .r2rdat: pe_r2r_rewrite's bytes at at_rva, then the exception table */
    uint32_t data_rva = align_up(text_rva + text_size, sa);
    struct rw_buf add = {0};
    struct pe_edits edits = {0};
    enum rw_err e = pe_r2r_rewrite(&img, stub_rf, nstubs, map, map_len, data_rva, &add, &edits, &d);
    if (e) {
        fprintf(stderr, "r2r_apply: %s\n", d.msg);
        return 2;
    }
    while (add.len % 8)
        if (rw_buf_append(&add, "", 1))
            die("out of memory");
    uint32_t pdata_rva = data_rva + (uint32_t)add.len;
    const uint8_t *old_pdata = st->dir_size[PE_DIR_EXCEPTION]
                                   ? pe_rva_bytes(&img, st->dir_rva[PE_DIR_EXCEPTION], st->dir_size[PE_DIR_EXCEPTION])
                                   : NULL;
    if (st->dir_size[PE_DIR_EXCEPTION] && !old_pdata)
        die("exception directory outside the image");
    if (rw_buf_append(&add, old_pdata, st->dir_size[PE_DIR_EXCEPTION]) ||
        rw_buf_append(&add, stub_rf, 12 * (size_t)nstubs))
        die("out of memory");
    uint32_t pdata_size = st->dir_size[PE_DIR_EXCEPTION] + 12 * nstubs;
    uint32_t map_rva = align_up(data_rva + (uint32_t)add.len, sa);

    /* the output: the input, the new sections' raw data, headers, edits */
    struct { const char *name; uint32_t rva, size, flags; const uint8_t *bytes; } ns[3] = {
        {".stubtx", text_rva, text_size, 0x60000020u, text},
        {".r2rdat", data_rva, (uint32_t)add.len, 0x40000040u, add.data},
        {".crwmap", map_rva, (uint32_t)map_len, 0x40000040u, map},
    };
    unsigned nnew = crwmap ? 3 : 2;
    size_t out_size = align_up((uint32_t)in_size, fa);
    uint32_t ptr[3];
    for (unsigned i = 0; i < nnew; i++) {
        ptr[i] = (uint32_t)out_size;
        out_size += align_up(ns[i].size, fa);
    }
    uint8_t *out = calloc(1, out_size);
    if (!out)
        die("out of memory");
    memcpy(out, in, in_size);
    for (unsigned i = 0; i < nnew; i++) {
        uint8_t *h = out + shdr + 40 * (st->nsec + i);
        memset(h, 0, 40);
        memcpy(h, ns[i].name, strlen(ns[i].name));
        put32(h + 8, ns[i].size);
        put32(h + 12, ns[i].rva);
        put32(h + 16, align_up(ns[i].size, fa));
        put32(h + 20, ptr[i]);
        put32(h + 36, ns[i].flags);
        memcpy(out + ptr[i], ns[i].bytes, ns[i].size);
    }
    uint16_t nsec = (uint16_t)(st->nsec + nnew);
    memcpy(out + st->pe_off + 6, &nsec, 2);
    put32(out + opt + 56, align_up(ns[nnew - 1].rva + ns[nnew - 1].size, sa)); /* SizeOfImage */
    if (pdata) {
        put32(out + opt + 112 + 8 * PE_DIR_EXCEPTION, pdata_rva);
        put32(out + opt + 112 + 8 * PE_DIR_EXCEPTION + 4, pdata_size);
    }
    for (size_t k = 0; k < edits.n; k++) { /* by RVA, through the input's sections */
        const struct pe_edit *x = &edits.v[k];
        long off = -1;
        for (uint32_t i = 0; i < st->nsec; i++) {
            const uint8_t *s = in + shdr + 40 * i;
            uint32_t va, raw, p;
            memcpy(&va, s + 12, 4), memcpy(&raw, s + 16, 4), memcpy(&p, s + 20, 4);
            if (x->rva >= va && x->rva + x->len <= va + raw)
                off = (long)p + (x->rva - va);
        }
        if (off < 0)
            die("an edit outside every section's raw data");
        memcpy(out + off, x->bytes, x->len);
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(out, 1, out_size, f) != out_size || fclose(f))
        die("cannot write the output");
    printf("r2r_apply: %u stubs, at_rva 0x%x, %zu edits\n", nstubs, data_rva, edits.n);
    free(out), free(text), free(stub_rf), free(ms), free(map), rw_buf_free(&add), pe_edits_free(&edits);
    rw_image_close(&img);
    return 0;
}

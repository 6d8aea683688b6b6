/* cmd_inspect.c - `callirw inspect IMAGE [--json] [--disasm] [--helper NAME]`:
 * read a rewritten image's rewrite map and show its stubs and sites. For an
 * image that was not rewritten, say so and show what `scan` finds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_common.h"
#include "disasm.h"
#include "format.h"
#include "map.h"
#include "pe_r2r.h"
#include "scan.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: callirw inspect IMAGE [--json] [--disasm] [--helper NAME] [--r2r-helper-id N]\n"
               "\n"
               "Show the stubs and rewritten sites recorded in IMAGE's rewrite map;\n"
               "--disasm adds each site's bytes before and after and each stub's code.\n"
               "For an image that was not rewritten, show what `scan` finds.\n"
               "exit: 0 shown, 1 not rewritten (the scan is shown), 2 bad input, 3 internal\n");
}

static void print_text(const struct rw_image *img, const struct rw_map *m, int disasm)
{
    const char *stubsec = NULL; /* objects: stubs live in the stub section */
    printf("%s: rewritten by callirw: %zu stub%s, %zu site%s\n\n", img->path, m->nstubs,
           m->nstubs == 1 ? "" : "s", m->nsites, m->nsites == 1 ? "" : "s");
    printf("%-18s %6s %5s  %-28s %s\n", "stub", "bytes", "sites", "key", "signature");
    for (size_t i = 0; i < m->nstubs; i++) {
        const struct rw_map_stub *s = &m->stubs[i];
        printf("0x%016llx %6u %5u  %-28s %s%s\n", (unsigned long long)s->address, s->size,
               s->nsites, s->key, s->readable, s->flags & RW_MAP_STUB_FRAME ? "" : "  [tail jump]");
    }
    printf("\n%-18s %-32s %-12s %s\n", "site", "function", "form", "stub");
    for (size_t i = 0; i < m->nsites; i++) {
        const struct rw_map_site *s = &m->sites[i];
        char where[160] = "";
        uint32_t sec;
        uint64_t off;
        if (!rw_map_loc(img, m, s->address, s->section, &sec, &off))
            rw_describe_loc(img, sec, off, where, sizeof where);
        if (s->section && !where[0])
            snprintf(where, sizeof where, "%s+0x%llx", s->section, (unsigned long long)s->address);
        printf("0x%016llx %-32s %-12s %s\n", (unsigned long long)s->address, where,
               rw_site_form_name(s->form), m->stubs[s->stub].key);
        if (disasm) {
            printf("    before:\n");
            rw_disasm(stdout, img->machine, s->original, s->length, s->address, "      ");
            const uint8_t *now = rw_map_loc(img, m, s->address, s->section, &sec, &off)
                                     ? NULL
                                     : rw_section_bytes(img, sec, off, s->length);
            printf("    after:\n");
            if (now)
                rw_disasm(stdout, img->machine, now, s->length, s->address, "      ");
            else
                printf("      (not readable)\n");
        }
    }
    if (!disasm)
        return;
    for (size_t i = 0; i < m->nstubs; i++) {
        const struct rw_map_stub *s = &m->stubs[i];
        uint32_t sec;
        uint64_t off;
        char secname[CALLI_SIG_TEXT_MAX + 32];
        if (m->flags & RW_MAP_F_OBJECT) { /* one section per stub (docs/elf.md) */
            snprintf(secname, sizeof secname, ".text.__callirw_stub_%s", s->key);
            stubsec = secname;
        }
        printf("\nstub %s (%s):\n", s->key, s->readable);
        const uint8_t *code = rw_map_loc(img, m, s->address, stubsec, &sec, &off)
                                  ? NULL
                                  : rw_section_bytes(img, sec, off, s->size);
        if (code)
            rw_disasm(stdout, img->machine, code, s->size, s->address, "  ");
        else
            printf("  (not readable)\n");
    }
}

static void print_json(const struct rw_image *img, const struct rw_map *m)
{
    printf("{\"image\":");
    rw_json_str(stdout, img->path);
    printf(",\"format\":");
    rw_json_str(stdout, img->ops->name);
    printf(",\"rewritten\":true,\"object\":%s,\"stubs\":[", m->flags & RW_MAP_F_OBJECT ? "true" : "false");
    for (size_t i = 0; i < m->nstubs; i++) {
        const struct rw_map_stub *s = &m->stubs[i];
        printf("%s{\"address\":%llu,\"size\":%u,\"key\":", i ? "," : "",
               (unsigned long long)s->address, s->size);
        rw_json_str(stdout, s->key);
        printf(",\"signature\":");
        rw_json_str(stdout, s->readable);
        printf(",\"sites\":%u,\"frame\":%s,\"suppress_gc\":%s}", s->nsites,
               s->flags & RW_MAP_STUB_FRAME ? "true" : "false",
               s->flags & RW_MAP_STUB_SGC ? "true" : "false");
    }
    printf("],\"sites\":[");
    for (size_t i = 0; i < m->nsites; i++) {
        const struct rw_map_site *s = &m->sites[i];
        char where[160] = "";
        uint32_t sec;
        uint64_t off;
        if (!rw_map_loc(img, m, s->address, s->section, &sec, &off))
            rw_describe_loc(img, sec, off, where, sizeof where);
        printf("%s{\"address\":%llu,\"section\":", i ? "," : "", (unsigned long long)s->address);
        if (s->section)
            rw_json_str(stdout, s->section);
        else
            printf("null");
        printf(",\"function\":");
        rw_json_str(stdout, where);
        printf(",\"form\":");
        rw_json_str(stdout, rw_site_form_name(s->form));
        printf(",\"stub\":%u,\"original\":\"", s->stub);
        for (unsigned b = 0; b < s->length; b++)
            printf("%02x", s->original[b]);
        printf("\"}");
    }
    printf("]}\n");
}

/* Two copies of a map: equal, but for zeros padding the first. */
static int same_map(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen < blen || memcmp(a, b, blen))
        return 0;
    for (size_t i = blen; i < alen; i++)
        if (a[i])
            return 0;
    return 1;
}

static int inspect_one(const char *path, const uint8_t *data, size_t size, const char *helper,
                       int json, int disasm)
{
    struct rw_image img;
    struct rw_diag d = {0};
    enum rw_err e = rw_image_open_mem(&img, path, data, size, helper, &d);
    if (e) {
        fprintf(stderr, "callirw: inspect: %s: %s\n", path, d.msg);
        return rw_exit_for_input(e);
    }
    const struct rw_section *ms = NULL;
    if (img.ops->find_map) {
        uint32_t i = img.ops->find_map(&img);
        ms = i < img.nsec ? &img.sec[i] : NULL;
    } else {
        for (uint32_t i = 0; i < img.nsec; i++)
            if (img.sec[i].name && !strcmp(img.sec[i].name, img.ops->map_section))
                ms = &img.sec[i];
    }
    const uint8_t *map = ms ? ms->data : NULL;
    size_t map_size = ms ? ms->size : 0;
    /* A rewritten ReadyToRun image also carries the map as its ReadyToRun
     * section 0xCA110001 (docs/r2r.md): found there when there is no map
     * section; when both exist they must hold the same map (the PE
     * section's size may be padded with zeros). */
    const uint8_t *rmap;
    uint32_t rsize;
    int has_r2r_map = pe_r2r_map(&img, &rmap, &rsize);
    if (has_r2r_map < 0 || (has_r2r_map > 0 && map && !same_map(map, map_size, rmap, rsize))) {
        fprintf(stderr, "callirw: inspect: %s: %s\n", path,
                has_r2r_map < 0 ? "ReadyToRun rewrite map section (0xCA110001) is empty or outside the image"
                                : "the rewrite map section and the ReadyToRun map section (0xCA110001) differ");
        rw_image_close(&img);
        return CALLIRW_EXIT_BAD_INPUT;
    }
    if (has_r2r_map > 0 && !map) {
        map = rmap;
        map_size = rsize;
    }
    if (!ms && !map) {
        if (!json) {
            if (img.ops->describe) { /* e.g. the ReadyToRun header */
                img.ops->describe(&img, stdout, 0);
                printf("\n");
            }
            printf("%s: not rewritten by callirw (no %s section); what scan finds:\n\n", path,
                   img.ops->map_section);
        }
        rw_image_close(&img);
        int rc = rw_scan_print(path, data, size, helper, UINT64_MAX, json, stdout);
        return rc == CALLIRW_EXIT_BAD_INPUT || rc == CALLIRW_EXIT_INTERNAL ? rc : CALLIRW_EXIT_NOTHING;
    }
    struct rw_map m;
    if (!map || (e = rw_map_decode(map, map_size, &m, &d))) {
        fprintf(stderr, "callirw: inspect: %s: %s\n", path, map ? d.msg : "rewrite map has no data");
        rw_image_close(&img);
        return CALLIRW_EXIT_BAD_INPUT;
    }
    if (json) {
        print_json(&img, &m);
    } else {
        print_text(&img, &m, disasm);
        if (img.ops->describe) {
            printf("\n");
            img.ops->describe(&img, stdout, 0);
        }
    }
    rw_map_free(&m);
    rw_image_close(&img);
    return CALLIRW_EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"disasm", no_argument, NULL, 'd'},
        {"helper", required_argument, NULL, 'H'},
        {"r2r-helper-id", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int json = 0, disasm = 0, c;
    const char *helper = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'd': disasm = 1; break;
        case 'H': helper = optarg; break;
        case 'R':
            if (rw_opt_r2r_helper_id("inspect", optarg))
                return CALLIRW_EXIT_BAD_INPUT;
            break;
        case 'h': usage(stdout); return CALLIRW_EXIT_OK;
        default: usage(stderr); return CALLIRW_EXIT_BAD_INPUT;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "callirw: inspect: expected exactly one image\n");
        return CALLIRW_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind];
    struct rw_diag d = {0};
    const uint8_t *data;
    size_t size;
    enum rw_err e = rw_file_map(path, &data, &size, &d);
    if (e) {
        fprintf(stderr, "callirw: inspect: %s: %s\n", path, d.msg);
        return rw_exit_for_input(e);
    }
    int rc;
    const struct rw_container_ops *co = rw_container_probe(data, size);
    if (!co) {
        rc = inspect_one(path, data, size, helper, json, disasm);
    } else {
        /* a fat file: every slice in turn ("PATH[arch]"); JSON: an array */
        struct rw_slice *sl = NULL;
        size_t n = 0;
        if ((e = co->split(data, size, &sl, &n, &d))) {
            fprintf(stderr, "callirw: inspect: %s: %s\n", path, d.msg);
            rw_file_unmap(data, size);
            return rw_exit_for_input(e);
        }
        rc = CALLIRW_EXIT_NOTHING;
        int bad = 0;
        if (json)
            printf("[\n");
        for (size_t i = 0; i < n; i++) {
            char label[4096];
            snprintf(label, sizeof label, "%s[%s]", path, sl[i].name);
            if (i)
                printf(json ? ",\n" : "\n");
            int r = inspect_one(label, data + sl[i].offset, (size_t)sl[i].size, helper, json,
                                disasm);
            if (r == CALLIRW_EXIT_OK)
                rc = CALLIRW_EXIT_OK;
            else if (r != CALLIRW_EXIT_NOTHING && r > bad)
                bad = r;
        }
        if (json)
            printf("]\n");
        free(sl);
        if (bad)
            rc = bad;
    }
    rw_file_unmap(data, size);
    return rc;
}

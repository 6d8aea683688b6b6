/* lief_check - an independent parser's view of an output: LIEF's C API
 * (LIEF 0.9 parses only) must read the file, and each section named with
 * --section must be there; with --loaded, an ELF section must also lie
 * inside a PT_LOAD segment of the same file.
 *
 * PE: every section is listed; --exec NAME requires an executable section,
 * --dllchars VALUE the DllCharacteristics (PE only).
 *
 * Mach-O, thin or fat: LIEF must read every slice (as many as the fat header
 * says) and every load command of each (as many as its header says); each
 * slice's segments and sections are listed. NAME is "SEG,sect" or a bare
 * "sect" (any segment); --loaded NAME: the section lies inside its segment
 * (memory and, unless zero-filled, file); --exec NAME: it holds instructions
 * and, in a linked image, its segment is executable; --segment NAME (Mach-O
 * only): the segment is there. Every slice must pass every check.
 *
 *   lief_check FILE [--section NAME | --loaded NAME | --exec NAME | --dllchars VALUE |
 *                    --segment NAME]...
 * exit 0: all checks hold; 1: a check failed; 2: usage or parse failure
 * (also when LIEF aborts on a C++ exception it could not report).
 */
#define _POSIX_C_SOURCE 200809L /* write, _exit */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <LIEF/LIEF.h>

static int elf_check(const char *path, int argc, char **argv)
{
    Elf_Binary_t *b = elf_parse(path);
    if (!b) {
        fprintf(stderr, "lief_check: %s: LIEF cannot parse it as ELF\n", path);
        return 2;
    }
    int nsec = 0, nseg = 0, rc = 0;
    while (b->sections[nsec])
        nsec++;
    while (b->segments[nseg])
        nseg++;
    printf("%s: ELF, %d sections, %d segments\n", path, nsec, nseg);
    for (int i = 2; i < argc; i += 2) {
        const char *name = argv[i + 1];
        int loaded = !strcmp(argv[i], "--loaded");
        const Elf_Section_t *s = NULL;
        for (int k = 0; k < nsec; k++)
            if (b->sections[k]->name && !strcmp(b->sections[k]->name, name))
                s = b->sections[k];
        if (!s) {
            printf("  section %s: MISSING\n", name);
            rc = 1;
            continue;
        }
        int in_load = 0;
        for (int k = 0; (s->flags & 0x2 /* SHF_ALLOC */) && k < nseg; k++) {
            const Elf_Segment_t *g = b->segments[k];
            if (g->type == LIEF_ELF_PT_LOAD && s->virtual_address >= g->virtual_address &&
                s->virtual_address + s->size <= g->virtual_address + g->virtual_size)
                in_load = 1;
        }
        printf("  section %s: at 0x%llx, %llu bytes%s\n", name,
               (unsigned long long)s->virtual_address, (unsigned long long)s->size,
               in_load ? ", in a PT_LOAD" : "");
        if (loaded && !in_load)
            rc = 1;
    }
    elf_binary_destroy(b);
    return rc;
}

/* PE: every section is listed (name, RVA, virtual size, characteristics);
 * --section NAME must be there, --exec NAME must be there and executable
 * (IMAGE_SCN_MEM_EXECUTE), --dllchars VALUE must equal DllCharacteristics. */
static int pe_check(const char *path, int argc, char **argv)
{
    Pe_Binary_t *b = pe_parse(path);
    if (!b) {
        fprintf(stderr, "lief_check: %s: LIEF cannot parse it as PE\n", path);
        return 2;
    }
    int nsec = 0, rc = 0;
    while (b->sections[nsec])
        nsec++;
    const Pe_OptionalHeader_t *oh = &b->optional_header;
    printf("%s: PE, %d sections, SizeOfImage 0x%x, CheckSum 0x%x, DllCharacteristics 0x%x\n",
           path, nsec, oh->sizeof_image, oh->checksum, oh->dll_characteristics);
    for (int k = 0; k < nsec; k++) {
        const Pe_Section_t *s = b->sections[k];
        printf("  %-16s rva 0x%08llx size 0x%08x characteristics 0x%08x\n",
               s->name ? s->name : "?", (unsigned long long)s->virtual_address, s->virtual_size,
               s->characteristics);
    }
    for (int i = 2; i < argc; i += 2) {
        const char *name = argv[i + 1];
        if (!strcmp(argv[i], "--dllchars")) {
            unsigned long want = strtoul(name, NULL, 0);
            int ok = want == oh->dll_characteristics;
            printf("  DllCharacteristics 0x%x: %s 0x%lx\n", oh->dll_characteristics,
                   ok ? "equals" : "DIFFERS FROM", want);
            rc |= !ok;
            continue;
        }
        const Pe_Section_t *s = NULL;
        for (int k = 0; k < nsec; k++)
            if (b->sections[k]->name && !strcmp(b->sections[k]->name, name))
                s = b->sections[k];
        int exec = s && (s->characteristics & 0x20000000u);
        int ok = s && (strcmp(argv[i], "--exec") || exec);
        printf("  section %s: %s%s\n", name, s ? "present" : "MISSING",
               s && !strcmp(argv[i], "--exec") ? (exec ? ", executable" : ", NOT EXECUTABLE") : "");
        rc |= !ok;
    }
    pe_binary_destroy(b);
    return rc;
}

/* ---- Mach-O ----------------------------------------------------------------
 * LIEF 0.9's C API (LIEF/MachO.h, macho_parse) parses thin and fat files into
 * one Macho_Binary_t per slice: header, load commands (each with a copy of its
 * bytes), segments, sections, symbols. Its sections carry no segment name and
 * its segments no section list, so the "SEG,sect" names and the owning
 * segments are taken from LIEF's copies of the segment commands, and checked
 * against LIEF's own section list. */
#define MACHO_MH_OBJECT 1u
#define MACHO_LC_SEGMENT 0x1u
#define MACHO_LC_SEGMENT_64 0x19u
#define MACHO_VM_PROT_EXECUTE 4u
/* LIEF's Macho_Section_t.flags holds section flags' attribute bits >> 8 */
#define LIEF_ATTR_INSTRUCTIONS ((0x80000000u | 0x400u) >> 8)

struct msec {
    char name[40]; /* "SEG,sect" */
    int seg;       /* index into the slice's segments */
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int macho_zerofill(unsigned type)
{
    return type == 0x1 || type == 0xc || type == 0x12; /* S_ZEROFILL, S_GB_, S_THREAD_LOCAL_ */
}

static const char *macho_cpu(uint32_t cpu)
{
    return cpu == 0x01000007u ? "x86_64" : cpu == 0x0100000cu ? "arm64" : cpu == 7 ? "i386" : "cpu?";
}

static const char *macho_ftype(uint32_t t)
{
    static const char *n[] = {"?", "MH_OBJECT", "MH_EXECUTE", "?", "?", "?", "MH_DYLIB", "?",
                              "MH_BUNDLE"};
    return t < sizeof n / sizeof n[0] ? n[t] : "?";
}

/* Names and segments of every section, from the segment commands LIEF kept;
 * 0, or -1 when they disagree with LIEF's counts (a parse LIEF got wrong). */
static int macho_names(const Macho_Binary_t *b, int ncmd, int nseg, int nsec, struct msec *ms)
{
    int k = 0, sg = 0;
    for (int c = 0; c < ncmd; c++) {
        const Macho_Command_t *lc = b->commands[c];
        int is64 = lc->command == MACHO_LC_SEGMENT_64;
        if (!is64 && lc->command != MACHO_LC_SEGMENT)
            continue;
        uint32_t hdr = is64 ? 72 : 56, ent = is64 ? 80 : 68;
        if (!lc->data || lc->size < hdr || sg >= nseg)
            return -1;
        uint32_t ns = le32(lc->data + (is64 ? 64 : 48));
        if (ns > (lc->size - hdr) / ent || b->segments[sg]->numberof_sections != ns)
            return -1;
        for (uint32_t i = 0; i < ns; i++, k++) {
            const uint8_t *h = lc->data + hdr + ent * i;
            const char *lief_name = b->sections[k] ? b->sections[k]->name : NULL;
            if (k >= nsec || !lief_name || strncmp(lief_name, (const char *)h, 16))
                return -1;
            snprintf(ms[k].name, sizeof ms[k].name, "%.16s,%.16s", (const char *)h + 16,
                     (const char *)h);
            ms[k].seg = sg;
        }
        sg++;
    }
    return k == nsec && sg == nseg ? 0 : -1;
}

/* The section named NAME ("SEG,sect", or "sect" in any segment), or -1. */
static int macho_find(const Macho_Binary_t *b, const struct msec *ms, int nsec, const char *name)
{
    for (int k = 0; k < nsec; k++)
        if (strchr(name, ',') ? !strcmp(ms[k].name, name) : !strcmp(b->sections[k]->name, name))
            return k;
    return -1;
}

/* One slice: LIEF's counts must agree with the header, then the listing and
 * the checks. Returns 0, 1 (a check failed) or 2 (LIEF's parse is wrong). */
static int macho_slice(const char *path, int n, const Macho_Binary_t *b, int argc, char **argv)
{
    int ncmd = 0, nseg = 0, nsec = 0, nsym = 0, rc = 0;
    while (b->commands && b->commands[ncmd])
        ncmd++;
    while (b->segments && b->segments[nseg])
        nseg++;
    while (b->sections && b->sections[nsec])
        nsec++;
    while (b->symbols && b->symbols[nsym])
        nsym++;
    const Macho_Header_t *h = &b->header;
    if ((uint32_t)ncmd != h->nb_cmds) {
        fprintf(stderr, "lief_check: %s: slice %d: LIEF read %d of %u load commands\n", path, n,
                ncmd, h->nb_cmds);
        return 2;
    }
    struct msec *ms = calloc((size_t)nsec + 1, sizeof *ms);
    if (!ms || macho_names(b, ncmd, nseg, nsec, ms)) {
        fprintf(stderr, "lief_check: %s: slice %d: LIEF's segments and sections disagree with "
                        "its segment commands\n", path, n);
        free(ms);
        return 2;
    }
    printf("%s: Mach-O slice %d: %s %s, %d load commands, %d segments, %d sections, %d symbols\n",
           path, n, macho_cpu((uint32_t)h->cpu_type), macho_ftype((uint32_t)h->file_type), ncmd,
           nseg, nsec, nsym);
    for (int g = 0; g < nseg; g++) {
        const Macho_Segment_t *s = b->segments[g];
        unsigned p = s->init_protection;
        printf("  segment %-16s vm 0x%llx+0x%llx file 0x%llx+0x%llx %c%c%c\n", s->name ? s->name : "",
               (unsigned long long)s->virtual_address, (unsigned long long)s->virtual_size,
               (unsigned long long)s->file_offset, (unsigned long long)s->file_size,
               p & 1 ? 'r' : '-', p & 2 ? 'w' : '-', p & 4 ? 'x' : '-');
        for (int k = 0; k < nsec; k++)
            if (ms[k].seg == g)
                printf("    %-34s addr 0x%llx size 0x%llx offset 0x%llx\n", ms[k].name,
                       (unsigned long long)b->sections[k]->virtual_address,
                       (unsigned long long)b->sections[k]->size,
                       (unsigned long long)b->sections[k]->offset);
    }
    for (int i = 2; i < argc; i += 2) {
        const char *opt = argv[i], *name = argv[i + 1];
        if (!strcmp(opt, "--segment")) {
            int found = 0;
            for (int g = 0; g < nseg; g++)
                found |= b->segments[g]->name && !strcmp(b->segments[g]->name, name);
            printf("  segment %s: %s\n", name, found ? "present" : "MISSING");
            rc |= !found;
            continue;
        }
        int k = macho_find(b, ms, nsec, name);
        if (k < 0) {
            printf("  section %s: MISSING\n", name);
            rc = 1;
            continue;
        }
        const Macho_Section_t *s = b->sections[k];
        const Macho_Segment_t *g = b->segments[ms[k].seg];
        /* inside its segment's memory and, unless zero-filled, its file range */
        int in_vm = s->virtual_address >= g->virtual_address &&
                    s->size <= g->virtual_size &&
                    s->virtual_address - g->virtual_address <= g->virtual_size - s->size;
        int in_file = macho_zerofill((unsigned)s->type) ||
                      (s->offset >= g->file_offset && s->size <= g->file_size &&
                       s->offset - g->file_offset <= g->file_size - s->size);
        int exec = (s->flags & LIEF_ATTR_INSTRUCTIONS) &&
                   ((uint32_t)h->file_type == MACHO_MH_OBJECT ||
                    (g->init_protection & MACHO_VM_PROT_EXECUTE));
        int ok = 1;
        if (!strcmp(opt, "--loaded"))
            ok = in_vm && in_file;
        else if (!strcmp(opt, "--exec"))
            ok = exec;
        printf("  section %s: present%s%s\n", ms[k].name,
               in_vm && in_file ? ", inside its segment" : ", OUTSIDE ITS SEGMENT",
               exec ? ", executable" : "");
        rc |= !ok;
    }
    free(ms);
    return rc;
}

/* LIEF 0.9 reports a malformed file by throwing a C++ exception through its
 * C API; nothing in C catches it and std::terminate aborts. That abort is a
 * parse failure: exit 2 like any other. */
static void on_abort(int sig)
{
    static const char m[] = "lief_check: LIEF aborted while parsing (an uncaught C++ exception: "
                            "the file is malformed for LIEF)\n";
    (void)sig;
    if (write(2, m, sizeof m - 1) < 0)
        _exit(2);
    _exit(2);
}

/* Mach-O, thin or fat: every slice of the file must be parsed (the count is
 * checked against the fat header) and pass the checks. */
static int macho_check(const char *path, const unsigned char *m, int argc, char **argv)
{
    uint32_t want = 1;
    if (m[0] == 0xca && m[1] == 0xfe && m[2] == 0xba && (m[3] == 0xbe || m[3] == 0xbf))
        want = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
    Macho_Binary_t **bs = macho_parse(path);
    if (!bs || !bs[0]) {
        fprintf(stderr, "lief_check: %s: LIEF cannot parse it as Mach-O\n", path);
        if (bs)
            macho_binaries_destroy(bs);
        return 2;
    }
    uint32_t got = 0;
    while (bs[got])
        got++;
    int rc = 0;
    if (got != want) {
        fprintf(stderr, "lief_check: %s: LIEF read %u of %u slices\n", path, got, want);
        rc = 2;
    }
    for (uint32_t n = 0; n < got && rc != 2; n++) {
        int r = macho_slice(path, (int)n, bs[n], argc, argv);
        rc = r > rc ? r : rc;
    }
    macho_binaries_destroy(bs);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc - 2) % 2) {
        fprintf(stderr, "usage: lief_check FILE [--section NAME | --loaded NAME | --exec NAME | "
                        "--dllchars VALUE | --segment NAME]...\n");
        return 2;
    }
    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--section") && strcmp(argv[i], "--loaded") &&
            strcmp(argv[i], "--exec") && strcmp(argv[i], "--dllchars") &&
            strcmp(argv[i], "--segment")) {
            fprintf(stderr, "lief_check: unknown option %s\n", argv[i]);
            return 2;
        }
    signal(SIGABRT, on_abort);
    FILE *f = fopen(argv[1], "rb");
    unsigned char m[8] = {0};
    if (!f || fread(m, 1, 8, f) < 4) {
        fprintf(stderr, "lief_check: %s: cannot read\n", argv[1]);
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    uint32_t mg = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    int macho = mg == 0xfeedfacfu || mg == 0xfeedfaceu || mg == 0xbebafecau || mg == 0xbfbafecau;
    for (int i = 2; i < argc; i += 2)
        if ((!strcmp(argv[i], "--segment") && !macho) || (!strcmp(argv[i], "--dllchars") && macho)) {
            fprintf(stderr, "lief_check: %s does not apply to this format\n", argv[i]);
            return 2;
        }
    if (!memcmp(m, "\x7f" "ELF", 4))
        return elf_check(argv[1], argc, argv);
    if (m[0] == 'M' && m[1] == 'Z')
        return pe_check(argv[1], argc, argv);
    if (macho)
        return macho_check(argv[1], m, argc, argv);
    fprintf(stderr, "lief_check: %s: not ELF, PE or Mach-O\n", argv[1]);
    return 2;
}

/* lief_check - an independent parser's view of an output: LIEF's C API
 * (LIEF 0.9 parses only) must read the file, and each section named with
 * --section must be there; with --loaded, an ELF section must also lie
 * inside a PT_LOAD segment of the same file.
 *
 * PE: every section is listed; --exec NAME requires an executable section,
 * --dllchars VALUE the DllCharacteristics (the other formats accept neither).
 *
 *   lief_check FILE [--section NAME | --loaded NAME | --exec NAME | --dllchars VALUE]...
 * exit 0: all checks hold; 1: a check failed; 2: usage or parse failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int macho_check(const char *path, int argc, char **argv)
{
    Macho_Binary_t **bs = macho_parse(path);
    if (!bs || !bs[0]) {
        fprintf(stderr, "lief_check: %s: LIEF cannot parse it as Mach-O\n", path);
        return 2;
    }
    int rc = 0;
    for (int n = 0; bs[n]; n++) {
        int nsec = 0;
        while (bs[n]->sections[nsec])
            nsec++;
        printf("%s: Mach-O slice %d, %d sections\n", path, n, nsec);
        for (int i = 2; i < argc; i += 2) {
            int found = 0;
            for (int k = 0; k < nsec; k++)
                if (bs[n]->sections[k]->name && !strcmp(bs[n]->sections[k]->name, argv[i + 1]))
                    found = 1;
            printf("  section %s: %s\n", argv[i + 1], found ? "present" : "MISSING");
            rc |= !found;
        }
    }
    macho_binaries_destroy(bs);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc - 2) % 2) {
        fprintf(stderr, "usage: lief_check FILE [--section NAME | --loaded NAME | --exec NAME | "
                        "--dllchars VALUE]...\n");
        return 2;
    }
    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--section") && strcmp(argv[i], "--loaded") &&
            strcmp(argv[i], "--exec") && strcmp(argv[i], "--dllchars")) {
            fprintf(stderr, "lief_check: unknown option %s\n", argv[i]);
            return 2;
        }
    FILE *f = fopen(argv[1], "rb");
    unsigned char m[4] = {0};
    if (!f || fread(m, 1, 4, f) != 4) {
        fprintf(stderr, "lief_check: %s: cannot read\n", argv[1]);
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    if (!memcmp(m, "\x7f" "ELF", 4))
        return elf_check(argv[1], argc, argv);
    if (m[0] == 'M' && m[1] == 'Z')
        return pe_check(argv[1], argc, argv);
    uint32_t mg = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    if (mg == 0xfeedfacfu || mg == 0xcafebabeu || mg == 0xbebafecau)
        return macho_check(argv[1], argc, argv);
    fprintf(stderr, "lief_check: %s: not ELF, PE or Mach-O\n", argv[1]);
    return 2;
}

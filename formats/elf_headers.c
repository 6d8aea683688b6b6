/* elf_headers.c - the ELF header, the section and program header tables,
 * and the model's sections. Everything is checked against the file before
 * it is used: offsets and sizes inside the file (without overflow), section
 * header links in range and of the right type, entry sizes, no two sections
 * (nor a section and a header table) sharing file bytes, no two allocated
 * sections or loadable segments sharing addresses, every allocated section
 * of a linked image inside a loadable segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_priv.h"

#define EHDR_SIZE 64u
#define SHDR_SIZE 64u
#define PHDR_SIZE 56u

const char *elf_sec_name(const struct rw_image *img, size_t shndx, char buf[24])
{
    if (shndx >= 1 && shndx - 1 < img->nsec && img->sec[shndx - 1].name &&
        img->sec[shndx - 1].name[0])
        return img->sec[shndx - 1].name;
    snprintf(buf, 24, "[%zu]", shndx);
    return buf;
}

uint32_t elf_sec_at(const struct elf_state *st, uint64_t va, uint64_t len)
{
    size_t lo = 0, hi = st->nalloc;
    while (lo < hi) { /* first section starting after va */
        size_t mid = lo + (hi - lo) / 2;
        if (st->alloc[mid].addr <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return RW_NONE;
    const struct elf_alloc *a = &st->alloc[lo - 1];
    if (va - a->addr <= a->size && len <= a->size - (va - a->addr))
        return a->model;
    return RW_NONE;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_386: return "i386";
    case EM_ARM: return "32-bit ARM";
    case EM_PPC: return "PowerPC";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "s390";
    case EM_MIPS: return "MIPS";
    case EM_SPARCV9: return "SPARC v9";
    case EM_IA_64: return "IA-64";
    case EM_RISCV: return "RISC-V";
    case EM_LOONGARCH: return "LoongArch";
    case EM_BPF: return "BPF";
    default: return "unknown";
    }
}

/* The ELF identification, before libelf sees the file. */
static enum rw_err check_ident(const struct rw_image *img, struct rw_diag *d)
{
    const uint8_t *p = img->data;
    if (img->size < EI_NIDENT)
        return rw_fail(d, RW_E_CORRUPT, "truncated ELF header (%zu bytes)", img->size);
    if (p[EI_CLASS] == ELFCLASS32)
        return rw_fail(d, RW_E_UNSUPPORTED, "32-bit ELF (ELFCLASS32) is not supported: only ELF64");
    if (p[EI_CLASS] != ELFCLASS64)
        return rw_fail(d, RW_E_CORRUPT, "bad ELF class %u", p[EI_CLASS]);
    if (p[EI_DATA] == ELFDATA2MSB)
        return rw_fail(d, RW_E_UNSUPPORTED, "big-endian ELF is not supported");
    if (p[EI_DATA] != ELFDATA2LSB)
        return rw_fail(d, RW_E_CORRUPT, "bad ELF data encoding %u", p[EI_DATA]);
    if (p[EI_VERSION] != EV_CURRENT)
        return rw_fail(d, RW_E_CORRUPT, "bad ELF version %u", p[EI_VERSION]);
    if (img->size < EHDR_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "truncated ELF header (%zu of %u bytes)", img->size,
                       EHDR_SIZE);
    return RW_OK;
}

/* [off, off+len) inside the file? */
static int in_file(const struct rw_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

static enum rw_err check_ehdr(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    const GElf_Ehdr *eh = &st->ehdr;
    switch (eh->e_machine) {
    case EM_X86_64:
        img->machine = RW_MACH_X86_64;
        img->abi = CALLI_ABI_SYSV_X64;
        break;
    case EM_AARCH64:
        img->machine = RW_MACH_AARCH64;
        img->abi = CALLI_ABI_AAPCS64;
        break;
    default:
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "wrong machine: e_machine %u (%s); only x86-64 and arm64 are supported",
                       eh->e_machine, machine_name(eh->e_machine));
    }
    switch (eh->e_type) {
    case ET_REL: img->kind = RW_KIND_OBJECT; break;
    case ET_EXEC: img->kind = RW_KIND_EXEC; break;
    case ET_DYN: img->kind = RW_KIND_SHARED; break; /* PIE: decided below */
    case ET_CORE: return rw_fail(d, RW_E_UNSUPPORTED, "core dumps are not supported");
    default: return rw_fail(d, RW_E_UNSUPPORTED, "unsupported ELF type %u", eh->e_type);
    }
    if (eh->e_version != EV_CURRENT)
        return rw_fail(d, RW_E_CORRUPT, "bad e_version %u", (unsigned)eh->e_version);
    if (eh->e_ehsize < EHDR_SIZE || eh->e_ehsize > img->size)
        return rw_fail(d, RW_E_CORRUPT, "bad e_ehsize %u", eh->e_ehsize);
    if (eh->e_shoff == 0)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "no section headers (e_shoff is 0): images stripped of their section "
                       "headers are not supported");
    if (eh->e_shentsize != SHDR_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "bad e_shentsize %u (expected %u)", eh->e_shentsize,
                       SHDR_SIZE);
    if (!in_file(img, eh->e_shoff, SHDR_SIZE))
        return rw_fail(d, RW_E_CORRUPT,
                       "section header table at 0x%llx is past the end of the file (0x%zx bytes)",
                       (unsigned long long)eh->e_shoff, img->size);
    if (eh->e_phoff != 0 || eh->e_phnum != 0) {
        if (eh->e_phentsize != PHDR_SIZE)
            return rw_fail(d, RW_E_CORRUPT, "bad e_phentsize %u (expected %u)", eh->e_phentsize,
                           PHDR_SIZE);
        if (!in_file(img, eh->e_phoff, PHDR_SIZE))
            return rw_fail(d, RW_E_CORRUPT,
                           "program header table at 0x%llx is past the end of the file",
                           (unsigned long long)eh->e_phoff);
    }
    return RW_OK;
}

struct span {
    uint64_t start, end;
    size_t idx; /* section index, or one of the SPAN_ values */
};
#define SPAN_EHDR ((size_t)-1)
#define SPAN_SHDRS ((size_t)-2)
#define SPAN_PHDRS ((size_t)-3)

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static const char *span_name(const struct rw_image *img, const struct span *s, char buf[24])
{
    if (s->idx == SPAN_EHDR)
        return "the ELF header";
    if (s->idx == SPAN_SHDRS)
        return "the section header table";
    if (s->idx == SPAN_PHDRS)
        return "the program header table";
    return elf_sec_name(img, s->idx, buf);
}

/* No two spans overlap. what: "in the file" / "in memory". */
static enum rw_err check_overlaps(const struct rw_image *img, struct span *v, size_t n,
                                  const char *what, struct rw_diag *d)
{
    qsort(v, n, sizeof *v, cmp_span);
    size_t far = 0; /* the span reaching furthest so far */
    for (size_t i = 1; i < n; i++) {
        if (v[i].start < v[far].end) {
            char b1[24], b2[24];
            return rw_fail(d, RW_E_CORRUPT, "%s and %s overlap %s (0x%llx-0x%llx and 0x%llx-0x%llx)",
                           span_name(img, &v[far], b1), span_name(img, &v[i], b2), what,
                           (unsigned long long)v[far].start, (unsigned long long)v[far].end,
                           (unsigned long long)v[i].start, (unsigned long long)v[i].end);
        }
        if (v[i].end > v[far].end)
            far = i;
    }
    return RW_OK;
}

static uint64_t expected_entsize(uint32_t type)
{
    switch (type) {
    case SHT_SYMTAB:
    case SHT_DYNSYM: return sizeof(Elf64_Sym);
    case SHT_RELA: return sizeof(Elf64_Rela);
    case SHT_REL: return sizeof(Elf64_Rel);
    case SHT_RELR: return 8;
    case SHT_DYNAMIC: return sizeof(Elf64_Dyn);
    case SHT_SYMTAB_SHNDX: return 4;
    default: return 0;
    }
}

static enum rw_err check_section(struct rw_image *img, struct elf_state *st, size_t i,
                                 struct rw_diag *d)
{
    const GElf_Shdr *sh = &st->shdr[i];
    char nb[24];
    const char *name = elf_sec_name(img, i, nb);
    if (sh->sh_type != SHT_NOBITS && sh->sh_size > 0 && !in_file(img, sh->sh_offset, sh->sh_size))
        return rw_fail(d, RW_E_CORRUPT,
                       "section %s (offset 0x%llx, size 0x%llx) runs past the end of the file "
                       "(0x%zx bytes)",
                       name, (unsigned long long)sh->sh_offset, (unsigned long long)sh->sh_size,
                       img->size);
    if ((sh->sh_flags & SHF_ALLOC) && sh->sh_addr + sh->sh_size < sh->sh_addr)
        return rw_fail(d, RW_E_CORRUPT, "section %s: address 0x%llx + size 0x%llx overflows", name,
                       (unsigned long long)sh->sh_addr, (unsigned long long)sh->sh_size);
    if (sh->sh_link >= st->shnum)
        return rw_fail(d, RW_E_CORRUPT, "section %s: sh_link %u out of range (%zu sections)", name,
                       (unsigned)sh->sh_link, st->shnum);
    uint32_t lt = st->shdr[sh->sh_link].sh_type;
    switch (sh->sh_type) {
    case SHT_SYMTAB:
    case SHT_DYNSYM:
    case SHT_DYNAMIC:
        if (lt != SHT_STRTAB)
            return rw_fail(d, RW_E_CORRUPT, "section %s: sh_link %u is not a string table", name,
                           (unsigned)sh->sh_link);
        break;
    case SHT_REL:
    case SHT_RELA:
        if (sh->sh_link != 0 && lt != SHT_SYMTAB && lt != SHT_DYNSYM)
            return rw_fail(d, RW_E_CORRUPT, "section %s: sh_link %u is not a symbol table", name,
                           (unsigned)sh->sh_link);
        if (sh->sh_info >= st->shnum)
            return rw_fail(d, RW_E_CORRUPT, "section %s: sh_info %u out of range (%zu sections)",
                           name, (unsigned)sh->sh_info, st->shnum);
        break;
    case SHT_SYMTAB_SHNDX:
        if (lt != SHT_SYMTAB)
            return rw_fail(d, RW_E_CORRUPT, "section %s: sh_link %u is not a symbol table", name,
                           (unsigned)sh->sh_link);
        break;
    default:
        break;
    }
    uint64_t es = expected_entsize(sh->sh_type);
    if (es) {
        if (sh->sh_entsize != es && sh->sh_size > 0)
            return rw_fail(d, RW_E_CORRUPT, "section %s: entry size %llu (expected %llu)", name,
                           (unsigned long long)sh->sh_entsize, (unsigned long long)es);
        if (sh->sh_size % es)
            return rw_fail(d, RW_E_CORRUPT,
                           "section %s: size 0x%llx is not a multiple of its entry size %llu",
                           name, (unsigned long long)sh->sh_size, (unsigned long long)es);
    }
    return RW_OK;
}

static int cmp_alloc(const void *a, const void *b)
{
    const struct elf_alloc *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static enum rw_err read_segments(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    if (st->phnum == 0)
        return RW_OK;
    if (st->phnum > (img->size - st->ehdr.e_phoff) / PHDR_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "program header table (%zu entries at 0x%llx) runs past "
                       "the end of the file", st->phnum, (unsigned long long)st->ehdr.e_phoff);
    st->phdr = calloc(st->phnum, sizeof *st->phdr);
    struct span *v = calloc(st->phnum, sizeof *v);
    size_t nv = 0;
    enum rw_err e = RW_OK;
    if (!st->phdr || !v) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < st->phnum; i++) {
        GElf_Phdr *ph = &st->phdr[i];
        if (!gelf_getphdr(st->elf, (int)i, ph)) {
            e = rw_fail(d, RW_E_CORRUPT, "program header %zu: %s", i, elf_errmsg(-1));
            goto out;
        }
        if (ph->p_filesz > 0 && !in_file(img, ph->p_offset, ph->p_filesz)) {
            e = rw_fail(d, RW_E_CORRUPT,
                        "segment %zu (offset 0x%llx, size 0x%llx) runs past the end of the file",
                        i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
            goto out;
        }
        if (ph->p_type == PT_INTERP)
            st->has_interp = 1;
        if (ph->p_type == PT_GNU_RELRO && ph->p_vaddr + ph->p_memsz >= ph->p_vaddr) {
            st->relro_start = ph->p_vaddr;
            st->relro_end = ph->p_vaddr + ph->p_memsz;
        }
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_filesz > ph->p_memsz) {
            e = rw_fail(d, RW_E_CORRUPT, "segment %zu: file size 0x%llx exceeds memory size 0x%llx",
                        i, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
            goto out;
        }
        if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr) {
            e = rw_fail(d, RW_E_CORRUPT, "segment %zu: address 0x%llx + size 0x%llx overflows", i,
                        (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_memsz);
            goto out;
        }
        if (ph->p_memsz > 0)
            v[nv++] = (struct span){ph->p_vaddr, ph->p_vaddr + ph->p_memsz, i};
    }
    qsort(v, nv, sizeof *v, cmp_span);
    for (size_t i = 1; i < nv; i++)
        if (v[i].start < v[i - 1].end) {
            e = rw_fail(d, RW_E_CORRUPT, "loadable segments %zu and %zu overlap in memory",
                        v[i - 1].idx, v[i].idx);
            goto out;
        }
out:
    free(v);
    return e;
}

/* A linked image's allocated section with file data lies inside a PT_LOAD,
 * at the same place in the file and in memory. */
static enum rw_err check_in_segment(struct rw_image *img, struct elf_state *st, size_t i,
                                    struct rw_diag *d)
{
    const GElf_Shdr *sh = &st->shdr[i];
    for (size_t k = 0; k < st->phnum; k++) {
        const GElf_Phdr *ph = &st->phdr[k];
        if (ph->p_type != PT_LOAD || sh->sh_addr < ph->p_vaddr ||
            sh->sh_addr - ph->p_vaddr > ph->p_memsz ||
            sh->sh_size > ph->p_memsz - (sh->sh_addr - ph->p_vaddr))
            continue;
        if (sh->sh_type == SHT_NOBITS)
            return RW_OK;
        uint64_t rel = sh->sh_addr - ph->p_vaddr;
        if (sh->sh_offset >= ph->p_offset && sh->sh_offset - ph->p_offset == rel &&
            rel <= ph->p_filesz && sh->sh_size <= ph->p_filesz - rel)
            return RW_OK;
        char nb[24];
        return rw_fail(d, RW_E_CORRUPT,
                       "section %s (address 0x%llx, offset 0x%llx) does not match segment %zu "
                       "(address 0x%llx, offset 0x%llx)",
                       elf_sec_name(img, i, nb), (unsigned long long)sh->sh_addr,
                       (unsigned long long)sh->sh_offset, k, (unsigned long long)ph->p_vaddr,
                       (unsigned long long)ph->p_offset);
    }
    /* e.g. .tbss past the end of its segment's memory image; but a .bss
     * that no segment's memory holds would overlap whatever the rewrite
     * places after the image (it is refused like any other section) */
    if (sh->sh_type == SHT_NOBITS && ((sh->sh_flags & SHF_TLS) || sh->sh_size == 0))
        return RW_OK;
    char nb[24];
    return rw_fail(d, RW_E_CORRUPT, "section %s (address 0x%llx) is not inside a loadable segment",
                   elf_sec_name(img, i, nb), (unsigned long long)sh->sh_addr);
}

static void read_dynamic(struct rw_image *img, struct elf_state *st)
{
    for (size_t i = 1; i < st->shnum; i++) {
        if (st->shdr[i].sh_type != SHT_DYNAMIC)
            continue;
        Elf_Data *data = elf_getdata(elf_getscn(st->elf, i), NULL);
        size_t n = st->shdr[i].sh_size / sizeof(Elf64_Dyn);
        for (size_t k = 0; data && k < n; k++) {
            GElf_Dyn dyn;
            if (!gelf_getdyn(data, (int)k, &dyn) || dyn.d_tag == DT_NULL)
                break;
            if (dyn.d_tag == DT_FLAGS_1)
                st->dt_flags_1 = dyn.d_un.d_val;
        }
        break;
    }
    (void)img;
}

enum rw_err elf_read_headers(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    enum rw_err e = check_ident(img, d);
    if (e)
        return e;
    st->elf = elf_memory((char *)img->data, img->size);
    if (!st->elf)
        return rw_fail(d, RW_E_CORRUPT, "libelf: %s", elf_errmsg(-1));
    if (elf_kind(st->elf) != ELF_K_ELF)
        return rw_fail(d, RW_E_CORRUPT, "not an ELF object");
    if (!gelf_getehdr(st->elf, &st->ehdr))
        return rw_fail(d, RW_E_CORRUPT, "bad ELF header: %s", elf_errmsg(-1));
    if ((e = check_ehdr(img, st, d)))
        return e;
    if (elf_getshdrnum(st->elf, &st->shnum) != 0)
        return rw_fail(d, RW_E_CORRUPT, "bad section count: %s", elf_errmsg(-1));
    if (st->shnum == 0)
        return rw_fail(d, RW_E_CORRUPT, "no sections");
    if (st->shnum > (img->size - st->ehdr.e_shoff) / SHDR_SIZE)
        return rw_fail(d, RW_E_CORRUPT,
                       "section header table (%zu entries at 0x%llx) runs past the end of the file",
                       st->shnum, (unsigned long long)st->ehdr.e_shoff);
    if (elf_getshdrstrndx(st->elf, &st->shstrndx) != 0)
        return rw_fail(d, RW_E_CORRUPT, "bad section name table index: %s", elf_errmsg(-1));
    if (st->shstrndx == 0 || st->shstrndx >= st->shnum)
        return rw_fail(d, RW_E_CORRUPT, "section name table index %zu out of range (%zu sections)",
                       st->shstrndx, st->shnum);
    if (elf_getphdrnum(st->elf, &st->phnum) != 0)
        return rw_fail(d, RW_E_CORRUPT, "bad program header count: %s", elf_errmsg(-1));

    st->shdr = calloc(st->shnum, sizeof *st->shdr);
    img->sec = calloc(st->shnum, sizeof *img->sec);
    if (!st->shdr || !img->sec)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < st->shnum; i++) {
        Elf_Scn *scn = elf_getscn(st->elf, i);
        if (!scn || !gelf_getshdr(scn, &st->shdr[i]))
            return rw_fail(d, RW_E_CORRUPT, "section header %zu: %s", i, elf_errmsg(-1));
    }
    img->nsec = st->shnum - 1;

    /* The name table first: every other check names its section. */
    const GElf_Shdr *ss = &st->shdr[st->shstrndx];
    if (ss->sh_type != SHT_STRTAB)
        return rw_fail(d, RW_E_CORRUPT, "section name table [%zu] is not a string table",
                       st->shstrndx);
    if ((e = check_section(img, st, st->shstrndx, d)))
        return e;
    for (size_t i = 1; i < st->shnum; i++) {
        const char *name = elf_strptr(st->elf, st->shstrndx, st->shdr[i].sh_name);
        if (!name)
            return rw_fail(d, RW_E_CORRUPT,
                           "section [%zu]: name offset 0x%x is outside the section name table", i,
                           (unsigned)st->shdr[i].sh_name);
        img->sec[i - 1].name = name;
        img->sec[i - 1].id = (uint32_t)i;
    }
    for (size_t i = 1; i < st->shnum; i++)
        if ((e = check_section(img, st, i, d)))
            return e;

    /* File overlaps: sections with file bytes, the header tables. */
    struct span *v = calloc(st->shnum + 3, sizeof *v);
    if (!v)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    size_t nv = 0;
    v[nv++] = (struct span){0, st->ehdr.e_ehsize, SPAN_EHDR};
    v[nv++] = (struct span){st->ehdr.e_shoff, st->ehdr.e_shoff + st->shnum * SHDR_SIZE, SPAN_SHDRS};
    if (st->phnum && st->phnum <= (img->size - st->ehdr.e_phoff) / PHDR_SIZE)
        v[nv++] = (struct span){st->ehdr.e_phoff, st->ehdr.e_phoff + st->phnum * PHDR_SIZE,
                                SPAN_PHDRS};
    for (size_t i = 1; i < st->shnum; i++) {
        const GElf_Shdr *sh = &st->shdr[i];
        if (sh->sh_type != SHT_NOBITS && sh->sh_size > 0)
            v[nv++] = (struct span){sh->sh_offset, sh->sh_offset + sh->sh_size, i};
    }
    e = check_overlaps(img, v, nv, "in the file", d);
    if (!e && img->kind != RW_KIND_OBJECT) { /* memory overlaps */
        nv = 0;
        for (size_t i = 1; i < st->shnum; i++) {
            const GElf_Shdr *sh = &st->shdr[i];
            if (!(sh->sh_flags & SHF_ALLOC) || sh->sh_size == 0 ||
                (sh->sh_type == SHT_NOBITS && (sh->sh_flags & SHF_TLS)))
                continue;
            v[nv++] = (struct span){sh->sh_addr, sh->sh_addr + sh->sh_size, i};
        }
        e = check_overlaps(img, v, nv, "in memory", d);
    }
    free(v);
    if (e)
        return e;

    if ((e = read_segments(img, st, d)))
        return e;

    size_t nalloc = 0;
    st->alloc = calloc(st->shnum, sizeof *st->alloc);
    if (!st->alloc)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (size_t i = 1; i < st->shnum; i++) {
        const GElf_Shdr *sh = &st->shdr[i];
        struct rw_section *s = &img->sec[i - 1];
        s->size = sh->sh_size;
        if (sh->sh_flags & SHF_ALLOC)
            s->flags |= RW_SEC_ALLOC;
        if (sh->sh_flags & SHF_EXECINSTR)
            s->flags |= RW_SEC_EXEC;
        if (sh->sh_flags & SHF_WRITE)
            s->flags |= RW_SEC_WRITE;
        if (sh->sh_flags & SHF_TLS)
            s->flags |= RW_SEC_TLS;
        if (sh->sh_type == SHT_NOBITS)
            s->flags |= RW_SEC_NOBITS;
        else if (!(sh->sh_flags & SHF_COMPRESSED) && sh->sh_offset <= img->size)
            s->data = img->data + sh->sh_offset; /* range checked in check_section
                                                    (an empty one may lie anywhere) */
        if (!strcmp(s->name, ".got") || !strcmp(s->name, ".got.plt"))
            s->flags |= RW_SEC_GOT;
        if (!strcmp(s->name, ".callirw.map"))
            img->rewritten = 1;
        if (img->kind == RW_KIND_OBJECT) {
            if (!strncmp(s->name, ".data.rel.ro", 12))
                s->flags |= RW_SEC_RELRO;
            continue;
        }
        s->addr = sh->sh_addr;
        if (!(sh->sh_flags & SHF_ALLOC) || sh->sh_size == 0)
            continue;
        if ((e = check_in_segment(img, st, i, d)))
            return e;
        if (st->relro_end > st->relro_start && sh->sh_addr >= st->relro_start &&
            sh->sh_addr + sh->sh_size <= st->relro_end)
            s->flags |= RW_SEC_RELRO;
        if (!(sh->sh_type == SHT_NOBITS && (sh->sh_flags & SHF_TLS)))
            st->alloc[nalloc++] = (struct elf_alloc){sh->sh_addr, sh->sh_size, elf_model_sec(i)};
    }
    st->nalloc = nalloc;
    qsort(st->alloc, nalloc, sizeof *st->alloc, cmp_alloc);

    if (img->kind == RW_KIND_SHARED) {
        read_dynamic(img, st);
        if (st->has_interp || (st->dt_flags_1 & DF_1_PIE)) {
            img->kind = RW_KIND_EXEC;
            img->pie = 1;
        }
    }
    return RW_OK;
}

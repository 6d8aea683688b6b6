/* elf_relocs.c - relocations into the model, the helper's GOT slots and PLT
 * sections, and read_pointer.
 *
 * Objects: every SHT_RELA / SHT_REL section that patches an allocated
 * section (debug sections are skipped), kinds normalised (image.h); ELF RELA
 * addends already mean S + A - P at the field for PC-relative types, SHT_REL
 * addends are read from the field.
 * Linked images: the dynamic relocations (allocated SHT_RELA / SHT_REL:
 * .rela.dyn, .rela.plt), located by address; the back-end interprets their
 * types itself in read_pointer. Packed relative relocations (SHT_RELR) need
 * nothing: a RELR slot keeps its link-time value in the file.
 */
#include <stdlib.h>
#include <string.h>

#include "elf_priv.h"

/* AArch64 types read here beyond elf_priv.h's (their numbers from the
 * AArch64 ELF ABI, as in elf.h). */
#define ELF_R_AARCH64_ABS32 258
#define ELF_R_AARCH64_PREL64 260
#define ELF_R_AARCH64_ADR_PREL_LO21 274
#define ELF_R_AARCH64_ADR_PREL_PG_HI21_NC 276
#define ELF_R_AARCH64_TSTBR14 279
#define ELF_R_AARCH64_CONDBR19 280
#define ELF_R_AARCH64_GOT_LD_PREL19 309

static uint32_t kind_of(enum rw_machine m, uint32_t type)
{
    if (m == RW_MACH_X86_64) {
        switch (type) {
        case ELF_R_X86_64_PLT32: return RW_R_X86_BRANCH32;
        case ELF_R_X86_64_PC32: return RW_R_X86_PCREL32;
        case ELF_R_X86_64_GOTPCREL:
        case ELF_R_X86_64_GOTPCRELX:
        case ELF_R_X86_64_REX_GOTPCRELX: return RW_R_X86_GOTPCREL32;
        case ELF_R_X86_64_32: return RW_R_X86_ABS32;
        case ELF_R_X86_64_32S: return RW_R_X86_ABS32S;
        case ELF_R_X86_64_64: return RW_R_ABS64;
        default: return RW_R_OTHER;
        }
    }
    switch (type) {
    case ELF_R_AARCH64_CALL26: return RW_R_A64_CALL26;
    case ELF_R_AARCH64_JUMP26: return RW_R_A64_JUMP26;
    case ELF_R_AARCH64_ADR_PREL_PG_HI21:
    case ELF_R_AARCH64_ADR_PREL_PG_HI21_NC: return RW_R_A64_PAGE21;
    case ELF_R_AARCH64_ADD_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST8_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST16_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST32_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST64_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST128_ABS_LO12_NC: return RW_R_A64_LO12;
    case ELF_R_AARCH64_ADR_GOT_PAGE: return RW_R_A64_GOT_PAGE21;
    case ELF_R_AARCH64_LD64_GOT_LO12_NC: return RW_R_A64_GOT_LO12;
    case ELF_R_AARCH64_LD_PREL_LO19: return RW_R_A64_LITERAL;
    case ELF_R_AARCH64_ABS64: return RW_R_ABS64;
    default: return RW_R_OTHER;
    }
}

/* Bytes the relocated field takes, 0 when this back-end does not know. */
static unsigned field_size(enum rw_machine m, uint32_t type)
{
    if (m == RW_MACH_X86_64) {
        switch (type) {
        case ELF_R_X86_64_64:
        case ELF_R_X86_64_PC64:
        case ELF_R_X86_64_GLOB_DAT:
        case ELF_R_X86_64_JUMP_SLOT:
        case ELF_R_X86_64_RELATIVE:
        case ELF_R_X86_64_IRELATIVE: return 8;
        case ELF_R_X86_64_PC32:
        case ELF_R_X86_64_PLT32:
        case ELF_R_X86_64_GOTPCREL:
        case ELF_R_X86_64_32:
        case ELF_R_X86_64_32S:
        case ELF_R_X86_64_GOTPCRELX:
        case ELF_R_X86_64_REX_GOTPCRELX: return 4;
        default: return 0;
        }
    }
    switch (type) {
    case ELF_R_AARCH64_ABS64:
    case ELF_R_AARCH64_PREL64:
    case ELF_R_AARCH64_GLOB_DAT:
    case ELF_R_AARCH64_JUMP_SLOT:
    case ELF_R_AARCH64_RELATIVE:
    case ELF_R_AARCH64_IRELATIVE: return 8;
    case ELF_R_AARCH64_ABS32:
    case ELF_R_AARCH64_ADR_PREL_LO21:
    case ELF_R_AARCH64_ADR_PREL_PG_HI21_NC:
    case ELF_R_AARCH64_TSTBR14:
    case ELF_R_AARCH64_CONDBR19:
    case ELF_R_AARCH64_GOT_LD_PREL19:
    case ELF_R_AARCH64_PREL32:
    case ELF_R_AARCH64_CALL26:
    case ELF_R_AARCH64_JUMP26:
    case ELF_R_AARCH64_ADR_PREL_PG_HI21:
    case ELF_R_AARCH64_ADD_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST8_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST16_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST32_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST64_ABS_LO12_NC:
    case ELF_R_AARCH64_LDST128_ABS_LO12_NC:
    case ELF_R_AARCH64_ADR_GOT_PAGE:
    case ELF_R_AARCH64_LD64_GOT_LO12_NC:
    case ELF_R_AARCH64_LD_PREL_LO19: return 4;
    default: return 0;
    }
}

static int is_slot_type(enum rw_machine m, uint32_t type)
{
    if (m == RW_MACH_X86_64)
        return type == ELF_R_X86_64_JUMP_SLOT || type == ELF_R_X86_64_GLOB_DAT ||
               type == ELF_R_X86_64_64;
    return type == ELF_R_AARCH64_JUMP_SLOT || type == ELF_R_AARCH64_GLOB_DAT ||
           type == ELF_R_AARCH64_ABS64;
}

static int64_t read_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (n == 4)
        return (int64_t)(int32_t)(uint32_t)v;
    return (int64_t)v;
}

struct rel_acc {
    size_t rel_cap, slot_cap;
};

static enum rw_err push_rel(struct rw_image *img, struct rel_acc *acc, const struct rw_reloc *r,
                            struct rw_diag *d)
{
    if (rw_grow((void **)&img->rel, &acc->rel_cap, img->nrel, sizeof *img->rel))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->rel[img->nrel++] = *r;
    return RW_OK;
}

/* One entry of relocation section shndx; rela: has an explicit addend. */
static int get_entry(Elf_Data *data, int rela, size_t k, GElf_Rela *out)
{
    if (rela)
        return gelf_getrela(data, (int)k, out) != NULL;
    GElf_Rel r;
    if (!gelf_getrel(data, (int)k, &r))
        return 0;
    out->r_offset = r.r_offset;
    out->r_info = r.r_info;
    out->r_addend = 0;
    return 1;
}

static enum rw_err read_object_relocs(struct rw_image *img, struct elf_state *st,
                                      struct rel_acc *acc, size_t i, struct rw_diag *d)
{
    const GElf_Shdr *sh = &st->shdr[i];
    char nb[24], tb[24];
    const char *name = elf_sec_name(img, i, nb);
    size_t target = sh->sh_info;
    if (target == 0 || !(st->shdr[target].sh_flags & SHF_ALLOC))
        return RW_OK; /* debug info and other non-allocated sections */
    if (sh->sh_link == 0 || sh->sh_link != st->symtab)
        return rw_fail(d, RW_E_CORRUPT, "relocation section %s: sh_link %u is not the symbol table",
                       name, (unsigned)sh->sh_link);
    int rela = sh->sh_type == SHT_RELA;
    size_t n = sh->sh_size / (rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel));
    Elf_Data *data = elf_getdata(elf_getscn(st->elf, i), NULL);
    if (n && (!data || data->d_size < sh->sh_size))
        return rw_fail(d, RW_E_CORRUPT, "relocation section %s: %s", name, elf_errmsg(-1));
    const struct rw_section *ts = &img->sec[elf_model_sec(target)];
    const char *tname = elf_sec_name(img, target, tb);
    for (size_t k = 0; k < n; k++) {
        GElf_Rela r;
        if (!get_entry(data, rela, k, &r))
            return rw_fail(d, RW_E_CORRUPT, "relocation %zu in %s: %s", k, name, elf_errmsg(-1));
        uint32_t type = (uint32_t)GELF_R_TYPE(r.r_info);
        size_t symi = GELF_R_SYM(r.r_info);
        if (symi >= st->symtab_n)
            return rw_fail(d, RW_E_CORRUPT,
                           "relocation %zu in %s: symbol index %zu out of range (%zu symbols)", k,
                           name, symi, st->symtab_n);
        unsigned fsz = field_size(img->machine, type);
        uint64_t need = fsz ? fsz : 1;
        if (r.r_offset > ts->size || need > ts->size - r.r_offset)
            return rw_fail(d, RW_E_CORRUPT,
                           "relocation %zu in %s: offset 0x%llx is past the end of %s (0x%llx bytes)",
                           k, name, (unsigned long long)r.r_offset, tname,
                           (unsigned long long)ts->size);
        int64_t addend = r.r_addend;
        if (!rela && fsz) {
            const uint8_t *p = rw_section_bytes(img, elf_model_sec(target), r.r_offset, fsz);
            if (!p)
                return rw_fail(d, RW_E_CORRUPT, "relocation %zu in %s: %s has no data", k, name,
                               tname);
            addend = read_le(p, fsz);
        }
        struct rw_reloc m = {
            .section = elf_model_sec(target),
            .kind = kind_of(img->machine, type),
            .raw_type = type,
            .symbol = symi ? st->symtab_base + (uint32_t)symi - 1 : RW_NONE,
            .offset = r.r_offset,
            .addend = addend,
        };
        enum rw_err e = push_rel(img, acc, &m, d);
        if (e)
            return e;
    }
    return RW_OK;
}

static enum rw_err read_dynamic_relocs(struct rw_image *img, struct elf_state *st,
                                       struct rel_acc *acc, size_t i, struct rw_diag *d)
{
    const GElf_Shdr *sh = &st->shdr[i];
    char nb[24];
    const char *name = elf_sec_name(img, i, nb);
    size_t nsyms = 0;
    uint32_t base = 0;
    if (sh->sh_link != 0 && sh->sh_link == st->dynsym) {
        nsyms = st->dynsym_n;
        base = st->dynsym_base;
    } else if (sh->sh_link != 0 && sh->sh_link == st->symtab) {
        nsyms = st->symtab_n;
        base = st->symtab_base;
    }
    int rela = sh->sh_type == SHT_RELA;
    size_t n = sh->sh_size / (rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel));
    Elf_Data *data = elf_getdata(elf_getscn(st->elf, i), NULL);
    if (n && (!data || data->d_size < sh->sh_size))
        return rw_fail(d, RW_E_CORRUPT, "relocation section %s: %s", name, elf_errmsg(-1));
    for (size_t k = 0; k < n; k++) {
        GElf_Rela r;
        if (!get_entry(data, rela, k, &r))
            return rw_fail(d, RW_E_CORRUPT, "relocation %zu in %s: %s", k, name, elf_errmsg(-1));
        uint32_t type = (uint32_t)GELF_R_TYPE(r.r_info);
        size_t symi = GELF_R_SYM(r.r_info);
        if (symi != 0 && symi >= nsyms)
            return rw_fail(d, RW_E_CORRUPT,
                           "relocation %zu in %s: symbol index %zu out of range (%zu symbols)", k,
                           name, symi, nsyms);
        unsigned fsz = field_size(img->machine, type);
        uint32_t sec = elf_sec_at(st, r.r_offset, fsz ? fsz : 1);
        if (sec == RW_NONE)
            continue; /* outside every section: nothing we read can depend on it */
        const struct rw_section *s = &img->sec[sec];
        int64_t addend = r.r_addend;
        if (!rela && fsz) {
            const uint8_t *p = rw_section_bytes(img, sec, r.r_offset - s->addr, fsz);
            addend = p ? read_le(p, fsz) : 0;
        }
        struct rw_reloc m = {
            .section = sec,
            .kind = kind_of(img->machine, type),
            .raw_type = type,
            .symbol = symi ? base + (uint32_t)symi - 1 : RW_NONE,
            .offset = r.r_offset - s->addr,
            .addend = addend,
        };
        enum rw_err e = push_rel(img, acc, &m, d);
        if (e)
            return e;
        if (m.symbol != RW_NONE && is_slot_type(img->machine, type) &&
            !strcmp(img->sym[m.symbol].name, img->helper_name)) {
            if (rw_grow((void **)&img->helper.slots, &acc->slot_cap, img->helper.nslots,
                         sizeof *img->helper.slots))
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            img->helper.slots[img->helper.nslots++] = r.r_offset;
        }
    }
    return RW_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
    if (n < 2)
        return n;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

static int is_plt_name(const char *s)
{
    return !strcmp(s, ".plt") || !strcmp(s, ".plt.sec") || !strcmp(s, ".plt.got") ||
           !strcmp(s, ".iplt") || !strcmp(s, ".plt.bnd");
}

enum rw_err elf_read_relocs(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    struct rel_acc acc = {0};
    size_t plt_cap = 0;
    for (size_t i = 1; i < st->shnum; i++) {
        const GElf_Shdr *sh = &st->shdr[i];
        enum rw_err e = RW_OK;
        if (sh->sh_type == SHT_RELA || sh->sh_type == SHT_REL) {
            if (img->kind == RW_KIND_OBJECT)
                e = read_object_relocs(img, st, &acc, i, d);
            else if (sh->sh_flags & SHF_ALLOC)
                e = read_dynamic_relocs(img, st, &acc, i, d);
        }
        if (e)
            return e;
        const struct rw_section *s = &img->sec[elf_model_sec(i)];
        if (img->kind != RW_KIND_OBJECT && (s->flags & RW_SEC_EXEC) && is_plt_name(s->name)) {
            if (rw_grow((void **)&img->helper.plt_secs, &plt_cap, img->helper.nplt_secs,
                         sizeof *img->helper.plt_secs))
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            img->helper.plt_secs[img->helper.nplt_secs++] = elf_model_sec(i);
        }
    }
    img->helper.naddrs = sort_unique(img->helper.addrs, img->helper.naddrs);
    img->helper.nslots = sort_unique(img->helper.slots, img->helper.nslots);
    return RW_OK;
}

/* The value a dynamic relocation leaves in its slot, when known statically. */
static enum rw_err apply(const struct rw_image *img, const struct rw_reloc *r, uint64_t *value)
{
    const struct rw_symbol *s = r->symbol != RW_NONE && r->symbol < img->nsym
                                    ? &img->sym[r->symbol] : NULL;
    int x86 = img->machine == RW_MACH_X86_64;
    uint32_t t = r->raw_type;
    if (t == (x86 ? ELF_R_X86_64_RELATIVE : ELF_R_AARCH64_RELATIVE)) {
        *value = (uint64_t)r->addend;
        return RW_OK;
    }
    int abs64 = t == (x86 ? ELF_R_X86_64_64 : ELF_R_AARCH64_ABS64);
    int glob = t == (x86 ? ELF_R_X86_64_GLOB_DAT : ELF_R_AARCH64_GLOB_DAT);
    int jump = t == (x86 ? ELF_R_X86_64_JUMP_SLOT : ELF_R_AARCH64_JUMP_SLOT);
    if (!abs64 && !glob && !jump)
        return RW_E_UNSUPPORTED; /* IRELATIVE, TLS, ... */
    if (s && (s->flags & RW_SYM_UNDEF))
        return RW_E_UNSUPPORTED; /* another module defines it */
    /* A definition in this image. (Interposition by a different definition
     * of the same name in another module is not modelled.) */
    *value = (s ? s->value : 0) + (jump ? 0 : (uint64_t)r->addend);
    return RW_OK;
}

enum rw_err elf_read_pointer(const struct rw_image *img, uint64_t va, uint64_t *value)
{
    const struct elf_state *st = elf_st(img);
    if (!st || img->kind == RW_KIND_OBJECT)
        return RW_E_UNSUPPORTED;
    uint32_t sec = elf_sec_at(st, va, 8);
    if (sec == RW_NONE)
        return RW_E_CORRUPT;
    const struct rw_section *s = &img->sec[sec];
    uint64_t off = va - s->addr;
    const struct rw_reloc *r = rw_reloc_at(img, sec, off);
    if (r)
        return apply(img, r, value);
    if (s->flags & RW_SEC_NOBITS) {
        *value = 0;
        return RW_OK;
    }
    const uint8_t *p = rw_section_bytes(img, sec, off, 8);
    if (!p)
        return RW_E_CORRUPT;
    *value = (uint64_t)read_le(p, 8);
    return RW_OK;
}

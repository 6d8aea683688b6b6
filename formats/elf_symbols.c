/* elf_symbols.c - .symtab and .dynsym into the model, function ranges from
 * FUNC symbols with a size, and where the helper is: its symbols (objects)
 * and its addresses (linked images: its definition, or the canonical PLT
 * entry an executable's undefined dynamic symbol carries as its value). */
#include <stdlib.h>
#include <string.h>

#include "elf_priv.h"

static int push_u32(uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
    if (rw_grow((void **)arr, cap, *n, sizeof **arr))
        return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

static int push_u64(uint64_t **arr, size_t *n, size_t *cap, uint64_t v)
{
    if (rw_grow((void **)arr, cap, *n, sizeof **arr))
        return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

struct sym_acc {
    size_t func_cap, syms_cap, addrs_cap;
};

static enum rw_err add_func(struct rw_image *img, struct sym_acc *acc, const struct rw_symbol *s)
{
    if (!(s->flags & RW_SYM_FUNC) || s->size == 0 || s->section == RW_NONE)
        return RW_OK;
    const struct rw_section *sec = &img->sec[s->section];
    if (!(sec->flags & RW_SEC_EXEC) || !sec->data)
        return RW_OK;
    uint64_t start = s->value;
    if (img->kind != RW_KIND_OBJECT) {
        if (s->value < sec->addr)
            return RW_OK;
        start = s->value - sec->addr;
    }
    if (start >= sec->size)
        return RW_OK;
    uint64_t end = s->size > sec->size - start ? sec->size : start + s->size;
    if (rw_grow((void **)&img->func, &acc->func_cap, img->nfunc, sizeof *img->func))
        return RW_E_NOMEM;
    img->func[img->nfunc++] = (struct rw_func){s->section, start, end, s->name};
    return RW_OK;
}

static enum rw_err read_table(struct rw_image *img, struct elf_state *st, size_t shndx,
                              uint32_t base, int dynamic, struct sym_acc *acc, struct rw_diag *d)
{
    const GElf_Shdr *sh = &st->shdr[shndx];
    size_t n = sh->sh_size / sizeof(Elf64_Sym);
    char nb[24];
    const char *tname = elf_sec_name(img, shndx, nb);
    Elf_Data *data = elf_getdata(elf_getscn(st->elf, shndx), NULL);
    if (!data || data->d_size < sh->sh_size)
        return rw_fail(d, RW_E_CORRUPT, "symbol table %s: %s", tname, elf_errmsg(-1));
    /* Extended section indices (SHN_XINDEX): 4 bytes per symbol. */
    const uint8_t *xndx = NULL;
    for (size_t i = 1; i < st->shnum; i++) {
        const GElf_Shdr *x = &st->shdr[i];
        if (x->sh_type == SHT_SYMTAB_SHNDX && x->sh_link == shndx) {
            if (x->sh_size / 4 < n)
                return rw_fail(d, RW_E_CORRUPT, "section %s is smaller than its symbol table",
                               elf_sec_name(img, i, nb));
            xndx = img->sec[i - 1].data;
        }
    }
    for (size_t k = 1; k < n; k++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)k, &sym))
            return rw_fail(d, RW_E_CORRUPT, "symbol %zu in %s: %s", k, tname, elf_errmsg(-1));
        struct rw_symbol *s = &img->sym[base + k - 1];
        s->name = elf_strptr(st->elf, sh->sh_link, sym.st_name);
        if (!s->name)
            return rw_fail(d, RW_E_CORRUPT,
                           "symbol %zu in %s: name offset 0x%x is outside its string table", k,
                           tname, (unsigned)sym.st_name);
        s->id = (uint32_t)k;
        s->value = sym.st_value;
        s->size = sym.st_size;
        s->section = RW_NONE;
        if (dynamic)
            s->flags |= RW_SYM_DYNAMIC;
        unsigned type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
        if (type == STT_FUNC || type == STT_GNU_IFUNC)
            s->flags |= RW_SYM_FUNC;
        if (bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE)
            s->flags |= RW_SYM_GLOBAL;
        size_t shn = sym.st_shndx;
        if (shn == SHN_XINDEX) {
            if (!xndx)
                return rw_fail(d, RW_E_CORRUPT,
                               "symbol %zu in %s: SHN_XINDEX without a SYMTAB_SHNDX section", k,
                               tname);
            const uint8_t *p = xndx + 4 * k;
            shn = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        } else if (shn == SHN_UNDEF) {
            s->flags |= RW_SYM_UNDEF;
            continue;
        } else if (shn >= SHN_LORESERVE) {
            continue; /* SHN_ABS, SHN_COMMON, processor-specific */
        }
        if (shn == 0 || shn >= st->shnum)
            return rw_fail(d, RW_E_CORRUPT,
                           "symbol %zu in %s: section index %zu out of range (%zu sections)", k,
                           tname, shn, st->shnum);
        s->section = elf_model_sec(shn);
        if (type == STT_SECTION)
            s->name = img->sec[s->section].name;
        enum rw_err e = add_func(img, acc, s);
        if (e)
            return rw_fail(d, e, "out of memory");
    }
    return RW_OK;
}

enum rw_err elf_read_symbols(struct rw_image *img, struct elf_state *st, struct rw_diag *d)
{
    for (size_t i = 1; i < st->shnum; i++) {
        if (st->shdr[i].sh_type == SHT_SYMTAB && !st->symtab)
            st->symtab = i;
        if (st->shdr[i].sh_type == SHT_DYNSYM && !st->dynsym)
            st->dynsym = i;
    }
    size_t total = 0;
    if (st->symtab) {
        st->symtab_n = st->shdr[st->symtab].sh_size / sizeof(Elf64_Sym);
        st->symtab_base = 0;
        total += st->symtab_n ? st->symtab_n - 1 : 0;
    }
    if (st->dynsym) {
        st->dynsym_n = st->shdr[st->dynsym].sh_size / sizeof(Elf64_Sym);
        st->dynsym_base = (uint32_t)total;
        total += st->dynsym_n ? st->dynsym_n - 1 : 0;
    }
    if (total >= RW_NONE)
        return rw_fail(d, RW_E_UNSUPPORTED, "too many symbols (%zu)", total);
    if (total) {
        img->sym = calloc(total, sizeof *img->sym);
        if (!img->sym)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    img->nsym = total;

    struct sym_acc acc = {0};
    enum rw_err e;
    if (st->symtab && st->symtab_n > 1 &&
        (e = read_table(img, st, st->symtab, st->symtab_base, 0, &acc, d)))
        return e;
    if (st->dynsym && st->dynsym_n > 1 &&
        (e = read_table(img, st, st->dynsym, st->dynsym_base, 1, &acc, d)))
        return e;

    /* The helper. */
    size_t naddr_cap = 0, nsyms_cap = 0;
    for (size_t i = 0; i < img->nsym; i++) {
        const struct rw_symbol *s = &img->sym[i];
        if (strcmp(s->name, img->helper_name) != 0)
            continue;
        int fail = 0;
        if (img->kind == RW_KIND_OBJECT) {
            if (!(s->flags & RW_SYM_DYNAMIC))
                fail = push_u32(&img->helper.syms, &img->helper.nsyms, &nsyms_cap, (uint32_t)i);
        } else if (s->section != RW_NONE) {
            fail = push_u64(&img->helper.addrs, &img->helper.naddrs, &naddr_cap, s->value);
        } else if ((s->flags & RW_SYM_UNDEF) && (s->flags & RW_SYM_DYNAMIC) && s->value != 0 &&
                   img->kind == RW_KIND_EXEC) {
            /* An executable that takes the address of an imported function
             * gives it a canonical PLT entry: the symbol's value. */
            fail = push_u64(&img->helper.addrs, &img->helper.naddrs, &naddr_cap, s->value);
        }
        if (fail)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    return RW_OK;
}

/* pe_coff.c - COFF objects (regular and /bigobj, x86-64 and arm64) into the
 * model: sections, the symbol table (auxiliary records skipped, long names
 * from the string table), relocations with their implicit addends
 * normalised (image.h), function ranges from function symbols and from
 * .pdata, and the helper's symbols GenericPInvokeCalliHelper and
 * __imp_GenericPInvokeCalliHelper. Also the COFF symbol table that some
 * linked images still carry. docs/pe.md. */
#include <stdlib.h>
#include <string.h>

#include "pe_priv.h"

static const uint8_t bigobj_guid[16] = {0xC7, 0xA1, 0xBA, 0xD1, 0xEE, 0xBA, 0xA9, 0x4B,
                                        0xAF, 0x20, 0xFA, 0xF6, 0x6A, 0xA4, 0xDC, 0xB8};

static int coff_machine_ok(uint16_t m)
{
    return m == PE_MACHINE_AMD64 || m == PE_MACHINE_ARM64;
}

/* Header fields common to both layouts. */
struct coff_hdr {
    int bigobj;
    uint16_t machine;
    uint32_t nsec, symptr, nsyms;
    uint32_t shdr_off; /* first section header */
    uint32_t symsz;
};

/* 1 object, 2 short import member, 0 not a COFF object we recognise. */
static int coff_header(const uint8_t *f, size_t n, struct coff_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (n < 20)
        return 0;
    if (pe_u16(f) == 0 && pe_u16(f + 2) == 0xFFFF) {
        uint16_t version = pe_u16(f + 4), machine = pe_u16(f + 6);
        if (!coff_machine_ok(machine))
            return 0;
        if (version == 0) /* IMPORT_OBJECT_HEADER: a short import library member */
            return 2;
        if (version < 2 || n < 56 || memcmp(f + 12, bigobj_guid, 16))
            return 0;
        h->bigobj = 1;
        h->machine = machine;
        h->nsec = pe_u32(f + 44);
        h->symptr = pe_u32(f + 48);
        h->nsyms = pe_u32(f + 52);
        h->shdr_off = 56;
        h->symsz = 20;
    } else {
        h->machine = pe_u16(f);
        if (!coff_machine_ok(h->machine))
            return 0;
        h->nsec = pe_u16(f + 2);
        h->symptr = pe_u32(f + 8);
        h->nsyms = pe_u32(f + 12);
        if (pe_u16(f + 16) != 0) /* objects have no optional header */
            return 0;
        if (pe_u16(f + 18) & (PE_FILE_DLL | PE_FILE_EXECUTABLE_IMAGE))
            return 0;
        h->shdr_off = 20;
        h->symsz = 18;
    }
    if (h->nsec == 0 && h->nsyms == 0)
        return 0;
    if ((n - h->shdr_off) / 40 < h->nsec)
        return 0;
    uint64_t shend = h->shdr_off + 40 * (uint64_t)h->nsec;
    if (h->nsyms) {
        if (h->symptr < shend || h->symptr > n || (n - h->symptr) / h->symsz < h->nsyms)
            return 0;
    } else if (h->symptr > n) {
        return 0;
    }
    return 1;
}

int pe_coff_probe(const uint8_t *data, size_t size)
{
    struct coff_hdr h;
    return coff_header(data, size, &h);
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* A string in the string table at offset off, or NULL. */
static const char *strtab_str(const struct pe_state *st, uint64_t off)
{
    if (!st->strtab || off < 4 || off >= st->strtab_size)
        return NULL;
    const char *s = (const char *)st->strtab + off;
    return memchr(s, 0, st->strtab_size - off) ? s : NULL;
}

const char *pe_section_name(struct pe_state *st, const uint8_t *name8)
{
    if (name8[0] == '/' && st->strtab) {
        uint64_t off = 0;
        int ok = 1;
        if (name8[1] == '/') { /* "//" + base64 (/bigobj) */
            for (int i = 2; i < 8 && name8[i]; i++) {
                int v = b64val((char)name8[i]);
                if (v < 0) {
                    ok = 0;
                    break;
                }
                off = off * 64 + (uint64_t)v;
            }
        } else {
            ok = name8[1] >= '0' && name8[1] <= '9';
            for (int i = 1; i < 8 && name8[i] && ok; i++) {
                if (name8[i] < '0' || name8[i] > '9')
                    ok = 0;
                else
                    off = off * 10 + (uint64_t)(name8[i] - '0');
            }
        }
        const char *s = ok ? strtab_str(st, off) : NULL;
        if (s)
            return s;
    }
    size_t len = 0;
    while (len < 8 && name8[len])
        len++;
    return pe_strndup(st, (const char *)name8, len);
}

/* One primary symbol record, decoded. */
struct coff_sym {
    const char *name; /* NULL: not decoded yet (short names are copied in pass 2) */
    const uint8_t *short_name;
    uint32_t value;
    int32_t secnum;
    uint16_t type;
    uint8_t sclass, naux;
};

static void sym_decode(const struct pe_state *st, uint32_t i, struct coff_sym *s)
{
    const uint8_t *r = st->symtab + (size_t)i * st->symsz;
    s->name = NULL;
    s->short_name = NULL;
    if (pe_u32(r) == 0)
        s->name = strtab_str(st, pe_u32(r + 4));
    else
        s->short_name = r;
    s->value = pe_u32(r + 8);
    if (st->symsz == 20) {
        s->secnum = (int32_t)pe_u32(r + 12);
        s->type = pe_u16(r + 16);
        s->sclass = r[18];
        s->naux = r[19];
    } else {
        s->secnum = (int16_t)pe_u16(r + 12);
        s->type = pe_u16(r + 14);
        s->sclass = r[16];
        s->naux = r[17];
    }
}

/* Check every record; 0 or a message in d. */
static int symtab_check(const struct rw_image *img, const struct pe_state *st, struct rw_diag *d)
{
    for (uint32_t i = 0; i < st->nsyms; i++) {
        struct coff_sym s;
        sym_decode(st, i, &s);
        if (!s.name && !s.short_name) {
            rw_fail(d, RW_E_CORRUPT, "symbol %u: name is not in the string table", i);
            return -1;
        }
        if (s.naux > st->nsyms - 1 - i) {
            rw_fail(d, RW_E_CORRUPT, "symbol %u: %u auxiliary records run past the table", i, s.naux);
            return -1;
        }
        if (s.secnum > 0) {
            if ((uint32_t)s.secnum > img->nsec) {
                rw_fail(d, RW_E_CORRUPT, "symbol %u: section number %d past %zu sections", i, s.secnum,
                        img->nsec);
                return -1;
            }
            if (s.value > img->sec[s.secnum - 1].size && s.sclass != PE_SYM_CLASS_SECTION) {
                rw_fail(d, RW_E_CORRUPT, "symbol %u: value 0x%x past the end of its section", i, s.value);
                return -1;
            }
        }
        i += s.naux;
    }
    return 0;
}

enum rw_err pe_read_symtab(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    if (!st->symtab || !st->nsyms)
        return RW_OK;
    struct rw_diag local;
    if (symtab_check(img, st, st->object ? d : &local)) {
        if (st->object)
            return d->err;
        st->symtab_ignored = 1; /* images: the loader never reads it */
        st->symtab = NULL;
        st->nsyms = 0;
        return RW_OK;
    }
    st->symmap = malloc((size_t)st->nsyms * sizeof *st->symmap);
    if (!st->symmap)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    size_t hl = strlen(img->helper_name);
    enum rw_err e;
    for (uint32_t i = 0; i < st->nsyms; i++) {
        struct coff_sym s;
        sym_decode(st, i, &s);
        if (!s.name) {
            size_t len = 0;
            while (len < 8 && s.short_name[len])
                len++;
            s.name = pe_strndup(st, (const char *)s.short_name, len);
            if (!s.name)
                return rw_fail(d, RW_E_NOMEM, "out of memory");
        }
        uint32_t flags = 0, sec = RW_NONE;
        uint64_t value = s.value, size = 0;
        if (s.sclass == PE_SYM_CLASS_EXTERNAL || s.sclass == PE_SYM_CLASS_WEAK_EXTERNAL)
            flags |= RW_SYM_GLOBAL;
        if ((s.type >> 4) == PE_SYM_DTYPE_FUNCTION)
            flags |= RW_SYM_FUNC;
        if (s.secnum == 0 && flags & RW_SYM_GLOBAL) {
            flags |= RW_SYM_UNDEF;
            size = s.value; /* a common symbol's size (0 when undefined) */
            value = 0;
        }
        if (s.secnum > 0) {
            sec = (uint32_t)s.secnum - 1;
            if (!st->object)
                value += img->sec[sec].addr;
        }
        st->symmap[i] = (uint32_t)img->nsym;
        struct rw_symbol sym = {s.name, i, sec, flags, value, size};
        if ((e = pe_push_sym(img, &sym, d)))
            return e;
        uint32_t model = (uint32_t)(img->nsym - 1);
        int helper = !strcmp(s.name, img->helper_name);
        int imp = !helper && !strncmp(s.name, "__imp_", 6) && strlen(s.name) == 6 + hl &&
                  !strcmp(s.name + 6, img->helper_name);
        int code = sec != RW_NONE && (img->sec[sec].flags & RW_SEC_EXEC);
        if (st->object) {
            if ((helper || imp) && (e = pe_push_helper_sym(img, model, imp, d)))
                return e;
        } else if (sec != RW_NONE) {
            if (helper && code && (e = pe_push_helper_addr(img, value, d)))
                return e;
            if (imp && (e = pe_push_helper_slot(img, value, d)))
                return e;
        }
        /* a function symbol, or an external one of no type in code (GNU as
         * gives assembly labels no type unless told with .def/.type) */
        int func = (flags & RW_SYM_FUNC) ||
                   (s.sclass == PE_SYM_CLASS_EXTERNAL && s.type == 0 && s.naux == 0);
        if (code && func && s.value < img->sec[sec].size &&
            (e = pe_push_func(img, sec, s.value, img->sec[sec].size, s.name, d)))
            return e;
        for (uint32_t k = 1; k <= s.naux; k++)
            st->symmap[i + k] = RW_NONE;
        i += s.naux;
    }
    return RW_OK;
}

static int32_t sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    return (int32_t)(int64_t)((v ^ m) - m);
}

/* Bytes the relocated field takes (0: none or unknown), kind and addend. */
static unsigned reloc_kind(const struct rw_image *img, const uint8_t *field, uint64_t avail,
                           uint16_t type, const char *symname, uint32_t *kind, int64_t *addend)
{
    *kind = RW_R_OTHER;
    *addend = 0;
    if (img->machine == RW_MACH_X86_64) {
        unsigned w;
        switch (type) {
        case PE_REL_AMD64_ABSOLUTE: return 0;
        case PE_REL_AMD64_ADDR64: w = 8; break;
        case 0x000A: w = 2; break;      /* SECTION */
        case 0x000C: w = 1; break;      /* SECREL7 */
        case 0x000F: return 0;          /* PAIR */
        default: w = 4; break;          /* ADDR32, ADDR32NB, REL32*, SECREL, TOKEN, SREL32, SSPAN32 */
        }
        if (avail < w)
            return w;
        switch (type) {
        case PE_REL_AMD64_ADDR64:
            *kind = RW_R_ABS64;
            *addend = (int64_t)pe_u64(field);
            break;
        case PE_REL_AMD64_ADDR32:
            *kind = RW_R_X86_ABS32;
            *addend = pe_u32(field);
            break;
        case PE_REL_AMD64_GNU_ADDR32S:
            *kind = RW_R_X86_ABS32S;
            *addend = (int32_t)pe_u32(field);
            break;
        case 0x000A: *addend = pe_u16(field); break;
        case 0x000C: *addend = field[0] & 0x7F; break;
        default:
            *addend = (int32_t)pe_u32(field);
            if (type >= PE_REL_AMD64_REL32 && type <= PE_REL_AMD64_REL32_5) {
                /* S + A - (P + 4 + k) with P the field: fold the end-of-field bias */
                *addend -= 4 + (type - PE_REL_AMD64_REL32);
                *kind = symname && !strncmp(symname, "__imp_", 6) ? RW_R_X86_IMPORT32
                                                                  : RW_R_X86_PCREL32;
            }
            break;
        }
        return w;
    }
    unsigned w = type == PE_REL_ARM64_ADDR64 ? 8 : type == PE_REL_ARM64_SECTION ? 2 : 4;
    if (type == PE_REL_ARM64_ABSOLUTE)
        return 0;
    if (avail < w)
        return w;
    uint32_t insn = pe_u32(field);
    switch (type) {
    case PE_REL_ARM64_ADDR64:
        *kind = RW_R_ABS64;
        *addend = (int64_t)pe_u64(field);
        break;
    case PE_REL_ARM64_SECTION: *addend = pe_u16(field); break;
    case PE_REL_ARM64_BRANCH26:
        *kind = insn >> 31 ? RW_R_A64_CALL26 : RW_R_A64_JUMP26;
        *addend = (int64_t)sext(insn & 0x3FFFFFF, 26) * 4;
        break;
    case PE_REL_ARM64_PAGEBASE_REL21:
    case PE_REL_ARM64_REL21:
        *kind = type == PE_REL_ARM64_REL21 ? RW_R_OTHER : RW_R_A64_PAGE21;
        *addend = sext(((insn >> 29) & 3) | ((insn >> 3) & 0x1FFFFC), 21);
        break;
    case PE_REL_ARM64_PAGEOFFSET_12A:
        *kind = RW_R_A64_LO12;
        *addend = (insn >> 10) & 0xFFF;
        break;
    case PE_REL_ARM64_PAGEOFFSET_12L: {
        unsigned scale = insn >> 30;
        if ((insn & 0x04800000) == 0x04800000)
            scale += 4; /* 128-bit SIMD load/store */
        *kind = RW_R_A64_LO12;
        *addend = (int64_t)((insn >> 10) & 0xFFF) << scale;
        break;
    }
    case PE_REL_ARM64_BRANCH19: *addend = (int64_t)sext((insn >> 5) & 0x7FFFF, 19) * 4; break;
    case PE_REL_ARM64_BRANCH14: *addend = (int64_t)sext((insn >> 5) & 0x3FFF, 14) * 4; break;
    default: *addend = (int32_t)insn; break; /* ADDR32, ADDR32NB, SECREL, TOKEN, REL32 */
    }
    return w;
}

static enum rw_err read_relocs(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    enum rw_err e;
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *h = st->shdr + 40 * (size_t)i;
        const struct rw_section *s = &img->sec[i];
        uint32_t ptr = pe_u32(h + 24), secva = pe_u32(h + 12), ch = pe_u32(h + 36);
        uint64_t count = pe_u16(h + 32);
        if (!count || !(s->flags & RW_SEC_ALLOC))
            continue;
        if (ptr > img->size || img->size - ptr < 10)
            return rw_fail(d, RW_E_CORRUPT, "section %s: relocations at 0x%x are past the end of the file",
                           s->name, ptr);
        uint64_t first = 0;
        if ((ch & PE_SCN_LNK_NRELOC_OVFL) && count == 0xFFFF) {
            count = pe_u32(img->data + ptr); /* the real count, in the first record */
            first = 1;
            if (count == 0)
                return rw_fail(d, RW_E_CORRUPT, "section %s: bad extended relocation count", s->name);
        }
        if ((img->size - ptr) / 10 < count)
            return rw_fail(d, RW_E_CORRUPT, "section %s: %llu relocations run past the end of the file",
                           s->name, (unsigned long long)count);
        if (!s->data)
            return rw_fail(d, RW_E_CORRUPT, "section %s has relocations but no data", s->name);
        for (uint64_t k = first; k < count; k++) {
            const uint8_t *r = img->data + ptr + 10 * k;
            uint32_t va = pe_u32(r), symi = pe_u32(r + 4);
            uint16_t type = pe_u16(r + 8);
            if (va < secva || va - secva >= s->size)
                return rw_fail(d, RW_E_CORRUPT, "section %s: relocation %llu at 0x%x is outside the section",
                               s->name, (unsigned long long)k, va);
            uint64_t off = va - secva;
            if (symi >= st->nsyms || st->symmap[symi] == RW_NONE)
                return rw_fail(d, RW_E_CORRUPT, "section %s: relocation %llu names symbol %u, not in the table",
                               s->name, (unsigned long long)k, symi);
            uint32_t sym = st->symmap[symi];
            uint32_t kind;
            int64_t addend;
            unsigned w = reloc_kind(img, s->data + off, s->size - off, type, img->sym[sym].name,
                                    &kind, &addend);
            if (!w)
                continue;
            if (w > s->size - off)
                return rw_fail(d, RW_E_CORRUPT, "section %s: relocation %llu at 0x%llx runs past the section",
                               s->name, (unsigned long long)k, (unsigned long long)off);
            struct rw_reloc rel = {i, kind, type, sym, off, addend};
            if ((e = pe_push_rel(img, &rel, d)))
                return e;
        }
    }
    return RW_OK;
}

/* x86-64 .pdata in objects: each 12-byte RUNTIME_FUNCTION's begin and end
 * carry ADDR32NB relocations against symbols; the range is the function. */
static enum rw_err read_obj_pdata(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    (void)st;
    if (img->machine != RW_MACH_X86_64)
        return RW_OK;
    enum rw_err e;
    size_t nsec = img->nsec;
    for (uint32_t i = 0; i < nsec; i++) {
        const struct rw_section *s = &img->sec[i];
        if (strcmp(s->name, ".pdata") && strncmp(s->name, ".pdata$", 7))
            continue;
        /* over the section's relocations, not its size: a hostile size
         * (uninitialised data) would mean billions of look-ups */
        for (size_t r = rw_reloc_lower_bound(img, i, 0);
             r < img->nrel && img->rel[r].section == i; r++) {
            uint64_t k = img->rel[r].offset;
            if (k % 12 || k > s->size || s->size - k < 12 || (r && img->rel[r - 1].section == i &&
                                                               img->rel[r - 1].offset == k))
                continue; /* not a RUNTIME_FUNCTION's begin, or not the first at k */
            const struct rw_reloc *b = &img->rel[r], *en = rw_reloc_at(img, i, k + 4);
            if (!en || b->raw_type != PE_REL_AMD64_ADDR32NB ||
                en->raw_type != PE_REL_AMD64_ADDR32NB || b->symbol == RW_NONE || en->symbol == RW_NONE)
                continue;
            const struct rw_symbol *sb = &img->sym[b->symbol], *se = &img->sym[en->symbol];
            if (sb->section == RW_NONE || sb->section != se->section)
                continue;
            uint64_t start = sb->value + (uint64_t)b->addend, end = se->value + (uint64_t)en->addend;
            const struct rw_section *code = &img->sec[sb->section];
            if (!(code->flags & RW_SEC_EXEC) || start >= end || end > code->size)
                continue;
            if ((e = pe_push_func(img, sb->section, start, end, NULL, d)))
                return e;
        }
    }
    return RW_OK;
}

enum rw_err pe_open_object(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    struct coff_hdr h;
    int kind = coff_header(img->data, img->size, &h);
    if (kind == 2)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "COFF short import library member: it holds no code to rewrite");
    if (kind != 1)
        return rw_fail(d, RW_E_FORMAT, "not a COFF object");
    st->object = 1;
    st->bigobj = h.bigobj;
    st->machine = h.machine;
    st->nsec = h.nsec;
    st->shdr = img->data + h.shdr_off;
    st->timestamp = pe_u32(img->data + (h.bigobj ? 8 : 4));
    st->characteristics = h.bigobj ? 0 : pe_u16(img->data + 18);
    img->kind = RW_KIND_OBJECT;
    img->machine = h.machine == PE_MACHINE_AMD64 ? RW_MACH_X86_64 : RW_MACH_AARCH64;
    img->abi = h.machine == PE_MACHINE_AMD64 ? CALLI_ABI_WIN_X64 : CALLI_ABI_AAPCS64;
    if (h.nsyms) {
        st->symtab = img->data + h.symptr;
        st->nsyms = h.nsyms;
        st->symsz = h.symsz;
        size_t strp = (size_t)h.symptr + (size_t)h.nsyms * h.symsz;
        size_t left = img->size - strp;
        if (left > 0 && left < 4)
            return rw_fail(d, RW_E_CORRUPT, "string table size is cut short by the end of the file");
        if (left >= 4) {
            uint32_t sz = pe_u32(img->data + strp);
            if (sz > left || (sz && sz < 4))
                return rw_fail(d, RW_E_CORRUPT, "string table (0x%x bytes) is past the end of the file", sz);
            st->strtab = img->data + strp;
            st->strtab_size = sz;
        }
    }
    if (st->nsec) {
        img->sec = calloc(st->nsec, sizeof *img->sec);
        if (!img->sec)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    img->nsec = st->nsec;
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *sh = st->shdr + 40 * (size_t)i;
        struct rw_section *s = &img->sec[i];
        s->name = pe_section_name(st, sh);
        if (!s->name)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
        uint32_t rawsz = pe_u32(sh + 16), rawptr = pe_u32(sh + 20), ch = pe_u32(sh + 36);
        int nobits = (ch & PE_SCN_CNT_UNINITIALIZED_DATA) || rawptr == 0;
        if (!nobits && (rawptr > img->size || img->size - rawptr < rawsz))
            return rw_fail(d, RW_E_CORRUPT,
                           "section %s: raw data [0x%x, +0x%x) is past the end of the file (%zu bytes)",
                           s->name, rawptr, rawsz, img->size);
        s->id = i + 1;
        s->size = rawsz;
        s->data = nobits || !rawsz ? NULL : img->data + rawptr;
        s->flags = 0;
        if (!(ch & (PE_SCN_LNK_REMOVE | PE_SCN_LNK_INFO | PE_SCN_MEM_DISCARDABLE)))
            s->flags |= RW_SEC_ALLOC;
        if (ch & (PE_SCN_MEM_EXECUTE | PE_SCN_CNT_CODE))
            s->flags |= RW_SEC_EXEC;
        if (ch & PE_SCN_MEM_WRITE)
            s->flags |= RW_SEC_WRITE;
        if (nobits)
            s->flags |= RW_SEC_NOBITS;
    }
    enum rw_err e;
    if ((e = pe_read_symtab(img, st, d)) || (e = read_relocs(img, st, d)) ||
        (e = rw_image_normalize(img, d)) || (e = read_obj_pdata(img, st, d)))
        return e;
    return RW_OK;
}

/* pe_image.c - PE32+ images into the model: headers, sections, imports
 * (the helper's IAT slots), exports, the exception directory (function
 * ranges), base relocations, the load configuration (CFG), the COFF symbol
 * table when one is left, and the CLI header (then pe_r2r.c for a
 * ReadyToRun header). docs/pe.md. */
#include <stdlib.h>
#include <string.h>

#include "pe_priv.h"
#include "pe_r2r.h"

static const char *const dir_names[PE_NDIRS] = {
    "export", "import", "resource", "exception", "security", "basereloc", "debug", "architecture",
    "globalptr", "tls", "load_config", "bound_import", "iat", "delay_import", "clr", "reserved",
};

static enum rw_err read_headers(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    const uint8_t *f = img->data;
    size_t n = img->size;
    if (n < 64)
        return rw_fail(d, RW_E_CORRUPT, "truncated DOS header (%zu bytes)", n);
    uint32_t lfanew = pe_u32(f + 0x3C);
    if (lfanew > n || n - lfanew < 24)
        return rw_fail(d, RW_E_CORRUPT, "PE header offset 0x%x is past the end of the file", lfanew);
    if (memcmp(f + lfanew, "PE\0\0", 4))
        return rw_fail(d, RW_E_FORMAT, "no PE signature at offset 0x%x", lfanew);
    st->pe_off = lfanew;
    const uint8_t *fh = f + lfanew + 4;
    uint16_t machine = pe_u16(fh);
    st->machine = machine;
    st->nsec = pe_u16(fh + 2);
    st->timestamp = pe_u32(fh + 4);
    uint32_t symptr = pe_u32(fh + 8), nsyms = pe_u32(fh + 12);
    uint16_t optsz = pe_u16(fh + 16);
    st->characteristics = pe_u16(fh + 18);

    /* machine, possibly with a ReadyToRun OS override XORed in */
    static const uint16_t os[] = {0, PE_OS_LINUX, PE_OS_APPLE, PE_OS_FREEBSD, PE_OS_NETBSD,
                                  PE_OS_SUNOS};
    uint16_t real = 0;
    for (size_t i = 0; i < sizeof os / sizeof os[0] && !real; i++) {
        uint16_t m = (uint16_t)(machine ^ os[i]);
        if (m == PE_MACHINE_AMD64 || m == PE_MACHINE_ARM64) {
            real = m;
            st->os_override = os[i];
        }
    }
    if (!real) {
        const char *name = pe_machine_name(machine);
        if (name)
            return rw_fail(d, RW_E_UNSUPPORTED, "PE image for %s (machine 0x%04x): only x86-64 and arm64 are supported", name, machine);
        return rw_fail(d, RW_E_UNSUPPORTED, "PE image for unknown machine 0x%04x", machine);
    }
    img->machine = real == PE_MACHINE_AMD64 ? RW_MACH_X86_64 : RW_MACH_AARCH64;
    if (real == PE_MACHINE_AMD64)
        img->abi = st->os_override == 0 ? CALLI_ABI_WIN_X64 : CALLI_ABI_SYSV_X64;
    else
        img->abi = st->os_override == PE_OS_APPLE ? CALLI_ABI_APPLE_ARM64 : CALLI_ABI_AAPCS64;

    size_t opt = (size_t)lfanew + 24;
    if (optsz < 2 || n - opt < optsz)
        return rw_fail(d, RW_E_CORRUPT, "optional header (%u bytes) is past the end of the file", optsz);
    const uint8_t *oh = f + opt;
    uint16_t magic = pe_u16(oh);
    if (magic == 0x10B)
        return rw_fail(d, RW_E_UNSUPPORTED, "PE32 (32-bit) image: only PE32+ is supported");
    if (magic != 0x20B)
        return rw_fail(d, RW_E_CORRUPT, "bad optional header magic 0x%04x", magic);
    if (optsz < 112)
        return rw_fail(d, RW_E_CORRUPT, "PE32+ optional header too short (%u bytes)", optsz);
    st->linker_major = oh[2];
    st->linker_minor = oh[3];
    st->entry_rva = pe_u32(oh + 16);
    st->image_base = pe_u64(oh + 24);
    st->section_alignment = pe_u32(oh + 32);
    st->file_alignment = pe_u32(oh + 36);
    st->size_of_image = pe_u32(oh + 56);
    st->size_of_headers = pe_u32(oh + 60);
    st->subsystem = pe_u16(oh + 68);
    st->dll_characteristics = pe_u16(oh + 70);
    uint32_t ndirs = pe_u32(oh + 108);
    if (ndirs > PE_NDIRS)
        ndirs = PE_NDIRS;
    if (ndirs > (uint32_t)(optsz - 112) / 8)
        ndirs = (uint32_t)(optsz - 112) / 8;
    st->ndirs = ndirs;
    for (uint32_t i = 0; i < ndirs; i++) {
        st->dir_rva[i] = pe_u32(oh + 112 + 8 * i);
        st->dir_size[i] = pe_u32(oh + 116 + 8 * i);
    }
    if (st->image_base > UINT64_MAX - ((uint64_t)UINT32_MAX + 1))
        return rw_fail(d, RW_E_CORRUPT, "image base 0x%llx leaves no room for the image",
                       (unsigned long long)st->image_base);

    size_t sh = opt + optsz;
    if (st->nsec == 0)
        return rw_fail(d, RW_E_CORRUPT, "image has no sections");
    if ((n - sh) / 40 < st->nsec)
        return rw_fail(d, RW_E_CORRUPT, "section table (%u entries) is past the end of the file", st->nsec);
    st->shdr = f + sh;

    /* The COFF symbol table (deprecated in images; mingw keeps one unless
     * stripped). Needed first: long section names live in its string table. */
    if (symptr && nsyms) {
        if (symptr > n || (n - symptr) / 18 < nsyms) {
            st->symtab_ignored = 1; /* the loader never reads it */
        } else {
            st->symtab = f + symptr;
            st->nsyms = nsyms;
            st->symsz = 18;
            size_t strp = (size_t)symptr + (size_t)nsyms * 18;
            if (n - strp >= 4) {
                uint32_t sz = pe_u32(f + strp);
                if (sz >= 4 && sz <= n - strp) {
                    st->strtab = f + strp;
                    st->strtab_size = sz;
                }
            }
        }
    }
    return RW_OK;
}

static uint32_t sec_flags(uint32_t ch, int nobits)
{
    uint32_t fl = RW_SEC_ALLOC;
    if (ch & (PE_SCN_MEM_EXECUTE | PE_SCN_CNT_CODE))
        fl |= RW_SEC_EXEC;
    if (ch & PE_SCN_MEM_WRITE)
        fl |= RW_SEC_WRITE;
    if (nobits)
        fl |= RW_SEC_NOBITS;
    return fl;
}

static enum rw_err read_sections(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    img->sec = calloc(st->nsec, sizeof *img->sec);
    if (!img->sec)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->nsec = st->nsec;
    uint64_t padded = 0;
    uint32_t prev_end = 0;
    uint64_t image_end = st->size_of_image; /* the loader rounds it up to the section alignment */
    uint32_t al = st->section_alignment;
    if (al && !(al & (al - 1)))
        image_end = (image_end + al - 1) & ~(uint64_t)(al - 1);
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *h = st->shdr + 40 * (size_t)i;
        struct rw_section *s = &img->sec[i];
        s->name = pe_section_name(st, h);
        if (!s->name)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
        uint32_t vsize = pe_u32(h + 8), va = pe_u32(h + 12), rawsz = pe_u32(h + 16),
                 rawptr = pe_u32(h + 20), ch = pe_u32(h + 36);
        if (vsize == 0)
            vsize = rawsz;
        if ((uint64_t)va + vsize > UINT32_MAX)
            return rw_fail(d, RW_E_CORRUPT, "section %s: [0x%x, +0x%x) wraps around the address space",
                           s->name, va, vsize);
        if (vsize && (uint64_t)va + vsize > image_end)
            return rw_fail(d, RW_E_CORRUPT, "section %s: [0x%x, +0x%x) ends past SizeOfImage 0x%x",
                           s->name, va, vsize, st->size_of_image);
        if (va < prev_end) /* ascending, not overlapping (look-ups search by address) */
            return rw_fail(d, RW_E_CORRUPT, "section %s at RVA 0x%x overlaps the section before it",
                           s->name, va);
        prev_end = va + vsize;
        uint32_t fsize = rawsz < vsize ? rawsz : vsize;
        if (fsize && (rawptr > img->size || img->size - rawptr < fsize))
            return rw_fail(d, RW_E_CORRUPT,
                           "section %s: raw data [0x%x, +0x%x) is past the end of the file (%zu bytes)",
                           s->name, rawptr, fsize, img->size);
        s->id = i + 1;
        s->addr = st->image_base + va;
        s->size = vsize;
        s->flags = sec_flags(ch, fsize == 0);
        if (fsize == vsize) {
            s->data = vsize ? img->data + rawptr : NULL;
        } else if (fsize) { /* raw data shorter than the section: zero-fill the rest */
            padded += vsize;
            if (padded > PE_MAX_PAD_BYTES)
                return rw_fail(d, RW_E_UNSUPPORTED,
                               "section %s: 0x%x bytes of zero-fill is more than this tool handles",
                               s->name, vsize - fsize);
            uint8_t *copy = pe_alloc(st, vsize);
            if (!copy)
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            memcpy(copy, img->data + rawptr, fsize);
            s->data = copy;
        }
    }
    /* the headers are mapped at RVA 0, up to the first section */
    uint32_t hdr = st->size_of_headers;
    if (hdr > img->size)
        hdr = (uint32_t)img->size;
    for (uint32_t i = 0; i < st->nsec; i++)
        if (img->sec[i].size && img->sec[i].addr - st->image_base < hdr)
            hdr = (uint32_t)(img->sec[i].addr - st->image_base);
    st->hdr_map = hdr;
    return RW_OK;
}

/* A pointer-sized thunk table (ILT / IAT / delay names) at rva: entries up to
 * the 0 terminator. *count entries; CORRUPT if the table is not terminated
 * inside its section. */
static enum rw_err thunk_count(const struct rw_image *img, uint32_t rva, const char *dll,
                               uint32_t *count, struct rw_diag *d)
{
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, rva, &avail);
    if (!p)
        return rw_fail(d, RW_E_CORRUPT, "import table of %s: RVA 0x%x is outside the image", dll, rva);
    for (uint64_t i = 0; i + 8 <= avail; i += 8)
        if (!pe_u64(p + i)) {
            *count = (uint32_t)(i / 8);
            return RW_OK;
        }
    return rw_fail(d, RW_E_CORRUPT, "import table of %s at RVA 0x%x is not terminated", dll, rva);
}

/* Each import: an undefined symbol; the helper's IAT slots. */
static enum rw_err import_entries(struct rw_image *img, struct pe_state *st, const char *dll,
                                  uint32_t names, uint32_t iat, uint32_t count,
                                  struct rw_diag *d)
{
    enum rw_err e;
    const uint8_t *tab = pe_rva_bytes(img, names, (uint64_t)count * 8);
    if (!tab)
        return rw_fail(d, RW_E_CORRUPT, "import table of %s at RVA 0x%x is outside the image", dll, names);
    if (!pe_rva_bytes(img, iat, (uint64_t)count * 8))
        return rw_fail(d, RW_E_CORRUPT, "import address table of %s at RVA 0x%x is outside the image", dll, iat);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t v = pe_u64(tab + 8 * (size_t)i);
        if (v >> 63) /* by ordinal */
            continue;
        if (v > UINT32_MAX)
            return rw_fail(d, RW_E_CORRUPT, "import %u of %s: hint/name RVA 0x%llx is too large", i, dll,
                           (unsigned long long)v);
        const char *name = pe_rva_str(img, v + 2);
        if (!name)
            return rw_fail(d, RW_E_CORRUPT, "import %u of %s: name at RVA 0x%llx is outside the image", i,
                           dll, (unsigned long long)v + 2);
        struct rw_symbol sym = {name, PE_SYMID_IMPORT | (uint32_t)st->nimports, RW_NONE,
                                RW_SYM_GLOBAL | RW_SYM_UNDEF | RW_SYM_DYNAMIC, 0, 0};
        if ((e = pe_push_sym(img, &sym, d)))
            return e;
        st->nimports++;
        if (!strcmp(name, img->helper_name) &&
            (e = pe_push_helper_slot(img, st->image_base + iat + 8 * (uint64_t)i, d)))
            return e;
    }
    return RW_OK;
}

static enum rw_err push_dll(struct pe_state *st, const char *name, uint32_t n, uint32_t iat,
                            int delay, struct rw_diag *d)
{
    if (rw_grow((void **)&st->dlls, &st->dll_cap, st->ndlls, sizeof *st->dlls))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->dlls[st->ndlls++] = (struct pe_dll){name, n, iat, delay};
    return RW_OK;
}

static enum rw_err read_imports(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    enum rw_err e;
    if (st->ndirs > PE_DIR_IMPORT && st->dir_rva[PE_DIR_IMPORT]) {
        uint32_t rva = st->dir_rva[PE_DIR_IMPORT];
        uint64_t avail;
        const uint8_t *p = pe_rva_avail(img, rva, &avail);
        if (!p)
            return rw_fail(d, RW_E_CORRUPT, "import directory at RVA 0x%x is outside the image", rva);
        /* descriptors up to the all-zero one (the directory size is not
         * reliable; the loader ignores it too) */
        for (uint64_t k = 0; k + 20 <= avail; k += 20) {
            const uint8_t *desc = p + k;
            uint32_t ilt = pe_u32(desc), name = pe_u32(desc + 12), iat = pe_u32(desc + 16);
            if (!ilt && !name && !iat && !pe_u32(desc + 4) && !pe_u32(desc + 8))
                break;
            const char *dll = pe_rva_str(img, name);
            if (!dll)
                return rw_fail(d, RW_E_CORRUPT, "import descriptor %llu: DLL name at RVA 0x%x is outside the image",
                               (unsigned long long)(k / 20), name);
            uint32_t names = ilt ? ilt : iat, count;
            if ((e = thunk_count(img, names, dll, &count, d)) ||
                (e = import_entries(img, st, dll, names, iat, count, d)) ||
                (e = push_dll(st, dll, count, iat, 0, d)) ||
                (e = pe_push_slot_range(img, iat, iat + 8 * ((uint64_t)count + 1), d)))
                return e;
        }
    }
    if (st->ndirs > PE_DIR_DELAY_IMPORT && st->dir_rva[PE_DIR_DELAY_IMPORT]) {
        uint32_t rva = st->dir_rva[PE_DIR_DELAY_IMPORT];
        uint64_t avail;
        const uint8_t *p = pe_rva_avail(img, rva, &avail);
        if (!p)
            return rw_fail(d, RW_E_CORRUPT, "delay-load import directory at RVA 0x%x is outside the image", rva);
        for (uint64_t k = 0; k + 32 <= avail; k += 32) {
            const uint8_t *desc = p + k;
            uint32_t attr = pe_u32(desc);
            uint64_t f[3] = {pe_u32(desc + 4), pe_u32(desc + 12), pe_u32(desc + 16)};
            if (!f[0] && !f[1] && !f[2] && !attr)
                break;
            if (!(attr & 1)) /* old style: virtual addresses, not RVAs */
                for (int j = 0; j < 3; j++)
                    f[j] = f[j] >= st->image_base ? f[j] - st->image_base : UINT64_MAX;
            if (f[0] > UINT32_MAX || f[1] > UINT32_MAX || f[2] > UINT32_MAX)
                return rw_fail(d, RW_E_CORRUPT, "delay-load descriptor %llu: address outside the image",
                               (unsigned long long)(k / 32));
            const char *dll = pe_rva_str(img, f[0]);
            if (!dll)
                return rw_fail(d, RW_E_CORRUPT, "delay-load descriptor %llu: DLL name is outside the image",
                               (unsigned long long)(k / 32));
            uint32_t iat = (uint32_t)f[1], names = (uint32_t)f[2], count;
            if (!names || !iat)
                return rw_fail(d, RW_E_CORRUPT, "delay-load descriptor of %s has no name or address table", dll);
            if ((e = thunk_count(img, names, dll, &count, d)) ||
                (e = import_entries(img, st, dll, names, iat, count, d)) ||
                (e = push_dll(st, dll, count, iat, 1, d)) ||
                (e = pe_push_slot_range(img, iat, iat + 8 * ((uint64_t)count + 1), d)))
                return e;
        }
    }
    if (st->ndirs > PE_DIR_IAT && st->dir_rva[PE_DIR_IAT] && st->dir_size[PE_DIR_IAT]) {
        uint32_t rva = st->dir_rva[PE_DIR_IAT], size = st->dir_size[PE_DIR_IAT];
        if ((e = pe_push_slot_range(img, rva, (uint64_t)rva + size, d)))
            return e;
    }
    /* A section holding nothing but import tables is loader-only data. */
    for (size_t i = 0; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, ".idata"))
            img->sec[i].flags |= RW_SEC_GOT;
    return RW_OK;
}

/* Exports: global symbols; functions; the helper's own entry. *rtr: the RVA
 * of the export RTR_HEADER (composite ReadyToRun), or 0. */
static enum rw_err read_exports(struct rw_image *img, struct pe_state *st, uint32_t *rtr,
                                struct rw_diag *d)
{
    *rtr = 0;
    if (st->ndirs <= PE_DIR_EXPORT || !st->dir_rva[PE_DIR_EXPORT])
        return RW_OK;
    uint32_t rva = st->dir_rva[PE_DIR_EXPORT], size = st->dir_size[PE_DIR_EXPORT];
    const uint8_t *ed = pe_rva_bytes(img, rva, 40);
    if (!ed)
        return rw_fail(d, RW_E_CORRUPT, "export directory at RVA 0x%x is outside the image", rva);
    uint32_t nfuncs = pe_u32(ed + 20), nnames = pe_u32(ed + 24), funcs = pe_u32(ed + 28),
             names = pe_u32(ed + 32), ords = pe_u32(ed + 36);
    st->export_name = pe_rva_str(img, pe_u32(ed + 12)); /* NULL if absent: only shown */
    if (!nnames)
        return RW_OK;
    if (nnames > PE_MAX_EXPORT_NAMES)
        return rw_fail(d, RW_E_UNSUPPORTED, "export table with %u names: more than this tool handles", nnames);
    const uint8_t *ft = pe_rva_bytes(img, funcs, (uint64_t)nfuncs * 4);
    const uint8_t *nt = pe_rva_bytes(img, names, (uint64_t)nnames * 4);
    const uint8_t *ot = pe_rva_bytes(img, ords, (uint64_t)nnames * 2);
    if (!ft || !nt || !ot)
        return rw_fail(d, RW_E_CORRUPT, "export tables (%u functions, %u names) are outside the image",
                       nfuncs, nnames);
    enum rw_err e;
    for (uint32_t i = 0; i < nnames; i++) {
        const char *name = pe_rva_str(img, pe_u32(nt + 4 * (size_t)i));
        if (!name)
            return rw_fail(d, RW_E_CORRUPT, "export name %u is outside the image", i);
        uint16_t ord = pe_u16(ot + 2 * (size_t)i);
        if (ord >= nfuncs)
            return rw_fail(d, RW_E_CORRUPT, "export %s: ordinal index %u past %u functions", name, ord, nfuncs);
        uint32_t f = pe_u32(ft + 4 * (size_t)ord);
        if (f >= rva && f - rva < size) /* forwarder ("DLL.name") */
            continue;
        uint32_t s = pe_sec_of_rva(img, f);
        if (s == RW_NONE)
            return rw_fail(d, RW_E_CORRUPT, "export %s: RVA 0x%x is outside the image's sections", name, f);
        int code = (img->sec[s].flags & RW_SEC_EXEC) != 0;
        uint64_t va = st->image_base + f;
        struct rw_symbol sym = {name, PE_SYMID_EXPORT | i, s,
                                RW_SYM_GLOBAL | RW_SYM_DYNAMIC | (code ? RW_SYM_FUNC : 0), va, 0};
        if ((e = pe_push_sym(img, &sym, d)))
            return e;
        st->nexports++;
        uint64_t off = va - img->sec[s].addr;
        if (code && (e = pe_push_func(img, s, off, img->sec[s].size, name, d)))
            return e;
        if (code && !strcmp(name, img->helper_name) && (e = pe_push_helper_addr(img, va, d)))
            return e;
        if (!strcmp(name, "RTR_HEADER"))
            *rtr = f;
    }
    return RW_OK;
}

/* x86-64 .pdata: RUNTIME_FUNCTION {begin, end, unwind}; arm64: {begin,
 * unwind data} with the length packed in it or in the .xdata header. */
static enum rw_err read_pdata(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    if (st->ndirs <= PE_DIR_EXCEPTION || !st->dir_rva[PE_DIR_EXCEPTION])
        return RW_OK;
    uint32_t rva = st->dir_rva[PE_DIR_EXCEPTION], size = st->dir_size[PE_DIR_EXCEPTION];
    int a64 = img->machine == RW_MACH_AARCH64;
    uint32_t esz = a64 ? 8 : 12;
    const uint8_t *p = pe_rva_bytes(img, rva, size);
    if (!p)
        return rw_fail(d, RW_E_CORRUPT, "exception directory [0x%x, +0x%x) is outside the image", rva, size);
    enum rw_err e;
    for (uint32_t k = 0; k + esz <= size; k += esz) {
        uint32_t begin = pe_u32(p + k), end;
        if (a64) {
            uint32_t u = pe_u32(p + k + 4);
            uint32_t len;
            if (u & 3) {
                len = ((u >> 2) & 0x7FF) * 4;
            } else {
                const uint8_t *x = pe_rva_bytes(img, u, 4);
                len = x ? (pe_u32(x) & 0x3FFFF) * 4 : 0;
            }
            end = begin + len;
        } else {
            end = pe_u32(p + k + 4);
        }
        st->npdata++;
        uint32_t s = pe_sec_of_rva(img, begin);
        if (s == RW_NONE || !(img->sec[s].flags & RW_SEC_EXEC) || end <= begin ||
            end - begin > img->sec[s].size - (st->image_base + begin - img->sec[s].addr)) {
            st->npdata_bad++;
            continue;
        }
        uint64_t off = st->image_base + begin - img->sec[s].addr;
        if ((e = pe_push_func(img, s, off, off + (end - begin), NULL, d)))
            return e;
    }
    return RW_OK;
}

static enum rw_err read_baserelocs(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    if (st->ndirs <= PE_DIR_BASERELOC || !st->dir_rva[PE_DIR_BASERELOC])
        return RW_OK;
    uint32_t rva = st->dir_rva[PE_DIR_BASERELOC], size = st->dir_size[PE_DIR_BASERELOC];
    const uint8_t *p = pe_rva_bytes(img, rva, size);
    if (!p)
        return rw_fail(d, RW_E_CORRUPT, "base relocation directory [0x%x, +0x%x) is outside the image", rva, size);
    enum rw_err e;
    uint32_t k = 0;
    while (size - k >= 8) {
        uint32_t page = pe_u32(p + k), bsz = pe_u32(p + k + 4);
        if (bsz == 0 && page == 0) /* some linkers pad the directory */
            break;
        if (bsz < 8 || bsz > size - k || (bsz & 1))
            return rw_fail(d, RW_E_CORRUPT, "base relocation block at +0x%x: bad size 0x%x", k, bsz);
        for (uint32_t j = 8; j + 2 <= bsz; j += 2) {
            uint16_t ent = pe_u16(p + k + j);
            unsigned type = ent >> 12;
            uint64_t at = (uint64_t)page + (ent & 0xFFF);
            if (type == PE_REL_BASED_ABSOLUTE)
                continue;
            unsigned width = type == PE_REL_BASED_DIR64 ? 8 : 4;
            uint32_t s = pe_sec_of_rva(img, at);
            if (s == RW_NONE || img->sec[s].size - (st->image_base + at - img->sec[s].addr) < width)
                return rw_fail(d, RW_E_CORRUPT, "base relocation at RVA 0x%llx is outside the image's sections",
                               (unsigned long long)at);
            if (type == PE_REL_BASED_DIR64)
                st->nbaserel++;
            else
                st->nbaserel_other++;
            struct rw_reloc r = {s, RW_R_OTHER, type, RW_NONE,
                                 st->image_base + at - img->sec[s].addr, 0};
            if ((e = pe_push_rel(img, &r, d)))
                return e;
        }
        k += bsz;
    }
    return RW_OK;
}

static void read_load_config(struct rw_image *img, struct pe_state *st)
{
    if (st->ndirs <= PE_DIR_LOAD_CONFIG || !st->dir_rva[PE_DIR_LOAD_CONFIG])
        return;
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, st->dir_rva[PE_DIR_LOAD_CONFIG], &avail);
    if (!p || avail < 4)
        return;
    st->has_load_config = 1;
    st->load_config_size = pe_u32(p);
    if (st->load_config_size >= 0x94 && avail >= 0x94)
        st->guard_flags = pe_u32(p + 0x90);
}

static enum rw_err read_cli(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    if (st->ndirs <= PE_DIR_CLR || !st->dir_rva[PE_DIR_CLR])
        return RW_OK;
    uint32_t rva = st->dir_rva[PE_DIR_CLR];
    const uint8_t *p = pe_rva_bytes(img, rva, 72);
    if (!p)
        return rw_fail(d, RW_E_CORRUPT, "CLI header at RVA 0x%x is outside the image", rva);
    uint32_t cb = pe_u32(p);
    if (cb < 72)
        return rw_fail(d, RW_E_CORRUPT, "CLI header too short (%u bytes)", cb);
    st->has_cli = 1;
    st->cli_major = pe_u16(p + 4);
    st->cli_minor = pe_u16(p + 6);
    st->cli_flags = pe_u32(p + 16);
    st->mnh_rva = pe_u32(p + 64);
    st->mnh_size = pe_u32(p + 68);
    return RW_OK;
}

enum rw_err pe_open_image(struct rw_image *img, struct pe_state *st, struct rw_diag *d)
{
    enum rw_err e;
    if ((e = read_headers(img, st, d)) || (e = read_sections(img, st, d)))
        return e;
    img->kind = st->characteristics & PE_FILE_DLL ? RW_KIND_SHARED : RW_KIND_EXEC;
    img->pie = img->kind == RW_KIND_EXEC && (st->dll_characteristics & PE_DLLC_DYNAMIC_BASE) &&
               !(st->characteristics & PE_FILE_RELOCS_STRIPPED);
    for (uint32_t i = 0; i < st->ndirs; i++) {
        if (i == PE_DIR_SECURITY) /* a file offset, not an RVA */
            continue;
        if (st->dir_rva[i] && (uint64_t)st->dir_rva[i] + st->dir_size[i] > UINT32_MAX)
            return rw_fail(d, RW_E_CORRUPT, "%s directory [0x%x, +0x%x) wraps around", dir_names[i],
                           st->dir_rva[i], st->dir_size[i]);
    }
    uint32_t rtr = 0;
    if ((e = read_imports(img, st, d)) || (e = read_exports(img, st, &rtr, d)) ||
        (e = read_pdata(img, st, d)) || (e = read_baserelocs(img, st, d)) ||
        (e = read_cli(img, st, d)))
        return e;
    read_load_config(img, st);
    if (st->symtab && (e = pe_read_symtab(img, st, d)))
        return e;
    if ((e = pe_read_r2r(img, st, rtr, d)))
        return e;
    pe_finish_slots(st);
    return RW_OK;
}

const char *pe_dir_name(unsigned i)
{
    return i < PE_NDIRS ? dir_names[i] : "?";
}

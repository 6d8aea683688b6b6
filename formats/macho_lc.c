/* macho_lc.c - the Mach-O header, load commands, segments and sections:
 * every command checked against the file before anything is read through
 * it; the model's sections (macho_priv.h, docs/macho.md). */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

static enum rw_err check_header(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    const uint8_t *p = img->data;
    uint32_t magic = macho_u32(p);
    if (magic == MACHO_MH_MAGIC || magic == 0xcefaedfeu)
        return rw_fail(d, RW_E_UNSUPPORTED, "32-bit Mach-O is not supported");
    if (magic == MACHO_MH_CIGAM_64)
        return rw_fail(d, RW_E_UNSUPPORTED, "big-endian Mach-O is not supported");
    if (magic != MACHO_MH_MAGIC_64)
        return rw_fail(d, RW_E_FORMAT, "not a Mach-O file");
    if (img->size < MACHO_HEADER_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "Mach-O header cut off by the end of the file");
    st->cputype = macho_u32(p + 4);
    st->cpusubtype = macho_u32(p + 8);
    st->filetype = macho_u32(p + 12);
    st->ncmds = macho_u32(p + 16);
    st->sizeofcmds = macho_u32(p + 20);
    st->flags = macho_u32(p + 24);

    uint32_t sub = st->cpusubtype & ~MACHO_CPU_SUBTYPE_MASK;
    if (st->cputype == MACHO_CPU_TYPE_X86_64) {
        img->machine = RW_MACH_X86_64;
        img->abi = CALLI_ABI_SYSV_X64;
    } else if (st->cputype == MACHO_CPU_TYPE_ARM64) {
        if (sub == MACHO_CPU_SUBTYPE_ARM64E)
            return rw_fail(d, RW_E_UNSUPPORTED,
                           "arm64e (pointer authentication) Mach-O is not supported");
        img->machine = RW_MACH_AARCH64;
        img->abi = CALLI_ABI_APPLE_ARM64;
    } else {
        return rw_fail(d, RW_E_UNSUPPORTED, "Mach-O for cpu type 0x%x is not supported (x86_64 and arm64 are)",
                       st->cputype);
    }
    switch (st->filetype) {
    case MACHO_MH_OBJECT: img->kind = RW_KIND_OBJECT; break;
    case MACHO_MH_EXECUTE:
        img->kind = RW_KIND_EXEC;
        img->pie = (st->flags & MACHO_MH_PIE) != 0;
        break;
    case MACHO_MH_DYLIB:
    case MACHO_MH_BUNDLE: img->kind = RW_KIND_SHARED; break;
    default:
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "Mach-O file type %u is not supported (object, executable, dylib and bundle are)",
                       st->filetype);
    }
    if (st->sizeofcmds > img->size - MACHO_HEADER_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "load commands (%u bytes) run past the end of the file",
                       st->sizeofcmds);
    if (st->ncmds > st->sizeofcmds / 8)
        return rw_fail(d, RW_E_CORRUPT, "%u load commands cannot fit in %u bytes", st->ncmds,
                       st->sizeofcmds);
    st->lc_end = MACHO_HEADER_SIZE + st->sizeofcmds;
    return RW_OK;
}

static int in_file(const struct rw_image *img, uint64_t off, uint64_t len)
{
    return off <= img->size && len <= img->size - off;
}

static void copy_name(char dst[17], const uint8_t *src)
{
    memcpy(dst, src, 16);
    dst[16] = 0;
}

static enum rw_err read_segment(struct rw_image *img, struct macho_state *st, uint32_t lci,
                                struct rw_diag *d)
{
    const struct macho_lc *lc = &st->lc[lci];
    const uint8_t *p = img->data + lc->off;
    if (lc->cmdsize < MACHO_SEGMENT_CMD_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "load command %u: LC_SEGMENT_64 of %u bytes", lci,
                       lc->cmdsize);
    struct macho_seg g;
    memset(&g, 0, sizeof g);
    copy_name(g.name, p + 8);
    g.vmaddr = macho_u64(p + 24);
    g.vmsize = macho_u64(p + 32);
    g.fileoff = macho_u64(p + 40);
    g.filesize = macho_u64(p + 48);
    g.maxprot = macho_u32(p + 56);
    g.initprot = macho_u32(p + 60);
    g.nsects = macho_u32(p + 64);
    g.flags = macho_u32(p + 68);
    g.lc = lci;
    g.first_sect = (uint32_t)st->nsect;
    if (g.nsects > (lc->cmdsize - MACHO_SEGMENT_CMD_SIZE) / MACHO_SECTION_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "segment '%s': %u sections do not fit in its load command",
                       g.name, g.nsects);
    if (!in_file(img, g.fileoff, g.filesize))
        return rw_fail(d, RW_E_CORRUPT, "segment '%s' runs past the end of the file", g.name);
    if (g.vmaddr > UINT64_MAX - g.vmsize)
        return rw_fail(d, RW_E_CORRUPT, "segment '%s': addresses wrap around", g.name);
    if (img->kind != RW_KIND_OBJECT && g.filesize > g.vmsize)
        return rw_fail(d, RW_E_CORRUPT, "segment '%s': file size above its memory size", g.name);

    void *np = realloc(st->seg, (st->nseg + 1) * sizeof *st->seg);
    if (!np)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->seg = np;
    uint32_t si = (uint32_t)st->nseg;
    if (g.nsects) {
        np = realloc(st->sect, (st->nsect + g.nsects) * sizeof *st->sect);
        if (!np)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
        st->sect = np;
    }
    st->seg[st->nseg++] = g;

    for (uint32_t k = 0; k < g.nsects; k++) {
        uint32_t hoff = lc->off + MACHO_SEGMENT_CMD_SIZE + k * MACHO_SECTION_SIZE;
        const uint8_t *q = img->data + hoff;
        struct macho_sect s;
        memset(&s, 0, sizeof s);
        copy_name(s.sectname, q);
        copy_name(s.segname, q + 16);
        s.addr = macho_u64(q + 32);
        s.size = macho_u64(q + 40);
        s.offset = macho_u32(q + 48);
        s.align = macho_u32(q + 52);
        s.reloff = macho_u32(q + 56);
        s.nreloc = macho_u32(q + 60);
        s.flags = macho_u32(q + 64);
        s.reserved1 = macho_u32(q + 68);
        s.reserved2 = macho_u32(q + 72);
        s.reserved3 = macho_u32(q + 76);
        s.seg = si;
        s.hdr_off = hoff;
        snprintf(s.model_name, sizeof s.model_name, "%s,%s", s.segname, s.sectname);
        int zerofill = macho_is_zerofill(s.flags);
        if (s.addr > UINT64_MAX - s.size)
            return rw_fail(d, RW_E_CORRUPT, "section %s: addresses wrap around", s.model_name);
        if (!zerofill && s.size && !in_file(img, s.offset, s.size))
            return rw_fail(d, RW_E_CORRUPT, "section %s runs past the end of the file",
                           s.model_name);
        if (!zerofill && s.size && s.offset < st->lc_end)
            return rw_fail(d, RW_E_CORRUPT, "section %s overlaps the load commands", s.model_name);
        if (s.nreloc && !in_file(img, s.reloff, (uint64_t)s.nreloc * MACHO_RELOC_SIZE))
            return rw_fail(d, RW_E_CORRUPT, "section %s: relocations run past the end of the file",
                           s.model_name);
        if (img->kind != RW_KIND_OBJECT) {
            if (s.addr < g.vmaddr || s.addr + s.size > g.vmaddr + g.vmsize)
                return rw_fail(d, RW_E_CORRUPT, "section %s lies outside its segment '%s'",
                               s.model_name, g.name);
            if (!zerofill && s.size &&
                (s.offset < g.fileoff || s.offset + s.size > g.fileoff + g.filesize ||
                 s.offset - g.fileoff != s.addr - g.vmaddr))
                return rw_fail(d, RW_E_CORRUPT,
                               "section %s: file offset does not match its segment '%s'",
                               s.model_name, g.name);
        }
        st->sect[st->nsect++] = s;
    }
    return RW_OK;
}

static enum rw_err read_ldata(const struct rw_image *img, struct macho_ldata *ld, uint32_t lci,
                              const struct macho_lc *lc, const char *what, struct rw_diag *d)
{
    if (lc->cmdsize < 16)
        return rw_fail(d, RW_E_CORRUPT, "%s command of %u bytes", what, lc->cmdsize);
    if (ld->present)
        return rw_fail(d, RW_E_CORRUPT, "more than one %s command", what);
    const uint8_t *p = img->data + lc->off;
    ld->present = 1;
    ld->lc = lci;
    ld->dataoff = macho_u32(p + 8);
    ld->datasize = macho_u32(p + 12);
    if (!in_file(img, ld->dataoff, ld->datasize))
        return rw_fail(d, RW_E_CORRUPT, "%s data runs past the end of the file", what);
    return RW_OK;
}

static enum rw_err read_symtab(const struct rw_image *img, struct macho_state *st, uint32_t lci,
                               const struct macho_lc *lc, struct rw_diag *d)
{
    const uint8_t *p = img->data + lc->off;
    if (lc->cmdsize < 24)
        return rw_fail(d, RW_E_CORRUPT, "LC_SYMTAB of %u bytes", lc->cmdsize);
    if (st->has_symtab)
        return rw_fail(d, RW_E_CORRUPT, "more than one LC_SYMTAB");
    st->has_symtab = 1;
    st->symtab_lc = lci;
    st->symoff = macho_u32(p + 8);
    st->nsyms = macho_u32(p + 12);
    st->stroff = macho_u32(p + 16);
    st->strsize = macho_u32(p + 20);
    if (!in_file(img, st->symoff, (uint64_t)st->nsyms * MACHO_NLIST_SIZE))
        return rw_fail(d, RW_E_CORRUPT, "symbol table runs past the end of the file");
    if (!in_file(img, st->stroff, st->strsize))
        return rw_fail(d, RW_E_CORRUPT, "string table runs past the end of the file");
    return RW_OK;
}

static enum rw_err read_dysymtab(const struct rw_image *img, struct macho_state *st, uint32_t lci,
                                 const struct macho_lc *lc, struct rw_diag *d)
{
    const uint8_t *p = img->data + lc->off;
    if (lc->cmdsize < 80)
        return rw_fail(d, RW_E_CORRUPT, "LC_DYSYMTAB of %u bytes", lc->cmdsize);
    if (st->has_dysymtab)
        return rw_fail(d, RW_E_CORRUPT, "more than one LC_DYSYMTAB");
    st->has_dysymtab = 1;
    st->dysymtab_lc = lci;
    uint32_t *f[18] = {&st->ilocalsym, &st->nlocalsym, &st->iextdefsym, &st->nextdefsym,
                       &st->iundefsym, &st->nundefsym, &st->tocoff, &st->ntoc,
                       &st->modtaboff, &st->nmodtab, &st->extrefsymoff, &st->nextrefsyms,
                       &st->indirectsymoff, &st->nindirectsyms, &st->extreloff, &st->nextrel,
                       &st->locreloff, &st->nlocrel};
    for (int i = 0; i < 18; i++)
        *f[i] = macho_u32(p + 8 + 4 * i);
    if (!in_file(img, st->indirectsymoff, (uint64_t)st->nindirectsyms * 4))
        return rw_fail(d, RW_E_CORRUPT, "indirect symbol table runs past the end of the file");
    if (!in_file(img, st->extreloff, (uint64_t)st->nextrel * MACHO_RELOC_SIZE) ||
        !in_file(img, st->locreloff, (uint64_t)st->nlocrel * MACHO_RELOC_SIZE))
        return rw_fail(d, RW_E_CORRUPT, "dynamic relocations run past the end of the file");
    return RW_OK;
}

static enum rw_err read_dyld_info(const struct rw_image *img, struct macho_state *st,
                                  uint32_t lci, const struct macho_lc *lc, struct rw_diag *d)
{
    const uint8_t *p = img->data + lc->off;
    if (lc->cmdsize < 48)
        return rw_fail(d, RW_E_CORRUPT, "LC_DYLD_INFO of %u bytes", lc->cmdsize);
    if (st->has_dyld_info)
        return rw_fail(d, RW_E_CORRUPT, "more than one LC_DYLD_INFO");
    st->has_dyld_info = 1;
    st->dyld_info_lc = lci;
    uint32_t *f[10] = {&st->rebase_off, &st->rebase_size, &st->bind_off, &st->bind_size,
                       &st->weak_bind_off, &st->weak_bind_size, &st->lazy_bind_off,
                       &st->lazy_bind_size, &st->export_off, &st->export_size};
    static const char *const what[5] = {"rebase", "bind", "weak bind", "lazy bind", "export"};
    for (int i = 0; i < 10; i++)
        *f[i] = macho_u32(p + 8 + 4 * i);
    for (int i = 0; i < 5; i++)
        if (!in_file(img, *f[2 * i], *f[2 * i + 1]))
            return rw_fail(d, RW_E_CORRUPT, "dyld %s information runs past the end of the file",
                           what[i]);
    return RW_OK;
}

static enum rw_err read_command(struct rw_image *img, struct macho_state *st, uint32_t i,
                                struct rw_diag *d)
{
    const struct macho_lc *lc = &st->lc[i];
    switch (lc->cmd) {
    case MACHO_LC_SEGMENT_64: return read_segment(img, st, i, d);
    case MACHO_LC_SYMTAB: return read_symtab(img, st, i, lc, d);
    case MACHO_LC_DYSYMTAB: return read_dysymtab(img, st, i, lc, d);
    case MACHO_LC_DYLD_INFO:
    case MACHO_LC_DYLD_INFO_ONLY: return read_dyld_info(img, st, i, lc, d);
    case MACHO_LC_DYLD_CHAINED_FIXUPS:
        return read_ldata(img, &st->chained_fixups, i, lc, "LC_DYLD_CHAINED_FIXUPS", d);
    case MACHO_LC_DYLD_EXPORTS_TRIE:
        return read_ldata(img, &st->exports_trie, i, lc, "LC_DYLD_EXPORTS_TRIE", d);
    case MACHO_LC_FUNCTION_STARTS:
        return read_ldata(img, &st->function_starts, i, lc, "LC_FUNCTION_STARTS", d);
    case MACHO_LC_DATA_IN_CODE:
        return read_ldata(img, &st->data_in_code, i, lc, "LC_DATA_IN_CODE", d);
    case MACHO_LC_CODE_SIGNATURE:
        return read_ldata(img, &st->code_signature, i, lc, "LC_CODE_SIGNATURE", d);
    case MACHO_LC_DYLIB_CODE_SIGN_DRS:
        return read_ldata(img, &st->dylib_code_sign_drs, i, lc, "LC_DYLIB_CODE_SIGN_DRS", d);
    case MACHO_LC_LINKER_OPTIMIZATION_HINT:
        return read_ldata(img, &st->linker_opt_hint, i, lc, "LC_LINKER_OPTIMIZATION_HINT", d);
    case MACHO_LC_SEGMENT_SPLIT_INFO:
        return read_ldata(img, &st->split_info, i, lc, "LC_SEGMENT_SPLIT_INFO", d);
    case MACHO_LC_MAIN:
        if (lc->cmdsize < 24)
            return rw_fail(d, RW_E_CORRUPT, "LC_MAIN of %u bytes", lc->cmdsize);
        st->has_main = 1;
        st->entryoff = macho_u64(img->data + lc->off + 8);
        return RW_OK;
    case 0x1u: /* LC_SEGMENT */
        return rw_fail(d, RW_E_CORRUPT, "32-bit LC_SEGMENT in a 64-bit Mach-O file");
    default: return RW_OK;
    }
}

#define INSN_ATTRS (MACHO_S_ATTR_PURE_INSTRUCTIONS | MACHO_S_ATTR_SOME_INSTRUCTIONS)

/* Code is what the section's attributes say: __TEXT also holds __const,
 * __cstring, __unwind_info and __eh_frame, which are data in an executable
 * segment (decoding them would waste time and risk false sites). Only a
 * linked image whose sections carry no attribute at all falls back to the
 * segment's protection. */
static int section_is_exec(const struct macho_state *st, const struct macho_sect *s,
                           int any_attrs)
{
    if (s->flags & INSN_ATTRS)
        return 1;
    return st->filetype != MACHO_MH_OBJECT && !any_attrs &&
           (st->seg[s->seg].initprot & MACHO_VM_PROT_EXECUTE);
}

static uint32_t section_flags(const struct macho_state *st, const struct macho_sect *s,
                              int any_attrs)
{
    const struct macho_seg *g = &st->seg[s->seg];
    uint32_t type = s->flags & MACHO_SECTION_TYPE, f = 0;
    int obj = st->filetype == MACHO_MH_OBJECT;
    if (s->size && !(s->flags & MACHO_S_ATTR_DEBUG) && strcmp(s->segname, "__DWARF") != 0)
        f |= RW_SEC_ALLOC;
    if (section_is_exec(st, s, any_attrs))
        f |= RW_SEC_EXEC;
    if (obj ? !strncmp(s->segname, "__DATA", 6) : (g->initprot & MACHO_VM_PROT_WRITE) != 0)
        f |= RW_SEC_WRITE;
    if (macho_is_zerofill(s->flags))
        f |= RW_SEC_NOBITS;
    if (type == MACHO_S_THREAD_LOCAL_ZEROFILL || type == MACHO_S_THREAD_LOCAL_VARIABLES ||
        type == 0x11u /* S_THREAD_LOCAL_REGULAR */ ||
        type == 0x14u /* S_THREAD_LOCAL_VARIABLE_POINTERS */ ||
        type == 0x15u /* S_THREAD_LOCAL_INIT_FUNCTION_POINTERS */)
        f |= RW_SEC_TLS;
    if (type == MACHO_S_NON_LAZY_SYMBOL_POINTERS || type == MACHO_S_LAZY_SYMBOL_POINTERS ||
        !strcmp(s->sectname, "__got") || !strcmp(s->sectname, "__la_symbol_ptr") ||
        !strcmp(s->sectname, "__auth_got"))
        f |= RW_SEC_GOT;
    if ((g->flags & 0x10u /* SG_READ_ONLY */) || !strcmp(s->segname, "__DATA_CONST"))
        f |= RW_SEC_RELRO;
    return f;
}

enum rw_err macho_read_commands(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    enum rw_err e = check_header(img, st, d);
    if (e)
        return e;
    if (st->ncmds) {
        st->lc = calloc(st->ncmds, sizeof *st->lc);
        if (!st->lc)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    uint32_t off = MACHO_HEADER_SIZE;
    for (uint32_t i = 0; i < st->ncmds; i++) {
        if (st->lc_end - off < 8)
            return rw_fail(d, RW_E_CORRUPT, "load command %u runs past sizeofcmds", i);
        const uint8_t *p = img->data + off;
        struct macho_lc *lc = &st->lc[i];
        lc->cmd = macho_u32(p);
        lc->cmdsize = macho_u32(p + 4);
        lc->off = off;
        if (lc->cmdsize < 8 || lc->cmdsize % 8)
            return rw_fail(d, RW_E_CORRUPT, "load command %u: size %u is not a multiple of 8", i,
                           lc->cmdsize);
        if (lc->cmdsize > st->lc_end - off)
            return rw_fail(d, RW_E_CORRUPT, "load command %u runs past sizeofcmds", i);
        off += lc->cmdsize;
        st->nlc++;
        if ((e = read_command(img, st, i, d)))
            return e;
    }

    /* the first byte after the load commands that holds content */
    uint64_t first = img->size;
    for (size_t i = 0; i < st->nsect; i++) {
        const struct macho_sect *s = &st->sect[i];
        if (s->size && !macho_is_zerofill(s->flags) && s->offset < first)
            first = s->offset;
    }
    for (size_t i = 0; i < st->nseg; i++) {
        const struct macho_seg *g = &st->seg[i];
        if (g->filesize && g->fileoff && g->fileoff < first)
            first = g->fileoff;
        if (g->fileoff == 0 && g->filesize && st->text_seg == UINT32_MAX)
            st->text_seg = (uint32_t)i;
        if (!strcmp(g->name, "__LINKEDIT"))
            st->linkedit_seg = (uint32_t)i;
    }
    if (first < st->lc_end)
        return rw_fail(d, RW_E_CORRUPT, "a segment overlaps the load commands");
    st->lc_room = first - st->lc_end > UINT32_MAX ? UINT32_MAX : (uint32_t)(first - st->lc_end);

    if (img->kind != RW_KIND_OBJECT) {
        if (st->text_seg == UINT32_MAX)
            return rw_fail(d, RW_E_CORRUPT, "no segment maps the Mach-O header");
        st->base = st->seg[st->text_seg].vmaddr;
        /* two segments sharing addresses would make every address ambiguous */
        for (size_t i = 0; i < st->nseg; i++)
            for (size_t j = i + 1; j < st->nseg; j++) {
                const struct macho_seg *a = &st->seg[i], *b = &st->seg[j];
                if (a->vmsize && b->vmsize && a->vmaddr < b->vmaddr + b->vmsize &&
                    b->vmaddr < a->vmaddr + a->vmsize)
                    return rw_fail(d, RW_E_CORRUPT, "segments '%s' and '%s' overlap", a->name,
                                   b->name);
            }
    } else if (st->nseg > 1) {
        return rw_fail(d, RW_E_CORRUPT, "an object with %zu segments (one expected)", st->nseg);
    }

    if (st->nsect) {
        img->sec = calloc(st->nsect, sizeof *img->sec);
        if (!img->sec)
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    img->nsec = st->nsect;
    int any_attrs = 0;
    for (size_t i = 0; i < st->nsect; i++)
        any_attrs |= (st->sect[i].flags & INSN_ATTRS) != 0;
    for (size_t i = 0; i < st->nsect; i++) {
        const struct macho_sect *s = &st->sect[i];
        struct rw_section *m = &img->sec[i];
        m->name = s->model_name;
        m->id = (uint32_t)(i + 1);
        m->flags = section_flags(st, s, any_attrs);
        m->addr = img->kind == RW_KIND_OBJECT ? 0 : s->addr;
        m->size = s->size;
        m->data = (m->flags & RW_SEC_NOBITS) || !s->size ? NULL : img->data + s->offset;
    }
    return RW_OK;
}

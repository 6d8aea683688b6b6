/* elf_write_rel.c - the ELF back-end's write side for relocatable objects.
 *
 * The input is copied unchanged and grows at its end; only section headers
 * say where things are, so moved sections are simply re-pointed:
 *  - each rewritten site keeps its relocation entry, retargeted to the stub's
 *    symbol as R_X86_64_PLT32 (a GOT-indirect `FF 15`/`FF 25` becomes
 *    `90 E8`/`90 E9`: the displacement field stays where it was, so the
 *    relocation's offset and addend stay too, and the return address with
 *    them);
 *  - one COMDAT group per stub, named by its symbol __callirw_stub_<key>
 *    (GLOBAL, HIDDEN, FUNC), holding the stub's text section, its own
 *    .eh_frame (one CIE, one FDE) and that section's .rela.eh_frame: when
 *    the linker keeps one copy of a group,
 *    the FDEs of the discarded copies go with them;
 *  - new symbols are appended after the existing ones (all of them global),
 *    so no existing symbol index changes and no relocation is renumbered;
 *  - the rewrite map (.callirw.map, SHF_EXCLUDE: the linker drops it).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_write.h"
#include "map.h"
#include "patch.h"

#ifndef SHF_EXCLUDE
#define SHF_EXCLUDE 0x80000000u
#endif
#ifndef SHT_X86_64_UNWIND
#define SHT_X86_64_UNWIND 0x70000001u
#endif

#define ALIGN_UP(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))

struct ow {
    const struct rw_image *img;
    const struct rw_plan *plan;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;
    Elf64_Ehdr eh;
    const Elf64_Shdr *sh;
    size_t shnum;
    size_t symtab, strtab; /* section indices */
    size_t nsyms;          /* existing symbols */

    struct rw_buf tail;    /* everything appended after the input */
    struct rw_buf shdrs;   /* new section headers (after the existing ones) */
    struct rw_buf names;   /* .shstrtab: old contents + new names */
    struct rw_buf strs;    /* .strtab: old contents + new names */
    struct rw_buf *symnames; /* &strs, or &names when one table serves both
                                (LLVM's assembler emits a single .strtab) */
    struct rw_buf syms;    /* .symtab: old entries + new ones */
    uint64_t tail_base;    /* file offset of tail.data[0] */
};

static int in_file(const struct ow *w, uint64_t off, uint64_t len)
{
    return off <= w->insz && len <= w->insz - off;
}

static enum rw_err oom(struct ow *w)
{
    return rw_fail(w->d, RW_E_NOMEM, "out of memory");
}

/* Append bytes to the tail at the given alignment; returns the file offset. */
static enum rw_err put_tail(struct ow *w, const void *p, size_t n, size_t align, uint64_t *off)
{
    static const uint8_t zero[16];
    while ((w->tail_base + w->tail.len) % align)
        if (rw_buf_append(&w->tail, zero, 1))
            return oom(w);
    *off = w->tail_base + w->tail.len;
    return rw_buf_append(&w->tail, p, n) ? oom(w) : RW_OK;
}

static enum rw_err add_name(struct rw_buf *b, const char *name, uint32_t *off, struct ow *w)
{
    if (b->len > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "string table too large");
    *off = (uint32_t)b->len;
    return rw_buf_append(b, name, strlen(name) + 1) ? oom(w) : RW_OK;
}

/* Add a section header; returns its index. */
static enum rw_err add_section(struct ow *w, const char *name, Elf64_Shdr sh, size_t *index)
{
    enum rw_err e = add_name(&w->names, name, &sh.sh_name, w);
    if (e)
        return e;
    *index = w->shnum + w->shdrs.len / sizeof(Elf64_Shdr);
    if (*index >= SHN_LORESERVE)
        return rw_fail(w->d, RW_E_NOROOM, "too many sections to add more");
    return rw_buf_append(&w->shdrs, &sh, sizeof sh) ? oom(w) : RW_OK;
}

static enum rw_err load(struct ow *w)
{
    if (w->insz < sizeof(Elf64_Ehdr))
        return rw_fail(w->d, RW_E_CORRUPT, "truncated ELF header");
    memcpy(&w->eh, w->in, sizeof w->eh);
    w->shnum = w->eh.e_shnum;
    if (w->eh.e_shentsize != sizeof(Elf64_Shdr) || w->shnum == 0 || w->eh.e_shoff % 8 ||
        w->eh.e_shstrndx >= w->shnum ||
        !in_file(w, w->eh.e_shoff, (uint64_t)w->shnum * sizeof(Elf64_Shdr)))
        return rw_fail(w->d, RW_E_CORRUPT, "bad section header table");
    w->sh = (const Elf64_Shdr *)(w->in + w->eh.e_shoff);
    w->symtab = 0;
    for (size_t i = 0; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type != SHT_NOBITS && s->sh_type != SHT_NULL && !in_file(w, s->sh_offset, s->sh_size))
            return rw_fail(w->d, RW_E_CORRUPT, "section %zu lies past the end of the file", i);
        if (s->sh_type == SHT_SYMTAB) {
            if (w->symtab)
                return rw_fail(w->d, RW_E_CORRUPT, "two symbol tables");
            w->symtab = i;
        }
        if (s->sh_type == SHT_REL)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "SHT_REL relocations on x86-64");
    }
    if (!w->symtab)
        return rw_fail(w->d, RW_E_CORRUPT, "object without a symbol table");
    const Elf64_Shdr *st = &w->sh[w->symtab];
    if (st->sh_entsize != sizeof(Elf64_Sym) || st->sh_size % sizeof(Elf64_Sym) ||
        st->sh_link == 0 || st->sh_link >= w->shnum || w->sh[st->sh_link].sh_type != SHT_STRTAB)
        return rw_fail(w->d, RW_E_CORRUPT, "bad symbol table");
    w->strtab = st->sh_link;
    w->nsyms = st->sh_size / sizeof(Elf64_Sym);
    w->tail_base = ALIGN_UP(w->insz, 16);
    const Elf64_Shdr *ns = &w->sh[w->eh.e_shstrndx];
    if (ns->sh_type != SHT_STRTAB)
        return rw_fail(w->d, RW_E_CORRUPT, "bad section name table");
    w->symnames = w->strtab == w->eh.e_shstrndx ? &w->names : &w->strs;
    if (rw_buf_append(&w->names, w->in + ns->sh_offset, ns->sh_size) ||
        (w->symnames == &w->strs &&
         rw_buf_append(&w->strs, w->in + w->sh[w->strtab].sh_offset, w->sh[w->strtab].sh_size)) ||
        rw_buf_append(&w->syms, w->in + st->sh_offset, st->sh_size))
        return oom(w);
    return RW_OK;
}

/* The SHT_RELA section applying to section `target`, or 0. */
static size_t rela_for(const struct ow *w, uint32_t target)
{
    for (size_t i = 1; i < w->shnum; i++)
        if (w->sh[i].sh_type == SHT_RELA && w->sh[i].sh_info == target)
            return i;
    return 0;
}

/* Find the RELA entry patching (section id, offset): returns its file offset
 * and the index of its .rela section. */
static enum rw_err find_rela(struct ow *w, uint32_t target, uint64_t off, uint64_t *foff,
                             size_t *rs)
{
    for (size_t i = 0; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type != SHT_RELA || s->sh_info != target)
            continue;
        if (s->sh_entsize != sizeof(Elf64_Rela) || s->sh_size % sizeof(Elf64_Rela))
            return rw_fail(w->d, RW_E_CORRUPT, "bad relocation section %zu", i);
        for (uint64_t k = 0; k < s->sh_size / sizeof(Elf64_Rela); k++) {
            Elf64_Rela r;
            memcpy(&r, w->in + s->sh_offset + k * sizeof r, sizeof r);
            if (r.r_offset == off) {
                *foff = s->sh_offset + k * sizeof r;
                *rs = i;
                return RW_OK;
            }
        }
    }
    return rw_fail(w->d, RW_E_INTERNAL, "no relocation at section %u offset 0x%llx", target,
                   (unsigned long long)off);
}

enum rw_err rw_elf_write_object(const struct rw_image *img, const struct rw_plan *plan,
                                struct rw_buf *out, struct rw_diag *d)
{
    struct ow w = {0};
    w.img = img;
    w.plan = plan;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    enum rw_err e;
    uint32_t *stub_sym = NULL;
    uint8_t *map = NULL;
    size_t map_len = 0;
    struct rw_buf eh = {0};
    struct rw_buf *grow = NULL;  /* arm64: relocations to append, per .rela section */
    uint64_t *grow_off = NULL, *grow_size = NULL;

    if ((e = load(&w)))
        goto done;
    stub_sym = calloc(plan->nstubs + 1, sizeof *stub_sym);
    if (!stub_sym) {
        e = oom(&w);
        goto done;
    }

    /* Stubs: group, text, and unwind info per stub. */
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        size_t nsym = w.nsyms + i;
        if (nsym > UINT32_MAX) {
            e = rw_fail(d, RW_E_NOROOM, "too many symbols");
            goto done;
        }
        stub_sym[i] = (uint32_t)nsym;
        size_t grp, text;
        uint32_t members[4] = {GRP_COMDAT};
        size_t nmem = 1;
        char name[sizeof s->symbol + 16];
        uint64_t off = 0;

        /* The group's contents are known once its members are; reserve
         * its header first (a group precedes its members). */
        if ((e = add_section(&w, ".group", (Elf64_Shdr){0, SHT_GROUP, 0, 0, 0, 0,
                                                        (Elf64_Word)w.symtab, stub_sym[i], 4, 4},
                             &grp)))
            goto done;
        snprintf(name, sizeof name, ".text.%s", s->symbol);
        if ((e = put_tail(&w, s->code.bytes, s->code.len, 16, &off)) ||
            (e = add_section(&w, name, (Elf64_Shdr){0, SHT_PROGBITS,
                                                    SHF_ALLOC | SHF_EXECINSTR | SHF_GROUP, 0, off,
                                                    s->code.len, 0, 0, 16, 0},
                             &text)))
            goto done;
        members[nmem++] = (uint32_t)text;

        {
            /* One CIE + one FDE (every stub has one, framed or not); the
             * FDE's pc_begin is relocated (PC32) against the stub's symbol. */
            size_t ehs, relas;
            uint64_t pc_field;
            eh.len = 0;
            if ((e = rw_elf_fde_for_object(img, &s->code, &eh, &pc_field, d)))
                goto done;
            int a64 = img->machine == RW_MACH_AARCH64;
            if ((e = put_tail(&w, eh.data, eh.len, 8, &off)) ||
                (e = add_section(&w, ".eh_frame", (Elf64_Shdr){0, a64 ? SHT_PROGBITS : SHT_X86_64_UNWIND,
                                                               SHF_ALLOC | SHF_GROUP, 0, off,
                                                               eh.len, 0, 0, 8, 0},
                                 &ehs)))
                goto done;
            Elf64_Rela r = {pc_field, ELF64_R_INFO(stub_sym[i], a64 ? R_AARCH64_PREL32 : R_X86_64_PC32), 0};
            if ((e = put_tail(&w, &r, sizeof r, 8, &off)) ||
                (e = add_section(&w, ".rela.eh_frame",
                                 (Elf64_Shdr){0, SHT_RELA, SHF_INFO_LINK | SHF_GROUP, 0, off,
                                              sizeof r, (Elf64_Word)w.symtab, (Elf64_Word)ehs, 8,
                                              sizeof r},
                                 &relas)))
                goto done;
            members[nmem++] = (uint32_t)ehs;
            members[nmem++] = (uint32_t)relas;
        }
        if ((e = put_tail(&w, members, nmem * 4, 4, &off)))
            goto done;
        Elf64_Shdr *g = (Elf64_Shdr *)(w.shdrs.data + (grp - w.shnum) * sizeof(Elf64_Shdr));
        g->sh_offset = off;
        g->sh_size = nmem * 4;

        /* The symbol: GLOBAL, HIDDEN, FUNC, in its text section. */
        Elf64_Sym sym = {0};
        if ((e = add_name(w.symnames, s->symbol, &sym.st_name, &w)))
            goto done;
        sym.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
        sym.st_other = STV_HIDDEN;
        sym.st_shndx = (Elf64_Section)text;
        sym.st_size = s->code.len;
        if (rw_buf_append(&w.syms, &sym, sizeof sym)) {
            e = oom(&w);
            goto done;
        }
    }

    /* arm64 BLR/BR sites become BL/B, which need a relocation of their own
     * (the adrp/ldr that loaded the register keep theirs): each is appended
     * to the .rela section of the site's section, which moves to the tail. */
    if (img->machine == RW_MACH_AARCH64) {
        grow = calloc(w.shnum, sizeof *grow);
        grow_off = calloc(w.shnum, sizeof *grow_off);
        grow_size = calloc(w.shnum, sizeof *grow_size);
        if (!grow || !grow_off || !grow_size) {
            e = oom(&w);
            goto done;
        }
        for (size_t i = 0; i < plan->scan->nsites; i++) {
            const struct rw_site *s = &plan->scan->sites[i];
            if (s->verdict != RW_SITE_OK || (s->form != RW_FORM_BLR && s->form != RW_FORM_BR))
                continue;
            size_t rs = rela_for(&w, img->sec[s->section].id);
            if (!rs) {
                e = rw_fail(d, RW_E_UNSUPPORTED, "section %s has no relocation section to extend",
                            img->sec[s->section].name);
                goto done;
            }
            Elf64_Rela r = {s->offset, ELF64_R_INFO(stub_sym[s->stub], s->form == RW_FORM_BLR
                                                                           ? R_AARCH64_CALL26
                                                                           : R_AARCH64_JUMP26), 0};
            if (rw_buf_append(&grow[rs], &r, sizeof r)) {
                e = oom(&w);
                goto done;
            }
        }
        for (size_t i = 0; i < w.shnum; i++) {
            if (!grow[i].len)
                continue;
            struct rw_buf all = {0};
            uint64_t noff;
            if (rw_buf_append(&all, w.in + w.sh[i].sh_offset, w.sh[i].sh_size) ||
                rw_buf_append(&all, grow[i].data, grow[i].len)) {
                rw_buf_free(&all);
                e = oom(&w);
                goto done;
            }
            e = put_tail(&w, all.data, all.len, 8, &noff);
            grow_off[i] = noff;
            grow_size[i] = all.len;
            rw_buf_free(&all);
            if (e)
                goto done;
        }
    }

    /* The rewrite map: section-relative addresses. */
    if ((e = rw_map_from_plan(img, plan, 0, &map, &map_len, d)))
        goto done;
    uint64_t off = 0;
    size_t idx;
    if ((e = put_tail(&w, map, map_len, 8, &off)) ||
        (e = add_section(&w, ".callirw.map",
                         (Elf64_Shdr){0, SHT_PROGBITS, SHF_EXCLUDE, 0, off, map_len, 0, 0, 8, 0},
                         &idx)))
        goto done;

    /* Moved tables: symbols, their names, section names. */
    uint64_t symoff = 0, stroff = 0, shstroff = 0, shoff;
    if ((e = put_tail(&w, w.syms.data, w.syms.len, 8, &symoff)) ||
        (e = put_tail(&w, w.names.data, w.names.len, 1, &shstroff)))
        goto done;
    stroff = shstroff;
    if (w.symnames == &w.strs && (e = put_tail(&w, w.strs.data, w.strs.len, 1, &stroff)))
        goto done;
    size_t nnew = w.shdrs.len / sizeof(Elf64_Shdr);
    size_t total_sh = w.shnum + nnew;
    shoff = ALIGN_UP(w.tail_base + w.tail.len, 8);
    uint64_t total = shoff + total_sh * sizeof(Elf64_Shdr);

    if ((e = rw_buf_reserve(out, total))) {
        e = oom(&w);
        goto done;
    }
    if (total < w.insz) { /* the output keeps every input byte in place */
        e = rw_fail(d, RW_E_INTERNAL, "output smaller than the input");
        goto done;
    }
    uint8_t *o = out->data;
    rw_copy_input(img, o, w.in, w.insz); /* first: it may map the file's pages at o */
    memset(o + w.insz, 0, total - w.insz);
    memcpy(o + w.tail_base, w.tail.data, w.tail.len);

    /* Sites: bytes and relocations. */
    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        const struct rw_section *sec = &img->sec[s->section];
        int needs_reloc = !(img->machine == RW_MACH_AARCH64 &&
                            (s->form == RW_FORM_BLR || s->form == RW_FORM_BR));
        if ((needs_reloc && s->reloc >= img->nrel) || sec->id >= w.shnum) {
            e = rw_fail(d, RW_E_INTERNAL, "site without its relocation");
            goto done;
        }
        uint64_t foff = w.sh[sec->id].sh_offset + s->offset;
        if (!in_file(&w, foff, s->length) || memcmp(w.in + foff, s->orig, s->length)) {
            e = rw_fail(d, RW_E_INTERNAL, "site bytes differ from the scan");
            goto done;
        }
        /* the branch with its field 0 (rewriter/patch.c); x86-64: the field
         * (the last 4 bytes) and its relocation stay where they are */
        uint8_t bytes[RW_SITE_MAX_BYTES];
        if ((e = rw_site_patch(img->machine, s, RW_NO_ADDRESS, bytes, d)))
            goto done;
        memcpy(o + foff, bytes, s->length);
        if (img->machine == RW_MACH_AARCH64) {
            if (s->form == RW_FORM_BLR || s->form == RW_FORM_BR)
                continue; /* its relocation was appended above */
            uint64_t roff = 0;
            size_t rs = 0;
            if ((e = find_rela(&w, sec->id, img->rel[s->reloc].offset, &roff, &rs)))
                goto done;
            /* a .rela section that BLR/BR sites extended was moved to the
             * tail: patch the entry there, not the stale copy */
            if (grow && grow[rs].len)
                roff = grow_off[rs] + (roff - w.sh[rs].sh_offset);
            Elf64_Rela r;
            memcpy(&r, o + roff, sizeof r);
            r.r_info = ELF64_R_INFO(stub_sym[s->stub],
                                    s->form == RW_FORM_BL ? R_AARCH64_CALL26 : R_AARCH64_JUMP26);
            r.r_addend = 0;
            memcpy(o + roff, &r, sizeof r);
            continue;
        }
        uint64_t roff = 0;
        size_t rs = 0;
        if ((e = find_rela(&w, sec->id, img->rel[s->reloc].offset, &roff, &rs)))
            goto done;
        Elf64_Rela r;
        memcpy(&r, o + roff, sizeof r);
        r.r_info = ELF64_R_INFO(stub_sym[s->stub], R_X86_64_PLT32);
        r.r_addend = -4; /* the field ends the (now direct) instruction */
        memcpy(o + roff, &r, sizeof r);
    }

    /* Section headers: the old ones re-pointed, then the new ones. */
    Elf64_Shdr *ns = (Elf64_Shdr *)(o + shoff);
    memcpy(ns, w.sh, w.shnum * sizeof(Elf64_Shdr));
    memcpy(ns + w.shnum, w.shdrs.data, w.shdrs.len);
    for (size_t i = 0; grow && i < w.shnum; i++)
        if (grow[i].len) {
            ns[i].sh_offset = grow_off[i];
            ns[i].sh_size = grow_size[i];
        }
    ns[w.symtab].sh_offset = symoff;
    ns[w.symtab].sh_size = w.syms.len;
    ns[w.strtab].sh_offset = stroff;
    ns[w.strtab].sh_size = w.symnames->len;
    ns[w.eh.e_shstrndx].sh_offset = shstroff;
    ns[w.eh.e_shstrndx].sh_size = w.names.len;
    Elf64_Ehdr *oh = (Elf64_Ehdr *)o;
    oh->e_shoff = shoff;
    oh->e_shnum = (Elf64_Half)total_sh;
    out->len = total;
    e = RW_OK;
done:
    for (size_t i = 0; grow && i < w.shnum; i++)
        rw_buf_free(&grow[i]);
    free(grow);
    free(grow_off);
    free(grow_size);
    free(stub_sym);
    free(map);
    rw_buf_free(&eh);
    rw_buf_free(&w.tail);
    rw_buf_free(&w.shdrs);
    rw_buf_free(&w.names);
    rw_buf_free(&w.strs);
    rw_buf_free(&w.syms);
    return e;
}

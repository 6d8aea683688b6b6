/* elf_write.c - the ELF back-end's write side for linked images (ET_EXEC,
 * ET_DYN).
 *
 * What changes (docs/elf.md):
 *  - one new PT_LOAD (R+X) at the end of the file and above every existing
 *    segment in memory, holding the stubs (first, at an address fixed
 *    before the plan: rw_elf_code_va), the sections moved out of the way
 *    (below), the rewrite map, the stubs' .eh_frame and a rebuilt
 *    .eh_frame_hdr;
 *  - the program header table grows IN PLACE (one more PT_LOAD, and a
 *    PT_GNU_EH_FRAME when the input had none). It stays where the ELF header
 *    says, in the first segment, which is what the kernel, ld.so and GNU
 *    strip (BFD) all assume. The room comes from moving the sections that
 *    follow the table and that only program headers and .dynamic refer to
 *    (.interp, notes, hash tables) into the new segment, byte for byte,
 *    keeping their alignment; PT_INTERP, PT_NOTE, PT_GNU_PROPERTY and
 *    DT_GNU_HASH / DT_HASH follow them;
 *  - every site is patched in place, return addresses unchanged;
 *  - section headers are rebuilt at the end of the file; symbols that lived
 *    in moved sections (e.g. __GNU_EH_FRAME_HDR) move with them.
 * Nothing else moves: no address any code or data uses changes, and no
 * dynamic relocation is added.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_caves.h"
#include "elf_write.h"
#include "map.h"

/* DWARF pointer encodings used by .eh_frame_hdr (LSB, .eh_frame_hdr). */
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

#define ALIGN_UP(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))

struct lw {
    const struct rw_image *img;
    const struct rw_plan *plan;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph; /* copies (the input may be unaligned for the type) */
    Elf64_Shdr *sh;
    size_t phnum, shnum;

    uint64_t align;          /* largest PT_LOAD alignment */
    size_t new_phnum;
    int add_eh_phdr;         /* no PT_GNU_EH_FRAME in the input: add one */

    /* The block of sections moved out of the program header table's way:
     * input bytes [mv_start, mv_end), placed at seg_off + mv_at. */
    uint64_t mv_start, mv_end, mv_at;
    /* The new segment: file offset, address, size; parts at offsets in it. */
    uint64_t seg_off, seg_va, seg_size;
    uint64_t map_at, ehf_at, hdr_at, text_at;

    uint8_t *map;
    size_t map_len;
    struct rw_buf ehf;  /* stub CIE + FDEs */
    uint64_t *fde_off;  /* per stub: offset of its FDE in ehf */
    int old_hdr;        /* section index of .eh_frame_hdr, or -1 */
    const uint8_t *old_tab; /* the old search table (8-byte entries) */
    size_t nold;
    uint64_t ehframe_va;    /* what the old header's eh_frame_ptr points at */
    uint64_t hdr_size;
    struct rw_buf hdr;  /* the new .eh_frame_hdr */
};

static int in_file(const struct lw *w, uint64_t off, uint64_t len)
{
    return off <= w->insz && len <= w->insz - off;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static const char *sec_name(const struct lw *w, size_t i)
{
    const Elf64_Shdr *strs = &w->sh[w->eh.e_shstrndx];
    uint64_t n = w->sh[i].sh_name;
    if (strs->sh_type == SHT_NOBITS || n >= strs->sh_size)
        return "";
    const char *p = (const char *)w->in + strs->sh_offset + n;
    return memchr(p, 0, strs->sh_size - n) ? p : "";
}

static int find_section(const struct lw *w, const char *name)
{
    for (size_t i = 1; i < w->shnum; i++)
        if (!strcmp(sec_name(w, i), name))
            return (int)i;
    return -1;
}

/* Header, program headers, section headers: checked once more here, so
 * the writer never relies on the reader having been careful. */
static enum rw_err load_headers(struct lw *w)
{
    if (w->insz < sizeof(Elf64_Ehdr))
        return rw_fail(w->d, RW_E_CORRUPT, "truncated ELF header");
    memcpy(&w->eh, w->in, sizeof w->eh);
    w->phnum = w->eh.e_phnum;
    w->shnum = w->eh.e_shnum;
    if (w->eh.e_phentsize != sizeof(Elf64_Phdr) || w->phnum == 0 || w->phnum >= PN_XNUM - 2 ||
        !in_file(w, w->eh.e_phoff, (uint64_t)w->phnum * sizeof(Elf64_Phdr)))
        return rw_fail(w->d, RW_E_CORRUPT, "bad program header table");
    if (w->eh.e_shentsize != sizeof(Elf64_Shdr) || w->shnum == 0 ||
        w->eh.e_shstrndx >= w->shnum ||
        !in_file(w, w->eh.e_shoff, (uint64_t)w->shnum * sizeof(Elf64_Shdr)))
        return rw_fail(w->d, RW_E_CORRUPT, "bad section header table");
    w->ph = malloc(w->phnum * sizeof *w->ph);
    w->sh = malloc(w->shnum * sizeof *w->sh);
    if (!w->ph || !w->sh)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    memcpy(w->ph, w->in + w->eh.e_phoff, w->phnum * sizeof *w->ph);
    memcpy(w->sh, w->in + w->eh.e_shoff, w->shnum * sizeof *w->sh);
    for (size_t i = 0; i < w->shnum; i++)
        if (w->sh[i].sh_type != SHT_NOBITS && w->sh[i].sh_type != SHT_NULL &&
            !in_file(w, w->sh[i].sh_offset, w->sh[i].sh_size))
            return rw_fail(w->d, RW_E_CORRUPT, "section %zu lies past the end of the file", i);
    for (size_t i = 0; i < w->phnum; i++)
        if (w->ph[i].p_filesz && !in_file(w, w->ph[i].p_offset, w->ph[i].p_filesz))
            return rw_fail(w->d, RW_E_CORRUPT, "segment %zu lies past the end of the file", i);
    return RW_OK;
}

/* Sections that only program headers, section headers and .dynamic refer
 * to, so that they can move: .interp (PT_INTERP), notes (PT_NOTE,
 * PT_GNU_PROPERTY) and the symbol hash tables (DT_GNU_HASH, DT_HASH). */
static int movable(const struct lw *w, size_t i)
{
    uint32_t t = w->sh[i].sh_type;
    return t == SHT_NOTE || t == SHT_GNU_HASH || t == SHT_HASH ||
           (t == SHT_PROGBITS && !strcmp(sec_name(w, i), ".interp"));
}

/* .dynamic entries that point into the moved block follow it. */
static enum rw_err move_dynamic(const struct lw *w, uint8_t *out, uint64_t va_base, int64_t va_shift)
{
    uint64_t len = w->mv_end - w->mv_start;
    for (size_t i = 1; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type != SHT_DYNAMIC)
            continue;
        for (uint64_t k = 0; k + sizeof(Elf64_Dyn) <= s->sh_size; k += sizeof(Elf64_Dyn)) {
            Elf64_Dyn dyn;
            uint8_t *p = out + s->sh_offset + k;
            memcpy(&dyn, p, sizeof dyn);
            if (dyn.d_tag == DT_NULL)
                break;
            int pointer = dyn.d_tag == DT_GNU_HASH || dyn.d_tag == DT_HASH;
            int inside = dyn.d_un.d_ptr >= va_base && dyn.d_un.d_ptr - va_base < len;
            if (!pointer && inside && (dyn.d_tag == DT_SYMTAB || dyn.d_tag == DT_STRTAB ||
                                       dyn.d_tag == DT_VERSYM || dyn.d_tag == DT_RELA ||
                                       dyn.d_tag == DT_JMPREL))
                return rw_fail(w->d, RW_E_INTERNAL, "a dynamic table lies in a moved section");
            if (pointer && inside) {
                dyn.d_un.d_ptr += (uint64_t)va_shift;
                memcpy(p, &dyn, sizeof dyn);
            }
        }
    }
    return RW_OK;
}

/* Make room for the grown program header table: the sections overlapping
 * [old end, new end) must all be movable; the block moved is the run of
 * movable sections from the first one overlapping to the last one. */
static enum rw_err plan_room(struct lw *w)
{
    uint64_t old_end = w->eh.e_phoff + w->phnum * sizeof(Elf64_Phdr);
    uint64_t new_end = w->eh.e_phoff + w->new_phnum * sizeof(Elf64_Phdr);
    w->mv_start = w->mv_end = 0;
    for (size_t i = 1; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type == SHT_NOBITS || s->sh_size == 0)
            continue;
        if (s->sh_offset >= new_end || s->sh_offset + s->sh_size <= old_end)
            continue;
        if (!movable(w, i) || !(s->sh_flags & SHF_ALLOC))
            return rw_fail(w->d, RW_E_NOROOM,
                           "no room to grow the program header table: section %s follows it "
                           "(only .interp, notes and hash tables can move); the file is left as it is", sec_name(w, i));
        if (!w->mv_end || s->sh_offset < w->mv_start)
            w->mv_start = s->sh_offset;
        if (s->sh_offset + s->sh_size > w->mv_end)
            w->mv_end = s->sh_offset + s->sh_size;
    }
    if (!w->mv_end)
        return RW_OK;
    /* Take along the movable sections that continue the block, so that a
     * PT_NOTE covering several notes moves whole. */
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t i = 1; i < w->shnum; i++) {
            const Elf64_Shdr *s = &w->sh[i];
            if (!movable(w, i) || !(s->sh_flags & SHF_ALLOC) || s->sh_size == 0)
                continue;
            if (s->sh_offset >= w->mv_start && s->sh_offset + s->sh_size <= w->mv_end)
                continue;
            if (s->sh_offset <= w->mv_end + 8 && s->sh_offset + s->sh_size > w->mv_end) {
                w->mv_end = s->sh_offset + s->sh_size;
                grew = 1;
            }
        }
    }
    /* Program headers may refer into the block only as a whole section run. */
    for (size_t i = 0; i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type == PT_LOAD || p->p_type == PT_PHDR || p->p_filesz == 0)
            continue;
        int overlaps = p->p_offset < w->mv_end && p->p_offset + p->p_filesz > w->mv_start;
        int inside = p->p_offset >= w->mv_start && p->p_offset + p->p_filesz <= w->mv_end;
        if (overlaps && !inside)
            return rw_fail(w->d, RW_E_NOROOM,
                           "a program header straddles the sections that must move");
        if (inside && p->p_type != PT_INTERP && p->p_type != PT_NOTE && p->p_type != PT_GNU_PROPERTY)
            return rw_fail(w->d, RW_E_NOROOM,
                           "program header type 0x%x refers to a section that must move", p->p_type);
    }
    return RW_OK;
}

/* Validate the input's .eh_frame_hdr and remember its table. */
static enum rw_err parse_old_hdr(struct lw *w)
{
    /* No header: the new one indexes only the stubs. The image's own FDEs
     * were found some other way before (a static link registers its
     * .eh_frame from crtbeginT, and libgcc asks registered frames before
     * PT_GNU_EH_FRAME), and still are. */
    if (w->old_hdr < 0)
        return RW_OK;
    const Elf64_Shdr *old = &w->sh[w->old_hdr];
    if (old->sh_type == SHT_NOBITS || old->sh_size < 12)
        return rw_fail(w->d, RW_E_CORRUPT, ".eh_frame_hdr is truncated");
    const uint8_t *p = w->in + old->sh_offset;
    if (p[0] != 1 || p[1] != (DW_EH_PE_pcrel | DW_EH_PE_sdata4) ||
        p[2] != DW_EH_PE_udata4 || p[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
        return rw_fail(w->d, RW_E_UNSUPPORTED,
                       ".eh_frame_hdr encoding %02x %02x %02x %02x is not supported", p[0], p[1], p[2], p[3]);
    w->ehframe_va = old->sh_addr + 4 + (uint64_t)(int64_t)(int32_t)rd32(p + 4);
    w->nold = rd32(p + 8);
    if (w->nold > (old->sh_size - 12) / 8)
        return rw_fail(w->d, RW_E_CORRUPT, ".eh_frame_hdr claims %zu entries in %llu bytes", w->nold, (unsigned long long)old->sh_size);
    w->old_tab = p + 12;
    return RW_OK;
}

struct hdr_ent {
    int64_t loc, fde; /* absolute addresses */
};

static int by_loc(const void *a, const void *b)
{
    const struct hdr_ent *x = a, *y = b;
    return (x->loc > y->loc) - (x->loc < y->loc);
}

/* The rebuilt .eh_frame_hdr: the old table plus one entry per stub, sorted,
 * encoded relative to the new header's address. */
static enum rw_err build_eh_hdr(struct lw *w, uint64_t hdr_va, uint64_t eh_va, uint64_t text_va)
{
    const Elf64_Shdr *old = w->old_hdr >= 0 ? &w->sh[w->old_hdr] : NULL;
    uint64_t ehframe_va = old ? w->ehframe_va : eh_va; /* no old .eh_frame: point at ours */
    size_t n = 0, total = w->nold + w->plan->nstubs;
    struct hdr_ent *e = calloc(total + 1, sizeof *e);
    if (!e)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < w->nold; i++, n++) {
        e[n].loc = (int64_t)old->sh_addr + (int32_t)rd32(w->old_tab + 8 * i);
        e[n].fde = (int64_t)old->sh_addr + (int32_t)rd32(w->old_tab + 8 * i + 4);
    }
    for (size_t i = 0; i < w->plan->nstubs; i++, n++) {
        e[n].loc = (int64_t)(text_va + w->plan->stubs[i].offset);
        e[n].fde = (int64_t)(eh_va + w->fde_off[i]);
    }
    qsort(e, n, sizeof *e, by_loc);
    uint8_t head[12] = {1, DW_EH_PE_pcrel | DW_EH_PE_sdata4, DW_EH_PE_udata4,
                        DW_EH_PE_datarel | DW_EH_PE_sdata4};
    int64_t rel = (int64_t)ehframe_va - (int64_t)(hdr_va + 4);
    enum rw_err err = RW_OK;
    if (rel != (int32_t)rel)
        err = rw_fail(w->d, RW_E_NOROOM, ".eh_frame is out of 32-bit range of its header");
    wr32(head + 4, (uint32_t)(int32_t)rel);
    wr32(head + 8, (uint32_t)n);
    w->hdr.len = 0;
    if (!err && rw_buf_append(&w->hdr, head, sizeof head))
        err = rw_fail(w->d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < n; i++) {
        int64_t a = e[i].loc - (int64_t)hdr_va, b = e[i].fde - (int64_t)hdr_va;
        if (a != (int32_t)a || b != (int32_t)b) {
            err = rw_fail(w->d, RW_E_NOROOM, ".eh_frame_hdr entry out of 32-bit range");
            break;
        }
        uint8_t ent[8];
        wr32(ent, (uint32_t)(int32_t)a);
        wr32(ent + 4, (uint32_t)(int32_t)b);
        if (rw_buf_append(&w->hdr, ent, sizeof ent))
            err = rw_fail(w->d, RW_E_NOMEM, "out of memory");
    }
    free(e);
    return err;
}

/* The rewrite map for a linked image: addresses are virtual addresses. */
static enum rw_err build_map(struct lw *w, uint64_t text_va)
{
    free(w->map);
    w->map = NULL;
    return rw_map_from_plan(w->img, w->plan, text_va, &w->map, &w->map_len, w->d);
}

/* Patch one x86-64 site in the output (return address unchanged). */
static enum rw_err patch_x86(struct lw *w, uint8_t *out, const struct rw_site *s, uint64_t text_va)
{
    const struct rw_section *sec = &w->img->sec[s->section];
    if (sec->id >= w->shnum)
        return rw_fail(w->d, RW_E_INTERNAL, "site in unknown section");
    uint64_t foff = w->sh[sec->id].sh_offset + s->offset;
    uint64_t stub = text_va + w->plan->stubs[s->stub].offset;
    int64_t rel = (int64_t)(stub - (s->addr + s->length));
    if (rel != (int32_t)rel)
        return rw_fail(w->d, RW_E_NOROOM, "site 0x%llx is out of rel32 range of its stub", (unsigned long long)s->addr);
    if (!in_file(w, foff, s->length) || memcmp(w->in + foff, s->orig, s->length))
        return rw_fail(w->d, RW_E_INTERNAL, "site 0x%llx: bytes differ from the scan",
                       (unsigned long long)s->addr);
    /* (length - 5) nops, then a direct call/jmp whose rel32 is the last
     * 4 bytes (scan.h): the return address stays the end of the site. */
    uint8_t op;
    if (s->form == RW_FORM_CALL_REL32 || s->form == RW_FORM_CALL_MEM)
        op = 0xE8;
    else if (s->form == RW_FORM_JMP_REL32 || s->form == RW_FORM_JMP_MEM)
        op = 0xE9;
    else
        return rw_fail(w->d, RW_E_INTERNAL, "site form %u on x86-64", s->form);
    if (s->length < 5)
        return rw_fail(w->d, RW_E_INTERNAL, "site of %u bytes", s->length);
    uint8_t *p = out + foff;
    memset(p, 0x90, s->length - 5u);
    p += s->length - 5u;
    p[0] = op;
    wr32(p + 1, (uint32_t)(int32_t)rel);
    return RW_OK;
}

/* Patch one arm64 site: BL/B get a new imm26; BLR/BR xN become BL/B at the
 * same address (the return address, site + 4, is unchanged; xN keeps the
 * value the block loaded, which nothing after the call relies on). */
static enum rw_err patch_a64(struct lw *w, uint8_t *out, const struct rw_site *s, uint64_t text_va)
{
    const struct rw_section *sec = &w->img->sec[s->section];
    if (sec->id >= w->shnum || s->length != 4)
        return rw_fail(w->d, RW_E_INTERNAL, "arm64 site of %u bytes", s->length);
    uint64_t foff = w->sh[sec->id].sh_offset + s->offset;
    if (!in_file(w, foff, 4) || memcmp(w->in + foff, s->orig, 4))
        return rw_fail(w->d, RW_E_INTERNAL, "site 0x%llx: bytes differ from the scan",
                       (unsigned long long)s->addr);
    uint64_t target = s->veneer != RW_NONE && s->veneer < w->plan->nveneers
                          ? w->plan->veneers[s->veneer].va
                          : text_va + w->plan->stubs[s->stub].offset;
    int64_t delta = (int64_t)(target - s->addr);
    if (delta % 4 || delta < -(INT64_C(1) << 27) || delta >= (INT64_C(1) << 27))
        return rw_fail(w->d, RW_E_INTERNAL,
                       "site 0x%llx is out of BL range of its target (the plan should have left it)",
                       (unsigned long long)s->addr);
    uint32_t op = s->form == RW_FORM_BL || s->form == RW_FORM_BLR ? 0x94000000u : 0x14000000u;
    if (s->form != RW_FORM_BL && s->form != RW_FORM_B && s->form != RW_FORM_BLR &&
        s->form != RW_FORM_BR)
        return rw_fail(w->d, RW_E_INTERNAL, "site form %u on arm64", s->form);
    wr32(out + foff, op | ((uint32_t)(delta >> 2) & 0x03ffffffu));
    return RW_OK;
}

static enum rw_err patch_site(struct lw *w, uint8_t *out, const struct rw_site *s, uint64_t text_va)
{
    return w->img->machine == RW_MACH_AARCH64 ? patch_a64(w, out, s, text_va)
                                              : patch_x86(w, out, s, text_va);
}

/* Symbols defined in a section that moved follow it. */
static void move_symbols(const struct lw *w, uint8_t *out, size_t symsec, const int64_t *shift)
{
    const Elf64_Shdr *s = &w->sh[symsec];
    if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_type == SHT_NOBITS)
        return;
    for (uint64_t k = 0; k < s->sh_size / sizeof(Elf64_Sym); k++) {
        Elf64_Sym sym;
        uint8_t *p = out + s->sh_offset + k * sizeof sym;
        memcpy(&sym, p, sizeof sym);
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= w->shnum || !shift[sym.st_shndx])
            continue;
        sym.st_value += (uint64_t)shift[sym.st_shndx];
        memcpy(p, &sym, sizeof sym);
    }
}

static const char *const new_names[] = {".callirw.text", ".callirw.map", ".callirw.eh_frame",
                                        ".callirw.veneer"};
#define NNEW 3 /* sections every output gets; veneer sections come after them */
#define NNAMES 4

/* Where the new segment goes: file offset at the end of the input
 * (16-aligned), address above every segment, congruent modulo the largest
 * PT_LOAD alignment. Needs load_headers. */
static enum rw_err place_segment(struct lw *w)
{
    uint64_t mem_end = 0;
    int have_load = 0;
    w->align = 0x1000;
    w->add_eh_phdr = 1;
    for (size_t i = 0; i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type == PT_GNU_EH_FRAME)
            w->add_eh_phdr = 0;
        if (p->p_type != PT_LOAD)
            continue;
        have_load = 1;
        if (p->p_align > w->align)
            w->align = p->p_align;
        if (p->p_vaddr + p->p_memsz < p->p_vaddr)
            return rw_fail(w->d, RW_E_CORRUPT, "PT_LOAD wraps around");
        if (p->p_vaddr + p->p_memsz > mem_end)
            mem_end = p->p_vaddr + p->p_memsz;
    }
    if (!have_load || (w->align & (w->align - 1)) || w->align > (1u << 24))
        return rw_fail(w->d, RW_E_UNSUPPORTED, "no PT_LOAD, or an alignment we cannot honour");
    w->seg_off = ALIGN_UP(w->insz, 16);
    w->seg_va = ALIGN_UP(mem_end, w->align) + w->seg_off % w->align;
    if (w->seg_va < mem_end)
        return rw_fail(w->d, RW_E_NOROOM, "no address space above the last segment");
    return RW_OK;
}

enum rw_err rw_elf_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    *va = RW_NO_ADDRESS;
    if (img->kind == RW_KIND_OBJECT)
        return RW_OK; /* the linker places the stubs */
    struct lw w = {0};
    w.img = img;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    enum rw_err e = load_headers(&w);
    if (!e)
        e = place_segment(&w);
    if (!e)
        *va = w.seg_va; /* the stubs are the segment's first bytes */
    free(w.ph);
    free(w.sh);
    return e;
}

static struct elf_hdrs hdrs_of(const struct lw *w)
{
    return (struct elf_hdrs){w->in, w->insz, w->eh, w->ph, w->phnum, w->sh, w->shnum};
}

enum rw_err rw_elf_code_caves(const struct rw_image *img, struct rw_cave **caves, size_t *n,
                              struct rw_diag *d)
{
    *caves = NULL;
    *n = 0;
    if (img->kind == RW_KIND_OBJECT)
        return RW_OK;
    struct lw w = {0};
    w.img = img;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    struct elf_cave *c = NULL;
    size_t nc = 0;
    enum rw_err e = load_headers(&w);
    if (!e) {
        struct elf_hdrs h = hdrs_of(&w);
        e = elf_find_caves(&h, &c, &nc, d);
    }
    if (!e && nc) {
        *caves = calloc(nc, sizeof **caves);
        if (!*caves)
            e = rw_fail(d, RW_E_NOMEM, "out of memory");
        for (size_t i = 0; !e && i < nc; i++)
            (*caves)[i] = (struct rw_cave){c[i].va, c[i].size};
        if (!e)
            *n = nc;
    }
    free(c);
    free(w.ph);
    free(w.sh);
    return e;
}

enum rw_err rw_elf_write_linked(const struct rw_image *img, const struct rw_plan *plan,
                                struct rw_buf *out, struct rw_diag *d)
{
    struct lw w = {0};
    w.img = img;
    w.plan = plan;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    enum rw_err e;
    int64_t *shift = NULL;
    struct elf_veneer_sec *vsec = NULL;
    size_t nvsec = 0;

    if ((e = load_headers(&w)))
        goto done;
    if ((e = place_segment(&w)))
        goto done;
    w.old_hdr = find_section(&w, ".eh_frame_hdr");
    if ((e = parse_old_hdr(&w)))
        goto done;
    w.new_phnum = w.phnum + 1 + (size_t)(w.add_eh_phdr && plan->nstubs);
    if ((e = plan_room(&w)))
        goto done;

    /* The stubs come first, at seg_va (rw_elf_code_va); then the moved
     * sections, keeping every alignment up to 16. */
    w.text_at = 0;
    w.mv_at = ALIGN_UP(plan->text_size, 16) + (w.mv_end ? w.mv_start % 16 : 0);
    w.map_at = ALIGN_UP(w.mv_at + (w.mv_end - w.mv_start), 8);
    if ((e = build_map(&w, 0)))
        goto done;
    w.ehf_at = ALIGN_UP(w.map_at + w.map_len, 8);
    w.fde_off = calloc(plan->nstubs + 1, sizeof *w.fde_off);
    if (!w.fde_off) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    if ((e = rw_elf_stub_eh_frame(img, plan, 0, 0, &w.ehf, w.fde_off, d))) /* size only */
        goto done;
    w.hdr_at = ALIGN_UP(w.ehf_at + w.ehf.len, 4);
    w.hdr_size = 12 + 8 * (w.nold + plan->nstubs);
    w.seg_size = w.hdr_at + w.hdr_size;
    uint64_t text_va = w.seg_va + w.text_at, hdr_va = w.seg_va + w.hdr_at;
    if (plan->text_va != RW_NO_ADDRESS && plan->text_va != text_va) {
        e = rw_fail(d, RW_E_INTERNAL, "the stubs were planned at 0x%llx, written at 0x%llx",
                    (unsigned long long)plan->text_va, (unsigned long long)text_va);
        goto done;
    }
    /* The veneers' caves: one section each (counted now, written below). */
    struct elf_hdrs hdrs = hdrs_of(&w);
    if ((e = elf_put_veneers(&hdrs, plan, NULL, 0, NULL, &vsec, &nvsec, d)))
        goto done;

    /* Addresses are fixed: the FDEs, the map, the header. */
    w.ehf.len = 0;
    if ((e = rw_elf_stub_eh_frame(img, plan, w.seg_va + w.ehf_at, text_va, &w.ehf, w.fde_off, d)) ||
        (e = build_map(&w, text_va)) ||
        (e = build_eh_hdr(&w, hdr_va, w.seg_va + w.ehf_at, text_va)))
        goto done;
    if (w.hdr.len != w.hdr_size || ALIGN_UP(w.map_at + w.map_len, 8) != w.ehf_at ||
        ALIGN_UP(w.ehf_at + w.ehf.len, 4) != w.hdr_at) {
        e = rw_fail(d, RW_E_INTERNAL, "layout changed between passes");
        goto done;
    }

    /* Section names, section headers. */
    const Elf64_Shdr *oldstr = &w.sh[w.eh.e_shstrndx];
    uint64_t names_size = oldstr->sh_size;
    uint32_t name_off[NNAMES];
    for (size_t i = 0; i < NNAMES; i++) {
        name_off[i] = (uint32_t)names_size;
        names_size += strlen(new_names[i]) + 1;
    }
    uint64_t str_off = w.seg_off + w.seg_size;
    uint64_t sh_off = ALIGN_UP(str_off + names_size, 8);
    size_t new_shnum = w.shnum + NNEW + nvsec;
    if (new_shnum >= SHN_LORESERVE) {
        e = rw_fail(d, RW_E_NOROOM, "too many sections to add more");
        goto done;
    }
    uint64_t total = sh_off + new_shnum * sizeof(Elf64_Shdr);
    if (rw_buf_reserve(out, total)) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    uint8_t *o = out->data;
    memset(o, 0, total);
    memcpy(o, w.in, w.insz);

    /* Sites. */
    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict == RW_SITE_OK && (e = patch_site(&w, o, s, text_va)))
            goto done;
    }

    /* The new segment's contents. */
    uint8_t *seg = o + w.seg_off;
    if (w.mv_end)
        memcpy(seg + w.mv_at, w.in + w.mv_start, w.mv_end - w.mv_start);
    memcpy(seg + w.map_at, w.map, w.map_len);
    memcpy(seg + w.ehf_at, w.ehf.data, w.ehf.len);
    memcpy(seg + w.hdr_at, w.hdr.data, w.hdr.len);
    for (size_t i = 0; i < plan->nstubs; i++)
        memcpy(seg + w.text_at + plan->stubs[i].offset, plan->stubs[i].code.bytes,
               plan->stubs[i].code.len);

    /* Program headers, in place: moved ones follow their sections; the new
     * PT_LOAD after the last PT_LOAD; PT_GNU_EH_FRAME at the new header. */
    int64_t mv_off_shift = (int64_t)(w.seg_off + w.mv_at) - (int64_t)w.mv_start;
    Elf64_Phdr *np = malloc(w.new_phnum * sizeof *np);
    if (!np) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    size_t last_load = 0, k = 0;
    for (size_t i = 0; i < w.phnum; i++)
        if (w.ph[i].p_type == PT_LOAD)
            last_load = i;
    uint64_t mv_va_base = 0; /* address of mv_start in the input */
    for (size_t i = 0; i < w.phnum; i++) {
        const Elf64_Phdr *p = &w.ph[i];
        if (p->p_type == PT_LOAD && w.mv_end && p->p_offset <= w.mv_start &&
            w.mv_start - p->p_offset < p->p_filesz)
            mv_va_base = p->p_vaddr + (w.mv_start - p->p_offset);
    }
    int64_t mv_va_shift = (int64_t)(w.seg_va + w.mv_at) - (int64_t)mv_va_base;
    if (w.mv_end && (e = move_dynamic(&w, o, mv_va_base, mv_va_shift)))
        goto done;
    for (size_t i = 0; i < w.phnum; i++) {
        Elf64_Phdr p = w.ph[i];
        if (p.p_type == PT_PHDR) {
            p.p_filesz = p.p_memsz = w.new_phnum * sizeof(Elf64_Phdr);
        } else if (p.p_type == PT_GNU_EH_FRAME) {
            p.p_offset = w.seg_off + w.hdr_at;
            p.p_vaddr = p.p_paddr = hdr_va;
            p.p_filesz = p.p_memsz = w.hdr_size;
        } else if (p.p_type != PT_LOAD && p.p_filesz && w.mv_end && p.p_offset >= w.mv_start &&
                   p.p_offset + p.p_filesz <= w.mv_end) {
            p.p_offset += (uint64_t)mv_off_shift;
            p.p_vaddr += (uint64_t)mv_va_shift;
            p.p_paddr += (uint64_t)mv_va_shift;
        }
        np[k++] = p;
        if (i == last_load)
            np[k++] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, w.seg_off, w.seg_va, w.seg_va,
                                   w.seg_size, w.seg_size, w.align};
    }
    if (w.add_eh_phdr && plan->nstubs)
        np[k++] = (Elf64_Phdr){PT_GNU_EH_FRAME, PF_R, w.seg_off + w.hdr_at, hdr_va, hdr_va,
                               w.hdr_size, w.hdr_size, 4};
    if (k != w.new_phnum) {
        free(np);
        e = rw_fail(d, RW_E_INTERNAL, "program header count");
        goto done;
    }
    {
        struct elf_veneer_sec *vs2 = NULL;
        size_t nvs2 = 0;
        e = elf_put_veneers(&hdrs, plan, o, total, np, &vs2, &nvs2, d);
        free(vs2);
        if (!e && nvs2 != nvsec)
            e = rw_fail(d, RW_E_INTERNAL, "veneer sections changed between passes");
        if (e) {
            free(np);
            goto done;
        }
    }
    memcpy(o + w.eh.e_phoff, np, k * sizeof *np);
    free(np);

    /* Section headers: moved sections re-pointed, .shstrtab grown, ours added. */
    memcpy(o + str_off, w.in + oldstr->sh_offset, oldstr->sh_size);
    for (size_t i = 0; i < NNAMES; i++)
        memcpy(o + str_off + name_off[i], new_names[i], strlen(new_names[i]) + 1);
    shift = calloc(w.shnum + 1, sizeof *shift);
    if (!shift) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    Elf64_Shdr *ns = malloc(new_shnum * sizeof *ns);
    if (!ns) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(ns, w.sh, w.shnum * sizeof *ns);
    for (size_t i = 1; i < w.shnum; i++) {
        Elf64_Shdr *s = &ns[i];
        if (w.mv_end && movable(&w, i) && s->sh_offset >= w.mv_start &&
            s->sh_offset + s->sh_size <= w.mv_end && s->sh_size) {
            s->sh_offset += (uint64_t)mv_off_shift;
            s->sh_addr += (uint64_t)mv_va_shift;
            shift[i] = mv_va_shift;
        }
    }
    ns[w.eh.e_shstrndx].sh_offset = str_off;
    ns[w.eh.e_shstrndx].sh_size = names_size;
    if (w.old_hdr >= 0) {
        shift[w.old_hdr] = (int64_t)hdr_va - (int64_t)ns[w.old_hdr].sh_addr;
        ns[w.old_hdr].sh_offset = w.seg_off + w.hdr_at;
        ns[w.old_hdr].sh_addr = hdr_va;
        ns[w.old_hdr].sh_size = w.hdr_size;
    }
    ns[w.shnum] = (Elf64_Shdr){name_off[0], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_va,
                               w.seg_off + w.text_at, plan->text_size, 0, 0, STUB_ALIGN, 0};
    ns[w.shnum + 1] = (Elf64_Shdr){name_off[1], SHT_PROGBITS, SHF_ALLOC, w.seg_va + w.map_at,
                                   w.seg_off + w.map_at, w.map_len, 0, 0, 8, 0};
    ns[w.shnum + 2] = (Elf64_Shdr){name_off[2], SHT_PROGBITS, SHF_ALLOC, w.seg_va + w.ehf_at,
                                   w.seg_off + w.ehf_at, w.ehf.len, 0, 0, 8, 0};
    for (size_t i = 0; i < nvsec; i++)
        ns[w.shnum + NNEW + i] = (Elf64_Shdr){name_off[3], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
                                              vsec[i].va, vsec[i].off, vsec[i].size, 0, 0, 4, 0};
    memcpy(o + sh_off, ns, new_shnum * sizeof *ns);
    free(ns);
    for (size_t i = 1; i < w.shnum; i++)
        if (w.sh[i].sh_type == SHT_SYMTAB || w.sh[i].sh_type == SHT_DYNSYM)
            move_symbols(&w, o, i, shift);

    Elf64_Ehdr oh = w.eh;
    oh.e_phnum = (Elf64_Half)w.new_phnum;
    oh.e_shoff = sh_off;
    oh.e_shnum = (Elf64_Half)new_shnum;
    memcpy(o, &oh, sizeof oh);
    out->len = total;
    e = RW_OK;
done:
    free(shift);
    free(vsec);
    free(w.map);
    free(w.fde_off);
    free(w.ph);
    free(w.sh);
    rw_buf_free(&w.ehf);
    rw_buf_free(&w.hdr);
    return e;
}

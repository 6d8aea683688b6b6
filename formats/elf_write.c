/* elf_write.c - the ELF back-end's write side for linked images (ET_EXEC,
 * ET_DYN).
 *
 * What changes (docs/elf.md):
 *  - one new PT_LOAD (R+X) at the end of the file and above every existing
 *    segment in memory, holding the stubs (first, at an address fixed
 *    before the plan: rw_elf_code_va), the sections moved out of the way
 *    (below), the rewrite map, the stubs' .eh_frame and a rebuilt (or new)
 *    .eh_frame_hdr;
 *  - the program header table grows IN PLACE (one more PT_LOAD, and a
 *    PT_GNU_EH_FRAME when the input had none). It stays where the ELF header
 *    says, in the first segment, which is what the kernel, ld.so and GNU
 *    strip (BFD) all assume. The room comes from moving the sections that
 *    follow the table and that only program headers and .dynamic refer to
 *    (.interp, notes, hash tables) into the new segment, byte for byte,
 *    keeping their alignment; PT_INTERP, PT_NOTE, PT_GNU_PROPERTY and
 *    DT_GNU_HASH / DT_HASH follow them;
 *  - when that is not room enough (-static links: .rela.plt follows the
 *    notes and cannot move), the PT_NOTEs that moved are merged into one
 *    8-aligned PT_NOTE if their notes read the same that way (x86-64), or
 *    else no PT_LOAD is added: the same contents go into the free bytes
 *    after the executable PT_LOAD, which grows (arm64); decide_layout;
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
#include "patch.h"
#include "sort.h"

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

    /* Where the stubs and tables go (decide_layout):
     *  extend = 0: a new PT_LOAD at the end of the file;
     *  extend = 1: the free bytes after the executable PT_LOAD ext_load,
     *              which grows (room bytes from seg_off), when the table
     *              has no room for a new PT_LOAD. */
    int extend;
    size_t ext_load;
    uint64_t room;
    /* The block of sections moved out of the program header table's way:
     * input bytes [mv_start, mv_end), placed at seg_off + mv_at, byte for
     * byte; or, with merge (the PT_NOTEs in the block become one, p_align
     * 8), section by section at mv_at + mv_new[i]. mv_size: bytes taken in
     * the new place; merged_size: the merged PT_NOTE's bytes (first). */
    uint64_t mv_start, mv_end, mv_at, mv_size;
    int merge;
    size_t nmerged;
    uint64_t *mv_new;
    uint64_t merged_size;
    /* The new segment (or the extension): file offset, address, size;
     * parts at offsets in it. */
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

/* Section i is one of those that move (find_block). */
static int is_moved(const struct lw *w, size_t i)
{
    const Elf64_Shdr *s = &w->sh[i];
    return w->mv_end && movable(w, i) && (s->sh_flags & SHF_ALLOC) && s->sh_size &&
           s->sh_offset >= w->mv_start && s->sh_offset + s->sh_size <= w->mv_end;
}

/* Where moved section i lands, as an offset in the new segment. */
static uint64_t moved_at(const struct lw *w, size_t i)
{
    return w->merge ? w->mv_at + w->mv_new[i] : w->mv_at + (w->sh[i].sh_offset - w->mv_start);
}

/* Is program header i (not a PT_LOAD) one that lies in the moved block? */
static int phdr_moves(const struct lw *w, const Elf64_Phdr *p)
{
    return w->mv_end && p->p_type != PT_LOAD && p->p_type != PT_PHDR && p->p_filesz &&
           p->p_offset >= w->mv_start && p->p_offset + p->p_filesz <= w->mv_end;
}

/* .dynamic entries that point into a moved section follow it: by the
 * block's shift (va_base: the block's input address), or, when the notes
 * were merged, by their own section's. */
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
            int inside = 0;
            int64_t shift = va_shift;
            if (w->merge) {
                for (size_t j = 1; j < w->shnum && !inside; j++)
                    if (is_moved(w, j) && dyn.d_un.d_ptr >= w->sh[j].sh_addr &&
                        dyn.d_un.d_ptr - w->sh[j].sh_addr < w->sh[j].sh_size) {
                        inside = 1;
                        shift = (int64_t)(w->seg_va + moved_at(w, j)) - (int64_t)w->sh[j].sh_addr;
                    }
            } else {
                inside = dyn.d_un.d_ptr >= va_base && dyn.d_un.d_ptr - va_base < len;
            }
            if (!pointer && inside && (dyn.d_tag == DT_SYMTAB || dyn.d_tag == DT_STRTAB ||
                                       dyn.d_tag == DT_VERSYM || dyn.d_tag == DT_RELA ||
                                       dyn.d_tag == DT_JMPREL))
                return rw_fail(w->d, RW_E_INTERNAL, "a dynamic table lies in a moved section");
            if (pointer && inside) {
                dyn.d_un.d_ptr += (uint64_t)shift;
                memcpy(p, &dyn, sizeof dyn);
            }
        }
    }
    return RW_OK;
}

/* The sections to move so that a table of n entries fits: the movable ones
 * overlapping [old end, new end), and the movable sections that continue
 * them (so that a PT_NOTE covering several notes moves whole). Sets
 * mv_start, mv_end (0, 0: nothing moves) and *obstacle, the lowest offset
 * of a section in the way that cannot move (UINT64_MAX: none; the block
 * stops before it). Returns 0 when the table fits; 1 when an obstacle is in
 * the way; -1 when a program header refers into the block other than as a
 * whole. why says which. */
static int find_block(struct lw *w, size_t n, uint64_t *obstacle, char *why, size_t cap)
{
    /* e_phoff + phnum entries lie in the file (load_headers); n < PN_XNUM */
    uint64_t old_end = w->eh.e_phoff + w->phnum * sizeof(Elf64_Phdr);
    uint64_t new_end = w->eh.e_phoff + n * sizeof(Elf64_Phdr);
    size_t obs = 0;
    *obstacle = UINT64_MAX;
    w->mv_start = w->mv_end = 0;
    for (size_t i = 1; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type == SHT_NOBITS || s->sh_size == 0)
            continue;
        if (s->sh_offset >= new_end || s->sh_offset + s->sh_size <= old_end)
            continue;
        if ((!movable(w, i) || !(s->sh_flags & SHF_ALLOC)) && s->sh_offset < *obstacle) {
            *obstacle = s->sh_offset;
            obs = i;
        }
    }
    for (size_t i = 1; i < w->shnum; i++) {
        const Elf64_Shdr *s = &w->sh[i];
        if (s->sh_type == SHT_NOBITS || s->sh_size == 0 || !movable(w, i) || !(s->sh_flags & SHF_ALLOC))
            continue;
        if (s->sh_offset >= new_end || s->sh_offset + s->sh_size <= old_end ||
            s->sh_offset + s->sh_size > *obstacle)
            continue;
        if (!w->mv_end || s->sh_offset < w->mv_start)
            w->mv_start = s->sh_offset;
        if (s->sh_offset + s->sh_size > w->mv_end)
            w->mv_end = s->sh_offset + s->sh_size;
    }
    if (w->mv_end) {
        for (int grew = 1; grew;) {
            grew = 0;
            for (size_t i = 1; i < w->shnum; i++) {
                const Elf64_Shdr *s = &w->sh[i];
                if (!movable(w, i) || !(s->sh_flags & SHF_ALLOC) || s->sh_size == 0)
                    continue;
                if (s->sh_offset >= w->mv_start && s->sh_offset + s->sh_size <= w->mv_end)
                    continue;
                if (s->sh_offset <= w->mv_end + 8 && s->sh_offset + s->sh_size > w->mv_end &&
                    s->sh_offset + s->sh_size <= *obstacle) {
                    w->mv_end = s->sh_offset + s->sh_size;
                    grew = 1;
                }
            }
        }
    }
    /* Program headers may refer into the block only as a whole section run. */
    for (size_t i = 0; w->mv_end && i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type == PT_LOAD || p->p_type == PT_PHDR || p->p_filesz == 0)
            continue;
        int overlaps = p->p_offset < w->mv_end && p->p_offset + p->p_filesz > w->mv_start;
        if (overlaps && !phdr_moves(w, p)) {
            snprintf(why, cap, "a program header straddles the sections that must move");
            return -1;
        }
        if (overlaps && p->p_type != PT_INTERP && p->p_type != PT_NOTE && p->p_type != PT_GNU_PROPERTY) {
            snprintf(why, cap, "program header type 0x%x refers to a section that must move", p->p_type);
            return -1;
        }
    }
    if (*obstacle != UINT64_MAX) {
        snprintf(why, cap, "section %s follows it (only .interp, notes and hash tables can move)",
                 sec_name(w, obs));
        return 1;
    }
    return 0;
}

/* Would the notes in [p, p + len), laid out for alignment a (4 or 8), read
 * the same laid out for 8 once the section starts 8-aligned? Their names
 * must end 8-aligned, and every note but the last must too (the last one's
 * padding is the next section's alignment). Also: they fill the section. */
static int notes_read_alike(const uint8_t *p, uint64_t len, uint64_t a)
{
    uint64_t k = 0;
    while (k < len) {
        if (len - k < 12)
            return 0;
        uint64_t nsz = rd32(p + k), dsz = rd32(p + k + 4); /* < 2^32: no overflow below */
        uint64_t desc = ALIGN_UP(k + 12 + nsz, a), next = ALIGN_UP(desc + dsz, a);
        if (next > len)
            return 0;
        if (ALIGN_UP(k + 12 + nsz, 8) != desc)
            return 0;
        if (next < len && ALIGN_UP(desc + dsz, 8) != next)
            return 0;
        k = next;
    }
    return 1;
}

/* With the block found (find_block, n entries wanted with grow more than
 * the input's, an obstacle at obstacle), could its PT_NOTEs become one,
 * freeing the entries of all but one? That PT_NOTE gets p_align 8 and
 * covers the notes re-laid end to end, each section 8-aligned, in their
 * order; a 4-aligned note section may join it only if its notes read the
 * same either way (notes_read_alike: the GNU notes, whose name "GNU" takes 4
 * bytes, do). The other moved sections follow, each at its alignment. Every
 * other program header in the block must cover exactly one section. Sets
 * merge, mv_new, mv_size, merged_size, nmerged, new_phnum; 0 if it can. */
static int merge_plan(struct lw *w, size_t grow, uint64_t obstacle)
{
    size_t k = 0;
    for (size_t i = 0; i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type != PT_NOTE || !phdr_moves(w, p))
            continue;
        if (p->p_memsz != p->p_filesz || (p->p_align != 4 && p->p_align != 8))
            return -1;
        k++;
    }
    if (k < 2 || w->phnum + grow < k)
        return -1;
    size_t n = w->phnum + grow - (k - 1);
    if (n == 0 || w->eh.e_phoff + n * sizeof(Elf64_Phdr) > obstacle)
        return -1;
    free(w->mv_new);
    w->mv_new = malloc(w->shnum * sizeof *w->mv_new);
    uint8_t *role = calloc(w->shnum, 1); /* 1: in a merged note, 2: another moved section */
    size_t *order = malloc(w->shnum * sizeof *order);
    int ok = w->mv_new && role && order;
    size_t m = 0;
    /* moved sections by offset */
    for (size_t i = 1; ok && i < w->shnum; i++) {
        w->mv_new[i] = UINT64_MAX;
        if (!is_moved(w, i))
            continue;
        size_t j = m++;
        while (j > 0 && w->sh[order[j - 1]].sh_offset > w->sh[i].sh_offset) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    /* each merged PT_NOTE: note sections, end to end (up to its padding) */
    for (size_t i = 0; ok && i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type != PT_NOTE || !phdr_moves(w, p))
            continue;
        uint64_t cur = p->p_offset, end = p->p_offset + p->p_filesz;
        for (size_t t = 0; ok && t < m; t++) {
            const Elf64_Shdr *s = &w->sh[order[t]];
            if (s->sh_offset < p->p_offset || s->sh_offset >= end)
                continue;
            ok = role[order[t]] == 0 && s->sh_type == SHT_NOTE && s->sh_addralign <= 8 &&
                 s->sh_size <= end - s->sh_offset &&
                 (s->sh_offset == cur || s->sh_offset == ALIGN_UP(cur, p->p_align)) &&
                 notes_read_alike(w->in + s->sh_offset, s->sh_size, p->p_align);
            role[order[t]] = 1;
            cur = s->sh_offset + s->sh_size;
        }
        ok = ok && cur == end && cur != p->p_offset;
    }
    /* every other program header in the block: exactly one section */
    for (size_t i = 0; ok && i < w->phnum; i++) {
        const Elf64_Phdr *p = &w->ph[i];
        if (p->p_type == PT_NOTE || !phdr_moves(w, p))
            continue;
        int one = 0;
        for (size_t t = 0; t < m; t++)
            one |= w->sh[order[t]].sh_offset == p->p_offset && w->sh[order[t]].sh_size == p->p_filesz;
        ok = one && p->p_memsz == p->p_filesz;
    }
    /* the layout: merged notes first, then the others */
    uint64_t cur = 0;
    for (size_t t = 0; ok && t < m; t++)
        if (role[order[t]] == 1) {
            cur = ALIGN_UP(cur, 8);
            w->mv_new[order[t]] = cur;
            cur += w->sh[order[t]].sh_size;
        }
    w->merged_size = cur;
    for (size_t t = 0; ok && t < m; t++) {
        const Elf64_Shdr *s = &w->sh[order[t]];
        uint64_t al = s->sh_addralign ? s->sh_addralign : 1;
        if (role[order[t]] == 1)
            continue;
        if (al > 16 || (al & (al - 1))) {
            ok = 0;
            break;
        }
        cur = ALIGN_UP(cur, al);
        w->mv_new[order[t]] = cur;
        cur += s->sh_size;
    }
    free(role);
    free(order);
    if (!ok || !w->merged_size) {
        free(w->mv_new);
        w->mv_new = NULL;
        return -1;
    }
    w->mv_size = cur;
    w->merge = 1;
    w->nmerged = k;
    w->new_phnum = n;
    return 0;
}

/* The free bytes after PT_LOAD i, where extend mode puts the stubs: none
 * unless it is executable and wholly in the file. Free means that no
 * segment, section, or header table starts or lies there, in the file or
 * in memory, up to the page (largest PT_LOAD alignment) of the next
 * segment and the first thing in the file after it. Sets *off and *va (the
 * first 16-aligned address past the segment) and returns the number. */
static int clip(uint64_t end, uint64_t start, uint64_t len, uint64_t *lim)
{
    if (len == 0 || (start < end && len <= end - start))
        return 0;              /* empty, or wholly before end */
    if (start < end)
        return -1;             /* lies across end: nothing is free */
    if (start < *lim)
        *lim = start;
    return 0;
}

static uint64_t slack_after(const struct lw *w, size_t i, uint64_t *off, uint64_t *va)
{
    const Elf64_Phdr *l = &w->ph[i];
    if (l->p_type != PT_LOAD || !(l->p_flags & PF_X) || l->p_filesz == 0 ||
        l->p_filesz != l->p_memsz || l->p_vaddr > UINT64_MAX - 32 - l->p_memsz)
        return 0;
    uint64_t end_off = l->p_offset + l->p_filesz; /* in the file (load_headers) */
    uint64_t end_va = l->p_vaddr + l->p_memsz;
    *va = ALIGN_UP(end_va, 16);
    *off = end_off + (*va - end_va);
    uint64_t flim = w->insz, vlim = UINT64_MAX;
    int bad = clip(end_off, 0, sizeof(Elf64_Ehdr), &flim) ||
              clip(end_off, w->eh.e_phoff, (w->phnum + 2) * sizeof(Elf64_Phdr), &flim) ||
              clip(end_off, w->eh.e_shoff, w->shnum * sizeof(Elf64_Shdr), &flim);
    for (size_t j = 0; !bad && j < w->phnum; j++) {
        const Elf64_Phdr *p = &w->ph[j];
        if (j == i)
            continue;
        bad = clip(end_off, p->p_offset, p->p_filesz, &flim);
        if (!p->p_memsz || bad)
            continue;
        uint64_t start = p->p_vaddr, len = p->p_memsz;
        if (p->p_type == PT_LOAD) { /* its first page */
            start = p->p_vaddr & ~(w->align - 1);
            if (len > UINT64_MAX - (p->p_vaddr - start))
                return 0;
            len += p->p_vaddr - start;
        }
        bad = len > UINT64_MAX - start || clip(end_va, start, len, &vlim);
    }
    for (size_t j = 1; !bad && j < w->shnum; j++) {
        const Elf64_Shdr *s = &w->sh[j];
        if (s->sh_type == SHT_NULL)
            continue;
        if (s->sh_type != SHT_NOBITS)
            bad = clip(end_off, s->sh_offset, s->sh_size, &flim);
        if (!bad && (s->sh_flags & SHF_ALLOC))
            bad = s->sh_size > UINT64_MAX - s->sh_addr || clip(end_va, s->sh_addr, s->sh_size, &vlim);
    }
    if (bad || flim < *off || vlim < *va)
        return 0;
    return flim - *off < vlim - *va ? flim - *off : vlim - *va;
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
    rw_sort_stable(e, n, sizeof *e, by_loc); /* two sorted runs: one merge */
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

/* Patch one site in the output with the bytes rewriter/patch.c gives
 * (the return address is unchanged). */
static enum rw_err patch_site(struct lw *w, uint8_t *out, const struct rw_site *s, uint64_t text_va)
{
    const struct rw_section *sec = &w->img->sec[s->section];
    if (sec->id >= w->shnum)
        return rw_fail(w->d, RW_E_INTERNAL, "site in unknown section");
    uint64_t foff = w->sh[sec->id].sh_offset + s->offset;
    if (!in_file(w, foff, s->length) || memcmp(w->in + foff, s->orig, s->length))
        return rw_fail(w->d, RW_E_INTERNAL, "site 0x%llx: bytes differ from the scan",
                       (unsigned long long)s->addr);
    uint8_t bytes[RW_SITE_MAX_BYTES];
    enum rw_err e = rw_site_patch(w->img->machine, s, rw_site_target(w->plan, s, text_va), bytes, w->d);
    if (e)
        return e;
    memcpy(out + foff, bytes, s->length);
    return RW_OK;
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

/* Sections added: the stubs, the map, the stubs' FDEs, .eh_frame_hdr when
 * the input had none (a -static link), and then one .callirw.veneer per
 * cave that holds range-extension veneers. */
static const char *const new_names[] = {".callirw.text", ".callirw.map", ".callirw.eh_frame",
                                        ".eh_frame_hdr", ".callirw.veneer"};
#define NNEW_MAX 4
#define NNAMES 5

/* Where a new segment goes: file offset at the end of the input
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

/* Where the stubs and tables go, decided from the headers alone, so that
 * rw_elf_code_va and the writer agree whatever the plan (docs/elf.md):
 *  1. a new PT_LOAD, the table growing by it (and by a PT_GNU_EH_FRAME if
 *     the input has none) once .interp, notes and hash tables have moved;
 *  2. the same with the PT_NOTEs of the moved block merged into one, when
 *     that frees enough entries (x86-64 -static: two PT_NOTEs, 104 bytes
 *     before .rela.plt, which cannot move);
 *  3. no new PT_LOAD: the free bytes after the executable PT_LOAD that has
 *     the most of them, which grows; the table grows only by the
 *     PT_GNU_EH_FRAME (arm64 -static: one PT_NOTE, 72 bytes);
 *  4. the same with the PT_NOTEs merged.
 * In mode 3 and 4 the room is limited; the writer fails if the plan needs
 * more. The plan always has a stub (the writer runs only then), so the
 * PT_GNU_EH_FRAME is always added when missing. */
static enum rw_err decide_layout(struct lw *w)
{
    enum rw_err e = place_segment(w);
    if (e)
        return e;
    char why[200] = "", other[200];
    for (int extend = 0; extend < 2; extend++) {
        size_t grow = (size_t)w->add_eh_phdr + (extend ? 0 : 1);
        if (extend) {
            uint64_t best = 0, off = 0, va = 0;
            for (size_t i = 0; i < w->phnum; i++) {
                uint64_t o, v, r = slack_after(w, i, &o, &v);
                if (r > best) {
                    best = r, off = o, va = v;
                    w->ext_load = i;
                }
            }
            if (!best)
                break;
            w->extend = 1;
            w->room = best;
            w->seg_off = off;
            w->seg_va = va;
        }
        uint64_t obstacle;
        int r = find_block(w, w->phnum + grow, &obstacle, extend ? other : why,
                           extend ? sizeof other : sizeof why);
        if (r == 0) {
            w->new_phnum = w->phnum + grow;
            return RW_OK;
        }
        if (r > 0 && merge_plan(w, grow, obstacle) == 0)
            return RW_OK;
    }
    w->mv_start = w->mv_end = 0;
    return rw_fail(w->d, RW_E_NOROOM,
                   "no room to grow the program header table: %s; and no executable segment "
                   "has free bytes after it; the file is left as it is", why);
}

static void lw_free(struct lw *w)
{
    free(w->map);
    free(w->fde_off);
    free(w->mv_new);
    free(w->ph);
    free(w->sh);
    rw_buf_free(&w->ehf);
    rw_buf_free(&w->hdr);
}

/* The writer's state for img (plan NULL when only asking where things go). */
static struct lw lw_init(const struct rw_image *img, const struct rw_plan *plan,
                         struct rw_diag *d)
{
    struct lw w = {0};
    w.img = img;
    w.plan = plan;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    return w;
}

enum rw_err rw_elf_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    *va = RW_NO_ADDRESS;
    if (img->kind == RW_KIND_OBJECT)
        return RW_OK; /* the linker places the stubs */
    struct lw w = lw_init(img, NULL, d);
    enum rw_err e = load_headers(&w);
    if (!e)
        e = decide_layout(&w);
    if (!e)
        *va = w.seg_va; /* the stubs are the first bytes, in either mode */
    lw_free(&w);
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
    struct lw w = lw_init(img, NULL, d);
    struct elf_cave *c = NULL;
    size_t nc = 0;
    enum rw_err e = load_headers(&w);
    if (!e)
        e = decide_layout(&w);
    if (!e && !w.extend) { /* extend: the stubs themselves take those bytes */
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
    lw_free(&w);
    return e;
}

enum rw_err rw_elf_write_linked(const struct rw_image *img, const struct rw_plan *plan,
                                struct rw_buf *out, struct rw_diag *d)
{
    struct lw w = lw_init(img, plan, d);
    enum rw_err e;
    int64_t *shift = NULL;
    struct elf_veneer_sec *vsec = NULL;
    size_t nvsec = 0;

    if ((e = load_headers(&w)))
        goto done;
    if ((e = decide_layout(&w)))
        goto done;
    w.old_hdr = find_section(&w, ".eh_frame_hdr");
    if ((e = parse_old_hdr(&w)))
        goto done;

    /* The stubs come first, at seg_va (rw_elf_code_va); then the moved
     * sections, keeping every alignment up to 16. */
    w.text_at = 0;
    if (w.merge) {
        w.mv_at = ALIGN_UP(plan->text_size, 16);
    } else {
        w.mv_at = ALIGN_UP(plan->text_size, 16) + (w.mv_end ? w.mv_start % 16 : 0);
        w.mv_size = w.mv_end - w.mv_start;
    }
    w.map_at = ALIGN_UP(w.mv_at + w.mv_size, 8);
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
    if (w.extend && w.seg_size > w.room) {
        e = rw_fail(d, RW_E_NOROOM,
                    "no room for a new segment, and the stubs and their tables need %llu bytes "
                    "after the executable segment at 0x%llx, where %llu are free; the file is "
                    "left as it is",
                    (unsigned long long)w.seg_size, (unsigned long long)w.seg_va,
                    (unsigned long long)w.room);
        goto done;
    }
    uint64_t text_va = w.seg_va + w.text_at, hdr_va = w.seg_va + w.hdr_at;
    if (plan->text_va != RW_NO_ADDRESS && plan->text_va != text_va) {
        e = rw_fail(d, RW_E_INTERNAL, "the stubs were planned at 0x%llx, written at 0x%llx",
                    (unsigned long long)plan->text_va, (unsigned long long)text_va);
        goto done;
    }
    /* The veneers' caves: one section each (counted now, written below). */
    struct elf_hdrs hdrs = hdrs_of(&w);
    if ((e = elf_put_veneers(&hdrs, plan, NULL, 0, NULL, 0, &vsec, &nvsec, d)))
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
    size_t nnew = w.old_hdr >= 0 ? NNEW_MAX - 1 : NNEW_MAX;
    const Elf64_Shdr *oldstr = &w.sh[w.eh.e_shstrndx];
    uint64_t names_size = oldstr->sh_size;
    uint32_t name_off[NNAMES] = {0};
    int name_used[NNAMES] = {0};
    for (size_t i = 0; i < NNAMES; i++) {
        if ((i >= nnew && i < NNEW_MAX) || (i == NNEW_MAX && !nvsec))
            continue; /* a name no section added uses */
        name_used[i] = 1;
        name_off[i] = (uint32_t)names_size;
        names_size += strlen(new_names[i]) + 1;
    }
    uint64_t str_off = w.extend ? ALIGN_UP(w.insz, 8) : w.seg_off + w.seg_size;
    uint64_t sh_off = ALIGN_UP(str_off + names_size, 8);
    size_t new_shnum = w.shnum + nnew + nvsec;
    if (new_shnum >= SHN_LORESERVE) {
        e = rw_fail(d, RW_E_NOROOM, "too many sections to add more");
        goto done;
    }
    uint64_t total = sh_off + new_shnum * sizeof(Elf64_Shdr);
    if (rw_buf_reserve(out, total)) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    if (total < w.insz) { /* the output keeps every input byte in place */
        e = rw_fail(d, RW_E_INTERNAL, "output smaller than the input");
        goto done;
    }
    uint8_t *o = out->data;
    rw_copy_input(img, o, w.in, w.insz); /* first: it may map the file's pages at o */
    memset(o + w.insz, 0, total - w.insz);

    /* Sites. */
    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict == RW_SITE_OK && (e = patch_site(&w, o, s, text_va)))
            goto done;
    }

    /* The new segment's (or the extension's) contents. */
    uint8_t *seg = o + w.seg_off;
    if (w.extend)
        memset(seg, 0, w.seg_size); /* free bytes (slack_after), inside the input */
    if (w.merge) {
        for (size_t i = 1; i < w.shnum; i++)
            if (is_moved(&w, i))
                memcpy(o + w.seg_off + moved_at(&w, i), w.in + w.sh[i].sh_offset, w.sh[i].sh_size);
    } else if (w.mv_end) {
        memcpy(seg + w.mv_at, w.in + w.mv_start, w.mv_end - w.mv_start);
    }
    memcpy(seg + w.map_at, w.map, w.map_len);
    memcpy(seg + w.ehf_at, w.ehf.data, w.ehf.len);
    memcpy(seg + w.hdr_at, w.hdr.data, w.hdr.len);
    for (size_t i = 0; i < plan->nstubs; i++)
        memcpy(seg + w.text_at + plan->stubs[i].offset, plan->stubs[i].code.bytes,
               plan->stubs[i].code.len);

    /* Program headers, in place: moved ones follow their sections (merged
     * PT_NOTEs become the first one's); the new PT_LOAD after the last
     * PT_LOAD, or the extended one grown; PT_GNU_EH_FRAME at the new
     * header. */
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
    if (w.mv_end && (e = move_dynamic(&w, o, mv_va_base, mv_va_shift))) {
        free(np);
        goto done;
    }
    int merged_done = 0;
    for (size_t i = 0; i < w.phnum && k < w.new_phnum; i++) {
        Elf64_Phdr p = w.ph[i];
        if (p.p_type == PT_PHDR) {
            p.p_filesz = p.p_memsz = w.new_phnum * sizeof(Elf64_Phdr);
        } else if (p.p_type == PT_GNU_EH_FRAME) {
            p.p_offset = w.seg_off + w.hdr_at;
            p.p_vaddr = p.p_paddr = hdr_va;
            p.p_filesz = p.p_memsz = w.hdr_size;
        } else if (w.merge && p.p_type == PT_NOTE && phdr_moves(&w, &p)) {
            if (merged_done++)
                continue; /* merged into the first */
            p.p_offset = w.seg_off + w.mv_at;
            p.p_vaddr = p.p_paddr = w.seg_va + w.mv_at;
            p.p_filesz = p.p_memsz = w.merged_size;
            p.p_align = 8;
        } else if (w.merge && phdr_moves(&w, &p)) {
            for (size_t j = 1; j < w.shnum; j++) /* its one section (merge_plan) */
                if (is_moved(&w, j) && w.sh[j].sh_offset == p.p_offset) {
                    p.p_offset = w.seg_off + moved_at(&w, j);
                    p.p_vaddr = p.p_paddr = w.seg_va + moved_at(&w, j);
                    break;
                }
        } else if (phdr_moves(&w, &p)) {
            p.p_offset += (uint64_t)mv_off_shift;
            p.p_vaddr += (uint64_t)mv_va_shift;
            p.p_paddr += (uint64_t)mv_va_shift;
        } else if (w.extend && i == w.ext_load) {
            p.p_filesz = p.p_memsz = w.seg_off + w.seg_size - p.p_offset;
        }
        np[k++] = p;
        if (!w.extend && i == last_load && k < w.new_phnum)
            np[k++] = (Elf64_Phdr){PT_LOAD, PF_R | PF_X, w.seg_off, w.seg_va, w.seg_va,
                                   w.seg_size, w.seg_size, w.align};
    }
    if (w.add_eh_phdr && k < w.new_phnum)
        np[k++] = (Elf64_Phdr){PT_GNU_EH_FRAME, PF_R, w.seg_off + w.hdr_at, hdr_va, hdr_va,
                               w.hdr_size, w.hdr_size, 4};
    if (k != w.new_phnum || (w.merge && merged_done != (int)w.nmerged)) {
        free(np);
        e = rw_fail(d, RW_E_INTERNAL, "program header count");
        goto done;
    }
    {
        struct elf_veneer_sec *vs2 = NULL;
        size_t nvs2 = 0;
        e = elf_put_veneers(&hdrs, plan, o, total, np, k, &vs2, &nvs2, d);
        free(vs2);
        if (!e && nvs2 != nvsec)
            e = rw_fail(d, RW_E_INTERNAL, "veneer sections changed between passes");
        if (e) {
            free(np);
            goto done;
        }
    }
    memcpy(o + w.eh.e_phoff, np, k * sizeof *np);
    if (w.new_phnum < w.phnum) /* merging shrank the table: no stale entries */
        memset(o + w.eh.e_phoff + k * sizeof *np, 0, (w.phnum - k) * sizeof *np);
    free(np);

    /* Section headers: moved sections re-pointed, .shstrtab grown, ours added. */
    memcpy(o + str_off, w.in + oldstr->sh_offset, oldstr->sh_size);
    for (size_t i = 0; i < NNAMES; i++)
        if (name_used[i])
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
        if (!is_moved(&w, i))
            continue;
        uint64_t addr = w.merge ? w.seg_va + moved_at(&w, i) : s->sh_addr + (uint64_t)mv_va_shift;
        shift[i] = (int64_t)(addr - s->sh_addr);
        s->sh_offset = w.seg_off + moved_at(&w, i);
        s->sh_addr = addr;
    }
    ns[w.eh.e_shstrndx].sh_offset = str_off;
    ns[w.eh.e_shstrndx].sh_size = names_size;
    if (w.old_hdr >= 0) {
        shift[w.old_hdr] = (int64_t)hdr_va - (int64_t)ns[w.old_hdr].sh_addr;
        ns[w.old_hdr].sh_offset = w.seg_off + w.hdr_at;
        ns[w.old_hdr].sh_addr = hdr_va;
        ns[w.old_hdr].sh_size = w.hdr_size;
    } else {
        ns[w.shnum + 3] = (Elf64_Shdr){name_off[3], SHT_PROGBITS, SHF_ALLOC, hdr_va,
                                       w.seg_off + w.hdr_at, w.hdr_size, 0, 0, 4, 0};
    }
    ns[w.shnum] = (Elf64_Shdr){name_off[0], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_va,
                               w.seg_off + w.text_at, plan->text_size, 0, 0, STUB_ALIGN, 0};
    ns[w.shnum + 1] = (Elf64_Shdr){name_off[1], SHT_PROGBITS, SHF_ALLOC, w.seg_va + w.map_at,
                                   w.seg_off + w.map_at, w.map_len, 0, 0, 8, 0};
    ns[w.shnum + 2] = (Elf64_Shdr){name_off[2], SHT_PROGBITS, SHF_ALLOC, w.seg_va + w.ehf_at,
                                   w.seg_off + w.ehf_at, w.ehf.len, 0, 0, 8, 0};
    for (size_t i = 0; i < nvsec; i++)
        ns[w.shnum + nnew + i] = (Elf64_Shdr){name_off[4], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
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
    lw_free(&w);
    return e;
}

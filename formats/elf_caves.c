/* elf_caves.c - free bytes after the end of an executable PT_LOAD that a
 * linked image can grow into (format.h code_caves), for arm64
 * range-extension veneers.
 *
 * A cave starts at the segment's end (rounded up to 16) and stops at the
 * first of:
 *  - the largest PT_LOAD alignment boundary after the end (A: pages beyond
 *    it would be new mappings), and A-rounded-down start of any PT_LOAD
 *    above (the runtime page size may be any power of two up to A, so the
 *    grown segment must not reach a page another segment maps);
 *  - any other program header's range, in memory or in the file;
 *  - any section, in memory or in the file, and the header tables;
 *  - the end of the file, and the first non-zero byte.
 * Growing p_filesz/p_memsz over such bytes maps nothing new that another
 * segment maps and overwrites nothing anything refers to. Only segments
 * whose p_filesz equals p_memsz qualify (no .bss after the code).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_caves.h"

#define ALIGN_UP(v, a) (((v) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(v, a) ((v) & ~((uint64_t)(a) - 1))

/* Shrink [start, *lim) so that it ends before [lo, hi) if they overlap. */
static void cut(uint64_t start, uint64_t *lim, uint64_t lo, uint64_t hi)
{
    if (hi <= lo || hi <= start || lo >= *lim)
        return;
    *lim = lo > start ? lo : start;
}

static uint64_t max_load_align(const struct elf_hdrs *h)
{
    uint64_t a = 0x1000;
    for (size_t i = 0; i < h->phnum; i++)
        if (h->ph[i].p_type == PT_LOAD && h->ph[i].p_align > a)
            a = h->ph[i].p_align;
    return (a & (a - 1)) || a > (UINT64_C(1) << 24) ? 0 : a;
}

/* The cave after segment i, or size 0. */
static struct elf_cave cave_after(const struct elf_hdrs *h, size_t i, uint64_t A)
{
    struct elf_cave c = {0};
    const Elf64_Phdr *L = &h->ph[i];
    if (L->p_type != PT_LOAD || !(L->p_flags & PF_X) || L->p_filesz != L->p_memsz ||
        L->p_filesz == 0)
        return c;
    uint64_t end_va = L->p_vaddr + L->p_memsz, end_off = L->p_offset + L->p_filesz;
    if (end_va < L->p_vaddr || end_off < L->p_offset || end_off > h->insz ||
        L->p_vaddr % A != L->p_offset % A || end_va > UINT64_MAX - 2 * A)
        return c;
    uint64_t va = ALIGN_UP(end_va, 16), off = end_off + (va - end_va);
    uint64_t lim_va = ALIGN_UP(end_va, A);
    if (lim_va <= va)
        return c;
    uint64_t lim_off = off + (lim_va - va);
    if (lim_off < off)
        return c;

    for (size_t k = 0; k < h->phnum; k++) {
        const Elf64_Phdr *M = &h->ph[k];
        if (k == i)
            continue;
        uint64_t m_end = M->p_vaddr + M->p_memsz, f_end = M->p_offset + M->p_filesz;
        if (m_end < M->p_vaddr || f_end < M->p_offset)
            return c; /* wraps: trust nothing */
        if (M->p_type == PT_LOAD) {
            /* a segment overlapping ours in memory: no cave */
            if (M->p_memsz && M->p_vaddr < end_va && m_end > L->p_vaddr)
                return c;
            if (M->p_vaddr >= end_va)
                cut(va, &lim_va, ALIGN_DOWN(M->p_vaddr, A), UINT64_MAX);
        } else if (M->p_memsz) {
            cut(va, &lim_va, M->p_vaddr, m_end);
        }
        if (M->p_filesz)
            cut(off, &lim_off, M->p_offset, f_end);
    }
    for (size_t k = 1; k < h->shnum; k++) {
        const Elf64_Shdr *S = &h->sh[k];
        uint64_t sz = S->sh_size;
        if (S->sh_flags & SHF_ALLOC) {
            if (S->sh_addr + sz < S->sh_addr)
                return c;
            cut(va, &lim_va, S->sh_addr, S->sh_addr + (sz ? sz : 1));
        }
        if (S->sh_type != SHT_NOBITS && S->sh_type != SHT_NULL) {
            if (S->sh_offset + sz < S->sh_offset)
                return c;
            cut(off, &lim_off, S->sh_offset, S->sh_offset + (sz ? sz : 1));
        }
    }
    cut(off, &lim_off, h->eh.e_phoff, h->eh.e_phoff + (uint64_t)h->phnum * sizeof(Elf64_Phdr));
    cut(off, &lim_off, h->eh.e_shoff, h->eh.e_shoff + (uint64_t)h->shnum * sizeof(Elf64_Shdr));
    if (lim_off > h->insz)
        lim_off = h->insz;
    if (lim_off <= off || lim_va <= va)
        return c;
    uint64_t size = lim_va - va < lim_off - off ? lim_va - va : lim_off - off;
    for (uint64_t n = 0; n < size; n++)
        if (h->in[off + n]) {
            size = n;
            break;
        }
    size &= ~(uint64_t)3;
    if (size < 16)
        return c;
    c.va = va;
    c.off = off;
    c.size = size;
    c.seg = i;
    return c;
}

enum rw_err elf_find_caves(const struct elf_hdrs *h, struct elf_cave **out, size_t *n,
                           struct rw_diag *d)
{
    *out = NULL;
    *n = 0;
    uint64_t A = max_load_align(h);
    if (!A)
        return RW_OK;
    struct elf_cave *c = calloc(h->phnum, sizeof *c);
    if (!c)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < h->phnum; i++) {
        struct elf_cave k = cave_after(h, i, A);
        if (k.size)
            c[(*n)++] = k;
    }
    /* sort by address (few segments: insertion sort) */
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && c[j - 1].va > c[j].va; j--) {
            struct elf_cave t = c[j];
            c[j] = c[j - 1];
            c[j - 1] = t;
        }
    *out = c;
    return RW_OK;
}

enum rw_err elf_put_veneers(const struct elf_hdrs *h, const struct rw_plan *plan, uint8_t *out,
                            size_t outlen, Elf64_Phdr *np, size_t npn,
                            struct elf_veneer_sec **secs, size_t *nsecs, struct rw_diag *d)
{
    *secs = NULL;
    *nsecs = 0;
    if (!plan->nveneers)
        return RW_OK;
    struct elf_cave *c;
    size_t nc;
    enum rw_err e = elf_find_caves(h, &c, &nc, d);
    if (e)
        return e;
    struct elf_veneer_sec *vs = calloc(nc ? nc : 1, sizeof *vs);
    if (!vs) {
        free(c);
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    size_t nvs = 0;
    for (size_t v = 0; v < plan->nveneers && !e; v++) {
        const struct rw_veneer *vn = &plan->veneers[v];
        size_t k = 0;
        while (k < nc && !(vn->va >= c[k].va && vn->va - c[k].va <= c[k].size &&
                           c[k].size - (vn->va - c[k].va) >= STUB_VENEER_BYTES))
            k++;
        if (k == nc) {
            e = rw_fail(d, RW_E_INTERNAL, "veneer 0x%llx lies in no cave",
                        (unsigned long long)vn->va);
            break;
        }
        uint64_t off = c[k].off + (vn->va - c[k].va);
        size_t s = 0;
        while (s < nvs && vs[s].seg != c[k].seg)
            s++;
        if (s == nvs)
            vs[nvs++] = (struct elf_veneer_sec){c[k].seg, vn->va, off, 0};
        vs[s].size = vn->va + STUB_VENEER_BYTES - vs[s].va;
        if (!out)
            continue; /* counting only */
        if (off > outlen || outlen - off < STUB_VENEER_BYTES) {
            e = rw_fail(d, RW_E_INTERNAL, "veneer 0x%llx outside the output",
                        (unsigned long long)vn->va);
            break;
        }
        memcpy(out + off, vn->code, STUB_VENEER_BYTES);
        /* the segment grows over it; one section per cave covers them all */
        const Elf64_Phdr *in = &h->ph[c[k].seg];
        size_t j = 0;
        while (j < npn && !(np[j].p_type == PT_LOAD && np[j].p_vaddr == in->p_vaddr &&
                            np[j].p_offset == in->p_offset))
            j++;
        if (j == npn) {
            e = rw_fail(d, RW_E_INTERNAL, "the segment of veneer 0x%llx is gone",
                        (unsigned long long)vn->va);
            break;
        }
        Elf64_Phdr *L = &np[j];
        uint64_t end = vn->va + STUB_VENEER_BYTES - L->p_vaddr;
        if (end > L->p_memsz)
            L->p_memsz = L->p_filesz = end;
    }
    free(c);
    if (e) {
        free(vs);
        return e;
    }
    *secs = vs;
    *nsecs = nvs;
    return RW_OK;
}

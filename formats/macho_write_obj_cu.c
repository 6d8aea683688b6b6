/* macho_write_obj_cu.c - the stubs' __LD,__compact_unwind entries
 * (macho_write_obj.h; docs/macho-objects.md).
 *
 * Every stub gets an entry when the object has the section or a stub keeps
 * a frame: a stub without an entry would be described by whatever precedes
 * it in the linked __unwind_info. An existing section grows, so it moves to
 * the end of the address space (mo_renumber refuses a relocation that
 * refers into it). Each entry's function start is 0 plus the stub's symbol
 * (an extern UNSIGNED relocation, named once the symbols are numbered). */
#include "macho_write_obj.h"

/* Compact unwind encoding of a stub: stub_compact_unwind derives it from the
 * stub's own unwind description (docs/stubs.md section 10); 0 (no unwind
 * information) for a frame the encoding cannot say exactly. */
static uint32_t cu_encoding(const struct stub_code *c)
{
    uint32_t enc;
    return stub_compact_unwind(c, &enc, NULL) == STUB_OK ? enc : 0;
}

enum rw_err mo_cu_add(struct mo *w)
{
    enum rw_err e = RW_OK;
    const struct rw_plan *p = w->plan;
    int framed = 0;
    for (size_t i = 0; i < p->nstubs; i++)
        framed |= p->stubs[i].code.has_frame;
    if (!p->nstubs || (!framed && w->cu == UINT32_MAX))
        return RW_OK;
    if (w->cu == UINT32_MAX) {
        if ((e = mo_add_sec(w, "__LD", "__compact_unwind", 3, MACHO_S_ATTR_DEBUG, &w->cu)))
            return e;
    } else {
        w->cu_moved = 1;
        w->cu_old_addr = w->sec[w->cu].addr;
    }
    struct mo_sec *o = &w->sec[w->cu];
    uint64_t base = o->src_size;
    for (size_t i = 0; i < p->nstubs; i++) {
        uint8_t ent[MACHO_COMPACT_UNWIND_ENTRY_SIZE] = {0};
        /* function start: 0 + the stub symbol (an extern UNSIGNED) */
        macho_put32(ent + 8, (uint32_t)p->stubs[i].code.len);
        macho_put32(ent + 12, cu_encoding(&p->stubs[i].code));
        uint64_t at = base + o->extra.len;
        if (at > UINT32_MAX - MACHO_COMPACT_UNWIND_ENTRY_SIZE)
            return rw_fail(w->d, RW_E_NOROOM, "__LD,__compact_unwind too large");
        if (rw_buf_append(&o->extra, ent, sizeof ent) ||
            (e = mo_rtab_push(w, &o->rel, (uint32_t)at,
                              /* X86_64_ and ARM64_RELOC_UNSIGNED are both 0 */
                              MO_R_WORD1(0, 0, 3, 1, MACHO_ARM64_RELOC_UNSIGNED))))
            return e ? e : mo_oom(w);
    }
    return RW_OK;
}

void mo_cu_move_symbols(struct mo *w)
{
    if (!w->cu_moved)
        return;
    for (uint32_t i = 0; i < w->nsyms_new; i++) {
        uint8_t *nl = w->syms + (size_t)i * MACHO_NLIST_SIZE;
        int sect = (nl[4] & MACHO_N_STAB) || (nl[4] & MACHO_N_TYPE) == MACHO_N_SECT;
        if (sect && nl[5] == w->cu + 1)
            macho_put64(nl + 8, macho_u64(nl + 8) - w->cu_old_addr + w->sec[w->cu].addr);
    }
}

/* The entries' relocations are the table's last nstubs. */
void mo_cu_name_symbols(struct mo *w)
{
    if (w->cu == UINT32_MAX)
        return;
    struct mo_rtab *t = &w->sec[w->cu].rel;
    size_t first = t->n - w->plan->nstubs;
    for (size_t i = 0; i < w->plan->nstubs; i++) {
        uint8_t *r = t->e + (first + i) * MACHO_RELOC_SIZE;
        macho_put32(r + 4, macho_u32(r + 4) | w->stub_sym[i]);
    }
}

/* macho_write_obj.c - rewriting MH_OBJECT files, x86-64 and arm64
 * (docs/macho-objects.md): the driver, the layout and the output bytes. The
 * steps live in macho_write_obj_sec.c (sections), _sym.c (symbols), _rel.c
 * (sites, relocations, optimisation hints) and _cu.c (compact unwind); the
 * state they share is in macho_write_obj.h.
 *
 * The whole object is laid out again: header, load commands (the one
 * LC_SEGMENT_64 grows by the new section headers, every other command is
 * kept with its file offsets updated), section contents (sites patched),
 * relocation tables, linkedit blobs (data in code, optimisation hints),
 * indirect symbols, symbols and strings. Existing sections keep their
 * ordinals and addresses, so n_sect, n_value, non-extern relocations and the
 * addends x86-64 keeps in instruction fields all stay valid; the new
 * sections get addresses after the last existing one. The one exception is
 * an existing __LD,__compact_unwind that receives the stubs' entries: it
 * grows, so it moves to the end of the address space (nothing refers into
 * it; that is checked).
 *
 * New sections: the stubs in __TEXT,__callirw (one section for all stubs
 * when the object has MH_SUBSECTIONS_VIA_SYMBOLS, else one such section per
 * stub: without subsections a linker coalesces a weak definition by
 * dropping its whole section); the stubs' compact unwind entries; the
 * rewrite map in __DWARF,__callirw_map (S_ATTR_DEBUG: linkers drop it, so
 * it never reaches a linked image). New symbols: one per stub
 * (macho_write_obj_sym.c).
 */
#include <stdlib.h>
#include <string.h>

#include "macho_write_obj.h"
#include "map.h"

#define LC_NOTE 0x31u

/* The output's file layout (emit). */
struct mo_layout {
    uint64_t sizeofcmds;
    uint64_t seg_first, seg_end; /* the segment's file range */
    uint64_t dic_off, loh_off, ind_off, sym_off, str_off;
    uint64_t size;
};

enum rw_err mo_oom(struct mo *w)
{
    return rw_fail(w->d, RW_E_NOMEM, "out of memory");
}

int mo_in_file(const struct mo *w, uint64_t off, uint64_t len)
{
    return off <= w->insz && len <= w->insz - off;
}

/* Commands this writer keeps verbatim or understands; anything else that
 * holds a file offset is refused. */
static enum rw_err check_commands(struct mo *w, uint32_t *seg_lc)
{
    struct macho_state *st = w->st;
    *seg_lc = UINT32_MAX;
    for (size_t i = 0; i < st->nlc; i++) {
        uint32_t c = st->lc[i].cmd;
        switch (c) {
        case MACHO_LC_SEGMENT_64:
            if (*seg_lc != UINT32_MAX)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "object with several segment commands");
            *seg_lc = (uint32_t)i;
            break;
        case MACHO_LC_SYMTAB:
        case MACHO_LC_DYSYMTAB:
        case MACHO_LC_DATA_IN_CODE:
        case MACHO_LC_LINKER_OPTIMIZATION_HINT:
            break;
        case MACHO_LC_CODE_SIGNATURE:
        case MACHO_LC_SEGMENT_SPLIT_INFO:
        case MACHO_LC_FUNCTION_STARTS:
        case MACHO_LC_DYLIB_CODE_SIGN_DRS:
        case MACHO_LC_DYLD_INFO:
        case MACHO_LC_DYLD_INFO_ONLY:
        case MACHO_LC_DYLD_EXPORTS_TRIE:
        case MACHO_LC_DYLD_CHAINED_FIXUPS:
        case LC_NOTE:
        case 0x1u:  /* LC_SEGMENT (32-bit) */
        case 0x3u:  /* LC_SYMSEG */
        case 0x16u: /* LC_TWOLEVEL_HINTS */
        case 0x21u: /* LC_ENCRYPTION_INFO */
        case 0x2cu: /* LC_ENCRYPTION_INFO_64 */
            return rw_fail(w->d, RW_E_UNSUPPORTED, "object with load command 0x%x", c);
        default:
            break; /* no file offsets: copied as is */
        }
    }
    if (*seg_lc == UINT32_MAX || st->nseg != 1)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "object without exactly one segment command");
    if (st->has_dysymtab && (st->ntoc || st->nmodtab || st->nextrefsyms || st->nextrel || st->nlocrel))
        return rw_fail(w->d, RW_E_UNSUPPORTED,
                       "object with a table of contents, module table or dynamic relocations");
    return RW_OK;
}

/* The input's data-in-code table, kept as is (nothing in it moves). */
static enum rw_err copy_data_in_code(struct mo *w)
{
    const struct macho_ldata *l = &w->st->data_in_code;
    if (!l->present || !l->datasize)
        return RW_OK;
    if (!mo_in_file(w, l->dataoff, l->datasize))
        return rw_fail(w->d, RW_E_CORRUPT, "data-in-code table past the end of the file");
    if (rw_buf_append(&w->dic, w->in + l->dataoff, l->datasize))
        return mo_oom(w);
    return RW_OK;
}

/* Offsets: header, commands, contents, relocations, blobs, indirect
 * symbols, symbols, strings. Contents lie at their addresses' distance from
 * the segment's vmaddr, as assemblers lay them out (so filesize never
 * exceeds vmsize). */
static enum rw_err layout(struct mo *w, uint32_t seg_lc, struct mo_layout *y)
{
    struct macho_state *st = w->st;
    size_t nnew = w->nsec - w->nsec_old;
    y->sizeofcmds = (uint64_t)st->sizeofcmds + nnew * MACHO_SECTION_SIZE;
    uint64_t vmaddr = macho_u64(w->in + st->lc[seg_lc].off + 24);
    uint64_t data_start = MACHO_ALIGN_UP(MACHO_HEADER_SIZE + y->sizeofcmds, 16), seg_end = data_start;
    uint64_t bytes = 0;
    for (size_t i = 0; i < w->nsec; i++) {
        struct mo_sec *o = &w->sec[i];
        o->offset = 0;
        if (o->zerofill || (!o->src_size && !o->extra.len))
            continue;
        if (o->addr < vmaddr || o->addr - vmaddr > UINT32_MAX - data_start ||
            o->size > UINT32_MAX - data_start - (o->addr - vmaddr))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "section %.16s outside its segment's addresses",
                           o->sectname);
        for (size_t k = 0; k < i; k++) {
            const struct mo_sec *q = &w->sec[k];
            if (!q->offset)
                continue;
            if (o->addr < q->addr + q->size && q->addr < o->addr + o->size)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "sections %.16s and %.16s overlap",
                               q->sectname, o->sectname);
        }
        o->offset = (uint32_t)(data_start + (o->addr - vmaddr));
        if ((uint64_t)o->offset + o->size > seg_end)
            seg_end = (uint64_t)o->offset + o->size;
        bytes += o->size;
    }
    /* a sparse address space would make a huge file */
    if (seg_end - data_start > bytes + w->insz + ((uint64_t)1 << 24))
        return rw_fail(w->d, RW_E_UNSUPPORTED, "section addresses too sparse to lay out");
    y->seg_first = data_start;
    y->seg_end = seg_end;
    uint64_t cur = MACHO_ALIGN_UP(seg_end, 8);
    if (cur > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");
    mo_drop_relocs(w);
    for (size_t i = 0; i < w->nsec; i++) {
        struct mo_sec *o = &w->sec[i];
        o->reloff = 0;
        if (!o->rel.n)
            continue;
        o->reloff = (uint32_t)cur;
        cur += o->rel.n * MACHO_RELOC_SIZE;
        if (cur > UINT32_MAX)
            return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");
    }
    cur = MACHO_ALIGN_UP(cur, 8);
    y->dic_off = cur;
    cur += w->dic.len;
    y->loh_off = cur;
    cur += w->loh.len;
    cur = MACHO_ALIGN_UP(cur, 8);
    y->ind_off = cur;
    cur += w->indirect.len;
    cur = MACHO_ALIGN_UP(cur, 8);
    y->sym_off = cur;
    cur += (uint64_t)w->nsyms_new * MACHO_NLIST_SIZE;
    y->str_off = cur;
    cur += w->strs.len;
    if (cur > UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "output past 4 GiB");
    y->size = cur;
    return RW_OK;
}

static void put_section_header(uint8_t *h, const struct mo_sec *o)
{
    memcpy(h, o->sectname, 16);
    memcpy(h + 16, o->segname, 16);
    macho_put64(h + 32, o->addr);
    macho_put64(h + 40, o->size);
    macho_put32(h + 48, o->offset);
    macho_put32(h + 52, o->align);
    macho_put32(h + 56, o->reloff);
    macho_put32(h + 60, o->rel.n ? (uint32_t)o->rel.n : 0);
    macho_put32(h + 64, o->flags);
    macho_put32(h + 68, o->r1);
    macho_put32(h + 72, o->r2);
    macho_put32(h + 76, o->r3);
}

/* The segment command with every section header, at c (grown in place). */
static uint32_t put_segment(const struct mo *w, const struct macho_lc *l, const struct mo_layout *y,
                            uint8_t *c)
{
    const uint64_t hdr = MACHO_SEGMENT_CMD_SIZE;
    memcpy(c, w->in + l->off, hdr);
    uint32_t size = (uint32_t)(hdr + w->nsec * MACHO_SECTION_SIZE);
    macho_put32(c + 4, size);
    uint64_t vmaddr = macho_u64(c + 24), vmend = vmaddr + macho_u64(c + 32);
    for (size_t k = 0; k < w->nsec; k++)
        if (w->sec[k].addr + w->sec[k].size > vmend)
            vmend = w->sec[k].addr + w->sec[k].size;
    macho_put64(c + 32, vmend - vmaddr);
    macho_put64(c + 40, y->seg_first);
    macho_put64(c + 48, y->seg_end - y->seg_first);
    macho_put32(c + 64, (uint32_t)w->nsec);
    for (size_t k = 0; k < w->nsec; k++)
        put_section_header(c + hdr + k * MACHO_SECTION_SIZE, &w->sec[k]);
    return size;
}

/* Load commands in their order, at o8 + MACHO_HEADER_SIZE. */
static enum rw_err put_commands(struct mo *w, uint32_t seg_lc, const struct mo_layout *y,
                                uint8_t *o8)
{
    struct macho_state *st = w->st;
    size_t nnew = w->nsec - w->nsec_old;
    uint64_t lc_at = MACHO_HEADER_SIZE;
    for (size_t i = 0; i < st->nlc; i++) {
        const struct macho_lc *l = &st->lc[i];
        if (!mo_in_file(w, l->off, l->cmdsize) || l->cmdsize < 8)
            return rw_fail(w->d, RW_E_CORRUPT, "load command %zu past the end of the file", i);
        uint64_t grow = i == seg_lc ? nnew * MACHO_SECTION_SIZE : 0;
        if (lc_at + l->cmdsize + grow > MACHO_HEADER_SIZE + y->sizeofcmds)
            return rw_fail(w->d, RW_E_CORRUPT, "load commands overrun sizeofcmds");
        uint8_t *c = o8 + lc_at;
        if (i == seg_lc) {
            if (l->cmdsize != MACHO_SEGMENT_CMD_SIZE + (uint64_t)st->nsect * MACHO_SECTION_SIZE)
                return rw_fail(w->d, RW_E_UNSUPPORTED, "segment command with trailing bytes");
            lc_at += put_segment(w, l, y, c);
            continue;
        }
        memcpy(c, w->in + l->off, l->cmdsize);
        switch (l->cmd) {
        case MACHO_LC_SYMTAB:
            if (l->cmdsize < 24)
                return rw_fail(w->d, RW_E_CORRUPT, "short LC_SYMTAB");
            macho_put32(c + 8, (uint32_t)y->sym_off);
            macho_put32(c + 12, w->nsyms_new);
            macho_put32(c + 16, (uint32_t)y->str_off);
            macho_put32(c + 20, (uint32_t)w->strs.len);
            break;
        case MACHO_LC_DYSYMTAB:
            if (l->cmdsize < 80)
                return rw_fail(w->d, RW_E_CORRUPT, "short LC_DYSYMTAB");
            macho_put32(c + 8, w->ilocal);
            macho_put32(c + 12, w->nlocal);
            macho_put32(c + 16, w->iextdef);
            macho_put32(c + 20, w->nextdef);
            macho_put32(c + 24, w->iundef);
            macho_put32(c + 28, w->nundef);
            macho_put32(c + 56, w->indirect.len ? (uint32_t)y->ind_off : 0);
            macho_put32(c + 60, (uint32_t)(w->indirect.len / 4));
            break;
        case MACHO_LC_DATA_IN_CODE:
        case MACHO_LC_LINKER_OPTIMIZATION_HINT:
            if (l->cmdsize < 16)
                return rw_fail(w->d, RW_E_CORRUPT, "short linkedit data command");
            {
                int dic = l->cmd == MACHO_LC_DATA_IN_CODE;
                const struct rw_buf *b = dic ? &w->dic : &w->loh;
                macho_put32(c + 8, b->len ? (uint32_t)(dic ? y->dic_off : y->loh_off) : 0);
                macho_put32(c + 12, (uint32_t)b->len);
            }
            break;
        default:
            break;
        }
        lc_at += l->cmdsize;
    }
    if (lc_at != MACHO_HEADER_SIZE + y->sizeofcmds)
        return rw_fail(w->d, RW_E_CORRUPT, "load commands do not fill sizeofcmds");
    return RW_OK;
}

static enum rw_err emit(struct mo *w, uint32_t seg_lc, struct rw_buf *out)
{
    struct mo_layout y = {0};
    enum rw_err e;
    if ((e = layout(w, seg_lc, &y)))
        return e;
    if (rw_buf_reserve(out, y.size))
        return mo_oom(w);
    uint8_t *o8 = out->data;
    memset(o8, 0, y.size);
    memcpy(o8, w->in, MACHO_HEADER_SIZE);
    macho_put32(o8 + 20, (uint32_t)y.sizeofcmds);
    if ((e = put_commands(w, seg_lc, &y, o8)))
        return e;

    for (size_t i = 0; i < w->nsec; i++) {
        const struct mo_sec *o = &w->sec[i];
        if (!o->offset)
            continue;
        if (o->src_size)
            memcpy(o8 + o->offset, i < w->nsec_old && w->patched[i] ? w->patched[i] : o->src,
                   o->src_size);
        if (o->extra.len)
            memcpy(o8 + o->offset + o->src_size, o->extra.data, o->extra.len);
        if (o->rel.n)
            memcpy(o8 + o->reloff, o->rel.e, o->rel.n * MACHO_RELOC_SIZE);
    }
    for (size_t i = 0; i < w->nsec; i++) {
        const struct mo_sec *o = &w->sec[i];
        if (!o->offset && o->rel.n)
            memcpy(o8 + o->reloff, o->rel.e, o->rel.n * MACHO_RELOC_SIZE);
    }
    if (w->dic.len)
        memcpy(o8 + y.dic_off, w->dic.data, w->dic.len);
    if (w->loh.len)
        memcpy(o8 + y.loh_off, w->loh.data, w->loh.len);
    if (w->indirect.len)
        memcpy(o8 + y.ind_off, w->indirect.data, w->indirect.len);
    memcpy(o8 + y.sym_off, w->syms, (size_t)w->nsyms_new * MACHO_NLIST_SIZE);
    memcpy(o8 + y.str_off, w->strs.data, w->strs.len);
    out->len = y.size;
    return RW_OK;
}

static void mo_free(struct mo *w)
{
    for (size_t i = 0; w->sec && i < w->nsec; i++) {
        rw_buf_free(&w->sec[i].extra);
        free(w->sec[i].rel.e);
        free(w->sec[i].rel.del);
    }
    for (size_t i = 0; w->patched && i < w->st->nsect; i++)
        free(w->patched[i]);
    free(w->patched);
    free(w->sec);
    free(w->stub_sect);
    free(w->stub_off);
    free(w->stub_sym);
    free(w->syms);
    free(w->remap);
    free(w->hint);
    rw_buf_free(&w->strs);
    rw_buf_free(&w->indirect);
    rw_buf_free(&w->loh);
    rw_buf_free(&w->dic);
}

enum rw_err macho_write_object(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d)
{
    struct mo w = {0};
    w.img = img;
    w.plan = plan;
    w.st = macho_st(img);
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    w.a64 = img->machine == RW_MACH_AARCH64;
    enum rw_err e = RW_OK;
    uint8_t *map = NULL;
    size_t map_len = 0;
    uint32_t seg_lc;

    if (!w.st || w.st->filetype != MACHO_MH_OBJECT)
        return rw_fail(d, RW_E_INTERNAL, "not a Mach-O object");
    if ((e = check_commands(&w, &seg_lc)))
        return e;
    w.sec = calloc(MO_MAX_SECTIONS + 1, sizeof *w.sec);
    w.stub_sect = calloc(plan->nstubs + 1, sizeof *w.stub_sect);
    w.stub_off = calloc(plan->nstubs + 1, sizeof *w.stub_off);
    w.stub_sym = calloc(plan->nstubs + 1, sizeof *w.stub_sym);
    w.patched = calloc(w.st->nsect + 1, sizeof *w.patched);
    if (!w.sec || !w.stub_sect || !w.stub_off || !w.stub_sym || !w.patched) {
        e = mo_oom(&w);
        goto done;
    }
    if (w.st->nsect > MO_MAX_SECTIONS) {
        e = rw_fail(d, RW_E_CORRUPT, "more than 255 sections");
        goto done;
    }
    /* sections (stubs, compact unwind, map: in this order) before the
     * symbols, which name the stubs' addresses; symbols before the
     * relocations that name them */
    if ((e = mo_load_sections(&w)) ||
        (e = rw_map_from_plan(img, plan, 0, &map, &map_len, d)) ||
        (e = mo_add_stubs(&w)) || (e = mo_cu_add(&w)) || (e = mo_add_map(&w, map, map_len)) ||
        (e = mo_place_sections(&w)) || (e = mo_build_symbols(&w)))
        goto done;
    mo_cu_move_symbols(&w);
    if ((e = mo_renumber(&w)))
        goto done;
    mo_cu_name_symbols(&w);
    if ((e = mo_patch_sites(&w)) || (e = mo_build_indirect(&w)) ||
        (e = copy_data_in_code(&w)) || (e = mo_filter_loh(&w)))
        goto done;
    out->len = 0;
    if ((e = emit(&w, seg_lc, out)))
        out->len = 0;
done:
    mo_free(&w);
    free(map);
    return e;
}

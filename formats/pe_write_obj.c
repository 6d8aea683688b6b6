/* pe_write_obj.c - rewriting COFF objects, x86-64, regular and /bigobj
 * (docs/pe.md, "Writing objects").
 *
 * The output is the input with new section headers after the old ones (the
 * bytes after the section table move down by 40 per new header, and every
 * old PointerToRawData / PointerToRelocations / PointerToLinenumbers with
 * them), new raw data after the old bytes, then the symbol table (old
 * records unchanged, new ones appended: no index changes) and the string
 * table (old strings, then new ones; or, when the new section names would
 * land past what "/digits" can say, new ones first and the old ones moved):
 *  - per stub COMDAT sections, each SELECT_ANY with an external leader
 *    symbol (add_stub says why): `.text$__callirw_stub_<key>` and, for a
 *    stub that keeps a frame, `.xdata$callirw_<key>` (its UNWIND_INFO) and
 *    `.pdata$callirw_<key>` (one RUNTIME_FUNCTION [frame_start, len) with
 *    three ADDR32NB relocations); frameless stubs get no entry (leaves
 *    ending in a tail jump);
 *  - each site's instruction becomes nops + E8/E9 with its 4-byte field at
 *    the same offset, and its relocation record, in place, REL32 against the
 *    stub's symbol with the field 0 (COFF addends are the field's content);
 *  - the rewrite map in `.crwmap` (LNK_INFO | LNK_REMOVE: linkers drop it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "patch.h"
#include "pe_write_obj.h"

/* One stub (docs/pe.md, "Writing objects"): three COMDAT sections, each
 * SELECT_ANY with an external leader symbol, so that every linker keeps one
 * copy of each, from the first object that has them:
 *   .text$__callirw_stub_<key>  leader __callirw_stub_<key> (the function)
 *   .xdata$callirw_<key>        leader __callirw_xdata_<key> (UNWIND_INFO)
 *   .pdata$callirw_<key>        leader __callirw_pdata_<key> (RUNTIME_FUNCTION)
 * the last two only for a stub that keeps a frame. A framed stub's text
 * ends, after the code and zeros to a multiple of 4, with an anchor: a
 * 4-byte word (never executed) with an ADDR32NB relocation against the
 * .pdata leader, so that a linker collecting unreferenced COMDATs
 * (lld-link /opt:ref) keeps the unwind entry of every stub it keeps (the
 * no-op IMAGE_REL_AMD64_ABSOLUTE would do, but GNU ld and lld refuse it).
 * Not SELECT_ASSOCIATIVE (MSVC's way): GNU ld 2.40 keeps every associative
 * section, and a discarded duplicate's RUNTIME_FUNCTION comes out with
 * section-relative garbage. Not leaderless SELECT_ANY (gcc's way for
 * mingw): lld-link outside mingw mode drops such sections. Not
 * `.pdata$__callirw_stub_<key>`: lld in mingw mode ties `.pdata$X` to the
 * COMDAT led by X and then emits it twice.
 * *sym is the function symbol's index. */
static enum rw_err add_stub(struct ow *w, const struct rw_stub *s, uint32_t *sym)
{
    enum rw_err e;
    const struct stub_code *c = &s->code;
    char name[sizeof s->symbol + 8], leader[sizeof s->symbol + 8];
    if (c->len == 0 || c->len > UINT32_MAX || (c->has_frame && c->frame_start >= c->len))
        return rw_fail(w->d, RW_E_INTERNAL, "stub %s: bad code size", s->symbol);
    uint32_t len = (uint32_t)c->len, off, roff = 0, text, xdata, pdata;
    uint64_t base = w->st->nsyms + w->syms.len / w->st->symsz;
    if (base + 9 >= UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "too many symbols");
    /* indices: text section symbol (+aux), function, then .xdata's section
     * symbol (+aux) and leader, .pdata's section symbol (+aux) and leader */
    uint32_t text_sym = (uint32_t)base, xdata_sym = text_sym + 3, pdata_leader = text_sym + 8;
    /* framed: the code, zeros to a multiple of 4, and the anchor word */
    uint32_t tlen = c->has_frame ? ((len + 3) & ~3u) + 4 : len;
    uint8_t *tbytes = calloc(1, tlen);
    if (!tbytes)
        return ow_oom(w);
    memcpy(tbytes, c->bytes, len);
    uint8_t anchor[10];
    ow_reloc_rec(anchor, tlen - 4, pdata_leader, PE_REL_AMD64_ADDR32NB);
    uint16_t nanchor = c->has_frame ? 1 : 0;
    snprintf(name, sizeof name, ".text$%s", s->symbol);
    if ((e = ow_add_data(w, tbytes, tlen, 16, &off)) ||
        (nanchor && (e = ow_add_data(w, anchor, sizeof anchor, 2, &roff))) ||
        (e = ow_add_section(w, name,
                         PE_SCN_CNT_CODE | PE_SCN_MEM_EXECUTE | PE_SCN_MEM_READ |
                             PE_SCN_LNK_COMDAT | SCN_ALIGN_16,
                         tlen, off, roff, nanchor, &text)) ||
        (e = ow_add_section_symbol(w, name, text, tbytes, tlen, nanchor, COMDAT_SELECT_ANY)) ||
        (e = ow_add_symbol(w, s->symbol, 0, text, PE_SYM_DTYPE_FUNCTION << 4, PE_SYM_CLASS_EXTERNAL, 0,
                        sym))) {
        free(tbytes);
        return e;
    }
    free(tbytes);
    if (!c->has_frame)
        return RW_OK;

    uint8_t ui[STUB_WIN64_UNWIND_MAX];
    size_t uilen = 0;
    enum stub_err se = stub_win64_unwind_info(c, ui, sizeof ui, &uilen);
    if (se != STUB_OK)
        return rw_fail(w->d, RW_E_INTERNAL, "stub %s: UNWIND_INFO: %s", s->symbol, stub_strerror(se));
    uint32_t xoff, poff;
    snprintf(name, sizeof name, ".xdata$callirw_%s", s->key);
    snprintf(leader, sizeof leader, "__callirw_xdata_%s", s->key);
    if ((e = ow_add_data(w, ui, uilen, 4, &xoff)) ||
        (e = ow_add_section(w, name,
                         PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_MEM_READ | PE_SCN_LNK_COMDAT | SCN_ALIGN_4,
                         (uint32_t)uilen, xoff, 0, 0, &xdata)) ||
        (e = ow_add_section_symbol(w, name, xdata, ui, (uint32_t)uilen, 0, COMDAT_SELECT_ANY)) ||
        (e = ow_add_symbol(w, leader, 0, xdata, 0, PE_SYM_CLASS_EXTERNAL, 0, NULL)))
        return e;
    /* RUNTIME_FUNCTION {Begin, End, UnwindData}: ADDR32NB, addends in the fields */
    uint8_t rf[12], rel[30];
    pe_put32(rf, c->frame_start);
    pe_put32(rf + 4, len);
    pe_put32(rf + 8, 0);
    ow_reloc_rec(rel, 0, text_sym, PE_REL_AMD64_ADDR32NB);
    ow_reloc_rec(rel + 10, 4, text_sym, PE_REL_AMD64_ADDR32NB);
    ow_reloc_rec(rel + 20, 8, xdata_sym, PE_REL_AMD64_ADDR32NB);
    snprintf(name, sizeof name, ".pdata$callirw_%s", s->key);
    snprintf(leader, sizeof leader, "__callirw_pdata_%s", s->key);
    uint32_t got;
    if ((e = ow_add_data(w, rf, sizeof rf, 4, &poff)) || (e = ow_add_data(w, rel, sizeof rel, 2, &roff)) ||
        (e = ow_add_section(w, name,
                         PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_MEM_READ | PE_SCN_LNK_COMDAT | SCN_ALIGN_4,
                         sizeof rf, poff, roff, 3, &pdata)) ||
        (e = ow_add_section_symbol(w, name, pdata, rf, sizeof rf, 3, COMDAT_SELECT_ANY)) ||
        (e = ow_add_symbol(w, leader, 0, pdata, 0, PE_SYM_CLASS_EXTERNAL, 0, &got)))
        return e;
    if (got != pdata_leader || *sym != text_sym + 2)
        return rw_fail(w->d, RW_E_INTERNAL, "stub %s: symbol indices", s->symbol);
    return RW_OK;
}

/* The input's layout: where the kept bytes end (the symbol and string
 * tables are dropped when nothing follows them, rewritten after the new
 * data), and every old section's pointers checked. */
static enum rw_err load(struct ow *w)
{
    const struct pe_state *st = w->st;
    w->hdrsz = st->bigobj ? 56 : 20;
    w->old_shend = w->hdrsz + 40 * (uint64_t)st->nsec;
    if (w->old_shend > w->insz || (st->symtab && (size_t)(st->symtab - w->in) < w->old_shend))
        return rw_fail(w->d, RW_E_CORRUPT, "section table runs past the symbol table");
    w->body_end = w->insz;
    uint64_t symoff = st->symtab ? (uint64_t)(st->symtab - w->in) : w->insz;
    uint64_t tabend = symoff + (uint64_t)st->nsyms * st->symsz + st->strtab_size;
    if (st->symtab && tabend == w->insz)
        w->body_end = symoff;
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *h = st->shdr + 40 * (size_t)i;
        uint32_t ch = pe_u32(h + 36);
        uint64_t nrel = pe_u16(h + 32);
        if ((ch & PE_SCN_LNK_NRELOC_OVFL) && nrel == 0xFFFF && pe_u32(h + 24) <= w->insz - 4 &&
            pe_u32(h + 24) >= w->old_shend)
            nrel = pe_u32(w->in + pe_u32(h + 24));
        /* raw data, relocations, line numbers: pointer and size */
        const uint64_t ptr[3] = {pe_u32(h + 20), pe_u32(h + 24), pe_u32(h + 28)};
        const uint64_t len[3] = {(ch & PE_SCN_CNT_UNINITIALIZED_DATA) ? 0 : pe_u32(h + 16),
                                 10 * nrel, 6 * (uint64_t)pe_u16(h + 34)};
        for (int k = 0; k < 3; k++) {
            if (ptr[k] == 0 || len[k] == 0)
                continue;
            if (ptr[k] < w->old_shend)
                return rw_fail(w->d, RW_E_CORRUPT, "section %s: data at 0x%llx inside the headers",
                               w->img->sec[i].name, (unsigned long long)ptr[k]);
            if (ptr[k] + len[k] > w->body_end)
                w->body_end = w->insz; /* data in or after the tables: keep every byte */
        }
    }
    /* The new long names take `need` bytes; section names must stay at
     * offsets "/digits" can say (GNU ld reads no "//base64"). */
    uint64_t need = 0;
    for (size_t i = 0; i < w->plan->nstubs; i++) {
        const struct rw_stub *s = &w->plan->stubs[i];
        size_t ks = strlen(s->key), ss = strlen(s->symbol);
        /* a section's name is stored twice: by its header and by its
         * section symbol (ow_add_section, ow_add_section_symbol) */
        need += 2 * (6 + ss + 1) + ss + 1;             /* .text$<symbol>, <symbol> */
        if (s->code.has_frame)
            need += 4 * (15 + ks + 1) + 2 * (16 + ks + 1); /* .[xp]data$callirw_, leaders */
    }
    w->prepend = st->strtab_size >= 4 && st->strtab_size + need > COFF_MAX_DIGIT_NAME;
    if (!w->prepend && st->strtab_size >= 4) {
        if (rw_buf_append(&w->strs, st->strtab, st->strtab_size))
            return ow_oom(w);
    } else if (rw_buf_append(&w->strs, "\0\0\0\0", 4)) {
        return ow_oom(w);
    }
    return RW_OK;
}

/* Prepend mode, once every new name is in: the old strings go after the
 * new ones, and every old reference to them moves (symbol records in the
 * output's table at symtab, section names in the output's headers). */
static enum rw_err move_old_strings(struct ow *w)
{
    const struct pe_state *st = w->st;
    if ((uint64_t)w->strs.len - 4 > UINT32_MAX - st->strtab_size)
        return rw_fail(w->d, RW_E_NOROOM, "string table too large");
    w->str_shift = (uint32_t)(w->strs.len - 4);
    return rw_buf_append(&w->strs, st->strtab + 4, st->strtab_size - 4) ? ow_oom(w) : RW_OK;
}

static void fix_old_string_refs(struct ow *w, uint8_t *o, uint64_t symptr)
{
    const struct pe_state *st = w->st;
    for (uint32_t i = 0; i < st->nsyms; i++) {
        uint8_t *r = o + symptr + (size_t)i * st->symsz;
        uint32_t off = pe_u32(r + 4);
        if (pe_u32(r) == 0 && off >= 4 && off < st->strtab_size)
            pe_put32(r + 4, off + w->str_shift);
        i += r[st->symsz - 1]; /* auxiliary records hold no string offsets */
    }
    for (uint32_t i = 0; i < st->nsec; i++) {
        uint8_t *h = o + w->hdrsz + 40 * (size_t)i;
        uint32_t off;
        if (ow_name_off(h, &off) && off >= 4 && off < st->strtab_size)
            ow_name_ref(h, off + w->str_shift);
    }
}

/* The input file offset of the relocation record for model relocation r. */
static enum rw_err find_reloc(struct ow *w, const struct rw_reloc *r, uint64_t *foff)
{
    const uint8_t *h = w->st->shdr + 40 * (size_t)r->section;
    uint32_t ptr = pe_u32(h + 24), secva = pe_u32(h + 12), ch = pe_u32(h + 36);
    uint64_t count = pe_u16(h + 32), first = 0;
    uint32_t symid = r->symbol < w->img->nsym ? w->img->sym[r->symbol].id : RW_NONE;
    if (ptr > w->insz || w->insz - ptr < 10)
        return rw_fail(w->d, RW_E_INTERNAL, "relocations outside the file");
    if ((ch & PE_SCN_LNK_NRELOC_OVFL) && count == 0xFFFF) {
        count = pe_u32(w->in + ptr);
        first = 1;
    }
    if ((w->insz - ptr) / 10 < count)
        return rw_fail(w->d, RW_E_INTERNAL, "relocations outside the file");
    for (uint64_t k = first; k < count; k++) {
        const uint8_t *p = w->in + ptr + 10 * k;
        if ((uint64_t)pe_u32(p) == secva + r->offset && pe_u32(p + 4) == symid &&
            pe_u16(p + 8) == r->raw_type) {
            *foff = ptr + 10 * k;
            return RW_OK;
        }
    }
    return rw_fail(w->d, RW_E_INTERNAL, "section %s: no relocation record at 0x%llx",
                   w->img->sec[r->section].name, (unsigned long long)r->offset);
}

/* Patch the sites (bytes and relocation records) in the output o. */
static enum rw_err patch_sites(struct ow *w, uint8_t *o, const uint32_t *stub_sym)
{
    const struct rw_scan *scan = w->plan->scan;
    enum rw_err e;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        if (s->stub >= w->plan->nstubs || s->section >= w->st->nsec || s->reloc >= w->img->nrel ||
            s->length < 5 || s->length > RW_SITE_MAX_BYTES)
            return rw_fail(w->d, RW_E_INTERNAL, "site without its stub or relocation");
        const struct rw_reloc *r = &w->img->rel[s->reloc];
        if (r->section != s->section || r->offset != s->offset + s->length - 4 ||
            r->raw_type < PE_REL_AMD64_REL32 || r->raw_type > PE_REL_AMD64_REL32_5)
            return rw_fail(w->d, RW_E_INTERNAL, "site at %s+0x%llx: its relocation is not the "
                           "REL32 of its last 4 bytes", w->img->sec[s->section].name,
                           (unsigned long long)s->offset);
        const uint8_t *h = w->st->shdr + 40 * (size_t)s->section;
        uint64_t raw = pe_u32(h + 20), rawsz = pe_u32(h + 16);
        if (raw < w->old_shend || s->offset > rawsz || s->length > rawsz - s->offset ||
            raw + rawsz > w->body_end || memcmp(w->in + raw + s->offset, s->orig, s->length))
            return rw_fail(w->d, RW_E_INTERNAL, "site bytes differ from the scan");
        uint64_t roff = 0;
        if ((e = find_reloc(w, r, &roff)))
            return e;
        if (roff < w->old_shend || roff + 10 > w->body_end)
            return rw_fail(w->d, RW_E_INTERNAL, "relocation record outside the kept bytes");
        uint8_t bytes[RW_SITE_MAX_BYTES];
        if ((e = rw_site_patch(w->img->machine, s, RW_NO_ADDRESS, bytes, w->d)))
            return e;
        /* the field stays 0: REL32 to the stub's first byte is S + 0 - (P + 4) */
        memcpy(o + raw + w->delta + s->offset, bytes, s->length);
        uint8_t *rec = o + roff + w->delta;
        pe_put32(rec + 4, stub_sym[s->stub]);
        pe_put16(rec + 8, PE_REL_AMD64_REL32);
    }
    return RW_OK;
}

enum rw_err pe_write_object(const struct rw_image *img, const struct rw_plan *plan,
                            struct rw_buf *out, struct rw_diag *d)
{
    struct ow w = {0};
    w.img = img;
    w.plan = plan;
    w.st = pe_st(img);
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    enum rw_err e;
    uint32_t *stub_sym = NULL;
    uint8_t *map = NULL;
    size_t map_len = 0;

    if (img->machine != RW_MACH_X86_64) {
        e = rw_fail(d, RW_E_UNSUPPORTED, "rewriting %s COFF objects is not supported (no Windows arm64 stubs)",
                    pe_machine_name(w.st->machine));
        goto done;
    }
    if (!w.st->symtab || !w.st->nsyms || (w.st->symsz != 18 && w.st->symsz != 20)) {
        e = rw_fail(d, RW_E_CORRUPT, "object without a symbol table");
        goto done;
    }
    /* New sections: per stub its text, with a frame also .xdata and .pdata;
     * the map. Counted first: the kept bytes move by 40 per header. */
    uint64_t nnew = 1;
    for (size_t i = 0; i < plan->nstubs; i++)
        nnew += plan->stubs[i].code.has_frame ? 3 : 1;
    uint64_t limit = w.st->bigobj ? BIGOBJ_MAX_SECTIONS : COFF_MAX_SECTIONS;
    if (w.st->nsec + nnew > limit) {
        e = rw_fail(d, RW_E_NOROOM, "%u sections + %llu new ones exceed the %llu a %s object can "
                    "hold%s", w.st->nsec, (unsigned long long)nnew, (unsigned long long)limit,
                    w.st->bigobj ? "/bigobj" : "regular COFF",
                    w.st->bigobj ? "" : " (assemble it with /bigobj: -Wa,-mbig-obj)");
        goto done;
    }
    w.nnew = (uint32_t)nnew;
    w.delta = 40 * nnew;
    if ((e = load(&w)))
        goto done;
    w.data_base = (w.body_end + w.delta + 15) & ~(uint64_t)15;

    stub_sym = calloc(plan->nstubs + 1, sizeof *stub_sym);
    if (!stub_sym) {
        e = ow_oom(&w);
        goto done;
    }
    for (size_t i = 0; i < plan->nstubs; i++)
        if ((e = add_stub(&w, &plan->stubs[i], &stub_sym[i])))
            goto done;

    uint32_t moff, msec;
    if ((e = rw_map_from_plan(img, plan, RW_NO_ADDRESS, &map, &map_len, d)) ||
        (e = ow_add_data(&w, map, map_len, 8, &moff)) ||
        (e = ow_add_section(&w, ".crwmap",
                         PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_LNK_INFO | PE_SCN_LNK_REMOVE |
                             PE_SCN_MEM_READ | SCN_ALIGN_8,
                         (uint32_t)map_len, moff, 0, 0, &msec)))
        goto done;
    if (w.shdrs.len / 40 != nnew) {
        e = rw_fail(d, RW_E_INTERNAL, "section count changed while writing");
        goto done;
    }

    /* The string table's size field, then the layout's end. */
    if (w.prepend && (e = move_old_strings(&w)))
        goto done;
    pe_put32(w.strs.data, (uint32_t)w.strs.len);
    uint64_t symptr = (w.data_base + w.data.len + 3) & ~(uint64_t)3;
    uint64_t nsyms = w.st->nsyms + w.syms.len / w.st->symsz;
    uint64_t total = symptr + nsyms * w.st->symsz + w.strs.len;
    if (total > UINT32_MAX) {
        e = rw_fail(d, RW_E_NOROOM, "the object would exceed 4 GiB");
        goto done;
    }
    if ((e = rw_buf_reserve(out, total))) {
        e = ow_oom(&w);
        goto done;
    }
    uint8_t *o = out->data;
    memset(o, 0, total);
    rw_copy_input(img, o, w.in, w.old_shend);
    memcpy(o + w.old_shend, w.shdrs.data, w.shdrs.len);
    memcpy(o + w.old_shend + w.delta, w.in + w.old_shend, w.body_end - w.old_shend);
    memcpy(o + w.data_base, w.data.data, w.data.len);
    memcpy(o + symptr, w.st->symtab, (size_t)w.st->nsyms * w.st->symsz);
    memcpy(o + symptr + (size_t)w.st->nsyms * w.st->symsz, w.syms.data, w.syms.len);
    memcpy(o + symptr + nsyms * w.st->symsz, w.strs.data, w.strs.len);

    /* The old section headers' pointers follow their bytes. */
    for (uint32_t i = 0; i < w.st->nsec; i++) {
        uint8_t *h = o + w.hdrsz + 40 * (size_t)i;
        for (unsigned k = 20; k <= 28; k += 4) {
            uint32_t p = pe_u32(h + k);
            if (p >= w.old_shend)
                pe_put32(h + k, (uint32_t)(p + w.delta));
        }
    }
    if (w.st->bigobj) {
        pe_put32(o + 44, w.st->nsec + w.nnew);
        pe_put32(o + 48, (uint32_t)symptr);
        pe_put32(o + 52, (uint32_t)nsyms);
    } else {
        pe_put16(o + 2, w.st->nsec + w.nnew);
        pe_put32(o + 8, (uint32_t)symptr);
        pe_put32(o + 12, (uint32_t)nsyms);
    }
    if (w.prepend)
        fix_old_string_refs(&w, o, symptr);
    if ((e = patch_sites(&w, o, stub_sym)))
        goto done;
    out->len = total;
    e = RW_OK;
done:
    free(stub_sym);
    free(map);
    rw_buf_free(&w.shdrs);
    rw_buf_free(&w.data);
    rw_buf_free(&w.syms);
    rw_buf_free(&w.strs);
    return e;
}

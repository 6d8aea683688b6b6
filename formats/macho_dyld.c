/* macho_dyld.c - what the loader writes into a linked Mach-O image: rebase
 * and bind opcodes (LC_DYLD_INFO) or chained fixups
 * (LC_DYLD_CHAINED_FIXUPS) into st->fix; the helper's pointer slots and
 * __stubs entries; read_pointer (macho_priv.h, docs/macho.md). */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"

/* opcodes of <mach-o/loader.h> */
#define REBASE_OPCODE_MASK 0xf0u
#define REBASE_IMMEDIATE_MASK 0x0fu
#define REBASE_OPCODE_DONE 0x00u
#define REBASE_OPCODE_SET_TYPE_IMM 0x10u
#define REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB 0x20u
#define REBASE_OPCODE_ADD_ADDR_ULEB 0x30u
#define REBASE_OPCODE_ADD_ADDR_IMM_SCALED 0x40u
#define REBASE_OPCODE_DO_REBASE_IMM_TIMES 0x50u
#define REBASE_OPCODE_DO_REBASE_ULEB_TIMES 0x60u
#define REBASE_OPCODE_DO_REBASE_ADD_ADDR_ULEB 0x70u
#define REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB 0x80u

#define BIND_OPCODE_MASK 0xf0u
#define BIND_IMMEDIATE_MASK 0x0fu
#define BIND_OPCODE_DONE 0x00u
#define BIND_OPCODE_SET_DYLIB_ORDINAL_IMM 0x10u
#define BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB 0x20u
#define BIND_OPCODE_SET_DYLIB_SPECIAL_IMM 0x30u
#define BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM 0x40u
#define BIND_OPCODE_SET_TYPE_IMM 0x50u
#define BIND_OPCODE_SET_ADDEND_SLEB 0x60u
#define BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB 0x70u
#define BIND_OPCODE_ADD_ADDR_ULEB 0x80u
#define BIND_OPCODE_DO_BIND 0x90u
#define BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB 0xa0u
#define BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED 0xb0u
#define BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB 0xc0u
#define BIND_OPCODE_THREADED 0xd0u

#define PTR 8u

/* More fixups than this cannot be real: every one is a distinct 8-byte slot
 * of the file (a bound on hostile opcode loops). */
static size_t fix_limit(const struct rw_image *img)
{
    return img->size / 4 + 64;
}

static enum rw_err push_fix(struct rw_image *img, struct macho_state *st, const struct macho_fix *f,
                            struct rw_diag *d)
{
    if (st->nfix >= fix_limit(img))
        return rw_fail(d, RW_E_CORRUPT, "more fixups than the file has pointer slots");
    if (rw_grow((void **)&st->fix, &st->fix_cap, st->nfix, sizeof *st->fix))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->fix[st->nfix++] = *f;
    return RW_OK;
}

/* The slot at segment seg + off: its address, checked to be a whole
 * pointer inside the segment's file data. */
static enum rw_err slot_va(const struct macho_state *st, uint32_t seg, uint64_t off,
                           const char *what, uint64_t *va, struct rw_diag *d)
{
    if (seg >= st->nseg)
        return rw_fail(d, RW_E_CORRUPT, "%s: segment %u out of range", what, seg);
    const struct macho_seg *g = &st->seg[seg];
    if (off >= g->filesize || PTR > g->filesize - off)
        return rw_fail(d, RW_E_CORRUPT, "%s: slot 0x%llx outside segment '%s'", what,
                       (unsigned long long)off, g->name);
    *va = g->vmaddr + off;
    return RW_OK;
}

static enum rw_err read_rebases(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    const uint8_t *p = img->data + st->rebase_off, *end = p + st->rebase_size;
    uint32_t seg = UINT32_MAX;
    uint64_t off = 0, n, skip;
    const char *what = "rebase opcodes";
    enum rw_err e;
    while (p < end) {
        uint8_t b = *p++;
        uint32_t op = b & REBASE_OPCODE_MASK, imm = b & REBASE_IMMEDIATE_MASK;
        switch (op) {
        case REBASE_OPCODE_DONE: return RW_OK;
        case REBASE_OPCODE_SET_TYPE_IMM:
            if (imm != 1) /* REBASE_TYPE_POINTER */
                return rw_fail(d, RW_E_UNSUPPORTED, "rebase type %u is not supported", imm);
            break;
        case REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB:
            seg = imm;
            if (macho_uleb(&p, end, &off))
                goto bad;
            break;
        case REBASE_OPCODE_ADD_ADDR_ULEB:
            if (macho_uleb(&p, end, &n))
                goto bad;
            off += n;
            break;
        case REBASE_OPCODE_ADD_ADDR_IMM_SCALED: off += (uint64_t)imm * PTR; break;
        case REBASE_OPCODE_DO_REBASE_IMM_TIMES:
        case REBASE_OPCODE_DO_REBASE_ULEB_TIMES:
        case REBASE_OPCODE_DO_REBASE_ADD_ADDR_ULEB:
        case REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB:
            n = imm;
            skip = 0;
            if (op == REBASE_OPCODE_DO_REBASE_ULEB_TIMES ||
                op == REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB)
                if (macho_uleb(&p, end, &n))
                    goto bad;
            if (op == REBASE_OPCODE_DO_REBASE_ADD_ADDR_ULEB) {
                n = 1;
                if (macho_uleb(&p, end, &skip))
                    goto bad;
            }
            if (op == REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB && macho_uleb(&p, end, &skip))
                goto bad;
            for (uint64_t k = 0; k < n; k++) {
                uint64_t va;
                if ((e = slot_va(st, seg, off, what, &va, d)))
                    return e;
                int64_t fo = macho_va_to_off(st, va, PTR);
                struct macho_fix f = {va, MACHO_FIX_REBASE, 0,
                                      fo < 0 ? 0 : macho_u64(img->data + fo), NULL, 0, 0};
                if ((e = push_fix(img, st, &f, d)))
                    return e;
                off += PTR + skip;
            }
            break;
        default:
            return rw_fail(d, RW_E_CORRUPT, "rebase opcodes: unknown opcode 0x%02x", b);
        }
    }
    return RW_OK;
bad:
    return rw_fail(d, RW_E_CORRUPT, "rebase opcodes: malformed ULEB128");
}

/* One bind stream. lazy: entries separated by DONE (the stream goes on). */
static enum rw_err read_binds(struct rw_image *img, struct macho_state *st, uint32_t boff,
                              uint32_t bsize, int lazy, int weak, const char *what,
                              struct rw_diag *d)
{
    const uint8_t *p = img->data + boff, *end = p + bsize;
    uint32_t seg = UINT32_MAX;
    uint64_t off = 0, n, skip;
    int64_t addend = 0;
    int32_t ordinal = weak ? -3 : 0; /* weak binds look the name up everywhere */
    const char *name = NULL;
    enum rw_err e;
    while (p < end) {
        uint8_t b = *p++;
        uint32_t op = b & BIND_OPCODE_MASK, imm = b & BIND_IMMEDIATE_MASK;
        switch (op) {
        case BIND_OPCODE_DONE:
            if (!lazy)
                return RW_OK;
            break;
        case BIND_OPCODE_SET_DYLIB_ORDINAL_IMM: ordinal = (int32_t)imm; break;
        case BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB:
            if (macho_uleb(&p, end, &n))
                goto bad;
            ordinal = n > INT32_MAX ? INT32_MAX : (int32_t)n;
            break;
        case BIND_OPCODE_SET_DYLIB_SPECIAL_IMM:
            ordinal = imm ? (int32_t)(int8_t)(0xf0u | imm) : 0;
            break;
        case BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM: {
            const uint8_t *z = memchr(p, 0, (size_t)(end - p));
            if (!z)
                return rw_fail(d, RW_E_CORRUPT, "%s: symbol name runs past the end", what);
            name = (const char *)p;
            p = z + 1;
            break;
        }
        case BIND_OPCODE_SET_TYPE_IMM:
            if (imm != 1) /* BIND_TYPE_POINTER */
                return rw_fail(d, RW_E_UNSUPPORTED, "%s: bind type %u is not supported", what, imm);
            break;
        case BIND_OPCODE_SET_ADDEND_SLEB:
            if (macho_sleb(&p, end, &addend))
                goto bad;
            break;
        case BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB:
            seg = imm;
            if (macho_uleb(&p, end, &off))
                goto bad;
            break;
        case BIND_OPCODE_ADD_ADDR_ULEB:
            if (macho_uleb(&p, end, &n))
                goto bad;
            off += n;
            break;
        case BIND_OPCODE_DO_BIND:
        case BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB:
        case BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED:
        case BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB:
            n = 1;
            skip = 0;
            if (op == BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB && macho_uleb(&p, end, &skip))
                goto bad;
            if (op == BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED)
                skip = (uint64_t)imm * PTR;
            if (op == BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB &&
                (macho_uleb(&p, end, &n) || macho_uleb(&p, end, &skip)))
                goto bad;
            if (!name)
                return rw_fail(d, RW_E_CORRUPT, "%s: bind without a symbol name", what);
            for (uint64_t k = 0; k < n; k++) {
                uint64_t va;
                if ((e = slot_va(st, seg, off, what, &va, d)))
                    return e;
                struct macho_fix f = {va, MACHO_FIX_BIND, ordinal, 0, name, addend, lazy};
                if ((e = push_fix(img, st, &f, d)))
                    return e;
                off += PTR + skip;
            }
            break;
        case BIND_OPCODE_THREADED:
            return rw_fail(d, RW_E_UNSUPPORTED, "%s: threaded binds are not supported", what);
        default:
            return rw_fail(d, RW_E_CORRUPT, "%s: unknown opcode 0x%02x", what, b);
        }
    }
    return RW_OK;
bad:
    return rw_fail(d, RW_E_CORRUPT, "%s: malformed LEB128", what);
}

/* ---- chained fixups ------------------------------------------------------- */

struct chain_imports {
    const uint8_t *tab, *syms;
    uint32_t count, format, syms_size;
};

static enum rw_err chain_import(const struct chain_imports *ci, uint32_t ord, const char **name,
                                int32_t *lib, int64_t *addend, struct rw_diag *d)
{
    if (ord >= ci->count)
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: import %u out of range", ord);
    uint32_t name_off;
    *addend = 0;
    switch (ci->format) {
    case MACHO_DYLD_CHAINED_IMPORT:
    case MACHO_DYLD_CHAINED_IMPORT_ADDEND: {
        size_t esz = ci->format == MACHO_DYLD_CHAINED_IMPORT ? 4 : 8;
        uint32_t v = macho_u32(ci->tab + (size_t)ord * esz);
        *lib = (int32_t)(int8_t)(v & 0xff);
        name_off = v >> 9;
        if (esz == 8)
            *addend = (int32_t)macho_u32(ci->tab + (size_t)ord * esz + 4);
        break;
    }
    default: { /* ADDEND64 */
        const uint8_t *e = ci->tab + (size_t)ord * 16;
        uint32_t v = macho_u32(e);
        *lib = (int32_t)(int16_t)(v & 0xffff);
        name_off = macho_u32(e + 4);
        *addend = (int64_t)macho_u64(e + 8);
        break;
    }
    }
    if (name_off >= ci->syms_size || !memchr(ci->syms + name_off, 0, ci->syms_size - name_off))
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: import %u has no name", ord);
    *name = (const char *)ci->syms + name_off;
    return RW_OK;
}

/* Walk one page's chain from the slot at va. */
static enum rw_err walk_chain(struct rw_image *img, struct macho_state *st,
                              const struct chain_imports *ci, uint16_t format, uint64_t va,
                              struct rw_diag *d)
{
    enum rw_err e;
    for (;;) {
        int64_t fo = macho_va_to_off(st, va, PTR);
        if (fo < 0)
            return rw_fail(d, RW_E_CORRUPT, "chained fixups: chain leaves the file at 0x%llx",
                           (unsigned long long)va);
        uint64_t v = macho_u64(img->data + fo);
        uint32_t next = (uint32_t)(v >> 51) & 0xfffu;
        struct macho_fix f = {va, 0, 0, 0, NULL, 0, 0};
        if (v >> 63) { /* dyld_chained_ptr_64_bind */
            f.kind = MACHO_FIX_BIND;
            if ((e = chain_import(ci, (uint32_t)(v & 0xffffffu), &f.name, &f.dylib, &f.addend, d)))
                return e;
            f.addend += (int64_t)((v >> 32) & 0xff);
        } else { /* dyld_chained_ptr_64_rebase: target:36 high8:8 */
            f.kind = MACHO_FIX_REBASE;
            uint64_t target = v & 0xfffffffffull, high8 = (v >> 36) & 0xff;
            if (format == MACHO_DYLD_CHAINED_PTR_64_OFFSET)
                target += st->base; /* an offset from the image's start */
            f.target = target | high8 << 56;
        }
        if ((e = push_fix(img, st, &f, d)))
            return e;
        if (!next)
            return RW_OK;
        va += (uint64_t)next * 4; /* stride 4 for both 64-bit formats */
    }
}

static enum rw_err read_chained(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    const struct macho_ldata *cf = &st->chained_fixups;
    const uint8_t *b = img->data + cf->dataoff;
    uint32_t size = cf->datasize;
    enum rw_err e;
    st->chained = 1;
    if (size < 28)
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: header cut off");
    uint32_t version = macho_u32(b), starts = macho_u32(b + 4), imports = macho_u32(b + 8),
             symbols = macho_u32(b + 12), nimports = macho_u32(b + 16),
             ifmt = macho_u32(b + 20), sfmt = macho_u32(b + 24);
    if (version != 0)
        return rw_fail(d, RW_E_UNSUPPORTED, "chained fixups version %u is not supported", version);
    if (sfmt != 0)
        return rw_fail(d, RW_E_UNSUPPORTED, "compressed chained-fixup symbol names are not supported");
    size_t isz = ifmt == MACHO_DYLD_CHAINED_IMPORT          ? 4
                 : ifmt == MACHO_DYLD_CHAINED_IMPORT_ADDEND ? 8
                 : ifmt == MACHO_DYLD_CHAINED_IMPORT_ADDEND64 ? 16
                                                              : 0;
    if (!isz)
        return rw_fail(d, RW_E_UNSUPPORTED, "chained-fixup import format %u is not supported", ifmt);
    if (imports > size || (uint64_t)nimports * isz > size - imports || symbols > size)
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: imports run past the data");
    struct chain_imports ci = {b + imports, b + symbols, nimports, ifmt, size - symbols};
    if (starts > size || size - starts < 4)
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: starts run past the data");
    uint32_t nseg = macho_u32(b + starts);
    if (nseg > (size - starts - 4) / 4)
        return rw_fail(d, RW_E_CORRUPT, "chained fixups: segment table runs past the data");
    for (uint32_t i = 0; i < nseg; i++) {
        uint32_t so = macho_u32(b + starts + 4 + 4 * i);
        if (!so)
            continue;
        if (so > size - starts || size - starts - so < 22)
            return rw_fail(d, RW_E_CORRUPT, "chained fixups: segment %u's starts run past the data", i);
        const uint8_t *s = b + starts + so;
        uint32_t ssize = macho_u32(s);
        uint16_t page_size = (uint16_t)(s[4] | s[5] << 8), format = (uint16_t)(s[6] | s[7] << 8);
        uint64_t seg_off = macho_u64(s + 8);
        uint16_t page_count = (uint16_t)(s[20] | s[21] << 8);
        if (ssize < 22 || ssize > size - starts - so || (ssize - 22) / 2 < page_count)
            return rw_fail(d, RW_E_CORRUPT, "chained fixups: segment %u's page table runs past its data", i);
        if (format != MACHO_DYLD_CHAINED_PTR_64 && format != MACHO_DYLD_CHAINED_PTR_64_OFFSET)
            return rw_fail(d, RW_E_UNSUPPORTED, "chained-fixup pointer format %u is not supported",
                           format);
        st->chained_format = format;
        if (i >= st->nseg)
            return rw_fail(d, RW_E_CORRUPT, "chained fixups: segment %u out of range", i);
        if (!page_size)
            return rw_fail(d, RW_E_CORRUPT, "chained fixups: page size 0");
        for (uint32_t pg = 0; pg < page_count; pg++) {
            uint16_t start = (uint16_t)(s[22 + 2 * pg] | s[23 + 2 * pg] << 8);
            if (start == 0xffffu) /* DYLD_CHAINED_PTR_START_NONE */
                continue;
            if (start & 0x8000u)
                return rw_fail(d, RW_E_UNSUPPORTED, "chained fixups: multiple starts per page are not supported");
            uint64_t rel = seg_off + (uint64_t)pg * page_size + start;
            if (rel < seg_off || rel > UINT64_MAX - st->base)
                return rw_fail(d, RW_E_CORRUPT, "chained fixups: page start out of range");
            if ((e = walk_chain(img, st, &ci, format, st->base + rel, d)))
                return e;
        }
    }
    return RW_OK;
}

/* ---- the helper ------------------------------------------------------------ */

static int cmp_fix(const void *a, const void *b)
{
    const struct macho_fix *x = a, *y = b;
    if (x->va != y->va)
        return x->va < y->va ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

static const char *indirect_name(const struct rw_image *img, const struct macho_state *st,
                                 uint32_t idx)
{
    if (idx >= st->nindirectsyms)
        return NULL;
    uint32_t sym = macho_u32(img->data + st->indirectsymoff + (size_t)idx * 4);
    if (sym & (MACHO_INDIRECT_SYMBOL_LOCAL | MACHO_INDIRECT_SYMBOL_ABS) || !st->has_symtab ||
        sym >= st->nsyms || st->sym_model[sym] == RW_NONE)
        return NULL;
    return img->sym[st->sym_model[sym]].name;
}

/* __stubs entries and pointer sections through the indirect symbol table;
 * the stub sections are the scanner's PLT sections. */
static enum rw_err helper_indirect(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    enum rw_err e;
    for (uint32_t i = 0; i < st->nsect; i++) {
        const struct macho_sect *s = &st->sect[i];
        uint32_t type = s->flags & MACHO_SECTION_TYPE;
        if (type == MACHO_S_SYMBOL_STUBS || !strcmp(s->sectname, "__stubs") ||
            !strcmp(s->sectname, "__stub_helper") || !strcmp(s->sectname, "__auth_stubs"))
            if ((e = macho_push_plt_sec(img, i, d)))
                return e;
        uint64_t esz;
        if (type == MACHO_S_SYMBOL_STUBS) {
            esz = s->reserved2;
            /* Go's linker writes 6 (x86-64's size) for 12-byte arm64 stubs:
             * no stride to trust; the scanner still finds such stubs through
             * the helper's slots (the stubs are PLT sections) */
            if (img->machine == RW_MACH_AARCH64 && (esz % 4 || esz < 12))
                continue;
        } else if (type == MACHO_S_NON_LAZY_SYMBOL_POINTERS || type == MACHO_S_LAZY_SYMBOL_POINTERS)
            esz = PTR;
        else
            continue;
        if (!esz || !st->has_dysymtab)
            continue;
        uint64_t n = s->size / esz;
        for (uint64_t k = 0; k < n; k++) {
            if (k > UINT32_MAX - (uint64_t)s->reserved1)
                break;
            const char *name = indirect_name(img, st, s->reserved1 + (uint32_t)k);
            if (!name || strcmp(name, st->helper_sym) != 0)
                continue;
            uint64_t va = s->addr + k * esz;
            e = type == MACHO_S_SYMBOL_STUBS ? macho_push_helper_addr(img, va, d)
                                             : macho_push_helper_slot(img, va, d);
            if (e)
                return e;
        }
    }
    return RW_OK;
}

enum rw_err macho_read_fixups(struct rw_image *img, struct macho_state *st, struct rw_diag *d)
{
    enum rw_err e;
    if (st->chained_fixups.present && st->chained_fixups.datasize) {
        if (st->has_dyld_info && (st->rebase_size || st->bind_size || st->lazy_bind_size))
            return rw_fail(d, RW_E_CORRUPT, "both chained fixups and dyld rebase/bind information");
        if ((e = read_chained(img, st, d)))
            return e;
    } else if (st->has_dyld_info) {
        if ((e = read_rebases(img, st, d)) ||
            (e = read_binds(img, st, st->bind_off, st->bind_size, 0, 0, "bind opcodes", d)) ||
            (e = read_binds(img, st, st->weak_bind_off, st->weak_bind_size, 0, 1,
                            "weak bind opcodes", d)) ||
            (e = read_binds(img, st, st->lazy_bind_off, st->lazy_bind_size, 1, 0,
                            "lazy bind opcodes", d)))
            return e;
    }
    if (st->nfix > 1)
        qsort(st->fix, st->nfix, sizeof *st->fix, cmp_fix);
    for (size_t i = 0; i < st->nfix; i++) {
        const struct macho_fix *f = &st->fix[i];
        if (f->kind == MACHO_FIX_BIND && !strcmp(f->name, st->helper_sym) && f->addend == 0 &&
            (e = macho_push_helper_slot(img, f->va, d)))
            return e;
    }
    return helper_indirect(img, st, d);
}

enum rw_err macho_read_pointer(const struct rw_image *img, uint64_t va, uint64_t *value)
{
    const struct macho_state *st = macho_st(img);
    if (!st || img->kind == RW_KIND_OBJECT)
        return RW_E_UNSUPPORTED;
    size_t lo = 0, hi = st->nfix;
    while (lo < hi) { /* first fixup at va or above */
        size_t mid = lo + (hi - lo) / 2;
        if (st->fix[mid].va < va)
            lo = mid + 1;
        else
            hi = mid;
    }
    int rebase = 0;
    uint64_t target = 0;
    for (size_t i = lo; i < st->nfix && st->fix[i].va == va; i++) {
        if (st->fix[i].kind == MACHO_FIX_BIND)
            return RW_E_UNSUPPORTED; /* another module's symbol (or a weak override) */
        rebase = 1;
        target = st->fix[i].target;
    }
    if (rebase) {
        *value = target;
        return RW_OK;
    }
    /* no fixup: the bytes as stored, zero in a segment's zero-filled tail */
    for (size_t i = 0; i < st->nseg; i++) {
        const struct macho_seg *g = &st->seg[i];
        if (va < g->vmaddr || va - g->vmaddr > g->vmsize || PTR > g->vmsize - (va - g->vmaddr))
            continue;
        uint64_t rel = va - g->vmaddr;
        if (rel + PTR <= g->filesize) {
            *value = macho_u64(img->data + g->fileoff + rel);
            return RW_OK;
        }
        if (rel >= g->filesize) {
            *value = 0;
            return RW_OK;
        }
        return RW_E_UNSUPPORTED; /* straddles the end of the file data */
    }
    return RW_E_CORRUPT;
}

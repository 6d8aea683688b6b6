/* scan_x86_64.c - finds the helper's call sites in x86-64 code (Zydis 4)
 * and proves the cookie register r11 constant in each call's basic block.
 * Knows instructions, no file format: everything comes from the model.
 *
 * 1. Helper addresses (linked images): the model's, plus every PLT entry
 *    (model's PLT sections, decoded here) that jumps through a helper slot.
 * 2. Regions: each executable section is cut at function ranges; the gaps
 *    between them are regions too. Each region is decoded linearly from its
 *    start; an undecodable byte is skipped (the sweep resynchronises on the
 *    next byte) and ends the basic block.
 * 3. Candidates: E8/E9 rel32 reaching a helper address (objects: carrying a
 *    BRANCH32/PCREL32 relocation against a helper symbol), FF 15/FF 25
 *    [rip+disp32] through a helper slot (objects: GOTPCREL32).
 *    Sweeps use Zydis' minimal mode (length, mnemonic and raw fields: the
 *    same as a full decode, checked at every byte offset of libLLVM and
 *    cc1) and decode again in full only the E8 / E9 / FF opcodes, whose
 *    segment attributes call_form needs. In linked images, a region none
 *    of whose bytes could start a site (E8/E9 rel32 to a helper address,
 *    FF 15/25 disp32 to a helper slot, at any alignment) is not swept at
 *    all, unless the image asks for decode_all.
 * 4. Only if there are candidates: basic-block boundaries, image-wide (every
 *    direct branch/call target - noted during step 3's sweep, and by a sweep
 *    of the regions step 3 skipped -, every symbol address, every code
 *    address a relocation stores; a bit per code byte), then each region
 *    holding a site is decoded again with operands while a forward state
 *    machine tracks the last write of r11 since the block began.
 *    docs/scan.md states the rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "format.h"
#include "scan_priv.h"

#define NONE64 UINT64_MAX

struct span {
    uint32_t sec;
    uint64_t start, end;
};

struct region {
    uint32_t sec;
    uint64_t start, end;
    size_t site_lo, site_hi; /* its sites: out->sites[lo, hi) */
    int traced;              /* its steps are x->tr[tr_lo...], its r11 writes x->set[set_lo...] */
    size_t tr_lo, set_lo;
};

/* One instruction of a traced region: what analyse needs of it. */
struct step {
    uint8_t len; /* 1 for an undecodable byte */
    uint8_t flags;
};
enum { ST_UNDEC = 1, ST_CALL = 2, ST_W11 = 4, ST_IJMP = 8, ST_ENDS = 16 };

struct x86 {
    const struct rw_image *img;
    ZydisDecoder dec;  /* minimal mode: the sweeps */
    ZydisDecoder full; /* with attributes and operands */
    uint64_t *haddr; /* helper addresses (linked), sorted, unique */
    size_t nhaddr, haddr_cap;
    uint64_t *hslot; /* the model's helper slots, sorted */
    size_t nhslot;
    size_t nbase;    /* while the PLT is decoded: haddr[0, nbase) are the model's */
    uint8_t **tg;    /* block boundaries: a bit per byte of each executable
                        section (NULL for others, and until the first one) */
    struct span *skipped; /* regions find_sites did not sweep */
    size_t nskipped, skipped_cap;
    struct region *rg;
    size_t nrg, rg_cap;
    struct step *tr;     /* steps of the traced regions (sweep_traced) */
    size_t ntr, tr_cap;
    struct setter *set;  /* their r11 writes, in order */
    size_t nset, set_cap;
    uint64_t *fwd;   /* forwarders found by analyse (linked): step 5 */
    size_t nfwd, fwd_cap;
    struct rw_scan *out;
    struct rw_diag *d;
};

static int is_target(const struct x86 *x, uint32_t sec, uint64_t off)
{
    const uint8_t *b = x->tg && sec < x->img->nsec ? x->tg[sec] : NULL;
    return b && off < x->img->sec[sec].size && (b[off >> 3] >> (off & 7) & 1);
}

/* Decode one instruction at (sec, off), not past end, with decoder dec. */
static int decode_with(const struct x86 *x, const ZydisDecoder *dec, uint32_t sec, uint64_t off,
                       uint64_t end, ZydisDecoderContext *ctx, ZydisDecodedInstruction *ins)
{
    const struct rw_section *s = &x->img->sec[sec];
    uint64_t avail = end - off;
    if (avail > ZYDIS_MAX_INSTRUCTION_LENGTH)
        avail = ZYDIS_MAX_INSTRUCTION_LENGTH;
    return ZYAN_SUCCESS(
        ZydisDecoderDecodeInstruction(dec, ctx, s->data + off, (ZyanUSize)avail, ins));
}

/* In full. */
static int decode(const struct x86 *x, uint32_t sec, uint64_t off, uint64_t end,
                  ZydisDecoderContext *ctx, ZydisDecodedInstruction *ins)
{
    return decode_with(x, &x->full, sec, off, end, ctx, ins);
}

/* The same for a sweep: minimal mode, in full only for the opcodes
 * call_form may accept (it reads segment attributes minimal mode leaves
 * out). Length and success are the same in both modes. */
static int sweep_decode(const struct x86 *x, uint32_t sec, uint64_t off, uint64_t end,
                        ZydisDecoderContext *ctx, ZydisDecodedInstruction *ins)
{
    if (!decode_with(x, &x->dec, sec, off, end, ctx, ins))
        return 0;
    if (ins->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT ||
        (ins->opcode != 0xE8 && ins->opcode != 0xE9 && ins->opcode != 0xFF))
        return 1;
    return decode(x, sec, off, end, ctx, ins);
}

/* The call/jmp encodings of a site; *field: offset of the rel32/disp32
 * (always the last 4 bytes). */
static int call_form(const ZydisDecodedInstruction *ins, uint8_t *form, uint8_t *field)
{
    if (ins->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT || ins->length > RW_SITE_MAX_BYTES)
        return 0;
    if (ins->attributes & (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS))
        return 0;
    if ((ins->opcode == 0xE8 && ins->mnemonic == ZYDIS_MNEMONIC_CALL) ||
        (ins->opcode == 0xE9 && ins->mnemonic == ZYDIS_MNEMONIC_JMP)) {
        if (ins->raw.imm[0].size != 32 || !ins->raw.imm[0].is_relative ||
            ins->raw.imm[0].offset + 4 != ins->length)
            return 0;
        *form = ins->opcode == 0xE8 ? RW_FORM_CALL_REL32 : RW_FORM_JMP_REL32;
        *field = ins->raw.imm[0].offset;
        return 1;
    }
    if (ins->opcode == 0xFF && (ins->attributes & ZYDIS_ATTRIB_HAS_MODRM) &&
        ins->raw.modrm.mod == 0 && ins->raw.modrm.rm == 5 &&
        (ins->raw.modrm.reg == 2 || ins->raw.modrm.reg == 4)) {
        if (ins->address_width != 64 || ins->raw.disp.size != 32 ||
            ins->raw.disp.offset + 4 != ins->length)
            return 0;
        *form = ins->raw.modrm.reg == 2 ? RW_FORM_CALL_MEM : RW_FORM_JMP_MEM;
        *field = ins->raw.disp.offset;
        return 1;
    }
    return 0;
}

static int32_t field32(const struct rw_section *s, uint64_t off)
{
    const uint8_t *p = s->data + off;
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* A pointer slot whose value the program cannot change (GOT, RELRO,
 * read-only data). */
static int const_slot(const struct rw_image *img, uint64_t va)
{
    uint32_t s = rw_section_at(img, va, 8);
    if (s == RW_NONE)
        return 0;
    uint32_t f = img->sec[s].flags;
    return (f & (RW_SEC_GOT | RW_SEC_RELRO)) || !(f & RW_SEC_WRITE);
}

/* Does the slot at va hold the helper's address? base_only: compare with
 * the helper's own addresses (the PLT is not known yet). */
static int helper_slot(const struct x86 *x, uint64_t va, int base_only)
{
    const struct rw_image *img = x->img;
    /* Slots the back-end names are filled with the helper by the loader or
     * the runtime, even in writable data (delay-load IATs, ReadyToRun
     * import cells); any other slot must be constant to be trusted. */
    if (has_u64(x->hslot, x->nhslot, va))
        return 1;
    if (!const_slot(img, va))
        return 0;
    uint64_t v;
    if (!img->ops || !img->ops->read_pointer || img->ops->read_pointer(img, va, &v) != RW_OK)
        return 0;
    return has_u64(x->haddr, base_only ? x->nbase : x->nhaddr, v);
}

static enum rw_err add_haddr(struct x86 *x, uint64_t va)
{
    if (grow((void **)&x->haddr, &x->haddr_cap, x->nhaddr, sizeof *x->haddr))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    x->haddr[x->nhaddr++] = va;
    return RW_OK;
}

static void sort_unique(struct x86 *x)
{
    if (x->nhaddr < 2)
        return;
    qsort(x->haddr, x->nhaddr, sizeof *x->haddr, cmp_u64);
    size_t m = 1;
    for (size_t i = 1; i < x->nhaddr; i++)
        if (x->haddr[i] != x->haddr[m - 1])
            x->haddr[m++] = x->haddr[i];
    x->nhaddr = m;
}

/* Step 1: the helper's addresses, with the PLT entries that jump through
 * one of its slots (and the endbr64 just before such a jump). */
static enum rw_err helper_addresses(struct x86 *x)
{
    const struct rw_image *img = x->img;
    enum rw_err e;
    if (img->helper.nslots) { /* the model does not promise an order */
        x->hslot = malloc(img->helper.nslots * sizeof *x->hslot);
        if (!x->hslot)
            return rw_fail(x->d, RW_E_NOMEM, "out of memory");
        memcpy(x->hslot, img->helper.slots, img->helper.nslots * sizeof *x->hslot);
        qsort(x->hslot, img->helper.nslots, sizeof *x->hslot, cmp_u64);
        x->nhslot = img->helper.nslots;
    }
    for (size_t i = 0; i < img->helper.naddrs; i++)
        if ((e = add_haddr(x, img->helper.addrs[i])))
            return e;
    sort_unique(x);
    x->nbase = x->nhaddr;
    for (size_t k = 0; k < img->helper.nplt_secs; k++) {
        uint32_t sec = img->helper.plt_secs[k];
        if (sec >= img->nsec || !img->sec[sec].data)
            continue;
        const struct rw_section *s = &img->sec[sec];
        uint64_t off = 0, prev = NONE64;
        int prev_endbr = 0;
        while (off < s->size) {
            ZydisDecoderContext ctx;
            ZydisDecodedInstruction ins;
            if (!sweep_decode(x, sec, off, s->size, &ctx, &ins)) {
                off++;
                prev = NONE64;
                continue;
            }
            uint8_t form, field;
            if (call_form(&ins, &form, &field) && form == RW_FORM_JMP_MEM) {
                uint64_t va = s->addr + off;
                uint64_t slot = va + ins.length + (uint64_t)(int64_t)field32(s, off + field);
                if (helper_slot(x, slot, 1)) {
                    if ((e = add_haddr(x, va)))
                        return e;
                    if (prev_endbr && prev != NONE64 && (e = add_haddr(x, s->addr + prev)))
                        return e;
                }
            }
            prev = off;
            prev_endbr = ins.mnemonic == ZYDIS_MNEMONIC_ENDBR64;
            off += ins.length;
        }
    }
    sort_unique(x);
    return RW_OK;
}

typedef enum rw_err (*region_fn)(struct x86 *x, uint32_t sec, uint64_t start, uint64_t end);

/* Step 2: every region of every executable section (PLT sections excluded). */
static enum rw_err for_each_region(struct x86 *x, region_fn fn)
{
    const struct rw_image *img = x->img;
    size_t fi = 0;
    for (uint32_t sec = 0; sec < img->nsec; sec++) {
        const struct rw_section *s = &img->sec[sec];
        while (fi < img->nfunc && img->func[fi].section < sec)
            fi++;
        if (!(s->flags & RW_SEC_EXEC) || !s->data || s->size == 0 || is_plt(img, sec))
            continue;
        uint64_t cur = 0;
        enum rw_err e;
        for (; fi < img->nfunc && img->func[fi].section == sec; fi++) {
            const struct rw_func *f = &img->func[fi];
            uint64_t start = f->start > cur ? f->start : cur;
            uint64_t end = f->end < s->size ? f->end : s->size;
            if (start >= end)
                continue;
            if (cur < start && (e = fn(x, sec, cur, start)))
                return e;
            if ((e = fn(x, sec, start, end)))
                return e;
            cur = end;
        }
        if (cur < s->size && (e = fn(x, sec, cur, s->size)))
            return e;
    }
    return RW_OK;
}

/* Step 3: is this instruction a call of the helper? Fills the site. */
static int is_site(const struct x86 *x, uint32_t sec, uint64_t off,
                   const ZydisDecodedInstruction *ins, struct rw_site *site)
{
    const struct rw_image *img = x->img;
    const struct rw_section *s = &img->sec[sec];
    uint8_t form, field;
    if (!call_form(ins, &form, &field))
        return 0;
    int rel32 = form == RW_FORM_CALL_REL32 || form == RW_FORM_JMP_REL32;
    int64_t val = field32(s, off + field);
    uint32_t reloc = RW_NONE;
    if (linked(img)) {
        uint64_t dest = s->addr + off + ins->length + (uint64_t)val;
        if (rel32 ? !has_u64(x->haddr, x->nhaddr, dest) : !helper_slot(x, dest, 0))
            return 0;
        if (has_u64(x->haddr, x->nhaddr, s->addr + off))
            return 0; /* a forwarder (step 5): the helper itself, not a call of it */
    } else {
        const struct rw_reloc *r = rw_reloc_at(img, sec, off + field);
        if (r) {
            /* S + A - P at the field; the destination is S when A + (end - P) is 0 */
            if (r->symbol == RW_NONE || (uint64_t)r->addend + (uint64_t)(ins->length - field) != 0)
                return 0;
            int ok = rel32 ? (r->kind == RW_R_X86_BRANCH32 || r->kind == RW_R_X86_PCREL32) &&
                                 is_helper_sym(img, r->symbol)
                           : (r->kind == RW_R_X86_GOTPCREL32 && is_helper_sym(img, r->symbol)) ||
                                 ((r->kind == RW_R_X86_PCREL32 || r->kind == RW_R_X86_IMPORT32) &&
                                  is_imp_sym(img, r->symbol));
            if (!ok)
                return 0;
            reloc = (uint32_t)(r - img->rel);
        } else {
            /* resolved by the assembler: a helper defined in this section */
            if (!rel32)
                return 0;
            uint64_t dest = off + ins->length + (uint64_t)val;
            int ok = 0;
            for (size_t i = 0; i < img->helper.nsyms && !ok; i++) {
                const struct rw_symbol *h = &img->sym[img->helper.syms[i]];
                ok = h->section == sec && h->value == dest;
            }
            if (!ok)
                return 0;
        }
    }
    memset(site, 0, sizeof *site);
    site->section = sec;
    site->offset = off;
    site->addr = linked(img) ? s->addr + off : off;
    site->form = form;
    site->length = ins->length;
    memcpy(site->orig, s->data + off, ins->length);
    site->reloc = reloc;
    site->cookie_section = RW_NONE;
    site->stub = RW_NONE;
    site->verdict = RW_SITE_OK;
    return 1;
}

static int32_t rd32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* Linked images: could any byte of [start, end) begin the last 5 (E8/E9
 * rel32) or 6 (FF 15/25 disp32) bytes of a site? is_site's destination
 * tests on every alignment, so a region this rejects has no site. */
static int may_hold_site(const struct x86 *x, uint32_t sec, uint64_t start, uint64_t end)
{
    const struct rw_section *s = &x->img->sec[sec];
    const uint8_t *p = s->data;
    for (uint64_t q = start; q + 5 <= end; q++) {
        uint8_t b = p[q];
        if (b == 0xE8 || b == 0xE9) {
            uint64_t dest = s->addr + q + 5 + (uint64_t)(int64_t)rd32(p + q + 1);
            if (has_u64(x->haddr, x->nhaddr, dest))
                return 1;
        } else if (b == 0xFF && q + 6 <= end && (p[q + 1] == 0x15 || p[q + 1] == 0x25)) {
            uint64_t slot = s->addr + q + 6 + (uint64_t)(int64_t)rd32(p + q + 2);
            if (helper_slot(x, slot, 0))
                return 1;
        }
    }
    return 0;
}

static enum rw_err note_target(struct x86 *x, uint32_t sec, uint64_t off,
                               const ZydisDecodedInstruction *ins);
static int sweep_traced(struct x86 *x, uint32_t sec, uint64_t start, uint64_t end,
                        enum rw_err *err);

static enum rw_err find_sites(struct x86 *x, uint32_t sec, uint64_t start, uint64_t end)
{
    size_t before = x->out->nsites;
    if (linked(x->img) && !x->img->decode_all) {
        if (!may_hold_site(x, sec, start, end)) {
            /* its branch targets are still needed if another region has sites */
            if (grow((void **)&x->skipped, &x->skipped_cap, x->nskipped, sizeof *x->skipped))
                return rw_fail(x->d, RW_E_NOMEM, "out of memory");
            x->skipped[x->nskipped++] = (struct span){sec, start, end};
            return RW_OK;
        }
        enum rw_err e = RW_OK;
        int t = sweep_traced(x, sec, start, end, &e);
        if (t < 0)
            return e; /* reported */
        if (t > 0)
            return RW_OK;
        /* else swept as below, and analysed by decoding again */
    }
    uint64_t off = start;
    while (off < end) {
        ZydisDecoderContext ctx;
        ZydisDecodedInstruction ins;
        if (!sweep_decode(x, sec, off, end, &ctx, &ins)) {
            off++;
            continue;
        }
        struct rw_site site;
        if (is_site(x, sec, off, &ins, &site) && rw_scan_push(x->out, &site))
            return rw_fail(x->d, RW_E_NOMEM, "out of memory");
        enum rw_err e = note_target(x, sec, off, &ins); /* step 4a in the same sweep */
        if (e)
            return e;
        off += ins.length;
    }
    if (x->out->nsites == before)
        return RW_OK;
    if (grow((void **)&x->rg, &x->rg_cap, x->nrg, sizeof *x->rg))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    x->rg[x->nrg++] = (struct region){sec, start, end, before, x->out->nsites, 0, 0, 0};
    return RW_OK;
}

static enum rw_err add_target(struct x86 *x, uint32_t sec, uint64_t off)
{
    const struct rw_image *img = x->img;
    if (sec >= img->nsec || !(img->sec[sec].flags & RW_SEC_EXEC) || off >= img->sec[sec].size)
        return RW_OK;
    if (!x->tg && !(x->tg = calloc(img->nsec, sizeof *x->tg)))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    if (!x->tg[sec]) {
        uint64_t n = img->sec[sec].size / 8 + 1;
        if (n > SIZE_MAX || !(x->tg[sec] = calloc((size_t)n, 1)))
            return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    }
    x->tg[sec][off >> 3] |= (uint8_t)(1u << (off & 7));
    return RW_OK;
}

static void clear_targets(struct x86 *x)
{
    for (size_t i = 0; x->tg && i < x->img->nsec; i++)
        if (x->tg[i])
            memset(x->tg[i], 0, (size_t)(x->img->sec[i].size / 8 + 1));
}

static void free_targets(struct x86 *x)
{
    for (size_t i = 0; x->tg && i < x->img->nsec; i++)
        free(x->tg[i]);
    free(x->tg);
}

static enum rw_err add_target_va(struct x86 *x, uint64_t va)
{
    uint32_t sec = rw_section_at(x->img, va, 1);
    return sec == RW_NONE ? RW_OK : add_target(x, sec, va - x->img->sec[sec].addr);
}

/* Step 4a: the direct branch target of one instruction (decoded by a
 * sweep: raw fields only). */
static enum rw_err note_target(struct x86 *x, uint32_t sec, uint64_t off,
                               const ZydisDecodedInstruction *ins)
{
    const struct rw_image *img = x->img;
    const struct rw_section *s = &img->sec[sec];
    if (!ins->raw.imm[0].is_relative)
        return RW_OK;
    uint64_t next = off + ins->length;
    int64_t rel = ins->raw.imm[0].value.s;
    const struct rw_reloc *r = NULL;
    if (!linked(img) && ins->raw.imm[0].size == 32)
        r = rw_reloc_at(img, sec, off + ins->raw.imm[0].offset);
    if (r) {
        if (r->symbol != RW_NONE && r->symbol < img->nsym && img->sym[r->symbol].section != RW_NONE)
            return add_target(x, img->sym[r->symbol].section,
                              img->sym[r->symbol].value + (uint64_t)r->addend +
                                  (ins->length - ins->raw.imm[0].offset));
        return RW_OK;
    }
    if (linked(img))
        return add_target_va(x, s->addr + next + (uint64_t)rel);
    return add_target(x, sec, next + (uint64_t)rel);
}

/* The same over a region find_sites did not sweep. */
static enum rw_err find_targets(struct x86 *x, uint32_t sec, uint64_t start, uint64_t end)
{
    uint64_t off = start;
    while (off < end) {
        ZydisDecoderContext ctx;
        ZydisDecodedInstruction ins;
        if (!sweep_decode(x, sec, off, end, &ctx, &ins)) {
            off++;
            continue;
        }
        enum rw_err e = note_target(x, sec, off, &ins);
        if (e)
            return e;
        off += ins.length;
    }
    return RW_OK;
}

/* Step 4b: symbol addresses and code addresses stored by relocations. */
static enum rw_err other_targets(struct x86 *x)
{
    const struct rw_image *img = x->img;
    enum rw_err e;
    for (size_t i = 0; i < img->nsym; i++) {
        const struct rw_symbol *s = &img->sym[i];
        if (s->section == RW_NONE || s->section >= img->nsec)
            continue;
        uint64_t off = linked(img) ? s->value - img->sec[s->section].addr : s->value;
        if (linked(img) && s->value < img->sec[s->section].addr)
            continue;
        if ((e = add_target(x, s->section, off)))
            return e;
    }
    for (size_t i = 0; i < img->nrel; i++) {
        const struct rw_reloc *r = &img->rel[i];
        if (!linked(img)) {
            /* absolute pointers into code: function tables, non-PIC jump tables */
            if ((r->kind == RW_R_ABS64 || r->kind == RW_R_X86_ABS32 || r->kind == RW_R_X86_ABS32S) &&
                r->symbol != RW_NONE && r->symbol < img->nsym &&
                img->sym[r->symbol].section != RW_NONE &&
                (e = add_target(x, img->sym[r->symbol].section,
                                img->sym[r->symbol].value + (uint64_t)r->addend)))
                return e;
        } else if (r->symbol == RW_NONE && (e = add_target_va(x, (uint64_t)r->addend))) {
            return e; /* relative relocations: their addend is the address */
        }
    }
    for (size_t i = 0; i < x->nhaddr; i++)
        if ((e = add_target_va(x, x->haddr[i])))
            return e;
    return RW_OK;
}

/* The last write of r11 and where the basic block began. */
enum why { WHY_REGION, WHY_FUNC, WHY_TARGET, WHY_CALL, WHY_BRANCH, WHY_UNDECODABLE };

struct setter {
    uint64_t off;
    uint8_t len;
    uint8_t form;  /* enum rw_cookie_form; NONE: a write we do not recognise */
    uint8_t field; /* offset of the disp / imm in the instruction */
    uint64_t val;  /* disp (sign-extended), or the immediate (extended as the CPU does) */
    char mnem[24];
};

struct bb {
    int have_write;      /* r11 written since the block began */
    struct setter set;   /* that write */
    uint64_t boundary;   /* a block start between the write and here, or NONE64 */
    uint64_t start;      /* where the block began (no write seen) */
    enum why why;
    uint64_t why_off;    /* the call / branch / byte that ended the previous block */
};

static void bb_reset(struct bb *b, uint64_t start, enum why why, uint64_t why_off)
{
    b->have_write = 0;
    b->boundary = NONE64;
    b->start = start;
    b->why = why;
    b->why_off = why_off;
}

static int writes_r11(const ZydisDecodedInstruction *ins, const ZydisDecodedOperand *ops)
{
    for (unsigned i = 0; i < ins->operand_count; i++)
        if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value) ==
                ZYDIS_REGISTER_R11)
            return 1;
    return 0;
}

static int rip_mem(const ZydisDecodedInstruction *ins, const ZydisDecodedOperand *op)
{
    return op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.base == ZYDIS_REGISTER_RIP &&
           op->mem.index == ZYDIS_REGISTER_NONE && ins->raw.disp.size == 32 &&
           op->mem.segment != ZYDIS_REGISTER_FS && op->mem.segment != ZYDIS_REGISTER_GS;
}

/* Recognise the cookie-setting forms of docs/abi.md section 2. */
static void classify_setter(const ZydisDecodedInstruction *ins, const ZydisDecodedOperand *ops,
                            uint64_t off, struct setter *st)
{
    memset(st, 0, sizeof *st);
    st->off = off;
    st->len = ins->length;
    /* what snprintf "%s" would write, without its per-setter cost */
    const char *m = ZydisMnemonicGetString(ins->mnemonic);
    if (!m)
        m = "(null)";
    size_t k = 0;
    for (; m[k] && k + 1 < sizeof st->mnem; k++)
        st->mnem[k] = m[k];
    st->mnem[k] = '\0';
    if (ins->operand_count_visible != 2 || ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER)
        return;
    ZydisRegister dst = ops[0].reg.value;
    if (ins->mnemonic == ZYDIS_MNEMONIC_LEA && dst == ZYDIS_REGISTER_R11 && rip_mem(ins, &ops[1])) {
        st->form = RW_COOKIE_LEA_RIP;
        st->field = ins->raw.disp.offset;
        st->val = (uint64_t)ins->raw.disp.value;
    } else if (ins->mnemonic == ZYDIS_MNEMONIC_MOV && ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        st->field = ins->raw.imm[0].offset;
        if (dst == ZYDIS_REGISTER_R11D && ins->raw.imm[0].size == 32) {
            st->form = RW_COOKIE_MOV_IMM32;
            st->val = (uint32_t)ins->raw.imm[0].value.u;
        } else if (dst == ZYDIS_REGISTER_R11 && ins->raw.imm[0].size == 32) {
            st->form = RW_COOKIE_MOV_IMM32;
            st->val = (uint64_t)(int64_t)(int32_t)(uint32_t)ins->raw.imm[0].value.u;
        } else if (dst == ZYDIS_REGISTER_R11 && ins->raw.imm[0].size == 64) {
            st->form = RW_COOKIE_MOVABS;
            st->val = ins->raw.imm[0].value.u;
        }
    } else if (ins->mnemonic == ZYDIS_MNEMONIC_MOV && dst == ZYDIS_REGISTER_R11 &&
               rip_mem(ins, &ops[1]) && ops[1].size == 64) {
        st->form = RW_COOKIE_LOAD_SLOT;
        st->field = ins->raw.disp.offset;
        st->val = (uint64_t)ins->raw.disp.value;
    }
}

/* Where a cookie setter points, in a linked image. */
static void resolve_linked(const struct x86 *x, uint32_t sec, const struct setter *st,
                           struct rw_site *site)
{
    const struct rw_image *img = x->img;
    uint64_t end = img->sec[sec].addr + st->off + st->len;
    uint64_t ck;
    switch (st->form) {
    case RW_COOKIE_LEA_RIP: ck = end + st->val; break;
    case RW_COOKIE_LOAD_SLOT: {
        uint64_t slot = end + st->val, v;
        if (!const_slot(img, slot)) {
            rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                        "cookie pointer loaded from 0x%llx, which is not a GOT slot or read-only",
                        (unsigned long long)slot);
            return;
        }
        enum rw_err e = img->ops && img->ops->read_pointer
                            ? img->ops->read_pointer(img, slot, &v) : RW_E_UNSUPPORTED;
        if (e) {
            rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                        "cookie pointer slot 0x%llx has no value known before run time",
                        (unsigned long long)slot);
            return;
        }
        ck = v;
        break;
    }
    default: ck = st->val; break;
    }
    site->cookie_addr = ck;
    uint32_t cs = rw_section_at(img, ck, 1);
    if (cs == RW_NONE) {
        rw_site_set(site, RW_SITE_COOKIE_UNREADABLE, "cookie address 0x%llx is not inside any section",
                    (unsigned long long)ck);
        return;
    }
    site->cookie_section = cs;
    site->cookie_offset = ck - img->sec[cs].addr;
}

/* Where a cookie setter points, in an object: through the relocation on
 * its displacement / immediate. */
static void resolve_object(const struct x86 *x, uint32_t sec, const struct setter *st,
                           struct rw_site *site)
{
    const struct rw_image *img = x->img;
    char b[RW_LOC_MAX];
    const struct rw_reloc *r = rw_reloc_at(img, sec, st->off + st->field);
    int64_t to_end = (int64_t)(st->len - st->field); /* end of instruction - field */
    if (!r) {
        if (st->form == RW_COOKIE_LEA_RIP) { /* same-section reference */
            site->cookie_section = sec;
            site->cookie_offset = st->off + st->len + st->val;
            site->cookie_addr = site->cookie_offset;
            return;
        }
        rw_site_set(site, RW_SITE_COOKIE_UNREADABLE,
                    "cookie setter at %s has no relocation: absolute address 0x%llx in a "
                    "relocatable object", rw_loc(img, sec, st->off, b), (unsigned long long)st->val);
        return;
    }
    const struct rw_symbol *s = r->symbol < img->nsym ? &img->sym[r->symbol] : NULL;
    uint32_t want;
    switch (st->form) {
    case RW_COOKIE_LEA_RIP: want = RW_R_X86_PCREL32; break;
    case RW_COOKIE_MOVABS: want = RW_R_ABS64; break;
    case RW_COOKIE_LOAD_SLOT: want = r->kind == RW_R_X86_PCREL32 ? RW_R_X86_PCREL32
                                                                 : RW_R_X86_GOTPCREL32; break;
    default: /* mov r11d, imm32 (R_X86_64_32) / mov r11, simm32 (32S) */
        want = r->kind == RW_R_X86_ABS32S ? RW_R_X86_ABS32S : RW_R_X86_ABS32;
        break;
    }
    if (r->kind != want) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "cookie setter at %s carries an unexpected relocation (type %u)",
                    rw_loc(img, sec, st->off, b), r->raw_type);
        return;
    }
    if (!s || s->section == RW_NONE) {
        rw_site_set(site, RW_SITE_COOKIE_UNREADABLE,
                    "cookie symbol '%.64s' is not defined in this object", s ? s->name : "?");
        return;
    }
    uint32_t csec = s->section;
    uint64_t coff;
    switch (st->form) {
    case RW_COOKIE_LEA_RIP: coff = s->value + (uint64_t)r->addend + (uint64_t)to_end; break;
    case RW_COOKIE_LOAD_SLOT:
        if (r->kind == RW_R_X86_GOTPCREL32) { /* the GOT slot holds S */
            if ((uint64_t)r->addend + (uint64_t)to_end != 0) {
                rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                            "GOT load of the cookie at %s has an unexpected addend %lld",
                            rw_loc(img, sec, st->off, b), (long long)r->addend);
                return;
            }
            coff = s->value;
        } else { /* a pointer in data: it must be constant and relocated */
            uint64_t slot = s->value + (uint64_t)r->addend + (uint64_t)to_end;
            const struct rw_section *ss = &img->sec[csec];
            const struct rw_reloc *p = rw_reloc_at(img, csec, slot);
            if (((ss->flags & RW_SEC_WRITE) && !(ss->flags & (RW_SEC_RELRO | RW_SEC_GOT))) ||
                !p || p->kind != RW_R_ABS64 || p->symbol >= img->nsym ||
                img->sym[p->symbol].section == RW_NONE) {
                rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                            "cookie pointer loaded from %s, which is not a constant pointer",
                            rw_loc(img, csec, slot, b));
                return;
            }
            csec = img->sym[p->symbol].section;
            coff = img->sym[p->symbol].value + (uint64_t)p->addend;
        }
        break;
    default: coff = s->value + (uint64_t)r->addend; break;
    }
    site->cookie_section = csec;
    site->cookie_offset = coff;
    site->cookie_addr = coff;
}

static const char *why_text(const struct x86 *x, uint32_t sec, const struct bb *b, char *buf)
{
    char l[RW_LOC_MAX];
    switch (b->why) {
    case WHY_FUNC: return "function start";
    case WHY_TARGET: return "a branch target";
    case WHY_CALL:
        snprintf(buf, 2 * RW_LOC_MAX, "after the call at %s", rw_loc(x->img, sec, b->why_off, l));
        return buf;
    case WHY_BRANCH:
        snprintf(buf, 2 * RW_LOC_MAX, "after the branch at %s",
                 rw_loc(x->img, sec, b->why_off, l));
        return buf;
    case WHY_UNDECODABLE:
        snprintf(buf, 2 * RW_LOC_MAX, "after undecodable bytes at %s",
                 rw_loc(x->img, sec, b->why_off, l));
        return buf;
    default: return "start of code without function information";
    }
}

/* The site's cookie, from the state of its basic block. */
static void evaluate(const struct x86 *x, uint32_t sec, const struct bb *b, struct rw_site *site)
{
    const struct rw_image *img = x->img;
    char l1[RW_LOC_MAX], l2[RW_LOC_MAX], w[2 * RW_LOC_MAX];
    if (!b->have_write) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "r11 (the cookie) is not set in the call's basic block, which starts at %s (%s)",
                    rw_loc(img, sec, b->start, l1), why_text(x, sec, b, w));
        return;
    }
    if (b->boundary != NONE64) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "r11 is set at %s, but %s between it and the call is a branch target "
                    "(another basic block)",
                    rw_loc(img, sec, b->set.off, l1), rw_loc(img, sec, b->boundary, l2));
        return;
    }
    if (b->set.form == RW_COOKIE_NONE) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "r11 is last written at %s by '%s', not a constant cookie form",
                    rw_loc(img, sec, b->set.off, l1), b->set.mnem);
        return;
    }
    site->cookie_form = b->set.form;
    site->setter_offset = b->set.off;
    if (linked(img))
        resolve_linked(x, sec, &b->set, site);
    else
        resolve_object(x, sec, &b->set, site);
}

static int ends_block(const ZydisDecodedInstruction *ins)
{
    switch (ins->meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_INTERRUPT:
        return 1;
    default:
        break;
    }
    switch (ins->mnemonic) {
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
        return 1;
    default:
        return 0;
    }
}

/* An indirect jump that may stay inside the function (a jump table): any
 * jmp through a register or through memory other than [rip+disp32]. */
static int indirect_jump(const ZydisDecodedInstruction *ins, const ZydisDecodedOperand *ops)
{
    if (ins->mnemonic != ZYDIS_MNEMONIC_JMP || ins->operand_count_visible < 1)
        return 0;
    if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
        return 0;
    return !rip_mem(ins, &ops[0]);
}

/* Decode the instruction at off in full with operands: 1 and its step
 * (and *set when it writes r11), 0 when it does not decode, 2 when its
 * operands do not. */
static int decode_step(const struct x86 *x, uint32_t sec, uint64_t off, uint64_t end,
                       ZydisDecodedInstruction *ins, struct step *st, struct setter *set)
{
    ZydisDecoderContext ctx;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!decode(x, sec, off, end, &ctx, ins))
        return 0;
    if (!ZYAN_SUCCESS(
            ZydisDecoderDecodeOperands(&x->full, &ctx, ins, ops, ZYDIS_MAX_OPERAND_COUNT)))
        return 2;
    st->len = ins->length;
    st->flags = 0;
    if (ins->meta.category == ZYDIS_CATEGORY_CALL) {
        st->flags |= ST_CALL;
    } else if (writes_r11(ins, ops)) {
        st->flags |= ST_W11;
        classify_setter(ins, ops, off, set);
    }
    if (indirect_jump(ins, ops))
        st->flags |= ST_IJMP;
    if (ends_block(ins))
        st->flags |= ST_ENDS;
    return 1;
}

/* find_sites' sweep of a linked image's region that may hold a site, done
 * with the full decode analyse needs, whose steps it keeps (two bytes an
 * instruction, and the r11 writes) so that analyse replays them instead of
 * decoding the region a second time. Visits the same offsets as the
 * minimal-mode sweep: where the full decode succeeds the minimal one does,
 * with the same length and raw fields (it only fills less); where they
 * could part - bytes only minimal mode decodes, operands that do not
 * decode (analyse would skip a byte there) - it gives up, undoes what it
 * added, and returns 0: the caller sweeps the old way. 1 done, -1 failed
 * (*err, reported). */
static int sweep_traced(struct x86 *x, uint32_t sec, uint64_t start, uint64_t end,
                        enum rw_err *err)
{
    size_t nsites0 = x->out->nsites, ntr0 = x->ntr, nset0 = x->nset;
    const struct rw_section *s = &x->img->sec[sec];
    uint64_t off = start;
    while (off < end) {
        ZydisDecodedInstruction ins;
        struct step st = {1, ST_UNDEC};
        if (grow((void **)&x->set, &x->set_cap, x->nset, sizeof *x->set) ||
            grow((void **)&x->tr, &x->tr_cap, x->ntr, sizeof *x->tr)) {
            *err = rw_fail(x->d, RW_E_NOMEM, "out of memory");
            return -1;
        }
        int k = decode_step(x, sec, off, end, &ins, &st, &x->set[x->nset]);
        if (k == 0) {
            ZydisDecoderContext ctx;
            uint64_t avail = end - off < ZYDIS_MAX_INSTRUCTION_LENGTH ? end - off
                                                                      : ZYDIS_MAX_INSTRUCTION_LENGTH;
            if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&x->dec, &ctx, s->data + off,
                                                           (ZyanUSize)avail, &ins)))
                k = 2;
        }
        if (k == 2) {
            x->out->nsites = nsites0;
            x->ntr = ntr0;
            x->nset = nset0;
            return 0;
        }
        x->tr[x->ntr++] = st;
        if (k == 0) {
            off++;
            continue;
        }
        if (st.flags & ST_W11)
            x->nset++;
        struct rw_site site;
        if (is_site(x, sec, off, &ins, &site) && rw_scan_push(x->out, &site)) {
            *err = rw_fail(x->d, RW_E_NOMEM, "out of memory");
            return -1;
        }
        if ((*err = note_target(x, sec, off, &ins))) /* step 4a in the same sweep */
            return -1;
        off += ins.length;
    }
    if (x->out->nsites == nsites0) { /* nothing to analyse: drop the steps */
        x->ntr = ntr0;
        x->nset = nset0;
        return 1;
    }
    if (grow((void **)&x->rg, &x->rg_cap, x->nrg, sizeof *x->rg)) {
        *err = rw_fail(x->d, RW_E_NOMEM, "out of memory");
        return -1;
    }
    x->rg[x->nrg++] = (struct region){sec, start, end, nsites0, x->out->nsites, 1, ntr0, nset0};
    return 1;
}

/* Step 4c: one region holding sites, decoded with operands (or its steps
 * replayed, when find_sites kept them). */
static enum rw_err analyse(struct x86 *x, const struct region *r)
{
    const struct rw_image *img = x->img;
    struct rw_site *sites = x->out->sites;
    struct bb b;
    const struct rw_func *fn = rw_func_at(img, r->sec, r->start);
    int at_func = fn && fn->start == r->start;
    bb_reset(&b, r->start, at_func ? WHY_FUNC : WHY_REGION, r->start);
    uint64_t indirect = NONE64;
    size_t si = r->site_lo, ti = r->tr_lo, wi = r->set_lo;
    uint64_t off = r->start;
    while (off < r->end) {
        struct step stp;
        struct setter set;
        if (r->traced) {
            if (ti >= x->ntr) /* cannot happen: the steps cover the region */
                return rw_fail(x->d, RW_E_INTERNAL, "scan: the kept steps end early");
            stp = x->tr[ti++];
            if ((stp.flags & ST_W11) && wi < x->nset)
                set = x->set[wi++];
            else
                stp.flags &= (uint8_t)~ST_W11;
        } else {
            ZydisDecodedInstruction ins;
            if (decode_step(x, r->sec, off, r->end, &ins, &stp, &set) != 1)
                stp = (struct step){1, ST_UNDEC};
        }
        if (stp.flags & ST_UNDEC) {
            bb_reset(&b, off + 1, WHY_UNDECODABLE, off);
            off++;
            continue;
        }
        if (off != r->start && is_target(x, r->sec, off)) {
            if (b.have_write) {
                if (b.boundary == NONE64)
                    b.boundary = off;
            } else {
                bb_reset(&b, off, WHY_TARGET, off);
            }
        }
        while (si < r->site_hi && sites[si].offset < off) { /* cannot happen: same sweep */
            rw_site_set(&sites[si], RW_SITE_COOKIE_UNKNOWN, "instruction stream desynchronised");
            si++;
        }
        if (si < r->site_hi && sites[si].offset == off) {
            struct rw_site *st = &sites[si++];
            evaluate(x, r->sec, &b, st);
            /* step 5: a jump to the helper that begins its basic block, where
             * code can enter: a function or region start, a branch target,
             * after a jump or return (not after a call, which clobbers r11,
             * nor after undecodable bytes) */
            if (linked(img) && b.start == off && b.why != WHY_CALL && b.why != WHY_UNDECODABLE &&
                (st->form == RW_FORM_JMP_MEM || st->form == RW_FORM_JMP_REL32)) {
                if (grow((void **)&x->fwd, &x->fwd_cap, x->nfwd, sizeof *x->fwd))
                    return rw_fail(x->d, RW_E_NOMEM, "out of memory");
                x->fwd[x->nfwd++] = img->sec[r->sec].addr + off;
            }
        }

        if (stp.flags & ST_CALL) {
            bb_reset(&b, off + stp.len, WHY_CALL, off); /* a call clobbers r11 */
        } else if (stp.flags & ST_W11) {
            b.have_write = 1;
            b.boundary = NONE64;
            b.set = set;
        }
        if (indirect == NONE64 && (stp.flags & ST_IJMP))
            indirect = off;
        if (stp.flags & ST_ENDS)
            bb_reset(&b, off + stp.len, WHY_BRANCH, off);
        off += stp.len;
    }
    for (; si < r->site_hi; si++)
        rw_site_set(&sites[si], RW_SITE_COOKIE_UNKNOWN, "instruction stream desynchronised");
    if (indirect != NONE64) {
        char l[RW_LOC_MAX];
        for (size_t i = r->site_lo; i < r->site_hi; i++)
            if (sites[i].verdict == RW_SITE_OK)
                rw_site_set(&sites[i], RW_SITE_COOKIE_UNKNOWN,
                            "the function has an indirect jump at %s (a jump table?): its basic "
                            "blocks cannot be proven",
                            rw_loc(img, r->sec, indirect, l));
    }
    return RW_OK;
}

/* Steps 2-4 over the helper addresses known so far. */
static enum rw_err scan_pass(struct x86 *x)
{
    enum rw_err e = for_each_region(x, find_sites);
    if (!e && x->out->nsites) {
        for (size_t i = 0; !e && i < x->nskipped; i++)
            e = find_targets(x, x->skipped[i].sec, x->skipped[i].start, x->skipped[i].end);
        if (!e)
            e = other_targets(x);
        for (size_t i = 0; !e && i < x->nrg; i++)
            e = analyse(x, &x->rg[i]);
    }
    return e;
}

/* Step 5 (linked images): a jump to the helper (jmp [rip+slot] through a
 * helper slot, or jmp rel32 to a helper address) that is the first
 * instruction of its basic block sets nothing: whatever reaches it reaches
 * the helper with the same registers and stack. Such a forwarder - a PE
 * import thunk, a hand-written trampoline - is a helper address itself
 * (docs/scan.md): its own jump is not a site, and calls to it are. The
 * scan runs again with those addresses until no new forwarder turns up
 * (each pass adds at least one address, and a forwarder is one of the
 * finitely many jump sites, so this ends; a chain of thunks takes a pass
 * per link, bounded below). */
#define MAX_FORWARDER_PASSES 8

enum rw_err rw_scan_x86_64(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d)
{
    struct x86 x = {.img = img, .out = out, .d = d};
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&x.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
        !ZYAN_SUCCESS(ZydisDecoderEnableMode(&x.dec, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE)) ||
        !ZYAN_SUCCESS(ZydisDecoderInit(&x.full, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return rw_fail(d, RW_E_INTERNAL, "cannot initialise the x86-64 decoder");
    enum rw_err e = RW_OK;
    if (linked(img))
        e = helper_addresses(&x);
    for (int pass = 0; !e; pass++) {
        x.nfwd = 0;
        e = scan_pass(&x);
        if (e || !x.nfwd || pass + 1 == MAX_FORWARDER_PASSES)
            break;
        size_t before = x.nhaddr;
        for (size_t i = 0; !e && i < x.nfwd; i++)
            e = add_haddr(&x, x.fwd[i]);
        sort_unique(&x);
        if (e || x.nhaddr == before)
            break;
        /* again, from nothing: sites, regions and block boundaries */
        out->nsites = 0;
        x.nrg = 0;
        x.ntr = 0;
        x.nset = 0;
        x.nskipped = 0;
        clear_targets(&x);
    }
    free(x.haddr);
    free(x.hslot);
    free_targets(&x);
    free(x.skipped);
    free(x.rg);
    free(x.tr);
    free(x.set);
    free(x.fwd);
    return e;
}

/* scan_aarch64.c - finds the helper's call sites in arm64 code (a64_dec.c)
 * and proves the cookie register x15 constant in each call's basic block.
 * Knows instructions, no file format: everything comes from the model.
 * The structure is scan_x86_64.c's; docs/scan.md section 7 states the rules.
 *
 * 1. Helper addresses (linked images): the model's, plus every PLT entry
 *    (adrp x16, page; ldr x17, [x16, #lo]; ...; br x17, with an optional
 *    bti c before it) whose slot holds the helper.
 * 2. Regions: each executable section is cut at function ranges; the gaps
 *    between them are regions too. Each region is decoded word by word from
 *    its start; data marked by the mapping symbols $d (literal pools) is
 *    skipped and ends the basic block.
 * 3. Candidates: BL/B whose destination is a helper address, directly or
 *    through a linker veneer or an import thunk (objects: CALL26/JUMP26
 *    against a helper symbol); BLR/BR Xn where Xn was loaded from a helper
 *    slot in the block (adrp + ldr, ldr literal; objects: GOT relocations
 *    against the helper, or COFF PAGE21/LO12 against its __imp_ pointer;
 *    BLR also: the helper's address computed by adrp + add or adr, the
 *    linker's relaxation of a GOT load). A forward
 *    state machine tracks, for every register, what the block last wrote
 *    into it.
 * 4. Only if there are candidates: basic-block boundaries, image-wide (every
 *    direct branch target and ADR target, every symbol address, every code
 *    address a relocation stores), then each region holding a site is
 *    walked again with the same state machine, which now also sees the
 *    boundaries, to prove x15 (and Xn of BLR/BR) within the call's block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a64_dec.h"
#include "format.h"
#include "scan_priv.h"

enum rw_err rw_scan_aarch64(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d);

#define NONE64 UINT64_MAX
#define COOKIE_REG 15

struct target {
    uint32_t sec;
    uint64_t off;
};

struct region {
    uint32_t sec;
    uint64_t start, end;
    size_t site_lo, site_hi; /* its sites: out->sites[lo, hi) */
};

/* Data inside an executable section ($d ... next $x or function start). */
struct span {
    uint32_t sec;
    uint64_t start, end;
};

struct a64 {
    const struct rw_image *img;
    uint64_t *haddr; /* helper addresses (linked), sorted, unique */
    size_t nhaddr, haddr_cap;
    uint64_t *hslot; /* the model's helper slots, sorted */
    size_t nhslot;
    size_t nbase;    /* while the PLT is decoded: haddr[0, nbase) are the model's */
    struct target *tg; /* block boundaries, sorted, unique */
    size_t ntg, tg_cap;
    struct region *rg;
    size_t nrg, rg_cap;
    struct span *data; /* sorted by (sec, start), disjoint */
    size_t ndata, data_cap;
    struct rw_scan *out;
    struct rw_diag *d;
};

static int cmp_target(const void *a, const void *b)
{
    const struct target *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int is_target(const struct a64 *x, uint32_t sec, uint64_t off)
{
    struct target key = {sec, off};
    size_t lo = 0, hi = x->ntg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_target(&x->tg[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->ntg && !cmp_target(&x->tg[lo], &key);
}

/* The instruction word at (sec, off), if the section has its 4 bytes. */
static int word_at(const struct rw_image *img, uint32_t sec, uint64_t off, uint32_t *w)
{
    const uint8_t *p = rw_section_bytes(img, sec, off, 4);
    if (!p)
        return 0;
    *w = a64_word(p);
    return 1;
}

/* The word at a virtual address (linked images). */
static int word_va(const struct rw_image *img, uint64_t va, struct a64_insn *in)
{
    uint32_t s = rw_section_at(img, va, 4), w;
    if (s == RW_NONE || !(img->sec[s].flags & RW_SEC_EXEC) ||
        !word_at(img, s, va - img->sec[s].addr, &w))
        return 0;
    a64_decode(w, in);
    return 1;
}

/* A pointer slot whose value the program cannot change (GOT, RELRO,
 * read-only data, code). */
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
static int helper_slot(const struct a64 *x, uint64_t va, int base_only)
{
    const struct rw_image *img = x->img;
    if (!const_slot(img, va))
        return 0;
    if (has_u64(x->hslot, x->nhslot, va))
        return 1;
    uint64_t v;
    if (!img->ops || !img->ops->read_pointer || img->ops->read_pointer(img, va, &v) != RW_OK)
        return 0;
    return has_u64(x->haddr, base_only ? x->nbase : x->nhaddr, v);
}

static enum rw_err add_haddr(struct a64 *x, uint64_t va)
{
    if (grow((void **)&x->haddr, &x->haddr_cap, x->nhaddr, sizeof *x->haddr))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    x->haddr[x->nhaddr++] = va;
    return RW_OK;
}

static void sort_unique(struct a64 *x)
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

/* Step 1: the helper's addresses, with the PLT entries that load one of its
 * slots (adrp x16, page; ldr x17, [x16, #lo]) and the bti c before them. */
static enum rw_err helper_addresses(struct a64 *x)
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
        int prev_bti = 0;
        for (uint64_t off = 0; off + 8 <= s->size; off += 4) {
            uint32_t w0, w1;
            if (!word_at(img, sec, off, &w0) || !word_at(img, sec, off + 4, &w1))
                break;
            struct a64_insn a, l;
            a64_decode(w0, &a);
            a64_decode(w1, &l);
            if (a.op == A64_ADRP && a.rd == 16 && l.op == A64_LDR_UIMM && l.sf && l.rd == 17 &&
                l.rn == 16) {
                uint64_t va = s->addr + off;
                uint64_t slot = a64_target(&a, va) + (uint64_t)l.imm;
                if (helper_slot(x, slot, 1)) {
                    if ((e = add_haddr(x, va)))
                        return e;
                    if (prev_bti && off >= 4 && (e = add_haddr(x, va - 4)))
                        return e;
                }
            }
            prev_bti = (a.flags & A64_F_BTI) != 0;
        }
    }
    sort_unique(x);
    return RW_OK;
}

/* Is a branch to va a call of the helper: a helper address, or a linker
 * veneer (range-extension thunk) or import thunk that jumps to one?
 *   [bti c;] adrp x16, page; add x16, x16, #lo; br x16          (GNU ld, lld)
 *   [bti c;] ldr x16, lit; br x16; lit: .xword target           (GNU ld, lld)
 *   [bti c;] ldr x16, lit; adr x17, here; add x16, x16, x17; br x16;
 *            lit: .xword target - here                          (GNU ld, far)
 *   [bti c;] adrp x16, page; ldr x16, [x16, #lo]; br x16        (PE import thunk,
 *            through a helper slot) */
static int reaches_helper(const struct a64 *x, uint64_t va)
{
    const struct rw_image *img = x->img;
    if (has_u64(x->haddr, x->nhaddr, va))
        return 1;
    struct a64_insn in[4];
    memset(in, 0, sizeof in);
    if (!word_va(img, va, &in[0]))
        return 0;
    if (in[0].flags & A64_F_BTI) {
        va += 4;
        if (!word_va(img, va, &in[0]))
            return 0;
    }
    for (int k = 1; k < 4; k++)
        if (!word_va(img, va + 4u * (unsigned)k, &in[k]))
            in[k].op = A64_UNDEF;
    if (in[0].op == A64_ADRP && in[0].rd == 16 && in[2].op == A64_BR &&
        !(in[2].flags & A64_F_PAC) && in[2].rn == 16) {
        uint64_t page = a64_target(&in[0], va);
        if (in[1].op == A64_ADD_IMM && in[1].sf && in[1].shift == 0 && in[1].rd == 16 &&
            in[1].rn == 16)
            return has_u64(x->haddr, x->nhaddr, page + (uint64_t)in[1].imm);
        if (in[1].op == A64_LDR_UIMM && in[1].sf && in[1].rd == 16 && in[1].rn == 16)
            return helper_slot(x, page + (uint64_t)in[1].imm, 0);
        return 0;
    }
    if (in[0].op != A64_LDR_LIT || !in[0].sf || in[0].rd != 16)
        return 0;
    uint64_t lit = a64_target(&in[0], va), v;
    if (!img->ops || !img->ops->read_pointer || img->ops->read_pointer(img, lit, &v) != RW_OK)
        return 0;
    if (in[1].op == A64_BR && !(in[1].flags & A64_F_PAC) && in[1].rn == 16 && lit == va + 8)
        return has_u64(x->haddr, x->nhaddr, v);
    if (in[1].op == A64_ADR && in[1].rd == 17 &&
        (in[2].word & 0xffe0fc00u) == 0x8b000000u && /* add x16, x16, x17 */
        (in[2].word & 0x3ffu) == (16u << 5 | 16u) && (in[2].word >> 16 & 31) == 17 &&
        in[3].op == A64_BR && !(in[3].flags & A64_F_PAC) && in[3].rn == 16 && lit == va + 16)
        return has_u64(x->haddr, x->nhaddr, a64_target(&in[1], va + 4) + v);
    return 0;
}

/* ---- data in code: the mapping symbols $d / $x ---- */

static int mapping(const char *name, char kind)
{
    return name && name[0] == '$' && name[1] == kind && (name[2] == 0 || name[2] == '.');
}

/* Offset of symbol s in its section, or NONE64. */
static uint64_t sym_off(const struct rw_image *img, const struct rw_symbol *s)
{
    if (s->section == RW_NONE || s->section >= img->nsec)
        return NONE64;
    if (!linked(img))
        return s->value;
    if (s->value < img->sec[s->section].addr)
        return NONE64;
    return s->value - img->sec[s->section].addr;
}

/* The first function start in sec after off, or NONE64. */
static uint64_t next_func(const struct rw_image *img, uint32_t sec, uint64_t off)
{
    size_t lo = 0, hi = img->nfunc;
    while (lo < hi) { /* first function of a later section, or of sec starting after off */
        size_t mid = lo + (hi - lo) / 2;
        const struct rw_func *f = &img->func[mid];
        if (f->section < sec || (f->section == sec && f->start <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < img->nfunc && img->func[lo].section == sec ? img->func[lo].start : NONE64;
}

struct mark {
    uint32_t sec;
    uint64_t off;
    int data; /* $d (else $x) */
};

static int cmp_mark(const void *a, const void *b)
{
    const struct mark *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return y->data - x->data; /* $d before $x at the same offset: no data */
}

/* The data spans: from each $d to the next $x, function start or section
 * end, merged where they overlap. */
static enum rw_err data_spans(struct a64 *x)
{
    const struct rw_image *img = x->img;
    struct mark *m = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < img->nsym; i++) {
        const struct rw_symbol *s = &img->sym[i];
        int d = mapping(s->name, 'd');
        if ((!d && !mapping(s->name, 'x')) || (s->flags & RW_SYM_GLOBAL))
            continue;
        uint64_t off = sym_off(img, s);
        if (off == NONE64 || !(img->sec[s->section].flags & RW_SEC_EXEC) ||
            off >= img->sec[s->section].size)
            continue;
        if (grow((void **)&m, &cap, n, sizeof *m)) {
            free(m);
            return rw_fail(x->d, RW_E_NOMEM, "out of memory");
        }
        m[n++] = (struct mark){s->section, off, d};
    }
    if (n > 1)
        qsort(m, n, sizeof *m, cmp_mark);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].data)
            continue;
        uint32_t sec = m[i].sec;
        uint64_t start = m[i].off, end = img->sec[sec].size, f = next_func(img, sec, start);
        size_t j = i + 1;
        while (j < n && m[j].sec == sec && m[j].data)
            j++;
        if (j < n && m[j].sec == sec)
            end = m[j].off;
        if (f < end)
            end = f;
        i = j - 1;
        if (end <= start)
            continue;
        if (x->ndata && x->data[x->ndata - 1].sec == sec && x->data[x->ndata - 1].end >= start) {
            if (end > x->data[x->ndata - 1].end) /* overlapping: merge */
                x->data[x->ndata - 1].end = end;
            continue;
        }
        if (grow((void **)&x->data, &x->data_cap, x->ndata, sizeof *x->data)) {
            free(m);
            return rw_fail(x->d, RW_E_NOMEM, "out of memory");
        }
        x->data[x->ndata++] = (struct span){sec, start, end};
    }
    free(m);
    return RW_OK;
}

/* If (sec, off) is data, the end of that data; else off. */
static uint64_t skip_data(const struct a64 *x, uint32_t sec, uint64_t off)
{
    size_t lo = 0, hi = x->ndata;
    while (lo < hi) { /* first span starting after (sec, off) */
        size_t mid = lo + (hi - lo) / 2;
        const struct span *s = &x->data[mid];
        if (s->sec < sec || (s->sec == sec && s->start <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && x->data[lo - 1].sec == sec && x->data[lo - 1].end > off)
        return x->data[lo - 1].end;
    return off;
}

typedef enum rw_err (*region_fn)(struct a64 *x, uint32_t sec, uint64_t start, uint64_t end);

/* Step 2: every region of every executable section (PLT sections excluded). */
static enum rw_err for_each_region(struct a64 *x, region_fn fn)
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

/* ---- the state machine: what the block last wrote into each register ---- */

enum why { WHY_REGION, WHY_FUNC, WHY_TARGET, WHY_CALL, WHY_BRANCH, WHY_UNDEF, WHY_DATA };

enum rkind {
    RK_NONE = 0, /* not written since the block began */
    RK_OTHER,    /* written by something we do not follow */
    RK_PAGE,     /* adrp: val = the page */
    RK_ADDR,     /* adrp + add, or adr: val = the address */
    RK_LOAD,     /* adrp + ldr, or ldr literal: val = the slot's address */
};

struct rstate {
    uint8_t kind;      /* enum rkind */
    uint8_t lit;       /* RK_ADDR: by adr; RK_LOAD: by ldr literal */
    uint64_t first;    /* the sequence's first instruction (adrp, adr, ldr literal) */
    uint64_t last;     /* the last write (add, ldr; = first for one instruction) */
    uint64_t boundary; /* a block start between first and here, or NONE64 */
    uint64_t val;      /* linked images: page / address / slot address */
    const char *mnem;  /* the last writer */
};

struct bb {
    struct rstate r[31];
    uint64_t start;   /* where the block began */
    uint64_t code;    /* its first instruction other than bti / nop, or NONE64 */
    enum why why;
    uint64_t why_off; /* the call / branch / word / data that ended the previous block */
};

static void bb_reset(struct bb *b, uint64_t start, enum why why, uint64_t why_off)
{
    memset(b->r, 0, sizeof b->r);
    b->start = start;
    b->code = NONE64;
    b->why = why;
    b->why_off = why_off;
}

/* A branch target at off: what was written before it belongs to another
 * block (kept, so that the reason can say where it was set). */
static void bb_target(struct bb *b, uint64_t off)
{
    for (int i = 0; i < 31; i++)
        if (b->r[i].kind != RK_NONE && b->r[i].boundary == NONE64)
            b->r[i].boundary = off;
    b->start = off;
    b->code = NONE64;
    b->why = WHY_TARGET;
    b->why_off = off;
}

/* Apply the writes of the instruction at (sec, off). */
static void bb_step(const struct a64 *x, uint32_t sec, uint64_t off, const struct a64_insn *in,
                    struct bb *b)
{
    if (!in->writes)
        return;
    uint64_t pc = linked(x->img) ? x->img->sec[sec].addr + off : off;
    struct rstate n = {RK_OTHER, 0, off, off, NONE64, 0, in->mnem};
    const struct rstate *src = in->rn < 31 ? &b->r[in->rn] : NULL;
    switch (in->op) {
    case A64_ADRP:
        n.kind = RK_PAGE;
        n.val = a64_target(in, pc);
        break;
    case A64_ADR:
        n.kind = RK_ADDR;
        n.lit = 1;
        n.val = a64_target(in, pc);
        break;
    case A64_ADD_IMM:
        if (in->sf && in->shift == 0 && src && src->kind == RK_PAGE) {
            n = *src;
            n.kind = RK_ADDR;
            n.last = off;
            n.val = src->val + (uint64_t)in->imm;
            n.mnem = in->mnem;
        }
        break;
    case A64_LDR_UIMM:
        if (in->sf && src && src->kind == RK_PAGE) {
            n = *src;
            n.kind = RK_LOAD;
            n.last = off;
            n.val = src->val + (uint64_t)in->imm;
            n.mnem = in->mnem;
        }
        break;
    case A64_LDR_LIT:
        if (in->sf) {
            n.kind = RK_LOAD;
            n.lit = 1;
            n.val = a64_target(in, pc);
        }
        break;
    default:
        break;
    }
    for (unsigned r = 0; r < 31; r++)
        if (in->writes >> r & 1u)
            b->r[r] = r == in->rd ? n : (struct rstate){RK_OTHER, 0, off, off, NONE64, 0, in->mnem};
}

/* ---- objects: what the relocations on a register's sequence say ---- */

/* The symbol of relocation r if it is defined here, else NULL. */
static const struct rw_symbol *rsym(const struct rw_image *img, const struct rw_reloc *r)
{
    if (!r || r->symbol == RW_NONE || r->symbol >= img->nsym)
        return NULL;
    return &img->sym[r->symbol];
}

/* Objects: where the literal of an ldr literal at (sec, off) lives. */
static int literal_loc(const struct rw_image *img, uint32_t sec, uint64_t off,
                       const struct a64_insn *in, uint32_t *lsec, uint64_t *loff,
                       const struct rw_reloc **rel)
{
    const struct rw_reloc *r = rw_reloc_at(img, sec, off);
    *rel = r;
    if (!r) {
        *lsec = sec;
        *loff = off + (uint64_t)in->imm;
        return 1;
    }
    const struct rw_symbol *s = rsym(img, r);
    if (r->kind != RW_R_A64_LITERAL || !s || s->section == RW_NONE)
        return 0;
    *lsec = s->section;
    *loff = s->value + (uint64_t)r->addend;
    return 1;
}

/* Does register state st (objects) hold the helper's address? */
static int object_is_helper(const struct a64 *x, uint32_t sec, const struct rstate *st)
{
    const struct rw_image *img = x->img;
    if (st->kind == RK_LOAD && st->lit) {
        struct a64_insn in;
        uint32_t w, lsec;
        uint64_t loff;
        const struct rw_reloc *r;
        if (!word_at(img, sec, st->first, &w))
            return 0;
        a64_decode(w, &in);
        if (!literal_loc(img, sec, st->first, &in, &lsec, &loff, &r))
            return 0;
        const struct rw_reloc *p = rw_reloc_at(img, lsec, loff);
        uint32_t f = img->sec[lsec].flags;
        return p && p->kind == RW_R_ABS64 && p->addend == 0 && is_helper_sym(img, p->symbol) &&
               (!(f & RW_SEC_WRITE) || (f & (RW_SEC_RELRO | RW_SEC_GOT)));
    }
    if ((st->kind != RK_LOAD && st->kind != RK_ADDR) || st->lit)
        return 0;
    const struct rw_reloc *r1 = rw_reloc_at(img, sec, st->first);
    const struct rw_reloc *r2 = rw_reloc_at(img, sec, st->last);
    if (!r1 || !r2 || r1->symbol != r2->symbol || r1->addend != 0 || r2->addend != 0)
        return 0;
    if (st->kind == RK_LOAD && is_imp_sym(img, r1->symbol)) /* COFF: __imp_ pointer */
        return r1->kind == RW_R_A64_PAGE21 && r2->kind == RW_R_A64_LO12;
    if (!is_helper_sym(img, r1->symbol))
        return 0;
    if (st->kind == RK_LOAD) /* ELF: the GOT slot */
        return r1->kind == RW_R_A64_GOT_PAGE21 && r2->kind == RW_R_A64_GOT_LO12;
    return r1->kind == RW_R_A64_PAGE21 && r2->kind == RW_R_A64_LO12;
}

/* Is the call target register's value (state st) the helper? BLR accepts
 * a computed address too (lld relaxes a GOT load of a symbol it can
 * resolve into adrp + add); BR only a load, since adrp + add + br is a
 * linker veneer — unless the block writes the cookie register (cookie): a
 * veneer never does. */
static int dest_is_helper(const struct a64 *x, uint32_t sec, const struct rstate *st, int call,
                          int cookie)
{
    /* a BR to a computed address is a veneer's shape, unless the block also
     * writes x15: no veneer does, a tail call whose GOT load the linker
     * relaxed to adrp + add does (ld64.lld, when the helper is linked in) */
    if (st->kind == RK_ADDR && !call && !cookie)
        return 0;
    if (!linked(x->img))
        return object_is_helper(x, sec, st);
    if (st->kind == RK_LOAD)
        return helper_slot(x, st->val, 0);
    if (st->kind == RK_ADDR)
        return has_u64(x->haddr, x->nhaddr, st->val);
    return 0;
}

/* Step 3: is this instruction a call of the helper? Fills the site. */
static int is_site(const struct a64 *x, uint32_t sec, uint64_t off, const struct a64_insn *in,
                   const struct bb *b, struct rw_site *site)
{
    const struct rw_image *img = x->img;
    const struct rw_section *s = &img->sec[sec];
    uint8_t form;
    uint32_t reloc = RW_NONE;
    if (in->op == A64_BL || in->op == A64_B) {
        form = in->op == A64_BL ? RW_FORM_BL : RW_FORM_B;
        if (linked(img)) {
            if (!reaches_helper(x, a64_target(in, s->addr + off)))
                return 0;
        } else {
            const struct rw_reloc *r = rw_reloc_at(img, sec, off);
            if (r) {
                if ((r->kind != RW_R_A64_CALL26 && r->kind != RW_R_A64_JUMP26) || r->addend != 0 ||
                    !is_helper_sym(img, r->symbol))
                    return 0;
                reloc = (uint32_t)(r - img->rel);
            } else { /* resolved by the assembler: a helper defined in this section */
                uint64_t dest = off + (uint64_t)in->imm;
                int ok = 0;
                for (size_t i = 0; i < img->helper.nsyms && !ok; i++) {
                    const struct rw_symbol *h = &img->sym[img->helper.syms[i]];
                    ok = h->section == sec && h->value == dest;
                }
                if (!ok)
                    return 0;
            }
        }
    } else if ((in->op == A64_BLR || in->op == A64_BR) && !(in->flags & A64_F_PAC) &&
               in->rn < 31) {
        const struct rstate *st = &b->r[in->rn];
        form = in->op == A64_BLR ? RW_FORM_BLR : RW_FORM_BR;
        if (!dest_is_helper(x, sec, st, in->op == A64_BLR, b->r[COOKIE_REG].kind != RK_NONE))
            return 0;
        /* A block that is only "[bti c;] load x16; br x16" with nothing in
         * x15 is a veneer (ldr literal), not a tail call site. */
        if (in->op == A64_BR && st->first == b->code && b->r[COOKIE_REG].kind == RK_NONE)
            return 0;
    } else {
        return 0;
    }
    memset(site, 0, sizeof *site);
    site->section = sec;
    site->offset = off;
    site->addr = linked(img) ? s->addr + off : off;
    site->form = form;
    site->length = 4;
    memcpy(site->orig, s->data + off, 4);
    site->reloc = reloc;
    site->cookie_section = RW_NONE;
    site->stub = RW_NONE;
    site->verdict = RW_SITE_OK;
    return 1;
}

/* ---- step 4: boundaries ---- */

static enum rw_err add_target(struct a64 *x, uint32_t sec, uint64_t off)
{
    const struct rw_image *img = x->img;
    if (sec >= img->nsec || !(img->sec[sec].flags & RW_SEC_EXEC) || off >= img->sec[sec].size)
        return RW_OK;
    if (grow((void **)&x->tg, &x->tg_cap, x->ntg, sizeof *x->tg))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    x->tg[x->ntg++] = (struct target){sec, off};
    return RW_OK;
}

static enum rw_err add_target_va(struct a64 *x, uint64_t va)
{
    uint32_t sec = rw_section_at(x->img, va, 1);
    return sec == RW_NONE ? RW_OK : add_target(x, sec, va - x->img->sec[sec].addr);
}

/* Step 4a: direct branch targets and ADR targets of one region. */
static enum rw_err find_targets(struct a64 *x, uint32_t sec, uint64_t start, uint64_t end)
{
    const struct rw_image *img = x->img;
    const struct rw_section *s = &img->sec[sec];
    for (uint64_t off = (start + 3) & ~(uint64_t)3; off + 4 <= end; off += 4) {
        uint64_t skip = skip_data(x, sec, off);
        if (skip != off) {
            off = ((skip + 3) & ~(uint64_t)3) - 4;
            continue;
        }
        uint32_t w;
        if (!word_at(img, sec, off, &w))
            break;
        struct a64_insn in;
        a64_decode(w, &in);
        if (!(in.flags & A64_F_TARGET) && in.op != A64_ADR)
            continue;
        enum rw_err e;
        const struct rw_reloc *r = linked(img) ? NULL : rw_reloc_at(img, sec, off);
        const struct rw_symbol *sym = rsym(img, r);
        if (r) /* every AArch64 branch and ADR relocation is S + A - P */
            e = sym && sym->section != RW_NONE
                    ? add_target(x, sym->section, sym->value + (uint64_t)r->addend)
                    : RW_OK;
        else if (linked(img))
            e = add_target_va(x, a64_target(&in, s->addr + off));
        else
            e = add_target(x, sec, off + (uint64_t)in.imm);
        if (e)
            return e;
    }
    return RW_OK;
}

/* Step 4b: symbol addresses and code addresses stored by relocations. */
static enum rw_err other_targets(struct a64 *x)
{
    const struct rw_image *img = x->img;
    enum rw_err e;
    for (size_t i = 0; i < img->nsym; i++) {
        const struct rw_symbol *s = &img->sym[i];
        uint64_t off = sym_off(img, s);
        if (off != NONE64 && (e = add_target(x, s->section, off)))
            return e;
    }
    for (size_t i = 0; i < img->nrel; i++) {
        const struct rw_reloc *r = &img->rel[i];
        if (!linked(img)) {
            /* absolute pointers into code: function tables, non-PIC jump tables */
            const struct rw_symbol *s = rsym(img, r);
            if (r->kind == RW_R_ABS64 && s && s->section != RW_NONE &&
                (e = add_target(x, s->section, s->value + (uint64_t)r->addend)))
                return e;
        } else if (r->symbol == RW_NONE && (e = add_target_va(x, (uint64_t)r->addend))) {
            return e; /* relative relocations: their addend is the address */
        }
    }
    for (size_t i = 0; i < x->nhaddr; i++)
        if ((e = add_target_va(x, x->haddr[i])))
            return e;
    if (x->ntg > 1) {
        qsort(x->tg, x->ntg, sizeof *x->tg, cmp_target);
        size_t m = 1;
        for (size_t i = 1; i < x->ntg; i++)
            if (cmp_target(&x->tg[i], &x->tg[m - 1]))
                x->tg[m++] = x->tg[i];
        x->ntg = m;
    }
    return RW_OK;
}

/* ---- the cookie ---- */

/* Where the cookie is, in a linked image. */
static void resolve_linked(const struct a64 *x, const struct rstate *st, struct rw_site *site)
{
    const struct rw_image *img = x->img;
    uint64_t ck = st->val;
    if (st->kind == RK_LOAD) {
        uint64_t slot = st->val, v;
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

/* Objects: the constant pointer at (psec, poff) and what it points to. */
static int const_pointer(const struct rw_image *img, uint32_t psec, uint64_t poff, uint32_t *csec,
                         uint64_t *coff)
{
    const struct rw_section *ss = &img->sec[psec];
    const struct rw_reloc *p = rw_reloc_at(img, psec, poff);
    const struct rw_symbol *t = rsym(img, p);
    if (((ss->flags & RW_SEC_WRITE) && !(ss->flags & (RW_SEC_RELRO | RW_SEC_GOT))) ||
        !p || p->kind != RW_R_ABS64 || !t || t->section == RW_NONE)
        return 0;
    *csec = t->section;
    *coff = t->value + (uint64_t)p->addend;
    return 1;
}

/* Where the cookie is, in an object: through the relocations on the
 * setting sequence. */
static void resolve_object(const struct a64 *x, uint32_t sec, const struct rstate *st,
                           struct rw_site *site)
{
    const struct rw_image *img = x->img;
    char b1[RW_LOC_MAX], b2[RW_LOC_MAX];
    uint32_t csec;
    uint64_t coff;
    if (st->lit) { /* adr x15, label / ldr x15, literal */
        struct a64_insn in;
        uint32_t w;
        if (!word_at(img, sec, st->first, &w)) {
            rw_site_set(site, RW_SITE_COOKIE_UNKNOWN, "instruction stream desynchronised");
            return;
        }
        a64_decode(w, &in);
        if (st->kind == RK_ADDR) {
            const struct rw_reloc *r = rw_reloc_at(img, sec, st->first);
            if (r) {
                rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                            "cookie setter at %s carries an unexpected relocation (type %u)",
                            rw_loc(img, sec, st->first, b1), r->raw_type);
                return;
            }
            csec = sec; /* same-section reference */
            coff = st->first + (uint64_t)in.imm;
        } else {
            uint32_t lsec;
            uint64_t loff;
            const struct rw_reloc *r;
            if (!literal_loc(img, sec, st->first, &in, &lsec, &loff, &r)) {
                const struct rw_symbol *s = rsym(img, r);
                if (r->kind == RW_R_A64_LITERAL)
                    rw_site_set(site, RW_SITE_COOKIE_UNREADABLE,
                                "cookie symbol '%.64s' is not defined in this object",
                                s ? s->name : "?");
                else
                    rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                                "cookie setter at %s carries an unexpected relocation (type %u)",
                                rw_loc(img, sec, st->first, b1), r->raw_type);
                return;
            }
            if (!const_pointer(img, lsec, loff, &csec, &coff)) {
                rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                            "cookie pointer loaded from %s, which is not a constant pointer",
                            rw_loc(img, lsec, loff, b1));
                return;
            }
        }
        site->cookie_section = csec;
        site->cookie_offset = coff;
        site->cookie_addr = coff;
        return;
    }
    /* adrp + add / adrp + ldr: both carry a relocation naming the same address */
    const struct rw_reloc *r1 = rw_reloc_at(img, sec, st->first);
    const struct rw_reloc *r2 = rw_reloc_at(img, sec, st->last);
    if (!r1 || !r2) {
        rw_site_set(site, RW_SITE_COOKIE_UNREADABLE,
                    "cookie setter at %s has no relocation: an absolute address in a "
                    "relocatable object",
                    rw_loc(img, sec, r1 ? st->last : st->first, b1));
        return;
    }
    int got = r1->kind == RW_R_A64_GOT_PAGE21;
    uint32_t want1 = got ? RW_R_A64_GOT_PAGE21 : RW_R_A64_PAGE21;
    uint32_t want2 = got ? RW_R_A64_GOT_LO12 : RW_R_A64_LO12;
    if (st->kind == RK_ADDR && got)
        want1 = RW_R_A64_PAGE21; /* adrp :got: + add makes no sense */
    const struct rw_reloc *bad = r1->kind != want1 ? r1 : r2->kind != want2 ? r2 : NULL;
    if (bad) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "cookie setter at %s carries an unexpected relocation (type %u)",
                    rw_loc(img, sec, bad == r1 ? st->first : st->last, b1), bad->raw_type);
        return;
    }
    if (r1->symbol != r2->symbol || r1->addend != r2->addend) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "cookie setter at %s: the adrp and the %s at %s name different addresses",
                    rw_loc(img, sec, st->first, b1), st->mnem, rw_loc(img, sec, st->last, b2));
        return;
    }
    const struct rw_symbol *s = rsym(img, r1);
    if (!s || s->section == RW_NONE) {
        rw_site_set(site, RW_SITE_COOKIE_UNREADABLE,
                    "cookie symbol '%.64s' is not defined in this object", s ? s->name : "?");
        return;
    }
    csec = s->section;
    coff = s->value + (uint64_t)r1->addend;
    if (st->kind == RK_LOAD && got) { /* the GOT slot holds S */
        if (r1->addend != 0) {
            rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                        "GOT load of the cookie at %s has an unexpected addend %lld",
                        rw_loc(img, sec, st->first, b1), (long long)r1->addend);
            return;
        }
        coff = s->value;
    } else if (st->kind == RK_LOAD) { /* a pointer in data: constant and relocated */
        uint64_t slot = coff;
        if (!const_pointer(img, s->section, slot, &csec, &coff)) {
            rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                        "cookie pointer loaded from %s, which is not a constant pointer",
                        rw_loc(img, s->section, slot, b1));
            return;
        }
    }
    site->cookie_section = csec;
    site->cookie_offset = coff;
    site->cookie_addr = coff;
}

static const char *why_text(const struct a64 *x, uint32_t sec, const struct bb *b, char *buf)
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
    case WHY_UNDEF:
        snprintf(buf, 2 * RW_LOC_MAX, "after an undefined instruction at %s",
                 rw_loc(x->img, sec, b->why_off, l));
        return buf;
    case WHY_DATA:
        snprintf(buf, 2 * RW_LOC_MAX, "after data at %s", rw_loc(x->img, sec, b->why_off, l));
        return buf;
    default: return "start of code without function information";
    }
}

/* The site's destination register (BLR/BR) and cookie, from the state of
 * its basic block. */
static void evaluate(const struct a64 *x, uint32_t sec, const struct bb *b,
                     const struct a64_insn *in, struct rw_site *site)
{
    const struct rw_image *img = x->img;
    char l1[RW_LOC_MAX], l2[RW_LOC_MAX], w[2 * RW_LOC_MAX];
    if ((site->form == RW_FORM_BLR || site->form == RW_FORM_BR) && in->rn < 31 &&
        b->r[in->rn].boundary != NONE64) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "x%u (the call's destination) is loaded at %s, but %s between it and the "
                    "call is a branch target (another basic block)",
                    in->rn, rw_loc(img, sec, b->r[in->rn].first, l1),
                    rw_loc(img, sec, b->r[in->rn].boundary, l2));
        return;
    }
    const struct rstate *st = &b->r[COOKIE_REG];
    if (st->kind == RK_NONE) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "x15 (the cookie) is not set in the call's basic block, which starts at %s (%s)",
                    rw_loc(img, sec, b->start, l1), why_text(x, sec, b, w));
        return;
    }
    if (st->boundary != NONE64) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "x15 is set at %s, but %s between it and the call is a branch target "
                    "(another basic block)",
                    rw_loc(img, sec, st->first, l1), rw_loc(img, sec, st->boundary, l2));
        return;
    }
    if (st->kind != RK_ADDR && st->kind != RK_LOAD) {
        rw_site_set(site, RW_SITE_COOKIE_UNKNOWN,
                    "x15 is last written at %s by '%s', not a constant cookie form",
                    rw_loc(img, sec, st->last, l1), st->mnem);
        return;
    }
    site->cookie_form = st->kind == RK_ADDR ? RW_COOKIE_ADRP_ADD
                        : st->lit           ? RW_COOKIE_LDR_LIT
                                            : RW_COOKIE_ADRP_LDR;
    site->setter_offset = st->first;
    if (linked(img))
        resolve_linked(x, st, site);
    else
        resolve_object(x, sec, st, site);
}

/* Does BR (not a site) with its register in state st leave the function
 * (a tail call through a slot, or to a known address outside the region)? */
static int leaves_region(const struct a64 *x, uint32_t sec, const struct region *r,
                         const struct rstate *st)
{
    const struct rw_image *img = x->img;
    if (st->boundary != NONE64)
        return 0;
    if (st->kind == RK_LOAD)
        return 1;
    if (st->kind != RK_ADDR)
        return 0;
    if (linked(img)) {
        uint64_t lo = img->sec[sec].addr + r->start, hi = img->sec[sec].addr + r->end;
        return st->val < lo || st->val >= hi;
    }
    const struct rw_reloc *rel = rw_reloc_at(img, sec, st->first);
    const struct rw_symbol *s = rsym(img, rel);
    if (!rel) /* resolved by the assembler: in this section */
        return st->val < r->start || st->val >= r->end;
    if (!s)
        return 0;
    if (s->section == RW_NONE)
        return 1; /* an undefined symbol: another object */
    uint64_t off = s->value + (uint64_t)rel->addend;
    return s->section != sec || off < r->start || off >= r->end;
}

/* Steps 3 and 4c: one region, word by word, with the register states.
 * find: push the candidates (step 3; no boundaries known yet); else
 * evaluate the region's sites (step 4c). */
static enum rw_err walk(struct a64 *x, const struct region *r, int find)
{
    const struct rw_image *img = x->img;
    struct bb b;
    int at_func = rw_func_at(img, r->sec, r->start) &&
                  rw_func_at(img, r->sec, r->start)->start == r->start;
    bb_reset(&b, r->start, at_func ? WHY_FUNC : WHY_REGION, r->start);
    uint64_t indirect = NONE64;
    size_t si = r->site_lo;
    struct rw_site *sites = x->out->sites;
    for (uint64_t off = (r->start + 3) & ~(uint64_t)3; off + 4 <= r->end; off += 4) {
        uint64_t skip = skip_data(x, r->sec, off);
        if (skip != off) {
            uint64_t next = (skip + 3) & ~(uint64_t)3;
            bb_reset(&b, next, WHY_DATA, off);
            off = next - 4;
            continue;
        }
        uint32_t w;
        if (!word_at(img, r->sec, off, &w))
            break;
        struct a64_insn in;
        a64_decode(w, &in);
        if (off != r->start && is_target(x, r->sec, off))
            bb_target(&b, off);
        if (b.code == NONE64 && !(in.op == A64_HINT && (in.flags & A64_F_BTI || in.writes == 0)))
            b.code = off;
        if (find) {
            struct rw_site site;
            if (is_site(x, r->sec, off, &in, &b, &site) && rw_scan_push(x->out, &site))
                return rw_fail(x->d, RW_E_NOMEM, "out of memory");
        } else {
            while (si < r->site_hi && sites[si].offset < off) { /* cannot happen: same sweep */
                rw_site_set(&sites[si], RW_SITE_COOKIE_UNKNOWN, "instruction stream desynchronised");
                si++;
            }
            if (si < r->site_hi && sites[si].offset == off)
                evaluate(x, r->sec, &b, &in, &sites[si++]);
            if (indirect == NONE64 &&
                (in.op == A64_BRANCH_UNKNOWN ||
                 (in.op == A64_BR && !(in.rn < 31 && leaves_region(x, r->sec, r, &b.r[in.rn])) &&
                  !(si > r->site_lo && sites[si - 1].offset == off))))
                indirect = off;
        }
        if (in.flags & A64_F_CALL) {
            bb_reset(&b, off + 4, WHY_CALL, off); /* a call clobbers x15 (and x16, x17) */
            continue;
        }
        bb_step(x, r->sec, off, &in, &b);
        if (in.op == A64_UNDEF)
            bb_reset(&b, off + 4, WHY_UNDEF, off);
        else if (in.flags & (A64_F_END | A64_F_TARGET))
            bb_reset(&b, off + 4, WHY_BRANCH, off);
    }
    if (find)
        return RW_OK;
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

static enum rw_err find_sites(struct a64 *x, uint32_t sec, uint64_t start, uint64_t end)
{
    size_t before = x->out->nsites;
    struct region r = {sec, start, end, 0, 0};
    enum rw_err e = walk(x, &r, 1);
    if (e || x->out->nsites == before)
        return e;
    if (grow((void **)&x->rg, &x->rg_cap, x->nrg, sizeof *x->rg))
        return rw_fail(x->d, RW_E_NOMEM, "out of memory");
    x->rg[x->nrg++] = (struct region){sec, start, end, before, x->out->nsites};
    return RW_OK;
}

enum rw_err rw_scan_aarch64(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d)
{
    struct a64 x = {.img = img, .out = out, .d = d};
    enum rw_err e = data_spans(&x);
    if (!e && linked(img))
        e = helper_addresses(&x);
    if (!e)
        e = for_each_region(&x, find_sites);
    if (!e && out->nsites) {
        e = for_each_region(&x, find_targets);
        if (!e)
            e = other_targets(&x);
        for (size_t i = 0; !e && i < x.nrg; i++)
            e = walk(&x, &x.rg[i], 0);
    }
    free(x.haddr);
    free(x.hslot);
    free(x.tg);
    free(x.rg);
    free(x.data);
    return e;
}

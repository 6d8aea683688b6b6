/* pe.c - the PE/COFF back-end's entry points (format.h): probe, open,
 * close, read_pointer, write, describe; and the helpers the readers in
 * pe_image.c, pe_coff.c and pe_r2r.c share. docs/pe.md describes the model
 * this back-end fills. */
#include <stdlib.h>
#include <string.h>

#include "pe_priv.h"
#include "pe_r2r.h"
#include "pe_write.h"

static int pe_probe(const uint8_t *data, size_t size)
{
    if (size >= 64 && data[0] == 'M' && data[1] == 'Z') {
        /* a PE signature, or a PE header cut off by the end of the file
         * (open then says so); a DOS program with its own data is not ours */
        uint32_t lfanew = pe_u32(data + 0x3C);
        if (lfanew >= 64 && (lfanew > size || size - lfanew < 4))
            return 1;
        return lfanew <= size && size - lfanew >= 4 && !memcmp(data + lfanew, "PE\0\0", 4);
    }
    return pe_coff_probe(data, size) != 0;
}

void *pe_alloc(struct pe_state *st, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct pe_block *b = st->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        b = calloc(1, sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        if (n > 65536 / 2 && st->blocks) { /* a big one: keep filling the current block */
            b->next = st->blocks->next;
            st->blocks->next = b;
        } else {
            b->next = st->blocks;
            st->blocks = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *pe_strndup(struct pe_state *st, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = pe_alloc(st, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

const char *pe_machine_name(uint16_t machine)
{
    switch (machine) {
    case PE_MACHINE_AMD64: return "x86-64";
    case PE_MACHINE_ARM64: return "arm64";
    case PE_MACHINE_I386: return "i386";
    case PE_MACHINE_ARM64EC: return "arm64ec";
    case 0x01C4: return "arm (thumb-2)";
    default: return NULL;
    }
}

uint32_t pe_sec_of_rva(const struct rw_image *img, uint64_t rva)
{
    const struct pe_state *st = pe_st(img);
    uint64_t va = st->image_base + rva;
    size_t lo = 0, hi = img->nsec; /* image sections are sorted by address */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->sec[mid].addr <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return RW_NONE;
    const struct rw_section *s = &img->sec[lo - 1];
    return va - s->addr < s->size ? (uint32_t)(lo - 1) : RW_NONE;
}

const uint8_t *pe_rva_avail(const struct rw_image *img, uint64_t rva, uint64_t *avail)
{
    const struct pe_state *st = pe_st(img);
    *avail = 0;
    if (!st || st->object || rva > UINT32_MAX)
        return NULL;
    if (rva < st->hdr_map) {
        *avail = st->hdr_map - rva;
        return img->data + rva;
    }
    uint32_t s = pe_sec_of_rva(img, rva);
    if (s == RW_NONE || !img->sec[s].data)
        return NULL;
    uint64_t off = st->image_base + rva - img->sec[s].addr;
    *avail = img->sec[s].size - off;
    return img->sec[s].data + off;
}

const uint8_t *pe_rva_bytes(const struct rw_image *img, uint64_t rva, uint64_t len)
{
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, rva, &avail);
    return p && len <= avail ? p : NULL;
}

const char *pe_rva_str(const struct rw_image *img, uint64_t rva)
{
    uint64_t avail;
    const uint8_t *p = pe_rva_avail(img, rva, &avail);
    if (!p || !memchr(p, 0, avail))
        return NULL;
    return (const char *)p;
}

enum rw_err pe_push_sym(struct rw_image *img, const struct rw_symbol *s, struct rw_diag *d)
{
    struct pe_state *st = pe_st(img);
    if (rw_grow((void **)&img->sym, &st->sym_cap, img->nsym, sizeof *img->sym))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->sym[img->nsym++] = *s;
    return RW_OK;
}

enum rw_err pe_push_rel(struct rw_image *img, const struct rw_reloc *r, struct rw_diag *d)
{
    struct pe_state *st = pe_st(img);
    if (rw_grow((void **)&img->rel, &st->rel_cap, img->nrel, sizeof *img->rel))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->rel[img->nrel++] = *r;
    return RW_OK;
}

enum rw_err pe_push_func(struct rw_image *img, uint32_t sec, uint64_t start, uint64_t end,
                         const char *name, struct rw_diag *d)
{
    struct pe_state *st = pe_st(img);
    if (rw_grow((void **)&img->func, &st->func_cap, img->nfunc, sizeof *img->func))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->func[img->nfunc++] = (struct rw_func){sec, start, end, name};
    return RW_OK;
}

static enum rw_err push_u64_unique(uint64_t **arr, size_t *n, size_t *cap, uint64_t v,
                                   struct rw_diag *d)
{
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i] == v)
            return RW_OK;
    if (rw_grow((void **)arr, cap, *n, sizeof **arr))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    (*arr)[(*n)++] = v;
    return RW_OK;
}

enum rw_err pe_push_helper_slot(struct rw_image *img, uint64_t va, struct rw_diag *d)
{
    return push_u64_unique(&img->helper.slots, &img->helper.nslots, &pe_st(img)->hslot_cap, va, d);
}

enum rw_err pe_push_helper_addr(struct rw_image *img, uint64_t va, struct rw_diag *d)
{
    return push_u64_unique(&img->helper.addrs, &img->helper.naddrs, &pe_st(img)->haddr_cap, va, d);
}

enum rw_err pe_push_helper_sym(struct rw_image *img, uint32_t sym, int imp, struct rw_diag *d)
{
    struct pe_state *st = pe_st(img);
    uint32_t **arr = imp ? &img->helper.imp_syms : &img->helper.syms;
    size_t *n = imp ? &img->helper.nimp_syms : &img->helper.nsyms;
    size_t *cap = imp ? &st->himp_cap : &st->hsym_cap;
    if (rw_grow((void **)arr, cap, *n, sizeof **arr))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    (*arr)[(*n)++] = sym;
    return RW_OK;
}

enum rw_err pe_push_slot_range(struct rw_image *img, uint32_t start, uint64_t end,
                               struct rw_diag *d)
{
    struct pe_state *st = pe_st(img);
    if (end > UINT32_MAX)
        end = UINT32_MAX;
    if (end <= start)
        return RW_OK;
    if (rw_grow((void **)&st->slots, &st->slot_cap, st->nslots, sizeof *st->slots))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->slots[st->nslots++] = (struct pe_range){start, (uint32_t)end};
    return RW_OK;
}

static int cmp_range(const void *a, const void *b)
{
    const struct pe_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

void pe_finish_slots(struct pe_state *st)
{
    if (st->nslots < 2)
        return;
    qsort(st->slots, st->nslots, sizeof *st->slots, cmp_range);
    size_t n = 1; /* merge overlapping ranges so that a binary search works */
    for (size_t i = 1; i < st->nslots; i++) {
        struct pe_range *p = &st->slots[n - 1];
        if (st->slots[i].start <= p->end) {
            if (st->slots[i].end > p->end)
                p->end = st->slots[i].end;
        } else {
            st->slots[n++] = st->slots[i];
        }
    }
    st->nslots = n;
}

int pe_in_slot_range(const struct pe_state *st, uint64_t rva)
{
    size_t lo = 0, hi = st->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->slots[mid].start <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && rva < st->slots[lo - 1].end;
}

static void pe_close(struct rw_image *img)
{
    struct pe_state *st = pe_st(img);
    rw_image_free_model(img);
    if (st) {
        free(st->symmap);
        free(st->dlls);
        free(st->slots);
        pe_free_r2r(st->r2r);
        struct pe_block *b = st->blocks;
        while (b) {
            struct pe_block *next = b->next;
            free(b);
            b = next;
        }
        free(st);
    }
    img->backend = NULL;
}

/* Names in messages come from the file: keep every message one line. */
static enum rw_err one_line(enum rw_err e, struct rw_diag *d)
{
    if (e && d)
        for (char *p = d->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7F)
                *p = '?';
    return e;
}

static enum rw_err pe_open_checked(struct rw_image *img, struct rw_diag *d);

static enum rw_err pe_open(struct rw_image *img, struct rw_diag *d)
{
    return one_line(pe_open_checked(img, d), d);
}

static enum rw_err pe_open_checked(struct rw_image *img, struct rw_diag *d)
{
    struct pe_state *st = calloc(1, sizeof *st);
    if (!st)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->backend = st;
    img->format = RW_FMT_PE;
    if (!img->helper_name)
        img->helper_name = "GenericPInvokeCalliHelper";
    enum rw_err e;
    if (img->size >= 2 && img->data[0] == 'M' && img->data[1] == 'Z')
        e = pe_open_image(img, st, d);
    else
        e = pe_open_object(img, st, d);
    if (e)
        return e;
    /* the rewrite map (docs/abi.md section 7) */
    for (size_t i = 0; i < img->nsec; i++)
        if (img->sec[i].name && !strcmp(img->sec[i].name, ".crwmap"))
            img->rewritten = 1;
    if (st->r2r && st->r2r->rewritten)
        img->rewritten = 1;
    return rw_image_normalize(img, d);
}

/* The value a pointer slot holds once the image is loaded: the bytes in the
 * file (a DIR64 base relocation keeps the slot a link-time address), except
 * for slots the loader or the .NET runtime fills (IAT, delay-load IAT,
 * ReadyToRun import cells), whose value is not known statically. */
static enum rw_err pe_read_pointer(const struct rw_image *img, uint64_t va, uint64_t *value)
{
    const struct pe_state *st = pe_st(img);
    if (!st || st->object)
        return RW_E_UNSUPPORTED;
    if (va < st->image_base || va - st->image_base > UINT32_MAX)
        return RW_E_CORRUPT;
    uint64_t rva = va - st->image_base;
    uint32_t s = pe_sec_of_rva(img, rva);
    if (s == RW_NONE || img->sec[s].size - (va - img->sec[s].addr) < 8)
        return RW_E_CORRUPT;
    if (pe_in_slot_range(st, rva) || pe_in_slot_range(st, rva + 7))
        return RW_E_UNSUPPORTED;
    if (!img->sec[s].data) {
        *value = 0;
        return RW_OK;
    }
    *value = pe_u64(img->sec[s].data + (va - img->sec[s].addr));
    return RW_OK;
}

static enum rw_err pe_write(const struct rw_image *img, const struct rw_plan *plan,
                            struct rw_buf *out, struct rw_diag *d)
{
    return pe_st(img)->object ? pe_write_object(img, plan, out, d)
                              : pe_write_image(img, plan, out, d);
}

static enum rw_err pe_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    if (pe_st(img)->object) {
        *va = RW_NO_ADDRESS;
        return RW_OK;
    }
    return pe_image_code_va(img, va, d);
}

static enum rw_err pe_add_helper_rva(struct rw_image *img, uint64_t rva, struct rw_diag *d)
{
    const struct pe_state *st = pe_st(img);
    if (st->object)
        return rw_fail(d, RW_E_UNSUPPORTED, "--helper-rva applies to linked images, not objects");
    uint32_t s = rva <= UINT32_MAX ? pe_sec_of_rva(img, rva) : RW_NONE;
    if (s == RW_NONE || !(img->sec[s].flags & RW_SEC_EXEC) || !img->sec[s].data)
        return rw_fail(d, RW_E_CORRUPT, "--helper-rva 0x%llx is not inside an executable section",
                       (unsigned long long)rva);
    return pe_push_helper_addr(img, st->image_base + rva, d);
}

const struct rw_format_ops rw_pe_ops = {
    .name = "PE/COFF",
    .map_section = ".crwmap", /* docs/abi.md section 7 */
    .probe = pe_probe,
    .open = pe_open,
    .read_pointer = pe_read_pointer,
    .write = pe_write,
    .code_va = pe_code_va,
    .add_helper_rva = pe_add_helper_rva,
    .describe = pe_describe,
    .close = pe_close,
};

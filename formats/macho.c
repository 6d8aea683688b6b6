/* macho.c - the Mach-O back-end's entry points (format.h): probe, open,
 * close, find_map, add_helper_rva, describe; and the small helpers the
 * readers (macho_lc.c, macho_sym.c, macho_dyld.c) share. docs/macho.md
 * describes the model this back-end fills. */
#include <stdlib.h>
#include <string.h>

#include "macho_priv.h"
#include "plan.h"

static int macho_probe(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t m = macho_u32(data);
    /* 32-bit and big-endian thin files are claimed too, so that open can
     * refuse them with a precise line instead of "not a known format" */
    return m == MACHO_MH_MAGIC_64 || m == MACHO_MH_CIGAM_64 || m == MACHO_MH_MAGIC ||
           m == 0xcefaedfeu;
}

enum rw_err macho_push_func(struct rw_image *img, uint32_t sec, uint64_t start, uint64_t end,
                            const char *name, struct rw_diag *d)
{
    struct macho_state *st = macho_st(img);
    if (rw_grow((void **)&img->func, &st->func_cap, img->nfunc, sizeof *img->func))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->func[img->nfunc++] = (struct rw_func){sec, start, end, name};
    return RW_OK;
}

/* Duplicates are removed once at the end of open (sort_unique): a hostile
 * indirect table may name the helper in every one of a million entries. */
static enum rw_err push_u64(uint64_t **arr, size_t *n, size_t *cap, uint64_t v,
                            struct rw_diag *d)
{
    if (*n && (*arr)[*n - 1] == v)
        return RW_OK;
    if (rw_grow((void **)arr, cap, *n, sizeof **arr))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    (*arr)[(*n)++] = v;
    return RW_OK;
}

enum rw_err macho_push_helper_addr(struct rw_image *img, uint64_t va, struct rw_diag *d)
{
    return push_u64(&img->helper.addrs, &img->helper.naddrs, &macho_st(img)->haddr_cap,
                           va, d);
}

enum rw_err macho_push_helper_slot(struct rw_image *img, uint64_t va, struct rw_diag *d)
{
    return push_u64(&img->helper.slots, &img->helper.nslots, &macho_st(img)->hslot_cap,
                           va, d);
}

enum rw_err macho_push_plt_sec(struct rw_image *img, uint32_t sec, struct rw_diag *d)
{
    struct macho_state *st = macho_st(img);
    for (size_t i = 0; i < img->helper.nplt_secs; i++)
        if (img->helper.plt_secs[i] == sec)
            return RW_OK;
    if (rw_grow((void **)&img->helper.plt_secs, &st->hplt_cap, img->helper.nplt_secs,
                   sizeof *img->helper.plt_secs))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->helper.plt_secs[img->helper.nplt_secs++] = sec;
    return RW_OK;
}

int64_t macho_va_to_off(const struct macho_state *st, uint64_t va, uint64_t len)
{
    for (size_t i = 0; i < st->nseg; i++) {
        const struct macho_seg *g = &st->seg[i];
        if (va < g->vmaddr)
            continue;
        uint64_t rel = va - g->vmaddr;
        if (rel < g->filesize && len <= g->filesize - rel)
            return (int64_t)(g->fileoff + rel); /* lc.c: fileoff + filesize <= size */
    }
    return -1;
}

int macho_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    unsigned shift = 0;
    const uint8_t *q = *p;
    for (;;) {
        if (q >= end || shift > 140) /* padded encodings are fine, endless ones not */
            return -1;
        uint8_t b = *q++;
        uint64_t bits = b & 0x7f;
        if (shift >= 64) {
            if (bits)
                return -1;
        } else {
            if (shift > 57 && (bits >> (64 - shift)))
                return -1;
            r |= bits << shift;
        }
        shift += 7;
        if (!(b & 0x80))
            break;
    }
    *p = q;
    *v = r;
    return 0;
}

int macho_put_uleb(struct rw_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        if (rw_buf_append(b, &c, 1))
            return -1;
    } while (v);
    return 0;
}

int macho_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
    uint64_t r = 0;
    unsigned shift = 0;
    const uint8_t *q = *p;
    uint8_t b;
    do {
        if (q >= end || shift > 63)
            return -1;
        b = *q++;
        r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        r |= ~(uint64_t)0 << shift;
    *p = q;
    *v = (int64_t)r;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_unique(uint64_t *v, size_t *n)
{
    if (*n < 2)
        return;
    qsort(v, *n, sizeof *v, cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < *n; i++)
        if (v[i] != v[k - 1])
            v[k++] = v[i];
    *n = k;
}

static uint32_t find_map_sec(const struct rw_image *img)
{
    const char *want = img->kind == RW_KIND_OBJECT ? "__DWARF,__callirw_map" : "__CALLIRW,__map";
    for (uint32_t i = 0; i < img->nsec; i++)
        if (!strcmp(img->sec[i].name, want))
            return i;
    return RW_NONE;
}

static uint32_t macho_find_map(const struct rw_image *img)
{
    const struct macho_state *st = macho_st(img);
    return st ? st->map_sec : RW_NONE;
}

static void macho_close(struct rw_image *img)
{
    struct macho_state *st = macho_st(img);
    if (st) {
        free(st->lc);
        free(st->seg);
        free(st->sect);
        free(st->sym_model);
        free(st->raw_index);
        free(st->fix);
        free(st->helper_sym);
        free(st);
    }
    img->backend = NULL;
    rw_image_free_model(img);
}

static enum rw_err macho_open(struct rw_image *img, struct rw_diag *d)
{
    struct macho_state *st = calloc(1, sizeof *st);
    if (!st)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->backend = st;
    img->format = RW_FMT_MACHO;
    st->map_sec = RW_NONE;
    st->text_seg = st->linkedit_seg = UINT32_MAX;
    size_t hl = strlen(img->helper_name);
    st->helper_sym = malloc(hl + 2);
    if (!st->helper_sym)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    st->helper_sym[0] = '_'; /* C names carry a leading underscore in Mach-O */
    memcpy(st->helper_sym + 1, img->helper_name, hl + 1);

    enum rw_err e;
    if ((e = macho_read_commands(img, st, d)) || (e = macho_read_symbols(img, st, d)))
        return e;
    if (img->kind == RW_KIND_OBJECT)
        e = macho_read_relocs(img, st, d);
    else
        e = macho_read_fixups(img, st, d);
    if (e)
        return e;
    /* the relocations are already sorted with their raw_index (macho_sym.c):
     * normalise only the function ranges */
    size_t nrel = img->nrel;
    img->nrel = 0;
    e = rw_image_normalize(img, d);
    img->nrel = nrel;
    if (e)
        return e;
    sort_unique(img->helper.addrs, &img->helper.naddrs);
    sort_unique(img->helper.slots, &img->helper.nslots);
    st->map_sec = find_map_sec(img);
    img->rewritten = st->map_sec != RW_NONE;
    return RW_OK;
}

static enum rw_err macho_add_helper_rva(struct rw_image *img, uint64_t rva, struct rw_diag *d)
{
    struct macho_state *st = macho_st(img);
    if (img->kind == RW_KIND_OBJECT)
        return rw_fail(d, RW_E_UNSUPPORTED, "--helper-rva needs a linked image, not an object");
    if (rva > UINT64_MAX - st->base)
        return rw_fail(d, RW_E_CORRUPT, "--helper-rva 0x%llx is outside the image",
                       (unsigned long long)rva);
    uint64_t va = st->base + rva;
    uint32_t s = rw_section_at(img, va, 1);
    if (s == RW_NONE || !(img->sec[s].flags & RW_SEC_EXEC))
        return rw_fail(d, RW_E_CORRUPT, "--helper-rva 0x%llx is not inside an executable section",
                       (unsigned long long)rva);
    enum rw_err e = macho_push_helper_addr(img, va, d);
    if (!e)
        sort_unique(img->helper.addrs, &img->helper.naddrs);
    return e;
}

static const char *filetype_name(uint32_t t)
{
    switch (t) {
    case MACHO_MH_OBJECT: return "MH_OBJECT";
    case MACHO_MH_EXECUTE: return "MH_EXECUTE";
    case MACHO_MH_DYLIB: return "MH_DYLIB";
    case MACHO_MH_BUNDLE: return "MH_BUNDLE";
    default: return "?";
    }
}

static void macho_describe(const struct rw_image *img, FILE *out, int json)
{
    const struct macho_state *st = macho_st(img);
    if (!st)
        return;
    size_t nfix = img->kind == RW_KIND_OBJECT ? img->nrel : st->nfix;
    const char *fix = img->kind == RW_KIND_OBJECT ? "relocations"
                      : st->chained                ? "chained fixups"
                      : st->has_dyld_info          ? "dyld info (rebase/bind opcodes)"
                                                   : "none";
    if (json)
        fprintf(out,
                "{\"filetype\": \"%s\", \"load_commands\": %u, \"load_command_room\": %u, "
                "\"fixups\": \"%s\", \"fixup_count\": %zu, \"signed\": %s, "
                "\"function_starts\": %s}",
                filetype_name(st->filetype), st->ncmds, st->lc_room, fix, nfix,
                st->code_signature.present ? "true" : "false",
                st->function_starts.present ? "true" : "false");
    else
        fprintf(out,
                "Mach-O %s: %u load commands (%u bytes free after them), fixups: %s (%zu), "
                "%s, %s\n",
                filetype_name(st->filetype), st->ncmds, st->lc_room, fix, nfix,
                st->code_signature.present ? "code signature" : "unsigned",
                st->function_starts.present ? "function starts" : "no function starts");
}

static enum rw_err macho_write(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d)
{
    if (img->kind == RW_KIND_OBJECT)
        return macho_write_object(img, plan, out, d);
    return macho_write_image(img, plan, out, d);
}

const struct rw_format_ops rw_macho_ops = {
    .name = "Mach-O",
    .map_section = "__CALLIRW,__map",
    .probe = macho_probe,
    .open = macho_open,
    .read_pointer = macho_read_pointer,
    .write = macho_write,
    .code_va = macho_image_code_va,
    .add_helper_rva = macho_add_helper_rva,
    .describe = macho_describe,
    .find_map = macho_find_map,
    .close = macho_close,
};

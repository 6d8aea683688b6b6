/* map.c - encode and decode the rewrite map (docs/abi.md section 7). */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "map.h"
#include "plan.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* A string table under construction, deduplicated through a hash of the
 * strings' offsets (open addressing; a 100 000-site map adds a string per
 * site and per stub key). First occurrences keep their order. */
struct strtab {
    char *data;
    size_t len, cap;
    uint32_t *slot; /* offset + 1 of a string, or 0 */
    size_t nslot, used;
};

static int strtab_rehash(struct strtab *t)
{
    size_t n = t->nslot ? t->nslot * 2 : 256;
    uint32_t *v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < t->nslot; i++) {
        if (!t->slot[i])
            continue;
        const char *s = t->data + t->slot[i] - 1;
        size_t j = (size_t)rw_hash_bytes(s, strlen(s)) & (n - 1);
        while (v[j])
            j = (j + 1) & (n - 1);
        v[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = v;
    t->nslot = n;
    return 0;
}

static int strtab_add(struct strtab *t, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    if ((t->used + 1) * 2 > t->nslot && strtab_rehash(t))
        return -1;
    size_t j = (size_t)rw_hash_bytes(s, n - 1) & (t->nslot - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslot - 1)) { /* existing string? */
        const char *e = t->data + t->slot[j] - 1; /* NUL-terminated inside data */
        if (!strcmp(e, s)) {
            *off = t->slot[j] - 1;
            return 0;
        }
    }
    if (t->len + n >= UINT32_MAX)
        return -1;
    if (t->len + n > t->cap) {
        size_t c = t->cap ? t->cap * 2 : 256;
        while (c < t->len + n)
            c *= 2;
        char *p = realloc(t->data, c);
        if (!p)
            return -1;
        t->data = p;
        t->cap = c;
    }
    memcpy(t->data + t->len, s, n);
    *off = (uint32_t)t->len;
    t->slot[j] = (uint32_t)t->len + 1;
    t->used++;
    t->len += n;
    return 0;
}

enum rw_err rw_map_encode(const struct rw_map *m, uint8_t **out, size_t *outlen,
                          struct rw_diag *d)
{
    struct strtab st = {0};
    uint32_t *stub_str = NULL, *site_str = NULL;
    uint8_t *buf = NULL;
    enum rw_err err = RW_E_NOMEM;

    if (m->nstubs > UINT32_MAX / RW_MAP_STUB_SIZE || m->nsites > UINT32_MAX / RW_MAP_SITE_SIZE)
        return rw_fail(d, RW_E_INTERNAL, "rewrite map: too many entries");
    stub_str = calloc(m->nstubs * 2 + 1, sizeof *stub_str);
    site_str = calloc(m->nsites + 1, sizeof *site_str);
    if (!stub_str || !site_str)
        goto fail;
    if (strtab_add(&st, "", &stub_str[0])) /* offset 0 is the empty string */
        goto fail;
    for (size_t i = 0; i < m->nstubs; i++)
        if (strtab_add(&st, m->stubs[i].key, &stub_str[2 * i]) ||
            strtab_add(&st, m->stubs[i].readable, &stub_str[2 * i + 1]))
            goto fail;
    for (size_t i = 0; i < m->nsites; i++) {
        if (m->sites[i].stub >= m->nstubs || m->sites[i].length > RW_MAP_ORIG_MAX) {
            err = rw_fail(d, RW_E_INTERNAL, "rewrite map: site %zu is inconsistent", i);
            goto fail;
        }
        if (strtab_add(&st, m->sites[i].section ? m->sites[i].section : "", &site_str[i]))
            goto fail;
    }

    size_t len = RW_MAP_HEADER_SIZE + m->nstubs * RW_MAP_STUB_SIZE +
                 m->nsites * RW_MAP_SITE_SIZE + st.len;
    buf = calloc(1, len);
    if (!buf)
        goto fail;
    memcpy(buf, RW_MAP_MAGIC, 8);
    put32(buf + 8, RW_MAP_VERSION);
    put16(buf + 12, m->machine);
    put16(buf + 14, m->flags);
    put32(buf + 16, (uint32_t)m->nstubs);
    put32(buf + 20, (uint32_t)m->nsites);
    put32(buf + 24, (uint32_t)st.len);
    uint8_t *p = buf + RW_MAP_HEADER_SIZE;
    for (size_t i = 0; i < m->nstubs; i++, p += RW_MAP_STUB_SIZE) {
        const struct rw_map_stub *s = &m->stubs[i];
        put64(p, s->address);
        put32(p + 8, s->size);
        put32(p + 12, stub_str[2 * i]);
        put32(p + 16, stub_str[2 * i + 1]);
        put32(p + 20, s->nsites);
        put16(p + 24, s->flags);
    }
    for (size_t i = 0; i < m->nsites; i++, p += RW_MAP_SITE_SIZE) {
        const struct rw_map_site *s = &m->sites[i];
        put64(p, s->address);
        put32(p + 8, site_str[i]);
        put32(p + 12, s->stub);
        p[16] = s->form;
        p[17] = s->length;
        memcpy(p + 18, s->original, s->length);
    }
    memcpy(p, st.data, st.len);
    *out = buf;
    *outlen = len;
    buf = NULL;
    err = RW_OK;
fail:
    if (err == RW_E_NOMEM)
        rw_fail(d, err, "rewrite map: out of memory");
    free(buf);
    free(st.data);
    free(st.slot);
    free(stub_str);
    free(site_str);
    return err;
}

/* A string at off inside the table, or NULL if off is outside it. The table
 * is checked once to end in NUL, so every in-range offset is terminated. */
static const char *str_at(const char *tab, size_t size, uint32_t off)
{
    return off < size ? tab + off : NULL;
}

enum rw_err rw_map_decode(const uint8_t *data, size_t len, struct rw_map *m,
                          struct rw_diag *d)
{
    memset(m, 0, sizeof *m);
    if (len < RW_MAP_HEADER_SIZE || memcmp(data, RW_MAP_MAGIC, 8))
        return rw_fail(d, RW_E_CORRUPT, "rewrite map: bad magic");
    if (get32(data + 8) != RW_MAP_VERSION)
        return rw_fail(d, RW_E_UNSUPPORTED, "rewrite map: version %u is not supported",
                       get32(data + 8));
    uint32_t nstubs = get32(data + 16), nsites = get32(data + 20), strsz = get32(data + 24);
    uint64_t need = RW_MAP_HEADER_SIZE + (uint64_t)nstubs * RW_MAP_STUB_SIZE +
                    (uint64_t)nsites * RW_MAP_SITE_SIZE + strsz;
    if (need > len)
        return rw_fail(d, RW_E_CORRUPT,
                       "rewrite map: %u stubs, %u sites and %u string bytes need %llu bytes, have %zu",
                       nstubs, nsites, strsz, (unsigned long long)need, len);
    const uint8_t *strp = data + need - strsz;
    if (strsz == 0 || strp[strsz - 1] != 0)
        return rw_fail(d, RW_E_CORRUPT, "rewrite map: string table is not NUL-terminated");

    m->machine = get16(data + 12);
    m->flags = get16(data + 14);
    m->strtab = malloc(strsz);
    m->stubs = calloc(nstubs ? nstubs : 1, sizeof *m->stubs);
    m->sites = calloc(nsites ? nsites : 1, sizeof *m->sites);
    if (!m->strtab || !m->stubs || !m->sites) {
        rw_map_free(m);
        return rw_fail(d, RW_E_NOMEM, "rewrite map: out of memory");
    }
    memcpy(m->strtab, strp, strsz);
    m->strtab_size = strsz;
    m->nstubs = nstubs;
    m->nsites = nsites;

    const uint8_t *p = data + RW_MAP_HEADER_SIZE;
    for (uint32_t i = 0; i < nstubs; i++, p += RW_MAP_STUB_SIZE) {
        struct rw_map_stub *s = &m->stubs[i];
        s->address = get64(p);
        s->size = get32(p + 8);
        s->key = str_at(m->strtab, strsz, get32(p + 12));
        s->readable = str_at(m->strtab, strsz, get32(p + 16));
        s->nsites = get32(p + 20);
        s->flags = get16(p + 24);
        if (!s->key || !s->readable) {
            rw_map_free(m);
            return rw_fail(d, RW_E_CORRUPT, "rewrite map: stub %u names a string outside the table", i);
        }
    }
    for (uint32_t i = 0; i < nsites; i++, p += RW_MAP_SITE_SIZE) {
        struct rw_map_site *s = &m->sites[i];
        s->address = get64(p);
        s->section = str_at(m->strtab, strsz, get32(p + 8));
        s->stub = get32(p + 12);
        s->form = p[16];
        s->length = p[17];
        if (!s->section || s->stub >= nstubs || s->length > RW_MAP_ORIG_MAX) {
            rw_map_free(m);
            return rw_fail(d, RW_E_CORRUPT, "rewrite map: site %u is inconsistent", i);
        }
        if (!*s->section)
            s->section = NULL;
        memcpy(s->original, p + 18, s->length);
    }
    return RW_OK;
}

void rw_map_free(struct rw_map *m)
{
    free(m->stubs);
    free(m->sites);
    free(m->strtab);
    memset(m, 0, sizeof *m);
}

enum rw_err rw_map_from_plan(const struct rw_image *img, const struct rw_plan *plan,
                             uint64_t text_va, uint8_t **out, size_t *outlen, struct rw_diag *d)
{
    const struct rw_scan *scan = plan->scan;
    int object = img->kind == RW_KIND_OBJECT;
    struct rw_map m = {0};
    m.machine = img->machine == RW_MACH_AARCH64 ? 2 : 1;
    m.flags = object ? RW_MAP_F_OBJECT : 0;
    m.stubs = calloc(plan->nstubs + 1, sizeof *m.stubs);
    m.sites = calloc(scan->nok + 1, sizeof *m.sites);
    if (!m.stubs || !m.sites) {
        free(m.stubs);
        free(m.sites);
        return rw_fail(d, RW_E_NOMEM, "rewrite map: out of memory");
    }
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        m.stubs[i] = (struct rw_map_stub){object ? 0 : text_va + s->offset, (uint32_t)s->code.len,
                                          s->key, s->readable, s->nsites,
                                          (uint16_t)((s->code.has_frame ? RW_MAP_STUB_FRAME : 0) |
                                                     (s->suppress_gc ? RW_MAP_STUB_SGC : 0))};
    }
    m.nstubs = plan->nstubs;
    for (size_t i = 0; i < scan->nsites; i++) {
        const struct rw_site *s = &scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        struct rw_map_site *ms = &m.sites[m.nsites++];
        ms->address = object ? s->offset : s->addr;
        ms->section = object ? img->sec[s->section].name : NULL;
        ms->stub = s->stub;
        ms->form = s->form;
        ms->length = s->length;
        memcpy(ms->original, s->orig, s->length);
    }
    enum rw_err e = rw_map_encode(&m, out, outlen, d);
    free(m.stubs);
    free(m.sites);
    return e;
}

int rw_map_loc(const struct rw_image *img, const struct rw_map *m, uint64_t addr,
                const char *secname, uint32_t *sec, uint64_t *off)
{
    if (m->flags & RW_MAP_F_OBJECT) {
        for (uint32_t i = 0; i < img->nsec; i++)
            if (secname && img->sec[i].name && !strcmp(img->sec[i].name, secname)) {
                *sec = i;
                *off = addr;
                return 0;
            }
        return -1;
    }
    *sec = rw_section_at(img, addr, 1);
    if (*sec == RW_NONE)
        return -1;
    *off = addr - img->sec[*sec].addr;
    return 0;
}

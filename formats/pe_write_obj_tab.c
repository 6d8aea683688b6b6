/* pe_write_obj_tab.c - the COFF object writer's builders: section headers,
 * symbol records, strings, raw data (pe_write_obj.h). */
#include <stdio.h>
#include <string.h>

#include "pe_write_obj.h"

enum rw_err ow_oom(struct ow *w)
{
    return rw_fail(w->d, RW_E_NOMEM, "out of memory");
}

/* JamCRC of the section's contents, as LLVM puts in COMDAT aux records
 * (only IMAGE_COMDAT_SELECT_EXACT_MATCH reads it). */
static uint32_t jamcrc(const uint8_t *p, size_t n)
{
    uint32_t c = 0;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return c;
}

/* A name in the string table; returns its offset. */
enum rw_err ow_add_string(struct ow *w, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    if (w->strs.len > UINT32_MAX - n)
        return rw_fail(w->d, RW_E_NOROOM, "string table too large");
    *off = (uint32_t)w->strs.len;
    return rw_buf_append(&w->strs, s, n) ? ow_oom(w) : RW_OK;
}

/* New raw data at an alignment; returns its output file offset. */
enum rw_err ow_add_data(struct ow *w, const void *p, size_t n, size_t align, uint32_t *off)
{
    static const uint8_t zero[16];
    while ((w->data_base + w->data.len) % align)
        if (rw_buf_append(&w->data, zero, 1))
            return ow_oom(w);
    uint64_t o = w->data_base + w->data.len;
    if (o > UINT32_MAX || n > UINT32_MAX - o)
        return rw_fail(w->d, RW_E_NOROOM, "the object would exceed 4 GiB");
    *off = (uint32_t)o;
    return rw_buf_append(&w->data, p, n) ? ow_oom(w) : RW_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void ow_name_ref(uint8_t name8[8], uint32_t off)
{
    char buf[16];
    memset(name8, 0, 8);
    if (off <= COFF_MAX_DIGIT_NAME) {
        snprintf(buf, sizeof buf, "/%u", off);
        memcpy(name8, buf, strlen(buf));
        return;
    }
    name8[0] = name8[1] = '/';
    for (int i = 7; i >= 2; i--, off /= 64)
        name8[i] = (uint8_t)b64[off % 64];
}

int ow_name_off(const uint8_t name8[8], uint32_t *off)
{
    uint64_t v = 0;
    if (name8[0] != '/')
        return 0;
    if (name8[1] == '/') {
        for (int i = 2; i < 8; i++) {
            const char *c = name8[i] ? strchr(b64, name8[i]) : NULL;
            if (!c)
                return 0;
            v = v * 64 + (uint64_t)(c - b64);
        }
    } else {
        int i = 1;
        for (; i < 8 && name8[i]; i++) {
            if (name8[i] < '0' || name8[i] > '9')
                return 0;
            v = v * 10 + (uint64_t)(name8[i] - '0');
        }
        if (i == 1)
            return 0;
    }
    if (v > UINT32_MAX)
        return 0;
    *off = (uint32_t)v;
    return 1;
}

/* A section header; *num is its 1-based section number. */
enum rw_err ow_add_section(struct ow *w, const char *name, uint32_t ch, uint32_t rawsz,
                               uint32_t rawptr, uint32_t relptr, uint16_t nrel, uint32_t *num)
{
    uint8_t h[40] = {0};
    size_t len = strlen(name);
    if (len <= 8) {
        memcpy(h, name, len);
    } else {
        uint32_t off;
        enum rw_err e = ow_add_string(w, name, &off);
        if (e)
            return e;
        if (off > COFF_MAX_DIGIT_NAME && !w->prepend) /* pe_write_obj.c sized the table */
            return rw_fail(w->d, RW_E_INTERNAL, "section name %s at string offset %u, past /digits",
                           name, off);
        ow_name_ref(h, off);
    }
    pe_put32(h + 16, rawsz);
    pe_put32(h + 20, rawptr);
    pe_put32(h + 24, relptr);
    pe_put16(h + 32, nrel);
    pe_put32(h + 36, ch);
    *num = w->st->nsec + 1 + (uint32_t)(w->shdrs.len / 40);
    return rw_buf_append(&w->shdrs, h, sizeof h) ? ow_oom(w) : RW_OK;
}

/* A primary symbol record; *index is its symbol-table index. */
enum rw_err ow_add_symbol(struct ow *w, const char *name, uint32_t value, uint32_t secnum,
                              uint16_t type, uint8_t sclass, uint8_t naux, uint32_t *index)
{
    uint8_t r[20] = {0};
    size_t len = strlen(name);
    if (len <= 8) {
        memcpy(r, name, len);
    } else {
        uint32_t off;
        enum rw_err e = ow_add_string(w, name, &off);
        if (e)
            return e;
        pe_put32(r + 4, off);
    }
    pe_put32(r + 8, value);
    if (w->st->bigobj) {
        pe_put32(r + 12, secnum);
        pe_put16(r + 16, type);
        r[18] = sclass;
        r[19] = naux;
    } else {
        pe_put16(r + 12, secnum);
        pe_put16(r + 14, type);
        r[16] = sclass;
        r[17] = naux;
    }
    uint64_t idx = w->st->nsyms + w->syms.len / w->st->symsz;
    if (idx + naux >= UINT32_MAX)
        return rw_fail(w->d, RW_E_NOROOM, "too many symbols");
    if (index)
        *index = (uint32_t)idx;
    return rw_buf_append(&w->syms, r, w->st->symsz) ? ow_oom(w) : RW_OK;
}

/* A section symbol with its auxiliary section definition. */
enum rw_err ow_add_section_symbol(struct ow *w, const char *name, uint32_t secnum,
                                      const uint8_t *bytes, uint32_t len, uint16_t nrel,
                                      uint8_t selection)
{
    enum rw_err e = ow_add_symbol(w, name, 0, secnum, 0, PE_SYM_CLASS_STATIC, 1, NULL);
    if (e)
        return e;
    uint8_t a[20] = {0};
    pe_put32(a, len);
    pe_put16(a + 4, nrel);
    pe_put32(a + 8, jamcrc(bytes, len));
    a[14] = selection; /* Number (the associated section) stays 0 */
    return rw_buf_append(&w->syms, a, w->st->symsz) ? ow_oom(w) : RW_OK;
}

/* A 10-byte relocation record. */
void ow_reloc_rec(uint8_t *r, uint32_t va, uint32_t sym, uint16_t type)
{
    pe_put32(r, va);
    pe_put32(r + 4, sym);
    pe_put16(r + 8, type);
}


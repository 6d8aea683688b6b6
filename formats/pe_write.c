/* pe_write.c - rewriting linked PE32+ x86-64 images, EXE and DLL
 * (docs/pe.md, "Writing images").
 *
 * No existing RVA moves; file offsets stay too unless the headers lack room.
 * What changes:
 *  - four section headers are added in the slack after the section table
 *    (SizeOfHeaders may grow up to the first section's raw data and RVA);
 *    when that slack is too small but the address room before the first
 *    section is enough, everything from the old SizeOfHeaders on moves by
 *    the smallest multiple of FileAlignment that makes the room, and every
 *    field holding a file offset is moved with it (pe_write_room,
 *    move_offsets); no room either way, or header data living there:
 *    RW_E_NOROOM, nothing written;
 *  - four sections after the last one, their raw data appended at the end
 *    of the file (after an overlay such as GNU ld's COFF symbol table):
 *      .callirw  code (RX): the stubs at their plan offsets;
 *      .pdata    the new exception table: every old RUNTIME_FUNCTION byte
 *                for byte, then the framed stubs' (all above the old ones),
 *                sorted by BeginAddress; data directory 3 points at it. The
 *                old section called .pdata is renamed .pdata0 (its bytes
 *                stay), because GNU strip/objcopy re-point directory 3 at
 *                the section called .pdata. Frameless stubs get no entry
 *                (a leaf keeps the entry state); an input table that is
 *                not sorted or overlaps is refused (RW_E_CORRUPT);
 *      .crwdata  read-only: the stubs' UNWIND_INFOs (4-aligned), then, in a
 *                ReadyToRun image, what pe_r2r_rewrite adds (8-aligned);
 *      .crwmap   read-only: the rewrite map;
 *  - every RW_SITE_OK site patched in place (rewriter/patch.h);
 *  - NumberOfSections, SizeOfImage, SizeOfCode, SizeOfInitializedData,
 *    SizeOfHeaders, directory 3 and the CheckSum (always recomputed);
 *  - an Authenticode signature (directory 4) is dropped with a warning, its
 *    blob cut when it ends the file.
 * No base relocation is added (stubs are PC-relative, RUNTIME_FUNCTIONs are
 * RVAs); DllCharacteristics (ASLR, high-entropy VA, DEP, CFG) and the
 * timestamp are kept; the output is a function of the input alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "patch.h"
#include "pe_write.h"

#define NNEW 4u         /* section headers added */
#define SHDR_SIZE 40u
#define RF_SIZE 12u     /* x86-64 RUNTIME_FUNCTION */
#define DBG_SIZE 28u    /* IMAGE_DEBUG_DIRECTORY; PointerToRawData at +24 */

static const char *const new_names[NNEW] = {".callirw", ".pdata", ".crwdata", ".crwmap"};
static const uint32_t new_flags[NNEW] = {
    PE_SCN_CNT_CODE | PE_SCN_MEM_EXECUTE | PE_SCN_MEM_READ,
    PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_MEM_READ,
    PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_MEM_READ,
    PE_SCN_CNT_INITIALIZED_DATA | PE_SCN_MEM_READ,
};

/* Optional header (PE32+) field offsets. */
#define OH_SIZE_OF_CODE 4
#define OH_SIZE_OF_IDATA 8
#define OH_SIZE_OF_IMAGE 56
#define OH_SIZE_OF_HEADERS 60
#define OH_CHECKSUM 64
#define OH_DIRS 112

static int pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* v rounded up to a (a power of two); UINT64_MAX past 32 bits. */
static uint64_t up32(uint64_t v, uint32_t a)
{
    uint64_t r = (v + a - 1) & ~(uint64_t)(a - 1);
    return r > UINT32_MAX ? UINT64_MAX : r;
}

/* The room for the new section headers (pure; tests/unit/test_pe_write.c).
 * sh_end: the end of the section table; need: the bytes the new headers
 * take; soh: SizeOfHeaders; raw_first / va_first: the first section's raw
 * data (the file size when none has any) and RVA; fa: FileAlignment (a
 * power of two); zrun: zero bytes at sh_end (counting at most need); dir_at:
 * where the first data directory at or after sh_end starts (sh_end when one
 * spans it, UINT64_MAX when none does).
 *  - In place (delta 0, preferred: an image that has the room is written as
 *    before): need zero bytes before dir_at, raw_first and va_first, and
 *    SizeOfHeaders grown to cover them (FileAlignment-aligned) still at most
 *    min(raw_first, va_first).
 *  - Else by shifting (delta > 0): every file offset from soh on moves by
 *    delta, the smallest multiple of fa that puts soh at or past the new
 *    SizeOfHeaders up(sh_end + need, fa); the old header bytes after the
 *    table must be zero, no directory may start before sh_end + need, and
 *    the new SizeOfHeaders must stay at most va_first (the headers are
 *    mapped at RVA 0).
 * Returns PE_ROOM_OK with *new_soh and *delta set, PE_ROOM_BYTES (header
 * bytes or a directory in the way) or PE_ROOM_ADDR (not enough address room
 * before the first section). Exported for tests. */
enum { PE_ROOM_OK, PE_ROOM_BYTES, PE_ROOM_ADDR };
int pe_write_room(uint64_t sh_end, uint64_t need, uint64_t soh, uint64_t raw_first,
                  uint64_t va_first, uint32_t fa, uint64_t zrun, uint64_t dir_at,
                  uint32_t *new_soh, uint32_t *delta)
{
    uint64_t want = sh_end + need; /* inputs are 32-bit: no overflow */
    uint64_t limit = raw_first < va_first ? raw_first : va_first;
    uint64_t stop = dir_at < limit ? dir_at : limit;
    if (sh_end > soh || soh > limit || !pow2(fa))
        return PE_ROOM_BYTES; /* geometry refuses these first */
    /* in place */
    if (zrun >= need && stop >= want) {
        uint64_t s = soh >= want ? soh : up32(want, fa);
        if (s <= limit) {
            *new_soh = (uint32_t)s;
            *delta = 0;
            return PE_ROOM_OK;
        }
    }
    /* by shifting the file from soh on */
    uint64_t s = up32(want, fa);
    if (s == UINT64_MAX || s > va_first)
        return PE_ROOM_ADDR;
    if (soh >= want || zrun < soh - sh_end || dir_at < want)
        return PE_ROOM_BYTES; /* a shift would not make these bytes free */
    uint64_t dl = up32(s - soh, fa);
    if (dl == UINT64_MAX)
        return PE_ROOM_ADDR;
    *new_soh = (uint32_t)s;
    *delta = (uint32_t)dl;
    return PE_ROOM_OK;
}

/* The header geometry, from the headers alone (code_va uses it before the
 * plan exists, write after). */
struct pe_geom {
    uint32_t opt_off;   /* optional header */
    uint32_t sh_off;    /* section table */
    uint32_t sh_end;    /* end of the section table */
    uint32_t new_soh;   /* SizeOfHeaders after the rewrite */
    uint32_t text_rva;  /* where .callirw goes */
    uint32_t split;     /* the old SizeOfHeaders: file offsets from here on move */
    uint32_t delta;     /* by this much (0: nothing moves) */
};

static uint64_t rva_to_off(const struct rw_image *img, uint64_t rva, uint64_t len);

static enum rw_err geometry(const struct rw_image *img, struct pe_geom *g, struct rw_diag *d)
{
    const struct pe_state *st = pe_st(img);
    if (st->object)
        return rw_fail(d, RW_E_INTERNAL, "the image writer was given an object");
    uint16_t m = (uint16_t)(st->machine ^ st->os_override);
    if (m == PE_MACHINE_ARM64)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "rewriting arm64 PE images is not supported (no Windows arm64 stubs)");
    if (m != PE_MACHINE_AMD64)
        return rw_fail(d, RW_E_UNSUPPORTED, "PE machine 0x%04x cannot be rewritten", st->machine);
    uint32_t sa = st->section_alignment, fa = st->file_alignment;
    if (!pow2(sa) || !pow2(fa) || fa > sa || fa > 0x10000u || sa > 0x40000000u)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "section alignment 0x%x / file alignment 0x%x: not powers of two with "
                       "FileAlignment <= SectionAlignment", sa, fa);
    const uint8_t *f = img->data;
    /* pe_open_image checked these are inside the file */
    uint32_t optsz = pe_u16(f + st->pe_off + 20);
    g->opt_off = st->pe_off + 24;
    g->sh_off = g->opt_off + optsz;
    if ((uint64_t)st->nsec + NNEW > 0xFFFFu)
        return rw_fail(d, RW_E_NOROOM, "%u sections: no room for %u more", st->nsec, NNEW);
    g->sh_end = g->sh_off + SHDR_SIZE * st->nsec;
    if (st->shdr != f + g->sh_off || g->sh_end > img->size)
        return rw_fail(d, RW_E_INTERNAL, "section table moved");

    /* The headers may grow up to the first section's raw data and RVA. */
    uint64_t raw_first = img->size, va_first = UINT64_MAX, img_end = 0;
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *h = st->shdr + SHDR_SIZE * (size_t)i;
        uint32_t vsize = pe_u32(h + 8), va = pe_u32(h + 12), rawsz = pe_u32(h + 16),
                 rawptr = pe_u32(h + 20);
        if (rawsz && rawptr && rawptr < raw_first)
            raw_first = rawptr;
        if (va < va_first)
            va_first = va;
        uint64_t end = (uint64_t)va + (vsize ? vsize : rawsz);
        if (end > img_end)
            img_end = end;
    }
    uint64_t limit = raw_first < va_first ? raw_first : va_first;
    if (st->size_of_headers > limit || st->size_of_headers < g->sh_end)
        return rw_fail(d, RW_E_CORRUPT,
                       "SizeOfHeaders 0x%x does not end between the section table (0x%x) and the "
                       "first section (0x%llx)", st->size_of_headers, g->sh_end,
                       (unsigned long long)limit);
    uint32_t need = NNEW * SHDR_SIZE;
    /* free: zero bytes after the table, before anything a directory names */
    uint64_t dir_at = UINT64_MAX;
    const char *blocker = NULL;
    for (uint32_t i = 0; i < st->ndirs; i++) {
        uint64_t a = st->dir_rva[i], z = (uint64_t)a + st->dir_size[i]; /* dir 4: a file offset */
        if (!st->dir_size[i] && !a)
            continue;
        if (a <= g->sh_end && z > g->sh_end)
            dir_at = g->sh_end, blocker = pe_dir_name(i);
        else if (a >= g->sh_end && a < dir_at)
            dir_at = a, blocker = pe_dir_name(i);
    }
    uint64_t zrun = 0;
    while (zrun < need && g->sh_end + zrun < img->size && !f[g->sh_end + zrun])
        zrun++;
    int r = pe_write_room(g->sh_end, need, st->size_of_headers, raw_first, va_first, fa, zrun,
                          dir_at, &g->new_soh, &g->delta);
    if (r != PE_ROOM_OK) {
        uint64_t stop = dir_at < limit ? dir_at : limit, fr = g->sh_end;
        while (fr < stop && !f[fr])
            fr++;
        int named = fr == stop && blocker && dir_at < limit;
        if (r == PE_ROOM_ADDR)
            return rw_fail(d, RW_E_NOROOM,
                           "no room for %u section headers after the section table (0x%x): "
                           "%u bytes needed, %llu free, and the headers cannot grow past the "
                           "first section's RVA 0x%llx (SizeOfHeaders would be 0x%llx)", NNEW,
                           g->sh_end, need, (unsigned long long)(fr - g->sh_end),
                           (unsigned long long)va_first,
                           (unsigned long long)up32((uint64_t)g->sh_end + need, fa));
        return rw_fail(d, RW_E_NOROOM,
                       "no room for %u section headers after the section table (0x%x): "
                       "%u bytes needed, %llu free%s%s%s", NNEW, g->sh_end, need,
                       (unsigned long long)(fr - g->sh_end), named ? " (the " : "",
                       named ? blocker : "", named ? " directory follows the table)" : "");
    }
    g->split = st->size_of_headers;
    if (g->delta) {
        if ((uint64_t)img->size + g->delta > UINT32_MAX)
            return rw_fail(d, RW_E_NOROOM, "no room for %u section headers: moving the file "
                           "by 0x%x bytes would pass 4 GiB", NNEW, g->delta);
        /* the debug directory's entries hold file offsets: they must be found */
        if (st->ndirs > PE_DIR_DEBUG && st->dir_size[PE_DIR_DEBUG] >= DBG_SIZE &&
            rva_to_off(img, st->dir_rva[PE_DIR_DEBUG],
                       st->dir_size[PE_DIR_DEBUG] / DBG_SIZE * DBG_SIZE) == UINT64_MAX)
            return rw_fail(d, RW_E_CORRUPT,
                           "debug directory [0x%x, +0x%x) is not inside the image's bytes: its "
                           "entries' file offsets cannot be moved", st->dir_rva[PE_DIR_DEBUG],
                           st->dir_size[PE_DIR_DEBUG]);
    }
    uint64_t t = up32(img_end, sa), si = up32(st->size_of_image, sa);
    if (si > t)
        t = si;
    if (t == UINT64_MAX || t > UINT32_MAX - 4 * (uint64_t)sa)
        return rw_fail(d, RW_E_NOROOM, "no room in the 32-bit RVA space after the last section");
    g->text_rva = (uint32_t)t;
    return RW_OK;
}

enum rw_err pe_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    struct pe_geom g;
    enum rw_err e = geometry(img, &g, d);
    if (e)
        return e;
    *va = pe_st(img)->image_base + g.text_rva;
    return RW_OK;
}

/* The standard PE checksum (the one imagehlp's CheckSumMappedFile
 * computes): the file as 16-bit little-endian words (an odd last byte
 * padded with 0) summed with end-around carry, the CheckSum field itself
 * counted as 0, plus the file's length. Exported for
 * tests/unit/test_pe_write.c. */
uint32_t pe_write_checksum(const uint8_t *p, size_t n, size_t csum_off)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i += 2) {
        /* the field's bytes count as 0 (csum_off may be odd: e_lfanew is
         * not required to be even) */
        uint32_t lo = i - csum_off < 4 ? 0 : p[i];
        uint32_t hi = i + 1 < n && i + 1 - csum_off >= 4 ? p[i + 1] : 0;
        sum += lo | hi << 8;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)(sum + n);
}

/* Check an input exception table (n entries of 12 bytes): every entry
 * Begin <= End, sorted by Begin and not overlapping the one before. Returns
 * the index of the first bad entry, or n. Exported for tests. */
size_t pe_write_pdata_check(const uint8_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t b = pe_u32(t + RF_SIZE * i), e = pe_u32(t + RF_SIZE * i + 4);
        if (b > e || (i && b < pe_u32(t + RF_SIZE * (i - 1) + 4)))
            return i;
    }
    return n;
}

static int rf_cmp(const void *a, const void *b)
{
    uint32_t x = pe_u32(a), y = pe_u32(b);
    return x < y ? -1 : x > y;
}

/* The new table: old (checked) then add (sorted here), each above the
 * previous. RW_E_INTERNAL when add would not sort after old. Exported for
 * tests. */
enum rw_err pe_write_pdata_merge(const uint8_t *old, size_t nold, uint8_t *add, size_t nadd,
                                 struct rw_buf *out, struct rw_diag *d)
{
    if (nadd)
        qsort(add, nadd, RF_SIZE, rf_cmp);
    size_t bad = pe_write_pdata_check(add, nadd);
    if (bad < nadd)
        return rw_fail(d, RW_E_INTERNAL, "stub unwind entries overlap");
    if (nold && nadd && pe_u32(add) < pe_u32(old + RF_SIZE * (nold - 1) + 4))
        return rw_fail(d, RW_E_INTERNAL, "stub unwind entries below the image's functions");
    if (rw_buf_append(out, old, RF_SIZE * nold) || rw_buf_append(out, add, RF_SIZE * nadd))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    return RW_OK;
}

static enum rw_err pad_to(struct rw_buf *b, size_t a, struct rw_diag *d)
{
    static const uint8_t z[16];
    size_t n = (a - b->len % a) % a;
    if (n && rw_buf_append(b, z, n))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    return RW_OK;
}

/* The file offset of [rva, rva + len) in the input: inside one section's
 * raw data, or inside the headers as the reader maps them (hdr_map);
 * UINT64_MAX when not. Sections first: a hostile SizeOfHeaders may reach
 * over them, but the reader resolved every RVA in a section. */
static uint64_t rva_to_off(const struct rw_image *img, uint64_t rva, uint64_t len)
{
    const struct pe_state *st = pe_st(img);
    for (uint32_t i = 0; i < st->nsec; i++) {
        const uint8_t *h = st->shdr + SHDR_SIZE * (size_t)i;
        uint32_t vsize = pe_u32(h + 8), va = pe_u32(h + 12), rawsz = pe_u32(h + 16),
                 rawptr = pe_u32(h + 20);
        uint64_t fsz = vsize && vsize < rawsz ? vsize : rawsz;
        if (rva >= va && rva - va <= fsz && fsz - (rva - va) >= len &&
            (uint64_t)rawptr + fsz <= img->size)
            return rawptr + (rva - va);
    }
    if (rva <= st->hdr_map && len <= st->hdr_map - rva)
        return rva;
    return UINT64_MAX;
}

/* Where input bytes [off, off + len) are in the output: moved by delta from
 * the split on; UINT64_MAX when the range straddles the split (no range the
 * writer maps does: sections' raw data start at or after SizeOfHeaders, the
 * mapped headers end before it). */
static uint64_t out_off(const struct pe_geom *g, uint64_t off, uint64_t len)
{
    if (off >= g->split)
        return off + g->delta;
    return len <= g->split - off ? off : UINT64_MAX;
}

/* A file offset field of the output at p: moved when it points at or after
 * the split and inside the input file (0, and offsets past the end, which
 * name nothing, stay). */
static void move_field(uint8_t *p, const struct pe_geom *g, size_t in_size)
{
    uint32_t v = pe_u32(p);
    if (g->delta && v && v >= g->split && v <= in_size)
        pe_put32(p, v + g->delta);
}

/* Every file offset the output holds, once its bytes moved (g->delta):
 * the existing section headers' PointerToRawData, PointerToRelocations and
 * PointerToLinenumbers, the COFF header's PointerToSymbolTable and the debug
 * directory entries' PointerToRawData. (Directory 4's offset is cleared by
 * the caller; SizeOfHeaders is set by it.) */
static enum rw_err move_offsets(const struct rw_image *img, const struct pe_geom *g, uint8_t *o,
                                size_t keep, struct rw_diag *d)
{
    const struct pe_state *st = pe_st(img);
    if (!g->delta)
        return RW_OK;
    for (uint32_t i = 0; i < st->nsec; i++) {
        uint8_t *h = o + g->sh_off + SHDR_SIZE * (size_t)i;
        move_field(h + 20, g, img->size);
        move_field(h + 24, g, img->size);
        move_field(h + 28, g, img->size);
    }
    move_field(o + st->pe_off + 4 + 8, g, img->size);
    if (st->ndirs > PE_DIR_DEBUG && st->dir_size[PE_DIR_DEBUG] >= DBG_SIZE) {
        uint64_t n = st->dir_size[PE_DIR_DEBUG] / DBG_SIZE;
        uint64_t in = rva_to_off(img, st->dir_rva[PE_DIR_DEBUG], n * DBG_SIZE);
        uint64_t at = in == UINT64_MAX ? UINT64_MAX : out_off(g, in, n * DBG_SIZE);
        if (in == UINT64_MAX || in + n * DBG_SIZE > keep || at == UINT64_MAX)
            return rw_fail(d, RW_E_CORRUPT, "debug directory at RVA 0x%x: not inside the image's "
                           "bytes", st->dir_rva[PE_DIR_DEBUG]);
        for (uint64_t k = 0; k < n; k++)
            move_field(o + at + DBG_SIZE * k + 24, g, img->size);
    }
    return RW_OK;
}

struct newsec {
    uint32_t rva, vsize, off, rawsz;
};

enum rw_err pe_write_image(const struct rw_image *img, const struct rw_plan *plan,
                           struct rw_buf *out, struct rw_diag *d)
{
    const struct pe_state *st = pe_st(img);
    struct pe_geom g;
    enum rw_err e = geometry(img, &g, d);
    if (e)
        return e;
    uint64_t text_va = st->image_base + g.text_rva;
    if (plan->text_va != text_va || plan->nveneers || !plan->nstubs || !plan->text_size ||
        plan->text_size > UINT32_MAX)
        return rw_fail(d, RW_E_INTERNAL, "plan does not match the image writer's layout");
    if (st->ndirs <= PE_DIR_EXCEPTION)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "the optional header has %u data directories: no exception directory",
                       st->ndirs);
    const uint32_t sa = st->section_alignment, fa = st->file_alignment;

    struct rw_buf text = {0}, pdata = {0}, data = {0}, add = {0};
    struct pe_edits edits = {0};
    uint8_t *map = NULL, *rf = NULL;
    size_t map_len = 0, nrf = 0;
    struct newsec ns[NNEW];

    /* .callirw: the stubs at their offsets */
    if (rw_buf_reserve(&text, plan->text_size)) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    memset(text.data, 0xCC, plan->text_size); /* int3 between stubs */
    text.len = plan->text_size;
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        if (s->offset > plan->text_size || plan->text_size - s->offset < s->code.len) {
            e = rw_fail(d, RW_E_INTERNAL, "stub %s outside the stub section", s->key);
            goto done;
        }
        memcpy(text.data + s->offset, s->code.bytes, s->code.len);
    }
    uint32_t text_vsize = (uint32_t)plan->text_size;
    uint64_t pdata_rva = up32((uint64_t)g.text_rva + text_vsize, sa);
    if (pdata_rva == UINT64_MAX) { /* (else pdata_rva + size below would wrap) */
        e = rw_fail(d, RW_E_NOROOM, "the new sections do not fit in the 32-bit RVA space");
        goto done;
    }

    /* the old exception table, checked */
    const uint8_t *old = NULL;
    size_t nold = 0;
    if (st->dir_rva[PE_DIR_EXCEPTION] && st->dir_size[PE_DIR_EXCEPTION]) {
        uint32_t sz = st->dir_size[PE_DIR_EXCEPTION];
        if (sz % RF_SIZE) {
            e = rw_fail(d, RW_E_CORRUPT, "exception directory size %u is not a multiple of 12", sz);
            goto done;
        }
        old = pe_rva_bytes(img, st->dir_rva[PE_DIR_EXCEPTION], sz);
        if (!old) {
            e = rw_fail(d, RW_E_CORRUPT, "exception directory [0x%x, +0x%x) is not inside the image",
                        st->dir_rva[PE_DIR_EXCEPTION], sz);
            goto done;
        }
        nold = sz / RF_SIZE;
        size_t bad = pe_write_pdata_check(old, nold);
        if (bad < nold) {
            e = rw_fail(d, RW_E_CORRUPT,
                        "exception directory entry %zu (0x%x-0x%x) is not sorted after the one "
                        "before it, or overlaps it: refusing to merge", bad,
                        pe_u32(old + RF_SIZE * bad), pe_u32(old + RF_SIZE * bad + 4));
            goto done;
        }
    }
    /* framed stubs: RUNTIME_FUNCTION [stub + frame_start, stub + len);
     * frameless ones get none (a leaf: the entry state throughout). The
     * table size, hence where .crwdata starts, is known before the
     * UNWIND_INFOs are placed. */
    size_t nframed = 0;
    for (size_t i = 0; i < plan->nstubs; i++)
        nframed += plan->stubs[i].code.has_frame != 0;
    uint64_t pdata_size = RF_SIZE * (uint64_t)(nold + nframed);
    uint64_t data_rva = up32(pdata_rva + (pdata_size ? pdata_size : 1), sa);
    if (data_rva == UINT64_MAX) {
        e = rw_fail(d, RW_E_NOROOM, "the new sections do not fit in the 32-bit RVA space");
        goto done;
    }
    if (nframed && !(rf = calloc(nframed, RF_SIZE))) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        if (!s->code.has_frame)
            continue;
        uint8_t uwi[STUB_WIN64_UNWIND_MAX];
        size_t ulen = 0;
        if (stub_win64_unwind_info(&s->code, uwi, sizeof uwi, &ulen) != STUB_OK ||
            s->code.frame_start >= s->code.len) {
            e = rw_fail(d, RW_E_INTERNAL, "stub %s: no UNWIND_INFO", s->key);
            goto done;
        }
        if ((e = pad_to(&data, 4, d)))
            goto done;
        uint64_t at = data_rva + data.len;
        if (rw_buf_append(&data, uwi, ulen)) {
            e = rw_fail(d, RW_E_NOMEM, "out of memory");
            goto done;
        }
        uint8_t *r = rf + RF_SIZE * nrf++;
        pe_put32(r, (uint32_t)(g.text_rva + s->offset + s->code.frame_start));
        pe_put32(r + 4, (uint32_t)(g.text_rva + s->offset + s->code.len));
        pe_put32(r + 8, (uint32_t)at);
    }
    if ((e = pe_write_pdata_merge(old, nold, rf, nrf, &pdata, d)))
        goto done;

    /* the rewrite map */
    if ((e = rw_map_from_plan(img, plan, text_va, &map, &map_len, d)))
        goto done;
    /* ReadyToRun: what the R2R part adds, 8-aligned in .crwdata */
    if (st->r2r) {
        if ((e = pad_to(&data, 8, d)))
            goto done;
        uint64_t at = data_rva + data.len;
        if (at > UINT32_MAX) {
            e = rw_fail(d, RW_E_NOROOM, "the new sections do not fit in the 32-bit RVA space");
            goto done;
        }
        /* rf is sorted now (the merge sorted it in place) */
        if ((e = pe_r2r_rewrite(img, rf, nrf, map, map_len, (uint32_t)at, &add, &edits, d)))
            goto done;
        if (rw_buf_append(&data, add.data, add.len)) {
            e = rw_fail(d, RW_E_NOMEM, "out of memory");
            goto done;
        }
    }

    /* layout: RVAs after the last section, raw data after the file */
    size_t keep = img->size;
    int drop_sig = st->ndirs > PE_DIR_SECURITY &&
                   (st->dir_rva[PE_DIR_SECURITY] || st->dir_size[PE_DIR_SECURITY]);
    if (drop_sig) {
        uint64_t so = st->dir_rva[PE_DIR_SECURITY], ss = st->dir_size[PE_DIR_SECURITY];
        /* every section's raw data, the COFF symbol table (input offsets) */
        uint64_t used = g.delta ? g.split : g.new_soh;
        for (uint32_t i = 0; i < st->nsec; i++) {
            const uint8_t *h = st->shdr + SHDR_SIZE * (size_t)i;
            uint64_t end = (uint64_t)pe_u32(h + 20) + pe_u32(h + 16);
            if (pe_u32(h + 16) && end > used)
                used = end;
        }
        if (st->symtab && (uint64_t)(st->symtab - img->data) >= used)
            used = (uint64_t)(st->symtab - img->data) + 1;
        if (so >= used && so + ss <= img->size) {
            int tail_zero = 1;
            for (uint64_t k = so + ss; k < img->size; k++)
                tail_zero &= !img->data[k];
            if (tail_zero)
                keep = (size_t)so; /* the blob (and its padding) ends the file: cut */
        }
    }
    const size_t lens[NNEW] = {text.len, pdata.len, data.len, map_len};
    uint64_t rva = g.text_rva, off = up32((uint64_t)keep + g.delta, fa);
    for (unsigned i = 0; i < NNEW; i++) {
        uint64_t vs = lens[i] ? lens[i] : 1; /* never empty: an empty .crwdata (no framed */
        uint64_t raw = up32(vs, fa);         /* stub) is one zero byte, like the others */
        if (rva == UINT64_MAX || off == UINT64_MAX || raw == UINT64_MAX ||
            rva + vs > UINT32_MAX || off + raw > UINT32_MAX) {
            e = rw_fail(d, RW_E_NOROOM, "the new sections do not fit in 32-bit RVAs and offsets");
            goto done;
        }
        ns[i] = (struct newsec){(uint32_t)rva, (uint32_t)vs, (uint32_t)off, (uint32_t)raw};
        rva = up32(rva + vs, sa);
        off += raw;
    }
    if (ns[1].rva != pdata_rva || ns[2].rva != data_rva || rva == UINT64_MAX) {
        e = rw_fail(d, RW_E_INTERNAL, "PE layout mismatch");
        goto done;
    }
    uint32_t size_of_image = (uint32_t)rva;

    /* the output: the input (up to keep; from the split on delta bytes
     * further), then the new raw data */
    if (keep < g.split || rw_buf_reserve(out, off)) {
        e = rw_fail(d, keep < g.split ? RW_E_INTERNAL : RW_E_NOMEM,
                    keep < g.split ? "PE layout mismatch" : "out of memory");
        goto done;
    }
    memset(out->data, 0, off);
    rw_copy_input(img, out->data, img->data, g.split);
    rw_copy_input(img, out->data + g.split + g.delta, img->data + g.split, keep - g.split);
    out->len = off;
    uint8_t *o = out->data;
    const uint8_t *bytes[NNEW] = {text.data, pdata.data, data.data, map};
    for (unsigned i = 0; i < NNEW; i++)
        if (lens[i])
            memcpy(o + ns[i].off, bytes[i], lens[i]);

    /* sites */
    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict != RW_SITE_OK)
            continue;
        uint64_t so = s->section < img->nsec
                          ? rva_to_off(img, img->sec[s->section].addr - st->image_base + s->offset,
                                       s->length)
                          : UINT64_MAX;
        if (so != UINT64_MAX && so + s->length <= keep)
            so = out_off(&g, so, s->length);
        else
            so = UINT64_MAX;
        if (so == UINT64_MAX || memcmp(o + so, s->orig, s->length)) {
            e = rw_fail(d, RW_E_INTERNAL, "site 0x%llx: not where the scan saw it",
                        (unsigned long long)s->addr);
            goto done;
        }
        uint8_t b[RW_SITE_MAX_BYTES];
        if ((e = rw_site_patch(img->machine, s, rw_site_target(plan, s, text_va), b, d)))
            goto done;
        memcpy(o + so, b, s->length);
    }
    /* the ReadyToRun part's edits of existing bytes */
    for (size_t i = 0; i < edits.n; i++) {
        uint64_t eo = rva_to_off(img, edits.v[i].rva, edits.v[i].len);
        if (eo != UINT64_MAX && eo + edits.v[i].len <= keep)
            eo = out_off(&g, eo, edits.v[i].len);
        else
            eo = UINT64_MAX;
        if (eo == UINT64_MAX) {
            e = rw_fail(d, RW_E_INTERNAL, "edit at RVA 0x%x: not inside the image's bytes",
                        edits.v[i].rva);
            goto done;
        }
        memcpy(o + eo, edits.v[i].bytes, edits.v[i].len);
    }

    /* headers */
    uint8_t *coff = o + st->pe_off + 4, *oh = o + g.opt_off;
    pe_put16(coff + 2, (uint16_t)(st->nsec + NNEW));
    if ((e = move_offsets(img, &g, o, keep, d)))
        goto done;
    for (uint32_t i = 0; i < st->nsec; i++) { /* the old .pdata gives up its name */
        uint8_t *h = o + g.sh_off + SHDR_SIZE * (size_t)i;
        if (!memcmp(h, ".pdata\0\0", 8))
            memcpy(h, ".pdata0\0", 8);
    }
    for (unsigned i = 0; i < NNEW; i++) {
        uint8_t *h = o + g.sh_end + SHDR_SIZE * i;
        memset(h, 0, SHDR_SIZE);
        memcpy(h, new_names[i], strlen(new_names[i]));
        pe_put32(h + 8, ns[i].vsize);
        pe_put32(h + 12, ns[i].rva);
        pe_put32(h + 16, ns[i].rawsz);
        pe_put32(h + 20, ns[i].off);
        pe_put32(h + 36, new_flags[i]);
    }
    uint64_t code = (uint64_t)pe_u32(oh + OH_SIZE_OF_CODE) + ns[0].rawsz;
    uint64_t idata = (uint64_t)pe_u32(oh + OH_SIZE_OF_IDATA) + ns[1].rawsz + ns[2].rawsz +
                     ns[3].rawsz;
    pe_put32(oh + OH_SIZE_OF_CODE, code > UINT32_MAX ? UINT32_MAX : (uint32_t)code);
    pe_put32(oh + OH_SIZE_OF_IDATA, idata > UINT32_MAX ? UINT32_MAX : (uint32_t)idata);
    pe_put32(oh + OH_SIZE_OF_IMAGE, size_of_image);
    pe_put32(oh + OH_SIZE_OF_HEADERS, g.new_soh);
    pe_put32(oh + OH_DIRS + 8 * PE_DIR_EXCEPTION, pdata.len ? ns[1].rva : 0);
    pe_put32(oh + OH_DIRS + 8 * PE_DIR_EXCEPTION + 4, (uint32_t)pdata.len);
    if (drop_sig) {
        pe_put32(oh + OH_DIRS + 8 * PE_DIR_SECURITY, 0);
        pe_put32(oh + OH_DIRS + 8 * PE_DIR_SECURITY + 4, 0);
        fprintf(stderr, "callirw: warning: %s: Authenticode signature dropped (%s): a rewritten "
                "image cannot keep a valid one\n", img->path ? img->path : "image",
                keep < img->size ? "its bytes cut from the end" : "its bytes left in place");
    }
    pe_put32(oh + OH_CHECKSUM, pe_write_checksum(o, out->len, g.opt_off + OH_CHECKSUM));
    e = RW_OK;
done:
    if (e)
        out->len = 0;
    rw_buf_free(&text);
    rw_buf_free(&pdata);
    rw_buf_free(&data);
    rw_buf_free(&add);
    pe_edits_free(&edits);
    free(map);
    free(rf);
    return e;
}

enum rw_err pe_edits_push(struct pe_edits *e, uint32_t rva, const void *bytes, uint32_t len,
                          struct rw_diag *d)
{
    if (len > sizeof e->v[0].bytes)
        return rw_fail(d, RW_E_INTERNAL, "an edit of %u bytes", len);
    if (rw_grow((void **)&e->v, &e->cap, e->n, sizeof *e->v))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    struct pe_edit *x = &e->v[e->n++];
    x->rva = rva;
    x->len = len;
    memcpy(x->bytes, bytes, len);
    return RW_OK;
}

void pe_edits_free(struct pe_edits *e)
{
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

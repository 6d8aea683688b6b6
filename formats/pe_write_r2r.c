/* pe_write_r2r.c - what a rewrite adds to a ReadyToRun image (docs/r2r.md,
 * "Rewriting"; calli-abi.md section 6).
 *
 * Nothing the image has is moved or changed but the CLI header's
 * ManagedNativeHeader. At at_rva (a new read-only section of the image
 * writer's) go, in this order:
 *   1. the new RuntimeFunctions table: every existing entry, byte for byte,
 *      at its index, then the stubs' entries, then the 4-byte sentinel
 *      0xFFFFFFFF the runtime's lookup reads after the last entry;
 *   2. the rewrite map (R2R section 0xCA110001);
 *   3. the READYTORUN_HEADER, copied with its section table grown by the
 *      map's entry (in type order) and the RuntimeFunctions entry pointing
 *      at (1).
 * Composite images, their components, hot/cold-split images, unsorted
 * section tables and arm64 images are refused (RW_E_UNSUPPORTED). */
#include <string.h>

#include "pe_r2r.h"
#include "pe_write.h"

#define R2R_FLAG_COMPONENT 0x20u
#define R2R_MAX_NEW_RF (1u << 24)   /* stubs' entries a rewrite may add */
#define R2R_RF_SENTINEL 0xFFFFFFFFu
#define COR20_MNH_OFF 64u           /* IMAGE_COR20_HEADER.ManagedNativeHeader */
#define COR20_MIN_SIZE 72u

static enum rw_err pad_to(struct rw_buf *add, size_t base, size_t align, struct rw_diag *d)
{
    static const uint8_t zero[8];
    size_t n = (align - (add->len - base) % align) % align;
    if (rw_buf_append(add, zero, n))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    return RW_OK;
}

/* What the image must be for this rewrite; one line when it is not. */
static enum rw_err check_image(const struct rw_image *img, const struct pe_state *st,
                               const struct r2r_info *r, struct rw_diag *d)
{
    if (img->machine != RW_MACH_X86_64) /* 8-byte arm64 entries: not written, not tested */
        return rw_fail(d, RW_E_UNSUPPORTED, "arm64 ReadyToRun images are not rewritten (x86-64 only)");
    if (r->via_export)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "composite ReadyToRun image (header found through the RTR_HEADER export): not rewritten");
    if (r->flags & R2R_FLAG_COMPONENT)
        return rw_fail(d, RW_E_UNSUPPORTED,
                       "ReadyToRun component assembly of a composite image (flag COMPONENT): not rewritten");
    if (r->rewritten)
        return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun image already carries a rewrite map (section 0x%x)",
                       R2R_SEC_CALLIRW_MAP);
    if (!st->has_cli || st->mnh_rva != r->header_rva)
        return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun header not reached through the CLI header: not rewritten");
    for (uint32_t i = 0; i < r->nsections; i++) {
        const struct r2r_section *s = &r->sec[i];
        if (s->type == R2R_SEC_COMPONENT_ASSEMBLIES || s->type == R2R_SEC_OWNER_COMPOSITE_EXECUTABLE)
            return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun image with a %s section (composite): not rewritten",
                           r2r_section_name(s->type));
        if (s->type == R2R_SEC_HOT_COLD_MAP && s->size)
            return rw_fail(d, RW_E_UNSUPPORTED,
                           "ReadyToRun image with hot/cold-split code (HotColdMap): the runtime takes every "
                           "runtime function after the first cold one for cold code; not rewritten");
        if (i && s->type <= r->sec[i - 1].type)
            return rw_fail(d, RW_E_UNSUPPORTED,
                           "ReadyToRun section table not sorted by type (entry %u, type %u): not rewritten", i,
                           s->type);
    }
    int have_rf = 0;
    for (uint32_t i = 0; i < r->nsections; i++)
        have_rf |= r->sec[i].type == R2R_SEC_RUNTIME_FUNCTIONS;
    if (!have_rf)
        return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun image without a RuntimeFunctions section: not rewritten");
    if (r->nsections > (UINT32_MAX - 16) / 12 - 2)
        return rw_fail(d, RW_E_UNSUPPORTED, "ReadyToRun header with %u sections", r->nsections);
    if (!pe_rva_bytes(img, r->header_rva, 16 + 12 * (uint64_t)r->nsections))
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun header at RVA 0x%x is outside the image", r->header_rva);
    if (st->dir_size[PE_DIR_CLR] < COR20_MIN_SIZE ||
        !pe_rva_bytes(img, st->dir_rva[PE_DIR_CLR], COR20_MIN_SIZE))
        return rw_fail(d, RW_E_CORRUPT, "CLI header at RVA 0x%x (0x%x bytes) cannot hold ManagedNativeHeader",
                       st->dir_rva[PE_DIR_CLR], st->dir_size[PE_DIR_CLR]);
    return RW_OK;
}

/* The stubs' entries from the image writer: sorted, disjoint, non-empty,
 * above every existing runtime function, with unwind data (they are
 * code the writer placed; anything else is its bug: RW_E_INTERNAL). */
static enum rw_err check_stubs(const struct r2r_info *r,
                               const uint8_t *stub_rf, size_t n, struct rw_diag *d)
{
    if (n > R2R_MAX_NEW_RF)
        return rw_fail(d, RW_E_INTERNAL, "%zu stub runtime functions", n);
    if (n && !stub_rf)
        return rw_fail(d, RW_E_INTERNAL, "stub runtime functions missing");
    uint32_t floor = 0;
    for (uint32_t i = 0; i < r->nrf; i++)
        if (r->rf[i].end > floor)
            floor = r->rf[i].end;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = pe_u32(stub_rf + 12 * i), e = pe_u32(stub_rf + 12 * i + 4);
        uint32_t u = pe_u32(stub_rf + 12 * i + 8);
        if (b >= e || b < floor || !u)
            return rw_fail(d, RW_E_INTERNAL,
                           "stub runtime function %zu [0x%x, 0x%x) unwind 0x%x: empty, unsorted, overlapping or "
                           "below an existing function (ends at 0x%x)",
                           i, b, e, u, floor);
        floor = e;
    }
    return RW_OK;
}

static enum rw_err r2r_rewrite(const struct rw_image *img, const uint8_t *stub_rf, size_t nstub_rf,
                               const uint8_t *map, size_t map_len, uint32_t at_rva,
                               struct rw_buf *add, struct pe_edits *edits, struct rw_diag *d)
{
    const struct pe_state *st = img ? pe_st(img) : NULL;
    const struct r2r_info *r = st ? st->r2r : NULL;
    if (!r || !add || !edits)
        return rw_fail(d, RW_E_INTERNAL, "pe_r2r_rewrite on an image without a ReadyToRun header");
    if (!map || !map_len || map_len > UINT32_MAX)
        return rw_fail(d, RW_E_INTERNAL, "pe_r2r_rewrite without a rewrite map");
    if (at_rva & 7)
        return rw_fail(d, RW_E_INTERNAL, "ReadyToRun data RVA 0x%x is not 8-aligned", at_rva);
    for (uint32_t i = 0; i < img->nsec; i++) /* above every existing section */
        if (img->sec[i].addr + img->sec[i].size > st->image_base + at_rva)
            return rw_fail(d, RW_E_INTERNAL, "ReadyToRun data RVA 0x%x overlaps section %u", at_rva, i + 1);
    enum rw_err e;
    if ((e = check_image(img, st, r, d)) || (e = check_stubs(r, stub_rf, nstub_rf, d)))
        return e;

    const uint32_t esz = 12; /* x64 RUNTIME_FUNCTION */
    const uint8_t *old_rf = NULL;
    if (r->nrf && !(old_rf = pe_rva_bytes(img, r->rf_rva, (uint64_t)r->nrf * esz)))
        return rw_fail(d, RW_E_CORRUPT, "ReadyToRun RuntimeFunctions at RVA 0x%x are outside the image", r->rf_rva);
    uint64_t nrf = (uint64_t)r->nrf + nstub_rf;
    /* the whole addition: table + sentinel, map, header; every part < 4 GiB */
    uint64_t total = nrf * esz + 4 + 8 + map_len + 8 + 16 + 12 * ((uint64_t)r->nsections + 2);
    if (nrf * esz > UINT32_MAX || total > (uint64_t)UINT32_MAX - at_rva)
        return rw_fail(d, RW_E_NOROOM, "ReadyToRun additions of 0x%llx bytes at RVA 0x%x do not fit 32 bits",
                       (unsigned long long)total, at_rva);
    size_t base = add->len;
    if (rw_buf_reserve(add, base + (size_t)total))
        return rw_fail(d, RW_E_NOMEM, "out of memory");

    /* 1. RuntimeFunctions: existing entries at their indices, then the stubs' */
    uint32_t rf_rva = at_rva;
    if (old_rf && rw_buf_append(add, old_rf, (size_t)r->nrf * esz))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nstub_rf; i++) {
        const uint8_t *s = stub_rf + 12 * i;
        if (rw_buf_append(add, s, esz))
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    uint32_t rf_size = (uint32_t)(nrf * esz);
    uint8_t sentinel[4];
    pe_put32(sentinel, R2R_RF_SENTINEL);
    if (rw_buf_append(add, sentinel, 4) || (e = pad_to(add, base, 8, d)))
        return e ? e : rw_fail(d, RW_E_NOMEM, "out of memory");

    /* 2. the map */
    uint32_t map_rva = at_rva + (uint32_t)(add->len - base);
    if (rw_buf_append(add, map, map_len) || (e = pad_to(add, base, 8, d)))
        return e ? e : rw_fail(d, RW_E_NOMEM, "out of memory");

    /* 3. the header: the 16 bytes as they are, the table in type order */
    uint32_t hdr_rva = at_rva + (uint32_t)(add->len - base);
    const uint8_t *h = pe_rva_bytes(img, r->header_rva, 16 + 12 * (uint64_t)r->nsections);
    uint32_t nsec = r->nsections + 1;
    uint8_t hdr[16];
    memcpy(hdr, h, 16);
    pe_put32(hdr + 12, nsec);
    if (rw_buf_append(add, hdr, 16))
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    int rf_done = 0, map_done = 0;
    for (uint32_t i = 0; i <= r->nsections; i++) {
        uint32_t type = i < r->nsections ? r->sec[i].type : UINT32_MAX;
        uint8_t ent[12];
        if (!map_done && type > R2R_SEC_CALLIRW_MAP) {
            pe_put32(ent, R2R_SEC_CALLIRW_MAP), pe_put32(ent + 4, map_rva), pe_put32(ent + 8, (uint32_t)map_len);
            if (rw_buf_append(add, ent, 12))
                return rw_fail(d, RW_E_NOMEM, "out of memory");
            map_done = 1;
        }
        if (i == r->nsections)
            break;
        memcpy(ent, h + 16 + 12 * (size_t)i, 12);
        if (type == R2R_SEC_RUNTIME_FUNCTIONS && !rf_done) { /* the first one: the runtime's */
            pe_put32(ent + 4, rf_rva), pe_put32(ent + 8, rf_size);
            rf_done = 1;
        }
        if (rw_buf_append(add, ent, 12))
            return rw_fail(d, RW_E_NOMEM, "out of memory");
    }
    uint32_t hdr_size = 16 + 12 * nsec;
    if ((e = pad_to(add, base, 8, d)))
        return e;

    /* the only edit: ManagedNativeHeader {RVA, Size} in the CLI header */
    uint8_t mnh[8];
    pe_put32(mnh, hdr_rva);
    pe_put32(mnh + 4, hdr_size);
    return pe_edits_push(edits, st->dir_rva[PE_DIR_CLR] + COR20_MNH_OFF, mnh, 8, d);
}

enum rw_err pe_r2r_rewrite(const struct rw_image *img, const uint8_t *stub_rf, size_t nstub_rf,
                           const uint8_t *map, size_t map_len, uint32_t at_rva,
                           struct rw_buf *add, struct pe_edits *edits, struct rw_diag *d)
{
    size_t len = add ? add->len : 0;
    enum rw_err e = r2r_rewrite(img, stub_rf, nstub_rf, map, map_len, at_rva, add, edits, d);
    if (e && add) /* nothing half-added */
        add->len = len;
    return e;
}

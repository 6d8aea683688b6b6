/* macho_sign.c - ad-hoc code signatures (docs/macho-signing.md).
 *
 * Reads the identity of an existing embedded signature (LC_CODE_SIGNATURE ->
 * SuperBlob -> CodeDirectory) and writes a fresh ad-hoc one laid out exactly
 * as ld64.lld writes its linker signature: a SuperBlob with one index entry
 * (the CodeDirectory), a version 0x20400 CodeDirectory with SHA-256 hashes of
 * every page of [0, codeLimit), no special slots, no requirements. Blobs are
 * big-endian; the Mach-O header is little-endian. */
#include <string.h>

#include "macho_sign.h"
#include "sha256.h"

/* CodeDirectory field offsets (cs_blobs.h) */
#define CD_VERSION 8u
#define CD_FLAGS 12u
#define CD_HASHOFF 16u
#define CD_IDENTOFF 20u
#define CD_NSPECIAL 24u
#define CD_NCODE 28u
#define CD_CODELIMIT 32u
#define CD_HASHSIZE 36u
#define CD_HASHTYPE 37u
#define CD_PLATFORM 38u
#define CD_PAGESIZE 39u
#define CD_EXECSEG_BASE 64u
#define CD_EXECSEG_LIMIT 72u
#define CD_EXECSEG_FLAGS 80u
#define CD_MIN_SIZE 44u /* version 0x20001: up to spare2 */

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)macho_be32(p) << 32 | macho_be32(p + 4);
}
static void put_be64(uint8_t *p, uint64_t v)
{
    macho_put_be32(p, (uint32_t)(v >> 32));
    macho_put_be32(p + 4, (uint32_t)v);
}

/* What the load commands say that signing needs. */
struct sign_hdr {
    uint32_t filetype;
    int has_cs;
    uint32_t cs_off, cs_size;
    int has_text;
    uint64_t text_off, text_size;
};

/* Walk a thin 64-bit image's load commands, every one bounds-checked. */
static enum rw_err scan_header(const uint8_t *data, size_t size, struct sign_hdr *h,
                               struct rw_diag *d)
{
    memset(h, 0, sizeof *h);
    if (size < MACHO_HEADER_SIZE || macho_u32(data) != MACHO_MH_MAGIC_64)
        return rw_fail(d, RW_E_FORMAT, "code signing: not a thin 64-bit Mach-O image");
    h->filetype = macho_u32(data + 12);
    uint32_t ncmds = macho_u32(data + 16), sizeofcmds = macho_u32(data + 20);
    if (sizeofcmds > size - MACHO_HEADER_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "load commands (%u bytes) run past the end of the file",
                       sizeofcmds);
    uint64_t end = (uint64_t)MACHO_HEADER_SIZE + sizeofcmds, off = MACHO_HEADER_SIZE;
    for (uint32_t i = 0; i < ncmds; i++) {
        if (end - off < 8)
            return rw_fail(d, RW_E_CORRUPT, "load command %u runs past sizeofcmds", i);
        uint32_t cmd = macho_u32(data + off), cmdsize = macho_u32(data + off + 4);
        if (cmdsize < 8 || cmdsize > end - off)
            return rw_fail(d, RW_E_CORRUPT, "load command %u has a bad size (%u)", i, cmdsize);
        const uint8_t *p = data + off;
        if (cmd == MACHO_LC_CODE_SIGNATURE) {
            if (cmdsize < 16)
                return rw_fail(d, RW_E_CORRUPT, "LC_CODE_SIGNATURE is too small (%u)", cmdsize);
            if (h->has_cs)
                return rw_fail(d, RW_E_CORRUPT, "more than one LC_CODE_SIGNATURE");
            h->has_cs = 1;
            h->cs_off = macho_u32(p + 8);
            h->cs_size = macho_u32(p + 12);
        } else if (cmd == MACHO_LC_SEGMENT_64 && cmdsize >= MACHO_SEGMENT_CMD_SIZE &&
                   !h->has_text && memcmp(p + 8, "__TEXT\0", 7) == 0) {
            h->has_text = 1;
            h->text_off = macho_u64(p + 40);
            h->text_size = macho_u64(p + 48);
        }
        off += cmdsize;
    }
    return RW_OK;
}

uint32_t macho_sign_page_shift(uint32_t page_shift)
{
    return page_shift >= 12 && page_shift <= 16 ? page_shift : 12;
}

static size_t ident_len(const char *ident)
{
    return ident ? strnlen(ident, 255) : 0;
}

/* Bytes from the SuperBlob's start to the first code hash (16-aligned). */
static size_t headers_size(size_t ident_n)
{
    return (MACHO_CS_SUPERBLOB_HDR + MACHO_CS_CD_SIZE + ident_n + 1 + 15) & ~(size_t)15;
}

size_t macho_sign_size(uint64_t code_limit, const char *ident, uint32_t page_shift)
{
    uint32_t shift = macho_sign_page_shift(page_shift);
    uint64_t pages = (code_limit >> shift) + ((code_limit & ((1u << shift) - 1)) != 0);
    return headers_size(ident_len(ident)) + (size_t)pages * MACHO_CS_HASHSIZE_SHA256;
}

enum rw_err macho_sign_exec_seg(const uint8_t *data, size_t size, struct macho_sig_info *info,
                                struct rw_diag *d)
{
    struct sign_hdr h;
    enum rw_err e = scan_header(data, size, &h, d);
    if (e)
        return e;
    if (!h.has_text)
        return rw_fail(d, RW_E_CORRUPT, "code signing: no __TEXT segment");
    info->exec_seg_base = h.text_off;
    info->exec_seg_limit = h.text_size;
    info->exec_seg_flags = h.filetype == MACHO_MH_EXECUTE ? MACHO_CS_EXECSEG_MAIN_BINARY : 0;
    return RW_OK;
}

/* Check a CodeDirectory blob (cd, len bytes, already inside the file) and
 * copy its identity into info. */
static enum rw_err read_cd(const uint8_t *cd, uint32_t len, struct macho_sig_info *info,
                           struct rw_diag *d)
{
    if (len < CD_MIN_SIZE)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory is too small (%u bytes)", len);
    uint32_t version = macho_be32(cd + CD_VERSION);
    uint32_t need = version >= MACHO_CS_VERSION_EXECSEG ? MACHO_CS_CD_SIZE
                    : version >= 0x20300u                ? 64u
                    : version >= 0x20200u                ? 52u
                    : version >= 0x20100u                ? 48u
                                                         : CD_MIN_SIZE;
    if (version < 0x20001u || len < need)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory version 0x%x does not fit in %u bytes",
                       version, len);
    uint32_t hash_off = macho_be32(cd + CD_HASHOFF), ident_off = macho_be32(cd + CD_IDENTOFF);
    uint32_t nspecial = macho_be32(cd + CD_NSPECIAL), ncode = macho_be32(cd + CD_NCODE);
    uint32_t hash_size = cd[CD_HASHSIZE];
    if (hash_size == 0 || hash_size > 64)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory hash size %u", hash_size);
    /* the hash array: nspecial slots before hash_off, ncode after, all inside */
    if ((uint64_t)nspecial * hash_size > hash_off ||
        hash_off > len || (uint64_t)ncode * hash_size > len - hash_off)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory hash slots lie outside it");
    if (ident_off < need || ident_off >= len)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory identifier lies outside it");
    size_t n = strnlen((const char *)cd + ident_off, len - ident_off);
    if (n == len - ident_off)
        return rw_fail(d, RW_E_CORRUPT, "CodeDirectory identifier is not terminated");
    if (n >= sizeof info->ident)
        return rw_fail(d, RW_E_UNSUPPORTED, "code signature identifier is too long (%zu bytes)",
                       n);
    memcpy(info->ident, cd + ident_off, n);
    info->ident[n] = 0;
    info->cd_flags = macho_be32(cd + CD_FLAGS);
    info->page_shift = macho_sign_page_shift(cd[CD_PAGESIZE]);
    if (version >= MACHO_CS_VERSION_EXECSEG) {
        info->exec_seg_base = be64(cd + CD_EXECSEG_BASE);
        info->exec_seg_limit = be64(cd + CD_EXECSEG_LIMIT);
        info->exec_seg_flags = be64(cd + CD_EXECSEG_FLAGS);
    }
    return RW_OK;
}

enum rw_err macho_sign_info(const uint8_t *data, size_t size, struct macho_sig_info *info,
                            struct rw_diag *d)
{
    memset(info, 0, sizeof *info);
    struct sign_hdr h;
    enum rw_err e = scan_header(data, size, &h, d);
    if (e || !h.has_cs)
        return e;
    if (h.cs_size > size || h.cs_off > size - h.cs_size)
        return rw_fail(d, RW_E_CORRUPT, "code signature (0x%x, %u bytes) lies outside the file",
                       h.cs_off, h.cs_size);
    const uint8_t *sb = data + h.cs_off;
    if (h.cs_size < 12 || macho_be32(sb) != MACHO_CSMAGIC_EMBEDDED_SIGNATURE)
        return rw_fail(d, RW_E_CORRUPT, "code signature is not an embedded-signature SuperBlob");
    uint32_t len = macho_be32(sb + 4), count = macho_be32(sb + 8);
    if (len < 12 || len > h.cs_size || (uint64_t)count * 8 > len - 12)
        return rw_fail(d, RW_E_CORRUPT, "code signature SuperBlob has a bad length or count");
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *ix = sb + 12 + 8 * (size_t)i;
        if (macho_be32(ix) != MACHO_CSSLOT_CODEDIRECTORY)
            continue;
        uint32_t off = macho_be32(ix + 4);
        if (off < 12 + 8 * (uint64_t)count || off > len || len - off < 8)
            return rw_fail(d, RW_E_CORRUPT, "CodeDirectory offset 0x%x is outside the SuperBlob",
                           off);
        const uint8_t *cd = sb + off;
        uint32_t cdlen = macho_be32(cd + 4);
        if (macho_be32(cd) != MACHO_CSMAGIC_CODEDIRECTORY)
            return rw_fail(d, RW_E_CORRUPT, "code signature slot 0 is not a CodeDirectory");
        if (cdlen < 8 || cdlen > len - off)
            return rw_fail(d, RW_E_CORRUPT, "CodeDirectory length %u runs past the SuperBlob",
                           cdlen);
        e = read_cd(cd, cdlen, info, d);
        if (e) {
            memset(info, 0, sizeof *info);
            return e;
        }
        /* an old CodeDirectory without execSeg fields: take them from __TEXT,
         * since the new one has them */
        if (!info->exec_seg_limit && !info->exec_seg_base && !info->exec_seg_flags &&
            macho_be32(cd + CD_VERSION) < MACHO_CS_VERSION_EXECSEG && h.has_text) {
            info->exec_seg_base = h.text_off;
            info->exec_seg_limit = h.text_size;
            info->exec_seg_flags =
                h.filetype == MACHO_MH_EXECUTE ? MACHO_CS_EXECSEG_MAIN_BINARY : 0;
        }
        info->present = 1;
        return RW_OK;
    }
    return rw_fail(d, RW_E_CORRUPT, "code signature has no CodeDirectory");
}

enum rw_err macho_sign_write(uint8_t *file, size_t file_size, uint32_t sig_off,
                             uint32_t sig_size, const struct macho_sig_info *like,
                             struct rw_diag *d)
{
    if (!like)
        return rw_fail(d, RW_E_INTERNAL, "code signing: no identity to sign with");
    size_t n = ident_len(like->ident);
    if (like->ident[n])
        return rw_fail(d, RW_E_INTERNAL, "code signing: identifier is not terminated");
    uint32_t shift = macho_sign_page_shift(like->page_shift);
    size_t want = macho_sign_size(sig_off, like->ident, shift);
    if (sig_size != want)
        return rw_fail(d, RW_E_INTERNAL, "code signing: %u bytes reserved, %zu needed", sig_size,
                       want);
    if ((uint64_t)sig_off + sig_size > file_size)
        return rw_fail(d, RW_E_INTERNAL, "code signing: signature lies outside the file");
    /* the header is hashed as it is now, so it must already point here */
    struct sign_hdr h;
    enum rw_err e = scan_header(file, file_size, &h, d);
    if (e)
        return e;
    if (!h.has_cs || h.cs_off != sig_off || h.cs_size != sig_size)
        return rw_fail(d, RW_E_INTERNAL,
                       "code signing: LC_CODE_SIGNATURE does not say (0x%x, %u)", sig_off,
                       sig_size);
    if (sig_off < MACHO_HEADER_SIZE + (uint64_t)macho_u32(file + 20))
        return rw_fail(d, RW_E_INTERNAL,
                       "code signing: signature would overwrite the load commands");

    uint8_t *sb = file + sig_off;
    size_t hdrs = headers_size(n);
    uint32_t npages = (uint32_t)((want - hdrs) / MACHO_CS_HASHSIZE_SHA256);
    memset(sb, 0, hdrs);
    macho_put_be32(sb, MACHO_CSMAGIC_EMBEDDED_SIGNATURE);
    macho_put_be32(sb + 4, sig_size);
    macho_put_be32(sb + 8, 1);
    macho_put_be32(sb + 12, MACHO_CSSLOT_CODEDIRECTORY);
    macho_put_be32(sb + 16, MACHO_CS_SUPERBLOB_HDR);

    uint8_t *cd = sb + MACHO_CS_SUPERBLOB_HDR;
    uint32_t hash_off = (uint32_t)(hdrs - MACHO_CS_SUPERBLOB_HDR);
    macho_put_be32(cd, MACHO_CSMAGIC_CODEDIRECTORY);
    macho_put_be32(cd + 4, sig_size - MACHO_CS_SUPERBLOB_HDR);
    macho_put_be32(cd + CD_VERSION, MACHO_CS_VERSION_EXECSEG);
    /* the same flags as before; a re-signed image is ad-hoc whatever it was */
    macho_put_be32(cd + CD_FLAGS, like->cd_flags | MACHO_CS_ADHOC);
    macho_put_be32(cd + CD_HASHOFF, hash_off);
    macho_put_be32(cd + CD_IDENTOFF, MACHO_CS_CD_SIZE);
    macho_put_be32(cd + CD_NSPECIAL, 0);
    macho_put_be32(cd + CD_NCODE, npages);
    macho_put_be32(cd + CD_CODELIMIT, sig_off);
    cd[CD_HASHSIZE] = MACHO_CS_HASHSIZE_SHA256;
    cd[CD_HASHTYPE] = MACHO_CS_HASHTYPE_SHA256;
    cd[CD_PLATFORM] = 0;
    cd[CD_PAGESIZE] = (uint8_t)shift;
    struct macho_sig_info seg = *like;
    if (!seg.exec_seg_base && !seg.exec_seg_limit && !seg.exec_seg_flags) {
        e = macho_sign_exec_seg(file, file_size, &seg, d);
        if (e)
            return e;
    }
    put_be64(cd + CD_EXECSEG_BASE, seg.exec_seg_base);
    put_be64(cd + CD_EXECSEG_LIMIT, seg.exec_seg_limit);
    put_be64(cd + CD_EXECSEG_FLAGS, seg.exec_seg_flags);
    memcpy(cd + MACHO_CS_CD_SIZE, like->ident, n);

    uint8_t *hash = sb + hdrs;
    size_t page = (size_t)1 << shift;
    for (uint32_t i = 0; i < npages; i++) {
        size_t at = (size_t)i << shift;
        size_t len = sig_off - at < page ? sig_off - at : page;
        rw_sha256(file + at, len, hash + (size_t)i * MACHO_CS_HASHSIZE_SHA256);
    }
    return RW_OK;
}

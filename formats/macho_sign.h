/* macho_sign.h - helpers of macho_sign.c beyond the macho_priv.h contract
 * (docs/macho-signing.md). */
#ifndef CALLIRW_MACHO_SIGN_H
#define CALLIRW_MACHO_SIGN_H

#include "macho_priv.h"

/* Layout of what macho_sign_write writes (ld64.lld's linker signature). */
#define MACHO_CS_SUPERBLOB_HDR 24u /* SuperBlob (12) + one BlobIndex (8), 8-aligned */
#define MACHO_CS_CD_SIZE 88u       /* CodeDirectory up to execSegFlags (version 0x20400) */
#define MACHO_CS_VERSION_EXECSEG 0x20400u
#define MACHO_CS_HASHSIZE_SHA256 32u

/* The page shift macho_sign_size/write use for a requested one: 12..16 are
 * kept, anything else (0 = one infinite page, junk) becomes 12 (4 KiB). */
uint32_t macho_sign_page_shift(uint32_t page_shift);

/* Fill info->exec_seg_* from a thin image's own header: __TEXT's file offset
 * and file size, CS_EXECSEG_MAIN_BINARY for MH_EXECUTE. For a writer whose
 * __TEXT changed since macho_sign_info read the old signature. */
enum rw_err macho_sign_exec_seg(const uint8_t *data, size_t size, struct macho_sig_info *info,
                                struct rw_diag *d);

#endif

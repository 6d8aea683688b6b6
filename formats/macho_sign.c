/* macho_sign.c - ad-hoc code signatures. (Skeleton.) */
#include <string.h>

#include "macho_priv.h"

enum rw_err macho_sign_info(const uint8_t *data, size_t size, struct macho_sig_info *info,
                            struct rw_diag *d)
{
    (void)data;
    (void)size;
    (void)d;
    memset(info, 0, sizeof *info);
    return RW_OK;
}

size_t macho_sign_size(uint64_t code_limit, const char *ident, uint32_t page_shift)
{
    (void)code_limit;
    (void)ident;
    (void)page_shift;
    return 0;
}

enum rw_err macho_sign_write(uint8_t *file, size_t file_size, uint32_t sig_off,
                             uint32_t sig_size, const struct macho_sig_info *like,
                             struct rw_diag *d)
{
    (void)file;
    (void)file_size;
    (void)sig_off;
    (void)sig_size;
    (void)like;
    return rw_fail(d, RW_E_UNSUPPORTED, "Mach-O code signing is not supported yet");
}

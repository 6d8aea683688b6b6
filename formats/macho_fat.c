/* macho_fat.c - fat (universal) files as containers of thin images. (Skeleton.) */
#include "format.h"

static int fat_probe(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static enum rw_err fat_split(const uint8_t *data, size_t size, struct rw_slice **slices,
                             size_t *n, struct rw_diag *d)
{
    (void)data;
    (void)size;
    *slices = NULL;
    *n = 0;
    return rw_fail(d, RW_E_UNSUPPORTED, "fat Mach-O files are not supported yet");
}

static enum rw_err fat_join(const uint8_t *data, size_t size, const struct rw_slice *slices,
                            size_t n, const struct rw_buf *outs, struct rw_buf *out,
                            struct rw_diag *d)
{
    (void)data;
    (void)size;
    (void)slices;
    (void)n;
    (void)outs;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "fat Mach-O files are not supported yet");
}

const struct rw_container_ops rw_macho_fat_ops = {
    .name = "Mach-O fat",
    .probe = fat_probe,
    .split = fat_split,
    .join = fat_join,
};

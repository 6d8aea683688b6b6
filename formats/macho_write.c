/* macho_write.c - rewriting MH_EXECUTE, MH_DYLIB and MH_BUNDLE images. (Skeleton.) */
#include "macho_priv.h"
#include "plan.h"

enum rw_err macho_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    (void)d;
    (void)img;
    *va = RW_NO_ADDRESS;
    return RW_OK;
}

enum rw_err macho_write_image(const struct rw_image *img, const struct rw_plan *plan,
                              struct rw_buf *out, struct rw_diag *d)
{
    (void)img;
    (void)plan;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "rewriting Mach-O images is not supported yet");
}

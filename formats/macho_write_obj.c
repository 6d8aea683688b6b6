/* macho_write_obj.c - rewriting MH_OBJECT files. (Skeleton.) */
#include "macho_priv.h"
#include "plan.h"

enum rw_err macho_write_object(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d)
{
    (void)img;
    (void)plan;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "rewriting Mach-O objects is not supported yet");
}

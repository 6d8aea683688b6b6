/* pe_write_obj.c - rewriting COFF objects (docs/pe.md, "Writing objects"). */
#include "pe_write.h"

enum rw_err pe_write_object(const struct rw_image *img, const struct rw_plan *plan,
                            struct rw_buf *out, struct rw_diag *d)
{
    (void)img;
    (void)plan;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "rewriting COFF objects is not implemented yet");
}

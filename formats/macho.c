/* macho.c - the Mach-O back-end: probe, open, close, the ops table.
 * (Skeleton: the reader is being written; see macho_priv.h.) */
#include <stdlib.h>

#include "macho_priv.h"
#include "plan.h"

static int macho_probe(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static enum rw_err macho_open(struct rw_image *img, struct rw_diag *d)
{
    (void)img;
    return rw_fail(d, RW_E_UNSUPPORTED, "Mach-O is not supported yet");
}

static enum rw_err macho_write(const struct rw_image *img, const struct rw_plan *plan,
                               struct rw_buf *out, struct rw_diag *d)
{
    if (img->kind == RW_KIND_OBJECT)
        return macho_write_object(img, plan, out, d);
    return macho_write_image(img, plan, out, d);
}

static void macho_close(struct rw_image *img)
{
    rw_image_free_model(img);
}

const struct rw_format_ops rw_macho_ops = {
    .name = "Mach-O",
    .map_section = "__CALLIRW,__map",
    .probe = macho_probe,
    .open = macho_open,
    .write = macho_write,
    .code_va = macho_image_code_va,
    .close = macho_close,
};

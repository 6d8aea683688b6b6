/* pe_write.c - rewriting linked PE32+ images (docs/pe.md, "Writing"). */
#include <stdlib.h>
#include <string.h>

#include "pe_write.h"

enum rw_err pe_edits_push(struct pe_edits *e, uint32_t rva, const void *bytes, uint32_t len,
                          struct rw_diag *d)
{
    if (len > sizeof e->v[0].bytes)
        return rw_fail(d, RW_E_INTERNAL, "an edit of %u bytes", len);
    if (pe_grow((void **)&e->v, &e->cap, e->n, sizeof *e->v))
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

enum rw_err pe_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    (void)img;
    (void)d;
    *va = RW_NO_ADDRESS;
    return RW_OK;
}

enum rw_err pe_write_image(const struct rw_image *img, const struct rw_plan *plan,
                           struct rw_buf *out, struct rw_diag *d)
{
    (void)img;
    (void)plan;
    (void)out;
    return rw_fail(d, RW_E_UNSUPPORTED, "rewriting PE images is not implemented yet");
}

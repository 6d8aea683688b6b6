/* pe_write_r2r.c - what a rewrite adds to a ReadyToRun image (docs/r2r.md). */
#include "pe_r2r.h"
#include "pe_write.h"

enum rw_err pe_r2r_rewrite(const struct rw_image *img, const uint8_t *stub_rf, size_t nstub_rf,
                           const uint8_t *map, size_t map_len, uint32_t at_rva,
                           struct rw_buf *add, struct pe_edits *edits, struct rw_diag *d)
{
    (void)img, (void)stub_rf, (void)nstub_rf, (void)map, (void)map_len, (void)at_rva;
    (void)add, (void)edits;
    return rw_fail(d, RW_E_UNSUPPORTED, "rewriting ReadyToRun images is not implemented yet");
}

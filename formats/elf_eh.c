/* elf_eh.c - .eh_frame contents for stubs, from their unwind descriptions
 * (stubs/cfi_dwarf.h does the DWARF; this file places it). Every stub gets
 * an FDE, frameless ones too (CFA = rsp + 8 throughout), so that a debugger
 * or profiler stopped anywhere in any stub unwinds to the call site. */
#include <stdlib.h>
#include <string.h>

#include "cfi_dwarf.h"
#include "elf_write.h"

static enum rw_err cfi_fail(struct rw_diag *d, enum cfi_err e, const char *what)
{
    switch (e) {
    case CFI_E_NOMEM: return rw_fail(d, RW_E_NOMEM, "%s: out of memory", what);
    case CFI_E_RANGE: return rw_fail(d, RW_E_NOROOM, "%s: a stub is out of 32-bit range of its FDE", what);
    case CFI_E_ABI: return rw_fail(d, RW_E_UNSUPPORTED, "%s: no DWARF unwind mapping for this ABI", what);
    default: return rw_fail(d, RW_E_INTERNAL, "%s: malformed stub unwind description", what);
    }
}

enum rw_err rw_elf_stub_eh_frame(const struct rw_image *img, const struct rw_plan *plan,
                                 uint64_t eh_va, uint64_t text_va, struct rw_buf *out,
                                 uint64_t *fde_off, struct rw_diag *d)
{
    struct cfi_buf b = {0};
    size_t cie;
    enum cfi_err e = cfi_dwarf_cie(&b, img->abi, &cie);
    for (size_t i = 0; !e && i < plan->nstubs; i++) {
        fde_off[i] = b.len;
        e = cfi_dwarf_fde(&b, cie, &plan->stubs[i].code, eh_va,
                          text_va + plan->stubs[i].offset, NULL);
    }
    if (!e)
        e = cfi_dwarf_end(&b);
    enum rw_err r = e ? cfi_fail(d, e, ".eh_frame for stubs")
                      : rw_buf_append(out, b.data, b.len) ? rw_fail(d, RW_E_NOMEM, "out of memory")
                                                          : RW_OK;
    free(b.data);
    return r;
}

enum rw_err rw_elf_fde_for_object(const struct rw_image *img, const struct stub_code *code,
                                  struct rw_buf *out, uint64_t *pc_field, struct rw_diag *d)
{
    struct cfi_buf b = {0};
    size_t cie, field = 0;
    enum cfi_err e = cfi_dwarf_cie(&b, img->abi, &cie);
    if (!e)
        e = cfi_dwarf_fde(&b, cie, code, 0, 0, &field);
    enum rw_err r = e ? cfi_fail(d, e, ".eh_frame for a stub")
                      : rw_buf_append(out, b.data, b.len) ? rw_fail(d, RW_E_NOMEM, "out of memory")
                                                          : RW_OK;
    *pc_field = field;
    free(b.data);
    return r;
}

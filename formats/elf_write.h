/* elf_write.h - the ELF back-end's write side (internal to formats/). */
#ifndef CALLIRW_ELF_WRITE_H
#define CALLIRW_ELF_WRITE_H

#include "format.h"
#include "plan.h"

/* Linked images (ET_EXEC, ET_DYN). */
enum rw_err rw_elf_write_linked(const struct rw_image *img, const struct rw_plan *plan,
                                struct rw_buf *out, struct rw_diag *d);
/* Where the stub text of a written linked image starts (see
 * rw_format_ops.code_va); RW_NO_ADDRESS for objects. */
enum rw_err rw_elf_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d);
/* Caves for range-extension veneers (rw_format_ops.code_caves). */
enum rw_err rw_elf_code_caves(const struct rw_image *img, struct rw_cave **caves, size_t *n,
                              struct rw_diag *d);
/* Relocatable objects (ET_REL). */
enum rw_err rw_elf_write_object(const struct rw_image *img, const struct rw_plan *plan,
                                struct rw_buf *out, struct rw_diag *d);

/* .eh_frame contents for the plan's framed stubs: one CIE, then an FDE per
 * stub with a frame, for an .eh_frame placed at eh_va and stubs at
 * text_va + stub.offset. fde_off[i] receives the FDE's offset for stub i, or
 * UINT64_MAX for a stub without a frame. The size does not depend on the
 * addresses, so a caller may size first with zeros. */
enum rw_err rw_elf_stub_eh_frame(const struct rw_image *img, const struct rw_plan *plan,
                                 uint64_t eh_va, uint64_t text_va, struct rw_buf *out,
                                 uint64_t *fde_off, struct rw_diag *d);

/* One CIE and one FDE for a single framed stub in an object: pc_begin is
 * left 0 for a PC32 relocation at *pc_field (an offset in out). */
struct stub_code;
enum rw_err rw_elf_fde_for_object(const struct rw_image *img, const struct stub_code *code,
                                  struct rw_buf *out, uint64_t *pc_field, struct rw_diag *d);

#endif

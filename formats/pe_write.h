/* pe_write.h - the PE/COFF back-end's write side (docs/pe.md, "Writing images").
 *
 *  - pe_write.c: linked PE32+ x86-64 images (EXE, DLL): new sections after
 *    the last one (.callirw, .pdata, .crwdata, .crwmap), their headers in
 *    the slack after the section table, sites patched, the exception
 *    directory rebuilt, the rewrite map; it calls pe_r2r_rewrite for a
 *    ReadyToRun image.
 *  - pe_write_obj.c: COFF objects.
 *  - pe_write_r2r.c: what a ReadyToRun image adds (calli-abi.md section 6).
 */
#ifndef CALLIRW_PE_WRITE_H
#define CALLIRW_PE_WRITE_H

#include "pe_priv.h"
#include "plan.h"

/* An edit of bytes the image already has, by RVA: inside the mapped headers
 * or inside one section's raw data (the writer checks and maps it to a file
 * offset; an edit it cannot place is RW_E_INTERNAL). */
struct pe_edit {
    uint32_t rva;
    uint32_t len; /* <= sizeof bytes */
    uint8_t bytes[16];
};
struct pe_edits {
    struct pe_edit *v;
    size_t n, cap;
};
enum rw_err pe_edits_push(struct pe_edits *e, uint32_t rva, const void *bytes, uint32_t len,
                          struct rw_diag *d);
void pe_edits_free(struct pe_edits *e);

/* pe_write.c: the virtual address (ImageBase + RVA: model addresses are
 * VAs at the preferred base) at which the stub text will start (format.h
 * code_va); from the headers alone, never the plan. */
enum rw_err pe_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d);
enum rw_err pe_write_image(const struct rw_image *img, const struct rw_plan *plan,
                           struct rw_buf *out, struct rw_diag *d);

/* pe_write_obj.c */
enum rw_err pe_write_object(const struct rw_image *img, const struct rw_plan *plan,
                            struct rw_buf *out, struct rw_diag *d);

/* pe_write_r2r.c: the ReadyToRun part of a rewrite. The image writer calls it
 * once it knows where its new read-only data goes (at_rva, 8-aligned, in a
 * new section after every existing one) and has the stubs' RUNTIME_FUNCTIONs
 * (stub_rf: nstub_rf entries of 12 bytes {Begin, End, UnwindData} RVAs,
 * sorted by Begin; every stub lies above every existing function) and the
 * rewrite map (map, map_len). It appends to `add` the bytes that go at
 * at_rva (a RuntimeFunctions table with every existing entry at its index
 * and the stubs' after them; the map; the READYTORUN_HEADER copied with its
 * section table grown by the map's section, type R2R_SEC_CALLIRW_MAP) and
 * pushes to `edits` the changes to existing bytes (the CLI header's
 * ManagedNativeHeader). RW_E_UNSUPPORTED, with one line, for what it does not
 * handle (composite images). */
enum rw_err pe_r2r_rewrite(const struct rw_image *img, const uint8_t *stub_rf, size_t nstub_rf,
                           const uint8_t *map, size_t map_len, uint32_t at_rva,
                           struct rw_buf *add, struct pe_edits *edits, struct rw_diag *d);

#endif

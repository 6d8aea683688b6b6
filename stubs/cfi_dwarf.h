/* cfi_dwarf.h - DWARF call-frame information (.eh_frame CIEs and FDEs) from
 * a stub's unwind description (stub.h). Used by the ELF back-end to build
 * the stubs' .eh_frame (and by Mach-O's __eh_frame when compact unwind
 * cannot express a stub), and by the unit tests, which register the same
 * bytes in-process with __register_frame.
 *
 * Layout: augmentation "zR", FDE addresses DW_EH_PE_pcrel | DW_EH_PE_sdata4,
 * every entry padded with DW_CFA_nop to a multiple of 8 bytes, so entries
 * stay 8-aligned when the buffer is. x86-64 (SysV and Mach-O x86-64, which
 * share DWARF register numbers) and arm64 (AAPCS64 and Apple arm64: x0-x30
 * are DWARF 0-30, sp 31).
 */
#ifndef CALLIRW_CFI_DWARF_H
#define CALLIRW_CFI_DWARF_H

#include <stddef.h>
#include <stdint.h>

#include "stub.h"

/* A growable byte buffer (same fields as rw_buf). Zero-initialise; free(data). */
struct cfi_buf {
    uint8_t *data;
    size_t len, cap;
};

enum cfi_err {
    CFI_OK = 0,
    CFI_E_NOMEM,
    CFI_E_ABI,    /* no DWARF mapping for this ABI */
    CFI_E_UNWIND, /* malformed unwind description */
    CFI_E_RANGE,  /* func is not within +-2 GiB of its pc_begin field */
};

/* Append the CIE every stub FDE of this ABI refers to. x86-64: code
 * alignment 1, data alignment -8, return address column 16, initial rule
 * CFA = rsp + 8, return address at CFA - 8. arm64: code alignment 4, data
 * alignment -8, return address column 30, initial rule CFA = sp + 0 (the
 * return address is in x30). *cie_off: its offset in b. */
enum cfi_err cfi_dwarf_cie(struct cfi_buf *b, enum calli_abi abi, size_t *cie_off);

/* Append the FDE of one stub, covering [func, func + code->len). The
 * addresses are in one space of the caller's choice (virtual addresses, or
 * offsets in one output section): base is where b->data[0] will be, func
 * where the stub's first byte will be. The pc_begin field holds
 * func - (its own address); *pc_field (if not null) receives that field's
 * offset in b, for back-ends that must emit a relocation there instead
 * (relocatable objects: R_X86_64_PC32 against the stub section; pass
 * base = func = 0 to get a placeholder). CFI_E_RANGE if the distance does
 * not fit the 32-bit field - never a silently wrapped address. Frameless
 * stubs get an FDE with no instructions (CFA = rsp + 8, or sp on arm64,
 * throughout), which profilers and debuggers also welcome. ELF arm64
 * objects relocate the field with R_AARCH64_PREL32. */
enum cfi_err cfi_dwarf_fde(struct cfi_buf *b, size_t cie_off, const struct stub_code *code,
                           uint64_t base, uint64_t func, size_t *pc_field);

/* Append the 4-byte zero terminator that ends an .eh_frame section. */
enum cfi_err cfi_dwarf_end(struct cfi_buf *b);

/* Just the call-frame instructions of one stub (what goes after an FDE's
 * augmentation data), unpadded. */
enum cfi_err cfi_dwarf_program(const struct stub_code *code, struct cfi_buf *b);

#endif

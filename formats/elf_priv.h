/* elf_priv.h - the ELF back-end's private state, shared by formats/elf*.c.
 *
 * open() validates every header against the file before anything is read
 * through it, keeps copies of the section and program headers here, and
 * fills the model (image.h). The writer (next: stub section, patching,
 * .eh_frame, new PT_LOAD, rewrite map) reuses this state: the libelf handle,
 * the header copies, and the maps between ELF and model indices.
 *
 * Model indices: rw_image.sec[i] is ELF section i + 1 (the null section is
 * not in the model); rw_image.sym holds .symtab entries 1..n-1 from
 * symtab_base, then .dynsym entries 1..n-1 from dynsym_base.
 */
#ifndef CALLIRW_ELF_PRIV_H
#define CALLIRW_ELF_PRIV_H

#include <gelf.h>
#include <libelf.h>

#include "format.h"

/* Relocation types this back-end interprets (elf.h has them all; named here
 * so the code reads the same on hosts with an older elf.h). */
#define ELF_R_X86_64_64 1
#define ELF_R_X86_64_PC32 2
#define ELF_R_X86_64_PLT32 4
#define ELF_R_X86_64_GLOB_DAT 6
#define ELF_R_X86_64_JUMP_SLOT 7
#define ELF_R_X86_64_RELATIVE 8
#define ELF_R_X86_64_GOTPCREL 9
#define ELF_R_X86_64_32 10
#define ELF_R_X86_64_32S 11
#define ELF_R_X86_64_PC64 24
#define ELF_R_X86_64_IRELATIVE 37
#define ELF_R_X86_64_GOTPCRELX 41
#define ELF_R_X86_64_REX_GOTPCRELX 42

#define ELF_R_AARCH64_ABS64 257
#define ELF_R_AARCH64_PREL32 261
#define ELF_R_AARCH64_LD_PREL_LO19 273
#define ELF_R_AARCH64_ADR_PREL_PG_HI21 275
#define ELF_R_AARCH64_ADD_ABS_LO12_NC 277
#define ELF_R_AARCH64_LDST8_ABS_LO12_NC 278
#define ELF_R_AARCH64_JUMP26 282
#define ELF_R_AARCH64_CALL26 283
#define ELF_R_AARCH64_LDST16_ABS_LO12_NC 284
#define ELF_R_AARCH64_LDST32_ABS_LO12_NC 285
#define ELF_R_AARCH64_LDST64_ABS_LO12_NC 286
#define ELF_R_AARCH64_LDST128_ABS_LO12_NC 299
#define ELF_R_AARCH64_ADR_GOT_PAGE 311
#define ELF_R_AARCH64_LD64_GOT_LO12_NC 312
#define ELF_R_AARCH64_GLOB_DAT 1025
#define ELF_R_AARCH64_JUMP_SLOT 1026
#define ELF_R_AARCH64_RELATIVE 1027
#define ELF_R_AARCH64_IRELATIVE 1032

#ifndef SHT_RELR
#define SHT_RELR 19 /* packed relative relocations: the slot keeps its link-time
                       value in the file, which is what read_pointer returns */
#endif

/* An allocated section, for address look-ups (sorted by address). */
struct elf_alloc {
    uint64_t addr, size;
    uint32_t model; /* index into rw_image.sec */
};

struct elf_state {
    Elf *elf;
    GElf_Ehdr ehdr;
    size_t shnum;      /* including the null section */
    size_t shstrndx;
    size_t phnum;
    GElf_Shdr *shdr;   /* shnum copies, by ELF section index */
    GElf_Phdr *phdr;   /* phnum copies */

    size_t symtab, dynsym;         /* ELF section index, 0 if none */
    size_t symtab_n, dynsym_n;     /* entries, including entry 0 */
    uint32_t symtab_base, dynsym_base; /* model index of entry 1 */

    struct elf_alloc *alloc;       /* allocated non-TLS-NOBITS sections by address */
    size_t nalloc;

    uint64_t relro_start, relro_end; /* PT_GNU_RELRO, [start, end); 0, 0 if none */
    int has_interp;
    uint64_t dt_flags_1;
};

static inline struct elf_state *elf_st(const struct rw_image *img)
{
    return (struct elf_state *)img->backend;
}

/* Model index of ELF section shndx (1..shnum-1). */
static inline uint32_t elf_model_sec(size_t shndx)
{
    return (uint32_t)(shndx - 1);
}

/* elf_headers.c: ELF header, section and program headers, the sections. */
enum rw_err elf_read_headers(struct rw_image *img, struct elf_state *st, struct rw_diag *d);
/* The name of ELF section shndx for messages ("[5]" when it has none). */
const char *elf_sec_name(const struct rw_image *img, size_t shndx, char buf[24]);
/* The model section holding [va, va+len) among allocated sections, or RW_NONE. */
uint32_t elf_sec_at(const struct elf_state *st, uint64_t va, uint64_t len);

/* elf_symbols.c: .symtab and .dynsym, function ranges from FUNC symbols,
 * and the helper's symbols and addresses. */
enum rw_err elf_read_symbols(struct rw_image *img, struct elf_state *st, struct rw_diag *d);

/* elf_relocs.c: relocations (objects: all that patch allocated sections;
 * linked: the dynamic ones), the helper's slots and PLT sections,
 * read_pointer. */
enum rw_err elf_read_relocs(struct rw_image *img, struct elf_state *st, struct rw_diag *d);
enum rw_err elf_read_pointer(const struct rw_image *img, uint64_t va, uint64_t *value);

/* elf_ehframe.c: function ranges from .eh_frame FDEs. */
enum rw_err elf_read_ehframe(struct rw_image *img, struct elf_state *st, struct rw_diag *d);

/* elf_notes.c: .note.gnu.property (IBT, BTI). */
enum rw_err elf_read_notes(struct rw_image *img, struct elf_state *st, struct rw_diag *d);

#endif

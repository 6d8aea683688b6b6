/* pe_write_obj.h - private to the COFF object writer (pe_write_obj*.c;
 * docs/pe.md, "Writing objects"): the writer's state and the builders of
 * new section headers, symbol records, strings and raw data
 * (pe_write_obj_tab.c). */
#ifndef CALLIRW_PE_WRITE_OBJ_H
#define CALLIRW_PE_WRITE_OBJ_H

#include "buf.h"
#include "pe_write.h"

#define COFF_MAX_SECTIONS 65279u       /* section numbers 0xFF00.. are reserved */
#define BIGOBJ_MAX_SECTIONS 0x7FFFFFFFu
#define SCN_ALIGN_4 0x00300000u
#define SCN_ALIGN_8 0x00400000u
#define SCN_ALIGN_16 0x00500000u
#define COMDAT_SELECT_ANY 2

struct ow {
    const struct rw_image *img;
    const struct rw_plan *plan;
    const struct pe_state *st;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;
    uint32_t hdrsz;       /* file header: 20, or 56 for /bigobj */
    uint64_t old_shend;   /* end of the input's section table */
    uint64_t body_end;    /* input bytes kept: [old_shend, body_end) */
    uint64_t delta;       /* how far the kept bytes move: 40 per new header */
    uint64_t data_base;   /* output offset of data.data[0] */
    uint32_t nnew;        /* new sections */
    struct rw_buf shdrs;  /* new section headers */
    struct rw_buf data;   /* new raw data and relocation records */
    struct rw_buf syms;   /* new symbol records */
    struct rw_buf strs;   /* the string table: old contents, then new names;
                             or, when new section names would land past the
                             offsets "/digits" can say (prepend), the new
                             names first and the old contents after them */
    int prepend;
    uint32_t str_shift;   /* prepend: how far every old string moves */
};

enum rw_err ow_oom(struct ow *w);
/* A name in the string table; *off is its offset. */
enum rw_err ow_add_string(struct ow *w, const char *s, uint32_t *off);
/* New raw data at an alignment; *off is its output file offset. */
enum rw_err ow_add_data(struct ow *w, const void *p, size_t n, size_t align, uint32_t *off);
#define COFF_MAX_DIGIT_NAME 9999999u /* the largest offset "/digits" can say */
/* The 8-byte name field for string-table offset off: "/digits", or "//"
 * and six base64 digits past COFF_MAX_DIGIT_NAME (which GNU ld 2.40 does
 * not read; lld does). */
void ow_name_ref(uint8_t name8[8], uint32_t off);
/* The string-table offset a name field refers to; 0 if it is not "/digits"
 * or "//base64". */
int ow_name_off(const uint8_t name8[8], uint32_t *off);
/* A section header (a long name goes to the string table); *num is its
 * 1-based section number. */
enum rw_err ow_add_section(struct ow *w, const char *name, uint32_t ch, uint32_t rawsz,
                           uint32_t rawptr, uint32_t relptr, uint16_t nrel, uint32_t *num);
/* A primary symbol record (18 or 20 bytes); *index (if not NULL) is its
 * symbol-table index. */
enum rw_err ow_add_symbol(struct ow *w, const char *name, uint32_t value, uint32_t secnum,
                          uint16_t type, uint8_t sclass, uint8_t naux, uint32_t *index);
/* A static section symbol with its auxiliary section definition (length,
 * relocation count, JamCRC checksum, COMDAT selection). */
enum rw_err ow_add_section_symbol(struct ow *w, const char *name, uint32_t secnum,
                                  const uint8_t *bytes, uint32_t len, uint16_t nrel,
                                  uint8_t selection);
/* A 10-byte relocation record. */
void ow_reloc_rec(uint8_t *r, uint32_t va, uint32_t sym, uint16_t type);

#endif

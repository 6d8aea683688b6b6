/* macho_write.h - the linked-image writer's private state (macho_write.c,
 * macho_write_le.c, macho_write_unwind.c; docs/macho-images.md).
 *
 * The writer reads the header and load commands again itself (like the ELF
 * writer), bounds-checking everything, so that it relies on nothing but the
 * bytes, img->machine and img->kind: the file offsets it must move are in
 * commands the model does not describe anyway. */
#ifndef CALLIRW_MACHO_WRITE_H
#define CALLIRW_MACHO_WRITE_H

#include "macho_priv.h"
#include "plan.h"

/* The new segment's command: LC_SEGMENT_64 with __text and __map. */
#define MW_SEG_CMD_SIZE (MACHO_SEGMENT_CMD_SIZE + 2 * MACHO_SECTION_SIZE)

struct mw_seg {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t lc_off;  /* its command's offset in the input */
    uint32_t nsects, first_sect;
};

struct mw_sect {
    char segname[17], sectname[17];
    uint64_t addr, size;
    uint32_t offset, flags;
    uint32_t hdr_off; /* its section_64 in the input */
    uint32_t seg;
};

/* A range of __LINKEDIT a load command points at: the offset field at
 * lc_off + off_field (u32), its size in bytes. content: the bytes the writer
 * replaces it with (function starts, chained fixups), written at the new
 * offset, with its size field (at size_field) set to new_size; growth: the
 * bytes it grows by in the file (a multiple of 16). */
enum mw_piece_kind {
    MW_PIECE_PLAIN = 0, MW_PIECE_FSTARTS, MW_PIECE_FIXUPS, MW_PIECE_CODESIG,
    MW_PIECE_FIXED /* file data that must lie below __LINKEDIT (LC_NOTE, encryption) */
};
struct mw_piece {
    uint32_t lc_off, off_field, size_field; /* size_field 0: a count, never changed */
    uint64_t off, size;
    int kind;            /* enum mw_piece_kind */
    const char *what;    /* for messages */
    /* filled by the layout */
    uint64_t new_size, growth;
    struct rw_buf content; /* FSTARTS, FIXUPS: the new bytes */
};

struct mw {
    const struct rw_image *img;
    const struct rw_plan *plan;
    struct rw_diag *d;
    const uint8_t *in;
    size_t insz;

    uint32_t cputype, filetype, ncmds, sizeofcmds;
    uint32_t lc_end, room;   /* end of the commands; free bytes after them */
    uint64_t page;
    struct mw_seg *seg;
    size_t nseg;
    struct mw_sect *sect;
    size_t nsect;
    size_t text, le;         /* indices of __TEXT (fileoff 0) and __LINKEDIT */

    /* The new segment: at __LINKEDIT's old address and file offset. */
    uint64_t seg_va, seg_off, seg_size;
    uint64_t map_at;
    uint8_t *map;
    size_t map_len;

    struct mw_piece *pc;
    size_t npc;
    size_t cs;               /* index of the code signature piece, or SIZE_MAX */
    uint64_t le_new_off, le_new_filesize, le_new_vmsize, out_size;
    uint64_t sig_off, sig_size;
    struct macho_sig_info sig; /* the input's, to sign again like it */
};

/* macho_write.c */
enum rw_err mw_load(struct mw *w);
/* Input file offset of [va, va + len) in a segment's file bytes, or -1. */
int64_t mw_va_to_off(const struct mw *w, uint64_t va, uint64_t len);
/* Where load command bytes at input offset off are in the output. */
uint32_t mw_lc_newpos(const struct mw *w, uint32_t off);

/* macho_write_le.c: __LINKEDIT. */
/* Called by mw_load for every command: records the __LINKEDIT ranges it
 * points at; *known = 0 for a command the writer does not know. */
enum rw_err mw_le_command(struct mw *w, uint32_t cmd, uint32_t off, uint32_t size, int *known);
enum rw_err mw_le_plan(struct mw *w);      /* new contents and layout */
enum rw_err mw_le_write(struct mw *w, uint8_t *out); /* contents and command fields */
void mw_le_free(struct mw *w);

/* macho_write_unwind.c: the stubs in __TEXT,__unwind_info (a warning, not
 * an error, when that cannot be done). */
uint32_t mw_unwind_encoding(const struct stub_code *c);
enum rw_err mw_unwind_write(struct mw *w, uint8_t *out, uint64_t text_va);

#endif

/* elf.c - the ELF back-end's entry points (format.h): probe, open, close,
 * read_pointer, write. open() runs the readers in elf_headers.c,
 * elf_symbols.c, elf_relocs.c, elf_ehframe.c and elf_notes.c, in that order;
 * each validates what it reads against the file before using it. */
#include <stdlib.h>
#include <string.h>

#include "elf_priv.h"
#include "elf_write.h"

static int elf_probe(const uint8_t *data, size_t size)
{
    return size >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

static void elf_close(struct rw_image *img)
{
    struct elf_state *st = elf_st(img);
    rw_image_free_model(img);
    if (st) {
        if (st->elf)
            elf_end(st->elf);
        free(st->shdr);
        free(st->phdr);
        free(st->alloc);
        free(st);
    }
    img->backend = NULL;
}

static enum rw_err elf_open(struct rw_image *img, struct rw_diag *d)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return rw_fail(d, RW_E_INTERNAL, "libelf: %s", elf_errmsg(-1));
    struct elf_state *st = calloc(1, sizeof *st);
    if (!st)
        return rw_fail(d, RW_E_NOMEM, "out of memory");
    img->backend = st;
    img->format = RW_FMT_ELF;

    enum rw_err e;
    if ((e = elf_read_headers(img, st, d)) || (e = elf_read_symbols(img, st, d)) ||
        (e = elf_read_relocs(img, st, d)) ||
        (e = rw_image_normalize(img, d)) || /* .eh_frame looks relocations up */
        (e = elf_read_ehframe(img, st, d)) ||
        (e = elf_read_notes(img, st, d)) || (e = rw_image_normalize(img, d)))
        return e;
    return RW_OK;
}

static enum rw_err elf_write(const struct rw_image *img, const struct rw_plan *plan,
                             struct rw_buf *out, struct rw_diag *d)
{
    return img->kind == RW_KIND_OBJECT ? rw_elf_write_object(img, plan, out, d)
                                       : rw_elf_write_linked(img, plan, out, d);
}

const struct rw_format_ops rw_elf_ops = {
    .name = "ELF",
    .map_section = ".callirw.map", /* docs/abi.md section 7 */
    .probe = elf_probe,
    .open = elf_open,
    .code_va = rw_elf_code_va,
    .code_caves = rw_elf_code_caves,
    .read_pointer = elf_read_pointer,
    .write = elf_write,
    .close = elf_close,
};

/* macho_write.c - rewriting MH_EXECUTE, MH_DYLIB and MH_BUNDLE images
 * (docs/macho-images.md).
 *
 * What changes:
 *  - one new LC_SEGMENT_64 __CALLIRW (r-x) with __text (the stubs, first,
 *    at an address fixed before the plan: macho_image_code_va) and __map
 *    (the rewrite map), at __LINKEDIT's old address and file offset; its
 *    command goes right before __LINKEDIT's, in the load-command slack;
 *  - __LINKEDIT moves up by the new segment's size, in memory and in the
 *    file, and stays last; every offset into it follows (macho_write_le.c),
 *    LC_FUNCTION_STARTS gains the stubs, chained fixups gain the segment;
 *  - the stubs join __TEXT,__unwind_info when it can be rebuilt in place
 *    (macho_write_unwind.c);
 *  - every site is patched in place, return addresses unchanged;
 *  - a signed input is signed again, ad hoc, last.
 * Nothing else moves: no address any code or data uses changes, and no
 * rebase or bind is added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho_write.h"
#include "map.h"
#include "patch.h"

static int in_file(const struct mw *w, uint64_t off, uint64_t len)
{
    return off <= w->insz && len <= w->insz - off;
}

static void copy_name(char dst[17], const uint8_t *src)
{
    memcpy(dst, src, 16);
    dst[16] = 0;
}

int64_t mw_va_to_off(const struct mw *w, uint64_t va, uint64_t len)
{
    for (size_t i = 0; i < w->nseg; i++) {
        const struct mw_seg *s = &w->seg[i];
        if (s->filesize && va >= s->vmaddr && va - s->vmaddr <= s->filesize &&
            len <= s->filesize - (va - s->vmaddr))
            return (int64_t)(s->fileoff + (va - s->vmaddr));
    }
    return -1;
}

uint32_t mw_lc_newpos(const struct mw *w, uint32_t off)
{
    return off < w->seg[w->le].lc_off ? off : off + MW_SEG_CMD_SIZE;
}

/* Commands that hold no file offset (nothing to move). */
static int plain_command(uint32_t cmd)
{
    switch (cmd) {
    case 0x4: case 0x5:                  /* LC_THREAD, LC_UNIXTHREAD */
    case 0x8:                            /* LC_IDENT */
    case MACHO_LC_LOAD_DYLIB: case MACHO_LC_ID_DYLIB: case MACHO_LC_LOAD_WEAK_DYLIB:
    case MACHO_LC_REEXPORT_DYLIB: case MACHO_LC_LOAD_UPWARD_DYLIB:
    case 0x20:                           /* LC_LAZY_LOAD_DYLIB */
    case 0xe: case 0xf:                  /* LC_LOAD_DYLINKER, LC_ID_DYLINKER */
    case 0x10:                           /* LC_PREBOUND_DYLIB */
    case 0x12: case 0x13: case 0x14: case 0x15: /* LC_SUB_* */
    case 0x1a:                           /* LC_ROUTINES_64 */
    case MACHO_LC_UUID:
    case 0x1c | MACHO_LC_REQ_DYLD:       /* LC_RPATH */
    case 0x24: case 0x25: case 0x2f: case 0x30: /* LC_VERSION_MIN_* */
    case 0x27:                           /* LC_DYLD_ENVIRONMENT */
    case MACHO_LC_MAIN:                  /* entryoff: in __TEXT, which stays */
    case 0x2a:                           /* LC_SOURCE_VERSION */
    case 0x2d:                           /* LC_LINKER_OPTION */
    case MACHO_LC_BUILD_VERSION:
    case 0x39:                           /* LC_TARGET_TRIPLE */
        return 1;
    default:
        return 0;
    }
}

static enum rw_err load_segment(struct mw *w, uint32_t off, uint32_t size)
{
    const uint8_t *p = w->in + off;
    if (size < MACHO_SEGMENT_CMD_SIZE)
        return rw_fail(w->d, RW_E_CORRUPT, "LC_SEGMENT_64 at 0x%x is truncated", off);
    uint32_t nsects = macho_u32(p + 64);
    if ((uint64_t)nsects * MACHO_SECTION_SIZE != size - MACHO_SEGMENT_CMD_SIZE)
        return rw_fail(w->d, RW_E_CORRUPT, "LC_SEGMENT_64 at 0x%x: %u sections in %u bytes", off,
                       nsects, size);
    struct mw_seg s = {0};
    copy_name(s.name, p + 8);
    s.vmaddr = macho_u64(p + 24);
    s.vmsize = macho_u64(p + 32);
    s.fileoff = macho_u64(p + 40);
    s.filesize = macho_u64(p + 48);
    s.lc_off = off;
    s.nsects = nsects;
    s.first_sect = (uint32_t)w->nsect;
    if (s.vmaddr > UINT64_MAX - s.vmsize || (s.filesize && !in_file(w, s.fileoff, s.filesize)))
        return rw_fail(w->d, RW_E_CORRUPT, "segment %s lies outside the file or address space",
                       s.name);
    struct mw_seg *ns = realloc(w->seg, (w->nseg + 1) * sizeof *ns);
    if (!ns)
        return rw_fail(w->d, RW_E_NOMEM, "out of memory");
    w->seg = ns;
    w->seg[w->nseg++] = s;
    if (nsects) {
        struct mw_sect *nc = realloc(w->sect, (w->nsect + nsects) * sizeof *nc);
        if (!nc)
            return rw_fail(w->d, RW_E_NOMEM, "out of memory");
        w->sect = nc;
    }
    for (uint32_t i = 0; i < nsects; i++) {
        const uint8_t *q = p + MACHO_SEGMENT_CMD_SIZE + i * MACHO_SECTION_SIZE;
        struct mw_sect c = {0};
        copy_name(c.sectname, q);
        copy_name(c.segname, q + 16);
        c.addr = macho_u64(q + 32);
        c.size = macho_u64(q + 40);
        c.offset = macho_u32(q + 48);
        c.flags = macho_u32(q + 64);
        c.hdr_off = off + MACHO_SEGMENT_CMD_SIZE + i * MACHO_SECTION_SIZE;
        c.seg = (uint32_t)(w->nseg - 1);
        int zerofill = macho_is_zerofill(c.flags);
        if (!zerofill && c.size && c.offset && !in_file(w, c.offset, c.size))
            return rw_fail(w->d, RW_E_CORRUPT, "section %s,%s lies past the end of the file",
                           c.segname, c.sectname);
        if (zerofill)
            c.offset = 0; /* occupies no file bytes */
        w->sect[w->nsect++] = c;
    }
    return RW_OK;
}

/* The first byte of file content after the load commands: the lowest file
 * offset of a section with bytes, or of a segment above offset 0. */
static uint64_t first_content(const struct mw *w)
{
    uint64_t first = w->insz;
    for (size_t i = 0; i < w->nsect; i++)
        if (w->sect[i].offset && w->sect[i].size && w->sect[i].offset < first)
            first = w->sect[i].offset;
    for (size_t i = 0; i < w->nseg; i++)
        if (w->seg[i].filesize && w->seg[i].fileoff && w->seg[i].fileoff < first)
            first = w->seg[i].fileoff;
    return first;
}

enum rw_err mw_load(struct mw *w)
{
    if (w->insz < MACHO_HEADER_SIZE || macho_u32(w->in) != MACHO_MH_MAGIC_64)
        return rw_fail(w->d, RW_E_FORMAT, "not a 64-bit little-endian Mach-O image");
    w->cputype = macho_u32(w->in + 4);
    w->filetype = macho_u32(w->in + 12);
    w->ncmds = macho_u32(w->in + 16);
    w->sizeofcmds = macho_u32(w->in + 20);
    if (w->filetype != MACHO_MH_EXECUTE && w->filetype != MACHO_MH_DYLIB &&
        w->filetype != MACHO_MH_BUNDLE)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "Mach-O file type %u is not an image", w->filetype);
    if (w->cputype != MACHO_CPU_TYPE_X86_64 && w->cputype != MACHO_CPU_TYPE_ARM64)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "Mach-O CPU type 0x%x", w->cputype);
    w->page = w->cputype == MACHO_CPU_TYPE_ARM64 ? 0x4000 : 0x1000;
    if (!in_file(w, MACHO_HEADER_SIZE, w->sizeofcmds))
        return rw_fail(w->d, RW_E_CORRUPT, "load commands run past the end of the file");
    w->lc_end = MACHO_HEADER_SIZE + w->sizeofcmds;
    w->cs = SIZE_MAX;
    w->text = w->le = SIZE_MAX;
    uint32_t off = MACHO_HEADER_SIZE;
    for (uint32_t i = 0; i < w->ncmds; i++) {
        if (w->lc_end - off < 8)
            return rw_fail(w->d, RW_E_CORRUPT, "load command %u runs past sizeofcmds", i);
        uint32_t cmd = macho_u32(w->in + off), size = macho_u32(w->in + off + 4);
        if (size < 8 || size % 8 || size > w->lc_end - off)
            return rw_fail(w->d, RW_E_CORRUPT, "load command %u has size %u", i, size);
        enum rw_err e = RW_OK;
        int known = 1;
        if (cmd == MACHO_LC_SEGMENT_64)
            e = load_segment(w, off, size);
        else if (!plain_command(cmd))
            e = mw_le_command(w, cmd, off, size, &known);
        if (e)
            return e;
        if (!known)
            return rw_fail(w->d, RW_E_UNSUPPORTED,
                           "load command 0x%x is not one the image writer knows (it could "
                           "point into __LINKEDIT)", cmd);
        off += size;
    }
    for (size_t i = 0; i < w->nseg; i++) {
        if (!strcmp(w->seg[i].name, "__LINKEDIT"))
            w->le = i;
        if (w->seg[i].fileoff == 0 && w->seg[i].filesize && w->text == SIZE_MAX)
            w->text = i;
    }
    if (w->le == SIZE_MAX || w->text == SIZE_MAX)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "no __LINKEDIT segment, or none maps the header");
    uint64_t first = first_content(w);
    w->room = first > w->lc_end ? (uint32_t)(first - w->lc_end) : 0;
    return RW_OK;
}

/* Where the new segment goes: __LINKEDIT's place, which must be last in
 * command order, in memory and in the file (docs/macho-images.md). */
static enum rw_err place(struct mw *w)
{
    const struct mw_seg *le = &w->seg[w->le];
    for (size_t i = 0; i < w->nseg; i++) {
        const struct mw_seg *s = &w->seg[i];
        if (i == w->le)
            continue;
        if (s->lc_off > le->lc_off)
            return rw_fail(w->d, RW_E_UNSUPPORTED, "segment %s follows __LINKEDIT's command",
                           s->name);
        if (s->vmaddr + s->vmsize > le->vmaddr || (s->filesize && s->fileoff + s->filesize > le->fileoff))
            return rw_fail(w->d, RW_E_UNSUPPORTED, "segment %s lies above __LINKEDIT", s->name);
    }
    if (le->vmaddr > UINT64_MAX / 2)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "no address space above __LINKEDIT");
    if (le->vmaddr % w->page || le->fileoff % w->page)
        return rw_fail(w->d, RW_E_UNSUPPORTED, "__LINKEDIT is not page-aligned (0x%llx, file 0x%llx)",
                       (unsigned long long)le->vmaddr, (unsigned long long)le->fileoff);
    if (le->fileoff + le->filesize != w->insz)
        return rw_fail(w->d, RW_E_UNSUPPORTED,
                       "%llu bytes follow __LINKEDIT in the file",
                       (unsigned long long)(w->insz - (le->fileoff + le->filesize)));
    if (w->room < MW_SEG_CMD_SIZE)
        return rw_fail(w->d, RW_E_NOROOM,
                       "no room for the __CALLIRW load command: it needs %u bytes after the load "
                       "commands and %u are free; relink with -headerpad 0x%x (or "
                       "-headerpad_max_install_names); the file is left as it is",
                       MW_SEG_CMD_SIZE, w->room, 0x400u);
    for (uint32_t i = 0; i < MW_SEG_CMD_SIZE; i++)
        if (w->in[w->lc_end + i])
            return rw_fail(w->d, RW_E_NOROOM,
                           "the %u bytes after the load commands are not free (not zero); "
                           "the file is left as it is", MW_SEG_CMD_SIZE);
    w->seg_va = le->vmaddr;
    w->seg_off = le->fileoff;
    return RW_OK;
}

static void mw_free(struct mw *w)
{
    mw_le_free(w);
    free(w->seg);
    free(w->sect);
    free(w->map);
}

static struct mw mw_init(const struct rw_image *img, const struct rw_plan *plan, struct rw_diag *d)
{
    struct mw w = {0};
    w.img = img;
    w.plan = plan;
    w.d = d;
    w.in = img->data;
    w.insz = img->size;
    return w;
}

enum rw_err macho_image_code_va(const struct rw_image *img, uint64_t *va, struct rw_diag *d)
{
    *va = RW_NO_ADDRESS;
    if (img->kind == RW_KIND_OBJECT)
        return RW_OK; /* the linker places the stubs */
    struct mw w = mw_init(img, NULL, d);
    enum rw_err e = mw_load(&w);
    if (!e)
        e = place(&w);
    if (!e)
        *va = w.seg_va; /* the stubs are the segment's first bytes */
    mw_free(&w);
    return e;
}

/* Patch one site with the bytes rewriter/patch.c gives. */
static enum rw_err patch_site(struct mw *w, uint8_t *out, const struct rw_site *s, uint64_t text_va)
{
    int64_t foff = mw_va_to_off(w, s->addr, s->length);
    if (foff < 0 || (uint64_t)foff + s->length > w->seg_off ||
        memcmp(w->in + foff, s->orig, s->length))
        return rw_fail(w->d, RW_E_INTERNAL, "site 0x%llx: bytes differ from the scan",
                       (unsigned long long)s->addr);
    uint8_t bytes[RW_SITE_MAX_BYTES];
    enum rw_err e = rw_site_patch(w->img->machine, s, rw_site_target(w->plan, s, text_va), bytes, w->d);
    if (e)
        return e;
    memcpy(out + foff, bytes, s->length);
    return RW_OK;
}

static void put_name(uint8_t *p, const char *name)
{
    memset(p, 0, 16);
    memcpy(p, name, strlen(name));
}

static void put_section(uint8_t *p, const char *sect, uint64_t addr, uint64_t size, uint32_t off,
                        uint32_t align, uint32_t flags)
{
    put_name(p, sect);
    put_name(p + 16, "__CALLIRW");
    macho_put64(p + 32, addr);
    macho_put64(p + 40, size);
    macho_put32(p + 48, off);
    macho_put32(p + 52, align);
    macho_put32(p + 64, flags);
}

/* The header and the load commands, with __CALLIRW's before __LINKEDIT's. */
static void write_commands(const struct mw *w, uint8_t *o)
{
    const struct mw_seg *le = &w->seg[w->le];
    macho_put32(o + 16, w->ncmds + 1);
    macho_put32(o + 20, w->sizeofcmds + MW_SEG_CMD_SIZE);
    /* the commands after __CALLIRW's move up by its size */
    memcpy(o + le->lc_off + MW_SEG_CMD_SIZE, w->in + le->lc_off, w->lc_end - le->lc_off);
    uint8_t *p = o + le->lc_off;
    memset(p, 0, MW_SEG_CMD_SIZE);
    macho_put32(p, MACHO_LC_SEGMENT_64);
    macho_put32(p + 4, MW_SEG_CMD_SIZE);
    put_name(p + 8, "__CALLIRW");
    macho_put64(p + 24, w->seg_va);
    macho_put64(p + 32, w->seg_size);
    macho_put64(p + 40, w->seg_off);
    macho_put64(p + 48, w->seg_size);
    macho_put32(p + 56, MACHO_VM_PROT_READ | MACHO_VM_PROT_EXECUTE); /* maxprot */
    macho_put32(p + 60, MACHO_VM_PROT_READ | MACHO_VM_PROT_EXECUTE); /* initprot */
    macho_put32(p + 64, 2);
    put_section(p + MACHO_SEGMENT_CMD_SIZE, "__text", w->seg_va, w->plan->text_size,
                (uint32_t)w->seg_off, 4 /* 2^4 = STUB_ALIGN */,
                MACHO_S_ATTR_PURE_INSTRUCTIONS | MACHO_S_ATTR_SOME_INSTRUCTIONS);
    put_section(p + MACHO_SEGMENT_CMD_SIZE + MACHO_SECTION_SIZE, "__map", w->seg_va + w->map_at,
                w->map_len, (uint32_t)(w->seg_off + w->map_at), 3, 0);
    /* __LINKEDIT, moved */
    uint8_t *l = o + le->lc_off + MW_SEG_CMD_SIZE;
    macho_put64(l + 24, le->vmaddr + w->seg_size);
    macho_put64(l + 32, w->le_new_vmsize);
    macho_put64(l + 40, w->le_new_off);
    macho_put64(l + 48, w->le_new_filesize);
}

enum rw_err macho_write_image(const struct rw_image *img, const struct rw_plan *plan,
                              struct rw_buf *out, struct rw_diag *d)
{
    struct mw w = mw_init(img, plan, d);
    enum rw_err e;
    if ((e = mw_load(&w)) || (e = place(&w)))
        goto done;
    uint64_t text_va = w.seg_va;
    if (plan->text_va != RW_NO_ADDRESS && plan->text_va != text_va) {
        e = rw_fail(d, RW_E_INTERNAL, "the stubs were planned at 0x%llx, written at 0x%llx",
                    (unsigned long long)plan->text_va, (unsigned long long)text_va);
        goto done;
    }
    if (plan->nveneers) { /* no caves are offered (docs/macho-images.md) */
        e = rw_fail(d, RW_E_INTERNAL, "the plan has veneers, but the Mach-O writer offers no caves");
        goto done;
    }
    if ((e = rw_map_from_plan(img, plan, text_va, &w.map, &w.map_len, d)))
        goto done;
    w.map_at = MACHO_ALIGN_UP(plan->text_size, 8);
    w.seg_size = MACHO_ALIGN_UP(w.map_at + w.map_len, w.page);
    if (w.seg_size > UINT32_MAX - w.insz) {
        e = rw_fail(d, RW_E_NOROOM, "the image would pass 4 GiB");
        goto done;
    }
    if ((e = mw_le_plan(&w)))
        goto done;
    if (rw_buf_reserve(out, w.out_size)) {
        e = rw_fail(d, RW_E_NOMEM, "out of memory");
        goto done;
    }
    uint8_t *o = out->data;
    memset(o, 0, w.out_size);
    rw_copy_input(img, o, w.in, w.seg_off); /* everything before __LINKEDIT stays */
    write_commands(&w, o);

    for (size_t i = 0; i < plan->scan->nsites; i++) {
        const struct rw_site *s = &plan->scan->sites[i];
        if (s->verdict == RW_SITE_OK && (e = patch_site(&w, o, s, text_va)))
            goto done;
    }
    for (size_t i = 0; i < plan->nstubs; i++) {
        const struct rw_stub *s = &plan->stubs[i];
        if (s->offset > plan->text_size || s->code.len > plan->text_size - s->offset) {
            e = rw_fail(d, RW_E_INTERNAL, "stub %s lies outside the stub section", s->key);
            goto done;
        }
        memcpy(o + w.seg_off + s->offset, s->code.bytes, s->code.len);
    }
    memcpy(o + w.seg_off + w.map_at, w.map, w.map_len);
    if ((e = mw_unwind_write(&w, o, text_va)))
        goto done;
    /* __LINKEDIT and the offsets into it; the signature last, once every
     * other byte is final */
    if ((e = mw_le_write(&w, o)))
        goto done;
    out->len = w.out_size;
done:
    mw_free(&w);
    return e;
}

/* image.c - format-neutral helpers over the image model: bounds-checked
 * access, look-ups, normalisation, and opening a file through its
 * back-end (diagnostics: diag.c; output buffers: buf.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "format.h"
#include "image.h"
#include "sort.h"

const uint8_t *rw_section_bytes(const struct rw_image *img, uint32_t sec, uint64_t off,
                                uint64_t len)
{
    if (sec >= img->nsec)
        return NULL;
    const struct rw_section *s = &img->sec[sec];
    if (!s->data || off > s->size || len > s->size - off)
        return NULL;
    return s->data + off;
}

uint32_t rw_section_at(const struct rw_image *img, uint64_t va, uint64_t len)
{
    for (uint32_t i = 0; i < img->nsec; i++) {
        const struct rw_section *s = &img->sec[i];
        /* the address first: it rules out nearly every section, cheaply */
        if (va < s->addr || va - s->addr > s->size || len > s->size - (va - s->addr))
            continue;
        if (!(s->flags & RW_SEC_ALLOC) || s->size == 0)
            continue;
        if ((s->flags & (RW_SEC_TLS | RW_SEC_NOBITS)) == (RW_SEC_TLS | RW_SEC_NOBITS))
            continue; /* .tbss: its addresses belong to the sections after it */
        return i;
    }
    return RW_NONE;
}

size_t rw_reloc_lower_bound(const struct rw_image *img, uint32_t sec, uint64_t off)
{
    size_t lo = 0, hi = img->nrel;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct rw_reloc *r = &img->rel[mid];
        if (r->section < sec || (r->section == sec && r->offset < off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct rw_reloc *rw_reloc_at(const struct rw_image *img, uint32_t sec, uint64_t off)
{
    size_t i = rw_reloc_lower_bound(img, sec, off);
    if (i < img->nrel && img->rel[i].section == sec && img->rel[i].offset == off)
        return &img->rel[i];
    return NULL;
}

const struct rw_func *rw_func_at(const struct rw_image *img, uint32_t sec, uint64_t off)
{
    size_t lo = 0, hi = img->nfunc;
    while (lo < hi) { /* first function starting after (sec, off) */
        size_t mid = lo + (hi - lo) / 2;
        const struct rw_func *f = &img->func[mid];
        if (f->section < sec || (f->section == sec && f->start <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct rw_func *f = &img->func[lo - 1];
    return f->section == sec && off >= f->start && off < f->end ? f : NULL;
}

static int cmp_reloc(const void *a, const void *b)
{
    const struct rw_reloc *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return 0;
}

static int cmp_func(const void *a, const void *b)
{
    const struct rw_func *x = a, *y = b;
    if (x->section != y->section)
        return x->section < y->section ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end) /* longest first */
        return x->end > y->end ? -1 : 1;
    if (!x->name != !y->name) /* named first */
        return x->name ? -1 : 1;
    return 0;
}

enum rw_err rw_image_normalize(struct rw_image *img, struct rw_diag *d)
{
    (void)d;
    /* Back-ends read them in order, or as a few sorted runs (symbols, then
     * the FDEs appended): a natural merge sort is linear there, and stable
     * like glibc's qsort, so the result is the same. */
    rw_sort_stable(img->rel, img->nrel, sizeof *img->rel, cmp_reloc);
    rw_sort_stable(img->func, img->nfunc, sizeof *img->func, cmp_func);
    size_t n = 0;
    for (size_t i = 0; i < img->nfunc; i++) {
        struct rw_func f = img->func[i];
        if (f.section >= img->nsec || f.end <= f.start)
            continue;
        if (n > 0) {
            struct rw_func *p = &img->func[n - 1];
            if (p->section == f.section && p->start == f.start) {
                if (!p->name) /* same start: keep the longest, and a name */
                    p->name = f.name;
                continue;
            }
            if (p->section == f.section && p->end > f.start)
                p->end = f.start; /* overlap: cut the earlier one short */
        }
        img->func[n++] = f;
    }
    img->nfunc = n;
    return RW_OK;
}

static const struct rw_format_ops *const backends[] = {
    &rw_elf_ops,
    &rw_pe_ops,
    &rw_macho_ops,
};

/* The descriptors of the files rw_file_map mapped, kept open until
 * rw_file_unmap, for rw_copy_input's private file mappings. A process maps
 * one or two files; beyond MAX_FDS the descriptor is closed (and
 * rw_copy_input copies). */
#define MAX_FDS 4
static struct {
    const uint8_t *data;
    size_t size;
    int fd;
} open_maps[MAX_FDS];

static void keep_fd(const void *data, size_t size, int fd)
{
    for (size_t i = 0; i < MAX_FDS; i++)
        if (!open_maps[i].data) {
            open_maps[i].data = data;
            open_maps[i].size = size;
            open_maps[i].fd = fd;
            return;
        }
    close(fd);
}

static int mapped_fd(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < MAX_FDS; i++)
        if (open_maps[i].data == data && open_maps[i].size == size)
            return open_maps[i].fd;
    return -1;
}

enum rw_err rw_file_map(const char *path, const uint8_t **data, size_t *size, struct rw_diag *d)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rw_fail(d, RW_E_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return rw_fail(d, RW_E_IO, "cannot stat: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rw_fail(d, RW_E_IO, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return rw_fail(d, RW_E_FORMAT, "empty file");
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return rw_fail(d, RW_E_UNSUPPORTED, "file too large");
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        int e = errno;
        close(fd);
        return rw_fail(d, RW_E_IO, "cannot map: %s", strerror(e));
    }
    keep_fd(map, (size_t)st.st_size, fd);
    *data = map;
    *size = (size_t)st.st_size;
    return RW_OK;
}

void rw_file_unmap(const uint8_t *data, size_t size)
{
    if (!data)
        return;
    for (size_t i = 0; i < MAX_FDS; i++)
        if (open_maps[i].data == data) {
            close(open_maps[i].fd);
            open_maps[i].data = NULL;
        }
    munmap((void *)data, size);
}

/* The output ranges rw_copy_input mapped from a file (still the file's
 * bytes wherever the writer has not written since: rw_write_atomic_consume
 * copies those inside the kernel). Each holds its own descriptor (dup), as
 * the image, and with it rw_file_map's descriptor, is closed before the
 * output is written. rw_buf forgets a block's ranges when it moves or frees
 * it. A process writes one output at a time: a few ranges suffice; beyond
 * MAX_EXTENTS rw_copy_input copies. */
#define MAX_EXTENTS 8
static struct rw_file_extent extents[MAX_EXTENTS];
static size_t nextents;

static int plain_io(void)
{
    const char *e = getenv("CALLIRW_PLAIN_IO");
    return e && *e && strcmp(e, "0") != 0;
}

void rw_copy_forget(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p, b = a + n;
    size_t k = 0;
    for (size_t i = 0; i < nextents; i++) {
        uintptr_t x = (uintptr_t)extents[i].addr;
        if (x >= a && x < b) {
            close(extents[i].fd);
            continue;
        }
        extents[k++] = extents[i];
    }
    nextents = k;
}

const uint8_t *rw_copy_next(const void *p, const uint8_t *end)
{
    const uint8_t *best = end;
    for (size_t i = 0; i < nextents; i++)
        if ((uintptr_t)extents[i].addr > (uintptr_t)p && (uintptr_t)extents[i].addr < (uintptr_t)best)
            best = extents[i].addr;
    return best;
}

int rw_copy_extent(const void *p, struct rw_file_extent *x)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < nextents; i++) {
        uintptr_t s = (uintptr_t)extents[i].addr;
        if (a >= s && a - s < extents[i].len) {
            *x = extents[i];
            return 1;
        }
    }
    return 0;
}

void rw_copy_input(const struct rw_image *img, uint8_t *dst, const uint8_t *src, size_t n)
{
    const size_t chunk = (size_t)4 << 20;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t page = pg > 0 ? (uintptr_t)pg : 4096;
    int mine = img->mapped && img->data && src >= img->data && n <= img->size &&
               (size_t)(src - img->data) <= img->size - n;
    uint64_t off = mine ? (uint64_t)(src - img->data) : 0; /* file offset: data maps it all */
    int fd = mine ? mapped_fd(img->data, img->size) : -1;
    uintptr_t d0 = (uintptr_t)dst, a = (d0 + page - 1) & ~(page - 1), b = (d0 + n) & ~(page - 1);
    if (fd >= 0 && n >= ((size_t)8 << 20) && (d0 - (uintptr_t)off) % page == 0 && b > a &&
        nextents < MAX_EXTENTS && !plain_io()) {
        /* dst's whole pages as a private mapping of the same file pages */
        size_t head = (size_t)(a - d0), mid = (size_t)(b - a);
        memcpy(dst, src, head);
        void *m = mmap((void *)a, mid, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                       (off_t)(off + head));
        if (m == MAP_FAILED) { /* the range may be unmapped now: make it memory again */
            m = mmap((void *)a, mid, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0);
            if (m == MAP_FAILED)
                abort(); /* cannot happen short of address-space exhaustion */
            memcpy((void *)a, src + head, mid);
        } else {
            int dfd = dup(fd);
            if (dfd >= 0)
                extents[nextents++] = (struct rw_file_extent){(const uint8_t *)a, mid, dfd,
                                                               off + head};
        }
        memcpy(dst + head + mid, src + head + mid, n - head - mid);
        madvise((void *)(((uintptr_t)src + page - 1) & ~(page - 1)),
                ((uintptr_t)src + n - (((uintptr_t)src + page - 1) & ~(page - 1))) & ~(page - 1),
                MADV_DONTNEED);
        return;
    }
    uintptr_t from = ((uintptr_t)src + page - 1) & ~(page - 1); /* not yet dropped */
    for (size_t done = 0; done < n;) {
        size_t k = n - done < chunk ? n - done : chunk;
        memcpy(dst + done, src + done, k);
        done += k;
        uintptr_t to = ((uintptr_t)src + done) & ~(page - 1);
        if (mine && to > from) {
            madvise((void *)from, to - from, MADV_DONTNEED); /* advice: failure is harmless */
            from = to;
        }
    }
}

static const struct rw_container_ops *const containers[] = {
    &rw_macho_fat_ops,
};

const struct rw_container_ops *rw_container_probe(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof containers / sizeof containers[0]; i++)
        if (containers[i]->probe(data, size))
            return containers[i];
    return NULL;
}

enum rw_err rw_image_open_mem(struct rw_image *img, const char *label, const uint8_t *data,
                              size_t size, const char *helper_name, struct rw_diag *d)
{
    memset(img, 0, sizeof *img);
    img->path = label;
    img->helper_name = helper_name ? helper_name : "GenericPInvokeCalliHelper";
    img->data = data;
    img->size = size;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (backends[i]->probe(img->data, img->size)) {
            img->ops = backends[i];
            enum rw_err e = img->ops->open(img, d);
            if (e)
                rw_image_close(img);
            return e;
        }
    }
    rw_image_close(img);
    if (rw_container_probe(data, size))
        return rw_fail(d, RW_E_FORMAT, "a fat Mach-O file inside a fat file");
    return rw_fail(d, RW_E_FORMAT, "not an ELF, PE/COFF or Mach-O file");
}

enum rw_err rw_image_open(struct rw_image *img, const char *path, const char *helper_name,
                          struct rw_diag *d)
{
    const uint8_t *data;
    size_t size;
    memset(img, 0, sizeof *img);
    enum rw_err e = rw_file_map(path, &data, &size, d);
    if (e)
        return e;
    if (rw_container_probe(data, size)) {
        rw_file_unmap(data, size);
        return rw_fail(d, RW_E_UNSUPPORTED, "a fat (universal) file: this command takes one image");
    }
    e = rw_image_open_mem(img, path, data, size, helper_name, d);
    if (e) {
        rw_file_unmap(data, size);
        return e;
    }
    img->mapped = 1;
    return RW_OK;
}

void rw_image_close(struct rw_image *img)
{
    if (img->ops && img->ops->close)
        img->ops->close(img);
    if (img->mapped)
        rw_file_unmap(img->data, img->size);
    img->data = NULL;
    img->mapped = 0;
    img->ops = NULL;
}

int rw_grow(void **arr, size_t *cap, size_t n, size_t esz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c <= n) {
        if (c > SIZE_MAX / 2 / esz)
            return -1;
        c *= 2;
    }
    void *p = realloc(*arr, c * esz);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

void rw_image_free_model(struct rw_image *img)
{
    free(img->sec);
    free(img->sym);
    free(img->rel);
    free(img->func);
    free(img->helper.syms);
    free(img->helper.imp_syms);
    free(img->helper.addrs);
    free(img->helper.slots);
    free(img->helper.plt_secs);
    img->sec = NULL;
    img->sym = NULL;
    img->rel = NULL;
    img->func = NULL;
    img->nsec = img->nsym = img->nrel = img->nfunc = 0;
    memset(&img->helper, 0, sizeof img->helper);
}

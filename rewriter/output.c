/* output.c - write a file atomically: temp file, (fsync,) rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

#define WRITE_CHUNK ((size_t)4 << 20)
#define PM_BATCH 512 /* pagemap entries read at once */

#include "buf.h"

static int emit(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copy n bytes of file x (from offset off) to fd inside the kernel, as cp
 * does: no page of them passes through this process. 1 when the kernel
 * cannot here (another file system, no support): the caller writes them. */
static int emit_file(int fd, const struct rw_file_extent *x, uint64_t off, size_t n)
{
    static int unsupported;
    if (unsupported)
        return 1;
    for (size_t done = 0; done < n;) {
        loff_t in = (loff_t)(off + done);
        ssize_t w = copy_file_range(x->fd, &in, fd, NULL, n - done, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                              errno == EOPNOTSUPP || errno == EBADF)) {
                unsupported = 1; /* nothing of this run written: the caller writes it */
                return 1;
            }
            return -1;
        }
        if (w == 0) { /* the input file is shorter than when it was mapped */
            errno = EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* Whether each of the n pages at a still holds the file's bytes: not
 * written since rw_copy_input mapped it (/proc/self/pagemap: a page never
 * touched is not present and not swapped; one only read is present and a
 * file page; one written is an anonymous copy). 0 when it cannot tell. */
static int clean_pages(uintptr_t a, uintptr_t page, size_t n, uint8_t *clean)
{
    static int pm = -2;
    if (pm == -2)
        pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0)
        return 0;
    uint64_t e[PM_BATCH];
    if (n > PM_BATCH)
        return 0;
    ssize_t r = pread(pm, e, n * sizeof *e, (off_t)(a / page * sizeof *e));
    if (r != (ssize_t)(n * sizeof *e))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int present = (int)(e[i] >> 63 & 1), swapped = (int)(e[i] >> 62 & 1);
        int file = (int)(e[i] >> 61 & 1);
        clean[i] = present ? file : !swapped;
    }
    return 1;
}

/* Write [p, p + n) to fd: the runs of whole pages inside a file extent
 * (buf.h) that were not written since are copied from the file by the
 * kernel, the rest written from memory. */
static int emit_chunk(int fd, const uint8_t *p, size_t n, uintptr_t page)
{
    const uint8_t *end = p + n;
    while (p < end) {
        struct rw_file_extent x;
        uintptr_t a = (uintptr_t)p;
        if (a % page == 0 && rw_copy_extent(p, &x)) {
            uintptr_t xe = (uintptr_t)x.addr + x.len, e = (uintptr_t)end < xe ? (uintptr_t)end : xe;
            size_t npg = (size_t)((e - a) / page);
            if (npg > PM_BATCH)
                npg = PM_BATCH;
            uint8_t clean[PM_BATCH];
            if (npg && clean_pages(a, page, npg, clean)) {
                size_t i = 0;
                while (i < npg) {
                    size_t j = i;
                    while (j < npg && clean[j] == clean[i])
                        j++;
                    const uint8_t *q = p + i * page;
                    size_t len = (j - i) * page;
                    int r = clean[i] ? emit_file(fd, &x, x.off + (uint64_t)(q - x.addr), len) : 1;
                    if (r < 0 || (r > 0 && emit(fd, q, len) < 0))
                        return -1;
                    i = j;
                }
                p += npg * page;
                continue;
            }
        }
        /* from memory: up to where the next extent begins, or this page's
         * end when inside one (pagemap unreadable), or the chunk's end */
        const uint8_t *next = rw_copy_next(p, end);
        size_t k = (size_t)(next - p);
        if (rw_copy_extent(p, &x)) {
            uintptr_t pe = (a / page + 1) * page;
            if (pe - a < k)
                k = (size_t)(pe - a);
        }
        if (emit(fd, p, k) < 0)
            return -1;
        p += k;
    }
    return 0;
}

static enum rw_err write_atomic(const char *dest, const uint8_t *data, size_t len, mode_t mode,
                                int drop, int durable, struct rw_diag *d)
{
    size_t n = strlen(dest);
    char *tmp = malloc(n + sizeof ".callirw-XXXXXX");
    if (!tmp)
        return rw_fail(d, RW_E_NOMEM, "%s: out of memory", dest);
    memcpy(tmp, dest, n);
    memcpy(tmp + n, ".callirw-XXXXXX", sizeof ".callirw-XXXXXX");

    int fd = mkstemp(tmp);
    if (fd < 0) {
        enum rw_err e = rw_fail(d, RW_E_IO, "%s: cannot create a temporary file: %s", dest,
                                strerror(errno));
        free(tmp);
        return e;
    }
    const char *what = "write";
    size_t done = 0;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t page = pg > 0 ? (uintptr_t)pg : 4096;
    uintptr_t from = ((uintptr_t)data + page - 1) & ~(page - 1); /* not yet released */
    while (done < len) {
        size_t k = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
        if (drop ? emit_chunk(fd, data + done, k, page) < 0 : emit(fd, data + done, k) < 0)
            goto fail;
        done += k;
        uintptr_t to = ((uintptr_t)data + done) & ~(page - 1);
        if (drop && to > from) {
            madvise((void *)from, to - from, MADV_DONTNEED); /* advice: failure is harmless */
            from = to;
        }
    }
    what = "chmod";
    if (fchmod(fd, mode & 07777) < 0)
        goto fail;
    what = "fsync";
    if (durable && fsync(fd) < 0)
        goto fail;
    what = "close";
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "rename";
    if (rename(tmp, dest) < 0)
        goto fail;
    free(tmp);
    return RW_OK;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rw_fail(d, RW_E_IO, "%s: %s failed: %s", dest, what, strerror(e));
}

enum rw_err rw_write_atomic(const char *dest, const uint8_t *data, size_t len, mode_t mode,
                            struct rw_diag *d)
{
    return write_atomic(dest, data, len, mode, 0, 1, d);
}

enum rw_err rw_write_atomic_consume(const char *dest, uint8_t *data, size_t len, mode_t mode,
                                    int durable, struct rw_diag *d)
{
    return write_atomic(dest, data, len, mode, 1, durable, d);
}

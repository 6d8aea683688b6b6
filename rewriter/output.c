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
        ssize_t w = write(fd, data + done, k);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        done += (size_t)w;
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

/* host_posix_write.c - the default calli_host_write for POSIX hosts: the
 * whole buffer with write(2), retrying on EINTR and partial writes. The
 * matching stdio stream is flushed first, so that the runtime's output
 * (e.g. the reference runtime's event log) stays in order with the
 * program's printf output. A separate archive member from
 * calli_host_abort: a program may replace either one alone. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "calli_host.h"

void calli_host_write(int stream, const void *buf, size_t len)
{
    int fd = stream == CALLI_HOST_ERR ? STDERR_FILENO : STDOUT_FILENO;
    fflush(stream == CALLI_HOST_ERR ? stderr : stdout);
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report it */
        }
        if (n == 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* host_win_write.c - the default calli_host_write for Windows: WriteFile on
 * the standard handle, binary (no CRLF translation), looping over partial
 * writes. The matching stdio stream is flushed first (see
 * host_posix_write.c). A separate archive member from calli_host_abort. */
#include <stdio.h>
#include <windows.h>

#include "calli_host.h"

void calli_host_write(int stream, const void *buf, size_t len)
{
    fflush(stream == CALLI_HOST_ERR ? stderr : stdout);
    HANDLE h = GetStdHandle(stream == CALLI_HOST_ERR ? STD_ERROR_HANDLE : STD_OUTPUT_HANDLE);
    if (h == NULL || h == INVALID_HANDLE_VALUE)
        return;
    const char *p = buf;
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len;
        DWORD done = 0;
        if (!WriteFile(h, p, chunk, &done, NULL) || done == 0)
            return;
        p += done;
        len -= done;
    }
}

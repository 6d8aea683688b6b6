/* win_rt_host.c - calli_host_write for calli_runtime.dll (generator mode
 * dll-rt, docs/generator.md). A program's calli_host_write cannot replace
 * the DLL's, so the DLL's forwards to the function the program registers
 * with calli_gen_set_host_write (the generated programs record their whole
 * output, event lines included, for their self-check); until one is
 * registered it writes like the default (runtime/host_win_write.c), which
 * win_rt_dll.sh leaves out of the DLL. */
#include <stddef.h>
#include <stdio.h>

#include "calli_host.h"

__declspec(dllimport) void *__stdcall GetStdHandle(unsigned long);
__declspec(dllimport) int __stdcall WriteFile(void *, const void *, unsigned long, unsigned long *, void *);

typedef void (*calli_gen_write_fn)(int, const void *, size_t);
static calli_gen_write_fn forward;

void calli_gen_set_host_write(calli_gen_write_fn f);
void calli_gen_set_host_write(calli_gen_write_fn f)
{
    forward = f;
}

void calli_host_write(int stream, const void *buf, size_t len)
{
    if (forward) {
        forward(stream, buf, len);
        return;
    }
    fflush(stream == CALLI_HOST_ERR ? stderr : stdout);
    void *h = GetStdHandle(stream == CALLI_HOST_ERR ? (unsigned long)-12 : (unsigned long)-11);
    const char *p = buf;
    while (len > 0) {
        unsigned long done = 0;
        if (!WriteFile(h, p, len > 0x40000000u ? 0x40000000u : (unsigned long)len, &done, NULL) || done == 0)
            return;
        p += done;
        len -= done;
    }
}

/* host_macho_write.c - the default calli_host_write for macOS without libc:
 * the whole buffer through the raw write system call (BSD class 0x2000000 |
 * 4 on x86-64 in rax; number 4 in x16 with svc #0x80 on arm64), retrying
 * partial writes; an error (carry set, reported here as a non-positive
 * count) gives up silently, as there is nowhere to report it. No libSystem:
 * test programs run under an emulator (tests/macho_run/) that implements
 * exactly these system calls. A separate archive member from
 * calli_host_abort, so a program may replace either one alone. */
#include "calli_host.h"

static long macho_write(long fd, const void *buf, unsigned long len)
{
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall\n\tjnc 1f\n\tmov $-1, %%rax\n1:"
                     : "=a"(ret)
                     : "a"(0x2000004L), "D"(fd), "S"(buf), "d"(len)
                     : "rcx", "r11", "memory", "cc");
    return ret;
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = fd;
    register long x1 __asm__("x1") = (long)buf;
    register long x2 __asm__("x2") = (long)len;
    register long x16 __asm__("x16") = 4;
    __asm__ volatile("svc #0x80\n\tb.cc 1f\n\tmov x0, #-1\n1:"
                     : "+r"(x0)
                     : "r"(x1), "r"(x2), "r"(x16)
                     : "memory", "cc");
    return x0;
#else
#error "host_macho_write.c: x86-64 or arm64 only"
#endif
}

void calli_host_write(int stream, const void *buf, size_t len)
{
    long fd = stream == CALLI_HOST_ERR ? 2 : 1;
    const char *p = buf;
    while (len > 0) {
        long n = macho_write(fd, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

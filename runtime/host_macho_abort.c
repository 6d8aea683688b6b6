/* host_macho_abort.c - the default calli_host_abort for macOS without libc:
 * the raw exit system call (0x2000001 in rax on x86-64; x16 = 1 with
 * svc #0x80 on arm64) with status 134, what a shell reports for SIGABRT.
 * Raising SIGABRT would need kill/getpid and signal semantics that the test
 * emulator (tests/macho_run/) does not model; the status is the contract. */
#include "calli_host.h"

_Noreturn void calli_host_abort(void)
{
    for (;;) {
#if defined(__x86_64__)
        __asm__ volatile("syscall" : : "a"(0x2000001L), "D"(134L) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
        register long x0 __asm__("x0") = 134;
        register long x16 __asm__("x16") = 1;
        __asm__ volatile("svc #0x80" : : "r"(x0), "r"(x16) : "memory");
#else
#error "host_macho_abort.c: x86-64 or arm64 only"
#endif
    }
}

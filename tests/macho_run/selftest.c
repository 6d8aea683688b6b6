/* selftest.c - tiny freestanding programs for the harness's self-test
 * (tests/macho_run/selftest.sh): main prints through the runtime's default
 * host primitives (raw system calls); the t_* entries (--entry) each end
 * one way the harness must report. */
#include "calli_host.h"

static const char ro_text[] = "read-only";      /* __TEXT: r-x */
static char rw_data[16] = {(char)0xc3, 0, 0, 0}; /* __DATA: rw- (a ret on x86-64) */
int (*volatile data_fn)(void) = (int (*)(void))(void *)rw_data; /* not code */

int main(void)
{
    calli_host_write(CALLI_HOST_OUT, "hello\n", 6);
    calli_host_write(CALLI_HOST_ERR, "to stderr\n", 10);
    calli_host_write(CALLI_HOST_OUT, "world\n", 6);
    return 3;
}

int t_abort(void) { calli_host_abort(); }

int t_loop(void)
{
    for (;;) __asm__ volatile("");
}

int t_null(void) { return *(volatile int *)16; }

int t_write_ro(void)
{
    *(volatile char *)ro_text = 'R';
    return 0;
}

int t_exec_data(void) { return data_fn(); }

int t_invalid(void)
{
#if defined(__x86_64__)
    __asm__ volatile("ud2");
#else
    __asm__ volatile(".inst 0x00000000"); /* udf #0 */
#endif
    return 0;
}

int t_syscall(void) /* getpid: not emulated */
{
#if defined(__x86_64__)
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(0x2000014L) : "rcx", "r11", "memory");
#else
    register long r __asm__("x0");
    register long x16 __asm__("x16") = 20;
    __asm__ volatile("svc #0x80" : "=r"(r) : "r"(x16) : "memory");
#endif
    return (int)r;
}

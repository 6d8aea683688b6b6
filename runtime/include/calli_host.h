/* calli_host.h - the two primitives the runtime needs from its host.
 *
 * The runtime is freestanding: it calls no libc. A hosted program links the
 * default implementations (runtime/host_posix_write.c and host_posix_abort.c
 * on Linux, runtime/host_win_write.c and host_win_abort.c on Windows), each
 * function a separate archive member of libcalli_runtime.a: a program (a
 * test harness capturing the output, an emulator, firmware) that defines
 * either or both functions itself links without duplicate symbols, and the
 * defaults it replaced are never pulled in.
 *
 * The defaults: calli_host_write flushes the matching stdio stream first (so
 * the runtime's lines stay in order with printf output), then writes with
 * write(2) (retrying EINTR and partial writes) or WriteFile on the standard
 * handle (binary: no CRLF translation); calli_host_abort calls abort()
 * (SIGABRT on Linux, exit code 3 on Windows).
 */
#ifndef CALLI_HOST_H
#define CALLI_HOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALLI_HOST_OUT 1 /* the program's output (stdout) */
#define CALLI_HOST_ERR 2 /* diagnostics (stderr) */

/* Write len bytes to the given stream, completely, unbuffered. */
void calli_host_write(int stream, const void *buf, size_t len);

/* End the program abnormally (abort()). Never returns. */
_Noreturn void calli_host_abort(void);

#ifdef __cplusplus
}
#endif
#endif

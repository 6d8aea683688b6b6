/* calli_host.h - the two primitives the runtime needs from its host.
 *
 * The runtime is freestanding: it calls no libc. A hosted program links the
 * default implementations (runtime/host_posix.c on Linux, runtime/host_win.c
 * on Windows), which are separate archive members of libcalli_runtime.a; a
 * freestanding host (an emulator harness, firmware) defines both functions
 * itself and the defaults are then never pulled in.
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

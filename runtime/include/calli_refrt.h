/* calli_refrt.h - the reference calli_runtime: the services of spec section 4
 * (string marshaling UTF-16 -> UTF-8, enter/leave), able to record every
 * event to the host's output stream for differential testing.
 * Freestanding; uses a fixed arena, no malloc.
 *
 * Event lines (one per event, written with calli_host_write(CALLI_HOST_OUT)):
 *   "@enter\n"
 *   "@leave\n"
 *   "@s2n <hex of the UTF-8 bytes>\n"   (empty string: "@s2n \n"; null: "@s2n null\n")
 *   "@free <hex of the UTF-8 bytes>\n"   (null: "@free null\n")
 * Hex is lowercase, two digits per byte, no separators. No addresses are
 * ever logged (they differ between runs under ASLR).
 */
#ifndef CALLI_REFRT_H
#define CALLI_REFRT_H

#include <stdint.h>
#include "calli_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CALLI_REFRT_LOG 0x1u /* record events */

#define CALLI_REFRT_ARENA 65536

struct calli_refrt {
    struct calli_runtime rt; /* first: a cookie's runtime pointer may point here */
    unsigned flags;
    uint32_t live;           /* strings handed out and not yet freed */
    uint32_t used;           /* arena bytes in use; reset when live drops to 0 */
    uint64_t depth;          /* enter minus leave */
    uint64_t events;         /* events seen */
    _Alignas(16) unsigned char arena[CALLI_REFRT_ARENA];
};

/* Initialise r and its rt table (rt.ctx = r). */
void calli_refrt_init(struct calli_refrt *r, unsigned flags);

/* One process-wide instance, for programs that want a ready table:
 * calli_refrt_default.rt. Initialise it with calli_refrt_init before use. */
extern struct calli_refrt calli_refrt_default;

/* Misuse (free of a pointer not handed out, leave without enter, negative
 * managed string length, arena exhausted) is fatal: one line on stderr, then
 * calli_host_abort(). */

#ifdef __cplusplus
}
#endif
#endif

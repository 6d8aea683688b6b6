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
 * ever logged (they differ between runs under ASLR). Each line is written
 * with exactly one calli_host_write call. The hex covers every converted
 * byte: a U+0000 in the managed string is a 00 byte (the target, reading a C
 * string, sees the text up to it). Without CALLI_REFRT_LOG nothing is
 * written, but `events` and the other counters are still kept.
 *
 * Conversion: UTF-16 to UTF-8; a high surrogate followed by a low one is one
 * 4-byte sequence; any other surrogate becomes U+FFFD (EF BF BD). A null
 * managed string gives null (logged "@s2n null"); freeing null is allowed
 * (logged "@free null") and changes nothing.
 *
 * Not thread-safe: one thread at a time per instance, and the event-line
 * buffer is shared by all instances.
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

/* Misuse is fatal: one line on stderr (calli_host_write(CALLI_HOST_ERR)),
 * then calli_host_abort(). The lines:
 *   calli_refrt: fatal: string_to_native: negative length <n>
 *   calli_refrt: fatal: string_to_native: arena exhausted (need <n> bytes, <m> free)
 *   calli_refrt: fatal: free_native: pointer not handed out
 *   calli_refrt: fatal: free_native: pointer already freed
 *   calli_refrt: fatal: leave without enter
 *   calli_refrt: fatal: <enter|leave|string_to_native|free_native>: null context
 * A string takes 8 + (UTF-8 length + 1, rounded up to 8) bytes of the arena;
 * the arena is reset whenever no string is live, so only the strings of one
 * call (at most 64) are ever live together in normal use. */

#ifdef __cplusplus
}
#endif
#endif

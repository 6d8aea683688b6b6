/* hash.h - the string hash of the rewriter's interning tables (the plan's
 * keys, the rewrite map's string table): FNV-1a, 64 bits. */
#ifndef CALLIRW_HASH_H
#define CALLIRW_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t rw_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3u;
    return h;
}

#endif

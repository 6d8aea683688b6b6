/* sha256.h - SHA-256 (FIPS 180-4), for code-signature page hashes. */
#ifndef CALLIRW_SHA256_H
#define CALLIRW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define RW_SHA256_SIZE 32u

struct rw_sha256 {
    uint32_t h[8];
    uint64_t len;        /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
};

void rw_sha256_init(struct rw_sha256 *c);
void rw_sha256_update(struct rw_sha256 *c, const void *data, size_t n);
void rw_sha256_final(struct rw_sha256 *c, uint8_t out[RW_SHA256_SIZE]);
/* One-shot: out = SHA-256(data[0, n)). */
void rw_sha256(const void *data, size_t n, uint8_t out[RW_SHA256_SIZE]);

#endif

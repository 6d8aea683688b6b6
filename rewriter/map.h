/* map.h - the rewrite map a rewritten image carries (docs/abi.md section 7):
 * building it from a plan, and parsing it back (hostile input) for inspect.
 * Little-endian, fixed-size records, a string table; format-neutral. */
#ifndef CALLIRW_MAP_H
#define CALLIRW_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define RW_MAP_MAGIC "CRWMAP\0\1"
#define RW_MAP_VERSION 1u
#define RW_MAP_HEADER_SIZE 32u
#define RW_MAP_STUB_SIZE 32u
#define RW_MAP_SITE_SIZE 32u
#define RW_MAP_ORIG_MAX 12u

#define RW_MAP_F_OBJECT 0x1u      /* addresses are section offsets */
#define RW_MAP_STUB_FRAME 0x1u    /* the stub keeps a frame */
#define RW_MAP_STUB_SGC 0x2u      /* suppress-gc */

struct rw_map_stub {
    uint64_t address;
    uint32_t size;
    const char *key;      /* points into the map's string table */
    const char *readable;
    uint32_t nsites;
    uint16_t flags;
};

struct rw_map_site {
    uint64_t address;
    const char *section;  /* objects: the section's name; linked: NULL */
    uint32_t stub;
    uint8_t form;         /* enum rw_site_form */
    uint8_t length;
    uint8_t original[RW_MAP_ORIG_MAX];
};

struct rw_map {
    uint16_t machine;     /* 1 x86-64, 2 arm64 */
    uint16_t flags;       /* RW_MAP_F_* */
    struct rw_map_stub *stubs;
    size_t nstubs;
    struct rw_map_site *sites;
    size_t nsites;
    char *strtab;         /* owned copy */
    size_t strtab_size;
};

/* Serialise (stubs and sites as given; the caller sorts). Strings are
 * deduplicated in the string table. */
enum rw_err rw_map_encode(const struct rw_map *m, uint8_t **out, size_t *outlen,
                          struct rw_diag *d);
/* Parse and validate: every count, offset and string is checked against len;
 * site.stub must index a stub; strings must be NUL-terminated inside the
 * table. On success *m owns its arrays (free with rw_map_free). */
enum rw_err rw_map_decode(const uint8_t *data, size_t len, struct rw_map *m,
                          struct rw_diag *d);
void rw_map_free(struct rw_map *m);

struct rw_plan;
/* The encoded map of a plan. Linked images: stub addresses are
 * text_va + stub.offset, site addresses virtual addresses. Objects
 * (RW_MAP_F_OBJECT): stub addresses 0 (each stub is its own section), site
 * addresses offsets in the named section. */
enum rw_err rw_map_from_plan(const struct rw_image *img, const struct rw_plan *plan,
                             uint64_t text_va, uint8_t **out, size_t *outlen, struct rw_diag *d);

/* Where a map address is in img: section and offset; 0, or -1 when no
 * section holds it. Objects: addr is an offset in the section named secname;
 * linked images: a virtual address. (inspect, and the fuzzers that check a
 * rewrite's map.) */
int rw_map_loc(const struct rw_image *img, const struct rw_map *m, uint64_t addr,
               const char *secname, uint32_t *sec, uint64_t *off);

#endif

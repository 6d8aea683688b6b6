/* elf_caves.h - free bytes after executable segments, and the veneers the
 * plan put there (internal to formats/; elf_caves.c). */
#ifndef CALLIRW_ELF_CAVES_H
#define CALLIRW_ELF_CAVES_H

#include <elf.h>

#include "image.h"
#include "plan.h"

/* Checked headers of an input file (the writer's copies). */
struct elf_hdrs {
    const uint8_t *in;
    size_t insz;
    Elf64_Ehdr eh;
    const Elf64_Phdr *ph;
    size_t phnum;
    const Elf64_Shdr *sh;
    size_t shnum;
};

struct elf_cave {
    uint64_t va, off, size;
    size_t seg; /* the PT_LOAD it follows (program header index) */
};

/* Every cave, sorted by address (*out heap, may be NULL when *n is 0). */
enum rw_err elf_find_caves(const struct elf_hdrs *h, struct elf_cave **out, size_t *n,
                           struct rw_diag *d);

/* A section header the writer adds for the veneers of one cave. */
struct elf_veneer_sec {
    size_t seg;
    uint64_t va, off, size;
};

/* Copy the plan's veneers into out (a copy of the input), each into the
 * cave it was planned in, and grow the caves' segments in np (the output's
 * npn program headers, where each input PT_LOAD is found by its address and
 * offset) over them. *secs receives one entry per cave used (heap). With out
 * NULL, only *secs. */
enum rw_err elf_put_veneers(const struct elf_hdrs *h, const struct rw_plan *plan, uint8_t *out,
                            size_t outlen, Elf64_Phdr *np, size_t npn,
                            struct elf_veneer_sec **secs, size_t *nsecs, struct rw_diag *d);

#endif

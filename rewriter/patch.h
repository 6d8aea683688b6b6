/* patch.h - the instruction bytes that replace a rewritten call site.
 *
 * Format-neutral: a back-end asks for the bytes and puts them at the site's
 * file offset (in an object it also retargets the site's relocation); no
 * back-end encodes an instruction itself. The return address never moves:
 * the new instruction ends where the old one ended (scan.h, docs/scan.md).
 */
#ifndef CALLIRW_PATCH_H
#define CALLIRW_PATCH_H

#include "plan.h"

/* Where a rewritten site of a linked image branches: its veneer when the
 * plan gave it one, else its stub at text_va + the stub's offset. */
uint64_t rw_site_target(const struct rw_plan *p, const struct rw_site *s, uint64_t text_va);

/* The s->length bytes that replace site s and branch to target:
 *  - x86-64: (length - 5) one-byte nops, then E8 (call forms) or E9 (jmp
 *    forms) rel32, rel32 = target - (s->addr + s->length);
 *  - arm64: BL (bl, blr) or B (b, br) with imm26 = (target - s->addr) / 4.
 * target RW_NO_ADDRESS (objects: a relocation will supply it): the rel32 /
 * imm26 field is 0. RW_E_INTERNAL for a form the machine has not, a length
 * that cannot hold the branch or a target out of its range (the planner
 * leaves such sites, so this is a bug, not bad input). */
enum rw_err rw_site_patch(enum rw_machine m, const struct rw_site *s, uint64_t target,
                          uint8_t out[RW_SITE_MAX_BYTES], struct rw_diag *d);

#endif

/* patch.c - the bytes that replace a rewritten call site (patch.h). */
#include <string.h>

#include "format.h"
#include "patch.h"

uint64_t rw_site_target(const struct rw_plan *p, const struct rw_site *s, uint64_t text_va)
{
    if (s->veneer != RW_NONE && s->veneer < p->nveneers)
        return p->veneers[s->veneer].va;
    return text_va + p->stubs[s->stub].offset;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static enum rw_err patch_x86(const struct rw_site *s, uint64_t target, uint8_t *out,
                             struct rw_diag *d)
{
    uint8_t op;
    if (s->form == RW_FORM_CALL_REL32 || s->form == RW_FORM_CALL_MEM)
        op = 0xE8;
    else if (s->form == RW_FORM_JMP_REL32 || s->form == RW_FORM_JMP_MEM)
        op = 0xE9;
    else
        return rw_fail(d, RW_E_INTERNAL, "site form %u on x86-64", s->form);
    if (s->length < 5 || s->length > RW_SITE_MAX_BYTES)
        return rw_fail(d, RW_E_INTERNAL, "x86-64 site of %u bytes", s->length);
    int64_t rel = 0;
    if (target != RW_NO_ADDRESS) {
        rel = (int64_t)(target - (s->addr + s->length));
        if (rel != (int32_t)rel)
            return rw_fail(d, RW_E_INTERNAL,
                           "site 0x%llx is out of rel32 range of its stub (the plan should have left it)",
                           (unsigned long long)s->addr);
    }
    memset(out, 0x90, s->length - 5u);
    out[s->length - 5u] = op;
    put32(out + s->length - 4u, (uint32_t)(int32_t)rel);
    return RW_OK;
}

static enum rw_err patch_a64(const struct rw_site *s, uint64_t target, uint8_t *out,
                             struct rw_diag *d)
{
    uint32_t op;
    if (s->form == RW_FORM_BL || s->form == RW_FORM_BLR)
        op = 0x94000000u;
    else if (s->form == RW_FORM_B || s->form == RW_FORM_BR)
        op = 0x14000000u;
    else
        return rw_fail(d, RW_E_INTERNAL, "site form %u on arm64", s->form);
    if (s->length != 4)
        return rw_fail(d, RW_E_INTERNAL, "arm64 site of %u bytes", s->length);
    if (target != RW_NO_ADDRESS) {
        int64_t delta = (int64_t)(target - s->addr);
        if (delta % 4 || delta < -(INT64_C(1) << 27) || delta >= (INT64_C(1) << 27))
            return rw_fail(d, RW_E_INTERNAL,
                           "site 0x%llx is out of BL range of its target (the plan should have left it)",
                           (unsigned long long)s->addr);
        op |= (uint32_t)(delta >> 2) & 0x03ffffffu;
    }
    put32(out, op);
    return RW_OK;
}

enum rw_err rw_site_patch(enum rw_machine m, const struct rw_site *s, uint64_t target,
                          uint8_t out[RW_SITE_MAX_BYTES], struct rw_diag *d)
{
    return m == RW_MACH_AARCH64 ? patch_a64(s, target, out, d) : patch_x86(s, target, out, d);
}

/* plan.h - what a rewrite will do: one stub per distinct key, each
 * rewritable site bound to its stub. Format-neutral; the back-end places the
 * stub section, then the emitter fixes addresses and builds the rewrite map. */
#ifndef CALLIRW_PLAN_H
#define CALLIRW_PLAN_H

#include "calli_sig.h"
#include "scan.h"
#include "stub.h"

struct rw_stub {
    char key[CALLI_SIG_TEXT_MAX];      /* docs/abi.md section 7 */
    char readable[CALLI_SIG_TEXT_MAX];
    char symbol[CALLI_SIG_TEXT_MAX + 16]; /* __callirw_stub_<key> */
    struct calli_sig sig;
    int suppress_gc;
    uint32_t nsites;
    uint64_t offset;        /* in the stub section (16-aligned) */
    struct stub_code code;  /* machine code + unwind description */
};

/* A range-extension veneer (arm64): placed at va by the plan, in a cave the
 * back-end offered (format.h code_caves); final bytes, because both the
 * veneer's and the stub's addresses are fixed before the write. */
struct rw_veneer {
    uint64_t va;
    uint32_t stub;
    uint8_t code[STUB_VENEER_BYTES];
};

struct rw_plan {
    struct rw_stub *stubs;  /* sorted by key: deterministic output */
    size_t nstubs;
    struct rw_scan *scan;   /* sites; site.stub set for RW_SITE_OK sites */
    uint64_t text_size;     /* bytes of the stub section */
    uint64_t text_va;       /* where the back-end said it will put the stub
                               section (code_va), or RW_NO_ADDRESS */
    struct rw_veneer *veneers; /* in the order placed: by address within each
                                  cave (a cave's bytes are taken in order) */
    size_t nveneers;
};

/* Group the scan's rewritable sites by key, generate every stub for the
 * image's ABI (with endbr64 / bti c when the image asks for them) and lay
 * them out. */
enum rw_err rw_plan_build(const struct rw_image *img, struct rw_scan *scan,
                          struct rw_plan *out, struct rw_diag *d);
void rw_plan_free(struct rw_plan *p);

#endif

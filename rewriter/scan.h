/* scan.h - call sites of the generic helper, found in a format-neutral image.
 *
 * The scanner decodes executable sections (x86-64 with Zydis, arm64 with the
 * arm64 decoder), finds calls whose destination is the helper (through the
 * model's helper addresses, slots and relocations), proves the cookie
 * register constant within the call's basic block, and checks the cookie
 * (rewriter/cookie.c). It never modifies the image.
 */
#ifndef CALLIRW_SCAN_H
#define CALLIRW_SCAN_H

#include "calli_sig.h"
#include "image.h"

/* How the call reaches the helper (docs/abi.md section 2). */
enum rw_site_form {
    RW_FORM_CALL_REL32 = 1, /* E8 */
    RW_FORM_JMP_REL32 = 2,  /* E9 (tail) */
    RW_FORM_CALL_MEM = 3,   /* FF 15 [rip+slot] */
    RW_FORM_JMP_MEM = 4,    /* FF 25 [rip+slot] (tail) */
    RW_FORM_BL = 5,
    RW_FORM_B = 6,          /* tail */
    RW_FORM_BLR = 7,        /* BLR xN, xN loaded from a slot in the block */
    RW_FORM_BR = 8,         /* tail */
};
const char *rw_site_form_name(unsigned form); /* "call", "jmp", "call [got]", ... */

/* How the cookie register was set. */
enum rw_cookie_form {
    RW_COOKIE_NONE = 0,
    RW_COOKIE_LEA_RIP = 1,   /* lea r11,[rip+d] */
    RW_COOKIE_MOV_IMM32 = 2, /* mov r11d, imm32 / mov r11, simm32 */
    RW_COOKIE_MOVABS = 3,    /* movabs r11, imm64 */
    RW_COOKIE_LOAD_SLOT = 4, /* mov r11,[rip+slot] (GOT) */
    RW_COOKIE_ADRP_ADD = 5,
    RW_COOKIE_ADRP_LDR = 6,  /* GOT */
    RW_COOKIE_LDR_LIT = 7,
};
const char *rw_cookie_form_name(unsigned form);

enum rw_verdict {
    RW_SITE_OK = 0,            /* rewritable */
    RW_SITE_COOKIE_UNKNOWN,    /* cookie not set by a recognised form in the basic block */
    RW_SITE_COOKIE_UNREADABLE, /* cookie address outside the image's data */
    RW_SITE_COOKIE_INVALID,    /* magic, version, flags, sig_len, runtime */
    RW_SITE_SIG_UNSUPPORTED,   /* the signature is not v1 */
    RW_SITE_UNREACHABLE,       /* no stub can be reached from the site (arm64 range) */
};
const char *rw_verdict_name(unsigned verdict);

#define RW_SITE_MAX_BYTES 12

struct rw_site {
    uint32_t section;  /* of the call instruction */
    uint64_t offset;   /* first byte of the call instruction, in its section */
    uint64_t addr;     /* virtual address (linked images), else = offset */
    uint8_t form;      /* enum rw_site_form */
    uint8_t length;    /* bytes of the call instruction */
    uint8_t orig[RW_SITE_MAX_BYTES];
    uint32_t reloc;    /* objects: index of the call's relocation, else RW_NONE */

    uint8_t cookie_form;    /* enum rw_cookie_form */
    uint64_t setter_offset; /* of the instruction that set the cookie register */
    uint32_t cookie_section;/* where the cookie lives, or RW_NONE */
    uint64_t cookie_offset;
    uint64_t cookie_addr;   /* virtual address (linked images) */
    uint16_t cookie_flags;
    struct calli_sig sig;

    uint8_t verdict;        /* enum rw_verdict */
    char reason[160];       /* why not rewritable; empty when OK */
    uint32_t stub;          /* set by the planner: index into the plan's stubs */
};

struct rw_scan {
    struct rw_site *sites; /* sorted by (section, offset) */
    size_t nsites;
    size_t nok;
};

enum rw_err rw_scan_image(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d);
void rw_scan_free(struct rw_scan *s);

#endif

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

/* How the call reaches the helper (docs/abi.md section 2). On x86-64 the
 * rel32 / disp32 is always the last 4 bytes of the instruction (length 5 or
 * 6 for the plain encodings; prefixed forms such as the linker's relaxed
 * "addr32 call" 67 E8 or "notrack" 3E FF 15 are longer): a writer replaces
 * the instruction by (length - 5) one-byte nops and E8 / E9 rel32, ending at
 * the same address (docs/scan.md). */
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
const char *rw_site_form_name(unsigned form); /* "call", "jmp", "call [mem]", ... */
const char *rw_site_form_id(unsigned form);   /* JSON: "call_rel32", "jmp_mem", ... */

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
const char *rw_cookie_form_name(unsigned form); /* "lea", "mov imm32", ... */
const char *rw_cookie_form_id(unsigned form);   /* JSON: "lea_rip", "mov_imm32", ... */

enum rw_verdict {
    RW_SITE_OK = 0,            /* rewritable */
    RW_SITE_COOKIE_UNKNOWN,    /* cookie not set by a recognised form in the basic block */
    RW_SITE_COOKIE_UNREADABLE, /* cookie address outside the image's data */
    RW_SITE_COOKIE_INVALID,    /* magic, version, flags, sig_len, runtime */
    RW_SITE_SIG_UNSUPPORTED,   /* the signature is not v1 */
    RW_SITE_UNREACHABLE,       /* no stub can be reached from the site (arm64 range) */
    RW_SITE_NO_RELOCATION,     /* object: the call has no relocation to retarget (the
                                  assembler resolved it to a helper in the same section) */
};
const char *rw_verdict_name(unsigned verdict); /* "ok", "cookie-unknown", ... */
const char *rw_verdict_id(unsigned verdict);   /* JSON: "ok", "cookie_unknown", ... */

#define RW_SITE_MAX_BYTES 12

struct rw_site {
    uint32_t section;  /* of the call instruction */
    uint64_t offset;   /* first byte of the call instruction, in its section */
    uint64_t addr;     /* virtual address (linked images), else = offset */
    uint8_t form;      /* enum rw_site_form */
    uint8_t length;    /* bytes of the call instruction */
    uint8_t orig[RW_SITE_MAX_BYTES];
    uint32_t reloc;    /* objects: index of the call's relocation, else RW_NONE */

    uint8_t cookie_form;    /* enum rw_cookie_form; NONE when no setter was recognised */
    uint64_t setter_offset; /* of the instruction that set the cookie register
                               (same section as the call); 0 when cookie_form is NONE */
    uint32_t cookie_section;/* where the cookie lives, or RW_NONE */
    uint64_t cookie_offset;
    uint64_t cookie_addr;   /* virtual address (linked images), else = cookie_offset */
    uint16_t cookie_flags;
    struct calli_sig sig;

    uint8_t verdict;        /* enum rw_verdict */
    char reason[160];       /* why not rewritable; empty when OK */
    uint32_t stub;          /* set by the planner: index into the plan's stubs
                               (RW_NONE from the scanner) */
    uint32_t veneer;        /* set by the planner: index into the plan's
                               veneers when the site branches to its stub
                               through one, else RW_NONE */
};

struct rw_scan {
    struct rw_site *sites; /* sorted by (section, offset) */
    size_t nsites;
    size_t nok;
    size_t cap;            /* allocated entries (internal) */
};

enum rw_err rw_scan_image(const struct rw_image *img, struct rw_scan *out, struct rw_diag *d);
void rw_scan_free(struct rw_scan *s);

#endif

/* stub.h - the format-neutral interface of the stub generators.
 *
 * A stub is the precompiled fast path for one stub key (docs/abi.md section
 * 7): it is entered exactly like GenericPInvokeCalliHelper (target and cookie
 * in the ABI's scratch registers, managed arguments where the C convention
 * puts them) and performs spec section 4 for its one signature with
 * straight-line code. One generator per ABI implements stub_generate(); the
 * format back-ends place the bytes and turn the unwind description into
 * their own tables (.eh_frame FDEs via stubs/cfi_dwarf.h, Mach-O compact
 * unwind, Win64 UNWIND_INFO via stub_win64_unwind_info). See docs/stubs.md.
 *
 * Stub code is position-independent: it uses only register-relative memory
 * operands and needs no relocation. Generation is deterministic: the same
 * (abi, sig, suppress_gc, opts) always yields the same bytes.
 */
#ifndef CALLIRW_STUB_H
#define CALLIRW_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "calli_layout.h"
#include "calli_sig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stub symbols are STUB_SYMBOL_PREFIX + key (Mach-O adds its underscore). */
#define STUB_SYMBOL_PREFIX "__callirw_stub_"
/* Recommended alignment of each stub's first byte in the stub section. */
#define STUB_ALIGN 16

enum stub_err {
    STUB_OK = 0,
    STUB_E_ARG,     /* null sig or out */
    STUB_E_ABI,     /* no generator for this ABI yet */
    STUB_E_SIG,     /* not a signature calli_sig_parse can produce */
    STUB_E_NOMEM,
    STUB_E_ENCODE,  /* the instruction encoder refused an instruction (a bug) */
    STUB_E_COUNT_
};

/* Fixed text for an error code, e.g. "not implemented for this ABI". */
const char *stub_strerror(enum stub_err err);

struct stub_opts {
    int ibt; /* x86-64: the stub starts with endbr64 (image marked for IBT) */
    int bti; /* arm64: the stub starts with bti c and tail-branches through
                x16 (image marked for BTI) */
};

/* Registers in unwind steps: the ISA's own register numbers, i.e. the
 * hardware encoding on x86-64 (what Win64 UNWIND_CODEs use) and the x
 * register number on arm64. Format back-ends map them to DWARF numbers,
 * compact-unwind slots, etc. */
enum stub_x86_reg {
    STUB_X86_RAX = 0, STUB_X86_RCX = 1, STUB_X86_RDX = 2, STUB_X86_RBX = 3,
    STUB_X86_RSP = 4, STUB_X86_RBP = 5, STUB_X86_RSI = 6, STUB_X86_RDI = 7,
    STUB_X86_R8 = 8, /* ... */ STUB_X86_R12 = 12, STUB_X86_R13 = 13,
    STUB_X86_R14 = 14, STUB_X86_R15 = 15,
};
/* arm64: x0-x30 are 0-30, 31 is sp (never saved, only in the unwind
 * state). The generator saves only these. */
enum stub_a64_reg {
    STUB_A64_X19 = 19, STUB_A64_X20 = 20, STUB_A64_FP = 29, STUB_A64_LR = 30, STUB_A64_SP = 31,
};

/* Unwind description: what each prologue/epilogue instruction does to the
 * stack pointer, the frame pointer and the callee-saved registers, as
 * machine-level actions in program order. Every step takes effect at
 * pc_off, the offset of the *end* of the instruction that performs it (the
 * first pc at which the effect is visible - the DWARF advance_loc and Win64
 * CodeOffset convention). Several steps may share a pc_off (x86 `leave` is
 * SP_FROM_FP 0 then POP rbp). At offset 0 the state is the ABI's entry
 * state (x86-64: CFA = rsp + 8, return address at CFA - 8; arm64: CFA = sp,
 * return address in x30).
 *
 * Steps never describe code after the final return: a stub's framed region
 * runs from frame_start to the end of the code. Code before frame_start
 * (an optional frameless fast path ending in a tail jump) keeps the entry
 * state throughout. */
enum stub_unwind_op {
    STUB_UW_PUSH = 1,   /* push reg: sp -= 8, reg saved at [sp] */
    STUB_UW_SET_FP,     /* fp (reg) = sp + value: the frame pointer is set */
    STUB_UW_ALLOC,      /* sp -= value */
    STUB_UW_FREE,       /* sp += value */
    STUB_UW_SP_FROM_FP, /* sp = fp + value (x86 `leave`, `lea rsp,[rbp+v]`) */
    STUB_UW_POP,        /* pop reg: reg restored from [sp], sp += 8 */
    STUB_UW_RELOAD,     /* reg restored from its save slot (`mov rbx,[rbp-8]`);
                           sp unchanged */
    STUB_UW_SAVE,       /* reg saved at [sp + value], sp unchanged (arm64
                           `stp x29, x30, [sp, #-16]!` is ALLOC 16, SAVE x29 0,
                           SAVE x30 8, all at the end of the one instruction) */
};

struct stub_unwind_step {
    uint32_t pc_off; /* end of the instruction, from the stub's first byte */
    uint8_t op;      /* enum stub_unwind_op */
    uint8_t reg;     /* register (enum stub_x86_reg on x86-64), or 0 */
    uint16_t reserved;
    int32_t value;   /* byte count / offset, per op; else 0 */
};

/* A generated stub. All offsets are from the stub's first byte. */
struct stub_code {
    enum calli_abi abi;
    uint8_t *bytes; /* machine code, len bytes (heap; stub_code_free) */
    size_t len, cap;

    int has_frame;          /* keeps a frame across the target call (needs unwind info) */
    int tail_call;          /* has a frameless path ending in a tail jump to the target */
    uint32_t frame_start;   /* has_frame: offset of the first prologue instruction */
    uint32_t prologue_end;  /* has_frame: offset just past the prologue */
    uint32_t epilogue_start;/* has_frame: offset of the first epilogue instruction */
    uint32_t frame_size;    /* has_frame: bytes between the CFA and sp in the body
                               (return address, saved registers and locals) */
    uint32_t saved_regs;    /* has_frame: bit mask of callee-saved registers the
                               prologue pushes or saves (1u << enum stub_x86_reg;
                               arm64: 1u << x register number, x29 and x30
                               included) */

    struct stub_unwind_step *unwind; /* heap; nunwind steps, by pc_off */
    size_t nunwind, unwind_cap;
};

/* Generate the stub for one key. abi: the image's ABI (CALLI_ABI_SYSV_X64,
 * CALLI_ABI_WIN_X64, CALLI_ABI_AAPCS64, CALLI_ABI_APPLE_ARM64). sig: a
 * signature as calli_sig_parse produces it (the calling convention and the
 * pointees are ignored). suppress_gc: the key's SUPPRESS_GC_TRANSITION bit.
 * opts may be null (no landing pad). On success *out owns heap memory (free
 * with stub_code_free); on failure *out is empty and err (if errcap > 0)
 * holds a one-line reason. */
enum stub_err stub_generate(enum calli_abi abi, const struct calli_sig *sig, int suppress_gc,
                            const struct stub_opts *opts, struct stub_code *out, char *err,
                            size_t errcap);

/* Release a stub's memory and leave it empty. Accepts an empty or zeroed stub. */
void stub_code_free(struct stub_code *code);

/* The Win64 UNWIND_INFO of a Microsoft x64 stub (docs/stubs.md section 9):
 * version 1, no flags, SizeOfProlog, CountOfCodes, FrameRegister/Offset and
 * the UNWIND_CODEs of the prologue in reverse order, padded to an even
 * count; 4-byte aligned in the image. It describes the RUNTIME_FUNCTION
 * [frame_start, len): the code before frame_start (endbr64, shape B's
 * frameless head) keeps the entry state and, like any leaf, needs no entry;
 * a stub without a frame gets the empty UNWIND_INFO (01 00 00 00), which a
 * back-end may emit or leave out.
 *
 * The prologue must be what the codes can express: pushes of nonvolatile
 * registers, at most one allocation, saves (UWOP_SAVE_NONVOL) after it, and
 * last an optional frame-pointer set (offset a multiple of 16, at most 240),
 * within 255 bytes of frame_start. The epilogue steps must be a canonical
 * Win64 epilogue - the whole allocation freed at once (add rsp / lea rsp,
 * [fp+x]), then the pushes popped in reverse order - since the Windows
 * unwinder recognises epilogues by their code, not from the table. Anything
 * else is STUB_E_ENCODE.
 *
 * Writes *len bytes to out (up to cap); STUB_E_NOMEM when cap is too small,
 * with *len the size needed (at most STUB_WIN64_UNWIND_MAX bytes). STUB_E_ABI for a
 * stub of another ABI, STUB_E_ARG for null arguments. Pure: no allocation. */
#define STUB_WIN64_UNWIND_MAX (4 + 2 * 256)
enum stub_err stub_win64_unwind_info(const struct stub_code *code, uint8_t *out, size_t cap,
                                     size_t *len);

/* The Mach-O compact unwind encoding of a stub (docs/stubs.md, "Mach-O
 * compact unwind"; stubs/compact_unwind.c), for one entry covering the whole
 * stub [0, len): __LD,__compact_unwind in objects, __unwind_info in images.
 * Derived from the unwind steps and exact once the prologue is done (as for
 * any compiled function):
 *   x86-64 framed:  UNWIND_X86_64_MODE_RBP_FRAME, rbx (when saved) at
 *                   rbp-8: 0x01010001, or 0x01000000 without rbx
 *   x86-64 frameless: UNWIND_X86_64_MODE_STACK_IMMD, size 8: 0x02010000
 *   arm64 framed:   UNWIND_ARM64_MODE_FRAME | X19_X20_PAIR when x19/x20 are
 *                   saved: 0x04000001, or 0x04000000
 *   arm64 frameless: UNWIND_ARM64_MODE_FRAMELESS, size 0: 0x02000000
 * head (may be NULL) receives the frameless encoding, which describes
 * [0, frame_start) of a stub with a frameless head (shape B, endbr64/bti) for
 * a writer that gives that range its own entry.
 * STUB_E_ENCODE when the frame is not what the encoding can say exactly
 * (AAPCS64 stubs with service calls keep x19/x20 above the frame record,
 * Microsoft x64 stubs have no rbp frame): the caller then emits encoding 0
 * or uses DWARF. STUB_E_ABI for an unknown ABI, STUB_E_ARG for null
 * arguments. Pure: no allocation. */
enum stub_err stub_compact_unwind(const struct stub_code *code, uint32_t *encoding,
                                  uint32_t *head);

/* arm64 range-extension veneer: code placed at address `at` that branches
 * to `target` through x16 (`adrp x16; add x16, x16, #lo12; br x16`), for a
 * site whose BL/B cannot reach its stub. x16 (IP0) is the register AAPCS64
 * lets a veneer clobber between a call and its callee; `br x16` is accepted
 * by a stub's `bti c`. Writes STUB_VENEER_BYTES bytes; STUB_E_ENCODE when the
 * target is beyond the +-4 GiB reach of adrp or either address is not
 * 4-aligned. */
#define STUB_VENEER_BYTES 12
enum stub_err stub_veneer_a64(uint64_t at, uint64_t target, uint8_t out[STUB_VENEER_BYTES]);

#ifdef __cplusplus
}
#endif
#endif

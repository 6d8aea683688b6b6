/* harness.h - offsets shared by tramp_win.S and stub_win_test.c (see there). */
#ifndef STUB_WIN_HARNESS_H
#define STUB_WIN_HARNESS_H

#define NSLOTS 64 /* 8-byte stack slots the trampoline always passes (512 bytes) */

/* struct tramp */
#define T_GPR 0         /* rcx rdx r8 r9 */
#define T_XMM 32        /* xmm0-5, 16 bytes each (xmm4/5: garbage, not arguments) */
#define T_R10 128       /* target */
#define T_R11 136       /* cookie */
#define T_STACK 144     /* NSLOTS slots at [rsp+32] at the call */
#define T_HOME 656      /* the 4 home slots at [rsp] at the call */
#define T_CALL 688      /* what the trampoline calls: the entry, or site_jmp */
#define T_ENTRY 696     /* where site_jmp tail-jumps */
#define T_CS_IN 704     /* rbx rbp rsi rdi r12 r13 r14 r15 at the call */
#define T_X_IN 768      /* xmm6-15 at the call, 16 bytes each */
#define T_CS_OUT 928    /* the same after the return */
#define T_X_OUT 992
#define T_RAX 1152      /* rax after the return */
#define T_XMM0 1168     /* xmm0 after the return */
#define T_SP 1184       /* rsp right before the call */
#define T_SP_AFTER 1192 /* rsp right after the return */
#define T_SIZE 1200

/* struct rec (what the recording target saw) */
#define R_GPR 0         /* rcx rdx r8 r9 */
#define R_XMM 32        /* xmm0-3, 16 bytes each */
#define R_SP 96         /* rsp at entry (the return address at [sp]) */
#define R_STACK 104     /* NSLOTS slots from [sp+40] */
#define R_SIZE 616

/* The trampoline's frame below its 8 pushes: home area, the stack slots,
 * xmm6-15 of its caller, the struct pointer. */
#define TR_XSAVE 544
#define TR_TPTR 704
#define TR_FRAME 712

#endif

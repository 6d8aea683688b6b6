/* harness.h - offsets shared by tramp.S and stub_a64_test.c (see there). */
#ifndef STUB_A64_HARNESS_H
#define STUB_A64_HARNESS_H

#define NSLOTS 64 /* 8-byte stack slots the trampoline always passes (512 bytes) */

/* struct tramp */
#define T_GPR 0         /* x0-x7 */
#define T_FPR 64        /* q0-q7, 16 bytes each */
#define T_X12 192       /* target */
#define T_X15 200       /* cookie */
#define T_STACK 208     /* NSLOTS slots at [sp] at the call */
#define T_CALL 720      /* what `blr x17` calls: the entry, or site_br16 */
#define T_ENTRY 728     /* x16 at the call: where site_br16 branches */
#define T_CS_IN 736     /* x19-x29 at the call (11 x 8) */
#define T_D_IN 824      /* d8-d15 at the call */
#define T_CS_OUT 888    /* x19-x29 after the return */
#define T_D_OUT 976     /* d8-d15 after the return */
#define T_X0 1040       /* x0 after the return */
#define T_Q0 1056       /* q0 after the return */
#define T_SP 1072       /* sp right before the call */
#define T_SP_AFTER 1080 /* sp right after the return */
#define T_SIZE 1088

/* struct rec (what the recording target saw) */
#define R_GPR 0
#define R_FPR 64
#define R_SP 192
#define R_STACK 200
#define R_SIZE 712

/* The trampoline's frame: 176 bytes of saves + the 512-byte stack area. */
#define TRAMP_SAVE 176
#define TRAMP_T_PTR (512 + 160) /* where it keeps its argument */

#endif

/* seh_ref.S - hand-written Win64 functions whose UNWIND_INFO, as the
 * assembler encodes it, is the reference for tests/unit/test_stub_win64.c
 * (the expected bytes there were taken from this file):
 *
 *   x86_64-w64-mingw32-gcc -c tests/stub_win/seh_ref.S -o seh_ref.o
 *   x86_64-w64-mingw32-objdump -s -j .xdata seh_ref.o
 *   llvm-readobj --unwind seh_ref.o
 *
 * ref_i4_s_b and ref_b_i4_sgc are the frames of the stubs of the same keys
 * (docs/stubs.md section 9); the others use every other unwind code. */
    .intel_syntax noprefix
    .text

/* push rbx; sub rsp, 0x40 ... add rsp, 0x40; pop rbx; ret
 *   PrologSize 5, codes: 0x05 ALLOC_SMALL size=64, 0x01 PUSH_NONVOL RBX */
ref_i4_s_b:
    .seh_proc ref_i4_s_b
    push rbx
    .seh_pushreg rbx
    sub rsp, 0x40
    .seh_stackalloc 0x40
    .seh_endprologue
    call [rsp + 0x20]
    add rsp, 0x40
    pop rbx
    ret
    .seh_endproc

/* sub rsp, 0x28 ... add rsp, 0x28; ret
 *   PrologSize 4, codes: 0x04 ALLOC_SMALL size=40 (and a pad slot) */
ref_b_i4_sgc:
    .seh_proc ref_b_i4_sgc
    sub rsp, 0x28
    .seh_stackalloc 0x28
    .seh_endprologue
    call r10
    add rsp, 0x28
    ret
    .seh_endproc

/* eight pushes, a 16-bit ALLOC_LARGE, a frame pointer at rsp + 128
 *   PrologSize 27, FrameRegister RBP, FrameOffset 8 (x16 = 128), codes:
 *   0x1B SET_FPREG, 0x13 ALLOC_LARGE size=4096, 0x0C PUSH_NONVOL R15,
 *   0x0A R14, 0x08 R13, 0x06 R12, 0x04 RDI, 0x03 RSI, 0x02 RBX, 0x01 RBP */
ref_frame:
    .seh_proc ref_frame
    push rbp
    .seh_pushreg rbp
    push rbx
    .seh_pushreg rbx
    push rsi
    .seh_pushreg rsi
    push rdi
    .seh_pushreg rdi
    push r12
    .seh_pushreg r12
    push r13
    .seh_pushreg r13
    push r14
    .seh_pushreg r14
    push r15
    .seh_pushreg r15
    sub rsp, 0x1000
    .seh_stackalloc 0x1000
    lea rbp, [rsp + 128]
    .seh_setframe rbp, 128
    .seh_endprologue
    nop
    lea rsp, [rbp + 0x1000 - 128]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rdi
    pop rsi
    pop rbx
    pop rbp
    ret
    .seh_endproc

/* a 32-bit ALLOC_LARGE, SAVE_NONVOL and SAVE_NONVOL_FAR
 *   PrologSize 20, codes: 0x14 SAVE_NONVOL_FAR RSI offset=0x80000,
 *   0x0C SAVE_NONVOL RBX offset=0x10, 0x07 ALLOC_LARGE size=600000 */
ref_save:
    .seh_proc ref_save
    sub rsp, 600000
    .seh_stackalloc 600000
    mov [rsp + 0x10], rbx
    .seh_savereg rbx, 0x10
    mov [rsp + 0x80000], rsi
    .seh_savereg rsi, 0x80000
    .seh_endprologue
    mov rbx, [rsp + 0x10]
    mov rsi, [rsp + 0x80000]
    add rsp, 600000
    ret
    .seh_endproc

/* push r13; sub rsp, 256; lea r13, [rsp + 240]: the largest frame offset
 *   PrologSize 17, FrameRegister R13, FrameOffset 15, codes:
 *   0x11 SET_FPREG, 0x09 ALLOC_LARGE size=256, 0x02 PUSH_NONVOL R13 */
ref_fp240:
    .seh_proc ref_fp240
    push r13
    .seh_pushreg r13
    sub rsp, 256
    .seh_stackalloc 256
    lea r13, [rsp + 240]
    .seh_setframe r13, 240
    .seh_endprologue
    lea rsp, [r13 + 16]
    pop r13
    ret
    .seh_endproc

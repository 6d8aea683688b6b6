/* r2r_sites.S - the synthetic ReadyToRun program's code and ReadyToRun data
 * (x86-64 Windows, mingw GAS; docs/r2r.md, "Proof").
 *
 * Three "methods" call the generic helper the way crossgen2 code calls
 * helpers: through ReadyToRun import cells, `call *cell(%rip)`, with the
 * target in r10 and the cookie in r11. The cells' fixup signatures are
 * READYTORUN_FIXUP_Helper (0x1A) + helper id 0x47; other cells (Module
 * helper, another fixup kind) must be left alone. r2r_main.c plays the
 * runtime: it walks this header at run time and fills the 0x47 cells with
 * &GenericPInvokeCalliHelper.
 *
 * The READYTORUN_HEADER (r2r_header) is reached from the CLI header
 * (r2r_cor20), whose RVA tests/r2r/set_clr.py writes into data directory 14
 * after the link. Sections: CompilerIdentifier, ImportSections,
 * RuntimeFunctions (the three methods, with their own UNWIND_INFO),
 * MethodDefEntryPoints (rows 1..3 -> runtime functions 0..2, a NativeArray
 * encoded by hand below). */

    .text
/* int method_a(int a, int b) = calli add(a, b) * 1000 + calli add(b, 7) */
    .globl method_a
    .def method_a; .scl 2; .type 32; .endef
    .seh_proc method_a
method_a:
    pushq %rbx
    .seh_pushreg %rbx
    subq $48, %rsp
    .seh_stackalloc 48
    .seh_endprologue
    movl %edx, 44(%rsp)
    leaq cookie_i4_i4_i4(%rip), %r11
    leaq tgt_add(%rip), %r10
    call *cell_calli0(%rip)
    imull $1000, %eax, %ebx
    movl 44(%rsp), %ecx
    movl $7, %edx
    leaq cookie_i4_i4_i4(%rip), %r11
    leaq tgt_add(%rip), %r10
    call *cell_calli1(%rip)
    addl %ebx, %eax
    addq $48, %rsp
    popq %rbx
    ret
    .seh_endproc
method_a_end:

/* double method_b(double x, long long n) = calli mul(x, n) + calli[SGC] add(3, 4)
 *   + calli slen("héllo") */
    .globl method_b
    .def method_b; .scl 2; .type 32; .endef
    .seh_proc method_b
method_b:
    pushq %rbx
    .seh_pushreg %rbx
    subq $48, %rsp
    .seh_stackalloc 48
    .seh_endprologue
    leaq cookie_r8_r8_i8(%rip), %r11
    leaq tgt_mul(%rip), %r10
    call *cell_calli0(%rip)
    movsd %xmm0, 40(%rsp)
    movl $3, %ecx
    movl $4, %edx
    leaq cookie_i4_i4_i4_sgc(%rip), %r11
    leaq tgt_add(%rip), %r10
    call *cell_calli0(%rip)
    movl %eax, %ebx
    leaq mstring(%rip), %rcx
    leaq cookie_i4_str(%rip), %r11
    leaq tgt_slen(%rip), %r10
    call *cell_calli1(%rip)
    addl %ebx, %eax
    cvtsi2sdl %eax, %xmm1
    movsd 40(%rsp), %xmm0
    addsd %xmm1, %xmm0
    addq $48, %rsp
    popq %rbx
    ret
    .seh_endproc
method_b_end:

/* long long method_c(void) = calli sum6(1, 2, 3, 4, 5, 6) (weighted) */
    .globl method_c
    .def method_c; .scl 2; .type 32; .endef
    .seh_proc method_c
method_c:
    pushq %rbx
    .seh_pushreg %rbx
    subq $48, %rsp
    .seh_stackalloc 48
    .seh_endprologue
    movl $1, %ecx
    movl $2, %edx
    movl $3, %r8d
    movl $4, %r9d
    movq $5, 32(%rsp)
    movq $6, 40(%rsp)
    leaq cookie_i8x6(%rip), %r11
    leaq tgt_sum6(%rip), %r10
    call *cell_calli1(%rip)
    addq $48, %rsp
    popq %rbx
    ret
    .seh_endproc
method_c_end:

/* ---- cookies (writable: the generic helper may cache in them) ---- */
    .data
    .balign 8
cookie_i4_i4_i4:            /* int32 (int32, int32), C */
    .long 0x494C4143
    .short 1, 0
    .quad calli_refrt_default, 0
    .long 5
    .byte 0x01, 0x02, 0x08, 0x08, 0x08
    .balign 8
cookie_i4_i4_i4_sgc:        /* the same, SUPPRESS_GC_TRANSITION: another stub key */
    .long 0x494C4143
    .short 1, 1
    .quad calli_refrt_default, 0
    .long 5
    .byte 0x01, 0x02, 0x08, 0x08, 0x08
    .balign 8
cookie_r8_r8_i8:            /* double (double, int64) */
    .long 0x494C4143
    .short 1, 0
    .quad calli_refrt_default, 0
    .long 5
    .byte 0x01, 0x02, 0x0D, 0x0D, 0x0A
    .balign 8
cookie_i4_str:              /* int32 (string) */
    .long 0x494C4143
    .short 1, 0
    .quad calli_refrt_default, 0
    .long 4
    .byte 0x01, 0x01, 0x08, 0x0E
    .balign 8
cookie_i8x6:                /* int64 (int64 x 6) */
    .long 0x494C4143
    .short 1, 0
    .quad calli_refrt_default, 0
    .long 9
    .byte 0x01, 0x06, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A
    .balign 8
mstring:                    /* a managed string: header, length, UTF-16 "héllo" */
    .quad 0
    .long 5
    .short 0x68, 0xE9, 0x6C, 0x6C, 0x6F

/* ---- the import cells: the runtime fills them (r2r_main.c does) ---- */
    .balign 8
    .globl r2r_cells
r2r_cells:
cell_module:    .quad 0     /* Helper 0x01 Module */
cell_calli0:    .quad 0     /* Helper 0x47 */
cell_other:     .quad 0     /* Check_InstructionSetSupport: not a helper */
cell_calli1:    .quad 0     /* Helper 0x47 */
cell_delay:     .quad 0     /* Helper 0x08 DelayLoad_MethodCall */
r2r_cells_end:

/* ---- ReadyToRun data (read-only) ---- */
    .section .rdata,"dr"
    .balign 4
    .globl r2r_cor20
r2r_cor20:                  /* IMAGE_COR20_HEADER, 72 bytes */
    .long 72                /* cb */
    .short 2, 5             /* runtime version */
    .long 0, 0              /* MetaData (none: nothing here reads it) */
    .long 0x4               /* Flags: IL_LIBRARY, ILONLY clear (as crossgen2 writes) */
    .long 0                 /* EntryPointToken */
    .long 0, 0              /* Resources */
    .long 0, 0              /* StrongNameSignature */
    .long 0, 0              /* CodeManagerTable */
    .long 0, 0              /* VTableFixups */
    .long 0, 0              /* ExportAddressTableJumps */
    .rva r2r_header         /* ManagedNativeHeader */
    .long r2r_header_end - r2r_header

    .balign 4
    .globl r2r_header
r2r_header:
    .long 0x00525452        /* "RTR" */
    .short 5, 4             /* version */
    .long 0x8               /* NONSHARED_PINVOKE_STUBS */
    .long 4                 /* NumberOfSections */
    .long 100
    .rva r2r_compiler
    .long r2r_compiler_end - r2r_compiler
    .long 101
    .rva r2r_imports
    .long r2r_imports_end - r2r_imports
    .long 102
    .rva r2r_rf
    .long r2r_rf_end - r2r_rf
    .long 103
    .rva r2r_entrypoints
    .long r2r_entrypoints_end - r2r_entrypoints
r2r_header_end:

r2r_compiler:
    .asciz "callirw synthetic ReadyToRun 1"
r2r_compiler_end:

    .balign 4
r2r_imports:                /* READYTORUN_IMPORT_SECTION x 1 */
    .rva r2r_cells
    .long r2r_cells_end - r2r_cells
    .short 0                /* flags */
    .byte 0, 8              /* type Unknown, entry size 8 */
    .rva r2r_sigs
    .long 0                 /* auxiliary data */
r2r_imports_end:

    .balign 4
r2r_sigs:
    .rva sig_module, sig_calli, sig_other, sig_calli, sig_delay
sig_module: .byte 0x1A, 0x01
sig_calli:  .byte 0x1A, 0x47
sig_other:  .byte 0x30, 0x00
sig_delay:  .byte 0x1A, 0x08

    .balign 4
r2r_unwind:                 /* UNWIND_INFO: push rbx; sub rsp, 48 */
    .byte 0x01, 0x05, 0x02, 0x00
    .byte 0x05, 0x52        /* at 5: UWOP_ALLOC_SMALL (48 - 8) / 8 */
    .byte 0x01, 0x30        /* at 1: UWOP_PUSH_NONVOL rbx */

    .balign 4
    .globl r2r_rf
r2r_rf:                     /* RuntimeFunctions: {Begin, End, UnwindData} */
    .rva method_a, method_a_end, r2r_unwind
    .rva method_b, method_b_end, r2r_unwind
    .rva method_c, method_c_end, r2r_unwind
r2r_rf_end:
    .long 0xFFFFFFFF        /* the sentinel the runtime's lookup reads */

/* MethodDefEntryPoints: a NativeArray of 3 elements, 1-byte block index.
 * header 3 << 2 -> 0x18; block 0 at +1; tree levels (bits 8, 4, 2, 1):
 * lower-only (0x02), lower-only (0x02), lower + higher at +4 (0x26),
 * lower + higher at +2 (0x16): element 0's data, element 1's data; at +4,
 * a leaf for element 2 (0x10) and its data. An element's data is the
 * NativeFormat unsigned id = runtime function index << 1 (no fixups). */
r2r_entrypoints:
    .byte 0x18, 0x01
    .byte 0x02, 0x02, 0x26, 0x16
    .byte 0x00, 0x04
    .byte 0x10, 0x08
r2r_entrypoints_end:

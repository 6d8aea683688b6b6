# relocs_a64.s - arm64 Mach-O relocation shapes for check_model.py: the
# model's S + A (with ARM64_RELOC_ADDEND folded in) must be what ld64.lld-14
# encodes into each adrp / add / ldr / bl / b and data word once linked.
	.text
	.p2align 2
	.globl _main
_main:
	bl _ext_func                   // BRANCH26
	bl _local_func                 // BRANCH26 to a defined symbol
	adrp x0, _data0@PAGE           // PAGE21
	add x0, x0, _data0@PAGEOFF     // PAGEOFF12
	adrp x1, _data0@PAGE+16        // ADDEND + PAGE21
	add x1, x1, _data0@PAGEOFF+16  // ADDEND + PAGEOFF12
	adrp x2, _data0@PAGE+0x2010    // ADDEND across a page
	ldr x2, [x2, _data0@PAGEOFF+0x2010] // ADDEND + PAGEOFF12 (scaled ldr)
	adrp x3, _ext_data@GOTPAGE     // GOT_LOAD_PAGE21
	ldr x3, [x3, _ext_data@GOTPAGEOFF] // GOT_LOAD_PAGEOFF12
	b _ext_func                    // BRANCH26 (a tail call)
	.globl _local_func
_local_func:
	ret

	.data
	.p2align 3
	.globl _data0
_data0:
	.space 0x2020
	.quad _data0                   // UNSIGNED 64
	.quad _data0 + 24              // UNSIGNED 64 with an addend in the field
	.quad _main - _data0           // SUBTRACTOR + UNSIGNED

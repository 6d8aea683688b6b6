# ext_a64.s - the symbols relocs_a64.s refers to, linked beside it.
	.text
	.p2align 2
	.globl _ext_func
_ext_func:
	ret
	.data
	.globl _ext_data
_ext_data:
	.quad 1

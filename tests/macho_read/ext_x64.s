# ext_x64.s - the symbols relocs_x64.s refers to, linked beside it.
	.text
	.globl _ext_func
_ext_func:
	ret
	.data
	.globl _ext_data
_ext_data:
	.quad 1

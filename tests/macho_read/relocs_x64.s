# relocs_x64.s - every x86-64 Mach-O relocation shape the reader normalises,
# for check_model.py: the model's S + A - P must equal what ld64.lld-14
# writes into the field once linked (SIGNED_1/2/4 fold the immediate bytes
# after the field; non-extern relocations point at section symbols).
	.text
	.globl _main
_main:
	call _ext_func                 # BRANCH, extern
	call _local_func               # BRANCH (a defined symbol: still extern)
	leaq _data0(%rip), %rax        # SIGNED
	leaq _data0+12(%rip), %rax     # SIGNED with an addend in the field
	movb $0x12, _data0(%rip)       # SIGNED_1
	movw $0x1234, _data0+2(%rip)   # SIGNED_2
	movl $0x12345678, _data0+4(%rip) # SIGNED_4
	leaq Llocal(%rip), %rax        # SIGNED, non-extern (a temporary label)
	leaq Llocal+8(%rip), %rax      # SIGNED, non-extern, addend
	movq _ext_data@GOTPCREL(%rip), %rax  # GOT_LOAD
	call *_ext_func@GOTPCREL(%rip) # GOT
	leaq Lstr(%rip), %rax          # SIGNED, non-extern (a literal section has no symbols)
	leaq Lstr+3(%rip), %rax        # SIGNED, non-extern, addend
	movb $0x12, Lstr2(%rip)        # SIGNED_1, non-extern
	movl $0x12345678, Lstr2+1(%rip) # SIGNED_4, non-extern
	movb $0x12, Lx(%rip)           # SIGNED_1, non-extern (a section without symbols)
	movw $0x1234, Lx+2(%rip)       # SIGNED (the assembler's choice), non-extern
	movl $0x12345678, Lx+4(%rip)   # SIGNED, non-extern
	leaq Lx+8(%rip), %rax          # SIGNED, non-extern
	jmp _ext_func                  # BRANCH (a tail call)
	.globl _local_func
_local_func:
	ret

	.data
	.globl _data0
_data0:
	.quad 0
	.quad 0
Llocal:
	.quad 0
	.quad _data0                   # UNSIGNED 64, extern
	.quad _data0 + 16              # UNSIGNED 64, extern, addend
	.quad Llocal                   # UNSIGNED 64, non-extern
	.quad Llocal + 8               # UNSIGNED 64, non-extern, addend
	.quad _data0 - _main           # SUBTRACTOR + UNSIGNED
	.long _data0 - _main           # SUBTRACTOR + UNSIGNED, 32-bit
	.quad Lstr2 + 2                # UNSIGNED 64, non-extern, addend

	.cstring
Lstr:
	.asciz "hello"
Lstr2:
	.asciz "world, long enough"

	.section __DATA,__mine
	.quad 0
Lx:
	.quad 0
	.quad 0
	.quad Lx + 4                   # UNSIGNED 64, non-extern

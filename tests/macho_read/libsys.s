# libsys.s - a stand-in libSystem (install name /usr/lib/libSystem.B.dylib)
# with the one symbol ld64.lld-14 needs for lazy binding (no underscore).
	.text
	.globl dyld_stub_binder
dyld_stub_binder:
	ret

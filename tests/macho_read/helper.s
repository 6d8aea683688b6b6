# helper.s - a stand-in helper: linked into images (own.exe, own.bundle) or
# built into libhelper.dylib for images that import it (imp.exe, imp.dylib).
	.text
	.globl _GenericPInvokeCalliHelper
_GenericPInvokeCalliHelper:
	ret

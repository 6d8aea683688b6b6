# tests/bigio/: the large-file paths of `callirw rewrite` (inputs of 8 MiB and
# more: the input's pages mapped into the output buffer, the output written
# with copy_file_range where pages are unchanged; rewriter/image.c
# rw_copy_input, rewriter/output.c) give exactly the bytes of the plain path
# (CALLIRW_PLAIN_IO=1), for ELF and PE, -o and -i, plain and ASan builds; the
# rewritten ELF program runs. The generated matrices' programs are all small
# and never take these paths.
.PHONY: check-bigio
check-bigio: $(B)/callirw $(B)/asan/callirw $(B)/examples/mathlib $(B)/tests/pe/main.exe
	@tests/bigio/check.sh $(B)
CHECK_TARGETS += check-bigio
# main.exe is check-pe's (lane 1 of make check-run): built by make all, so
# the two lanes never build it at the same time.
ALL_TARGETS += $(B)/tests/pe/main.exe

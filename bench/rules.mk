# bench/: `make bench` - measured facts, written to docs/bench.md (issue 7).
#
#   bench/call/     cost per call: direct call, rewritten stub, generic helper,
#                   libffi ffi_call (callgrind instructions + ns per call)
#   bench/rewrite/  cost per rewrite: generated images (1k/10k/100k sites over
#                   1000 signatures), libLLVM-14.so.1 and cc1, beside cp and
#                   objcopy / llvm-objcopy --add-section (wall time, peak RSS)
#
# Each part has its own rules.mk defining bench-call / bench-rewrite, which
# write one Markdown section each ($(B)/bench/call.md, $(B)/bench/rewrite.md);
# tools/bench_report.sh joins them under a header (machine, date, commands)
# into docs/bench.md. Never part of make check: timings belong here.

include $(sort $(wildcard bench/*/rules.mk))

.PHONY: bench bench-run
bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory bench-run

bench-run:
	@mkdir -p $(B)/bench
	@$(MAKE) --no-print-directory bench-call
	@$(MAKE) --no-print-directory bench-rewrite
	@tools/bench_report.sh $(B)/bench docs/bench.md

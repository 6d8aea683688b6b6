# bench/rewrite/: `make bench-rewrite` - the cost of a rewrite (issue 7).
#
# run.py builds the generated images once (cached in $(B)/bench/rewrite/,
# rebuilt when gen.py or the runtime changes), checks that their rewrite
# works (every site found, same output before and after), then measures
# wall time and peak RSS of callirw beside cp, objcopy and llvm-objcopy
# --add-section, and the scan of libLLVM-14.so.1 and cc1. It writes
# $(B)/bench/rewrite.md from bench/rewrite/report.md.in. BENCH_REPS: runs
# per measurement (median; 3 for the ~110 MB files when lower).

BENCH_REPS ?= 5

.PHONY: bench-rewrite
bench-rewrite: $(B)/callirw $(B)/x86_64-linux/libcalli_runtime.a
	@mkdir -p $(B)/bench/rewrite
	python3 bench/rewrite/run.py --callirw $(B)/callirw \
	    --runtime $(B)/x86_64-linux/libcalli_runtime.a \
	    --work $(B)/bench/rewrite --out $(B)/bench/rewrite.md --reps $(BENCH_REPS)

# check-decode-all (make check, a few seconds): scan --json with and without
# --decode-all must agree on the tests/elf programs (sites in every form;
# PLT, imports, IBT), the examples, and system files that do not call the
# helper (where the scan skips the decode).
DECODE_ALL_SYS := /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/bin/gcc-12 \
    /usr/lib/x86_64-linux-gnu/wine/x86_64-windows/kernel32.dll \
    $(wildcard ../shared/corpus/r2r/*.dll)

.PHONY: check-decode-all
check-decode-all: $(B)/asan/callirw $(ELFT_BINS) $(EXAMPLE_BIN)
	@bench/rewrite/check_decode_all.sh $(B)/asan/callirw $(ELFT_BINS) $(EXAMPLE_BIN) $(DECODE_ALL_SYS)
CHECK_TARGETS += check-decode-all

# bench/call/: `make bench-call` - cost per call on x86-64 Linux (ELF PIE):
# the floor (a direct call), the rewritten stub, the generic helper and
# libffi, side by side; writes $(B)/bench/call.md (docs/bench-method.md,
# "Cost per call"). Not part of make check.

BENCH_CALL_DIR := $(B)/bench/call
BENCH_CALL_BIN := $(BENCH_CALL_DIR)/bench_call
BENCH_CALL_RT := $(B)/x86_64-linux/libcalli_runtime.a

# -O2 as a real program; the targets are another translation unit and
# noinline, so the floor is a real call.
$(BENCH_CALL_BIN): bench/call/main.c bench/call/targets.c bench/call/sites.S \
                   bench/call/bench_call.h examples/calli_x86_64.inc $(BENCH_CALL_RT)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iruntime/include -pie -fPIE \
	    bench/call/main.c bench/call/targets.c bench/call/sites.S $(BENCH_CALL_RT) -lffi -o $@

# The stub column: the same image after the rewrite.
$(BENCH_CALL_BIN).rw: $(BENCH_CALL_BIN) $(B)/callirw
	$(B)/callirw rewrite $< -o $@

.PHONY: bench-call
bench-call: $(BENCH_CALL_BIN) $(BENCH_CALL_BIN).rw
	@bench/call/run.sh $(B) $(BENCH_CALL_BIN) $(BENCH_CALL_BIN).rw $(B)/bench/call.md

# make check: the harness's own correctness in a second - every way of every
# row agrees (bench_call exits 1 otherwise) in both images, and the rewritten
# image prints what the original prints. No timing here.
.PHONY: check-bench-call
check-bench-call: $(BENCH_CALL_BIN) $(BENCH_CALL_BIN).rw
	@$(BENCH_CALL_BIN) check > $(BENCH_CALL_DIR)/check.orig.out
	@$(BENCH_CALL_BIN).rw check > $(BENCH_CALL_DIR)/check.rw.out
	@cmp -s $(BENCH_CALL_DIR)/check.orig.out $(BENCH_CALL_DIR)/check.rw.out || \
	  { echo "check-bench-call: the rewritten image prints something else"; \
	    diff $(BENCH_CALL_DIR)/check.orig.out $(BENCH_CALL_DIR)/check.rw.out | head -20; exit 1; }
	@echo "check-bench-call: $$(wc -l < $(BENCH_CALL_DIR)/check.orig.out) results agree (direct, by hand, stub, helper, libffi)"
CHECK_TARGETS += check-bench-call
ALL_TARGETS += $(BENCH_CALL_BIN) $(BENCH_CALL_BIN).rw

# tests/stub_a64/: the arm64 stub generator against the real arm64 generic
# helper, under qemu-aarch64 (no binfmt: qemu is called explicitly). One
# program, cross-compiled: the test (C + tramp.S), the stub generator's
# format-neutral sources (stubs/*.c without the Zydis-based x86 encoder and
# generators) and build/aarch64-linux/libcalli_runtime.a (helper, dispatcher,
# reference runtime, sig/). See docs/stubs.md section 8.

STUB_A64 := $(B)/tests/stub_a64
STUB_A64_SRC := tests/stub_a64/stub_a64_test.c tests/stub_a64/tramp.S \
                $(filter-out stubs/x86_enc.c stubs/stub_x86_64_%.c,$(wildcard stubs/*.c))
QEMU_A64 ?= qemu-aarch64
QEMU_A64_ROOT ?= /usr/aarch64-linux-gnu

$(STUB_A64)/stub_a64_test: $(STUB_A64_SRC) tests/stub_a64/harness.h $(wildcard stubs/*.h) \
                           $(RT_HDRS) $(B)/aarch64-linux/libcalli_runtime.a
	@mkdir -p $(@D)
	$(A64_CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -fasynchronous-unwind-tables \
	    -Isig -Iruntime/include -Iruntime -Istubs -Itests/stub_a64 \
	    $(STUB_A64_SRC) $(B)/aarch64-linux/libcalli_runtime.a -o $@

.PHONY: check-stub-a64
check-stub-a64: $(STUB_A64)/stub_a64_test
	@$(QEMU_A64) -L $(QEMU_A64_ROOT) $< > $(STUB_A64)/out.txt 2>&1; rc=$$?; \
	  tail -n 5 $(STUB_A64)/out.txt; \
	  test $$rc -eq 0 && tail -n 1 $(STUB_A64)/out.txt | grep -q '^stub-a64: [0-9]* passed, 0 failed$$' || \
	  { echo "check-stub-a64: failed (exit $$rc; full output in $(STUB_A64)/out.txt)"; exit 1; }

ALL_TARGETS += $(STUB_A64)/stub_a64_test
CHECK_TARGETS += check-stub-a64

# examples/: hand-written legacy programs (x86-64 ELF, PIE) whose calls into
# libc go through the generic helper. `make demo` runs them.

EXAMPLES := textlib mathlib
EXAMPLE_BIN := $(patsubst %,$(B)/examples/%,$(EXAMPLES))
EXAMPLE_RT := $(B)/x86_64-linux/libcalli_runtime.a

$(B)/examples/%: examples/%/main.c examples/%/sites.S examples/example.h examples/calli_x86_64.inc $(EXAMPLE_RT)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iruntime/include -pie -fPIE \
	    examples/$*/main.c examples/$*/sites.S $(EXAMPLE_RT) -lm -o $@

ALL_TARGETS += $(EXAMPLE_BIN)

# The examples' output is fixed: compare it with the checked-in transcript.
.PHONY: check-examples
check-examples: $(EXAMPLE_BIN)
	@set -e; for e in $(EXAMPLES); do \
	  $(B)/examples/$$e > $(B)/examples/$$e.out; \
	  cmp $(B)/examples/$$e.out examples/$$e/expected.txt || \
	    { echo "check-examples: $$e differs from examples/$$e/expected.txt"; diff examples/$$e/expected.txt $(B)/examples/$$e.out | head -20; exit 1; }; \
	  echo "check-examples: $$e ok"; done
CHECK_TARGETS += check-examples

.PHONY: demo-run
demo-run: $(EXAMPLE_BIN)
	@tools/demo.sh $(B)

# tests/unwind/: unwinding through stubs. Targets walk the stack with libgcc's
# _Unwind_Backtrace and print the frames they can name (site functions,
# main); the transcript must be identical before and after the rewrite, and
# every walk from a site that keeps its frame must reach that site and main.
# Built PIE and non-PIE, with gcc and clang; each rewritten image must also
# pass eu-elflint and LIEF, and still run the same after `strip`.

UW := $(B)/tests/unwind
UW_VARIANTS := gcc-pie gcc-nopie clang-pie clang-nopie
UW_CC_gcc-pie := gcc -pie -fPIE
UW_CC_gcc-nopie := gcc -no-pie
UW_CC_clang-pie := clang -pie -fPIE
UW_CC_clang-nopie := clang -no-pie

# -static: no .eh_frame_hdr in the input (the image's FDEs are registered by
# crtbeginT); the stubs' FDEs are found only through the PT_GNU_EH_FRAME the
# rewrite adds (docs/elf.md).
UW_VARIANTS += gcc-static
UW_CC_gcc-static := gcc -static

$(UW)/%: tests/unwind/main.c tests/unwind/sites.S $(B)/x86_64-linux/libcalli_runtime.a
	@mkdir -p $(@D)
	$(UW_CC_$*) -O1 -g -fasynchronous-unwind-tables -Iruntime/include $(filter %.c %.S %.a,$^) -o $@

.PHONY: check-unwind
check-unwind: $(patsubst %,$(UW)/%,$(UW_VARIANTS)) $(B)/asan/callirw $(B)/tools/lief_check
	@set -e; for v in $(UW_VARIANTS); do \
	  p=$(UW)/$$v; \
	  $$p > $$p.before; \
	  grep -q 'walk_bool: walk reaches: site_framed main' $$p.before || { echo "check-unwind: $$v: the helper's walk is wrong"; exit 1; }; \
	  $(B)/asan/callirw rewrite $$p -o $$p.rw > /dev/null; \
	  $$p.rw > $$p.after; \
	  cmp -s $$p.before $$p.after || { echo "check-unwind: $$v: walks differ after the rewrite"; diff $$p.before $$p.after; exit 1; }; \
	  eu-elflint --gnu-ld --quiet $$p.rw > $$p.elflint 2>&1 || { eu-elflint --gnu-ld --quiet $$p > $$p.elflint.orig 2>&1 || true; \
	    cmp -s $$p.elflint $$p.elflint.orig || { echo "check-unwind: $$v: eu-elflint objects to the output"; cat $$p.elflint; exit 1; }; }; \
	  $(B)/tools/lief_check $$p.rw --loaded .callirw.text --loaded .callirw.map --loaded .eh_frame_hdr > /dev/null; \
	  strip -o $$p.rw.stripped $$p.rw; $$p.rw.stripped > $$p.stripped; \
	  cmp -s $$p.before $$p.stripped || { echo "check-unwind: $$v: differs after strip"; exit 1; }; \
	  echo "check-unwind: $$v ok (walks identical through stubs; elflint, LIEF, strip ok)"; \
	done
CHECK_TARGETS += check-unwind

# check-unwind-aarch64: the same main.c with the arm64 site forms
# (sites_a64.S: framed `bl helper`, framed `blr x16` through the GOT, a tail
# `b helper` from a frameless site), built with aarch64-linux-gnu-gcc, PIE and
# non-PIE, and run under qemu-aarch64. The walks must be exactly
# tests/unwind/expected.txt before the rewrite, and identical after it and
# after aarch64-linux-gnu-strip. a64-gcc-pie-bti is built like the BTI seeds
# (docs/generator.md: -mbranch-protection=standard, the BTI runtime and start
# files, -z force-bti): its stubs start with bti c and run in guarded pages
# under a BTI-enforcing qemu, and the walk crosses PAC-signed return addresses.
UW_A64_VARIANTS := a64-gcc-pie a64-gcc-nopie a64-gcc-pie-bti
UW_A64_RUN := $(QEMU_A64) -L $(QEMU_A64_ROOT)
UW_CC_a64-gcc-pie := $(A64_CC) -pie -fPIE
UW_CC_a64-gcc-nopie := $(A64_CC) -no-pie
UW_CC_a64-gcc-pie-bti := $(A64_CC) -pie -fPIE -mbranch-protection=standard -nostartfiles -Wl,-z,force-bti \
                         $(GEN_BTI_CRT)/Scrt1.o $(GEN_BTI_CRT)/crti.o
UW_LIBS_a64-gcc-pie := $(B)/aarch64-linux/libcalli_runtime.a
UW_LIBS_a64-gcc-nopie := $(B)/aarch64-linux/libcalli_runtime.a
UW_LIBS_a64-gcc-pie-bti := $(GEN_RT_BTI) $(GEN_BTI_CRT)/crtn.o

# (ld warns that the BTI variant's start files carry no BTI note: quiet unless it fails)
$(UW)/a64-%: tests/unwind/main.c tests/unwind/sites_a64.S $(B)/aarch64-linux/libcalli_runtime.a $(GEN_RT_BTI) \
             $(GEN_BTI_CRT)/Scrt1.o
	@mkdir -p $(@D)
	$(UW_CC_a64-$*) -O1 -g -fasynchronous-unwind-tables -Iruntime/include tests/unwind/main.c tests/unwind/sites_a64.S \
	    $(UW_LIBS_a64-$*) -o $@ 2> $@.log || { cat $@.log; exit 1; }

.PHONY: check-unwind-aarch64
check-unwind-aarch64: $(patsubst %,$(UW)/%,$(UW_A64_VARIANTS)) $(B)/asan/callirw $(B)/tools/lief_check
	@set -e; for v in $(UW_A64_VARIANTS); do \
	  p=$(UW)/$$v; \
	  $(UW_A64_RUN) $$p > $$p.before || { echo "check-unwind-aarch64: $$v exits $$? before the rewrite"; exit 1; }; \
	  cmp -s $$p.before tests/unwind/expected.txt || { echo "check-unwind-aarch64: $$v: the helper's walks are wrong"; \
	    diff tests/unwind/expected.txt $$p.before; exit 1; }; \
	  $(B)/asan/callirw rewrite $$p -o $$p.rw > /dev/null; \
	  $(UW_A64_RUN) $$p.rw > $$p.after || { echo "check-unwind-aarch64: $$v exits $$? after the rewrite"; exit 1; }; \
	  cmp -s $$p.before $$p.after || { echo "check-unwind-aarch64: $$v: walks differ after the rewrite"; diff $$p.before $$p.after; exit 1; }; \
	  eu-elflint --gnu-ld --quiet $$p.rw > $$p.elflint 2>&1 || { eu-elflint --gnu-ld --quiet $$p > $$p.elflint.orig 2>&1 || true; \
	    cmp -s $$p.elflint $$p.elflint.orig || { echo "check-unwind-aarch64: $$v: eu-elflint objects to the output"; cat $$p.elflint; exit 1; }; }; \
	  $(B)/tools/lief_check $$p.rw --loaded .callirw.text --loaded .callirw.map --loaded .eh_frame_hdr > /dev/null; \
	  $(A64_STRIP) -o $$p.rw.stripped $$p.rw; $(UW_A64_RUN) $$p.rw.stripped > $$p.stripped || true; \
	  cmp -s $$p.before $$p.stripped || { echo "check-unwind-aarch64: $$v: differs after strip"; exit 1; }; \
	  echo "check-unwind-aarch64: $$v ok (walks identical through stubs; elflint, LIEF, strip ok)"; \
	done
CHECK_TARGETS += check-unwind-aarch64

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

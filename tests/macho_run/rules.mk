# tests/macho_run/: the Unicorn harness that runs freestanding Mach-O
# programs (docs/harness.md), and its self-test.
#
#   $(B)/tests/macho_run/machorun   the harness (host tool, -lunicorn)
#   check-macho-run                 the harness proves itself: tiny programs
#                                   (tests/macho_run/selftest.sh) that must
#                                   pass, and broken ones that must fail
#   check-rewrite-macho             the Mach-O proof (in make check; it subsumes
#                                   check-gen-macho): tests/gen/run.sh --mode all
#                                   for both targets, MACHO_SEEDS seeds each, with
#                                   --post-build tests/rewrite/hook_macho.sh: per
#                                   seed one program linked as an executable, a
#                                   dylib with the sites and an executable importing
#                                   the helper from the runtime dylib; originals,
#                                   rewrites and relinks of the rewritten sites.o
#                                   all run; the signed rewrites verified by
#                                   tests/macho_sign/csverify.py once per target

MACHORUN := $(B)/tests/macho_run/machorun

$(MACHORUN): tests/macho_run/machorun.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g $(WARN) $< -o $@ -lunicorn

.PHONY: check-macho-run
check-macho-run: $(MACHORUN) $(GEN_BIN) $(B)/x86_64-macos/libcalli_runtime.a $(B)/arm64-macos/libcalli_runtime.a
	@tests/macho_run/selftest.sh $(MACHORUN) $(B)/tests/macho_run/self

MACHO_SEEDS ?= 200
REWRITE_MACHO_SEEDS ?= $(MACHO_SEEDS)
MACHO_RW := $(B)/tests/rewrite
.PHONY: check-rewrite-macho
check-rewrite-macho: $(GEN_BIN) $(MACHORUN) $(B)/x86_64-macos/libcalli_runtime.a $(B)/arm64-macos/libcalli_runtime.a \
                     $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	@mkdir -p $(MACHO_RW); rm -f $(MACHO_RW)/log.txt.macho
	@set -e; for t in x86_64-macos arm64-macos; do \
	  sig=$(abspath $(MACHO_RW))/macho-sig-$$t; rm -rf $$sig; mkdir -p $$sig; \
	  REWRITE_LOG=$(abspath $(MACHO_RW))/log.txt.macho REWRITE_SIG_DIR=$$sig \
	    $(GEN_RUN) --no-build-gen --target $$t --mode all --count $(REWRITE_MACHO_SEEDS) \
	    --work $(B)/gen/work/$$t-all-rw --post-build $(abspath tests/rewrite/hook_macho.sh); \
	  n=$$(ls $$sig | wc -l); \
	  if [ $$n -gt 0 ]; then python3 tests/macho_sign/csverify.py --require-signed $$sig/* > $$sig.log 2>&1 || \
	    { grep -v ': ok' $$sig.log | head -5; echo "check-rewrite-macho: $$t: a re-signed image does not verify (see $$sig.log)"; exit 1; }; fi; \
	  echo "check-rewrite-macho: $$t: $$n re-signed images verified by csverify.py"; \
	  rm -rf $$sig; done
	@echo "check-rewrite-macho: per target and mode, what ran and what was rewritten (image = the linked image, object = sites.o before the link, relinked; signature = re-signed and verified):"
	@awk '{ print "  " $$2 " " $$3 " " $$4 " " $$5 }' $(MACHO_RW)/log.txt.macho | sort | uniq -c

ALL_TARGETS += $(MACHORUN)
CHECK_TARGETS += check-macho-run check-rewrite-macho

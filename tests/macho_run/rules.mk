# tests/macho_run/: the Unicorn harness that runs freestanding Mach-O
# programs (docs/harness.md), and its self-test.
#
#   $(B)/tests/macho_run/machorun   the harness (host tool, -lunicorn)
#   check-macho-run                 the harness proves itself: tiny programs
#                                   (tests/macho_run/selftest.sh) that must
#                                   pass, and broken ones that must fail
#   check-rewrite-macho             the Mach-O rewrite proof: tests/gen/run.sh for
#                                   both targets and every linked mode with
#                                   --post-build tests/rewrite/hook_macho.sh
#                                   (REWRITE_MACHO_SEEDS per mode); not in
#                                   CHECK_TARGETS until the Mach-O writers land

MACHORUN := $(B)/tests/macho_run/machorun

$(MACHORUN): tests/macho_run/machorun.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g $(WARN) $< -o $@ -lunicorn

.PHONY: check-macho-run
check-macho-run: $(MACHORUN) $(GEN_BIN) $(B)/x86_64-macos/libcalli_runtime.a $(B)/arm64-macos/libcalli_runtime.a
	@tests/macho_run/selftest.sh $(MACHORUN) $(B)/tests/macho_run/self

REWRITE_MACHO_SEEDS ?= $(GEN_MACHO_RUN_SEEDS)
.PHONY: check-rewrite-macho
check-rewrite-macho: $(GEN_BIN) $(MACHORUN) $(B)/x86_64-macos/libcalli_runtime.a $(B)/arm64-macos/libcalli_runtime.a \
                     $(B)/asan/callirw $(B)/tools/lief_check
	@mkdir -p $(B)/tests/rewrite; rm -f $(B)/tests/rewrite/log.txt.macho
	@set -e; for t in x86_64-macos arm64-macos; do for m in $(GEN_MACHO_MODES); do \
	  REWRITE_LOG=$(abspath $(B))/tests/rewrite/log.txt.macho $(GEN_RUN) --no-build-gen --target $$t --mode $$m \
	    --count $(REWRITE_MACHO_SEEDS) --work $(B)/gen/work/$$t-$$m-rw \
	    --post-build $(abspath tests/rewrite/hook_macho.sh); done; done
	@echo "check-rewrite-macho: per target and mode, what was rewritten (image = the linked image, object = sites.o before the link):"
	@awk '{ print "  " $$2 " " $$3 " " $$4 " " $$5 }' $(B)/tests/rewrite/log.txt.macho | sort | uniq -c

ALL_TARGETS += $(MACHORUN)
CHECK_TARGETS += check-macho-run

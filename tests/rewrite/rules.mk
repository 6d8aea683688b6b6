# tests/rewrite/: the rewriter proven by execution on generated programs.
# For every seed and each x86-64 ELF link mode (nopie: non-PIE, 30% of them
# -static; pie; shared-rt: the helper imported from a shared library through
# the PLT and the GOT; shared-sites: the sites in a shared library loaded by
# an executable), tests/gen/run.sh builds the program and runs it
# through the generic helper; tests/rewrite/hook.sh rewrites it (and its
# sites.o, relinking), checks the output with eu-elflint, LIEF and inspect,
# and run.sh runs the rewritten program: all must print expected.txt byte
# for byte. $(SEEDS) seeds per mode. This subsumes check-gen-x86_64-linux
# (every seed's original also runs), which is therefore not run twice.
# Cost (docs/generator.md, "make check's budget"): about 0.6 s of CPU per
# seed, a third of it compiling prog.c; every callirw run on a new input is
# the ASan build, the determinism rewrite (the same input again) the plain
# one (hence $(B)/callirw below). make check runs this and the other
# matrices in lane 1 of tools/check_run.sh.

REWRITE_MODES := nopie pie shared-rt shared-sites
REWRITE_LOG := $(B)/tests/rewrite/log.txt
# ~30% of nopie seeds link -static; they are rewritten like the others
# (docs/elf.md; counted as rewritten-static).

.PHONY: check-rewrite-x86_64-linux
check-rewrite-x86_64-linux: $(GEN_BIN) $(B)/x86_64-linux/libcalli_runtime.a $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	@mkdir -p $(dir $(REWRITE_LOG)); rm -f $(REWRITE_LOG)
	@set -e; for m in $(REWRITE_MODES); do \
	  REWRITE_LOG=$(abspath $(REWRITE_LOG)) $(GEN_RUN) --no-build-gen --target x86_64-linux --mode $$m \
	    --count $(SEEDS) --post-build $(abspath tests/rewrite/hook.sh); \
	done
	@echo "check-rewrite: per mode, what was rewritten (image = the linked program, object = sites.o before the link):"
	@awk '{ print "  " $$2 " " $$3 " " $$4 }' $(REWRITE_LOG) | sort | uniq -c

CHECK_TARGETS := $(filter-out check-gen-x86_64-linux,$(CHECK_TARGETS)) check-rewrite-x86_64-linux

.PHONY: check-rewrite-props
check-rewrite-props: $(B)/asan/callirw $(ELFT)/pie-import
	@tests/rewrite/props.sh $(B)
CHECK_TARGETS += check-rewrite-props

# The same for arm64 ELF, run under qemu-aarch64: modes nopie (30% -static),
# pie, shared-rt and shared-sites, as for x86-64. A third of the seeds in the
# dynamic modes are BTI seeds: compiled with -mbranch-protection=standard (BTI
# + PAC-ret) and linked into images marked BTI, whose stubs must start with
# bti c; the log marks their lines "bti". check-a64-bti-control first proves
# that this qemu enforces BTI (tests/rewrite/bti_control.sh), else the BTI
# seeds would prove nothing. Subsumes check-gen-aarch64-linux.
REWRITE_MODES_A64 := nopie pie shared-rt shared-sites

.PHONY: check-a64-bti-control
check-a64-bti-control:
	@tests/rewrite/bti_control.sh $(B)

.PHONY: check-rewrite-aarch64-linux
check-rewrite-aarch64-linux: check-a64-bti-control $(GEN_BIN) $(B)/aarch64-linux/libcalli_runtime.a $(GEN_RT_BTI) \
                             $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	@mkdir -p $(dir $(REWRITE_LOG)); rm -f $(REWRITE_LOG).a64
	@set -e; for m in $(REWRITE_MODES_A64); do \
	  n=$(SEEDS); \
	  REWRITE_LOG=$(abspath $(REWRITE_LOG)).a64 $(GEN_RUN) --no-build-gen --target aarch64-linux --mode $$m \
	    --count $$n --post-build $(abspath tests/rewrite/hook.sh); \
	done
	@echo "check-rewrite-aarch64: per mode, what was rewritten (bti: BTI seeds):"
	@awk '{ print "  " $$2 " " $$3 " " $$4 ($$5 ? " " $$5 : "") }' $(REWRITE_LOG).a64 | sort | uniq -c
CHECK_TARGETS := $(filter-out check-gen-aarch64-linux,$(CHECK_TARGETS)) check-a64-bti-control check-rewrite-aarch64-linux

# The same for PE (x86_64-windows), run under wine: modes exe, exe-lowbase,
# dll-sites (the sites in prog.dll, loaded by a launcher) and dll-rt (the
# helper imported from calli_runtime.dll: call [rip+__imp_H] and call H
# through the import thunk); a third of the seeds of every mode built with
# clang + lld instead of mingw gcc + GNU ld (docs/generator.md). The hook is
# tests/rewrite/hook_pe.sh; the log build/tests/rewrite/log.txt.pe ends each
# line with the seed's toolchain. Subsumes check-gen-x86_64-windows.
# Wine runs and links are the cost: every seed is built, run, rewritten and
# run again, but only every HOOK_PE_DEEP-th seed (4) gets the deep checks
# (readobj --all, LIEF, determinism, strip + run, the object rewritten and
# relinked; hook_pe.sh). PE_SEEDS ($(SEEDS)) seeds per mode in make check;
# check-rewrite-x86_64-windows-long gives every one of PE_SEEDS_LONG (200)
# seeds the deep checks.
REWRITE_MODES_PE := exe exe-lowbase dll-sites dll-rt
PE_SEEDS ?= $(SEEDS)
# one job more than cores: a seed's wine runs wait on the wineserver (measured:
# 9% faster on 2 cores; no gain for the ELF matrices)
PE_JOBS ?= $(shell echo $$(($(JOBS) + 1)))
PE_SEEDS_LONG ?= 200

define REWRITE_PE_RUN
	@mkdir -p $(dir $(REWRITE_LOG)); rm -f $(REWRITE_LOG).pe
	@rc=0; for m in $(REWRITE_MODES_PE); do \
	  REWRITE_LOG=$(abspath $(REWRITE_LOG)).pe $(GEN_RUN) -j $(PE_JOBS) --no-build-gen --target x86_64-windows --mode $$m \
	    --work $(abspath $(B))/gen/work/x86_64-windows-$$m \
	    --count $(1) --post-build $(abspath tests/rewrite/hook_pe.sh) || rc=1; \
	done; \
	echo "check-rewrite-x86_64-windows: per mode, what was rewritten (last field: toolchain):"; \
	awk '{ $$1 = ""; print " " $$0 }' $(REWRITE_LOG).pe 2>/dev/null | sort | uniq -c; \
	exit $$rc
endef

.PHONY: check-rewrite-x86_64-windows check-rewrite-x86_64-windows-long
check-rewrite-x86_64-windows: $(GEN_BIN) $(B)/x86_64-windows/libcalli_runtime.a $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	$(call REWRITE_PE_RUN,$(PE_SEEDS))
check-rewrite-x86_64-windows-long: export HOOK_PE_DEEP := 1
check-rewrite-x86_64-windows-long: $(GEN_BIN) $(B)/x86_64-windows/libcalli_runtime.a $(B)/asan/callirw $(B)/callirw $(B)/tools/lief_check
	$(call REWRITE_PE_RUN,$(PE_SEEDS_LONG))

CHECK_TARGETS := $(filter-out check-gen-x86_64-windows,$(CHECK_TARGETS)) check-rewrite-x86_64-windows

# check-unwind-win (stack walks through stubs on Win64) lives in
# tests/unwind_win/rules.mk; included from here until the top-level Makefile
# includes it itself.
include tests/unwind_win/rules.mk

# callirw - post-link rewriter of unmanaged calli sites. See README.md.
#
#   make          build/callirw and the runtime libraries
#   make deps     install the Debian packages everything here needs (idempotent)
#   make check    deps + build + every test (unit, ASan/UBSan, generated programs)
#   make demo     deps + build + the examples, run through the generic helper
#   make bench    call cost and rewrite cost against real peers -> docs/bench.md
#   make fuzz     libFuzzer on every reader and the rewrite path (FUZZ_SECONDS each)
#   make corpus   scan and dry-run rewrite of every real binary on the machine (~3,600)
#
# Each component keeps its rules in its own rules.mk, included below.

.DEFAULT_GOAL := all
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:

B := build
SEEDS ?= 200
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

CC := gcc
CLANG := clang
MINGW_CC := x86_64-w64-mingw32-gcc
A64_CC := aarch64-linux-gnu-gcc
AR := ar
MINGW_AR := x86_64-w64-mingw32-ar
A64_AR := aarch64-linux-gnu-ar

WARN := -Wall -Wextra -Werror
# Host tools (the CLI, unit tests).
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Isig -Iruntime/include -Irewriter -Iformats -Istubs
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Freestanding runtime code (all targets).
RT_CFLAGS := -std=c11 -O2 -g $(WARN) -ffreestanding -fno-builtin -fno-stack-protector \
             -fno-tree-loop-distribute-patterns -fno-strict-aliasing -Isig -Iruntime/include

ALL_TARGETS :=
CHECK_TARGETS :=

include sig/rules.mk
include runtime/rules.mk
include tests/stub_a64/rules.mk
include tests/stub_win/rules.mk
include rewriter/rules.mk
include tests/unit/rules.mk
include tests/pe/rules.mk
include tests/r2r/rules.mk
include tests/gen/rules.mk
include examples/rules.mk
include tests/tools/rules.mk
include tests/elf/rules.mk
include tests/elf_a64/rules.mk
include tests/unwind/rules.mk
include tests/rewrite/rules.mk
include tests/far/rules.mk
# Mach-O (issue 6): one directory per part, each with its own rules.mk
include $(sort $(wildcard tests/macho_*/rules.mk))
# Issue 7: measurements (bench/), fuzzing (tests/fuzz/), real binaries (tests/corpus/)
include $(sort $(wildcard tests/fuzz/rules.mk tests/corpus/rules.mk tests/bigio/rules.mk))
include bench/rules.mk

# The Mach-O rewrite matrix (check-rewrite-macho) builds, checks and runs
# every seed of check-gen-macho (same first seed, same modes, at least as
# many seeds) before its hook rewrites it, as the ELF and PE rewrite matrices
# do for their check-gen-* groups: once it is in make check, check-gen-macho
# would be the same work twice (docs/generator.md, "Timings").
ifneq ($(filter check-rewrite-macho,$(CHECK_TARGETS)),)
ifeq ($(shell [ "$(REWRITE_MACHO_SEEDS)" -ge "$(GEN_MACHO_RUN_SEEDS)" ] 2>/dev/null && echo y),y)
CHECK_TARGETS := $(filter-out check-gen-macho,$(CHECK_TARGETS))
endif
endif

.PHONY: all deps check demo clean
all: $(ALL_TARGETS)

deps:
	@tools/deps.sh

# check: every test; each CHECK_TARGETS entry is a phony target that fails on
# any failure. deps first, then a build, then the tests in order.
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory check-run

# check-run: the groups in two lanes side by side (tools/check_run.sh), so
# that the single-threaded groups use the core the other lane leaves idle;
# the same groups and checks as one after the other (CHECK_LANES=1 runs them
# so). Lane 1: the generated-program matrices (each already uses $(JOBS)
# jobs) and every group that shares their files or the generated programs'
# wine prefix (build/gen/wineprefix, whose users do not all take its lock),
# and the groups that build the same test programs as one of those
# (check-unit: test_pe_write_obj for check-pe-obj; check-r2r: pe_dump for
# check-pe); lane 2: the rest, in CHECK_TARGETS order. Files both lanes need
# are built before by `make all`. A group that shares files that are not in
# ALL_TARGETS with a group of the other lane must join that lane
# (docs/generator.md, "make check's budget").
CHECK_LANES ?= 2
CHECK_LANE1_GROUPS := check-unit check-pe check-pe-wine check-pe-write check-pe-obj check-r2r check-gen-macho \
  check-rewrite-x86_64-linux check-a64-bti-control check-rewrite-aarch64-linux \
  check-rewrite-x86_64-windows check-unwind-win check-rewrite-macho check-gen-x86_64-linux \
  check-gen-aarch64-linux check-gen-x86_64-windows
.PHONY: check-run
ifeq ($(CHECK_LANES),1)
check-run:
	@set -e; t0=$$(date +%s); for t in $(CHECK_TARGETS); do \
	  s=$$(date +%s); $(MAKE) --no-print-directory $$t; \
	  echo "check: $$t passed in $$(( $$(date +%s) - s )) s"; \
	done; \
	echo "check: all test groups passed in $$(( $$(date +%s) - t0 )) s ($(words $(CHECK_TARGETS)) groups: $(CHECK_TARGETS))"
else
check-run:
	@MAKE="$(MAKE)" tools/check_run.sh $(B)/check-logs "$(filter $(CHECK_LANE1_GROUPS),$(CHECK_TARGETS))" \
	  "$(filter-out $(CHECK_LANE1_GROUPS),$(CHECK_TARGETS))"
endif

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory demo-run

clean:
	rm -rf $(B)

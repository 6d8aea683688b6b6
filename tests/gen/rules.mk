# tests/gen/: the call-site generator (the "producer") and the generated-program
# tests. See docs/generator.md.
#
#   $(B)/gen/callirw-gen        the generator (host tool)
#   make check-gen-x86_64-linux     $(SEEDS) seeds, modes nopie/pie/shared-rt (mixed by seed)
#   make check-gen-x86_64-windows   $(SEEDS) seeds per mode, modes exe/exe-lowbase/dll-sites/dll-rt, under wine
#                                   (make check runs them through check-rewrite-x86_64-windows instead)
#   make check-gen-aarch64-linux    $(SEEDS) seeds, modes nopie/pie/shared-rt/shared-sites, under qemu-aarch64
#   make check-gen-macho-objects    GEN_MACHO_SEEDS seeds per Mach-O target, objects + relocations
#   make check-gen-macho            GEN_MACHO_RUN_SEEDS seeds per Mach-O target and linked mode
#                                   (exe, dylib-sites, dylib-rt), run under the Unicorn
#                                   harness (tests/macho_run/); relocations checked too
#                                   (make check runs check-rewrite-macho instead: mode all,
#                                   the three linked modes from one program, originals and
#                                   rewrites; tests/macho_run/rules.mk)
#
# GEN_SEED0 is the first seed (default 1); GEN_ARGS adds options to run.sh
# (e.g. GEN_ARGS='--keep build/gen/keep' or GEN_ARGS='--post-build "..."').

GEN_BIN := $(B)/gen/callirw-gen
GEN_SEED0 ?= 1
GEN_MACHO_SEEDS ?= 40
# per target and linked mode (6 batches): ~0.6 s of CPU per seed, most of it
# clang on prog.c (docs/generator.md, Timings)
GEN_MACHO_RUN_SEEDS ?= 20
GEN_ARGS ?=
GEN_RUN := tests/gen/run.sh --gen $(GEN_BIN) --first $(GEN_SEED0) -j $(JOBS) $(GEN_ARGS)

$(GEN_BIN): tests/gen/gen.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g $(WARN) $< -o $@

ALL_TARGETS += $(GEN_BIN)

# The arm64 runtime compiled with -mbranch-protection=standard, for the BTI
# seeds (docs/generator.md): a copy of the interface library (which is built
# the same way since the BTI seeds showed it must be: the reference runtime's
# callbacks are reached by blr, which a BTI-enforcing CPU rejects on a
# guarded page without landing pads), kept apart so that CALLI_RT_LIB can
# replace the plain one without touching the BTI seeds.
GEN_RT_BTI := $(B)/gen/aarch64-linux-bti/libcalli_runtime.a
$(eval $(call RT_LIB,gen/aarch64-linux-bti,$(A64_CC),$(A64_AR),runtime/helper_aarch64.S,$(RT_HOST_POSIX),-fPIC $(RT_UNWIND) -mbranch-protection=standard))
# and arm64 start files with BTI landing pads (tests/gen/bti_crt.py says why)
GEN_BTI_CRT := $(B)/gen/aarch64-linux-bti/crt
$(GEN_BTI_CRT)/Scrt1.o: tests/gen/bti_crt.py
	python3 $< $(@D)

.PHONY: check-gen-x86_64-linux check-gen-x86_64-windows check-gen-aarch64-linux check-gen-macho-objects
check-gen-x86_64-linux: $(GEN_BIN) $(B)/x86_64-linux/libcalli_runtime.a
	@$(GEN_RUN) --target x86_64-linux --mode mixed --count $(SEEDS)
check-gen-x86_64-windows: $(GEN_BIN) $(B)/x86_64-windows/libcalli_runtime.a
	@set -e; for m in exe exe-lowbase dll-sites dll-rt; do \
	  $(GEN_RUN) --no-build-gen --target x86_64-windows --mode $$m --count $(SEEDS); done
check-gen-aarch64-linux: $(GEN_BIN) $(B)/aarch64-linux/libcalli_runtime.a $(GEN_RT_BTI)
	@$(GEN_RUN) --target aarch64-linux --mode mixed --count $(SEEDS)
check-gen-macho-objects: $(GEN_BIN)
	@$(GEN_RUN) --target x86_64-macos --count $(GEN_MACHO_SEEDS)
	@$(GEN_RUN) --target arm64-macos --count $(GEN_MACHO_SEEDS)

# The linked Mach-O modes run under the harness (tests/macho_run/rules.mk:
# MACHORUN); each mode in its own work directory. Mode obj's compile and
# relocation checks are part of every linked seed, so this subsumes
# check-gen-macho-objects in make check.
GEN_MACHO_MODES := exe dylib-sites dylib-rt
.PHONY: check-gen-macho
check-gen-macho: $(GEN_BIN) $(B)/tests/macho_run/machorun $(B)/x86_64-macos/libcalli_runtime.a $(B)/arm64-macos/libcalli_runtime.a
	@set -e; for t in x86_64-macos arm64-macos; do for m in $(GEN_MACHO_MODES); do \
	  $(GEN_RUN) --no-build-gen --target $$t --mode $$m --count $(GEN_MACHO_RUN_SEEDS) \
	    --work $(B)/gen/work/$$t-$$m; done; done

# Mach-O: check-rewrite-macho (tests/macho_run/rules.mk) runs every original
# of check-gen-macho's modes (mode all) and their rewrites
CHECK_TARGETS += check-gen-x86_64-linux check-gen-x86_64-windows check-gen-aarch64-linux

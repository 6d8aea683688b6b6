# tests/elf_a64/: hand-written AArch64 programs with helper call sites in
# every form (sites_pic.S, sites_abs.S), sites that must be left alone
# (neg.S), object-only forms (objonly.S), lazy-PLT-only sites (plt_only.S)
# and sites reaching a far helper through linker veneers (far.S), built with
# aarch64-linux-gnu-gcc (GNU ld) and clang/lld as objects, non-PIE and PIE
# executables with the helper linked in, PIEs importing it from a shared
# library through the PLT (lazy, BTI, PAC), a shared library holding sites
# (plain and BTI), and stripped copies of every linked one.
#
#   check-elf-a64       `callirw scan --json` (ASan build) on each must match
#                       tests/elf_a64/expect/NAME.txt (check.sh; needs jq),
#                       and every executable runs under qemu-aarch64 and exits
#                       0 (main calls its sites through the helper and checks
#                       the results)
#   check-elf-a64-fuzz  code-word mutants (fuzz_a64), header mutants
#                       (tests/elf/fuzz_elf) and command-line mutants
#                       (tests/elf/mutate.sh) of these and of system arm64
#                       libraries: never a crash, a sanitizer report or an
#                       out-of-bounds site
#
# The helper comes from the runtime library when it is built
# ($(B)/aarch64-linux/libcalli_runtime.a), else from tests/elf_a64/helper.S.
# The scan results do not depend on which.

ELFA := $(B)/tests/elf_a64
ELFA_RT := $(wildcard $(B)/aarch64-linux/libcalli_runtime.a)
ELFA_HELPER := $(if $(ELFA_RT),$(ELFA_RT),$(ELFA)/helper.o)
A64_STRIP := aarch64-linux-gnu-strip
A64_CLANG := $(CLANG) --target=aarch64-linux-gnu -fuse-ld=lld
QEMU_A64 ?= qemu-aarch64
QEMU_A64_ROOT ?= /usr/aarch64-linux-gnu

ELFA_EXES := exe pie pie-import pie-bti pie-lld pie-lld-import plt-lazy plt-bti plt-pac \
             plt-lld-bti exe-veneer exe-veneer-abs pie-veneer
ELFA_LINKED := $(ELFA_EXES) libsites.so libsites-bti.so
ELFA_OBJS := sites_pic.o sites_abs.o neg.o objonly.o plt_only.o far.o
ELFA_NAMES := $(ELFA_OBJS) $(ELFA_LINKED) $(patsubst %,%-stripped,$(ELFA_LINKED))
ELFA_BINS := $(addprefix $(ELFA)/,$(ELFA_NAMES))
ELFA_SRC_DEPS := tests/elf_a64/calli.inc

$(ELFA)/%.o: tests/elf_a64/%.S $(ELFA_SRC_DEPS)
	@mkdir -p $(@D)
	$(A64_CC) -c -Itests/elf_a64 $< -o $@
# the same objects marked BTI + PAC compatible (a GNU property note)
$(ELFA)/bti/%.o: tests/elf_a64/%.S $(ELFA_SRC_DEPS)
	@mkdir -p $(@D)
	$(A64_CC) -c -DBTI_NOTE -Itests/elf_a64 $< -o $@

$(ELFA)/libhelper.so: $(ELFA_HELPER)
	$(A64_CC) -shared -o $@ -Wl,--whole-archive $< -Wl,--no-whole-archive

ELFA_IMPORT := -L$(ELFA) -lhelper -Wl,-rpath,'$$ORIGIN'
ELFA_PIE_OBJS := $(addprefix $(ELFA)/,main.o sites_pic.o neg.o)
ELFA_BTI_OBJS := $(addprefix $(ELFA)/bti/,main.o sites_pic.o neg.o)
# GNU ld and lld warn that the C runtime's start files lack the BTI note
# (-z force-bti marks the output anyway): keep their output unless they fail.
ELFA_QUIET = 2> $@.log || { cat $@.log; exit 1; }

$(ELFA)/exe: $(addprefix $(ELFA)/,main.o sites_pic.o sites_abs.o neg.o) $(ELFA_HELPER)
	$(A64_CC) -no-pie -o $@ $^
$(ELFA)/pie: $(ELFA_PIE_OBJS) $(ELFA_HELPER)
	$(A64_CC) -pie -o $@ $^
$(ELFA)/pie-import: $(ELFA_PIE_OBJS) $(ELFA)/libhelper.so
	$(A64_CC) -pie -o $@ $(ELFA_PIE_OBJS) $(ELFA_IMPORT)
$(ELFA)/pie-bti: $(ELFA_BTI_OBJS) $(ELFA)/libhelper.so
	$(A64_CC) -pie -Wl,-z,force-bti -o $@ $(ELFA_BTI_OBJS) $(ELFA_IMPORT) $(ELFA_QUIET)
# lld relaxes adrp + add into nop + adr, and GOT loads of symbols it can
# resolve into adrp + add
$(ELFA)/pie-lld: $(ELFA_PIE_OBJS) $(ELFA_HELPER)
	$(A64_CLANG) -pie -o $@ $^
$(ELFA)/pie-lld-import: $(ELFA_PIE_OBJS) $(ELFA)/libhelper.so
	$(A64_CLANG) -pie -o $@ $(ELFA_PIE_OBJS) $(ELFA_IMPORT)
$(ELFA)/plt-lazy: $(ELFA)/plt_only.o $(ELFA)/libhelper.so
	$(A64_CC) -pie -o $@ $< $(ELFA_IMPORT)
$(ELFA)/plt-bti: $(ELFA)/bti/plt_only.o $(ELFA)/libhelper.so
	$(A64_CC) -pie -Wl,-z,force-bti -o $@ $< $(ELFA_IMPORT) $(ELFA_QUIET)
$(ELFA)/plt-pac: $(ELFA)/bti/plt_only.o $(ELFA)/libhelper.so
	$(A64_CC) -pie -Wl,-z,force-bti -Wl,-z,pac-plt -o $@ $< $(ELFA_IMPORT) $(ELFA_QUIET)
$(ELFA)/plt-lld-bti: $(ELFA)/bti/plt_only.o $(ELFA)/libhelper.so
	$(A64_CLANG) -pie -Wl,-z,force-bti -o $@ $< $(ELFA_IMPORT) $(ELFA_QUIET)
# far.S's helper 512 MiB away: GNU ld's adrp veneer; 8 GiB away: its long
# (ldr + adr + add) veneer, in a non-PIE and a PIE
$(ELFA)/exe-veneer: $(ELFA)/far.o
	$(A64_CC) -no-pie -o $@ $< -Wl,--section-start=.farhelper=0x20000000
$(ELFA)/exe-veneer-abs: $(ELFA)/far.o
	$(A64_CC) -no-pie -o $@ $< -Wl,--section-start=.farhelper=0x200000000
$(ELFA)/pie-veneer: $(ELFA)/far.o
	$(A64_CC) -pie -o $@ $< -Wl,--section-start=.farhelper=0x200000000
$(ELFA)/libsites.so: $(addprefix $(ELFA)/,sites_pic.o neg.o)
	$(A64_CC) -shared -o $@ $^
$(ELFA)/libsites-bti.so: $(addprefix $(ELFA)/bti/,sites_pic.o neg.o)
	$(A64_CC) -shared -Wl,-z,force-bti -o $@ $^ $(ELFA_QUIET)
$(ELFA)/%-stripped: $(ELFA)/%
	$(A64_STRIP) -o $@ $<

$(ELFA)/fuzz_a64: tests/elf_a64/fuzz_a64.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

.PHONY: check-elf-a64 check-elf-a64-fuzz
check-elf-a64: $(ELFA_BINS) $(B)/asan/callirw
	@tests/elf_a64/check.sh $(B) $(ELFA_NAMES)
	@tests/elf_a64/run.sh $(B) "$(QEMU_A64)" $(QEMU_A64_ROOT) \
	    $(ELFA_EXES) $(patsubst %,%-stripped,$(ELFA_EXES))

ELFA_SYS := $(wildcard $(QEMU_A64_ROOT)/lib/libdl.so.2 $(QEMU_A64_ROOT)/lib/libresolv.so.2 \
                       $(QEMU_A64_ROOT)/lib/crt1.o)
# system libraries with calls of memcpy, which fuzz_a64 takes for the helper
ELFA_SYS_CALLS := $(wildcard $(QEMU_A64_ROOT)/lib/libresolv.so.2 \
                             $(QEMU_A64_ROOT)/lib/libnss_compat.so.2 \
                             $(QEMU_A64_ROOT)/lib/libatomic.so.1.2.0)
ELFA_FUZZ := $(addprefix $(ELFA)/,sites_pic.o neg.o objonly.o exe pie-import libsites.so \
                                  pie-lld exe-veneer pie-veneer plt-pac pie-bti-stripped)
# copies per input (ELFA_FUZZ_N=5000 for a longer run; make check's budget
# keeps it at 1200)
ELFA_FUZZ_N ?= 1200
check-elf-a64-fuzz: $(ELFA)/fuzz_a64 $(B)/tests/elf/fuzz_elf $(ELFA_BINS) $(B)/asan/callirw
	$(ELFA)/fuzz_a64 -n $(ELFA_FUZZ_N) $(ELFA_FUZZ)
	$(if $(ELFA_SYS_CALLS),$(ELFA)/fuzz_a64 -n 300 -h memcpy $(ELFA_SYS_CALLS))
	$(B)/tests/elf/fuzz_elf -n $(ELFA_FUZZ_N) $(ELFA_FUZZ) $(ELFA_SYS)
	@mkdir -p $(B)/tests/elf
	@tests/elf/mutate.sh $(B) $(ELFA)/pie-import $(ELFA)/neg.o $(ELFA)/exe-veneer

CHECK_TARGETS += check-elf-a64 check-elf-a64-fuzz

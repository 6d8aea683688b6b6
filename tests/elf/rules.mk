# tests/elf/: hand-written x86-64 programs with helper call sites in every
# form (sites_pic.S, sites_abs.S), sites that must be left alone (neg.S) and
# object-only forms (objonly.S), built as objects, executables (non-PIE,
# non-PIE --no-relax, PIE with the helper linked in, PIE importing it from a
# shared library with GNU ld, with GNU ld -z ibt and with lld; a lazy PLT
# with and without IBT), a shared library holding sites, and stripped copies
# of the linked ones.
#
#   check-elf       `callirw scan --json` (ASan build) on each must match
#                   tests/elf/expect/NAME.txt (tests/elf/check.sh; needs jq)
#   check-elf-fuzz  truncated and byte-flipped copies of these and of a few
#                   system binaries: open + scan under ASan/UBSan never crash
#
# The helper comes from the runtime library when it is built
# ($(B)/x86_64-linux/libcalli_runtime.a, as libhelper.so with
# --whole-archive), else from tests/elf/helper.S. The scan results do not
# depend on which.

ELFT := $(B)/tests/elf
ELFT_RT := $(wildcard $(B)/x86_64-linux/libcalli_runtime.a)
ELFT_LINKED := exe exe-norelax pie pie-import pie-ibt pie-lld libsites.so plt-lazy plt-ibt
ELFT_OBJS := sites_pic.o sites_abs.o neg.o objonly.o plt_only.o
ELFT_NAMES := $(ELFT_OBJS) $(ELFT_LINKED) $(patsubst %,%-stripped,$(ELFT_LINKED))
ELFT_BINS := $(addprefix $(ELFT)/,$(ELFT_NAMES))

$(ELFT)/%.o: tests/elf/%.S tests/elf/calli.inc
	@mkdir -p $(@D)
	$(CC) -c -Itests/elf $< -o $@

$(ELFT)/libhelper.so: $(if $(ELFT_RT),$(ELFT_RT),$(ELFT)/helper.o)
	$(CC) -shared -o $@ $(if $(ELFT_RT),-Wl$(,)--whole-archive $(ELFT_RT) -Wl$(,)--no-whole-archive,$(ELFT)/helper.o)

, := ,
ELFT_EXE_OBJS := $(addprefix $(ELFT)/,main.o sites_pic.o sites_abs.o neg.o helper.o)
ELFT_PIE_OBJS := $(addprefix $(ELFT)/,main.o sites_pic.o neg.o)

$(ELFT)/exe: $(ELFT_EXE_OBJS)
	$(CC) -no-pie -o $@ $^
$(ELFT)/exe-norelax: $(ELFT_EXE_OBJS)
	$(CC) -no-pie -Wl,--no-relax -o $@ $^
$(ELFT)/pie: $(ELFT_PIE_OBJS) $(ELFT)/helper.o
	$(CC) -pie -o $@ $^
$(ELFT)/pie-import: $(ELFT_PIE_OBJS) $(ELFT)/libhelper.so
	$(CC) -pie -o $@ $(ELFT_PIE_OBJS) -L$(ELFT) -lhelper -Wl,-rpath,'$$ORIGIN'
$(ELFT)/pie-ibt: $(ELFT_PIE_OBJS) $(ELFT)/libhelper.so
	$(CC) -pie -Wl,-z,ibt -o $@ $(ELFT_PIE_OBJS) -L$(ELFT) -lhelper -Wl,-rpath,'$$ORIGIN'
$(ELFT)/pie-lld: $(ELFT_PIE_OBJS) $(ELFT)/libhelper.so
	$(CLANG) -fuse-ld=lld -pie -o $@ $(ELFT_PIE_OBJS) -L$(ELFT) -lhelper -Wl,-rpath,'$$ORIGIN'
$(ELFT)/plt-lazy: $(ELFT)/plt_only.o $(ELFT)/libhelper.so
	$(CC) -pie -o $@ $< -L$(ELFT) -lhelper -Wl,-rpath,'$$ORIGIN'
$(ELFT)/plt-ibt: $(ELFT)/plt_only.o $(ELFT)/libhelper.so
	$(CC) -pie -Wl,-z,ibt -o $@ $< -L$(ELFT) -lhelper -Wl,-rpath,'$$ORIGIN'
$(ELFT)/libsites.so: $(addprefix $(ELFT)/,sites_pic.o neg.o)
	$(CC) -shared -o $@ $^
$(ELFT)/%-stripped: $(ELFT)/%
	strip -o $@ $<

$(ELFT)/fuzz_elf: tests/elf/fuzz_elf.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

.PHONY: check-elf check-elf-fuzz
check-elf: $(ELFT_BINS) $(B)/asan/callirw
	@tests/elf/check.sh $(B) $(ELFT_NAMES)

ELFT_FUZZ_SYS := $(wildcard /usr/bin/ls /usr/bin/true /usr/lib/x86_64-linux-gnu/libelf.so.1)
check-elf-fuzz: $(ELFT)/fuzz_elf $(ELFT_BINS) $(B)/asan/callirw
	$(ELFT)/fuzz_elf $(addprefix $(ELFT)/,sites_pic.o neg.o exe pie-import libsites.so pie-ibt-stripped) $(ELFT_FUZZ_SYS)
	@tests/elf/mutate.sh $(B) $(ELFT)/pie-import $(ELFT)/neg.o

CHECK_TARGETS += check-elf check-elf-fuzz

# tests/fuzz/: libFuzzer harnesses (docs/fuzz.md).
#
#   make fuzz            deps check, build the harnesses (clang,
#                        -fsanitize=fuzzer,address,undefined), build the seed
#                        corpora, run each harness FUZZ_SECONDS (default 300),
#                        FUZZ_JOBS at a time (default 1: one after the other),
#                        write $(B)/fuzz/results.md; non-zero when a harness
#                        found something (inputs in $(B)/fuzz/crashes/HARNESS/)
#   make fuzz-build      just the harnesses
#   make fuzz-seeds      just the seed corpora ($(B)/fuzz/seeds/HARNESS/)
#   check-fuzz-regress   (make check) every harness built with gcc and
#                        $(SAN_FLAGS) around a replay main, run on every file
#                        of tests/fuzz/regress/HARNESS/ and a few fixed seeds
#
# Harnesses: sig (signature decoder, layouts, stubs of every ABI), elf, pe
# (with ReadyToRun and describe), macho (thin and fat), rewrite (open, scan,
# plan, write to memory, reopen and rescan: any format).

FZ := $(B)/fuzz
FUZZ_HARNESSES := sig elf pe macho rewrite
FUZZ_SECONDS ?= 300
FUZZ_JOBS ?= 1
FUZZ_MAX_LEN ?= 65536
FUZZ_SEED_BUILD ?= $(B)
FUZZ_CLANG ?= clang-14
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -Isig -Iruntime/include -Irewriter -Iformats \
	-Istubs $(FUZZ_SAN)

# The library with clang, instrumented for libFuzzer (coverage), own objects
$(FZ)/obj/%.o: %.c $(CLI_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/libcallirw.a: $(patsubst %.c,$(FZ)/obj/%.o,$(CLI_LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FZ)/libcallirw.a
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ $(FZ)/libcallirw.a $(CLI_LDLIBS)

# The same harnesses with gcc and the project's sanitizers, no libFuzzer
$(FZ)/replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h tests/fuzz/replay_main.c \
		$(B)/asan/libcallirw.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< tests/fuzz/replay_main.c -o $@ \
	  $(B)/asan/libcallirw.a $(CLI_LDLIBS)

# Line coverage (make fuzz-cov): source-based coverage, no sanitizers, the
# replay main; each harness replays its corpus once (tests/fuzz/cov.sh)
FUZZ_COV_FLAGS := -std=c11 -D_GNU_SOURCE -O0 $(WARN) -Isig -Iruntime/include -Irewriter -Iformats \
	-Istubs -fprofile-instr-generate -fcoverage-mapping
$(FZ)/cov/obj/%.o: %.c $(CLI_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_COV_FLAGS) -c $< -o $@
$(FZ)/cov/libcallirw.a: $(patsubst %.c,$(FZ)/cov/obj/%.o,$(CLI_LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^
$(FZ)/cov/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h tests/fuzz/replay_main.c \
		$(FZ)/cov/libcallirw.a
	$(FUZZ_CLANG) $(FUZZ_COV_FLAGS) $< tests/fuzz/replay_main.c -o $@ $(FZ)/cov/libcallirw.a \
	  $(CLI_LDLIBS)

FUZZ_BINS := $(addprefix $(FZ)/fuzz_,$(FUZZ_HARNESSES))
FUZZ_COV_BINS := $(addprefix $(FZ)/cov/fuzz_,$(FUZZ_HARNESSES))
FUZZ_REPLAY := $(addprefix $(FZ)/replay/fuzz_,$(FUZZ_HARNESSES))

.PHONY: fuzz fuzz-deps fuzz-build fuzz-seeds fuzz-run fuzz-cov
# the coverage table is written whether or not the run found something; the
# exit status is the run's
fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory fuzz-deps
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build $(FUZZ_COV_BINS) $(B)/callirw
	@$(MAKE) --no-print-directory fuzz-seeds
	@rc=0; $(MAKE) --no-print-directory fuzz-run || rc=$$?; \
	  $(MAKE) --no-print-directory fuzz-cov || true; \
	  echo "fuzz: results in $(FZ)/results.md"; exit $$rc
# libFuzzer's runtime (libclang-rt-14-dev) and llvm-cov-14 are there
fuzz-deps:
	@mkdir -p $(FZ)
	@echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return !d + (int)n * 0; }' \
	  > $(FZ)/probe.c
	@$(FUZZ_CLANG) -fsanitize=fuzzer $(FZ)/probe.c -o $(FZ)/probe || \
	  { echo "fuzz: $(FUZZ_CLANG) cannot link a libFuzzer harness (libclang-rt-14-dev missing? make deps)" >&2; exit 2; }
	@command -v llvm-cov-14 >/dev/null && command -v llvm-profdata-14 >/dev/null || \
	  { echo "fuzz: llvm-cov-14 / llvm-profdata-14 missing (make deps)" >&2; exit 2; }
fuzz-build: $(FUZZ_BINS)
fuzz-cov: $(FUZZ_COV_BINS)
	tests/fuzz/cov.sh $(FZ) $(FUZZ_HARNESSES)
fuzz-seeds: $(B)/callirw
	@rm -rf $(FZ)/seeds
	python3 tests/fuzz/seeds.py $(FZ)/seeds $(FUZZ_SEED_BUILD) $(B)/callirw --max-size $(FUZZ_MAX_LEN)
fuzz-run: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FZ) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_MAX_LEN) $(FUZZ_HARNESSES)

# make check: every regression input, and a fixed sample of seeds that makes
# each harness run its whole path: tests/fuzz/seeds/FORMAT/ (small objects
# with sites, their rewritten outputs, a fat file; all of them for rewrite),
# the signatures of sig_seeds.txt, and files `make all` builds or the
# ReadyToRun corpus (never files of another group: the check lanes run in
# parallel)
FUZZ_CHECK_SEEDS_elf := $(wildcard tests/fuzz/seeds/elf/*) $(B)/examples/mathlib
FUZZ_CHECK_SEEDS_pe := $(wildcard tests/fuzz/seeds/pe/*) $(wildcard $(R2R_CORPUS)/ReadyToRunTest.dll)
FUZZ_CHECK_SEEDS_macho := $(wildcard tests/fuzz/seeds/macho/*)
FUZZ_CHECK_SEEDS_rewrite := $(wildcard tests/fuzz/seeds/*/*) $(B)/examples/mathlib
$(FZ)/check-seeds/sig: tests/fuzz/sig_seeds.txt
	@rm -rf $@ && mkdir -p $@
	python3 -c 'import sys; [open("$@/%02d" % i, "wb").write(bytes.fromhex(l)) for i, l in enumerate(l for l in (x.split("#")[0].strip() for x in open(sys.argv[1])) if l)]' $<

.PHONY: check-fuzz-regress
check-fuzz-regress: $(FUZZ_REPLAY) $(FZ)/check-seeds/sig $(B)/examples/mathlib
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  case $$h in sig) seeds="$$(ls -d $(FZ)/check-seeds/sig/*)";; elf) seeds="$(FUZZ_CHECK_SEEDS_elf)";; \
	    pe) seeds="$(FUZZ_CHECK_SEEDS_pe)";; macho) seeds="$(FUZZ_CHECK_SEEDS_macho)";; \
	    rewrite) seeds="$(FUZZ_CHECK_SEEDS_rewrite)";; esac; \
	  regress=$$(find tests/fuzz/regress/$$h -type f ! -name '*.md' 2>/dev/null | sort); \
	  echo "check-fuzz-regress: $$h: $$(echo $$regress | wc -w) regression input(s), $$(echo $$seeds | wc -w) seed(s)"; \
	  $(FZ)/replay/fuzz_$$h $$regress $$seeds; \
	done

ALL_TARGETS += $(FUZZ_REPLAY)
CHECK_TARGETS += check-fuzz-regress

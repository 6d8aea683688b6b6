# tests/stub_win/: the Microsoft x64 stub generator against the real Win64
# generic helper, under wine (docs/stubs.md section 9).
#
#   gen_stubs        host program (ASan/UBSan, Zydis): generates the stubs,
#                    checks each one statically, writes them as a blob, and
#                    writes the same stubs as functions with .seh_*
#                    directives plus the UNWIND_INFO stub_win64_unwind_info
#                    made for them
#   stub_win_test.exe  mingw program with the blob linked in (.incbin),
#                    build/x86_64-windows/libcalli_runtime.a (helper,
#                    dispatcher, reference runtime, sig/): the differential
#                    test and the unwinding test
#
# check-stub-win64: the assembler's .xdata for the .seh_* functions must be
# byte for byte what stub_win64_unwind_info wrote; then the program runs
# under wine and must end with "stub-win64: N passed, 0 failed".

STUB_WIN := $(B)/tests/stub_win
STUB_WIN_OUT := $(STUB_WIN)/stubs.bin $(STUB_WIN)/seh_stubs.S $(STUB_WIN)/seh_stubs.xdata
MINGW_OBJCOPY ?= x86_64-w64-mingw32-objcopy

# (rewriter/rules.mk, which defines CLI_HDRS, comes later: name the headers here)
$(STUB_WIN)/gen_stubs: tests/stub_win/gen_stubs.c $(B)/asan/libcallirw.a $(wildcard stubs/*.h) \
                       $(RT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

$(STUB_WIN_OUT) &: $(STUB_WIN)/gen_stubs
	$(STUB_WIN)/gen_stubs $(STUB_WIN_OUT)

$(STUB_WIN)/stub_win_test.exe: tests/stub_win/stub_win_test.c tests/stub_win/tramp_win.S \
                               tests/stub_win/harness.h $(STUB_WIN)/stubs.bin $(RT_HDRS) \
                               $(B)/x86_64-windows/libcalli_runtime.a
	@mkdir -p $(@D)
	$(MINGW_CC) -std=c11 -O2 -g $(WARN) -Isig -Iruntime/include -Itests/stub_win \
	    -DSTUBS_BIN='"$(STUB_WIN)/stubs.bin"' tests/stub_win/stub_win_test.c \
	    tests/stub_win/tramp_win.S $(B)/x86_64-windows/libcalli_runtime.a -o $@

.PHONY: check-stub-win64
check-stub-win64: $(STUB_WIN)/stub_win_test.exe $(STUB_WIN_OUT) $(WINEPREFIX_RT)/.created
	@$(MINGW_CC) -c $(STUB_WIN)/seh_stubs.S -o $(STUB_WIN)/seh_stubs.o && \
	  $(MINGW_OBJCOPY) --dump-section .xdata=$(STUB_WIN)/seh_stubs.as.xdata $(STUB_WIN)/seh_stubs.o && \
	  cmp $(STUB_WIN)/seh_stubs.as.xdata $(STUB_WIN)/seh_stubs.xdata || \
	  { echo "check-stub-win64: stub_win64_unwind_info differs from the assembler's .xdata" \
	         "for $(STUB_WIN)/seh_stubs.S"; exit 1; }
	@echo "check-stub-win64: UNWIND_INFO of $$(grep -c '^    .seh_proc' $(STUB_WIN)/seh_stubs.S)" \
	      "functions identical to the assembler's"
	@WINEPREFIX=$(WINEPREFIX_RT) WINEDEBUG=-all $(WINE) $(STUB_WIN)/stub_win_test.exe \
	    > $(STUB_WIN)/out.txt 2>&1; rc=$$?; \
	  test $$rc -eq 0 && tail -n 1 $(STUB_WIN)/out.txt | grep -q '^stub-win64: [0-9]* passed, 0 failed' && \
	  { tail -n 3 $(STUB_WIN)/out.txt; exit 0; }; \
	  grep -m 5 -E '^(FAIL|stub-win64: exception)' $(STUB_WIN)/out.txt | cut -c1-300; tail -n 1 $(STUB_WIN)/out.txt; \
	  echo "check-stub-win64: failed (exit $$rc; full output in $(STUB_WIN)/out.txt)"; exit 1

ALL_TARGETS += $(STUB_WIN)/gen_stubs $(STUB_WIN)/stub_win_test.exe
CHECK_TARGETS += check-stub-win64

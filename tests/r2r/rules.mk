# tests/r2r/: the ReadyToRun rewrite, proven by running a synthetic
# ReadyToRun program under wine (docs/r2r.md, "Proof").
#
#   r2r.exe      tests/r2r/r2r_main.c + r2r_sites.S + the real generic helper
#                (mingw); set_clr.py points data directory 14 at its CLI
#                header, whose ManagedNativeHeader is its READYTORUN_HEADER
#   r2r_apply    a test-only stand-in for the image writer around
#                pe_r2r_rewrite (stand-in stubs; sites not redirected)
#   check-r2r    tests/r2r/check.sh: the program's results, scan, the
#                rewritten copies run under wine with the same output, the
#                ReadyToRun tables of the copies against the original
#                (pe_dump --json), inspect, the corpus no-ops, and the real
#                `callirw rewrite` once the image writer handles PE images;
#                then test_pe_r2r_write (layouts, hostile inputs) under ASan

R2RT := $(B)/tests/r2r
R2R_WIN_RT := $(B)/x86_64-windows/libcalli_runtime.a

$(R2RT)/r2r.exe: tests/r2r/r2r_main.c tests/r2r/r2r_sites.S tests/r2r/set_clr.py $(R2R_WIN_RT)
	@mkdir -p $(@D)
	$(MINGW_CC) -O1 $(WARN) -Iruntime/include -o $@.tmp tests/r2r/r2r_main.c tests/r2r/r2r_sites.S $(R2R_WIN_RT)
	python3 tests/r2r/set_clr.py $@.tmp $$(x86_64-w64-mingw32-nm $@.tmp | awk '$$3 == "r2r_cor20" { print $$1 }')
	mv $@.tmp $@

$(R2RT)/r2r_apply: tests/r2r/r2r_apply.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

.PHONY: check-r2r
check-r2r: $(R2RT)/r2r.exe $(R2RT)/r2r_apply $(B)/asan/callirw $(PET)/pe_dump $(B)/tests/test_pe_r2r_write
	R2R_CORPUS=$(R2R_CORPUS) tests/r2r/check.sh $(R2RT) $(B)/asan/callirw $(PET)/pe_dump
	CALLIRW_R2R_CORPUS=$(R2R_CORPUS) R2R_TEST_EXE=$(R2RT)/r2r.exe $(B)/tests/test_pe_r2r_write

CHECK_TARGETS += check-r2r

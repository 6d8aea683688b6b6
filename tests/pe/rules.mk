# tests/pe/: PE/COFF inputs built from source (mingw; clang with lld-link),
# the pe_dump driver, and the checks that use them (docs/pe.md, docs/r2r.md).
# The cmocka tests are tests/unit/test_pe.c and tests/unit/test_pe_r2r.c
# (built and run by check-unit; test_pe's part on these inputs is skipped
# there when they are not built yet, and required here).
#
#   check-pe       test_pe with the built inputs (PE_TEST_REQUIRE=1);
#                  fuzz_pe (truncated and byte-flipped copies of them, under
#                  ASan/UBSan); crosscheck.py: pe_dump --json against llvm-readobj on the
#                  built images, and against tests/pe/r2r_facts.py (an
#                  independent Python reader) on the ReadyToRun corpus
#   check-pe-wine  every PE file of wine's x86-64 directory opened and scanned
#                  under ASan/UBSan (no site may be found: none calls the
#                  helper), a sample cross-checked against llvm-readobj and
#                  rewritten (a no-op: exit 1, no output, input unchanged)
#                  (PE_WINE_FULL=1: all); skipped without wine

PET := $(B)/tests/pe
PE_LLD_LINK := lld-link
PE_DLLTOOL := llvm-dlltool
R2R_CORPUS ?= ../shared/corpus/r2r
WINE_PE_DIR ?= /usr/lib/x86_64-linux-gnu/wine/x86_64-windows

PET_IMAGES := main.exe main-stripped.exe sites.dll helper.dll plain.exe sites-delay.dll sites_a64.dll
PET_OBJECTS := sites.o sites-bigobj.o plain.o sites_a64.obj sites_a64_imp.obj
PET_ALL := $(addprefix $(PET)/,$(PET_IMAGES) $(PET_OBJECTS))

# x86-64, mingw: the helper's DLL and import library, objects, an EXE and a
# DLL importing the helper, a stripped copy, a program without the helper
$(PET)/helper.dll $(PET)/libhelper.dll.a &: tests/pe/helper_dll.c
	@mkdir -p $(PET)
	$(MINGW_CC) -shared -o $(PET)/helper.dll $< -Wl,--out-implib,$(PET)/libhelper.dll.a
$(PET)/sites.o: tests/pe/sites.S
	@mkdir -p $(@D)
	$(MINGW_CC) -c $< -o $@
$(PET)/sites-bigobj.o: tests/pe/sites.S
	@mkdir -p $(@D)
	$(MINGW_CC) -c -Wa,-mbig-obj $< -o $@
$(PET)/main.exe: tests/pe/main.c $(PET)/sites.o $(PET)/libhelper.dll.a
	$(MINGW_CC) -o $@ $< $(PET)/sites.o -L$(PET) -lhelper
$(PET)/main-stripped.exe: $(PET)/main.exe
	x86_64-w64-mingw32-strip -o $@ $<
$(PET)/sites.dll: $(PET)/sites.o $(PET)/libhelper.dll.a
	$(MINGW_CC) -shared -o $@ $(PET)/sites.o -L$(PET) -lhelper
$(PET)/plain.exe: tests/pe/plain.c
	@mkdir -p $(@D)
	$(MINGW_CC) -O1 -o $@ $<
$(PET)/plain.o: tests/pe/plain.c
	@mkdir -p $(@D)
	$(MINGW_CC) -O1 -c -o $@ $<

# x86-64, clang + lld-link: the helper delay-loaded (IMAGE_DELAYLOAD_DESCRIPTOR)
$(PET)/helper_x64.lib: tests/pe/helper.def
	@mkdir -p $(@D)
	$(PE_DLLTOOL) -m i386:x86-64 -d $< -l $@
$(PET)/sites_msvc.obj: tests/pe/sites.S
	@mkdir -p $(@D)
	$(CLANG) --target=x86_64-pc-windows-msvc -c $< -o $@
$(PET)/delayload_stub.obj: tests/pe/delayload_stub.c
	@mkdir -p $(@D)
	$(CLANG) --target=x86_64-pc-windows-msvc -c $< -o $@
$(PET)/sites-delay.dll: $(PET)/sites_msvc.obj $(PET)/delayload_stub.obj $(PET)/helper_x64.lib
	$(PE_LLD_LINK) /nologo /dll /noentry /delayload:helper.dll /export:site_imp /out:$@ $^

# arm64, clang + lld-link: objects (BRANCH26; PAGEBASE_REL21 + PAGEOFFSET_12L
# to __imp_) and a DLL importing the helper
$(PET)/sites_a64.obj: tests/pe/sites_a64.c
	@mkdir -p $(@D)
	$(CLANG) --target=aarch64-pc-windows-msvc -O1 -c $< -o $@
$(PET)/sites_a64_imp.obj: tests/pe/sites_a64.c
	@mkdir -p $(@D)
	$(CLANG) --target=aarch64-pc-windows-msvc -O1 -DIMPORT -c $< -o $@
$(PET)/helper_a64.lib: tests/pe/helper.def
	@mkdir -p $(@D)
	$(PE_DLLTOOL) -m arm64 -d $< -l $@
$(PET)/sites_a64.dll: $(PET)/sites_a64_imp.obj $(PET)/helper_a64.lib
	$(PE_LLD_LINK) /nologo /dll /noentry /machine:arm64 /export:calls_helper /out:$@ $^

$(PET)/pe_dump $(PET)/fuzz_pe: $(PET)/%: tests/pe/%.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

PET_FUZZ := main.exe sites.dll sites-delay.dll sites_a64.dll sites.o sites-bigobj.o sites_a64_imp.obj

.PHONY: check-pe check-pe-wine
check-pe: $(PET_ALL) $(PET)/pe_dump $(PET)/fuzz_pe $(B)/tests/test_pe
	PE_TEST_DIR=$(PET) PE_TEST_REQUIRE=1 $(B)/tests/test_pe
	$(PET)/fuzz_pe -n 1500 $(addprefix $(PET)/,$(PET_FUZZ))
	python3 tests/pe/crosscheck.py pe $(PET)/pe_dump $(addprefix $(PET)/,$(PET_IMAGES))
	python3 tests/pe/crosscheck.py r2r $(PET)/pe_dump $(wildcard $(R2R_CORPUS)/*.dll)

check-pe-wine: $(PET)/pe_dump $(B)/asan/callirw
	@CALLIRW=$(B)/asan/callirw tests/pe/wine_sweep.sh $(PET)/pe_dump $(WINE_PE_DIR)

CHECK_TARGETS += check-pe check-pe-wine

# check-pe-write: linked PE32+ images rewritten (docs/pe.md, "Writing
# images"): tests/pe/check_write.sh runs them under wine (EXE; DLLs loaded by
# an EXE), checks them with tests/pe/write_props.py (an independent reader:
# layout, CheckSum, directories, the exception table), LIEF and llvm-readobj
# --unwind; headers without slack (the file moved down: noslack.exe and an
# lld image with DWARF, built by the script), refusals (no address room,
# arm64), Authenticode, idempotence and determinism, --helper-rva; and
# rewrites, strips and runs GEN_SEEDS generated programs.
# The inputs: the real runtime as a DLL (calli_rt.dll), an EXE importing the
# helper from it (run_sites.exe), a DLL of sites.S on it (sites_rt.dll) and
# EXEs loading that DLL and sites.dll, and an EXE without header slack.
PET_WRITE := calli_rt.dll run_sites.exe sites_rt.dll run_dll_rt.exe run_dll.exe noslack.exe \
	sites_a64_ok.dll run_sgc.exe unwind.exe
$(PET)/calli_rt.dll $(PET)/libcalli_rt.dll.a &: $(B)/x86_64-windows/libcalli_runtime.a
	@mkdir -p $(PET)
	$(MINGW_CC) -shared -o $(PET)/calli_rt.dll -Wl,--whole-archive $< -Wl,--no-whole-archive \
	  -Wl,--export-all-symbols -Wl,--out-implib,$(PET)/libcalli_rt.dll.a
$(PET)/run_sites.exe: tests/pe/run_sites.c $(PET)/sites.o $(PET)/libcalli_rt.dll.a
	$(MINGW_CC) -o $@ $< $(PET)/sites.o -L$(PET) -lcalli_rt
$(PET)/sites_rt.dll $(PET)/libsites_rt.dll.a &: $(PET)/sites.o $(PET)/libcalli_rt.dll.a
	$(MINGW_CC) -shared -o $(PET)/sites_rt.dll $(PET)/sites.o -L$(PET) -lcalli_rt \
	  -Wl,--out-implib,$(PET)/libsites_rt.dll.a
$(PET)/run_dll_rt.exe: tests/pe/run_sites.c $(PET)/libsites_rt.dll.a
	$(MINGW_CC) -o $@ $< -L$(PET) -lsites_rt
$(PET)/run_dll.exe: tests/pe/run_sites.c $(PET)/sites.dll
	$(MINGW_CC) -o $@ $< $(PET)/sites.dll
$(PET)/sites_a64_ok.obj: tests/pe/sites_a64_ok.S
	@mkdir -p $(@D)
	$(CLANG) --target=aarch64-pc-windows-msvc -c $< -o $@
$(PET)/sites_a64_ok.dll: $(PET)/sites_a64_ok.obj $(PET)/helper_a64.lib
	$(PE_LLD_LINK) /nologo /dll /noentry /machine:arm64 /export:site /out:$@ $^
# sites.S with the cookie's suppress-gc flag: a frameless stub (no RUNTIME_FUNCTION)
$(PET)/sites_sgc.o: tests/pe/sites.S
	@mkdir -p $(@D)
	sed 's|^    .short 1, 0 .*|    .short 1, 1|' $< > $(PET)/sites_sgc.S
	grep -q '^    .short 1, 1$$' $(PET)/sites_sgc.S
	$(MINGW_CC) -c $(PET)/sites_sgc.S -o $@
$(PET)/run_sgc.exe: tests/pe/run_sites.c $(PET)/sites_sgc.o $(PET)/libcalli_rt.dll.a
	$(MINGW_CC) -o $@ $< $(PET)/sites_sgc.o -L$(PET) -lcalli_rt
# a stack walk from a call's target through the stub (unwind_main.c)
$(PET)/unwind.exe: tests/pe/unwind_main.c tests/pe/unwind_sites.S $(PET)/libcalli_rt.dll.a
	$(MINGW_CC) -O1 -o $@ tests/pe/unwind_main.c tests/pe/unwind_sites.S -L$(PET) -lcalli_rt
$(PET)/noslack.exe: tests/pe/noslack.c $(PET)/sites.o $(PET)/libhelper.dll.a
	$(MINGW_CC) -o $@ $< $(PET)/sites.o -L$(PET) -lhelper

.PHONY: check-pe-write
check-pe-write: $(B)/asan/callirw $(B)/tools/lief_check $(B)/x86_64-windows/libcalli_runtime.a \
		$(addprefix $(PET)/,$(PET_IMAGES) $(PET_WRITE))
	tests/pe/check_write.sh $(B)/asan/callirw $(PET) $(B)/tools/lief_check

CHECK_TARGETS += check-pe-write

# check-pe-obj: the COFF object writer proven by execution (tests/pe/obj_check.sh,
# docs/pe.md "Writing objects"): COMDAT stubs shared by several rewritten
# objects linked by GNU ld, lld and lld-link, run under wine; the section
# limits of regular and /bigobj objects; mutated inputs; PE_OBJ_SEEDS
# generated programs through tests/pe/obj_hook.sh (also usable as a
# tests/gen/run.sh --post-build hook on its own).
PE_OBJ_SEEDS ?= 8
$(PET)/obj_dedup_a.o $(PET)/obj_dedup_b.o: $(PET)/obj_dedup_%.o: tests/pe/obj_dedup.S
	@mkdir -p $(@D)
	$(MINGW_CC) -c -DSITE_IMP=dedup_imp_$* -DSITE_CALL=dedup_call_$* $< -o $@
.PHONY: check-pe-obj
check-pe-obj: $(B)/asan/callirw $(B)/gen/callirw-gen $(B)/x86_64-windows/libcalli_runtime.a \
              $(PET)/sites.o $(PET)/sites-bigobj.o $(PET)/sites_msvc.obj $(PET)/helper_x64.lib \
              $(PET)/obj_dedup_a.o $(PET)/obj_dedup_b.o $(B)/tests/test_pe_write_obj
	PE_TEST_DIR=$(PET) PE_TEST_REQUIRE=1 $(B)/tests/test_pe_write_obj
	@tests/pe/obj_check.sh $(PE_OBJ_SEEDS)

CHECK_TARGETS += check-pe-obj

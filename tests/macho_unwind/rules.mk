# tests/macho_unwind/: rebuilding __TEXT,__unwind_info with functions added
# (formats/macho_unwind.c, docs/macho-unwind.md).
#
#   check-macho-unwind  on dylibs linked by ld64.lld-14, x86-64 and arm64:
#       small.dylib (a few C functions with and without frames, C++ functions
#       with a personality and LSDAs) and many.dylib (2400 generated
#       functions, a fifth with LSDAs: several second-level pages). run.sh
#       has unw_test rebuild each table with no adds and with adds (the
#       stubs' encodings of docs/stubs.md; 200 distinct encodings, so that
#       some go page-local; 400, so that regular pages hold more; functions
#       32 MiB away, so that a regular page is needed) and patch it into a
#       copy; check.py compares llvm-objdump-14's listings of the copy and
#       the original. Then hostile tables (unw_test fuzz, under ASan/UBSan)
#       and the interface's refusals (unw_test api).

MUW := $(B)/tests/macho_unwind
MUW_ARCHS := arm64 x86_64
MUW_LD = ld64.lld-14 -arch $(1) -platform_version macos 11.0 11.0 -dylib -undefined dynamic_lookup

$(MUW)/unw_test: tests/macho_unwind/unw_test.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

$(MUW)/many.cpp: tests/macho_unwind/gen_many.py
	@mkdir -p $(@D)
	python3 $< 2400 > $@

$(MUW)/%/small.o: tests/macho_unwind/small.c
	@mkdir -p $(@D)
	$(CLANG) --target=$*-apple-macos11 -O1 -c $< -o $@
$(MUW)/%/small_eh.o: tests/macho_unwind/small_eh.cpp
	@mkdir -p $(@D)
	$(CLANG) -x c++ --target=$*-apple-macos11 -O1 -fexceptions -nostdinc++ -c $< -o $@
$(MUW)/%/many.o: $(MUW)/many.cpp
	@mkdir -p $(@D)
	$(CLANG) -x c++ --target=$*-apple-macos11 -O1 -fexceptions -nostdinc++ -c $< -o $@
$(MUW)/%/small.dylib: $(MUW)/%/small.o $(MUW)/%/small_eh.o
	$(call MUW_LD,$*) $^ -o $@
$(MUW)/%/many.dylib: $(MUW)/%/many.o
	$(call MUW_LD,$*) $^ -o $@

MUW_IMAGES := $(foreach a,$(MUW_ARCHS),$(MUW)/$(a)/small.dylib $(MUW)/$(a)/many.dylib)

.PHONY: check-macho-unwind
check-macho-unwind: $(MUW)/unw_test $(MUW_IMAGES)
	@tests/macho_unwind/run.sh $(MUW) $(MUW_ARCHS)

CHECK_TARGETS += check-macho-unwind
ALL_TARGETS += $(MUW)/unw_test

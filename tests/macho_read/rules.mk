# tests/macho_read/: the Mach-O reader (formats/macho.c, macho_lc.c,
# macho_sym.c, macho_dyld.c; docs/macho.md).
#
#   check-macho-read  tests/macho_read/check.sh: generated objects of both
#                     targets scanned against their manifests, and linked with
#                     ld64.lld-14 (helper imported through __stubs / linked
#                     in; executable, dylib, bundle, stripped); the model
#                     against llvm-objdump / llvm-readobj and an independent
#                     Python reader (relocation addends against the linked
#                     fields; sections, rebases, binds, helper slots and stubs);
#                     chained fixups (images converted by to_chained.py) read
#                     like their classic originals; mutated inputs under
#                     ASan/UBSan. MACHO_READ_SEEDS (default 15; the rewrite matrix scans 200 per
#                     target too) seeds per
#                     target (linked images: every third), MACHO_READ_FUZZ (default 150) mutations.

MRT := $(B)/tests/macho_read
MRT_ARCHS := arm64 x86_64

$(MRT)/%.o: tests/macho_read/%.s
	@mkdir -p $(@D)
	$(CLANG) --target=$(if $(filter %x64 %x86_64,$*),x86_64,arm64)-apple-macos11 -c $< -o $@
$(MRT)/libsys-%.o: tests/macho_read/libsys.s
	@mkdir -p $(@D)
	$(CLANG) --target=$*-apple-macos11 -c $< -o $@
$(MRT)/helper-%.o: tests/macho_read/helper.s
	@mkdir -p $(@D)
	$(CLANG) --target=$*-apple-macos11 -c $< -o $@
$(MRT)/libSystem-%.dylib: $(MRT)/libsys-%.o
	ld64.lld-14 -arch $* -platform_version macos 11.0 11.0 -dylib \
	  -install_name /usr/lib/libSystem.B.dylib $< -o $@
$(MRT)/libhelper-%.dylib: $(MRT)/helper-%.o $(MRT)/libSystem-%.dylib
	ld64.lld-14 -arch $* -platform_version macos 11.0 11.0 -dylib \
	  -install_name @rpath/libhelper.dylib $^ -o $@
$(MRT)/relocs-x64.exe: $(MRT)/relocs_x64.o $(MRT)/ext_x64.o $(MRT)/libSystem-x86_64.dylib
	ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 $^ -o $@
$(MRT)/relocs-a64.exe: $(MRT)/relocs_a64.o $(MRT)/ext_a64.o $(MRT)/libSystem-arm64.dylib
	ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 $^ -o $@

$(MRT)/model_dump: tests/macho_read/model_dump.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

MRT_INPUTS := $(foreach a,$(MRT_ARCHS),$(MRT)/libSystem-$(a).dylib $(MRT)/libhelper-$(a).dylib \
	$(MRT)/helper-$(a).o) $(MRT)/relocs-x64.exe $(MRT)/relocs-a64.exe

.SECONDARY: $(foreach a,$(MRT_ARCHS),$(MRT)/libsys-$(a).o)
.PHONY: check-macho-read
check-macho-read: $(B)/callirw $(B)/asan/callirw $(B)/gen/callirw-gen $(MRT)/model_dump $(MRT_INPUTS)
	tests/macho_read/check.sh $(B)/callirw $(B)/asan/callirw $(MRT)

ALL_TARGETS += $(MRT)/model_dump
CHECK_TARGETS += check-macho-read

# tests/unwind_win/: unwinding through stubs on Win64 (PE), the twin of
# tests/unwind. Targets called through the helper walk the stack with
# RtlCaptureStackBackTrace and by hand (RtlLookupFunctionEntry +
# RtlVirtualUnwind) and print the frames they can name (targets, sites, main)
# with their return-address offsets; the walks must reach main through the
# helper (expected.txt, names only), and be byte-identical through the
# stubs after the rewrite and after strip (tests/unwind_win/run.sh). Built
# with mingw gcc + GNU ld, with clang + lld (its MinGW driver), and with
# clang -c + a direct lld-link link (the command line lld's MinGW driver
# would run: -lldmingw, the mingw-w64 start files and libraries), run under
# wine.

UWW := $(B)/tests/unwind_win
UWW_VARIANTS := gcc clang-lld lld-link
UWW_LGCC = $(dir $(shell x86_64-w64-mingw32-gcc -print-libgcc-file-name))
UWW_CC_gcc = x86_64-w64-mingw32-gcc
UWW_CC_clang-lld = clang --target=x86_64-w64-mingw32 -fuse-ld=lld -L$(UWW_LGCC)

$(UWW)/%.exe: tests/unwind_win/main.c tests/unwind_win/sites.S $(B)/x86_64-windows/libcalli_runtime.a
	@mkdir -p $(@D)
	$(UWW_CC_$*) -O1 -g -Wall -Wextra -Werror -Iruntime/include $(filter %.c %.S %.a,$^) -o $@

UWW_MINGW := /usr/x86_64-w64-mingw32/lib
UWW_MINGW_LIBS = $(UWW_MINGW)/libmingw32.a $(UWW_LGCC)libgcc.a $(UWW_LGCC)libgcc_eh.a $(UWW_MINGW)/libmoldname.a \
                 $(UWW_MINGW)/libmingwex.a $(UWW_MINGW)/libmsvcrt.a $(UWW_MINGW)/libkernel32.a
$(UWW)/lld-link.exe: tests/unwind_win/main.c tests/unwind_win/sites.S $(B)/x86_64-windows/libcalli_runtime.a
	@mkdir -p $(@D)
	clang --target=x86_64-w64-mingw32 -O1 -g -Wall -Wextra -Werror -Iruntime/include -c tests/unwind_win/main.c -o $(UWW)/lld-link-main.o
	clang --target=x86_64-w64-mingw32 -c tests/unwind_win/sites.S -o $(UWW)/lld-link-sites.o
	lld-link -lldmingw -out:$@ -machine:x64 -auto-import -runtime-pseudo-reloc -debug:dwarf \
	    -alternatename:__image_base__=__ImageBase $(UWW_MINGW)/crt2.o $(UWW_MINGW)/crtbegin.o \
	    $(UWW)/lld-link-main.o $(UWW)/lld-link-sites.o $(B)/x86_64-windows/libcalli_runtime.a \
	    $(UWW_MINGW_LIBS) $(UWW_MINGW_LIBS) $(UWW_MINGW)/crtend.o

.PHONY: check-unwind-win
check-unwind-win: $(patsubst %,$(UWW)/%.exe,$(UWW_VARIANTS)) $(B)/asan/callirw $(B)/tools/lief_check
	@tests/unwind_win/run.sh $(B) $(UWW_VARIANTS)
CHECK_TARGETS += check-unwind-win

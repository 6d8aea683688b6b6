# runtime/: the generic helper, the reference runtime table, the host
# primitives. One static library per target; the paths are an interface.
#
#   $(B)/x86_64-linux/libcalli_runtime.a     x86-64 SysV, ELF (PIC)
#   $(B)/x86_64-windows/libcalli_runtime.a   Microsoft x64, PE (mingw)
#   $(B)/aarch64-linux/libcalli_runtime.a    AAPCS64, ELF (PIC)
#   $(B)/asan/x86_64-linux/libcalli_runtime.a  x86-64 SysV with ASan/UBSan, for tests
#   $(B)/x86_64-macos/libcalli_runtime.a     x86-64 SysV, Mach-O (clang, no libc)
#   $(B)/arm64-macos/libcalli_runtime.a      Apple arm64, Mach-O (clang, no libc)
#
# Every library holds the freestanding core (sig/, dispatch, reference
# runtime, the assembly helper) plus the default host primitives, one archive
# member per function (calli_host_write, calli_host_abort), each pulled in
# only when the program does not define that function. See docs/runtime.md.

RT_CORE_C := $(SIG_SRC) $(filter-out runtime/host_%.c,$(wildcard runtime/*.c))
RT_HDRS := $(wildcard runtime/include/*.h sig/*.h runtime/*.h)

# $(1) dir under build/, $(2) compiler, $(3) ar, $(4) assembly helper,
# $(5) host primitives, $(6) extra compiler flags, $(7) RT_CFLAGS the
# compiler does not know (clang: gcc's -fno-tree-loop-distribute-patterns)
define RT_LIB
$(B)/$(1)/libcalli_runtime.a: $(patsubst %,$(B)/$(1)/obj/%.o,$(basename $(RT_CORE_C) $(4) $(5)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$(3) rcs $$@ $$^
$(B)/$(1)/obj/%.o: %.c $(RT_HDRS)
	@mkdir -p $$(@D)
	$(2) $(filter-out $(7),$(RT_CFLAGS)) $(6) -c $$< -o $$@
$(B)/$(1)/obj/%.o: %.S $(RT_HDRS)
	@mkdir -p $$(@D)
	$(2) $(6) -Iruntime/include -c $$< -o $$@
ALL_TARGETS += $(B)/$(1)/libcalli_runtime.a
endef

RT_HOST_POSIX := runtime/host_posix_write.c runtime/host_posix_abort.c
RT_HOST_WIN := runtime/host_win_write.c runtime/host_win_abort.c
# Unwind tables everywhere: debuggers and _Unwind_Backtrace walk from a
# target through the invoke trampoline, the dispatcher and the helper.
RT_UNWIND := -fasynchronous-unwind-tables

$(eval $(call RT_LIB,x86_64-linux,$(CC),$(AR),runtime/helper_x86_64_sysv.S,$(RT_HOST_POSIX),-fPIC $(RT_UNWIND)))
$(eval $(call RT_LIB,x86_64-windows,$(MINGW_CC),$(MINGW_AR),runtime/helper_x86_64_win.S,$(RT_HOST_WIN),$(RT_UNWIND)))
# arm64: with BTI landing pads and PAC-ret (-mbranch-protection=standard; NOPs
# on CPUs without them), so that a program marked for BTI may link it: the
# helper's entries already start with bti c, and the reference runtime's
# callbacks are reached by blr.
$(eval $(call RT_LIB,aarch64-linux,$(A64_CC),$(A64_AR),runtime/helper_aarch64.S,$(RT_HOST_POSIX),-fPIC $(RT_UNWIND) -mbranch-protection=standard))
$(eval $(call RT_LIB,asan/x86_64-linux,$(CC),$(AR),runtime/helper_x86_64_sysv.S,$(RT_HOST_POSIX),-fPIC $(RT_UNWIND) $(SAN_FLAGS)))
# Mach-O: clang for macOS 11, no SDK; the host primitives are raw system
# calls (there is no libSystem under the test emulator, tests/macho_run/).
# clang does not know gcc's -fno-tree-loop-distribute-patterns; with
# -fno-builtin (in RT_CFLAGS) it does not turn loops into memcpy/memset
# calls either (check-runtime-nm proves it).
MACHO_AR := llvm-ar-14
RT_HOST_MACHO := runtime/host_macho_write.c runtime/host_macho_abort.c
RT_MACHO_FLAGS = --target=$(1)-apple-macos11 $(RT_UNWIND)
$(eval $(call RT_LIB,x86_64-macos,$(CLANG),$(MACHO_AR),runtime/helper_x86_64_sysv.S,$(RT_HOST_MACHO),$(call RT_MACHO_FLAGS,x86_64),-fno-tree-loop-distribute-patterns))
$(eval $(call RT_LIB,arm64-macos,$(CLANG),$(MACHO_AR),runtime/helper_aarch64.S,$(RT_HOST_MACHO),$(call RT_MACHO_FLAGS,arm64),-fno-tree-loop-distribute-patterns))

# ---- runtime tests beyond the unit tests (tests/runtime/) -------------------
#
# check-runtime-nm      the freestanding core calls nothing but the host
#                       primitives, sig/ and itself (all three targets)
# check-runtime-smoke-* smoke.c + hand-written call sites per ABI, through the
#                       real library, in the three host-primitive modes
#                       (defaults / both overridden / write only): x86-64
#                       Linux natively, Win64 under wine, AAPCS64 under qemu.

RT_SMOKE := $(B)/tests/runtime
RT_SMOKE_SRC := tests/runtime/smoke.c
WINE ?= /usr/lib/wine/wine64
WINEPREFIX_RT := $(abspath $(B))/wineprefix-runtime
QEMU_A64 ?= qemu-aarch64
QEMU_A64_ROOT ?= /usr/aarch64-linux-gnu

# $(1) target name, $(2) compiler, $(3) library, $(4) sites, $(5) suffix, $(6) extra flags
define RT_SMOKE_BIN
$(RT_SMOKE)/smoke-$(1)-host%$(5): $(RT_SMOKE_SRC) tests/runtime/$(4) $(3) $(RT_HDRS)
	@mkdir -p $$(@D)
	$(2) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Isig -Iruntime/include -DSMOKE_HOST=$$* $(6) \
	    $(RT_SMOKE_SRC) tests/runtime/$(4) $(3) -o $$@
RT_SMOKE_BINS_$(1) := $(foreach h,0 1 2,$(RT_SMOKE)/smoke-$(1)-host$(h)$(5))
endef

$(eval $(call RT_SMOKE_BIN,x86_64-linux,$(CC),$(B)/x86_64-linux/libcalli_runtime.a,smoke_sysv.S,,-pie -fPIE))
$(eval $(call RT_SMOKE_BIN,x86_64-windows,$(MINGW_CC),$(B)/x86_64-windows/libcalli_runtime.a,smoke_win64.S,.exe,))
$(eval $(call RT_SMOKE_BIN,aarch64-linux,$(A64_CC),$(B)/aarch64-linux/libcalli_runtime.a,smoke_aarch64.S,,-pie -fPIE))

.PHONY: check-runtime-nm check-runtime-smoke-x86_64-linux check-runtime-smoke-x86_64-windows \
        check-runtime-smoke-aarch64-linux
check-runtime-nm: $(B)/x86_64-linux/libcalli_runtime.a $(B)/x86_64-windows/libcalli_runtime.a \
                  $(B)/aarch64-linux/libcalli_runtime.a $(B)/x86_64-macos/libcalli_runtime.a \
                  $(B)/arm64-macos/libcalli_runtime.a
	@tests/runtime/check_nm.sh nm $(B)/x86_64-linux
	@tests/runtime/check_nm.sh x86_64-w64-mingw32-nm $(B)/x86_64-windows
	@tests/runtime/check_nm.sh aarch64-linux-gnu-nm $(B)/aarch64-linux
	@tests/runtime/check_nm.sh llvm-nm-14 $(B)/x86_64-macos
	@tests/runtime/check_nm.sh llvm-nm-14 $(B)/arm64-macos

check-runtime-smoke-x86_64-linux: $(RT_SMOKE_BINS_x86_64-linux)
	@tests/runtime/run_smoke.sh x86_64-linux $(RT_SMOKE)/out -- $^

check-runtime-smoke-aarch64-linux: $(RT_SMOKE_BINS_aarch64-linux)
	@tests/runtime/run_smoke.sh aarch64-linux $(RT_SMOKE)/out $(QEMU_A64) -L $(QEMU_A64_ROOT) -- $^

# The first wine run creates the prefix (~15 s); do it once, quietly.
$(WINEPREFIX_RT)/.created:
	@mkdir -p $(WINEPREFIX_RT)
	@WINEPREFIX=$(WINEPREFIX_RT) WINEDEBUG=-all $(WINE) cmd /c exit >/dev/null 2>&1 || true
	@touch $@

check-runtime-smoke-x86_64-windows: $(RT_SMOKE_BINS_x86_64-windows) $(WINEPREFIX_RT)/.created
	@WINEPREFIX=$(WINEPREFIX_RT) WINEDEBUG=-all \
	    tests/runtime/run_smoke.sh x86_64-windows $(RT_SMOKE)/out $(WINE) -- $(RT_SMOKE_BINS_x86_64-windows)

ALL_TARGETS += $(RT_SMOKE_BINS_x86_64-linux) $(RT_SMOKE_BINS_x86_64-windows) $(RT_SMOKE_BINS_aarch64-linux)
CHECK_TARGETS += check-runtime-nm check-runtime-smoke-x86_64-linux check-runtime-smoke-aarch64-linux \
                 check-runtime-smoke-x86_64-windows

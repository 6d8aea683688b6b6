# runtime/: the generic helper, the reference runtime table, the host
# primitives. One static library per target; the paths are an interface.
#
#   $(B)/x86_64-linux/libcalli_runtime.a     x86-64 SysV, ELF (PIC)
#   $(B)/x86_64-windows/libcalli_runtime.a   Microsoft x64, PE (mingw)
#   $(B)/aarch64-linux/libcalli_runtime.a    AAPCS64, ELF (PIC)
#   $(B)/asan/x86_64-linux/libcalli_runtime.a  x86-64 SysV with ASan/UBSan, for tests
#
# Every library holds the freestanding core (sig/, dispatch, reference
# runtime, the assembly helper) plus the default host primitives as a
# separate member, pulled in only when the program does not define them.

RT_CORE_C := $(SIG_SRC) $(filter-out runtime/host_%.c,$(wildcard runtime/*.c))
RT_HDRS := $(wildcard runtime/include/*.h sig/*.h runtime/*.h)

# $(1) dir under build/, $(2) compiler, $(3) ar, $(4) assembly helper,
# $(5) host primitives, $(6) extra compiler flags
define RT_LIB
$(B)/$(1)/libcalli_runtime.a: $(patsubst %,$(B)/$(1)/obj/%.o,$(basename $(RT_CORE_C) $(4) $(5)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$(3) rcs $$@ $$^
$(B)/$(1)/obj/%.o: %.c $(RT_HDRS)
	@mkdir -p $$(@D)
	$(2) $(RT_CFLAGS) $(6) -c $$< -o $$@
$(B)/$(1)/obj/%.o: %.S $(RT_HDRS)
	@mkdir -p $$(@D)
	$(2) $(6) -Iruntime/include -c $$< -o $$@
ALL_TARGETS += $(B)/$(1)/libcalli_runtime.a
endef

$(eval $(call RT_LIB,x86_64-linux,$(CC),$(AR),runtime/helper_x86_64_sysv.S,runtime/host_posix.c,-fPIC))
$(eval $(call RT_LIB,x86_64-windows,$(MINGW_CC),$(MINGW_AR),runtime/helper_x86_64_win.S,runtime/host_win.c,))
$(eval $(call RT_LIB,aarch64-linux,$(A64_CC),$(A64_AR),runtime/helper_aarch64.S,runtime/host_posix.c,-fPIC))
$(eval $(call RT_LIB,asan/x86_64-linux,$(CC),$(AR),runtime/helper_x86_64_sysv.S,runtime/host_posix.c,-fPIC $(SAN_FLAGS)))

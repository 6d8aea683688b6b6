# tests/macho_sign/: ad-hoc code signatures and fat files
# (formats/macho_sign.c, formats/macho_fat.c, docs/macho-signing.md).
#
#   check-macho-sign  tests/macho_sign/check.sh: csverify.py (an independent
#                     verifier) against ld64.lld-14's own signatures (arm64
#                     executables, dylibs, bundles) and corrupted copies;
#                     re-signing with macho_sign_write reproduces lld's
#                     signatures byte for byte, and verifies after changes;
#                     fat split/join round trips checked with llvm-lipo-14
#                     and llvm-objdump-14; hostile fat headers and mutated
#                     copies refused without a crash (sign_tool, ASan/UBSan).

MSIGN := $(B)/tests/macho_sign

$(MSIGN)/sign_tool: tests/macho_sign/sign_tool.c $(B)/asan/libcallirw.a $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

ALL_TARGETS += $(MSIGN)/sign_tool

.PHONY: check-macho-sign
check-macho-sign: $(MSIGN)/sign_tool
	tests/macho_sign/check.sh $(MSIGN)/sign_tool $(MSIGN)

CHECK_TARGETS += check-macho-sign

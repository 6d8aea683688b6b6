# tests/macho_img/: the Mach-O image writer (formats/macho_write*.c,
# docs/macho-images.md).
#
#   check-macho-img  tests/macho_img/check.sh: images linked with
#                    ld64.lld-14 (x86-64 and arm64: executables with the
#                    helper linked in and imported, a dylib, a bundle, signed
#                    and unsigned, one without header padding), rewritten by
#                    the writer alone (mw_selftest) and by `callirw rewrite`,
#                    judged by check_image.py, llvm-otool and llvm-objdump;
#                    idempotence, determinism, the refusal without room.

MIT := $(B)/tests/macho_img

$(MIT)/mw_selftest: tests/macho_img/mw_selftest.c $(B)/asan/libcallirw.a $(CLI_HDRS) formats/macho_write.h
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) $< -o $@ $(B)/asan/libcallirw.a $(CLI_LDLIBS)

.PHONY: check-macho-img
check-macho-img: $(B)/asan/callirw $(MIT)/mw_selftest $(B)/tools/lief_check
	tests/macho_img/check.sh $(B)/asan/callirw $(MIT)/mw_selftest $(MIT)/work

ALL_TARGETS += $(MIT)/mw_selftest
CHECK_TARGETS += check-macho-img

# tests/macho_obj/: rewriting Mach-O objects (docs/macho-objects.md).
#
#   check-macho-obj  generator seeds (MACHO_OBJ_SEEDS per target, x86_64-macos
#                    and arm64-macos): sites.o rewritten by the ASan/UBSan
#                    callirw; the output accepted by llvm-otool-14 and
#                    llvm-objdump-14, its relocations retargeted (none to the
#                    helper, one per site to a stub), its stub symbols weak
#                    private externals, no site left, the map shown by
#                    inspect, a second rewrite a no-op; linked with
#                    ld64.lld-14 (each stub once); two rewritten objects with
#                    the same keys coalesce (tests/macho_obj/check.sh)
# 8 seeds per target: what these checks look at is the object's structure;
# execution of rewritten objects, relinked, is check-rewrite-macho's (200
# seeds per target, every variant), so more seeds here cost make check's
# budget and find nothing new (MACHO_OBJ_SEEDS=40 for a longer run).

MACHO_OBJ_SEEDS ?= 8

.PHONY: check-macho-obj
check-macho-obj: $(B)/asan/callirw $(B)/gen/callirw-gen $(B)/tools/lief_check
	@tests/macho_obj/check.sh --seeds $(MACHO_OBJ_SEEDS)

CHECK_TARGETS += check-macho-obj

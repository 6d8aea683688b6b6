# tests/far/: sites out of BL's 128 MiB reach of the stub segment (arm64).
#
#   check-far  big.S: text larger than 128 MiB and a 256 MiB .bss. Sites
#              after the filler reach their stub through a range-extension
#              veneer placed in the free bytes after the executable segment;
#              sites before it can reach neither and are left with the
#              reason. Also tests/elf_a64's far-helper images: exe-veneer
#              (helper and stubs 512 MiB away: one veneer) and the 8 GiB
#              ones (no veneer can reach the stubs: left, exit 1, no file).
#              Original and rewritten images run under qemu-aarch64, also
#              after strip; eu-elflint, llvm-readobj and LIEF accept the
#              outputs; breaking the veneer must make the program fail.
#              (tests/far/check.sh)

FART := $(B)/tests/far

$(FART)/big.o: tests/far/big.S tests/elf_a64/calli.inc
	@mkdir -p $(@D)
	$(A64_CC) -c $< -o $@
$(FART)/big: $(FART)/big.o
	$(A64_CC) -no-pie -o $@ $<

.PHONY: check-far
check-far: $(FART)/big $(ELFA)/exe-veneer $(ELFA)/exe-veneer-abs $(ELFA)/pie-veneer \
           $(B)/asan/callirw $(B)/tools/lief_check
	@tests/far/check.sh $(B) "$(QEMU_A64)" $(QEMU_A64_ROOT)
CHECK_TARGETS += check-far

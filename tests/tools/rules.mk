# tests/tools/: small programs the tests use to check outputs independently.
$(B)/tools/lief_check: tests/tools/lief_check.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 $(WARN) $< -o $@ -lLIEF
ALL_TARGETS += $(B)/tools/lief_check

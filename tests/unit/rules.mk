# tests/unit/: cmocka unit tests, every one built with ASan/UBSan. Each
# tests/unit/test_NAME.c is one program, linked against everything but the
# CLI's main() and against the ASan runtime library.

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_LIBS := $(B)/asan/libcallirw.a $(B)/asan/x86_64-linux/libcalli_runtime.a

$(B)/tests/%: tests/unit/%.c $(UNIT_LIBS) $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -Itests/unit $< -o $@ $(UNIT_LIBS) -lcmocka $(CLI_LDLIBS)

.PHONY: check-unit
check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

ALL_TARGETS += $(UNIT_BIN)
CHECK_TARGETS += check-unit

# rewriter/ (with formats/, stubs/, sig/): the callirw CLI.
#   $(B)/callirw        the tool
#   $(B)/asan/callirw   the same with ASan/UBSan, used by the tests
#   $(B)/asan/libcallirw.a  everything but main(), with ASan/UBSan, for unit tests

CLI_SRC := $(sort $(wildcard rewriter/*.c formats/*.c stubs/*.c)) $(SIG_SRC)
CLI_LIB_SRC := $(filter-out rewriter/main.c,$(CLI_SRC))
CLI_HDRS := $(wildcard rewriter/*.h formats/*.h stubs/*.h sig/*.h runtime/include/*.h)
CLI_LDLIBS := -lelf -lZydis

$(B)/callirw: $(patsubst %.c,$(B)/host/obj/%.o,$(CLI_SRC))
	$(CC) $^ -o $@ $(CLI_LDLIBS)
$(B)/asan/callirw: $(patsubst %.c,$(B)/asan/host/obj/%.o,$(CLI_SRC))
	$(CC) $(SAN_FLAGS) $^ -o $@ $(CLI_LDLIBS)
$(B)/asan/libcallirw.a: $(patsubst %.c,$(B)/asan/host/obj/%.o,$(CLI_LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/host/obj/%.o: %.c $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -c $< -o $@
$(B)/asan/host/obj/%.o: %.c $(CLI_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -c $< -o $@

ALL_TARGETS += $(B)/callirw $(B)/asan/callirw $(B)/asan/libcallirw.a

#!/usr/bin/env bash
# tests/bigio/check.sh B - the large-file I/O paths of `callirw rewrite`
# (inputs of 8 MiB and more): the writers map the input file's pages into
# the output buffer (rw_copy_input) and the output is written with
# copy_file_range wherever a page still holds the file's bytes
# (rw_write_atomic_consume). Both must give exactly the bytes of the plain
# path (CALLIRW_PLAIN_IO=1: every copy through memory), for -o and -i, in
# the plain and the ASan build; the rewritten ELF program must run and print
# what the original prints. Inputs: small test programs with a 24 MiB
# pseudo-random section added (objcopy), so that a page copied from the
# wrong offset cannot go unnoticed.
set -euo pipefail
B=$1
W=$B/tests/bigio
mkdir -p "$W"
CLI=$B/callirw ASAN=$B/asan/callirw
fail() { echo "check-bigio: $*" >&2; exit 1; }

python3 -c '
import random, sys
r = random.Random(7)
sys.stdout.buffer.write(r.randbytes(24 << 20))' > "$W/pad"

judge() { # judge NAME INPUT
  local n=$1 in=$2
  "$CLI" rewrite "$in" -o "$W/$n.fast" > "$W/$n.fast.log" || fail "$n: rewrite failed: $(cat "$W/$n.fast.log")"
  CALLIRW_PLAIN_IO=1 "$CLI" rewrite "$in" -o "$W/$n.plain" > /dev/null || fail "$n: plain rewrite failed"
  cmp "$W/$n.fast" "$W/$n.plain" || fail "$n: the file-mapped copy and copy_file_range wrote other bytes than the plain path"
  "$ASAN" rewrite "$in" -o "$W/$n.asan" > /dev/null || fail "$n: ASan rewrite failed"
  cmp "$W/$n.fast" "$W/$n.asan" || fail "$n: the ASan build wrote other bytes"
  cp "$in" "$W/$n.inplace"
  "$CLI" rewrite "$W/$n.inplace" -i > /dev/null || fail "$n: rewrite -i failed"
  cmp "$W/$n.fast" "$W/$n.inplace" || fail "$n: rewrite -i wrote other bytes than -o"
  # the bytes after the added section's start are the pad's: the output
  # really is a large one written through the fast path
  [ "$(stat -c %s "$W/$n.fast")" -gt $((24 << 20)) ] || fail "$n: output too small"
  echo "check-bigio: $n: $(stat -c %s "$in") bytes in, -o, -i, plain and ASan outputs identical"
}

# ELF x86-64 (a PIE example program), run before and after
objcopy --add-section .callirw_test_pad="$W/pad" --set-section-flags .callirw_test_pad=readonly \
  "$B/examples/mathlib" "$W/mathlib.big"
"$W/mathlib.big" > "$W/mathlib.big.out"
cmp -s "$W/mathlib.big.out" examples/mathlib/expected.txt || fail "mathlib.big: the padded original prints something else"
judge mathlib "$W/mathlib.big"
"$W/mathlib.fast" > "$W/mathlib.fast.out"
cmp "$W/mathlib.fast.out" examples/mathlib/expected.txt || fail "mathlib: the rewritten program prints something else"
echo "check-bigio: mathlib: the rewritten program prints examples/mathlib/expected.txt"

# PE32+ (a test EXE): bytes only (wine runs are the PE matrix's)
x86_64-w64-mingw32-objcopy --add-section .crwpad="$W/pad" --set-section-flags .crwpad=alloc,load,readonly,data \
  --change-section-address .crwpad=0x140100000 \
  "$B/tests/pe/main.exe" "$W/main.big.exe"
judge pe-main "$W/main.big.exe"
echo "check-bigio: ok"

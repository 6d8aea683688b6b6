#!/usr/bin/env bash
# tests/rewrite/props.sh B - properties of `callirw rewrite` (ASan build):
# no site -> exit 1, nothing written; already rewritten -> exit 1; the same
# input twice -> identical outputs; -i rewrites in place and leaves no
# temporary file; the input is never modified without -i; bad input
# (truncated, corrupted, wrong machine, sections past the end, not ELF) ->
# exit 2, exactly one line on stderr, no output file. Ends with the line
# "rewrite-props: N passed, M failed".
set -u
B=$1
C=$B/asan/callirw
T=$B/tests/rewrite-props
rm -rf "$T"; mkdir -p "$T"
IMG=$B/tests/elf/pie-import          # a program with rewritable sites
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "rewrite-props: FAIL: $*"; }
expect() { # expect RC WHAT -- command...
  local want=$1 what=$2; shift 3
  "$@" > "$T/out.log" 2> "$T/err.log"; local rc=$?
  [ "$rc" = "$want" ] && ok || bad "$what: exit $rc, expected $want ($(head -1 "$T/err.log"))"
}
no_output() { [ ! -e "$1" ] && ok || bad "$2: an output file was written"; }
one_line() { [ "$(wc -l < "$T/err.log")" = 1 ] && ok || bad "$1: stderr has $(wc -l < "$T/err.log") lines"; }

[ -f "$IMG" ] || { echo "rewrite-props: $IMG missing (make check-elf builds it)"; exit 1; }
cp "$IMG" "$T/in"; sum=$(md5sum < "$T/in")

expect 0 "rewrite" -- "$C" rewrite "$T/in" -o "$T/a"
[ "$(md5sum < "$T/in")" = "$sum" ] && ok || bad "the input was modified without -i"
expect 0 "rewrite again" -- "$C" rewrite "$T/in" -o "$T/b"
cmp -s "$T/a" "$T/b" && ok || bad "two rewrites differ"
expect 1 "rewrite a rewritten image" -- "$C" rewrite "$T/a" -o "$T/c"; no_output "$T/c" "already rewritten"
expect 0 "dry run" -- "$C" rewrite "$T/in" --dry-run
grep -q "dry run: nothing written" "$T/out.log" && ok || bad "dry run does not say so"
expect 1 "no sites" -- "$C" rewrite /bin/true -o "$T/d"; no_output "$T/d" "no sites"
cp "$IMG" "$T/inplace"
expect 0 "in place" -- "$C" rewrite -i "$T/inplace"
cmp -s "$T/inplace" "$T/a" && ok || bad "-i gives a different result than -o"
ls "$T" | grep -q callirw- && bad "a temporary file was left behind" || ok
expect 2 "usage: no output option" -- "$C" rewrite "$T/in"
expect 2 "usage: both -o and -i" -- "$C" rewrite "$T/in" -o "$T/e" -i

# hostile inputs: each must give exit 2, one line, no output
size=$(stat -c %s "$T/in")
head -c 100 "$T/in" > "$T/h-truncated-header"
head -c $((size / 2)) "$T/in" > "$T/h-truncated-half"
python3 - "$T" <<'PY'
import struct, sys
t = sys.argv[1]
d = bytearray(open(t + '/in', 'rb').read())
def save(name, b): open(t + '/' + name, 'wb').write(b)
x = bytearray(d); x[18:20] = struct.pack('<H', 21); save('h-wrong-machine', x)        # EM_PPC64
x = bytearray(d); x[4] = 1; save('h-elfclass32', x)                                    # ELFCLASS32
x = bytearray(d); x[0x28:0x30] = struct.pack('<Q', len(d) + 4096); save('h-shoff-past-end', x)
x = bytearray(d); x[0x3c:0x3e] = struct.pack('<H', 60000); save('h-shnum-absurd', x)
shoff = struct.unpack_from('<Q', d, 0x28)[0]
x = bytearray(d); struct.pack_into('<Q', x, shoff + 64 * 5 + 24, len(d) * 2); save('h-section-past-end', x)
x = bytearray(d); x[0x38:0x3a] = struct.pack('<H', 5000); save('h-phnum-absurd', x)
save('h-not-elf', b'#!/bin/sh\necho hi\n' * 10)
PY
for h in "$T"/h-*; do
  n=$(basename "$h")
  expect 2 "$n" -- "$C" rewrite "$h" -o "$T/o-$n"; no_output "$T/o-$n" "$n"; one_line "$n"
done
echo "rewrite-props: $pass passed, $fail failed"
[ "$fail" = 0 ]

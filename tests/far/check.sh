#!/usr/bin/env bash
# tests/far/check.sh B QEMU ROOT - see tests/far/rules.mk.
set -u
B=$1 QEMU=$2 ROOT=$3
C=$B/asan/callirw
LIEF=$B/tools/lief_check
T=$B/tests/far
fails=0
fail() { echo "check-far: $*"; fails=$((fails + 1)); }
run() { $QEMU -L "$ROOT" "$1" > "$1.out" 2>&1; }

# The output must satisfy the independent readers as well as the input does.
readers() {
  local in=$1 out=$2
  eu-elflint --gnu-ld --quiet "$out" > "$out.elflint" 2>&1 ||
    { eu-elflint --gnu-ld --quiet "$in" > "$in.elflint" 2>&1;
      cmp -s "$out.elflint" "$in.elflint" || fail "$out: eu-elflint objects: $(head -3 "$out.elflint")"; }
  llvm-readobj --all "$out" 2>&1 > /dev/null | grep -i warning > "$out.readobj" &&
    fail "$out: llvm-readobj warns: $(head -2 "$out.readobj")"
  "$LIEF" "$out" --loaded .callirw.text --loaded .callirw.veneer > /dev/null ||
    fail "$out: LIEF does not find the veneer and stub sections loaded"
}

# rewrite_ok IN VENEERS REWRITTEN LEFT: the rewrite succeeds with that many
# veneers and sites; the original and the output run (exit 0), the output
# also after strip, and the readers accept it.
rewrite_ok() {
  local in=$1 nv=$2 nr=$3 nl=$4 out=$1.rw
  rm -f "$out" "$out.stripped"
  run "$in" || fail "$in: the original fails under $QEMU"
  "$C" rewrite "$in" --dry-run > "$in.plan" || fail "$in: dry run fails"
  grep -q "^plan: .*, $nv range-extension veneers\?$" "$in.plan" ||
    fail "$in: expected $nv veneer(s): $(head -1 "$in.plan")"
  "$C" rewrite "$in" -o "$out" > "$in.rewrite" || { fail "$in: rewrite fails"; return; }
  grep -q "rewrote $nr sites\? ($nl left)" "$in.rewrite" ||
    fail "$in: expected $nr rewritten and $nl left: $(cat "$in.rewrite")"
  run "$out" || fail "$out: the rewritten program fails: $(head -3 "$out.out")"
  cmp -s "$in.out" "$out.out" || fail "$out: prints something else than the original"
  aarch64-linux-gnu-strip -o "$out.stripped" "$out"
  run "$out.stripped" || fail "$out: fails after strip"
  readers "$in" "$out"
  # The veneers carry the sites: a veneer that jumps nowhere must break it.
  local va off
  va=$(sed -n 's/.*through the veneer at 0x\([0-9a-f]*\).*/\1/p' "$in.plan" | head -1)
  off=$(aarch64-linux-gnu-readelf -SW "$out" | awk '$2 == ".callirw.veneer" { print $5 }')
  [ -n "$va" ] && [ -n "$off" ] || { fail "$out: no veneer section or address"; return; }
  cp "$out" "$out.broken"
  # the veneer's br x16 (third word) becomes udf #0
  printf '\0\0\0\0' | dd of="$out.broken" bs=1 seek=$((0x$off + 8)) conv=notrunc status=none
  { run "$out.broken"; } 2> /dev/null && fail "$out: still runs with its veneer broken: the veneer is not used"
  rm -f "$out.broken"
}

# rewrite_none IN: no site can reach: exit 1, no output, the reason given.
rewrite_none() {
  local in=$1 out=$1.rw
  rm -f "$out"
  "$C" rewrite "$in" -o "$out" > "$in.rewrite" 2>&1
  local rc=$?
  [ "$rc" = 1 ] && [ ! -e "$out" ] || fail "$in: expected exit 1 and no file, got $rc"
  grep -q "left: its stub .* beyond the 128 MiB reach of BL/B; a veneer in reach would be over 4 GiB from it" \
    "$in.rewrite" || fail "$in: the reason is missing: $(head -2 "$in.rewrite")"
}

rewrite_ok "$T/big" 1 2 2
grep -c "left: its stub .*no room for a veneer within reach" "$T/big.plan" | grep -qx 2 ||
  fail "big: sites before the filler should be left for want of veneer room"
rewrite_ok "$B/tests/elf_a64/exe-veneer" 1 3 0
rewrite_none "$B/tests/elf_a64/exe-veneer-abs"
rewrite_none "$B/tests/elf_a64/pie-veneer"

[ "$fails" = 0 ] && echo "check-far: veneers carry the far sites (big text + bss, 512 MiB helper), the rest are left with reasons; runs, strip, readers ok"
exit $((fails > 0))

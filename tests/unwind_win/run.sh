#!/bin/sh
# tests/unwind_win/run.sh B VARIANT... - check-unwind-win (tests/unwind_win/rules.mk).
# For each B/tests/unwind_win/VARIANT.exe: run it under wine; its walks, names
# only, must be expected.txt (every walk reaches main through the helper);
# rewrite it; the rewritten image must print exactly the same (names and
# return-address offsets), also after x86_64-w64-mingw32-strip; every stub
# `inspect --json` reports framed has a RUNTIME_FUNCTION (llvm-readobj
# --unwind), the exception directory stays sorted and disjoint, and LIEF
# parses the output. Uses the generator's wine prefix
# (build/gen/wineprefix) under the same shared lock as tests/gen/run.sh.
set -eu
B=$1; shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${CALLIRW:-$ROOT/$B/asan/callirw}
LIEF=$ROOT/$B/tools/lief_check
D=$ROOT/$B/tests/unwind_win
WINE=/usr/lib/wine/wine64 WINESERVER=/usr/lib/wine/wineserver
PREFIX=$ROOT/$B/gen/wineprefix
mkdir -p "$PREFIX"
exec 9>"$PREFIX.lock"
flock -x 9
[ -f "$PREFIX/system.reg" ] || WINEDEBUG=-all WINEPREFIX="$PREFIX" "$WINE" cmd.exe /c exit >/dev/null 2>&1 9>&- || true
flock -s 9
WINEPREFIX="$PREFIX" "$WINESERVER" -p >/dev/null 2>&1 9>&- || true
trap 'if flock -x -n 9; then WINEPREFIX="$PREFIX" "$WINESERVER" -k >/dev/null 2>&1 9>&- || true; fi' EXIT

fail() { echo "check-unwind-win: $v: $*"; exit 1; }
run() { # run EXE OUT
  (cd "$(dirname "$1")" && WINEDEBUG=-all WINEPREFIX="$PREFIX" timeout -k 5 60 "$WINE" "$(basename "$1")" > "$2" 2> "$2.err" 9>&-)
}
for v in "$@"; do
  p=$D/$v
  run "$p.exe" "$p.before" || fail "exits $? before the rewrite (see $p.before.err)"
  sed 's/+0x[0-9a-f]*//g' "$p.before" | cmp -s - "$ROOT/tests/unwind_win/expected.txt" ||
    { sed 's/+0x[0-9a-f]*//g' "$p.before" | diff "$ROOT/tests/unwind_win/expected.txt" - || true; fail "the helper's walks are wrong"; }
  rm -f "$p.rw.exe"
  "$C" rewrite "$p.exe" -o "$p.rw.exe" > "$p.rewrite.log" 2>&1 ||
    fail "rewrite failed: $(grep -m1 . "$p.rewrite.log" || echo "exit status without a message")"
  run "$p.rw.exe" "$p.after" || fail "exits $? after the rewrite (see $p.after.err)"
  cmp -s "$p.before" "$p.after" || { diff "$p.before" "$p.after" || true; fail "walks differ after the rewrite"; }
  "$C" inspect --json "$p.rw.exe" > "$p.inspect.json" || fail "inspect --json failed"
  llvm-readobj --unwind "$p.rw.exe" > "$p.unwind" 2>&1 || fail "llvm-readobj --unwind failed"
  base=$(llvm-readobj --file-headers "$p.rw.exe" | sed -n 's/^ *ImageBase: //p')
  for a in $(jq -r '.stubs[] | select(.frame) | .address' "$p.inspect.json"); do
    grep -q "StartAddress: .*($(printf '0x%X' "$a"))\$" "$p.unwind" ||
      grep -q "StartAddress: .*($(printf '0x%X' $((a + base))))\$" "$p.unwind" ||
      fail "no RUNTIME_FUNCTION for the framed stub at $(printf '%#x' "$a")"
  done
  # sorted and disjoint, as RtlLookupFunctionEntry's bisection needs
  sed -n 's/^    \(StartAddress\|EndAddress\):.*(\(0x[0-9A-Fa-f]*\))$/\2/p' "$p.unwind" | {
    prev=0; while read -r s && read -r e; do
      [ $((s)) -ge $((prev)) ] && [ $((e)) -gt $((s)) ] || { echo "[$s, $e) after $prev"; exit 1; }; prev=$e
    done; } > "$p.pdata" || fail "the exception directory is not sorted and disjoint: $(cat "$p.pdata")"
  "$LIEF" "$p.rw.exe" > "$p.lief" 2>&1 || { cat "$p.lief"; fail "LIEF cannot parse the output"; }
  x86_64-w64-mingw32-strip -o "$p.rw.stripped.exe" "$p.rw.exe"
  run "$p.rw.stripped.exe" "$p.stripped" || fail "exits $? after strip"
  cmp -s "$p.before" "$p.stripped" || fail "differs after strip"
  echo "check-unwind-win: $v ok (RtlCaptureStackBackTrace and RtlVirtualUnwind walks identical through stubs; LIEF, strip ok)"
done

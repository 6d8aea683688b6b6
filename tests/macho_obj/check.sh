#!/usr/bin/env bash
# tests/macho_obj/check.sh - rewriting Mach-O objects (docs/macho-objects.md).
#
#   tests/macho_obj/check.sh [--seeds N] [-j N] [--keep DIR]
#
# For N generator seeds per target (x86_64-macos, arm64-macos): build the
# seed's prog.o and sites.o, rewrite sites.o with the ASan/UBSan callirw and
# check the output independently of callirw's own reader where it can:
#  - llvm-otool-14 -l, llvm-objdump-14 --macho -d -r and --unwind-info accept it,
#    and LIEF's C API parses it (build/tools/lief_check);
#  - no branch relocation (BRANCH / BR26 / x86-64 GOT) names the helper any
#    more; exactly as many name a ___callirw_stub_ symbol as sites were
#    rewritable in sites.o (callirw scan);
#  - every stub symbol is a weak private external definition;
#  - callirw scan finds no site in the output, callirw inspect shows the map
#    with the same counts, and rewriting the output again is a no-op (exit 1,
#    no file);
#  - ld64.lld-14 links prog.o + the output + the runtime into an executable
#    in which each stub is defined once;
#  - a second copy of sites.S (its global names renamed, its functions given
#    CFI so that it has compact unwind of its own), rewritten, links
#    with the first: every site of both branches to a ___callirw_stub_
#    symbol, and the linked __callirw section is no larger than one object's
#    (the weak definitions coalesced). Odd seeds also mark both copies
#    .subsections_via_symbols (one stub section with a symbol per stub), even
#    seeds do not (one stub section per stub).
#  - arm64: in a copy of sites.S with linker optimisation hints, those that
#    name a site are dropped and the others kept.
# The runtime archive is build/<target>/libcalli_runtime.a when it exists;
# otherwise the link uses -undefined dynamic_lookup (only the stub symbols'
# definitions are checked, and those come from the rewritten objects).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEEDS=20
JOBS=2
KEEP=
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    -j) JOBS=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "usage: $0 [--seeds N] [-j N] [--keep DIR]" >&2; exit 2 ;;
  esac
done

B="$ROOT/build"
CALLIRW="$B/asan/callirw"
GEN="$B/gen/callirw-gen"
for t in "$CALLIRW" "$GEN"; do
  [ -x "$t" ] || { echo "check-macho-obj: $t is not built" >&2; exit 1; }
done
W=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/macho-obj.XXXXXX")}
mkdir -p "$W"
[ -n "$KEEP" ] || trap 'rm -rf "$W"' EXIT

# A stand-in libSystem: what the generated programs import, and the binder.
cat > "$W/libsystem.s" <<'EOF'
	.text
	.globl dyld_stub_binder, _write, _abort, ___stack_chk_fail, _exit
dyld_stub_binder:
_write:
_abort:
___stack_chk_fail:
_exit:
	ret
	.data
	.globl ___stack_chk_guard
___stack_chk_guard:
	.quad 0
EOF
for a in x86_64 arm64; do
  clang --target=$a-apple-macos11 -c "$W/libsystem.s" -o "$W/libsystem_$a.o"
  ld64.lld-14 -arch $a -platform_version macos 11.0 11.0 -dylib \
    -install_name /usr/lib/libSystem.B.dylib -o "$W/libSystem_$a.dylib" "$W/libsystem_$a.o"
done

export ROOT B CALLIRW GEN W KEEP

one() { # target seed: prints nothing on success, one line on failure
  local t=$1 s=$2 a d
  a=${t%-macos}
  d="$W/$t/seed-$s"
  fail() { echo "FAIL $t seed $s: $*"; exit 1; }
  rm -rf "$d"
  "$GEN" --target "$t" --seed "$s" -o "$d" > /dev/null 2>&1 || fail "callirw-gen"
  cd "$d"
  CALLI_ROOT=$ROOT ./build.sh > build.log 2>&1 || fail "build.sh (see $d/build.log)"
  local nok
  nok=$("$CALLIRW" scan sites.o 2>&1 | sed -n 's/^[0-9]* sites\{0,1\}: \([0-9]*\) rewritable.*/\1/p')
  [ -n "$nok" ] && [ "$nok" -gt 0 ] || fail "scan of sites.o finds no rewritable site"

  "$CALLIRW" rewrite sites.o -o sites.rw.o > rewrite.log 2>&1 || fail "rewrite: $(tail -n 1 rewrite.log)"
  llvm-otool-14 -l sites.rw.o > otool.txt 2> otool.err && [ ! -s otool.err ] || fail "otool -l: $(head -n 1 otool.err)"
  llvm-objdump-14 --macho -d -r sites.rw.o > dis.txt 2> dis.err && [ ! -s dis.err ] || fail "objdump -d -r: $(head -n 1 dis.err)"
  llvm-objdump-14 --macho --unwind-info sites.rw.o > unw.txt 2> unw.err && [ ! -s unw.err ] || fail "objdump --unwind-info: $(head -n 1 unw.err)"
  "$ROOT/build/tools/lief_check" sites.rw.o > lief.txt 2>&1 || fail "LIEF cannot parse sites.rw.o: $(tail -n 1 lief.txt)"

  # relocations: none to the helper by a branch (or x86-64 GOT call), one per site to a stub
  local helper_br stub_br nstub
  helper_br=$(grep -cE '(BRANCH|BR26|[[:space:]]GOT[[:space:]]).*[[:space:]]_GenericPInvokeCalliHelper$' dis.txt || true)
  stub_br=$(grep -cE '(BRANCH|BR26).*[[:space:]]___callirw_stub_' dis.txt || true)
  [ "$helper_br" = 0 ] || fail "$helper_br branch relocations still name the helper"
  [ "$stub_br" = "$nok" ] || fail "$stub_br branch relocations name a stub, $nok sites were rewritable"
  nstub=$(llvm-nm-14 -m sites.rw.o | grep -c '(__TEXT,__callirw) weak private external ___callirw_stub_' || true)
  [ "$nstub" -gt 0 ] || fail "no weak private external stub symbol"
  [ "$(llvm-nm-14 sites.rw.o | grep -c '___callirw_stub_')" = "$nstub" ] || fail "a stub symbol of another kind"
  # a framed stub has a compact unwind entry; then every stub has one
  if grep -q 'sectname __compact_unwind' otool.txt; then
    [ "$(grep -c 'start: .*___callirw_stub_' unw.txt || true)" = "$nstub" ] || fail "compact unwind entries do not cover every stub"
  fi

  # callirw's own view
  "$CALLIRW" scan sites.rw.o > rescan.txt 2>&1 || true
  grep -qE '^no sites$|^[0-9]+ sites?: 0 rewritable' rescan.txt || fail "scan of the output: $(tail -n 1 rescan.txt)"
  "$CALLIRW" inspect sites.rw.o > inspect.txt 2>&1 || fail "inspect: $(tail -n 1 inspect.txt)"
  grep -q "rewritten by callirw: $nstub stubs\?, $nok sites\?" inspect.txt || fail "inspect does not show the map ($(grep -m1 rewritten inspect.txt))"
  local rc=0
  "$CALLIRW" rewrite sites.rw.o -o again.o > again.log 2>&1 || rc=$?
  [ "$rc" = 1 ] && [ ! -e again.o ] || fail "rewriting the output again: exit $rc"

  # link
  local rt="$B/$t/libcalli_runtime.a" link=()
  if [ -f "$rt" ]; then link=("$rt"); else link=(-undefined dynamic_lookup); fi
  ld64.lld-14 -arch "$a" -platform_version macos 11.0 11.0 -o prog.rw prog.o sites.rw.o \
    "${link[@]}" "$W/libSystem_$a.dylib" -e _main > link.log 2>&1 || fail "link: $(head -n 1 link.log)"
  [ "$(llvm-nm-14 prog.rw | grep -c ' [tTsS] ___callirw_stub_')" = "$nstub" ] || fail "linked: stubs not defined once each"
  ! llvm-nm-14 -u prog.rw | grep -q callirw || fail "linked: a stub symbol is undefined"
  llvm-objdump-14 --macho --unwind-info prog.rw > /dev/null 2>&1 || fail "linked: objdump --unwind-info"

  # two objects sharing every stub key
  local ss=0
  [ $((s % 2)) = 1 ] && ss=1
  { sed 's/_gen_site_/_gen2_site_/g' sites.S | python3 "$ROOT/tests/macho_obj/add_cfi.py" "$a"
    [ $ss = 0 ] || echo .subsections_via_symbols; } > s2.S
  { cat sites.S; [ $ss = 0 ] || echo .subsections_via_symbols; } > s1.S
  for f in s1 s2; do
    clang --target="$a-apple-macos11" -c $f.S -o $f.o || fail "assemble $f.S"
    "$CALLIRW" rewrite $f.o -o $f.rw.o > $f.log 2>&1 || fail "rewrite $f.o: $(tail -n 1 $f.log)"
  done
  # s2 has compact unwind of its own: it grows by one entry per stub, and moves
  local cu0 cu1
  cu0=$(llvm-objdump-14 --macho --unwind-info s2.o | grep -c 'start:' || true)
  llvm-otool-14 -l s2.rw.o > /dev/null 2>&1 || fail "otool -l s2.rw.o"
  cu1=$(llvm-objdump-14 --macho --unwind-info s2.rw.o 2>&1 | grep -c 'start:' || true)
  [ "$cu0" -gt 0 ] && [ "$cu1" = $((cu0 + nstub)) ] || fail "s2: $cu0 compact unwind entries before, $cu1 after, $nstub stubs"
  if [ $ss = 1 ]; then
    [ "$(llvm-otool-14 -l s1.rw.o | grep -c 'sectname __callirw$')" = 1 ] || fail "subsections: not one stub section"
  else
    [ "$(llvm-otool-14 -l s1.rw.o | grep -c 'sectname __callirw$')" = "$nstub" ] || fail "not one stub section per stub"
  fi
  ld64.lld-14 -arch "$a" -platform_version macos 11.0 11.0 -o prog2.rw prog.o s1.rw.o s2.rw.o \
    "${link[@]}" "$W/libSystem_$a.dylib" -e _main > link2.log 2>&1 || fail "link of two objects: $(head -n 1 link2.log)"
  local calls one_size out_size
  calls=$(llvm-objdump-14 --macho -d prog2.rw | grep -cE '[[:space:]](callq?|jmpq?|bl|b)[[:space:]]+___callirw_stub_' || true)
  [ "$calls" = $((2 * nok)) ] || fail "two objects: $calls branches reach a stub symbol, want $((2 * nok))"
  one_size=0 out_size=0
  for x in $(llvm-otool-14 -l s1.rw.o | awk '/sectname __callirw$/ {c=1; next} c && $1 == "size" {print $2; c=0}'); do
    one_size=$((one_size + x))
  done
  for x in $(llvm-otool-14 -l prog2.rw | awk '/sectname __callirw$/ {c=1; next} c && $1 == "size" {print $2; c=0}'); do
    out_size=$((out_size + x))
  done
  [ "$out_size" -gt 0 ] && [ "$out_size" -le $((one_size + 16 * nstub)) ] || fail "two objects: __callirw is $out_size bytes, one object has $one_size (not coalesced)"

  # arm64: optimisation hints naming a site are dropped, the others kept
  if [ "$a" = arm64 ]; then
    local counts hs hk h0 h1
    counts=$(python3 "$ROOT/tests/macho_obj/add_loh.py" < sites.S 2>&1 > s5.S)
    hs=$(echo "$counts" | sed -n 's/^sites \([0-9]*\) kept.*/\1/p')
    hk=$(echo "$counts" | sed -n 's/.* kept \([0-9]*\)$/\1/p')
    clang --target=arm64-apple-macos11 -c s5.S -o s5.o || fail "assemble s5.S"
    "$CALLIRW" rewrite s5.o -o s5.rw.o > s5.log 2>&1 || fail "rewrite s5.o: $(tail -n 1 s5.log)"
    h0=$(llvm-objdump-14 --macho --link-opt-hints s5.o | grep -c 'identifier 7 AdrpAdd' || true)
    h1=$(llvm-objdump-14 --macho --link-opt-hints s5.rw.o | grep -c 'identifier 7 AdrpAdd' || true)
    [ "$h0" = $((hs + hk)) ] || fail "s5.o: $h0 hints, want $hs + $hk"
    [ "$hs" != "$nok" ] || [ "$h1" = "$hk" ] || fail "s5.rw.o: $h1 hints left, want the $hk that name no site"
  fi
  [ -n "${KEEP}" ] || { cd /; rm -rf "$d"; }
}
export -f one

t0=$(date +%s)
fails=$(for t in x86_64-macos arm64-macos; do
  for s in $(seq 1 "$SEEDS"); do echo "$t $s"; done
done | xargs -P "$JOBS" -L 1 bash -c 'one "$@"' one || true)

# fuzz: hostile copies of one sites.o per target, rewritten under ASan/UBSan:
# any exit but a crash or a sanitizer report is fine
FUZZ=${MACHO_OBJ_FUZZ:-100}
for t in x86_64-macos arm64-macos; do
  fz="$W/fuzz-$t"
  mkdir -p "$fz"
  "$GEN" --target "$t" --seed 1 -o "$fz/src" > /dev/null 2>&1
  clang --target="${t%-macos}-apple-macos11" -c "$fz/src/sites.S" -o "$fz/sites.o"
  python3 "$ROOT/tests/macho_obj/mutate.py" "$fz/sites.o" "$fz" "$FUZZ" 1
  for m in "$fz"/m*.o; do
    rc=0
    "$CALLIRW" rewrite "$m" -o "$fz/out.o" > /dev/null 2> "$fz/err" || rc=$?
    if [ "$rc" -ge 128 ] || grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$fz/err"; then
      fails="$fails${fails:+
}FAIL $t fuzz $(basename "$m"): exit $rc: $(grep -m1 -E 'ERROR|runtime error' "$fz/err" | cut -c1-200) (kept in $fz)"
      KEEP=${KEEP:-$W}; trap - EXIT
    fi
    rm -f "$fz/out.o"
  done
done
n=$((2 * SEEDS))
nf=$(printf '%s' "$fails" | grep -c '^FAIL' || true)
[ -z "$fails" ] || printf '%s\n' "$fails"
echo "check-macho-obj: $n seeds, $((2 * FUZZ)) hostile copies, $nf failures, in $(( $(date +%s) - t0 )) s"
[ "$nf" = 0 ]

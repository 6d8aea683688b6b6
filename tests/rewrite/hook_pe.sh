#!/bin/sh
# tests/rewrite/hook_pe.sh IN OUT - the rewrite step of the generated-program
# tests for x86_64-windows (tests/gen/run.sh --target x86_64-windows
# --post-build), the PE twin of tests/rewrite/hook.sh. For one built seed:
#  1. the image is rewritten: IN (prog.exe) into OUT (prog.post.exe); in mode
#     dll-sites the image is prog.dll, rewritten into prog.post.dll, and OUT
#     is a copy of the launcher, which loads the DLL named like itself
#     (docs/generator.md). run.sh then runs OUT under wine and compares it
#     with expected.txt, like IN;
#  2. the output must satisfy independent checks: `inspect` reads its map;
#     `llvm-readobj --unwind` lists a RUNTIME_FUNCTION starting at every stub
#     that `inspect --json` reports with "frame": true, and the entries stay
#     sorted and disjoint (RtlLookupFunctionEntry bisects); `llvm-readobj --all`
#     reads it without a warning; LIEF parses it (build/tools/lief_check);
#     its DllCharacteristics are those of IN; rewriting IN again (with the
#     plain build/callirw, CALLIRW_PLAIN: the same input through the same
#     code finds nothing new under ASan) gives the same bytes; rewriting
#     OUT is a no-op (exit 1, no file); stripped with
#     x86_64-w64-mingw32-strip it still runs under wine and prints
#     expected.txt;
#  3. the seed's sites.o is rewritten and the program relinked from it by the
#     seed's own build.sh (its link lines, sites.rw.o for sites.o) into objrw/; that
#     program must print expected.txt too. Every third of them (seed % 3 == 0)
#     is also relinked with the other toolchain (gcc <-> clang-lld,
#     GEN_TOOLCHAIN) into objrw-other/, and its optional header must name the
#     linker (MajorLinkerVersion: 2 for GNU ld, >= 10 for lld). Skipped (and
#     logged) for gcc seeds whose sites.o has GNU as' relocation type 0x11,
#     which lld cannot link (see below).
# Depth: every seed gets 1 and 2 but its stripped run; every HOOK_PE_DEEP-th
# seed (seed % HOOK_PE_DEEP == 0; default 4, 1: all) also gets the stripped
# run and 3. Wine runs and links are the cost (docs/generator.md): this keeps
# 200 seeds per mode inside make check's budget.
# Environment from run.sh: GEN_DIR, GEN_SEED, GEN_MODE, GEN_TARGET,
# CALLI_RT_DLL_ROOT (mode dll-rt). REWRITE_LOG, if set, receives one line per
# step: "<seed> <mode> <image|object> <result> <toolchain>".
set -eu
in=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${CALLIRW:-$ROOT/build/asan/callirw}
# the determinism rewrite (same input again) with the plain build, as hook.sh
CPLAIN=${CALLIRW_PLAIN:-$ROOT/build/callirw}
LIEF=$ROOT/build/tools/lief_check
log=${REWRITE_LOG:-/dev/null}
d=$GEN_DIR
WINE=/usr/lib/wine/wine64
WINEPREFIX_DIR=$ROOT/build/gen/wineprefix
tc=$(sed -n 's/^toolchain=//p' "$d/meta.txt")
image=$(sed -n 's/^image=//p' "$d/meta.txt")
[ -n "$tc" ] && [ -n "$image" ] || { echo "rewrite hook: $d/meta.txt has no toolchain/image (old generator?)" >&2; exit 1; }
note() { echo "$GEN_SEED $GEN_MODE $* $tc" >> "$log"; }
fail() { echo "rewrite hook: seed $GEN_SEED ($GEN_MODE, $tc): $*" >&2; exit 1; }

# run_wine DIR EXE TAG: run DIR/EXE under wine (in DIR), stdout to $d/out-TAG.txt,
# stderr to $d/err-TAG.txt; must exit 0 and print expected.txt. One retry
# when wine itself failed (as run.sh). fd 9 (run.sh's lock on the prefix) is
# not passed on.
run_wine() {
  rdir=$1 rexe=$2 rtag=$3
  for try in 1 2; do
    rc=0
    (cd "$rdir" && WINEDEBUG=-all WINEPREFIX="$WINEPREFIX_DIR" timeout -k 5 60 "$WINE" "$rexe" \
       > "$d/out-$rtag.txt" 2> "$d/err-$rtag.txt" 9>&-) || rc=$?
    grep -q '^wine client error' "$d/err-$rtag.txt" || break
  done
  [ "$rc" = 0 ] || fail "$4 exits $rc (see $d/err-$rtag.txt)"
  cmp -s "$d/out-$rtag.txt" "$d/expected.txt" || fail "$4 prints something else (see $d/out-$rtag.txt)"
}

# What sits next to the image when it runs: the launcher (dll-sites, the
# image being prog.dll) or the runtime DLL (dll-rt).
companions() { # companions DIR: make DIR (holding the image) runnable as DIR/prog.exe
  case "$GEN_MODE" in
    dll-sites) cp "$d/prog.exe" "$1/prog.exe" ;;
    dll-rt) cp "$d/calli_runtime.dll" "$1/" ;;
  esac
}

if [ "$GEN_MODE" = dll-sites ]; then
  in=$d/prog.dll
  out_img=$d/prog.post.dll
else
  out_img=$out
fi
rm -f "$out_img" "$d/twice" "$d/again"

# 1. the linked image
if ! "$C" rewrite "$in" -o "$out_img" > "$d/rewrite.log" 2>&1; then
  cat "$d/rewrite.log" >&2
  fail "rewrite failed: $(grep -m1 . "$d/rewrite.log" || echo "exit status without a message")"
fi
[ "$out_img" = "$out" ] || cp "$d/prog.exe" "$out"   # dll-sites: the launcher as OUT, next to prog.post.dll
note image rewritten

# 2. independent checks (one llvm-readobj run and one awk pass for the
#    headers, the unwind table and the stubs' coverage)
"$C" inspect --json "$out_img" > "$d/inspect.json" 2>&1 || fail "inspect --json cannot read the rewrite map"
# one jq run (its start-up is 30 ms): the number of stubs, then the framed ones
jq -r '"count \(.stubs | length)", (.stubs[] | select(.frame) | "stub \(.address) \(.size)")' \
  "$d/inspect.json" > "$d/stubs.jq" || fail "jq cannot read inspect --json's output"
{ read -r _ nstubs; cat; } < "$d/stubs.jq" > "$d/stubs.framed"
[ "${nstubs:-0}" -gt 0 ] || fail "inspect --json lists no stub"
llvm-readobj --all --unwind "$out_img" > "$d/readobj.log" 2>&1 || fail "llvm-readobj cannot read the output"
! grep -qi "warning" "$d/readobj.log" || { grep -i warning "$d/readobj.log" >&2; fail "llvm-readobj warns about the output"; }
# the exception table sorted and disjoint, every framed stub covered
why=$(awk -f "$ROOT/tests/rewrite/pe_unwind.awk" "$d/stubs.framed" "$d/readobj.log") || fail "exception table: $why (see $d/readobj.log)"
dllchar() { awk '/^ImageOptionalHeader/ { o = 1 } o && /Characteristics \[/ { print $NF; exit }' "$1"; }
llvm-readobj --file-headers "$in" > "$d/readobj-in.log" 2>&1 || fail "llvm-readobj cannot read the input"
[ "$(dllchar "$d/readobj-in.log")" = "$(dllchar "$d/readobj.log")" ] ||
  fail "DllCharacteristics changed: $(dllchar "$d/readobj-in.log") -> $(dllchar "$d/readobj.log")"
"$LIEF" "$out_img" > "$d/lief.log" 2>&1 || { cat "$d/lief.log" >&2; fail "LIEF cannot parse the output"; }
set +e; "$C" rewrite "$out_img" -o "$d/again" > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 1 ] && [ ! -e "$d/again" ] || fail "rewriting the output again is not a no-op (exit $rc)"
if [ $((GEN_SEED % ${HOOK_PE_DEEP:-4})) != 0 ]; then
  exit 0
fi
note image deep-checked
"$C" inspect "$out_img" > "$d/inspect.log" 2>&1 || fail "inspect cannot print the rewrite map"
"$CPLAIN" rewrite "$in" -o "$d/twice" > /dev/null 2>&1 && cmp -s "$out_img" "$d/twice" ||
  fail "two rewrites of the same input differ"
# the rewritten image, stripped, must still run the same
rm -rf "$d/stripped"; mkdir -p "$d/stripped"
x86_64-w64-mingw32-strip -o "$d/stripped/$image" "$out_img" || fail "x86_64-w64-mingw32-strip failed"
companions "$d/stripped"
run_wine "$d/stripped" prog.exe stripped "the rewritten image, stripped,"

# 3. the object, rewritten before the link, relinked by the seed's build.sh
"$C" rewrite "$d/sites.o" -o "$d/sites.rw.o" > "$d/rewrite-obj.log" 2>&1 ||
  { cat "$d/rewrite-obj.log" >&2; fail "rewriting sites.o failed: $(grep -m1 . "$d/rewrite-obj.log" || true)"; }
# linker_of IMAGE: gnu-ld or lld, from the optional header's linker version
linker_of() {
  v=$(llvm-readobj --file-headers "$1" | sed -n 's/^ *MajorLinkerVersion: //p')
  if [ "$v" = 2 ]; then echo gnu-ld; elif [ "${v:-0}" -ge 10 ]; then echo lld; else echo "unknown($v)"; fi
}
want_linker() { [ "$1" = gcc ] && echo gnu-ld || echo lld; }
# the seed's build script minus its compile lines (the objects exist), its
# link lines taking sites.rw.o and writing into DIR (launcher and DLL
# together in dll-sites; dll-rt copies the runtime DLL there)
relink() { # relink DIR TOOLCHAIN
  rm -rf "${d:?}/$1"; mkdir -p "$d/$1"
  awk -v dir="$1" '
    / -c / { next }
    / -o prog\.(exe|dll)$/ { sub(/ sites\.o /, " sites.rw.o "); sub(/ -o prog\./, " -o " dir "/prog.") }
    /^cp .*calli_runtime\.dll" \.$/ { sub(/ \.$/, " " dir "/") }
    { print }' "$d/build.sh" > "$d/build-$1.sh"
  GEN_TOOLCHAIN=$2 CALLI_ROOT=$ROOT sh "$d/build-$1.sh" > "$d/build-$1.log" 2>&1 ||
    { cat "$d/build-$1.log" >&2; fail "linking the rewritten sites.o ($1, $2) failed"; }
  grep -q ' sites\.rw\.o ' "$d/build-$1.sh" || fail "no link line of build.sh takes sites.o (see $d/build-$1.sh)"
  [ "$(linker_of "$d/$1/$image")" = "$(want_linker "$2")" ] ||
    fail "the $1 relink was made by $(linker_of "$d/$1/$image"), not $(want_linker "$2")"
  # the relinked image calls stubs, not the helper: scan finds no site (exit
  # 1), or none it could rewrite (dll-rt: the import thunk's jmp [mem] stays,
  # "cookie_unknown")
  set +e; "$C" scan --json "$d/$1/$image" > "$d/scan-$1.json" 2> "$d/scan-$1.err"; rc=$?; set -e
  if [ "$rc" = 0 ]; then
    n=$(jq '[.sites[] | select(.verdict == "ok")] | length' "$d/scan-$1.json" 2>/dev/null || echo "?")
    [ "$n" = 0 ] || fail "the program relinked from sites.rw.o ($1) still calls the helper at $n site(s) (see $d/scan-$1.json)"
  elif [ "$rc" != 1 ]; then
    fail "scan of the relinked program ($1) failed (exit $rc, see $d/scan-$1.err)"
  fi
  run_wine "$d/$1" prog.exe "$1" "the program linked from the rewritten sites.o ($1, $2)"
}
relink objrw "$tc"
note object rewritten
if [ $((GEN_SEED % 3)) = 0 ]; then
  [ "$tc" = gcc ] && other=clang-lld || other=gcc
  # GNU as writes `movq $sym, %r64` (exe-lowbase's imm32s forms) as relocation
  # type 0x11, binutils' own R_X86_64_32S (no IMAGE_REL_AMD64_* value; llvm-readobj:
  # "Unknown"), which lld rejects ("unsupported relocation type 0x11"), in the
  # original sites.o as much as in the rewritten one: no lld relink then.
  if [ "$other" = clang-lld ] && llvm-readobj -r "$d/sites.o" | grep -q '^ *0x[0-9A-F]* Unknown '; then
    echo "$GEN_SEED $GEN_MODE object skipped-other-gnu-reloc $other" >> "$log"
  else
    relink objrw-other "$other"
    echo "$GEN_SEED $GEN_MODE object rewritten-other $other" >> "$log"
  fi
fi

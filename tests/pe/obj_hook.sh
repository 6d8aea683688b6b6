#!/bin/sh
# tests/pe/obj_hook.sh IN OUT - the COFF object writer proven on one
# generated x86_64-windows seed (tests/gen/run.sh --post-build; docs/pe.md,
# "Writing objects"). In the seed's directory (GEN_DIR):
#  1. sites.S is assembled four ways: by GNU as (the seed's sites.o), as
#     /bigobj (-Wa,-mbig-obj), by clang --target=x86_64-w64-mingw32 and by
#     clang --target=x86_64-pc-windows-msvc; each object is rewritten
#     (exit 0), must read back (llvm-readobj without a warning, `inspect`
#     finds the map), rewriting it again is a no-op (exit 1), and rewriting
#     the input twice gives the same bytes;
#  2. each rewritten object is linked with the seed's own link line from
#     build.sh (mingw gcc + GNU ld) or with clang + lld (mingw driver),
#     alternating; the GNU as object with both. The GNU ld link of the GNU
#     as object is OUT, which run.sh runs and compares; the others are run
#     here under wine and compared with expected.txt byte for byte;
#  3. every linked program has exactly as many RUNTIME_FUNCTIONs as the same
#     link of the unrewritten object plus one per framed stub, no .crwmap
#     section, and (GNU ld keeps a symbol table) each stub symbol once, with
#     a RUNTIME_FUNCTION starting inside each framed stub.
# Environment from run.sh: GEN_DIR, GEN_SEED, GEN_MODE, GEN_TARGET.
# CALLIRW (default build/asan/callirw); OBJ_LOG, if set, receives one line
# per linked program: "<seed> <flavour> <linker> ok".
set -eu
in=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${CALLIRW:-$ROOT/build/asan/callirw}
LIB=${CALLI_RT_LIB:-$ROOT/build/x86_64-windows/libcalli_runtime.a}
LLD_CC="clang --target=x86_64-w64-mingw32 -fuse-ld=lld -L$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")"
WINE=/usr/lib/wine/wine64
log=${OBJ_LOG:-/dev/null}
d=$GEN_DIR
seed=${GEN_SEED:-?}
fail() { echo "obj hook: seed $seed: $*" >&2; exit 1; }
[ "$GEN_TARGET" = x86_64-windows ] || fail "target $GEN_TARGET is not x86_64-windows"
cd "$d"
mkdir -p obj
# The seed's link line: "$CC prog.o sites.o "$LIB" -o prog.exe" (build.sh).
link=$(grep -E '^\$CC .*sites\.o.* -o prog\.exe' build.sh | tail -1)
[ -n "$link" ] || fail "no link line for prog.exe in build.sh"

# do_link LINKER OBJ EXE: the seed's link line with OBJ for sites.o (EXE.log)
do_link() {
  l=$(printf '%s\n' "$link" | sed -e "s| sites\.o | $2 |" -e "s| -o prog\.exe| -o $3|")
  # CC names the linker (the seed's own toolchain is chosen by build.sh's
  # LDFLAGS, which this replaces)
  LDFLAGS=
  case $1 in
    ld) CC=x86_64-w64-mingw32-gcc ;;
    lld) CC=$LLD_CC ;;
  esac
  eval "$l" > "$3.log" 2>&1
}

nrf() { llvm-readobj --unwind "$1" | grep -c 'RuntimeFunction {' || true; }

# check_exe LINKER OBJ RWOBJ EXE: unwind entries, stubs, no map (EXE.base.exe,
# the same link of OBJ, is made first by variant)
check_exe() {
  base=$(nrf "$4.base.exe")
  got=$(nrf "$4")
  framed=$(jq '[.stubs[] | select(.frame)] | length' "$3.json")
  [ "$got" -eq $((base + framed)) ] ||
    fail "$4: $got RUNTIME_FUNCTIONs, expected $base + $framed framed stubs"
  ! llvm-objdump -h "$4" | grep -q crwmap || fail "$4 carries the .crwmap section"
  if [ "$1" = ld ]; then
    llvm-readobj --unwind "$4" | sed -n 's/.*StartAddress:.*(0x\(.*\))$/\1/p' > "$4.starts"
    x86_64-w64-mingw32-nm "$4" > "$4.nm"
    for k in $(jq -r '.stubs[] | "\(.key),\(.size),\(.frame)"' "$3.json"); do
      key=${k%%,*} rest=${k#*,}; size=${rest%%,*}; frame=${rest#*,}
      n=$(grep -c " T __callirw_stub_${key}\$" "$4.nm" || true)
      [ "$n" = 1 ] || fail "$4: $n definitions of __callirw_stub_$key"
      [ "$frame" = true ] || continue
      a=$(sed -n "s/^\([0-9a-f]*\) T __callirw_stub_${key}\$/\1/p" "$4.nm")
      lo=$((0x$a)) found=
      while read -r h; do
        v=$((0x$h))
        if [ "$v" -ge "$lo" ] && [ "$v" -lt $((lo + size)) ]; then found=1; fi
      done < "$4.starts"
      [ -n "$found" ] ||
        fail "$4: no RUNTIME_FUNCTION in the stub __callirw_stub_$key"
    done
  fi
}

run_exe() {
  rc=0
  WINEDEBUG=-all WINEPREFIX=$ROOT/build/gen/wineprefix timeout -k 5 60 $WINE "$1" > "$1.txt" 2> "$1.err" 9>&- || rc=$?
  cmp -s "$1.txt" expected.txt || fail "$1 prints other than expected.txt (exit $rc; see $d/$1.txt)"
  [ "$rc" = 0 ] || fail "$1 exits with $rc"
}

# rewrite OBJ RWOBJ: the object-level checks
rewrite() {
  "$C" rewrite "$1" -o "$2" > "$2.log" 2>&1 || { cat "$2.log" >&2; fail "rewrite $1 failed"; }
  "$C" rewrite "$1" -o "$2.again" > /dev/null 2>&1 || fail "second rewrite of $1 failed"
  cmp -s "$2" "$2.again" || fail "rewriting $1 twice gives different bytes"
  llvm-readobj --sections --relocs --symbols "$2" > "$2.readobj" 2>&1 || fail "llvm-readobj cannot read $2"
  ! grep -qi 'warning' "$2.readobj" || fail "llvm-readobj warns about $2"
  "$C" inspect --json "$2" > "$2.json" 2> "$2.inspect.err" || fail "inspect cannot read the map of $2"
  rc=0; "$C" rewrite "$2" -o "$2.twice" > /dev/null 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "rewriting $2 again exits with $rc, not 1"
}

x86_64-w64-mingw32-gcc -c -Wa,-mbig-obj sites.S -o obj/sites-bigobj.o
clang --target=x86_64-w64-mingw32 -c sites.S -o obj/sites-clang.o
clang --target=x86_64-pc-windows-msvc -c sites.S -o obj/sites-msvc.obj

# variant NAME LINKER OBJ RWOBJ EXE RUN: link OBJ (the baseline) and RWOBJ
# with LINKER, check, and run EXE when RUN is 1. lld cannot link what GNU as
# makes of exe-lowbase's "mov r11d, imm32" (type 0x11, bfd's 32-bit
# sign-extended absolute) even unrewritten: that variant is skipped, logged.
variant() {
  if ! do_link "$2" "$3" "$5.base.exe"; then
    [ "$2" = lld ] || fail "$2 cannot link the unrewritten $3"
    echo "$seed $1 $2 skipped-unlinkable" >> "$log"
    return 0
  fi
  do_link "$2" "$4" "$5" || { cat "$5.log" >&2; fail "$2 cannot link $4"; }
  check_exe "$2" "$3" "$4" "$5"
  [ "$6" = 0 ] || run_exe "$5"
  echo "$seed $1 $2 ok" >> "$log"
}

# GNU as object, both linkers (the ld one is OUT, run by run.sh)
rewrite sites.o obj/sites.rw.o
variant gas ld sites.o obj/sites.rw.o "$out" 0
variant gas lld sites.o obj/sites.rw.o obj/prog-gas-lld.exe 1
# the other flavours, one linker each, alternating with the seed
odd=$(( ${GEN_SEED:-0} % 2 ))
for f in bigobj:sites-bigobj.o clang:sites-clang.o msvc:sites-msvc.obj; do
  name=${f%%:*} o=obj/${f#*:}
  if [ "$odd" = 1 ]; then lk=ld; else lk=lld; fi
  odd=$((1 - odd))
  rewrite "$o" "$o.rw"
  variant "$name" "$lk" "$o" "$o.rw" "obj/prog-$name-$lk.exe" 1
done
[ -e "$out" ] || fail "GNU ld did not make $out"
exit 0

#!/bin/sh
# tests/rewrite/hook.sh IN OUT - the rewrite step of the generated-program
# tests (tests/gen/run.sh --post-build). For one built seed:
#  1. the linked program IN is rewritten into OUT (run.sh then runs OUT and
#     compares it with expected.txt, like IN);
#  2. OUT must satisfy independent checks: eu-elflint reports nothing it did
#     not report for IN, llvm-readobj reads it without a warning, LIEF parses
#     it and finds the new sections loaded, it has as many dynamic
#     relocations as IN, `inspect` reads its map, rewriting IN again (with
#     the plain build/callirw: ASan would find nothing new on the same input
#     and code) gives the same bytes, rewriting OUT is a no-op (exit 1), and
#     OUT still runs the same after `strip`;
#  3. the seed's sites.o is rewritten and the program relinked from it with
#     the seed's own link command; that program must print expected.txt too
#     (every third seed also with ld.lld);
#  4. arm64 BTI seeds (meta.txt bti=yes, docs/generator.md): the image, its
#     rewrite and the relinked program carry the BTI property, `scan --json`
#     says "bti": true (false for the other arm64 seeds), and every stub, in
#     the image and in the object, starts with bti c. They run under a qemu
#     that enforces BTI (tests/rewrite/bti_control.sh proves it does).
# Depth: the stripped run is made on every HOOK_DEEP-th seed (seed %
# HOOK_DEEP == 0; default 2; HOOK_DEEP=1 in the environment: every seed).
# Everything else, the object relinks included (the objects rewritten
# before the link are one of the modes that need 200 seeds), runs on every
# seed.
# -static links are rewritten like the others (docs/elf.md: their notes are
# merged or the stubs go after the executable segment) and pass the same
# checks.
# Environment from run.sh: GEN_DIR, GEN_SEED, GEN_MODE, GEN_TARGET.
# REWRITE_LOG, if set, receives one line per step: "<seed> <mode> <what> <result>",
# with " bti" appended for BTI seeds.
set -eu
in=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$ROOT/build/asan/callirw
# the second rewrite of the same input (determinism) uses the plain build:
# the same input through the same code again finds nothing new under ASan,
# and the plain build must then write the same bytes as the ASan one
CPLAIN=${CALLIRW_PLAIN:-$ROOT/build/callirw}
LIEF=$ROOT/build/tools/lief_check
log=${REWRITE_LOG:-/dev/null}
d=$GEN_DIR
bti=$(sed -n 's/^bti=//p' "$d/meta.txt")   # arm64 only: yes or no
tag=; if [ "$bti" = yes ]; then tag=" bti"; fi
note() { echo "$GEN_SEED $GEN_MODE $*$tag" >> "$log"; }
# how programs of this target run, and its binutils
case "$GEN_TARGET" in
  aarch64-linux) RUN="qemu-aarch64 -L /usr/aarch64-linux-gnu"; STRIP=aarch64-linux-gnu-strip; NM=aarch64-linux-gnu-nm
                 READELF=aarch64-linux-gnu-readelf; OBJDUMP=aarch64-linux-gnu-objdump ;;
  *) RUN=""; STRIP=strip; NM=nm; READELF=readelf; OBJDUMP=objdump ;;
esac
fail() { echo "rewrite hook: seed $GEN_SEED ($GEN_MODE): $*" >&2; exit 1; }
# BTI seeds: FILE carries GNU_PROPERTY_AARCH64_FEATURE_1_BTI
bti_marked() { $READELF -n "$1" 2>/dev/null | grep -q "AArch64 feature:.*BTI"; }

# In mode shared-sites the sites live in libprog.so, loaded by the launcher
# IN: the library is what gets rewritten, and OUT is the launcher, copied
# next to the rewritten library (it finds it through $ORIGIN).
exe=$in
if [ "$GEN_MODE" = shared-sites ]; then
  mkdir -p "$d/rw"
  cp "$in" "$d/rw/prog"
  in=$d/libprog.so
  out_img=$d/rw/libprog.so
else
  out_img=$out
fi

# 4. (first half) what the scanner says about BTI, for every arm64 seed
if [ -n "$bti" ]; then
  "$C" scan --json "$in" > "$d/scan.json" 2> "$d/scan.err" || [ $? = 1 ] || fail "scan failed"
  [ "$(jq -r .bti "$d/scan.json")" = "$([ "$bti" = yes ] && echo true || echo false)" ] ||
    fail "scan --json says bti $(jq -r .bti "$d/scan.json") for a seed built with bti=$bti"
  [ "$bti" = no ] || bti_marked "$in" || fail "a BTI seed's image is not marked BTI (build recipe)"
fi

# 1. the linked image
if "$C" rewrite "$in" -o "$out_img" > "$d/rewrite.log" 2>&1; then
  [ "$out_img" = "$out" ] || ln -sf "$d/rw/prog" "$out"
  out=$out_img
  # (a -static link is counted apart: no PT_INTERP, ET_EXEC)
  if readelf -lW "$in" | grep -q INTERP || [ "$GEN_MODE" != nopie ]; then note image rewritten
  else note image rewritten-static; fi
  # 2. independent checks
  [ "$(readelf -rW "$in" | grep -c '^[0-9a-f]\{16\}')" = "$(readelf -rW "$out" | grep -c '^[0-9a-f]\{16\}')" ] ||
    fail "the number of dynamic relocations changed"
  "$C" inspect "$out" > "$d/inspect.log" 2>&1 || fail "inspect cannot read the rewrite map"
  if [ "$bti" = yes ]; then
    bti_marked "$out" || fail "the rewritten image lost the BTI property"
    "$C" inspect --json "$out" > "$d/inspect.json" || fail "inspect --json failed"
    $OBJDUMP -d -j .callirw.text "$out" > "$d/stubs.dis"
    for a in $(jq -r '.stubs[].address' "$d/inspect.json"); do
      grep -q "^ *$(printf %x "$a"):[[:space:]]*d503245f" "$d/stubs.dis" ||
        fail "the stub at $(printf %#x "$a") does not start with bti c (see $d/stubs.dis)"
    done
  fi
  set +e; "$C" rewrite "$out" -o "$d/again" > /dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 1 ] && [ ! -e "$d/again" ] || fail "rewriting the output again is not a no-op (exit $rc)"
  eu-elflint --gnu-ld "$in" 2>&1 | sed "s|$in|IMAGE|g" > "$d/elflint.in" || true
  eu-elflint --gnu-ld "$out" 2>&1 | sed "s|$out|IMAGE|g" > "$d/elflint.out" || true
  cmp -s "$d/elflint.in" "$d/elflint.out" || { diff "$d/elflint.in" "$d/elflint.out" >&2; fail "eu-elflint objects to the output"; }
  "$LIEF" "$out" --loaded .callirw.text --loaded .callirw.map --loaded .eh_frame_hdr > "$d/lief.log" 2>&1 ||
    { cat "$d/lief.log" >&2; fail "LIEF does not see the new sections loaded"; }
  llvm-readobj --all "$out" > "$d/readobj.log" 2>&1 || fail "llvm-readobj cannot read the output"
  ! grep -qi "warning" "$d/readobj.log" || { grep -i warning "$d/readobj.log" >&2; fail "llvm-readobj warns about the output"; }
  "$CPLAIN" rewrite "$in" -o "$d/twice" > /dev/null 2>&1 && cmp -s "$out" "$d/twice" ||
    fail "two rewrites of the same input differ"
  # the rewritten image, stripped, must still run the same (every
  # HOOK_DEEP-th seed: header comment)
  if [ $((GEN_SEED % ${HOOK_DEEP:-2})) = 0 ]; then
    note image stripped-and-run
    mkdir -p "$d/stripped"
    if [ "$GEN_MODE" = shared-sites ]; then
      cp "$exe" "$d/stripped/prog"; $STRIP -o "$d/stripped/libprog.so" "$out"
    else
      $STRIP -o "$d/stripped/prog" "$out"
    fi
    set +e; timeout 60 $RUN "$d/stripped/prog" > "$d/out-stripped.txt" 2>&1; rc=$?; set -e
    [ "$rc" = 0 ] && cmp -s "$d/out-stripped.txt" "$d/expected.txt" ||
      fail "the rewritten image does not run the same after strip (exit $rc)"
  fi
else
  cat "$d/rewrite.log" >&2
  fail "rewrite failed"
fi

# 3. the object, rewritten before the link
"$C" rewrite "$d/sites.o" -o "$d/sites.rw.o" > "$d/rewrite-obj.log" 2>&1 ||
  { cat "$d/rewrite-obj.log" >&2; fail "rewriting sites.o failed"; }
# the seed's build script, minus its compile lines (the objects exist), its
# links taking sites.rw.o and writing into objrw/ (launcher and library
# together in shared-sites mode)
relink() { # relink DIR [LINKER-FLAG]
  awk -v dir="$1" -v ld="${2:-}" '
    / -c / { next }
    /-o (prog|libprog\.so)$/ {
      gsub(/sites\.o/, "sites.rw.o"); gsub(/\.\/libprog\.so/, dir "/libprog.so")
      sub(/-o prog$/, ld " -o " dir "/prog"); sub(/-o libprog\.so$/, ld " -o " dir "/libprog.so")
    }
    { print }' "$d/build.sh" > "$d/build-$1.sh"
  mkdir -p "$d/$1"
  CALLI_ROOT=$ROOT sh "$d/build-$1.sh" > "$d/build-$1.log" 2>&1 ||
    { cat "$d/build-$1.log" >&2; fail "linking the rewritten sites.o ($1) failed"; }
  [ "$GEN_MODE" = shared-sites ] && bin=$d/$1/libprog.so || bin=$d/$1/prog
  $NM -p "$bin" | grep -q __callirw_stub_ || fail "the relinked program ($1) has no stubs"
  [ "$bti" != yes ] || bti_marked "$bin" || fail "the relinked program ($1) is not marked BTI"
  set +e; timeout 60 $RUN "$d/$1/prog" > "$d/out-$1.txt" 2> "$d/err-$1.txt"; rc=$?; set -e
  [ "$rc" = 0 ] || fail "the program linked from the rewritten sites.o ($1) exits $rc"
  cmp -s "$d/out-$1.txt" "$d/expected.txt" || fail "the program linked from the rewritten sites.o ($1) prints something else"
}
if [ "$bti" = yes ]; then
  # every stub section of the object starts with bti c
  $OBJDUMP -d "$d/sites.rw.o" > "$d/stubs-obj.dis"
  awk '/<__callirw_stub_.*>:$/ { n++; getline; if ($3 != "bti") { print; bad++ } }
       END { exit !(n > 0 && bad == 0) }' "$d/stubs-obj.dis" > "$d/stubs-obj.bad" ||
    fail "a stub in sites.rw.o does not start with bti c (see $d/stubs-obj.dis)"
fi
relink objrw
note object rewritten
# every third seed also links the rewritten object with ld.lld. The arm64
# cross gcc looks for ld.lld only in its own program directories (plain
# -fuse-ld=lld: "collect2: cannot find 'ld'"); -B adds one that holds it.
if [ $((GEN_SEED % 3)) = 0 ]; then
  case "$GEN_TARGET" in
    aarch64-linux) mkdir -p "$d/lld-bin"; ln -sf "$(command -v ld.lld)" "$d/lld-bin/ld.lld"
                   relink objrw-lld "-B$d/lld-bin -fuse-ld=lld" ;;
    *) relink objrw-lld -fuse-ld=lld ;;
  esac
  # the linker that made it (shared-sites: the library holding the object)
  [ "$GEN_MODE" = shared-sites ] && bin=$d/objrw-lld/libprog.so || bin=$d/objrw-lld/prog
  $READELF -p .comment "$bin" | grep -q "Linker: .*LLD" || fail "the -lld relink was not linked by ld.lld"
  note object rewritten-lld
fi

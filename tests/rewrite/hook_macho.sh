#!/bin/sh
# tests/rewrite/hook_macho.sh IN OUT - the rewrite step of the generated-program
# tests for the Mach-O targets (tests/gen/run.sh --target x86_64-macos |
# arm64-macos --mode exe|dylib-sites|dylib-rt --post-build), the Mach-O twin
# of tests/rewrite/hook.sh and hook_pe.sh. For one built seed:
#  1. the image is rewritten (meta.txt image=): in modes exe and dylib-rt
#     IN (prog) into OUT (prog.post), next to libcalli_runtime.dylib
#     (dylib-rt); in mode dylib-sites the image is libprog.dylib, rewritten
#     into rw/libprog.dylib, with a copy of the launcher as rw/prog and OUT a
#     symlink to it: run.sh's runner passes the harness --lib for the dylibs
#     next to the binary, symlinks resolved, so the rewritten dylib is the
#     one that runs. run.sh then runs OUT under tests/macho_run/machorun and
#     compares its output with expected.txt, like IN;
#  2. the output must satisfy independent readers: `llvm-objdump-14 --macho
#     -d` and `llvm-otool-14 -l` read it without an error or a warning; LIEF
#     parses it (build/tools/lief_check); `callirw inspect --json` reads its
#     map and lists stubs; rewriting IN again gives the same bytes; rewriting
#     OUT is a no-op (exit 1, no file);
#  3. (unless HOOK_MACHO_OBJ=0) the seed's sites.o is rewritten before the
#     link and the program relinked from it with the seed's own build.sh
#     (its link lines, sites.rw.o for sites.o, outputs into objrw/); the
#     rewritten object must satisfy llvm-objdump and llvm-otool as well,
#     the relinked image must run under the harness and print expected.txt,
#     and `callirw scan` must find no rewritable helper call left in it.
# Environment from run.sh: GEN_DIR, GEN_SEED, GEN_MODE, GEN_TARGET,
# MACHORUN (the harness). CALLIRW replaces build/asan/callirw. REWRITE_LOG,
# if set, receives one line per step: "<seed> <target> <mode> <image|object> rewritten".
set -eu
in=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${CALLIRW:-$ROOT/build/asan/callirw}
LIEF=$ROOT/build/tools/lief_check
RUN=${MACHORUN:-$ROOT/build/tests/macho_run/machorun}
log=${REWRITE_LOG:-/dev/null}
d=$GEN_DIR
image=$(sed -n 's/^image=//p' "$d/meta.txt")
[ -n "$image" ] || { echo "rewrite hook: $d/meta.txt has no image= (mode obj, or an old generator?)" >&2; exit 1; }
note() { echo "$GEN_SEED $GEN_TARGET $GEN_MODE $*" >> "$log"; }
fail() { echo "rewrite hook: seed $GEN_SEED ($GEN_TARGET $GEN_MODE): $*" >&2; exit 1; }

# readers FILE TAG: llvm-objdump --macho -d and llvm-otool -l accept FILE
readers() {
  llvm-objdump-14 --macho -d "$1" > "$d/objdump-$2.log" 2>&1 || fail "llvm-objdump --macho -d rejects $1 (see $d/objdump-$2.log)"
  ! grep -qiE '(^|: )(warning|error)' "$d/objdump-$2.log" ||
    fail "llvm-objdump warns about $1: $(grep -m1 -iE '(^|: )(warning|error)' "$d/objdump-$2.log")"
  llvm-otool-14 -l "$1" > "$d/otool-$2.log" 2>&1 || fail "llvm-otool -l rejects $1 (see $d/otool-$2.log)"
  ! grep -qiE '(^|: )(warning|error)' "$d/otool-$2.log" ||
    fail "llvm-otool warns about $1: $(grep -m1 -iE '(^|: )(warning|error)' "$d/otool-$2.log")"
}

# run_harness DIR TAG WHAT: DIR/prog under the harness, with the dylibs in
# DIR, must exit 0 and print expected.txt
run_harness() {
  set -- "$1" "$2" "$3"
  libs=
  for l in libprog.dylib libcalli_runtime.dylib; do
    [ ! -f "$1/$l" ] || libs="$libs --lib $1/$l"
  done
  rc=0
  # shellcheck disable=SC2086
  timeout -k 5 60 "$RUN" $libs "$1/prog" > "$d/out-$2.txt" 2> "$d/err-$2.txt" || rc=$?
  [ "$rc" = 0 ] || fail "$3 exits $rc: $(head -c 300 "$d/err-$2.txt")"
  cmp -s "$d/out-$2.txt" "$d/expected.txt" || fail "$3 prints something else (see $d/out-$2.txt)"
}

if [ "$GEN_MODE" = dylib-sites ]; then
  rm -rf "$d/rw"; mkdir -p "$d/rw"
  cp "$d/prog" "$d/rw/prog"
  src=$d/libprog.dylib
  out_img=$d/rw/libprog.dylib
else
  src=$in
  out_img=$out
fi
rm -f "$out_img" "$d/twice" "$d/again"

# 1. the linked image
if ! "$C" rewrite "$src" -o "$out_img" > "$d/rewrite.log" 2>&1; then
  cat "$d/rewrite.log" >&2
  fail "rewrite failed: $(grep -m1 . "$d/rewrite.log" || echo "exit status without a message")"
fi
[ "$out_img" = "$out" ] || ln -sf "$d/rw/prog" "$out"
note image rewritten

# 2. independent checks
readers "$out_img" image
"$LIEF" "$out_img" > "$d/lief.log" 2>&1 || { cat "$d/lief.log" >&2; fail "LIEF cannot parse the output"; }
"$C" inspect --json "$out_img" > "$d/inspect.json" 2>&1 || fail "inspect --json cannot read the rewrite map"
[ "$(jq '.stubs | length' "$d/inspect.json")" -gt 0 ] || fail "inspect --json lists no stub"
"$C" rewrite "$src" -o "$d/twice" > /dev/null 2>&1 && cmp -s "$out_img" "$d/twice" ||
  fail "two rewrites of the same input differ"
rc=0; "$C" rewrite "$out_img" -o "$d/again" > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] && [ ! -e "$d/again" ] || fail "rewriting the output again is not a no-op (exit $rc)"

[ "${HOOK_MACHO_OBJ:-1}" = 1 ] || exit 0

# 3. the object, rewritten before the link, relinked by the seed's build.sh
"$C" rewrite "$d/sites.o" -o "$d/sites.rw.o" > "$d/rewrite-obj.log" 2>&1 ||
  { cat "$d/rewrite-obj.log" >&2; fail "rewriting sites.o failed: $(grep -m1 . "$d/rewrite-obj.log" || true)"; }
readers "$d/sites.rw.o" object
# build.sh minus its compile lines (the objects exist); its link lines take
# sites.rw.o and write into objrw/ (launcher and dylib together in
# dylib-sites; dylib-rt copies the runtime dylib there)
rm -rf "$d/objrw"; mkdir -p "$d/objrw"
awk '
  / -c / { next }
  / -o (prog|libprog\.dylib)$/ {
    sub(/ sites\.o /, " sites.rw.o "); sub(/ \.\/libprog\.dylib /, " objrw/libprog.dylib ")
    sub(/ -o prog$/, " -o objrw/prog"); sub(/ -o libprog\.dylib$/, " -o objrw/libprog.dylib")
  }
  /^cp .*libcalli_runtime\.dylib" \.$/ { sub(/ \.$/, " objrw/") }
  { print }' "$d/build.sh" > "$d/build-objrw.sh"
grep -q ' sites\.rw\.o ' "$d/build-objrw.sh" || fail "no link line of build.sh takes sites.o (see $d/build-objrw.sh)"
CALLI_ROOT=$ROOT sh "$d/build-objrw.sh" > "$d/build-objrw.log" 2>&1 ||
  { cat "$d/build-objrw.log" >&2; fail "linking the rewritten sites.o failed"; }
# the relinked image calls stubs, not the helper: scan finds no site (exit
# 1), or none it could rewrite
rc=0; "$C" scan --json "$d/objrw/$image" > "$d/scan-objrw.json" 2> "$d/scan-objrw.err" || rc=$?
if [ "$rc" = 0 ]; then
  n=$(jq '[.sites[] | select(.verdict == "ok")] | length' "$d/scan-objrw.json" 2>/dev/null || echo "?")
  [ "$n" = 0 ] || fail "the program relinked from sites.rw.o still calls the helper at $n site(s) (see $d/scan-objrw.json)"
elif [ "$rc" != 1 ]; then
  fail "scan of the relinked program failed (exit $rc, see $d/scan-objrw.err)"
fi
run_harness "$d/objrw" objrw "the program linked from the rewritten sites.o"
note object rewritten

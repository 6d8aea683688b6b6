#!/bin/sh
# tests/rewrite/hook_macho.sh IN OUT - the rewrite step of the generated-program
# tests for the Mach-O targets (tests/gen/run.sh --target x86_64-macos |
# arm64-macos --mode all|exe|dylib-sites|dylib-rt --post-build), the Mach-O
# twin of tests/rewrite/hook.sh and hook_pe.sh.
#
# Mode all (make check-rewrite-macho; see the block "mode all" below and
# docs/generator.md): every variant of the seed's one program rewritten,
# checked and run here, sites.o rewritten once and relinked into all three,
# one objdump and one otool run over every output, signatures checked
# (csverify.py here, or once per batch over hard links in REWRITE_SIG_DIR).
#
# Modes exe, dylib-sites, dylib-rt, for one built seed:
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
# MACHORUN (the harness). CALLIRW replaces build/asan/callirw (and, in mode
# all, build/callirw unless CALLIRW_PLAIN is set). REWRITE_LOG, if set,
# receives one line per step: "<seed> <target> <mode> <image|object> rewritten"
# (mode all: "<seed> <target> <variant mode> original ran|image rewritten|
# object rewritten|signature re-signed").
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

# ---------------------------------------------------------------- mode all
# One program, every variant (meta.txt variant=MODE LAUNCHER IMAGE): each
# image rewritten into rw/, sites.o rewritten once and relinked into every
# variant under objrw/ (build.sh with CALLI_LINK_ONLY), every output read by
# one llvm-objdump and one llvm-otool run; run.sh ran the originals. Writes
# no OUT: the rewritten programs run here. The rewrites run the ASan/UBSan
# build; the repeat rewrite (determinism: both builds write the same bytes),
# the rewrite of the output (a no-op), inspect and scan the plain build
# (CALLIRW_PLAIN; CALLIRW replaces both).
if [ "$GEN_MODE" = all ]; then
  note() { echo "$GEN_SEED $GEN_TARGET $*" >> "$log"; }
  P=${CALLIRW_PLAIN:-${CALLIRW:-$ROOT/build/callirw}}
  variants=$(sed -n 's/^variant=//p' "$d/meta.txt" | tr ' ' ':')
  [ -n "$variants" ] || fail "$d/meta.txt lists no variant="
  # split V: vm (mode) vl (launcher) vi (image), from MODE:LAUNCHER:IMAGE
  split() { vm=${1%%:*}; vl=${1#*:}; vi=${vl#*:}; vl=${vl%%:*}; }
  # vrun TAG WHAT LAUNCHER IMAGE RUN-IMAGE: LAUNCHER under the harness, with
  # every dylib next to it, IMAGE replaced by RUN-IMAGE, must exit 0 and
  # print expected.txt
  vrun() {
    libs=
    for l in "${3%/*}"/*.dylib; do
      [ -f "$l" ] || continue
      [ "$l" != "$4" ] || l=$5
      libs="$libs --lib $l"
    done
    prog=$3; [ "$3" != "$4" ] || prog=$5
    rc=0
    # shellcheck disable=SC2086
    "$RUN" --timeout 60 $libs "$prog" > "$d/out-$1.txt" 2> "$d/err-$1.txt" || rc=$?
    [ "$rc" = 0 ] || fail "$2 exits $rc: $(head -c 300 "$d/err-$1.txt")"
    cmp -s "$d/out-$1.txt" "$d/expected.txt" || fail "$2 prints something else (see $d/out-$1.txt)"
  }
  # checked OUT WHAT IN TAG: OUT (the rewrite of IN) is deterministic (the plain
  # build writes the same bytes), final (rewriting it again finds nothing:
  # exit 1, no file), parsed by LIEF, and inspect lists its stubs
  checked() {
    t=$d/twice/$4
    "$P" rewrite "$3" -o "$t" > /dev/null 2>&1 && cmp -s "$1" "$t" || fail "two rewrites of $2 differ"
    rc=0; "$P" rewrite "$1" -o "$d/again/x" > /dev/null 2>&1 || rc=$?
    [ "$rc" = 1 ] && [ ! -e "$d/again/x" ] || fail "rewriting the rewritten $2 again is not a no-op (exit $rc)"
    "$LIEF" "$1" > "$t.lief" 2>&1 || { cat "$t.lief" >&2; fail "LIEF cannot parse the rewritten $2"; }
    "$P" inspect --json "$1" > "$t.json" 2>&1 || fail "inspect --json cannot read the rewrite map of $2"
    grep -q '"stubs": *\[ *{' "$t.json" || fail "inspect --json lists no stub in $2 (see $t.json)"
  }
  rm -rf "$d/rw" "$d/objrw" "$d/twice" "$d/again"; mkdir -p "$d/twice" "$d/again"
  outs= ins=
  for v in $variants; do
    split "$v"
    note "$vm original ran"
    o=$d/rw/$vi; mkdir -p "${o%/*}"
    # 1. the linked image
    rc=0; "$C" rewrite "$d/$vi" -o "$o" > "$d/rewrite-$vm.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      cat "$d/rewrite-$vm.log" >&2
      fail "rewriting $vi ($vm) failed: $(grep -m1 . "$d/rewrite-$vm.log" || echo "exit status without a message")"
    fi
    checked "$o" "$vi ($vm)" "$d/$vi" "$vm"
    vrun "rw-$vm" "the rewritten $vm" "$d/$vl" "$d/$vi" "$o"
    note "$vm image rewritten"
    outs="$outs $o" ins="$ins $d/$vi"
  done
  if [ "${HOOK_MACHO_OBJ:-1}" = 1 ]; then
    # 2. sites.o rewritten before the link, relinked into every variant
    "$C" rewrite "$d/sites.o" -o "$d/sites.rw.o" > "$d/rewrite-obj.log" 2>&1 ||
      { cat "$d/rewrite-obj.log" >&2; fail "rewriting sites.o failed: $(grep -m1 . "$d/rewrite-obj.log" || true)"; }
    checked "$d/sites.rw.o" sites.o "$d/sites.o" obj
    outs="$outs $d/sites.rw.o"
    CALLI_ROOT=$ROOT CALLI_LINK_ONLY=1 CALLI_SITES_O=sites.rw.o CALLI_LINK_DIR=objrw sh "$d/build.sh" > "$d/build-objrw.log" 2>&1 ||
      { cat "$d/build-objrw.log" >&2; fail "linking the rewritten sites.o failed"; }
    for v in $variants; do
      split "$v"
      # the relinked image calls stubs, not the helper: scan finds no site
      # (exit 1), or none it could rewrite
      rc=0; "$P" scan --json "$d/objrw/$vi" > "$d/scan-objrw-$vm.json" 2> "$d/scan-objrw-$vm.err" || rc=$?
      if [ "$rc" = 0 ]; then
        ! grep -q '"verdict": *"ok"' "$d/scan-objrw-$vm.json" ||
          fail "the $vm relinked from sites.rw.o still calls the helper (see $d/scan-objrw-$vm.json)"
      elif [ "$rc" != 1 ]; then
        fail "scan of the $vm relinked from sites.rw.o failed (exit $rc, see $d/scan-objrw-$vm.err)"
      fi
      vrun "objrw-$vm" "the $vm linked from the rewritten sites.o" "$d/objrw/$vl" "" ""
      note "$vm object rewritten"
    done
  fi
  # 3. independent readers: one run each over every output (otool also
  # over the inputs, for the signature check)
  # shellcheck disable=SC2086
  llvm-objdump-14 --macho -d $outs > "$d/objdump.log" 2>&1 || fail "llvm-objdump --macho -d rejects an output (see $d/objdump.log)"
  ! grep -qiE '(^|: )(warning|error)' "$d/objdump.log" ||
    fail "llvm-objdump warns: $(grep -m1 -iE '(^|: )(warning|error)' "$d/objdump.log")"
  # shellcheck disable=SC2086
  llvm-otool-14 -l $outs $ins > "$d/otool.log" 2>&1 || fail "llvm-otool -l rejects an output (see $d/otool.log)"
  ! grep -qiE '(^|: )(warning|error)' "$d/otool.log" ||
    fail "llvm-otool warns: $(grep -m1 -iE '(^|: )(warning|error)' "$d/otool.log")"
  # 4. signatures: a signed image is signed again (ld64.lld-14 signs its
  # arm64 outputs), an unsigned one stays unsigned; the signed rewrites are
  # verified by tests/macho_sign/csverify.py, here or, when REWRITE_SIG_DIR
  # is set, once per batch over hard links made there
  awk '/^\/.*:$/ { f = substr($0, 1, length($0) - 1) }
       $1 == "cmd" && $2 == "LC_CODE_SIGNATURE" { print f }' "$d/otool.log" > "$d/signed.txt"
  ! grep -qxF "$d/sites.rw.o" "$d/signed.txt" || fail "sites.rw.o has a code signature"
  tosign=
  for v in $variants; do
    split "$v"
    si=no so=no
    ! grep -qxF "$d/$vi" "$d/signed.txt" || si=yes
    ! grep -qxF "$d/rw/$vi" "$d/signed.txt" || so=yes
    [ "$si" = "$so" ] || fail "the $vm image: signed $si, its rewrite: signed $so"
    [ "$GEN_TARGET" != arm64-macos ] || [ "$si" = yes ] ||
      fail "ld64.lld-14 did not sign the arm64 $vm image (no LC_CODE_SIGNATURE in $d/otool.log)"
    [ "$so" = no ] || tosign="$tosign $vm:$d/rw/$vi"
  done
  if [ -n "$tosign" ]; then
    if [ -n "${REWRITE_SIG_DIR:-}" ]; then
      for v in $tosign; do
        ln -f "${v#*:}" "$REWRITE_SIG_DIR/$GEN_TARGET-seed$GEN_SEED-${v%%:*}" || fail "cannot link into $REWRITE_SIG_DIR"
      done
    else
      files=
      for v in $tosign; do files="$files ${v#*:}"; done
      # shellcheck disable=SC2086
      python3 "$ROOT/tests/macho_sign/csverify.py" --require-signed $files > "$d/csverify.log" 2>&1 ||
        fail "a rewritten image's signature does not verify (see $d/csverify.log)"
    fi
    for v in $tosign; do note "${v%%:*} signature re-signed"; done
  fi
  exit 0
fi

# ------------------------------------------- modes exe, dylib-sites, dylib-rt
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

#!/usr/bin/env bash
# tests/rewrite/bti_control.sh B - the negative control of the arm64 BTI seeds.
#
# The BTI seeds of check-rewrite-aarch64-linux (docs/generator.md) prove
# something only if the qemu-aarch64 they run under enforces BTI: otherwise
# a stub without its landing pad, or a tail branch through the wrong
# register, would pass unnoticed. This builds tests/rewrite/bti_control.{c,S}
# with the seeds' own BTI recipe (patched start files, -z force-bti,
# -mbranch-protection=standard; tests/gen/bti_crt.py) and runs it with the
# seeds' own qemu command line:
#   - in a BTI-marked PIE, blr to a function without bti c, and br x9 to one
#     with bti c, must die with SIGILL; blr to bti c and br x16 must not;
#   - in the same program linked without the BTI property nothing faults
#     (the SIGILLs above come from BTI, not from the code);
#   - in a BTI-marked shared library (as libprog.so in mode shared-sites, and
#     the BTI libcalli_runtime.so) loaded by an unmarked PIE, blr to a function
#     without bti c must die too (ld.so maps it guarded).
# qemu-aarch64's default CPU has BTI (7.2: all features, as -cpu max);
# QEMU_CPU=cortex-a72 (no BTI) makes
# this fail. Ends with "bti-control: N passed, M failed".
set -u
B=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$B/tests/rewrite/bti-control
CC=aarch64-linux-gnu-gcc
RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu)   # as tests/gen/run.sh runs the seeds
CRT=$B/gen/aarch64-linux-bti/crt
SRC=$ROOT/tests/rewrite
rm -rf "$T"; mkdir -p "$T"
ulimit -c 0   # qemu "dumps core" on the SIGILLs

die() { echo "bti-control: $*"; exit 1; }
python3 "$ROOT/tests/gen/bti_crt.py" "$CRT" || die "cannot make the BTI start files"
BTI=(-nostartfiles -Wl,-z,force-bti)
CF=(-std=c11 -O2 -Wall -Wextra -Werror -mbranch-protection=standard)
build() { # build LOG command... (ld warns about the unmarked crt files: keep it quiet unless it fails)
  local log=$1; shift
  "$@" > "$T/$log.log" 2>&1 || { cat "$T/$log.log"; die "build of $log failed"; }
}
build exe-bti $CC "${CF[@]}" -DCONTROL_MAIN -fPIE -pie "${BTI[@]}" "$CRT/Scrt1.o" "$CRT/crti.o" \
  "$SRC/bti_control.c" "$SRC/bti_control.S" "$CRT/crtn.o" -o "$T/exe-bti"
build exe-plain $CC -std=c11 -O2 -DCONTROL_MAIN -DNO_BTI_NOTE -fPIE -pie \
  "$SRC/bti_control.c" "$SRC/bti_control.S" -o "$T/exe-plain"
build lib-bti $CC "${CF[@]}" -fPIC -shared "${BTI[@]}" -Wl,-soname,libcontrol.so "$CRT/crti.o" \
  "$SRC/bti_control.c" "$SRC/bti_control.S" "$CRT/crtn.o" -o "$T/libcontrol.so"
echo 'int control(const char *); int main(int c, char **v) { return c == 2 ? control(v[1]) : 2; }' > "$T/launch.c"
build launch $CC -fPIE -pie "$T/launch.c" "$T/libcontrol.so" -Wl,-rpath,'$ORIGIN' -o "$T/lib-bti"

marked() { aarch64-linux-gnu-readelf -n "$1" | grep -q "AArch64 feature:.*BTI"; }
marked "$T/exe-bti" || die "exe-bti is not marked BTI"
marked "$T/libcontrol.so" || die "libcontrol.so is not marked BTI"
! marked "$T/exe-plain" || die "exe-plain is marked BTI"

pass=0 fail=0
# program, argument, expected exit status (132: killed by SIGILL)
while read -r prog arg want; do
  { "${RUN[@]}" "$T/$prog" "$arg" > "$T/$prog-$arg.out" 2>&1; } 2> /dev/null   # no "Illegal instruction" from bash
  rc=$?
  if [ "$rc" = "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "bti-control: FAIL: $prog $arg exits $rc under ${RUN[*]}${QEMU_CPU:+ (QEMU_CPU=$QEMU_CPU)}, expected $want$([ "$want" = 132 ] && echo " (SIGILL): qemu does not enforce BTI")"
  fi
done <<'EOF'
exe-bti pad 0
exe-bti nopad 132
exe-bti br-x9 132
exe-bti br-x16 0
exe-plain nopad 0
exe-plain br-x9 0
lib-bti pad 0
lib-bti nopad 132
lib-bti br-x9 132
EOF
echo "bti-control: $pass passed, $fail failed"
[ "$fail" = 0 ]

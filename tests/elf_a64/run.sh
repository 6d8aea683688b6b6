#!/usr/bin/env bash
# run.sh B QEMU ROOT NAME... - run each B/tests/elf_a64/NAME under
# qemu-aarch64 (QEMU -L ROOT) and require exit status 0: each main calls its
# rewritable sites through the generic helper and checks the results.
#
# LD_BIND_NOW=1: glibc's lazy-binding trampoline (_dl_runtime_resolve)
# preserves only the argument registers, so the first call of an imported
# helper through a lazy PLT entry arrives with x12 and x15 clobbered (see
# docs/scan.md section 7). Images marked BTI run on a CPU without BTI
# (cortex-a72): Debian's arm64 start files carry no BTI note and would fault.
set -u
B=$1 QEMU=$2 ROOT=$3
shift 3
fail=0
for n in "$@"; do
  img=$B/tests/elf_a64/$n
  cpu=()
  if aarch64-linux-gnu-readelf -n "$img" 2> /dev/null | grep -q "AArch64 feature:.*BTI"; then
    cpu=(-cpu cortex-a72)
  fi
  $QEMU "${cpu[@]}" -L "$ROOT" -E LD_BIND_NOW=1 "$img" > "$B/tests/elf_a64/$n.run" 2>&1
  rc=$?
  if [ "$rc" != 0 ]; then
    echo "check-elf-a64: $n: exits $rc under $QEMU ${cpu[*]} (expected 0):"
    head -5 "$B/tests/elf_a64/$n.run"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "check-elf-a64: $# programs ran under $QEMU and exited 0"
exit $fail

#!/usr/bin/env bash
# run_smoke.sh NAME OUTDIR RUNNER... -- BIN_HOST0 BIN_HOST1 BIN_HOST2
# Runs the smoke program of one target in its three host-primitive modes
# (see smoke.c) under RUNNER (empty, qemu-aarch64 ..., wine64 ...):
#  - exit status 0, stdout byte-identical to tests/runtime/smoke_events.txt
#    (no CRLF translation on Windows);
#  - `BIN fatal`: a non-zero exit (abort) and, as the first line of stderr,
#    exactly "GenericPInvokeCalliHelper: fatal: cookie 0x<addr>: bad magic ...".
set -uo pipefail
name=$1; out=$2; shift 2
runner=()
while [ "$1" != "--" ]; do runner+=("$1"); shift; done
shift
here=$(dirname "$0")
fail=0
mkdir -p "$out"
for bin in "$@"; do
  b=$(basename "$bin")
  "${runner[@]}" "$bin" > "$out/$b.stdout" 2> "$out/$b.stderr"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "smoke-$name: $b exited with $rc"; cat "$out/$b.stderr"; fail=1
  elif ! cmp -s "$out/$b.stdout" "$here/smoke_events.txt"; then
    echo "smoke-$name: $b: event log differs from tests/runtime/smoke_events.txt"
    diff <(od -c "$here/smoke_events.txt") <(od -c "$out/$b.stdout") | head -10; fail=1
  else
    echo "smoke-$name: $b ok ($(grep -o '[0-9]* checks' "$out/$b.stderr"))"
  fi
  # (in a subshell that reports the abort to /dev/null, not to the log)
  ( "${runner[@]}" "$bin" fatal > "$out/$b.fatal.stdout" 2> "$out/$b.fatal.stderr"; exit $? ) 2>/dev/null
  rc=$?
  addr=$(sed -n 's/^cookie \(0x[0-9a-f]*\)\r\{0,1\}$/\1/p' "$out/$b.fatal.stdout")
  want="GenericPInvokeCalliHelper: fatal: cookie $addr: bad magic 0x11223344 (expected 0x494c4143)"
  # exactly one line from the runtime (qemu may add its own "qemu: ..." line)
  got=$(grep -v '^qemu: ' "$out/$b.fatal.stderr")
  if [ $rc -eq 0 ] || [ -z "$addr" ] || [ "$got" != "$want" ]; then
    echo "smoke-$name: $b fatal: exit $rc, stderr:"; cat "$out/$b.fatal.stderr"; echo "want: $want"; fail=1
  else
    echo "smoke-$name: $b fatal ok (exit $rc)"
  fi
done
exit $fail

#!/usr/bin/env bash
# The demo: legacy programs that call libc through the generic helper; when
# the rewriter can rewrite them, rewrite, run both, compare, inspect, measure.
set -euo pipefail
B=${1:-build}
CALLS=${BENCH_CALLS:-2000000}
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

can_rewrite=0
if "$B/callirw" rewrite --help >/dev/null 2>&1; then can_rewrite=1; fi

for ex in textlib mathlib; do
  bin="$B/examples/$ex"
  bold "$ex: original (every call through GenericPInvokeCalliHelper)"
  "$bin"
  if [ $can_rewrite = 1 ]; then
    out="$B/examples/$ex.rewritten"
    bold "$ex: callirw rewrite"
    "$B/callirw" rewrite "$bin" -o "$out"
    bold "$ex: rewritten"
    "$out" > "$B/examples/$ex.after.out"
    "$bin" > "$B/examples/$ex.before.out"
    cat "$B/examples/$ex.after.out"
    if cmp -s "$B/examples/$ex.before.out" "$B/examples/$ex.after.out"; then
      echo "(stdout identical before and after the rewrite)"
    else
      echo "OUTPUT DIFFERS"; exit 1
    fi
    bold "$ex: callirw inspect"
    "$B/callirw" inspect "$out"
  fi
  bold "$ex: cost per call ($CALLS calls each, wall clock)"
  if [ $can_rewrite = 0 ]; then
    BENCH_CALLS=$CALLS "$bin" 2>&1 >/dev/null | sed 's/^bench /  helper   /'
  else
    paste <(BENCH_CALLS=$CALLS "$bin" 2>&1 >/dev/null) <(BENCH_CALLS=$CALLS "$out" 2>&1 >/dev/null) |
      awk '{ printf "  %-24s helper %7.1f ns   stub %7.1f ns   speedup %.1fx\n", $2, $3, $6, $3 / $6 }'
  fi
done
if [ $can_rewrite = 0 ]; then
  bold "note"
  echo "The rewriter for ELF x86-64 is not built yet: these runs go through the"
  echo "generic helper only. 'make demo' will rewrite, compare and measure once it is."
fi

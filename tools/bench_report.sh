#!/usr/bin/env bash
# tools/bench_report.sh DIR OUT - join make bench's sections (DIR/call.md,
# DIR/rewrite.md, each written whole by its part) under one header naming the
# machine, the date and the commands, into OUT (docs/bench.md), atomically.
set -euo pipefail
dir=$1 out=$2
for part in call rewrite; do
  [ -s "$dir/$part.md" ] || { echo "bench_report: $dir/$part.md is missing or empty" >&2; exit 1; }
done
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (bench/rules.mk); every number below comes from the"
  echo "run described here. Re-run it to measure your own machine."
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: ${cpu:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
  echo "- System: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- Compilers: $(gcc --version | head -1); $(clang --version | head -1)"
  echo "- Tools: $(valgrind --version 2>/dev/null || echo 'valgrind missing'); $(objcopy --version | head -1); $(llvm-objcopy-14 --version 2>/dev/null | sed -n 's/^ *//; 2p')"
  echo "- callirw: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  echo "- Commands: \`make bench\` (= \`make bench-call\` then \`make bench-rewrite\`)"
  echo
  cat "$dir/call.md"
  echo
  cat "$dir/rewrite.md"
} > "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "bench: wrote $out"

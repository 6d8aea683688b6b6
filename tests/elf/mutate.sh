#!/usr/bin/env bash
# mutate.sh B FILE... - the command line under hostile input: for each FILE,
# truncated copies and copies with flipped bytes (deterministic positions)
# go through `B/asan/callirw scan`; each run must exit 0, 1 or 2 (never 3,
# never a signal or a sanitizer report), and a run exiting 2 must print
# exactly one line "callirw: scan: PATH: MESSAGE".
set -u
B=$1
shift
CALLIRW=$B/asan/callirw
N=${MUTATIONS:-150}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
RANDOM=4242
for f in "$@"; do
  size=$(stat -c %s "$f")
  declare -A seen=()
  for ((i = 0; i < N; i++)); do
    m=$tmp/m
    if ((i % 3 == 0)); then
      len=$(((RANDOM * 32768 + RANDOM) % size))
      head -c "$len" "$f" > "$m"
      what="truncated to $len"
    else
      cp "$f" "$m"
      what="flipped"
      for ((k = 0; k < 1 + RANDOM % 6; k++)); do
        if ((RANDOM % 2)); then pos=$((RANDOM % (size < 4096 ? size : 4096)))
        else pos=$(((RANDOM * 32768 + RANDOM) % size)); fi
        printf "$(printf '\\%03o' $((RANDOM % 256)))" |
          dd of="$m" bs=1 seek="$pos" conv=notrunc status=none
        what="$what @$pos"
      done
    fi
    "$CALLIRW" scan --json "$m" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    lines=$(wc -l < "$tmp/err")
    if [ "$rc" -gt 2 ] || { [ "$rc" = 2 ] && { [ "$lines" != 1 ] || ! grep -q "^callirw: scan: $m: " "$tmp/err"; }; } ||
       { [ "$rc" != 2 ] && [ "$lines" != 0 ]; }; then
      echo "mutate: $f ($what): exit $rc, stderr:"
      head -5 "$tmp/err"
      cp "$m" "$B/tests/elf/mutant-$(basename "$f")-$i"
      fail=1
    fi
    seen[$rc]=$((${seen[$rc]:-0} + 1))
  done
  echo "mutate: $f: $N mutants: exit 0: ${seen[0]:-0}, exit 1: ${seen[1]:-0}, exit 2: ${seen[2]:-0}"
  unset seen
done
exit $fail

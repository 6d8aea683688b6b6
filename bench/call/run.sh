#!/usr/bin/env bash
# bench/call/run.sh B ORIG REWRITTEN OUT - the measurements of `make
# bench-call` (bench/call/rules.mk): check that every way agrees, count
# instructions with callgrind, time the loops, and write the Markdown section
# OUT from bench/call/report.md.in (bench/call/report.py). ORIG calls the
# generic helper, REWRITTEN (ORIG after `callirw rewrite`) the stubs.
#
# BENCH_CALL_N     calls per counted loop (callgrind runs N and 2N; default 20000)
# BENCH_CALL_TN    calls per timed loop (default 200000)
# BENCH_CALL_REPS  timed repetitions per loop and run, best kept (default 7)
set -euo pipefail
b=$1 orig=$2 rw=$3 out=$4
n=${BENCH_CALL_N:-20000} tn=${BENCH_CALL_TN:-200000} reps=${BENCH_CALL_REPS:-7}
here=$(dirname "$0")
work=$b/bench/call/run
rm -rf "$work"
mkdir -p "$work"
fail() { echo "bench-call: $*" >&2; exit 1; }

# 1. A benchmark of a wrong call is worse than none: every way of every row
#    must agree in both images (the program exits 1 otherwise), and the
#    rewritten image must print exactly what the original prints.
"$orig" check > "$work/check.orig" || fail "$orig: the ways disagree (see above)"
"$rw" check > "$work/check.rw" || fail "$rw: the ways disagree (see above)"
[ -s "$work/check.orig" ] || fail "$orig check printed nothing"
cmp -s "$work/check.orig" "$work/check.rw" ||
  { diff "$work/check.orig" "$work/check.rw" | head -20 >&2; fail "the rewritten image prints something else"; }
echo "bench-call: results identical ($(wc -l < "$work/check.orig") checks, 4 ways, original and rewritten)"

# 2. Instructions: one callgrind run per image; the program dumps the count
#    of each loop at N and 2N calls, and (Ir(2N) - Ir(N)) / N is exact.
command -v valgrind >/dev/null || fail "valgrind is missing (make deps)"
for img in orig rw; do
  bin=$orig; [ $img = rw ] && bin=$rw
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$img.%p" --dump-instr=no \
    --compress-strings=no --compress-pos=no "$bin" count "$n" > /dev/null 2> "$work/cg.$img.log" ||
    { tail -5 "$work/cg.$img.log" >&2; fail "callgrind run of $bin failed"; }
  for f in "$work"/cg.$img.*.*; do
    awk '/^desc: Trigger: Client Request: /{ d = $5 " " $6 " " $7 } /^summary: /{ print d, $2 }' "$f"
  done | sort > "$work/ir.$img"
  [ -s "$work/ir.$img" ] || fail "no counts from callgrind ($work/cg.$img.log)"
done
echo "bench-call: instructions counted (callgrind, N=$n and 2N)"

# perf: probed, used as a cross-check only where the counter exists.
perf_status="not installed"
if command -v perf >/dev/null; then
  probe=$(perf stat -x, -e instructions:u true 2>&1 | tail -1 || true)
  case $probe in
    [0-9]*) perf_status=ok ;;
    *"not supported"*) perf_status="not supported on this machine" ;;
    *) perf_status="unusable (${probe:0:60})" ;;
  esac
fi
: > "$work/perf.rw"
if [ "$perf_status" = ok ]; then
  rows=$(awk '{ print $1 }' "$work/ir.rw" | sort -u)
  for row in $rows; do
    for way in direct hand site ffi; do
      for k in 1 2; do
        c=$(perf stat -x, -e instructions:u -- "$rw" loop "$row" "$way" $((k * n)) 2>&1 >/dev/null | tail -1 | cut -d, -f1)
        echo "$row $way $((k * n)) $c" >> "$work/perf.rw"
      done
    done
  done
fi

# 3. Time: best of REPS per loop inside each run; two runs of each image,
#    alternating, best kept.
for round in 1 2; do
  for img in orig rw; do
    bin=$orig; [ $img = rw ] && bin=$rw
    "$bin" time "$tn" "$reps" > "$work/ns.$img.$round" || fail "$bin time failed"
  done
done
echo "bench-call: timed (best of $reps x 2 runs, $tn calls per loop)"

"$bin" loop void site 1 > /dev/null # the loop mode works (perf uses it)
"$b/callirw" inspect "$rw" > "$work/inspect.txt" || fail "callirw inspect $rw failed"

python3 "$here/report.py" --template "$here/report.md.in" --work "$work" --n "$n" --tn "$tn" \
  --reps "$reps" --perf "$perf_status" --cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  > "$work/call.md"
mv "$work/call.md" "$out"
echo "bench-call: wrote $out"

#!/usr/bin/env bash
# run.sh - run the libFuzzer harnesses and record what they reached
# (docs/fuzz.md). Called by `make fuzz-run`:
#
#   tests/fuzz/run.sh FZ SECONDS JOBS MAX_LEN HARNESS...
#
# FZ is the fuzz build directory: harnesses FZ/fuzz_H, seeds FZ/seeds/H.
# Each harness runs SECONDS on its working corpus FZ/corpus/H (kept between
# runs) plus its seeds; JOBS harnesses at a time (1: one after the other).
# Findings (crash-, leak-, timeout-, oom- inputs) go to FZ/crashes/H/, the
# log to FZ/logs/H.log, the table to FZ/results.md.
# exit 0: no finding; 1: findings (listed); 2: usage or a harness missing.
set -euo pipefail

if [ $# -lt 5 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
FZ=$1 SECONDS_EACH=$2 JOBS=$3 MAX_LEN=$4
shift 4
HARNESSES=("$@")
for h in "${HARNESSES[@]}"; do
  [ -x "$FZ/fuzz_$h" ] || { echo "fuzz: $FZ/fuzz_$h is not built" >&2; exit 2; }
done

# Limits: a hostile count that makes a reader allocate gigabytes or loop for
# seconds is a finding (readers must never trust a count).
RSS_MB=${FUZZ_RSS_MB:-2048}
MALLOC_MB=${FUZZ_MALLOC_MB:-1024}
TIMEOUT=${FUZZ_TIMEOUT:-5}
DICT=$(dirname "$0")/callirw.dict

run_one() {
  local h=$1
  local corpus=$FZ/corpus/$h crashes=$FZ/crashes/$h log=$FZ/logs/$h.log
  mkdir -p "$corpus" "$crashes" "$FZ/logs"
  local t0 t1 rc=0
  t0=$(date +%s)
  # -fork / -ignore_crashes are not used: the first finding ends the run, so
  # that a crash is never hidden behind the statistics of a long run
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$FZ/fuzz_$h" "$corpus" "$FZ/seeds/$h" \
      -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout="$TIMEOUT" \
      -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB" -print_final_stats=1 \
      -dict="$DICT" -artifact_prefix="$crashes/" >"$log" 2>&1 || rc=$?
  t1=$(date +%s)
  echo "$rc $((t1 - t0))" >"$FZ/logs/$h.rc"
  echo "fuzz: $h: exit $rc after $((t1 - t0)) s ($(grep -c . "$log") log lines)"
}

echo "fuzz: ${#HARNESSES[@]} harnesses, ${SECONDS_EACH} s each, $JOBS at a time, -max_len=$MAX_LEN" \
     "-timeout=$TIMEOUT -rss_limit_mb=$RSS_MB -malloc_limit_mb=$MALLOC_MB"
if [ "$JOBS" -le 1 ]; then
  for h in "${HARNESSES[@]}"; do run_one "$h"; done
else
  running=0
  for h in "${HARNESSES[@]}"; do
    run_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
  done
  wait
fi

# The table: libFuzzer's final statistics and its last status line
res=$FZ/results.md
{
  echo "| harness | seconds | executions | exec/s | cov (edges) | ft (features) | corpus (files/bytes) | slowest input (s) | peak RSS MB | findings |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$res"
found=()
for h in "${HARNESSES[@]}"; do
  log=$FZ/logs/$h.log
  read -r _rc secs <"$FZ/logs/$h.rc"
  stat() { grep -o "stat::$1: *[0-9]*" "$log" | tail -1 | grep -o '[0-9]*$' || echo '?'; }
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo '?')
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo '?')
  corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' | sed 's/corp: //' || echo '?')
  n=$(find "$FZ/crashes/$h" -type f | wc -l)
  [ "$n" -eq 0 ] || found+=("$h")
  echo "| $h | $secs | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | ${cov:-?} | ${ft:-?} | ${corp:-?} | $(stat slowest_unit_time_sec) | $(stat peak_rss_mb) | $n |" >>"$res"
done
{
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores, FUZZ_SECONDS=$SECONDS_EACH," \
       "FUZZ_JOBS=$JOBS, -max_len=$MAX_LEN -timeout=$TIMEOUT -rss_limit_mb=$RSS_MB -malloc_limit_mb=$MALLOC_MB"
} >>"$res"
cat "$res"
if [ ${#found[@]} -gt 0 ]; then
  echo "fuzz: findings (logs in $FZ/logs/):" >&2
  for h in "${found[@]}"; do find "$FZ/crashes/$h" -type f | sort | sed 's/^/  /' >&2; done
  exit 1
fi
echo "fuzz: no finding"

#!/usr/bin/env bash
# tools/check_run.sh LOGDIR "LANE1 GROUPS" "LANE2 GROUPS" - make check-run's
# runner: two lanes of test groups run side by side, each lane's groups one
# after the other, so that the single-threaded groups (fuzzers, scripted
# checks, wine prefixes being created) use the core that the other lane
# leaves idle. The groups and their checks are exactly those of the
# sequential loop (CHECK_LANES=1 in make); only the order in time changes.
# Lane 1 holds the generated-program matrices and every group that uses the
# generated programs' wine prefix (build/gen/wineprefix: not every user of it
# takes its lock, so they must not overlap); lane 2 the rest (see Makefile).
# Each group's output goes to LOGDIR/<group>.log and is printed whole when
# the group ends, with "check: <group> passed in N s". After a failure (its
# log is printed at once) neither lane starts another group; the group the
# other lane is running finishes. Exit status 1.
# MAKE (environment) is the make to run the groups with.
set -u
logdir=$1 lane1=$2 lane2=$3
mkdir -p "$logdir"
lock=$logdir/.print.lock
fail=$logdir/.failed
rm -f "$fail"
: "${MAKE:=make}"

lane() { # lane GROUP...: run the groups in order; stop after a failure (here or in the other lane)
  local t s rc
  for t in "$@"; do
    [ ! -e "$fail" ] || return 1
    s=$(date +%s)
    $MAKE --no-print-directory "$t" > "$logdir/$t.log" 2>&1; rc=$?
    (
      flock 8
      cat "$logdir/$t.log"
      if [ "$rc" = 0 ]; then echo "check: $t passed in $(( $(date +%s) - s )) s"
      else echo "check: $t FAILED (exit $rc) after $(( $(date +%s) - s )) s; log: $logdir/$t.log"; fi
    ) 8>"$lock"
    if [ "$rc" != 0 ]; then echo "$t" >> "$fail"; return 1; fi
  done
}

t0=$(date +%s)
# shellcheck disable=SC2086 # the lanes are word lists
lane $lane1 & p1=$!
# shellcheck disable=SC2086
lane $lane2 & p2=$!
rc=0
wait "$p1" || rc=1
wait "$p2" || rc=1
[ ! -e "$fail" ] || rc=1
n=$(( $(wc -w <<< "$lane1") + $(wc -w <<< "$lane2") ))
if [ "$rc" = 0 ]; then
  echo "check: all test groups passed in $(( $(date +%s) - t0 )) s ($n groups, two lanes: [$lane1] [$lane2])"
else
  echo "check: FAILED: $(tr '\n' ' ' < "$fail")(logs in $logdir)"
fi
exit "$rc"

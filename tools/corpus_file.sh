#!/usr/bin/env bash
# corpus_file.sh "ID<TAB>SOURCE<TAB>SIZE<TAB>PATH" - one file of the corpus run
# (tools/corpus.sh, docs/corpus.md): `callirw scan --json` and
# `callirw rewrite --dry-run`, each under `timeout`, their outputs kept in
# $CORPUS_RES/ID.* and one result line in $CORPUS_RES/ID.res:
#   SOURCE SIZE SCAN_RC SCAN_MS RW_RC RW_MS PATH   (tab-separated)
# Judging the results is tests/corpus/summary.py's job, not this script's.
# Environment: CORPUS_RES, CORPUS_SCAN (scan's callirw), CORPUS_RW
# (rewrite's), CORPUS_TIMEOUT (seconds per command), CORPUS_SCAN_FLAGS
# (e.g. --decode-all), CORPUS_HELPER (a function that plays the helper).
set -euo pipefail
IFS=$'\t' read -r id src size path <<< "$1"
res=$CORPUS_RES/$id
# CORPUS_SCAN_FLAGS may be empty or several words
read -r -a flags <<< "${CORPUS_SCAN_FLAGS:-}"
helper=()
[ -n "${CORPUS_HELPER:-}" ] && helper=(--helper "$CORPUS_HELPER")

# run NAME CMD...: the exit code (timeout's 124/137 for a hang) and the
# milliseconds, on stdout
run() {
  local name=$1; shift
  local t0 rc=0
  t0=$(date +%s%N)
  timeout -k 5 "$CORPUS_TIMEOUT" "$@" > "$res.$name.out" 2> "$res.$name.err" || rc=$?
  echo "$rc $(( ($(date +%s%N) - t0) / 1000000 ))"
}

read -r scan_rc scan_ms <<< "$(run scan "$CORPUS_SCAN" scan --json "${flags[@]}" "${helper[@]}" "$path")"
read -r rw_rc rw_ms <<< "$(run rw "$CORPUS_RW" rewrite "$path" --dry-run "${helper[@]}")"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$src" "$size" "$scan_rc" "$scan_ms" "$rw_rc" "$rw_ms" "$path" \
  > "$res.res.tmp"
mv "$res.res.tmp" "$res.res"

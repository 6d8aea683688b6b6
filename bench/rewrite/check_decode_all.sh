#!/usr/bin/env bash
# check_decode_all.sh CALLIRW FILE... - `callirw scan --json` must print the
# same and exit the same with and without --decode-all: skipping the decode
# when nothing names the helper, and not sweeping regions that cannot hold a
# site, must never change what a scan finds (rewriter/scan.c,
# rewriter/scan_x86_64.c). Missing files are skipped (optional inputs), but
# at least one file with sites and one without must be compared.
set -euo pipefail
cli=$1; shift
n=0 with_sites=0 without=0 bad=0
for f in "$@"; do
  [ -f "$f" ] || continue
  set +e
  a=$("$cli" scan --json "$f" 2>&1); ra=$?
  b=$("$cli" scan --json --decode-all "$f" 2>&1); rb=$?
  set -e
  n=$((n + 1))
  if [ "$a" != "$b" ] || [ $ra != $rb ]; then
    echo "check-decode-all: $f: scan differs with --decode-all (exit $ra / $rb)"
    diff <(echo "$a") <(echo "$b") | head -10 || true
    bad=$((bad + 1))
  fi
  case $ra in 0) with_sites=$((with_sites + 1));; 1) without=$((without + 1));; esac
done
if [ $with_sites = 0 ] || [ $without = 0 ]; then
  echo "check-decode-all: compared $n files, $with_sites with sites, $without without: need both"
  exit 1
fi
[ $bad = 0 ] || { echo "check-decode-all: $bad of $n files differ"; exit 1; }
echo "check-decode-all: $n files ($with_sites with sites, $without without) scan the same with --decode-all"

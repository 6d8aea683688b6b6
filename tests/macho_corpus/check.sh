#!/usr/bin/env bash
# check.sh ASAN_CALLIRW FAST_CALLIRW LIEF_CHECK OUTDIR - the real Mach-O
# corpus (tools/corpus_macho.sh) against tests/macho_corpus/expect.txt:
# every file is scanned (JSON and text), inspected and rewritten by callirw
# as expect.txt says, must not crash it, yields no site, is left unchanged,
# and LIEF parses it (lief_check); imported functions played as the helper
# give real sites, checked by stub_calls.py. See docs/macho-corpus.md.
set -u
ASAN=$1 FAST=$2 LIEF=$3 OUT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS=${CALLIRW_MACHO_CORPUS:-$ROOT/build/corpus/macho}
LIPO=${LIPO:-llvm-lipo-14}
# a sanitizer report must not pass for callirw's exit 1 ("nothing to do")
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86} UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=86:print_stacktrace=1}
T=check-macho-corpus

rm -rf "$OUT" && mkdir -p "$OUT/slices" || exit 1
list=$("$ROOT/tools/corpus_macho.sh" --dir "$CORPUS" 2> "$OUT/fetch.log"); rc=$?
if [ $rc -eq 3 ]; then
  cat "$OUT/fetch.log"
  echo "$T: FAILED: the real Mach-O files could not be fetched (npm pack: offline, or npm missing);" \
       "run tools/corpus_macho.sh once online, or copy the pinned tarballs into $CORPUS"
  exit 1
elif [ $rc -ne 0 ]; then
  cat "$OUT/fetch.log"
  echo "$T: FAILED: tools/corpus_macho.sh exit $rc"
  exit 1
fi

nfail=0
bad() { echo "$T: FAILED: $1: $2"; nfail=$((nfail + 1)); }

# every listed Mach-O file has an expectation, and every expected file is there
entries=$(grep -v '^#' "$HERE/expect.txt" | awk 'NF')
while IFS= read -r f; do
  printf '%s\n' "$entries" | awk '{print $1}' | grep -qxF -- "$f" ||
    bad "$f" "a Mach-O file of the corpus without a line in tests/macho_corpus/expect.txt"
done <<< "$list"

# How a command that must refuse the file refused it: exit 2, one line that
# says what is not supported.
refused() { # LOG RC
  [ "$2" -eq 2 ] && [ "$(wc -l < "$1")" -eq 1 ] && grep -qiE 'supported|Mach-O|fat' "$1"
}
# A crash: a signal, a sanitizer report, callirw's internal-error exit (3).
crashed() { # LOG RC
  [ "$2" -ge 128 ] || [ "$2" -eq 86 ] || [ "$2" -eq 3 ] ||
    grep -q -e 'Sanitizer' -e 'runtime error:' "$1"
}

n=0
while read -r name expect build helpers; do
  case $build in asan) cli=$ASAN ;; fast) cli=$FAST ;; *) bad "$name" "build '$build'?"; continue ;; esac
  case $expect in scan|unsupported) ;; *) bad "$name" "expectation '$expect'?"; continue ;; esac
  case $helpers in [0-9]) ;; *) bad "$name" "HELPERS '$helpers'?"; continue ;; esac
  file=${name%%\[*}
  if ! printf '%s\n' "$list" | grep -qxF -- "$file"; then
    bad "$name" "not in the corpus (tools/corpus_macho.sh does not list it)"; continue
  fi
  in=$CORPUS/$file
  nslices=0
  if [ "$file" != "$name" ]; then # FILE[ARCH]: the thin slice
    arch=${name#*\[}; arch=${arch%\]}
    in=$OUT/slices/$(printf '%s' "$file" | tr '/' '_').$arch
    "$LIPO" "$CORPUS/$file" -thin "$arch" -output "$in" 2> "$OUT/log" ||
      { bad "$name" "$LIPO cannot extract the slice: $(head -1 "$OUT/log")"; continue; }
  elif [ "$(od -An -tx1 -N4 "$in" | tr -d ' ')" = cafebabe ]; then
    nslices=$((16#$(od -An -tx1 -j4 -N4 "$in" | tr -d ' ')))
  fi
  before=$(sha256sum < "$in")
  t0=$(date +%s%N)
  what=""

  "$cli" scan --json "$in" > "$OUT/scan.json" 2> "$OUT/scan.err"; rc=$?
  if crashed "$OUT/scan.err" $rc; then
    cat "$OUT/scan.err"; bad "$name" "scan --json crashed (exit $rc)"; continue
  fi
  if [ "$expect" = scan ]; then
    if [ $rc -ne 1 ]; then
      head -3 "$OUT/scan.err"; bad "$name" "scan --json: exit $rc, expected 1 (read, no site)"; continue
    fi
    what=$(python3 "$HERE/scan_json.py" "$OUT/scan.json" $nslices) || { bad "$name" "$what"; continue; }
  else
    if [ $rc -eq 1 ] && python3 "$HERE/scan_json.py" "$OUT/scan.json" $nslices > /dev/null; then
      bad "$name" "scan reads it now: change its line in tests/macho_corpus/expect.txt to 'scan'"
      continue
    fi
    refused "$OUT/scan.err" $rc ||
      { cat "$OUT/scan.err"; bad "$name" "scan: exit $rc, expected 2 with one line saying what is unsupported"; continue; }
    what="refused: $(cat "$OUT/scan.err")"
  fi

  # the text table (another printer) and inspect: same verdicts
  ok=1
  for cmd in scan inspect; do
    "$cli" $cmd "$in" > "$OUT/$cmd.out" 2> "$OUT/$cmd.err"; rc=$?
    if crashed "$OUT/$cmd.err" $rc; then
      cat "$OUT/$cmd.err"; bad "$name" "$cmd crashed (exit $rc)"; ok=0; break
    fi
    if [ "$expect" = scan ] && [ $rc -ne 1 ]; then
      head -3 "$OUT/$cmd.err"; bad "$name" "$cmd: exit $rc, expected 1"; ok=0; break
    fi
    if [ "$expect" = unsupported ] && ! refused "$OUT/$cmd.err" $rc; then
      cat "$OUT/$cmd.err"; bad "$name" "$cmd: exit $rc, expected 2 with one line saying what is unsupported"
      ok=0; break
    fi
  done
  [ $ok = 1 ] || continue

  # rewriting changes nothing: exit 1 "nothing to do" (or the refusal), no output
  rm -f "$OUT/rw.out"
  "$cli" rewrite "$in" -o "$OUT/rw.out" > "$OUT/rw.log" 2>&1; rc=$?
  if crashed "$OUT/rw.log" $rc; then
    cat "$OUT/rw.log"; bad "$name" "rewrite crashed (exit $rc)"; continue
  fi
  if [ -e "$OUT/rw.out" ]; then
    bad "$name" "rewrite wrote an output file (exit $rc)"; continue
  fi
  if [ "$expect" = scan ] && { [ $rc -ne 1 ] || ! grep -q 'nothing to do' "$OUT/rw.log"; }; then
    cat "$OUT/rw.log"; bad "$name" "rewrite: exit $rc, expected 1 'nothing to do'"; continue
  fi
  if [ "$expect" = unsupported ] && ! refused "$OUT/rw.log" $rc; then
    cat "$OUT/rw.log"; bad "$name" "rewrite: exit $rc, expected 2 with one line saying what is unsupported"
    continue
  fi
  if [ "$(sha256sum < "$in")" != "$before" ]; then
    bad "$name" "the input changed"; continue
  fi
  ms=$((($(date +%s%N) - t0) / 1000000))

  # LIEF, independently: every slice and load command parsed
  "$LIEF" "$in" > "$OUT/lief.log" 2>&1; rc=$?
  if [ $rc -ne 0 ]; then
    cat "$OUT/lief.log"; bad "$name" "lief_check: exit $rc"; continue
  fi
  lief=$(grep -c ': Mach-O slice ' "$OUT/lief.log")

  # truncated copies: refused as bad input (exit 2, one line), never read
  # past their end; lief_check must refuse a 100-byte one (it can fail)
  if [ "$expect" = scan ]; then
    size=$(stat -c %s "$in")
    for cut in 16 100 1000 $((size / 2)) $((size - 1)); do
      head -c "$cut" "$in" > "$OUT/cut"
      "$cli" scan "$OUT/cut" > /dev/null 2> "$OUT/cut.err"; rc=$?
      if crashed "$OUT/cut.err" $rc || [ $rc -ne 2 ] || [ "$(wc -l < "$OUT/cut.err")" -ne 1 ]; then
        cat "$OUT/cut.err"; bad "$name" "scan of its first $cut bytes: exit $rc, expected 2 with one line"
        continue 2
      fi
    done
    head -c 100 "$in" > "$OUT/cut"
    "$LIEF" "$OUT/cut" > /dev/null 2>&1 && { bad "$name" "lief_check accepts its first 100 bytes"; continue; }
  fi

  # imported functions as the helper: real sites, checked independently
  stubs=""
  if [ "$expect" = scan ] && [ "$helpers" -gt 0 ]; then
    python3 "$HERE/stub_calls.py" "$in" "$cli" "$helpers" > "$OUT/stubs.log" 2>&1 ||
      { cat "$OUT/stubs.log"; bad "$name" "scan --helper (an imported function) and the stubs disagree"; continue; }
    stubs="; $(sed 's/^[^:]*: //' "$OUT/stubs.log" | paste -sd';' | sed 's/;/; /g')"
  fi
  if [ "$expect" = scan ]; then did="no site; inspect: not rewritten; rewrite: nothing to do"
  else did="inspect and rewrite refuse it too"; fi
  echo "$T: $name: $what; $did ($build, $ms ms); LIEF: $lief slice(s) parsed$stubs"
  n=$((n + 1))
done <<< "$entries"

echo "$T: $n passed, $nfail failed"
[ $nfail = 0 ]

#!/usr/bin/env bash
# check.sh B NAME... - tests/elf/check.sh for the arm64 programs: run
# `callirw scan --json` (the ASan build) on each B/tests/elf_a64/NAME and
# compare a projection of the output with tests/elf_a64/expect/NAME.txt: the
# exit code, the image kind and BTI flag, the summary, then one line per site
# (function+offset, call form and length, cookie form, signature, verdict,
# reason; in linked images hex numbers in reasons are replaced by X, so that
# link addresses do not matter). The text output must give the same exit
# code. UPDATE=1 rewrites the expected files instead (review the diff).
set -u
B=$1
shift
CALLIRW=$B/asan/callirw
if ! command -v jq > /dev/null; then
  echo "check-elf-a64: jq is required (tools/deps.sh installs it)" >&2
  exit 1
fi
PROJ='.kind as $k | "kind=\(.kind) bti=\(.bti) helper=\(.helper) sites=\(.summary.sites) rewritable=\(.summary.rewritable) left=\(.summary.left)",
  (.sites[] | "\(.function // "-")+\(.function_offset // "-") \(.form)/\(.length) cookie=\(.cookie.form) sig=\(.signature // "-") \(.verdict)\(if .reason == "" then "" elif $k == "object" then ": " + .reason else ": " + (.reason | gsub("0x[0-9a-f]+"; "X")) end)")'
fail=0
for n in "$@"; do
  img=$B/tests/elf_a64/$n
  exp=tests/elf_a64/expect/$n.txt
  json=$("$CALLIRW" scan --json "$img" 2> "$B/tests/elf_a64/$n.stderr")
  rc=$?
  got=$({ echo "rc=$rc"; printf '%s\n' "$json" | jq -r "$PROJ" 2>&1; cat "$B/tests/elf_a64/$n.stderr"; })
  "$CALLIRW" scan "$img" > /dev/null 2>&1
  rc_text=$?
  if [ "$rc_text" != "$rc" ]; then
    echo "check-elf-a64: $n: text output exits $rc_text, JSON output $rc"
    fail=1
  fi
  if [ "${UPDATE:-}" = 1 ]; then
    printf '%s\n' "$got" > "$exp"
    continue
  fi
  if [ ! -f "$exp" ]; then
    echo "check-elf-a64: $n: no $exp"
    fail=1
  elif ! diff -u "$exp" <(printf '%s\n' "$got") > "$B/tests/elf_a64/$n.diff"; then
    echo "check-elf-a64: $n: scan differs from $exp:"
    head -40 "$B/tests/elf_a64/$n.diff"
    fail=1
  else
    echo "check-elf-a64: $n ok ($(sed -n 2p "$exp" | sed 's/.*sites=\([0-9]*\).*rewritable=\([0-9]*\).*/\1 sites, \2 rewritable/'))"
  fi
done
exit $fail

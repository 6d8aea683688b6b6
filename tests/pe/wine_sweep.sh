#!/usr/bin/env bash
# wine_sweep.sh PE_DUMP DIR - open and scan every PE file in DIR (wine's
# x86-64 DLL directory: hundreds of real DLLs, EXEs, drivers) with the ASan
# build of the PE/COFF back-end, then cross-check a sample (every 10th file;
# PE_WINE_FULL=1: all) against llvm-readobj. Skipped when DIR is absent.
set -u
PE_DUMP=$1
DIR=$2
if [ ! -d "$DIR" ]; then
  echo "check-pe-wine: $DIR not found (wine64 not installed): skipped"
  exit 0
fi
shopt -s nullglob
files=("$DIR"/*)
if [ ${#files[@]} -eq 0 ]; then
  echo "check-pe-wine: no files in $DIR: skipped"
  exit 0
fi
out=$("$PE_DUMP" --quiet --scan "${files[@]}" 2>&1)
rc=$?
errors=$(printf '%s\n' "$out" | grep '^err ')
if [ $rc -ne 0 ]; then
  printf '%s\n' "$out" | grep -v '^ok ' | tail -20
  echo "check-pe-wine: pe_dump failed (exit $rc): a crash, an internal error or a bad message"
  exit 1
fi
[ -n "$errors" ] && printf '%s\n' "$errors"
echo "check-pe-wine: $(printf '%s\n' "$out" | tail -1)"
# No wine file calls the generic helper: any site is a false one.
if ! printf '%s\n' "$out" | tail -1 | grep -q ', 0 with sites$'; then
  printf '%s\n' "$out" | grep '^ok .* sites=[1-9]'
  echo "check-pe-wine: sites found in wine's own files (false sites)"
  exit 1
fi
sample=()
for i in "${!files[@]}"; do
  if [ -n "${PE_WINE_FULL:-}" ] || [ $((i % 10)) -eq 0 ]; then
    sample+=("${files[$i]}")
  fi
done
# only files pe_dump opened (llvm-readobj has its own limits)
ok=()
for f in "${sample[@]}"; do
  printf '%s\n' "$out" | grep -qF "ok $f " && ok+=("$f")
done
python3 "$(dirname "$0")/crosscheck.py" pe "$PE_DUMP" "${ok[@]}" > /dev/null || {
  python3 "$(dirname "$0")/crosscheck.py" pe "$PE_DUMP" "${ok[@]}" | grep -v 'agree with'
  echo "check-pe-wine: pe_dump and llvm-readobj disagree"
  exit 1
}
echo "check-pe-wine: ${#ok[@]} files cross-checked against llvm-readobj: agree"
# Rewriting one of them changes nothing: exit 1 ("nothing to do"), no
# output file, the input's bytes unchanged (the sample above; CALLIRW unset:
# skipped).
if [ -n "${CALLIRW:-}" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  n=0
  for f in "${ok[@]}"; do
    before=$(sha256sum < "$f")
    "$CALLIRW" rewrite "$f" -o "$tmp/out" > "$tmp/log" 2>&1; rc=$?
    after=$(sha256sum < "$f")
    if [ $rc -ne 1 ] || [ -e "$tmp/out" ] || [ "$before" != "$after" ] ||
       ! grep -q 'nothing to do' "$tmp/log"; then
      cat "$tmp/log"
      echo "check-pe-wine: rewriting $f: exit $rc$([ -e "$tmp/out" ] && echo ', an output file was written')"
      exit 1
    fi
    n=$((n + 1))
  done
  echo "check-pe-wine: $n files rewritten: each a no-op (exit 1, no output, input unchanged)"
fi

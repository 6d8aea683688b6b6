#!/usr/bin/env bash
# check.sh ASAN_CALLIRW SITES_FILE OUTDIR - make check-corpus: the corpus run
# (tools/corpus.sh) on a handful of files, in seconds, so that the script
# that judges the real corpus (docs/corpus.md) is itself tested:
#   1. a clean run (system ELF files of both machines, a wine PE file, a
#      truncated copy that is refused, a script that is skipped) passes and
#      counts each outcome;
#   2. the same plus SITES_FILE (a test object holding helper calls) fails
#      and names the file and its sites; a stress run (--helper: a libc
#      function plays the helper) finds sites and passes;
#   3. a fake CLI that segfaults, prints a UBSan report, exits 3, hangs or
#      refuses in two lines on chosen files: the run fails and names each
#      file with its failure, and passes the others.
set -euo pipefail
CLI=$(realpath "$1") SITES=$(realpath "$2") OUT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=check-corpus
rm -rf "$OUT" && mkdir -p "$OUT/in"
OUT=$(realpath "$OUT")
fail() { echo "$T: FAILED: $*"; exit 1; }

# the inputs: small real files of each kind the corpus has (those present)
in=$OUT/in
cp /usr/bin/true "$in/true"
ln -s "$in/true" "$in/true-link"                 # the same file again: counted once
head -c 200 /usr/bin/true > "$in/truncated"      # refused: exit 2, one line
printf '#!/bin/sh\necho hi\n' > "$in/script.sh"  # not ELF: skipped
files=(true true-link truncated script.sh)
for f in /usr/aarch64-linux-gnu/lib/libdl.so.2 /usr/lib/x86_64-linux-gnu/wine/x86_64-windows/version.dll; do
  [ -f "$f" ] && cp "$f" "$in/" && files+=("$(basename "$f")")
done
roots=$(printf "$in/%s," "${files[@]}"); roots=${roots%,}

run() { # NAME EXPECTED_EXIT ARGS... : the corpus script, its exit checked
  local name=$1 want=$2 rc=0; shift 2
  "$ROOT/tools/corpus.sh" --out "$OUT/$name" --jobs 2 "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  [ $rc -eq "$want" ] || { tail -30 "$OUT/$name.log"; fail "$name: exit $rc, expected $want"; }
  [ -s "$OUT/$name/report.md" ] || fail "$name: no report.md"
}
has() { # NAME PATTERN... : each pattern is a line of NAME's report
  local name=$1; shift
  for p in "$@"; do
    grep -qE -- "$p" "$OUT/$name/report.md" || { cat "$OUT/$name/report.md"; fail "$name: report lacks /$p/"; }
  done
}

# 1. clean: 5 or 6 files read or refused (true-link is true), no failure
n=$(( ${#files[@]} - 2 ))
run clean 0 --scan "$CLI" --rewrite "$CLI" --source mix bin "$roots"
has clean '^\*\*PASS\*\*: '"$n"' files' "^\| mix \| $n \| [^|]+ \| $((n - 1)) \| 1 \| 0 \| 0 \| 0 \| $((n - 1)) \| 1 \| 0 \|" \
  'same file again \(hard link or symlink\) 1' 'not bin: script 1' \
  "^\| mix \| 1 \| [^|]+ \| $in/truncated \|"

# 2. a file with sites: the run fails and says where
run sites 1 --scan "$CLI" --rewrite "$CLI" --source mix bin "$roots" --source planted elf "$SITES"
has sites '^\*\*FAIL\*\*: ' "^- \`$SITES\` .*scan: [1-9][0-9]* site\(s\) found" \
  "^- \`$SITES\` .*rewrite --dry-run: would rewrite" "^\| planted \| 1 \| [^|]+ \| 0 \| 0 \| 1 \| [1-9]"
[ "$(grep -c '^- `' "$OUT/sites/report.md")" -eq 2 ] || fail "sites: failures other than the planted file's"

# 2b. a stress run (--helper): a function /usr/bin/true calls plays the
# helper; its sites are expected, the run passes and counts them
run stress 0 --scan "$CLI" --rewrite "$CLI" --helper setlocale --source one elf "$in/true"
has stress '^- \*\*stress run\*\*: `setlocale`' '^\*\*PASS\*\*: 1 files, [^;]+; 0 crashes \(hangs among them: 0\), [1-9][0-9]* sites' \
  "^\| one \| 1 \| [^|]+ \| 0 \| 0 \| 1 \| [1-9]"

# 3. crashes and hangs, from a fake CLI that misbehaves on chosen files
for f in segv ubsan exit3 hang tworefusal; do cp /usr/bin/true "$in/$f"; done
# (it also claims --decode-all, which the run must then pass to scan; it
# drops it before running the real CLI, which may not have it yet)
cat > "$OUT/fake-callirw" <<EOF
#!/usr/bin/env bash
if [ "\$*" = "scan --help" ]; then echo "usage: callirw scan [--json] [--decode-all] IMAGE"; exit 0; fi
args=()
for a in "\$@"; do [ "\$a" = --decode-all ] || args+=("\$a"); done
set -- "\${args[@]}"
case "/\${@: -1}/\${@: -2:1}" in   # scan: the file is last; rewrite: before --dry-run
  */segv*) kill -SEGV \$\$ ;;
  */ubsan*) echo "formats/x.c:1:2: runtime error: load of misaligned address" >&2; exit 1 ;;
  */exit3*) echo "callirw: scan: exit3: internal error" >&2; exit 3 ;;
  */hang*) exec sleep 30 ;;
  */tworefusal*) printf 'callirw: bad\nmore\n' >&2; exit 2 ;;
esac
exec "$CLI" "\$@"
EOF
chmod +x "$OUT/fake-callirw"
run fake 1 --scan "$OUT/fake-callirw" --rewrite "$OUT/fake-callirw" --timeout 3 \
  --source mix bin "$roots,$in/segv,$in/ubsan,$in/exit3,$in/hang,$in/tworefusal"
has fake '^- scan: `callirw scan --json --decode-all FILE`' '^\*\*FAIL\*\*: '"$((n + 5))"' files, [^;]+; 4 crashes \(hangs among them: 1\), 0 sites, 5 files with a failure' \
  "^- \`$in/segv\` .*scan: signal 11" "^- \`$in/segv\` .*rewrite --dry-run: signal 11" \
  "^- \`$in/ubsan\` .*scan: sanitizer report: .*runtime error" \
  "^- \`$in/exit3\` .*scan: internal error \(exit 3\)" \
  "^- \`$in/hang\` .*scan: hang \(timeout\)" "^- \`$in/hang\` .*rewrite --dry-run: hang" \
  "^- \`$in/tworefusal\` .*scan: exit 2 without one"
[ "$(grep -c '^- `' "$OUT/fake/report.md")" -eq 10 ] || { cat "$OUT/fake/report.md"; fail "fake: not exactly the 10 planted failures"; }
echo "$T: passed (a clean run of $n files passes; a planted site, a signal, a UBSan report, exit 3," \
  "a hang and a two-line refusal each fail the run and are named; a --helper stress run passes)"

#!/usr/bin/env bash
# corpus.sh - `make corpus` (docs/corpus.md): scan and dry-run rewrite every
# real binary of the corpus, none of which calls the helper, and report
# files, crashes, sites, refusals and time.
#
#   tools/corpus.sh [--scan CLI] [--rewrite CLI] [--out DIR] [--cache DIR]
#                   [--r2r DIR] [--jobs N] [--timeout S] [--helper NAME]
#                   [--archives] [--source NAME KIND ROOTS]...
#
# Default sources: every ELF file under /usr/bin, /usr/lib/x86_64-linux-gnu
# and /usr/aarch64-linux-gnu; every PE file under wine's directories; the
# pinned npm packages (tools/corpus_macho.sh --all: esbuild for six
# platforms, fsevents), fetched once into CACHE/npm; the ReadyToRun corpus
# (--r2r, default ../shared/corpus/r2r). --archives adds the members of
# every `ar` archive under the ELF and wine directories (static libraries,
# import libraries: ELF and COFF objects), extracted into DIR/run/ar.
# --source (repeatable) replaces the default sources: KIND elf, pe, bin (any
# of ELF, PE, Mach-O) or obj (ELF, COFF, Mach-O objects), ROOTS
# comma-separated directories, files or @LISTFILEs (tests/corpus/collect.py).
#
# CLI defaults to build/asan/callirw for both commands; `scan` gets
# --decode-all when the CLI has it. Each file: `timeout S` per command, JOBS
# files at a time. Output: DIR/report.md (Markdown, also printed) and
# DIR/run/ (per-file outputs, results.tsv). DIR defaults to build/corpus,
# CACHE to .cache/corpus (survives make clean; git ignores it).
# --helper NAME (a stress run): NAME (e.g. memcpy) plays the helper in both
# commands, so that the scanner finds and judges thousands of real calls;
# sites are then expected, and only crashes, hangs and malformed answers fail.
#
# exit 0: no crash, hang or site; 1: any of them, or the corpus could not be
# assembled (a missing tool, the npm packages cannot be fetched); 2: usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCAN=$ROOT/build/asan/callirw
RW=$ROOT/build/asan/callirw
OUT=$ROOT/build/corpus
CACHE=$ROOT/.cache/corpus
R2R=$ROOT/../shared/corpus/r2r
JOBS=$(nproc 2>/dev/null || echo 2)
TIMEOUT=60
HELPER=
ARCHIVES=0
SOURCES=()

usage() { echo "corpus: $1 (try --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --scan|--rewrite|--out|--cache|--r2r|--jobs|--timeout|--helper)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case $1 in
        --scan) SCAN=$2 ;; --rewrite) RW=$2 ;; --out) OUT=$2 ;; --cache) CACHE=$2 ;;
        --r2r) R2R=$2 ;; --jobs) JOBS=$2 ;; --timeout) TIMEOUT=$2 ;; --helper) HELPER=$2 ;;
      esac
      shift 2 ;;
    --source)
      [ $# -ge 4 ] || usage "--source needs NAME KIND ROOTS"
      case $3 in elf|pe|bin|obj) ;; *) usage "--source $2: KIND must be elf, pe, bin or obj" ;; esac
      SOURCES+=("$2" "$3" "$4"); shift 4 ;;
    --archives) ARCHIVES=1; shift ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument '$1'" ;;
  esac
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || usage "--jobs: a positive number"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || usage "--timeout: a positive number of seconds"
for tool in python3 timeout xargs; do
  command -v $tool > /dev/null || { echo "corpus: $tool is missing (make deps)" >&2; exit 1; }
done
for cli in "$SCAN" "$RW"; do
  [ -x "$cli" ] || { echo "corpus: $cli is not built (make $cli)" >&2; exit 1; }
done

RUN=$OUT/run
rm -rf "$RUN"
mkdir -p "$RUN/lists" "$RUN/res"

if [ ${#SOURCES[@]} -eq 0 ]; then
  # npm: fetched once (pinned versions and SHA-256), then listed by magic
  npm_dir=$CACHE/npm
  if ! "$ROOT/tools/corpus_macho.sh" --dir "$npm_dir" --all > "$RUN/npm.txt" 2> "$RUN/npm.log"; then
    cat "$RUN/npm.log" >&2
    echo "corpus: the npm packages could not be fetched into $npm_dir (offline? copy the" \
         "pinned tarballs of tools/corpus_macho.sh there)" >&2
    exit 1
  fi
  sed "s|^|$npm_dir/|" "$RUN/npm.txt" > "$RUN/npm.paths"
  [ -d "$R2R" ] || { echo "corpus: the ReadyToRun corpus $R2R is missing" >&2; exit 1; }
  SOURCES=(
    elf elf /usr/bin,/usr/lib/x86_64-linux-gnu,/usr/aarch64-linux-gnu
    wine-pe pe /usr/lib/x86_64-linux-gnu/wine,/usr/lib/wine
    npm bin "@$RUN/npm.paths"
    r2r bin "$(cd "$R2R" && pwd)"
  )
fi
if [ $ARCHIVES = 1 ]; then
  echo "corpus: extracting the members of the ar archives..." >&2
  python3 "$ROOT/tests/corpus/ar_extract.py" "$RUN/ar" /usr/lib/x86_64-linux-gnu /usr/aarch64-linux-gnu \
    /usr/lib/wine > "$RUN/ar.json"
  SOURCES+=(archives obj "$RUN/ar")
fi

# Select each source's files (by magic, once per inode) into lists/NAME.list;
# sources.json describes them for the report.
echo "{" > "$RUN/sources.json"
sep=""
for ((i = 0; i < ${#SOURCES[@]}; i += 3)); do
  name=${SOURCES[i]} kind=${SOURCES[i+1]} roots=${SOURCES[i+2]}
  IFS=, read -r -a rootv <<< "$roots"
  info=$(python3 "$ROOT/tests/corpus/collect.py" "$RUN/lists/$name.list" "$kind" "${rootv[@]}")
  shown=${roots//@$RUN\/npm.paths/tools\/corpus_macho.sh --all}
  printf '%s"%s": {"kind": "%s", "roots": %s, %s\n' "$sep" "$name" "$kind" \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$shown")" "${info#\{}" >> "$RUN/sources.json"
  sep=","
  n=$(wc -l < "$RUN/lists/$name.list")
  echo "corpus: $name: $n files" >&2
  if [ "$n" -eq 0 ]; then
    echo "corpus: source $name ($roots) has no $kind file: nothing would be tested" >&2
    exit 1
  fi
done
echo "}" >> "$RUN/sources.json"

# every file once, largest first (the long jobs start early), numbered
for f in "$RUN"/lists/*.list; do
  name=$(basename "$f" .list)
  awk -v s="$name" -F '\t' '{ print $1 "\t" s "\t" $2 }' "$f"
done | sort -t$'\t' -k1,1nr | awk -F '\t' '{ printf "%06d\t%s\t%s\t%s\n", NR, $2, $1, $3 }' > "$RUN/files.tsv"

flags=""
help=$("$SCAN" scan --help 2>&1 || true)
if grep -q -- '--decode-all' <<< "$help"; then flags=--decode-all; fi
build_of() { case $1 in */asan/*) echo "ASan+UBSan" ;; *) echo "none" ;; esac; }

export CORPUS_RES=$RUN/res CORPUS_SCAN=$SCAN CORPUS_RW=$RW CORPUS_TIMEOUT=$TIMEOUT
export CORPUS_SCAN_FLAGS=$flags CORPUS_HELPER=$HELPER
# a sanitizer report must not pass for exit 1 ("nothing to do")
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86} UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=86:print_stacktrace=1}
total=$(wc -l < "$RUN/files.tsv")
echo "corpus: $total files, $JOBS at a time (scan ${flags:-without --decode-all})..." >&2
t0=$(date +%s)
xargs -P "$JOBS" -d '\n' -n 1 "$ROOT/tools/corpus_file.sh" < "$RUN/files.tsv" ||
  echo "corpus: some workers failed (their files have no result)" >&2
wall=$(( $(date +%s) - t0 ))

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
mem=$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
version=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
python3 - "$RUN/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
           "machine": "$(uname -srm), ${cpu:-?}, $(nproc) cores, ${mem:-?} RAM",
           "version": "$version",
           "helper": "$HELPER",
           "scan_cmd": "callirw scan --json ${flags:+$flags }${HELPER:+--helper $HELPER }FILE",
           "scan_build": "$(build_of "$SCAN")",
           "rw_cmd": "callirw rewrite FILE --dry-run${HELPER:+ --helper $HELPER}",
           "rw_build": "$(build_of "$RW")",
           "jobs": $JOBS, "timeout": $TIMEOUT, "wall_s": $wall}, open(sys.argv[1], "w"))
EOF
python3 "$ROOT/tests/corpus/summary.py" "$RUN" "$OUT/report.md"

#!/usr/bin/env bash
# corpus_macho.sh - fetch the real Mach-O corpus (docs/macho-corpus.md): a few
# pinned npm packages that ship macOS binaries, fetched with `npm pack`,
# checked against the SHA-256 recorded below, unpacked, and their Mach-O
# files listed.
#
#   tools/corpus_macho.sh [--dir DIR] [--list-only] [--all]
#
# DIR (default build/corpus/macho, or $CALLIRW_MACHO_CORPUS) caches the
# tarballs and their unpacked trees: what is there and verified is not
# fetched again. --list-only fetches nothing (exit 3 if something is missing).
# --all (make corpus, docs/corpus.md): also esbuild's Linux and Windows
# packages, and every ELF, PE (MZ) and Mach-O file is listed.
# stdout: one line per Mach-O file, its path relative to DIR; messages go to
# stderr.
#
# exit 0: done; 1: usage or a local error (no tar, cannot write DIR);
#      2: a tarball's SHA-256 differs from the pinned one (removed again);
#      3: cannot fetch (offline, or npm is missing).
set -uo pipefail

# package spec, the tarball npm pack writes, its SHA-256
PINS=(
  "fsevents@2.3.3              fsevents-2.3.3.tgz              c77e7a5d5ff31dd7acea7c44d4a0455e0528cdacbd24a8cb6c82b66d239b587e"
  "@esbuild/darwin-arm64@0.28.2 esbuild-darwin-arm64-0.28.2.tgz 1980cde09749094452b20d36ff267585ccb3f72749c7bc97291cd9996ccf5a2a"
  "@esbuild/darwin-x64@0.28.2   esbuild-darwin-x64-0.28.2.tgz   abb6a7a895aaf2cc0df36fecc3bf0042479ffec51a643a056d54e9109f27db55"
)
# --all only: the other four platforms esbuild ships (ELF and PE executables)
ALL_PINS=(
  "@esbuild/linux-arm64@0.28.2  esbuild-linux-arm64-0.28.2.tgz  a96dbfa41d3ef5dbd1ef22b1c10d5187be9267e86093a870f06402a7ec931596"
  "@esbuild/linux-x64@0.28.2    esbuild-linux-x64-0.28.2.tgz    9573bb2233aab0f9ea7647d5cca9726113cc1768de61d66b17267f4db84488f6"
  "@esbuild/win32-arm64@0.28.2  esbuild-win32-arm64-0.28.2.tgz  b3cffeaa165134f7da679c8619266953afd5f41641a254615a57e757f67c7336"
  "@esbuild/win32-x64@0.28.2    esbuild-win32-x64-0.28.2.tgz    7286c3611b6f1f4c4d9ec90adcbc478407ff0d28ead96567f361d53e67613e19"
)

DIR=${CALLIRW_MACHO_CORPUS:-build/corpus/macho}
FETCH=1
ALL=0
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || { echo "corpus_macho: --dir needs a directory" >&2; exit 1; }
           DIR=$2; shift 2 ;;
    --list-only) FETCH=0; shift ;;
    --all) ALL=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "corpus_macho: unknown argument '$1' (try --help)" >&2; exit 1 ;;
  esac
done

[ $ALL = 1 ] && PINS+=("${ALL_PINS[@]}")

mkdir -p "$DIR" || { echo "corpus_macho: cannot create $DIR" >&2; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

for pin in "${PINS[@]}"; do
  read -r spec tgz sha <<< "$pin"
  tree=$DIR/${tgz%.tgz}
  # a tree is complete once its stamp (the tarball's hash) is written
  if [ -f "$tree/.sha256" ] && [ "$(cat "$tree/.sha256")" = "$sha" ]; then
    continue
  fi
  if [ ! -f "$DIR/$tgz" ]; then
    if [ $FETCH = 0 ]; then
      echo "corpus_macho: $tgz is not in $DIR (run tools/corpus_macho.sh)" >&2; exit 3
    fi
    if ! command -v npm > /dev/null 2>&1; then
      echo "corpus_macho: npm is not installed: cannot fetch $spec" >&2; exit 3
    fi
    tmp=$(mktemp -d "$DIR/.fetch.XXXXXX") || exit 1
    # retries bounded so that an offline machine says so within seconds
    if ! npm pack --loglevel=error --ignore-scripts --fetch-retries=1 --fetch-timeout=60000 \
         --pack-destination "$tmp" "$spec" > "$tmp/npm.log" 2>&1 || [ ! -f "$tmp/$tgz" ]; then
      echo "corpus_macho: cannot fetch $spec with npm pack (offline?): $(grep -m1 -i 'err' "$tmp/npm.log" || tail -n1 "$tmp/npm.log")" >&2
      rm -rf "$tmp"; exit 3
    fi
    mv "$tmp/$tgz" "$DIR/$tgz" && rm -rf "$tmp"
    echo "corpus_macho: fetched $spec" >&2
  fi
  got=$(sha_of "$DIR/$tgz")
  if [ "$got" != "$sha" ]; then
    echo "corpus_macho: $tgz: SHA-256 $got, pinned $sha: removed" >&2
    rm -f "$DIR/$tgz"; exit 2
  fi
  rm -rf "$tree" && mkdir -p "$tree" &&
    tar -xzf "$DIR/$tgz" -C "$tree" --no-same-owner --no-same-permissions ||
    { echo "corpus_macho: cannot unpack $tgz" >&2; exit 1; }
  echo "$sha" > "$tree/.sha256"
done

# Mach-O files by magic: thin 64/32-bit little-endian, or fat (big-endian
# 0xcafebabe / 0xcafebabf with a small slice count: Java class files share
# the magic, with a large version number there). --all: ELF and MZ too.
for pin in "${PINS[@]}"; do
  read -r spec tgz sha <<< "$pin"
  (cd "$DIR" && find "${tgz%.tgz}" -type f ! -name .sha256 | LC_ALL=C sort) |
  while IFS= read -r f; do
    h=$(od -An -tx1 -N8 "$DIR/$f" | tr -d ' \n')
    case $h in
      cffaedfe*|cefaedfe*) echo "$f" ;;
      cafebabe000000??|cafebabf000000??) [ $((16#${h:14:2})) -le 32 ] && echo "$f" ;;
      7f454c46*|4d5a*) [ $ALL = 1 ] && echo "$f" ;;
    esac
  done
done
exit 0

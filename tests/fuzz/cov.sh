#!/usr/bin/env bash
# cov.sh - line coverage of what each harness reached (docs/fuzz.md): the
# harness built with clang's source-based coverage (FZ/cov/fuzz_H, no
# sanitizers) replays its corpus and seeds once; llvm-cov-14 reports the
# lines covered in the source files the harness targets. Appends a table to
# FZ/results.md.
#
#   tests/fuzz/cov.sh FZ HARNESS...
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
FZ=$1
shift

sources() {
  case $1 in
    sig) echo sig/calli_sig.c sig/calli_layout.c stubs/*.c ;;
    elf) echo formats/elf.c formats/elf_eh.c formats/elf_ehframe.c formats/elf_headers.c \
              formats/elf_notes.c formats/elf_relocs.c formats/elf_symbols.c rewriter/scan*.c \
              rewriter/cookie.c rewriter/map.c ;;
    pe) echo formats/pe.c formats/pe_coff.c formats/pe_image.c formats/pe_r2r.c \
             formats/pe_describe.c rewriter/scan*.c rewriter/cookie.c rewriter/map.c ;;
    macho) echo formats/macho.c formats/macho_dyld.c formats/macho_fat.c formats/macho_lc.c \
                formats/macho_sym.c rewriter/scan*.c rewriter/cookie.c \
                rewriter/map.c ;;
    rewrite) echo rewriter/*.c formats/*.c stubs/*.c sig/*.c ;;
  esac
}

{
  echo
  echo "| harness | line coverage of its target files (llvm-cov-14; corpus and seeds replayed once) | files |"
  echo "|---|---|---|"
} >>"$FZ/results.md"
for h in "$@"; do
  raw=$FZ/cov/$h.profraw
  rm -f "$raw"
  dirs=()
  for d in "$FZ/corpus/$h" "$FZ/seeds/$h"; do [ -d "$d" ] && dirs+=("$d"); done
  if ! LLVM_PROFILE_FILE=$raw "$FZ/cov/fuzz_$h" "${dirs[@]}" >"$FZ/cov/$h.log" 2>&1; then
    echo "cov: $h: the replay failed (see $FZ/cov/$h.log)" >&2
    echo "| $h | replay failed | |" >>"$FZ/results.md"
    continue
  fi
  llvm-profdata-14 merge -sparse "$raw" -o "$FZ/cov/$h.profdata"
  # TOTAL: regions, missed, cover, functions, missed, executed, lines,
  # missed, cover, branches, missed, cover
  # shellcheck disable=SC2046
  line=$(llvm-cov-14 report "$FZ/cov/fuzz_$h" -instr-profile="$FZ/cov/$h.profdata" $(sources "$h") |
         awk '$1 == "TOTAL" { print $10 " (" $8 - $9 " of " $8 " lines), branches " $13 }')
  echo "cov: $h: $line"
  echo "| $h | $line | $(sources "$h" | wc -w) |" >>"$FZ/results.md"
done

#!/bin/bash
# check.sh CALLIRW ASAN_CALLIRW DIR - the Mach-O reader's test group
# (tests/macho_read/rules.mk). The scans of generated seeds use CALLIRW (the
# optimised build: many runs); everything else, fuzzing included, the
# ASan/UBSan build.
# DIR holds the built inputs (stand-in libSystem and helper, relocs.exe,
# model_dump); work files go to DIR/work. One line per check; exit 1 on any
# failure.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$ROOT/tests/macho_read
FAST=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CALLIRW=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
DIR=$(cd "$3" && pwd)
MD=$DIR/model_dump
W=$DIR/work
SEEDS=${MACHO_READ_SEEDS:-15}
FUZZ=${MACHO_READ_FUZZ:-150}
GEN=$ROOT/build/gen/callirw-gen
rm -rf "$W"
mkdir -p "$W"
bad=0
t0=$(date +%s)
step() { # NAME CMD...: run, show its last line, count a failure
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $name: $(tail -n 1 <<<"$out")"
  else
    echo "FAIL $name:"
    sed 's/^/    /' <<<"$out" | tail -n 20
    bad=$((bad + 1))
  fi
}

# 1. generated objects and the images linked from them
for t in arm64-macos x86_64-macos; do
  step "scan_gen $t (objects, linked images)" \
    python3 "$T/scan_gen.py" "$FAST" "$GEN" "$ROOT" "$W/gen" "$t" 1 "$SEEDS" "$DIR"
done

# 2. the model: relocation addends against the linked fields
for a in x64 a64; do
  step "relocations of relocs_$a.o against relocs-$a.exe" \
    python3 "$T/check_model.py" relocs "$MD" "$DIR/relocs_$a.o" "$DIR/relocs-$a.exe"
done

# 3. linked images of one generated seed per arch: the model against an
#    independent reader; chained-fixup copies read like the originals
imgs=()
for a in arm64 x86_64; do
  d=$W/img-$a
  "$GEN" --target "$a-macos" --seed 5 -o "$d" >/dev/null &&
    clang --target="$a-apple-macos11" -c "$d/sites.S" -o "$d/sites.o" || { echo "FAIL seed 5 $a"; bad=$((bad + 1)); continue; }
  llvm-nm-14 -u "$d/sites.o" | grep -v '^_GenericPInvokeCalliHelper$' |
    awk '{ print "\t.globl " $1 "\n" $1 ":\n\tret" }' >"$d/defs.s"
  clang --target="$a-apple-macos11" -c "$d/defs.s" -o "$d/defs.o"
  L=(ld64.lld-14 -arch "$a" -platform_version macos 11.0 11.0)
  "${L[@]}" -e _gen_site_0 "$d/sites.o" "$d/defs.o" "$DIR/libhelper-$a.dylib" "$DIR/libSystem-$a.dylib" -o "$d/imp.exe"
  "${L[@]}" -dylib "$d/sites.o" "$d/defs.o" "$DIR/libhelper-$a.dylib" "$DIR/libSystem-$a.dylib" -o "$d/imp.dylib"
  "${L[@]}" -bundle "$d/sites.o" "$d/defs.o" "$DIR/helper-$a.o" "$DIR/libSystem-$a.dylib" -o "$d/own.bundle"
  # --helper-rva: the helper linked in, its name stripped
  "${L[@]}" -e _gen_site_0 "$d/sites.o" "$d/defs.o" "$DIR/helper-$a.o" "$DIR/libSystem-$a.dylib" -o "$d/own.exe"
  llvm-strip-14 -o "$d/own-stripped.exe" "$d/own.exe"
  hva=$(llvm-nm-14 "$d/own.exe" | awk '$3 == "_GenericPInvokeCalliHelper" { print $1 }')
  base=$(llvm-nm-14 "$d/own.exe" | awk '$3 == "__mh_execute_header" { print $1 }')
  rva=$(printf '0x%x' $((0x$hva - 0x$base)))
  n0=$("$CALLIRW" scan --json "$d/own-stripped.exe" | jq '.sites | length')
  n1=$("$CALLIRW" scan --json --helper-rva "$rva" "$d/own-stripped.exe" | jq '[.sites[] | select(.verdict == "ok")] | length')
  want=$("$CALLIRW" scan --json "$d/own.exe" | jq '[.sites[] | select(.verdict == "ok")] | length')
  if llvm-nm-14 "$d/own-stripped.exe" | grep -q ' _GenericPInvokeCalliHelper$'; then
    # a __got slot for the helper (x86-64: lld does not relax `call *GOT`)
    # keeps its name through the indirect symbol table: found by name
    if [ "$n0" = "$want" ] && [ "$n1" = "$want" ] && [ "$want" -gt 0 ]; then
      echo "ok   $a stripped executable keeps the helper's name (indirect symbol table): $want sites"
    else echo "FAIL $a stripped: $n0 sites, $n1 with --helper-rva, $want unstripped"; bad=$((bad + 1)); fi
  elif [ "$n0" = 0 ] && [ "$n1" = "$want" ] && [ "$want" -gt 0 ]; then
    echo "ok   $a --helper-rva $rva: the stripped executable's $want sites (0 without it)"
  else echo "FAIL $a --helper-rva $rva: $n0 sites without, $n1 with, $want in the unstripped one"; bad=$((bad + 1)); fi
  out=$("$CALLIRW" scan --helper-rva 0x10 "$d/own-stripped.exe" 2>&1); rc=$?
  if [ $rc = 2 ] && grep -q "not inside an executable section" <<<"$out"; then
    echo "ok   $a --helper-rva 0x10 (the header) refused"
  else echo "FAIL $a --helper-rva 0x10: exit $rc: $out"; bad=$((bad + 1)); fi
  imgs+=("$d/imp.exe" "$d/imp.dylib" "$d/own.bundle")
  for f in imp.exe imp.dylib own.bundle; do
    for fmt in 64 64_offset; do
      c=$d/chained-$fmt-$f
      if python3 "$T/to_chained.py" "$d/$f" "$c" "$fmt"; then
        step "chained ($fmt) $a $f: read_pointer and helper slots as classic" \
          python3 "$T/check_model.py" same "$MD" "$d/$f" "$c"
        a_sites=$("$CALLIRW" scan --json "$d/$f" | jq -c '[.sites[] | [.address, .form, .cookie.address, .verdict]]')
        b_sites=$("$CALLIRW" scan --json "$c" | jq -c '[.sites[] | [.address, .form, .cookie.address, .verdict]]')
        if [ "$a_sites" = "$b_sites" ] && [ "$a_sites" != "[]" ]; then
          echo "ok   chained ($fmt) $a $f: the same $(jq length <<<"$a_sites") sites as classic"
        else echo "FAIL chained ($fmt) $a $f: sites $b_sites, classic $a_sites"; bad=$((bad + 1)); fi
        imgs+=("$c")
      else echo "FAIL to_chained.py $fmt $a $f"; bad=$((bad + 1)); fi
    done
  done
done
step "model of linked images (sections, fixups, helper) against llvm-readobj / machotool.py" \
  python3 "$T/check_model.py" image "$MD" "${imgs[@]::3}" "${imgs[@]:9:3}"

# 4. a rewrite map makes the image "already rewritten": __DWARF,__callirw_map
#    in objects, segment __CALLIRW section __map in linked images
printf '\t.section __DWARF,__callirw_map,regular,debug\n\t.byte 1\n\t.text\n\t.globl _main\n_main:\n\tret\n' >"$W/map.s"
printf '\t.section __CALLIRW,__map\n\t.byte 1\n\t.text\n\t.globl _main\n_main:\n\tret\n' >"$W/map2.s"
printf '\t.text\n\t.globl _main\n_main:\n\tret\n' >"$W/nomap.s"
for f in map map2 nomap; do clang --target=arm64-apple-macos11 -c "$W/$f.s" -o "$W/$f.o"; done
ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 "$W/map2.o" "$DIR/libSystem-arm64.dylib" -o "$W/map2.exe"
ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 "$W/map.o" "$DIR/libSystem-arm64.dylib" -o "$W/map.exe"
r=""
for f in map.o map2.exe nomap.o map.exe map2.o; do r="$r $("$CALLIRW" scan --json "$W/$f" | jq .rewritten)"; done
if [ "$r" = " true true false false false" ]; then
  echo "ok   rewrite map found in an object (__DWARF,__callirw_map) and an image (__CALLIRW,__map) only"
else echo "FAIL rewrite map detection: $r (want true true false false false)"; bad=$((bad + 1)); fi

# 5. refusals: one line, the right exit code
refuse() { # NAME EXPECTED-SUBSTRING FILE
  local out rc
  out=$("$CALLIRW" scan "$3" 2>&1); rc=$?
  if [ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$2" <<<"$out"; then
    echo "ok   refused: $1 ($out)"
  else echo "FAIL refused: $1: exit $rc: $out"; bad=$((bad + 1)); fi
}
patch32() { # FILE OFFSET VALUE OUT
  python3 -c 'import struct,sys; d=bytearray(open(sys.argv[1],"rb").read()); struct.pack_into("<I",d,int(sys.argv[2],0),int(sys.argv[3],0)); open(sys.argv[4],"wb").write(d)' "$@"
}
o=$W/img-arm64/sites.o
patch32 "$o" 8 2 "$W/arm64e.o";      refuse "arm64e" "pointer authentication" "$W/arm64e.o"
patch32 "$o" 4 0x0100000e "$W/cpu.o"; refuse "other cpu" "cpu type" "$W/cpu.o"
patch32 "$o" 12 3 "$W/ft.o";         refuse "file type 3" "file type" "$W/ft.o"
patch32 "$o" 0 0xfeedface "$W/m32.o"; refuse "32-bit" "32-bit" "$W/m32.o"
patch32 "$o" 20 0x7ffffff0 "$W/soc.o"; refuse "sizeofcmds past the end" "past the end" "$W/soc.o"
patch32 "$o" 36 13 "$W/cs.o";        refuse "cmdsize not a multiple of 8" "multiple of 8" "$W/cs.o"
head -c 40 "$o" >"$W/cut.o";         refuse "truncated" "past" "$W/cut.o"

# 6. mutated copies under ASan/UBSan
step "fuzz ($FUZZ mutations)" python3 "$T/fuzz.py" "$CALLIRW" "$W/fuzz" "$FUZZ" 1 \
  "$W/img-arm64/sites.o" "$W/img-x86_64/sites.o" "$DIR/relocs_x64.o" "$DIR/relocs_a64.o" "${imgs[0]}" "${imgs[4]}" "${imgs[9]}" "${imgs[12]}"

echo "check-macho-read: $bad failed ($(( $(date +%s) - t0 )) s)"
[ $bad = 0 ] && rm -rf "$W"
[ $bad = 0 ]

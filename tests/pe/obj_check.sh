#!/bin/sh
# tests/pe/obj_check.sh [SEEDS] - the COFF object writer proven by execution
# (make check-pe-obj; docs/pe.md, "Writing objects"). Needs build/asan/callirw,
# build/gen/callirw-gen, build/x86_64-windows/libcalli_runtime.a and the
# tests/pe inputs in build/tests/pe (sites.o, sites-bigobj.o, sites_msvc.obj,
# helper_x64.lib, obj_dedup_a.o, obj_dedup_b.o).
#  1. COMDAT: tests/pe/sites.S (GNU as, /bigobj, clang msvc) and two copies
#     of tests/pe/obj_dedup.S, rewritten, share the stubs i4 (framed) and
#     i8_sgc (frameless). Linked with tests/pe/obj_main.c by GNU ld and by
#     lld (mingw driver), the programs print the expected lines under wine
#     and hold one copy of each stub (nm, or lld's map) and one unwind entry
#     for i4, inside the stub; lld-link in MSVC mode (/opt:ref, a DLL) keeps
#     one text, one .xdata and one .pdata and the RUNTIME_FUNCTION.
#  2. Limits: a regular object grown to 65275 sections is rewritten (65279
#     with the new ones), one of 65276 is refused with exit 2 and a message
#     naming /bigobj; a /bigobj object of 70000 sections is rewritten; sites
#     in a section with 70 000 relocations (LNK_NRELOC_OVFL) are retargeted,
#     linked and run; an object with a 10 MiB string table is rewritten
#     (its new names first: "/digits" offsets), linked by GNU ld and run.
#  3. 80 mutated copies (1-4 bytes changed) and every 13th truncation of each
#     tests/pe object through rewrite under ASan/UBSan: exit 0, 1 or 2 only,
#     and every output written is read back by inspect (obj_mutate.py).
#  4. SEEDS (default 8) generated x86_64-windows programs (tests/gen/run.sh,
#     modes exe / exe-lowbase) through tests/pe/obj_hook.sh: four flavours
#     of each sites.o rewritten, linked by GNU ld and lld, run, compared.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
C=${CALLIRW:-$B/asan/callirw}
P=$B/tests/pe
W=$B/tests/pe/obj-check
LIB=$B/x86_64-windows/libcalli_runtime.a
LLD_CC="clang --target=x86_64-w64-mingw32 -fuse-ld=lld -L/usr/lib/gcc/x86_64-w64-mingw32/12-win32"
SEEDS=${1:-8}
export WINEDEBUG=-all WINEPREFIX=$B/gen/wineprefix
fail() { echo "check-pe-obj: $*" >&2; exit 1; }
# rf_in FILE HEXADDR SIZE: a RUNTIME_FUNCTION of FILE starts in [addr, addr+size)
rf_in() {
  lo=$((0x$2))
  for h in $(llvm-readobj --unwind "$1" | sed -n 's/.*StartAddress:.*(0x\(.*\))$/\1/p'); do
    v=$((0x$h))
    if [ "$v" -ge "$lo" ] && [ "$v" -lt $((lo + $3)) ]; then return 0; fi
  done
  return 1
}
rm -rf "$W"; mkdir -p "$W"; cd "$W"

# 1. COMDAT across objects
S=$ROOT/tests/pe
cp "$P/obj_dedup_a.o" a.o
cp "$P/obj_dedup_b.o" b.o
x86_64-w64-mingw32-gcc -O1 -c "$S/obj_main.c" -o main.o
for o in a.o b.o "$P/sites.o" "$P/sites-bigobj.o" "$P/sites_msvc.obj"; do
  r=$(basename "$o").rw
  "$C" rewrite "$o" -o "$r" > "$r.log" 2>&1 || { cat "$r.log" >&2; fail "rewrite $o failed"; }
  llvm-readobj --sections --relocs --symbols "$r" > "$r.readobj" 2>&1 || fail "llvm-readobj cannot read $r"
  ! grep -qi warning "$r.readobj" || fail "llvm-readobj warns about $r"
  "$C" inspect --json "$r" > "$r.json" || fail "inspect cannot read $r"
  rc=0; "$C" rewrite "$r" -o "$r.again" > /dev/null 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "rewriting $r again exits with $rc, not 1"
done
i4size=$(jq '.stubs[] | select(.key == "i4") | .size' a.o.rw.json)
[ "$(jq '.stubs[] | select(.key == "i4") | .frame' a.o.rw.json)" = true ] || fail "the i4 stub keeps no frame"
printf '42 42\r\n42 123456789\r\n42 123456789\r\n' > expected.txt
nlinks=0
for v in ld:sites.o lld:sites_msvc.obj ld:sites-bigobj.o lld:sites.o; do
  lk=${v%%:*} s=${v#*:}
  exe=dedup-$lk-$s.exe
  if [ "$lk" = ld ]; then cc=x86_64-w64-mingw32-gcc; else cc="$LLD_CC -Wl,-Map=$exe.map"; fi
  $cc main.o "$s.rw" a.o.rw b.o.rw "$LIB" -o "$exe" > "$exe.log" 2>&1 || { cat "$exe.log" >&2; fail "$lk cannot link $exe"; }
  rc=0; /usr/lib/wine/wine64 "$exe" > "$exe.txt" 2>&1 || rc=$?
  cmp -s "$exe.txt" expected.txt && [ "$rc" = 0 ] || fail "$exe prints other than expected (exit $rc, see $W/$exe.txt)"
  if [ "$lk" = ld ]; then
    x86_64-w64-mingw32-nm "$exe" > "$exe.nm"
    for k in i4 i8_sgc; do
      [ "$(grep -c " T __callirw_stub_$k\$" "$exe.nm")" = 1 ] || fail "$exe: not one __callirw_stub_$k"
    done
    [ "$(grep -c ' p .pdata\$callirw_i4$' "$exe.nm")" = 1 ] || fail "$exe: not one .pdata\$callirw_i4"
    a=$(sed -n 's/^\([0-9a-f]*\) T __callirw_stub_i4$/\1/p' "$exe.nm")
  else
    for k in i4 i8_sgc; do
      [ "$(grep -c "(.text\$__callirw_stub_$k)" "$exe.map")" = 1 ] || fail "$exe: not one stub $k in the map"
    done
    [ "$(grep -c '(.pdata\$callirw_i4)' "$exe.map")" = 1 ] || fail "$exe: not one .pdata\$callirw_i4 in the map"
    base=$(llvm-readobj --file-headers "$exe" | sed -n 's/.*ImageBase: 0x\(.*\)/\1/p')
    rva=$(sed -n 's/^\([0-9a-f]*\) .*(.text\$__callirw_stub_i4)$/\1/p' "$exe.map")
    a=$(printf '%x' $((0x$base + 0x$rva)))
  fi
  # the i4 stub's RUNTIME_FUNCTION: [stub + frame_start, stub + size)
  rf_in "$exe" "$a" "$i4size" || fail "$exe: no RUNTIME_FUNCTION inside __callirw_stub_i4 (0x$a)"
  ! llvm-objdump -h "$exe" | grep -q crwmap || fail "$exe carries .crwmap"
  nlinks=$((nlinks + 1))
done
# lld-link, MSVC mode (no mingw flag; /opt:ref is its default)
lld-link /nologo /dll /noentry /out:dedup-msvc.dll /export:dedup_imp_a /export:dedup_imp_b \
  /map:dedup-msvc.map sites_msvc.obj.rw a.o.rw b.o.rw "$P/helper_x64.lib" > dedup-msvc.log 2>&1 ||
  { cat dedup-msvc.log >&2; fail "lld-link cannot link dedup-msvc.dll"; }
for s in '.text$__callirw_stub_i4' '.text$__callirw_stub_i8_sgc' '.xdata$callirw_i4' '.pdata$callirw_i4'; do
  [ "$(grep -cF " $s " dedup-msvc.map)" = 1 ] || fail "dedup-msvc.dll: not one $s (lld-link /map)"
done
a=$(sed -n 's/.* __callirw_stub_i4  *\([0-9a-f]*\) .*/\1/p' dedup-msvc.map)
rf_in dedup-msvc.dll "$a" "$i4size" || fail "dedup-msvc.dll: no RUNTIME_FUNCTION inside __callirw_stub_i4"
echo "check-pe-obj: COMDAT: $nlinks programs (GNU ld, lld) print the expected lines with one copy of each stub and its unwind entry; lld-link /opt:ref keeps them too"

# 2. limits
python3 "$S/obj_grow_sections.py" "$P/sites.o" max.o 65275
"$C" rewrite max.o -o max.rw.o > max.log 2>&1 || { cat max.log >&2; fail "65275 + 4 sections refused"; }
[ "$(llvm-readobj --file-headers max.rw.o | sed -n 's/.*SectionCount: //p')" = 65279 ] || fail "max.rw.o: not 65279 sections"
python3 "$S/obj_grow_sections.py" "$P/sites.o" over.o 65276
rc=0; "$C" rewrite over.o -o over.rw.o > over.log 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'exceed the 65279.*bigobj' over.log && [ ! -e over.rw.o ] ||
  { cat over.log >&2; fail "65276 + 4 sections: exit $rc, not refused clearly"; }
python3 "$S/obj_grow_sections.py" "$P/sites-bigobj.o" big.o 70000
"$C" rewrite big.o -o big.rw.o > big.log 2>&1 || { cat big.log >&2; fail "/bigobj with 70000 sections refused"; }
"$C" inspect big.rw.o > /dev/null || fail "inspect cannot read big.rw.o"
# the sites' section with 70 000 relocations (LNK_NRELOC_OVFL, the count in
# the first record): its records are retargeted in place
(cat "$S/sites.S"; printf '    .text\n    .rept 70000\n    .quad cookie\n    .endr\n') > ovfl.S
x86_64-w64-mingw32-gcc -c ovfl.S -o ovfl.o
llvm-readobj --sections ovfl.o | grep -q NRELOC_OVFL || fail "ovfl.o has no extended relocation count"
"$C" rewrite ovfl.o -o ovfl.rw.o > ovfl.log 2>&1 || { cat ovfl.log >&2; fail "rewrite ovfl.o failed"; }
[ "$(llvm-readobj --relocs ovfl.rw.o | grep -c 'REL32 __callirw_stub_i4 ')" = 2 ] || fail "ovfl.rw.o: the sites are not retargeted"
x86_64-w64-mingw32-gcc main.o ovfl.rw.o a.o.rw b.o.rw "$LIB" -o ovfl.exe > ovfl.exe.log 2>&1 || fail "ld cannot link ovfl.exe"
rc=0; /usr/lib/wine/wine64 ovfl.exe > ovfl.exe.txt 2>&1 || rc=$?
cmp -s ovfl.exe.txt expected.txt && [ "$rc" = 0 ] || fail "ovfl.exe prints other than expected (exit $rc)"
# a 10 MiB string table: the new section names must still be "/digits"
# (GNU ld reads no "//base64"); linked by GNU ld with the others, run
python3 - a.o bigstr.o <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
symptr, nsyms = struct.unpack_from('<II', b, 8)
strp = symptr + 18 * nsyms
assert strp + struct.unpack_from('<I', b, strp)[0] == len(b)
struct.pack_into('<I', b, strp, len(b) - strp + (10 << 20))
open(sys.argv[2], 'wb').write(bytes(b) + bytes(10 << 20))
PY
"$C" rewrite bigstr.o -o bigstr.rw.o > bigstr.log 2>&1 || { cat bigstr.log >&2; fail "rewrite bigstr.o failed"; }
x86_64-w64-mingw32-gcc main.o sites.o.rw bigstr.rw.o b.o.rw "$LIB" -o bigstr.exe > bigstr.exe.log 2>&1 ||
  { cat bigstr.exe.log >&2; fail "ld cannot link bigstr.exe"; }
rc=0; /usr/lib/wine/wine64 bigstr.exe > bigstr.exe.txt 2>&1 || rc=$?
cmp -s bigstr.exe.txt expected.txt && [ "$rc" = 0 ] || fail "bigstr.exe prints other than expected (exit $rc)"
[ "$(x86_64-w64-mingw32-nm bigstr.exe | grep -c ' T __callirw_stub_i4$')" = 1 ] || fail "bigstr.exe: not one __callirw_stub_i4"
echo "check-pe-obj: limits: 65279 sections written, 65280 refused, /bigobj 70004 written, 70000 relocations (NRELOC_OVFL) retargeted and run, a 10 MiB string table linked and run"

# 3. hostile inputs: mutated and truncated copies, under ASan/UBSan
python3 "$S/obj_mutate.py" "$C" 80 "$P/sites.o" "$P/sites-bigobj.o" "$P/sites_msvc.obj" ||
  fail "a mutated input makes rewrite fail badly"

# 4. generated programs
OBJ_LOG=$W/seeds.log CALLIRW=$C "$ROOT/tests/gen/run.sh" --no-build-gen --target x86_64-windows \
  --mode mixed --count "$SEEDS" -j 1 --work "$W/gen" --post-build "$ROOT/tests/pe/obj_hook.sh"
[ "$(wc -l < "$W/seeds.log")" = $((5 * SEEDS)) ] || fail "the hook did not try 5 links per seed"
[ "$(grep -c ' ok$' "$W/seeds.log")" -ge $((3 * SEEDS)) ] || fail "fewer than 3 links per seed made"
echo "check-pe-obj: seeds: $(grep -c ' ok$' "$W/seeds.log") rewritten objects linked and run, per flavour and linker:"
awk '{ print "  " $2 " " $3 " " $4 }' "$W/seeds.log" | sort | uniq -c

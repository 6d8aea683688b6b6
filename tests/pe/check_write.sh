#!/bin/sh
# check_write.sh - make check-pe-write: PE32+ images rewritten by callirw,
# checked by running them under wine and by independent readers
# (docs/pe.md, "Writing images").
#
#   tests/pe/check_write.sh CALLIRW PET LIEF_CHECK
# PET: the directory of the built inputs (build/tests/pe). Every check
# prints one line; the last line counts the failures; exit 1 on any.
# GEN_SEEDS (default 4): generated programs rewritten, stripped and run;
# WRITE_FUZZ (default 60): byte-changed copies rewritten (write_fuzz.py).
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
CALLIRW=$(abs "$1") PET=$(abs "$2") LIEF=$(abs "$3")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROPS="python3 $ROOT/tests/pe/write_props.py"
W=$PET/write
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
PREFIX=$ROOT/build/gen/wineprefix
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # check WHAT CMD...: CMD must succeed
  what=$1; shift
  if "$@" >"$W/last.log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/     /' "$W/last.log"; fi
}
rm -rf "$W"; mkdir -p "$W"

# 1. generated programs (tests/gen): rewrite, run, strip, run again
seeds=${GEN_SEEDS:-4}
post="$CALLIRW rewrite \"\$GEN_IN\" -o \"\$GEN_OUT\" >/dev/null && $PROPS compare \"\$GEN_IN\" \"\$GEN_OUT\" >/dev/null"
post="$post && x86_64-w64-mingw32-strip -o s.exe \"\$GEN_OUT\" && WINEPREFIX=$PREFIX WINEDEBUG=-all $WINE s.exe > s.txt && cmp s.txt expected.txt && :"
check "generated programs: $seeds seeds rewritten, run under wine, stripped and run again" \
  "$ROOT/tests/gen/run.sh" --target x86_64-windows --mode mixed --count "$seeds" -j 2 \
  --work "$W/gen" --post-build "$post"

# (for 8: one more generated program, built before this script takes the
# prefix's shared lock, which run.sh's exclusive one would wait for)
"$ROOT/tests/gen/run.sh" --target x86_64-windows --mode exe --seed 3 --keep "$W/hr" >/dev/null 2>&1

# wine for the rest: the prefix run.sh made, with its locking protocol
exec 9>"$PREFIX.lock"
flock -s 9
WINEPREFIX=$PREFIX "$WINESERVER" -p >/dev/null 2>&1 9>&- || true
trap 'if flock -x -n 9; then WINEPREFIX=$PREFIX "$WINESERVER" -k >/dev/null 2>&1 9>&- || true; fi' EXIT
run() { (cd "$(dirname "$1")" && WINEPREFIX=$PREFIX WINEDEBUG=-all "$WINE" "$(basename "$1")") 9>&-; }

# 2. each input: rewritten (exit 0), properties, LIEF, llvm-readobj --unwind,
#    DllCharacteristics, idempotence, determinism
for f in main.exe main-stripped.exe sites.dll sites-delay.dll run_sites.exe sites_rt.dll run_sgc.exe \
         unwind.exe; do
  in=$PET/$f out=$W/rw-$f
  if ! "$CALLIRW" rewrite "$in" -o "$out" >"$W/rw.log" 2>&1; then
    bad "$f: rewrite failed"; cat "$W/rw.log"; continue
  fi
  check "$f: write_props.py (layout, CheckSum recomputed independently, directories, old .pdata kept)" \
    $PROPS compare "$in" "$out"
  dc=$($PROPS dllchars "$in")
  check "$f: LIEF parses it; .callirw executable, .pdata .crwdata .crwmap; DllCharacteristics $dc kept" \
    "$LIEF" "$out" --exec .callirw --section .pdata --section .crwdata --section .crwmap --dllchars "$dc"
  n=$($PROPS readobj-stubs "$out")
  want=1; [ $f = run_sgc.exe ] && want=0   # its one stub is frameless: no entry
  if [ "$n" = $want ]; then ok "$f: llvm-readobj --unwind lists $n stub entries (framed stubs: $want)"
  else bad "$f: llvm-readobj --unwind lists $n stub entries, expected $want"; fi
  "$CALLIRW" rewrite "$out" -o "$W/again-$f" >/dev/null 2>&1; rc=$?
  if [ $rc = 1 ] && [ ! -e "$W/again-$f" ]; then ok "$f: rewriting the output is a no-op (exit 1)"; else bad "$f: second rewrite exit $rc"; fi
  "$CALLIRW" rewrite "$in" -o "$W/twice-$f" >/dev/null 2>&1
  check "$f: two rewrites give identical bytes" cmp "$out" "$W/twice-$f"
done

# 3. under wine: the EXE, and DLLs loaded by an EXE, before and after
mkdir -p "$W/orig" "$W/new" "$W/fake" "$W/fake-new"
cp "$PET/unwind.exe" "$W/orig/"; cp "$W/rw-unwind.exe" "$W/new/unwind.exe"
cp "$PET/run_sites.exe" "$PET/run_sgc.exe" "$PET/calli_rt.dll" "$PET/run_dll_rt.exe" "$PET/sites_rt.dll" "$W/orig/"
cp "$PET/calli_rt.dll" "$PET/run_dll_rt.exe" "$W/new/"
cp "$W/rw-run_sites.exe" "$W/new/run_sites.exe"
cp "$W/rw-run_sgc.exe" "$W/new/run_sgc.exe"
cp "$W/rw-sites_rt.dll" "$W/new/sites_rt.dll"
x86_64-w64-mingw32-strip -o "$W/new/run_sites_s.exe" "$W/new/run_sites.exe"
for p in run_sites run_sgc run_dll_rt unwind; do
  run "$W/orig/$p.exe" >"$W/orig/$p.txt" 2>&1
  run "$W/new/$p.exe" >"$W/new/$p.txt" 2>&1
  if [ -s "$W/orig/$p.txt" ] && cmp -s "$W/orig/$p.txt" "$W/new/$p.txt"; then
    ok "$p.exe under wine: rewritten output identical ($(tr '\n' ' ' <"$W/new/$p.txt"))"
  else bad "$p.exe under wine: outputs differ"; diff "$W/orig/$p.txt" "$W/new/$p.txt"; fi
done
if grep -q "entry: yes" "$W/new/unwind.txt"; then
  ok "unwind.exe: a stack walk from the target passes the stub (its RUNTIME_FUNCTION found by wine)"
else bad "unwind.exe: $(cat "$W/new/unwind.txt")"; fi
x86_64-w64-mingw32-strip -o "$W/new/unwind_s.exe" "$W/new/unwind.exe"
run "$W/new/unwind_s.exe" >"$W/new/unwind_s.txt" 2>&1
check "unwind.exe rewritten then stripped: the walk still passes the stub" cmp "$W/new/unwind.txt" "$W/new/unwind_s.txt"
$PROPS old-pdata "$W/new/unwind.exe" "$W/new/unwind_neg.exe"   # negative control
run "$W/new/unwind_neg.exe" >"$W/new/unwind_neg.txt" 2>&1
if grep -q "entry: no" "$W/new/unwind_neg.txt"; then
  ok "unwind.exe negative control: with directory 3 back on the old table the walk fails"
else bad "unwind.exe negative control: $(cat "$W/new/unwind_neg.txt")"; fi
run "$W/new/run_sites_s.exe" >"$W/new/s.txt" 2>&1
check "run_sites.exe rewritten then stripped: same output under wine" cmp "$W/orig/run_sites.txt" "$W/new/s.txt"
cp "$PET/run_dll.exe" "$PET/sites.dll" "$PET/helper.dll" "$W/fake/"
cp "$PET/run_dll.exe" "$PET/helper.dll" "$W/fake-new/"
cp "$W/rw-sites.dll" "$W/fake-new/sites.dll"
run "$W/fake/run_dll.exe" >"$W/fake/out.txt" 2>&1
run "$W/fake-new/run_dll.exe" >"$W/fake-new/out.txt" 2>&1
if grep -q 'site_imp -1' "$W/fake/out.txt" && grep -q 'site_imp 42' "$W/fake-new/out.txt" &&
   grep -q 'site_thunk 42' "$W/fake-new/out.txt"; then
  ok "sites.dll (stand-in helper returns -1): rewritten DLL loaded by an EXE returns 42 (its stubs ran)"
else bad "sites.dll under wine: $(tr '\n' ' ' <"$W/fake/out.txt") / $(tr '\n' ' ' <"$W/fake-new/out.txt")"; fi

# 4. no slack after the section table: the file's bytes move (docs/pe.md,
#    "Headers"). lld with DWARF kept: 16 sections, the table ends at 0x400
#    = SizeOfHeaders = the first section's raw data (0 free bytes), a
#    CodeView debug directory entry with a file offset, a COFF symbol table
mkdir -p "$W/shift"
cp "$PET/calli_rt.dll" "$W/shift/"
if clang --target=x86_64-w64-mingw32 -fuse-ld=lld -g -O0 \
     -L"$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")" -o "$W/shift/lld_dwarf.exe" \
     "$ROOT/tests/pe/run_sites.c" "$PET/sites.o" -L"$PET" -lcalli_rt >"$W/shift/build.log" 2>&1; then
  in=$W/shift/lld_dwarf.exe out=$W/shift/rw.exe
  free=$($PROPS free "$in")
  ndbg=$(llvm-readobj --sections "$in" | grep -c 'Name: \.debug_')
  ncv=$(llvm-readobj --coff-debug-directory "$in" | grep -c 'Type: CodeView')
  if [ "$free" = 0 ] && [ "$ndbg" -ge 5 ] && [ "$ncv" = 1 ]; then
    ok "lld_dwarf.exe (clang + lld, -g): 0 free header bytes, $ndbg .debug_* sections, a CodeView debug entry"
  else bad "lld_dwarf.exe: $free free bytes, $ndbg debug sections, $ncv CodeView entries: not the input wanted"; fi
  if "$CALLIRW" rewrite "$in" -o "$out" >"$W/shift/rw.log" 2>&1; then
    ok "lld_dwarf.exe: rewritten ($(cat "$W/shift/rw.log" | sed 's/.*: //'))"
  else bad "lld_dwarf.exe: rewrite failed: $(cat "$W/shift/rw.log")"; fi
  check "lld_dwarf.exe: write_props.py (sections, overlay and debug data equal at offsets moved by 0x200, pointers moved)" \
    sh -c "$PROPS compare '$in' '$out' | tee /dev/stderr | grep -q 'moved by 0x200, 1 debug entries'"
  check "lld_dwarf.exe: LIEF parses it" "$LIEF" "$out" --exec .callirw --section .pdata --section .crwdata \
    --section .crwmap --dllchars "$($PROPS dllchars "$in")"
  n=$($PROPS readobj-stubs "$out")
  if [ "$n" = 1 ]; then ok "lld_dwarf.exe: llvm-readobj --unwind lists the stub's entry"
  else bad "lld_dwarf.exe: llvm-readobj --unwind lists $n stub entries, expected 1"; fi
  check "lld_dwarf.exe: llvm-readobj --all and --coff-debug-directory read it without a warning" \
    sh -c "llvm-readobj --all --coff-debug-directory '$out' 2>&1 >/dev/null | grep . && exit 1; llvm-readobj --all '$out' >/dev/null"
  check "lld_dwarf.exe: the debug directory reads the same (but PointerToRawData, moved)" \
    sh -c "for f in '$in' '$out'; do llvm-readobj --coff-debug-directory \$f | grep -v -e '^File:' -e PointerToRawData; done | sort | uniq -u | grep . && exit 1; exit 0"
  check "lld_dwarf.exe: llvm-dwarfdump finds the same DWARF (--debug-info --debug-line identical)" \
    sh -c "timeout 120 llvm-dwarfdump --debug-info --debug-line '$in' | tail -n +2 >'$W/shift/in.dw' && timeout 120 llvm-dwarfdump --debug-info --debug-line '$out' | tail -n +2 >'$W/shift/out.dw' && grep -q DW_TAG_subprogram '$W/shift/out.dw' && cmp '$W/shift/in.dw' '$W/shift/out.dw'"
  "$CALLIRW" rewrite "$out" -o "$W/shift/again.exe" >/dev/null 2>&1; rc=$?
  if [ $rc = 1 ] && [ ! -e "$W/shift/again.exe" ]; then ok "lld_dwarf.exe: rewriting the output is a no-op (exit 1)"; else bad "lld_dwarf.exe: second rewrite exit $rc"; fi
  "$CALLIRW" rewrite "$in" -o "$W/shift/twice.exe" >/dev/null 2>&1
  check "lld_dwarf.exe: two rewrites give identical bytes" cmp "$out" "$W/shift/twice.exe"
  x86_64-w64-mingw32-strip -o "$W/shift/rw_s.exe" "$out"
  for p in lld_dwarf rw rw_s; do run "$W/shift/$p.exe" >"$W/shift/$p.txt" 2>&1; done
  if [ -s "$W/shift/lld_dwarf.txt" ] && cmp -s "$W/shift/lld_dwarf.txt" "$W/shift/rw.txt" &&
     cmp -s "$W/shift/lld_dwarf.txt" "$W/shift/rw_s.txt"; then
    ok "lld_dwarf.exe under wine: rewritten, and rewritten then stripped, output identical ($(tr '\n' ' ' <"$W/shift/rw.txt"))"
  else bad "lld_dwarf.exe under wine: outputs differ: $(cat "$W/shift/lld_dwarf.txt" "$W/shift/rw.txt" "$W/shift/rw_s.txt" | tr '\n' ' ')"; fi
else bad "lld_dwarf.exe: clang + lld failed: $(cat "$W/shift/build.log")"; fi

# noslack.exe (GNU ld; 64 bytes free, the COFF symbol table as overlay) is
# moved too; the same with SectionAlignment 0x200 (the first section's RVA
# 0x600) has no address room either: refused, nothing written
free=$($PROPS free "$PET/noslack.exe")
if [ "$free" -ge 160 ]; then bad "noslack.exe has $free free header bytes: not a no-slack input"; fi
if "$CALLIRW" rewrite "$PET/noslack.exe" -o "$W/noslack.out" >"$W/ns.log" 2>&1; then
  check "noslack.exe ($free bytes free): rewritten by moving the file; write_props.py" \
    sh -c "$PROPS compare '$PET/noslack.exe' '$W/noslack.out' | grep 'moved by 0x200'"
  check "noslack.exe: the COFF symbol table still read (nm of input and output identical)" \
    sh -c "x86_64-w64-mingw32-nm '$PET/noslack.exe' >'$W/ns.nm1' && x86_64-w64-mingw32-nm '$W/noslack.out' >'$W/ns.nm2' && test -s '$W/ns.nm1' && cmp '$W/ns.nm1' '$W/ns.nm2'"
else bad "noslack.exe: $(cat "$W/ns.log")"; fi
x86_64-w64-mingw32-gcc -o "$W/noaddr.exe" "$ROOT/tests/pe/noslack.c" "$PET/sites.o" -L"$PET" -lhelper \
  -Wl,--section-alignment=0x200
free=$($PROPS free "$W/noaddr.exe")
"$CALLIRW" rewrite "$W/noaddr.exe" -o "$W/noaddr.out" >"$W/na.log" 2>&1; rc=$?
if [ $rc = 2 ] && [ ! -e "$W/noaddr.out" ] && grep -q "160 bytes needed, $free free, and the headers cannot grow past the first section's RVA 0x600" "$W/na.log"; then
  ok "noaddr.exe ($free bytes free, first RVA 0x600): refused with exit 2, no output ($(sed 's/.*: no room/no room/' "$W/na.log" | cut -c1-90)...)"
else bad "noaddr.exe: exit $rc: $(cat "$W/na.log")"; fi

# 5. an Authenticode directory: a warning, the directory and the blob gone
$PROPS forge-sig "$PET/run_sites.exe" "$W/signed.exe"
"$CALLIRW" rewrite "$W/signed.exe" -o "$W/new/signed.exe" >"$W/sig.log" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "warning: .*Authenticode signature dropped" "$W/sig.log" &&
   [ "$($PROPS dir "$W/new/signed.exe" 4)" = "0 0" ] && ! grep -q FAKESIG "$W/new/signed.exe"; then
  ok "Authenticode directory: warned, directory 4 cleared, blob cut"
else bad "Authenticode: exit $rc: $(cat "$W/sig.log")"; fi
check "signed input: write_props.py" $PROPS compare "$W/signed.exe" "$W/new/signed.exe"
run "$W/new/signed.exe" >"$W/new/signed.txt" 2>&1
check "signed input rewritten: same output under wine" cmp "$W/orig/run_sites.txt" "$W/new/signed.txt"

# 6. arm64 PE: one line, unsupported
"$CALLIRW" rewrite "$PET/sites_a64_ok.dll" -o "$W/a64.out" >"$W/a64.log" 2>&1; rc=$?
if [ $rc = 2 ] && [ ! -e "$W/a64.out" ] && [ "$(wc -l <"$W/a64.log")" = 1 ]; then
  ok "arm64 DLL: refused with exit 2 ($(cat "$W/a64.log" | sed 's/.*: //'))"
else bad "arm64 DLL: exit $rc: $(cat "$W/a64.log")"; fi

# 7. hostile inputs: byte-changed copies rewritten under ASan/UBSan
check "write_fuzz.py: ${WRITE_FUZZ:-60} byte-changed copies of run_sites.exe (exit 0/1/2, no sanitizer report, outputs pass write_props)" \
  python3 "$ROOT/tests/pe/write_fuzz.py" "$CALLIRW" "$PET/run_sites.exe" "$W/fuzz" "${WRITE_FUZZ:-60}"
check "write_fuzz.py: ${WRITE_FUZZ:-60} byte-changed copies of lld_dwarf.exe (the file moved: the same checks)" \
  python3 "$ROOT/tests/pe/write_fuzz.py" "$CALLIRW" "$W/shift/lld_dwarf.exe" "$W/fuzz-shift" "${WRITE_FUZZ:-60}"

# 8. --helper-rva: a generated program (helper linked in) stripped of its
#    COFF symbols has no site until told where the helper is; told, it is
#    rewritten and runs the same
hd=$W/hr/x86_64-windows/seed-3
if [ -f "$hd/prog.exe" ]; then
  x86_64-w64-mingw32-strip -o "$hd/s.exe" "$hd/prog.exe"
  hva=$(x86_64-w64-mingw32-nm "$hd/prog.exe" | awk '$3 == "GenericPInvokeCalliHelper" { print $1 }')
  base=$(llvm-readobj --file-headers "$hd/prog.exe" | awk '/ImageBase:/ { print $2 }')
  hrva=$(printf '0x%x' $((0x$hva - base)))
  n0=$("$CALLIRW" scan --json "$hd/s.exe" 2>/dev/null | jq '.sites | length')
  n1=$("$CALLIRW" scan --json --helper-rva "$hrva" "$hd/s.exe" 2>/dev/null | jq '[.sites[] | select(.verdict == "ok")] | length')
  want=$("$CALLIRW" scan --json "$hd/prog.exe" 2>/dev/null | jq '[.sites[] | select(.verdict == "ok")] | length')
  if [ "$n0" = 0 ] && [ "$n1" = "$want" ] && [ "$want" -gt 0 ]; then
    ok "--helper-rva $hrva: the stripped program's $want sites found (0 without it)"
  else bad "--helper-rva: $n0 sites without, $n1 with, $want in the unstripped program"; fi
  "$CALLIRW" rewrite --helper-rva "$hrva" "$hd/s.exe" -o "$hd/s.rw.exe" >/dev/null 2>&1
  run "$hd/s.rw.exe" >"$hd/s.rw.txt" 2>&1
  check "--helper-rva: the rewritten stripped program prints expected.txt under wine" cmp "$hd/s.rw.txt" "$hd/expected.txt"
  "$CALLIRW" scan --helper-rva 0x10 "$hd/s.exe" >"$W/hrva.log" 2>&1; rc=$?
  if [ $rc = 2 ] && [ "$(wc -l <"$W/hrva.log")" = 1 ]; then ok "--helper-rva outside code: exit 2, one line"
  else bad "--helper-rva 0x10: exit $rc: $(cat "$W/hrva.log")"; fi
else bad "--helper-rva: the generated program did not build"; fi

echo "check-pe-write: $fails failed"
[ $fails = 0 ]

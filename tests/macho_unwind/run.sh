#!/bin/bash
# run.sh DIR ARCH...: check-macho-unwind's cases (rules.mk) on DIR/ARCH/*.dylib,
# with DIR/unw_test and check.py. Any failure stops with a message.
set -e -o pipefail
dir=$1; shift
here=$(dirname "$0")
objdump="llvm-objdump-14 --macho --unwind-info"
t0=$(date +%s)

# The stubs' encodings (docs/stubs.md): x86-64 RBP frame with rbx at rbp-8,
# frameless with 8 bytes; arm64 frameless, frame, DWARF (an FDE offset).
enc_x86_64=01010001,02010000
enc_arm64=02000000,04000000,03000040
# distinct encodings (frameless, stack sizes of 1..N words). 200: more than
# the common table can take, so some are page-local; 400: more than the 8-bit
# indexes of one compressed page reach, so regular pages hold more
enc_200=$(python3 -c 'print(",".join("%x" % (0x02000000 | i << 16) for i in range(1, 201)))')
enc_400=$(python3 -c 'print(",".join("%x" % (0x02000000 | i << 16) for i in range(1, 401)))')

# case IMAGE NAME "ADDS" CHECK-OPTIONS...: rebuild (ADDS: N STEP GAP ENCS, or
# none), decode the copy and the original, compare
case_() {
    local img=$1 name=$2 adds=$3; shift 3
    local out=$img.$name
    "$dir/unw_test" rebuild "$img" "$out" $adds > "$out.drv" || { cat "$out.drv"; echo "check-macho-unwind: $out: rebuild failed"; exit 1; }
    $objdump "$img" > "$img.txt"
    $objdump "$out" > "$out.txt"
    python3 "$here/check.py" "$img.txt" "$out.txt" "$out.drv" "$@"
}

"$dir/unw_test" api
for a in "$@"; do
    enc=enc_$a
    case_ "$dir/$a/small.dylib" same ""
    case_ "$dir/$a/small.dylib" stubs "40 16 0x40 ${!enc}"
    case_ "$dir/$a/small.dylib" far "5 16 0x2000000 ${!enc}" --want-regular
    case_ "$dir/$a/many.dylib" same "" --min-pages 2
    case_ "$dir/$a/many.dylib" stubs "300 24 0x1000 ${!enc}" --min-pages 2
    case_ "$dir/$a/many.dylib" distinct "800 8 0 $enc_200" --min-pages 3 --want-local
    case_ "$dir/$a/many.dylib" unique "800 8 0 $enc_400" --min-pages 3 --want-regular
    # the LSDA-carrying image must really carry personalities and LSDAs
    grep -q 'personality\[1\]' "$dir/$a/small.dylib.txt" && grep -q 'LSDA offset=0x' "$dir/$a/small.dylib.txt" ||
        { echo "check-macho-unwind: $a/small.dylib has no personality or LSDA to keep"; exit 1; }
    "$dir/unw_test" fuzz "$dir/$a/small.dylib" 5000
    "$dir/unw_test" fuzz "$dir/$a/many.dylib" 1000
done
echo "check-macho-unwind: all cases ok in $(( $(date +%s) - t0 )) s"

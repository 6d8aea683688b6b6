#!/usr/bin/env bash
# check.sh SIGN_TOOL OUTDIR - code signatures and fat files (rules.mk,
# docs/macho-signing.md). Builds its inputs with clang + ld64.lld-14, then:
#  1. csverify.py passes lld's own signatures (arm64 executables, dylibs,
#     bundles) and fails copies with one flipped byte (a page, a hash, the
#     execSeg fields, codeLimit);
#  2. sign_tool resign (macho_sign_info + macho_sign_write, old signature
#     zeroed) reproduces lld's signature byte for byte; after a code change,
#     with 16 KiB pages or another identifier, csverify passes the result;
#  3. fat files: split + join without changes gives back lipo's file; with a
#     replaced slice of another size every slice stays aligned, lipo and
#     llvm-objdump accept it, the other slices are byte-identical; the same
#     with a FAT_MAGIC_64 header;
#  4. hostile fat headers are refused as RW_E_FORMAT / RW_E_CORRUPT, and
#     mutated copies of everything go through probe/split/join and
#     macho_sign_info under ASan/UBSan without a crash;
#  5. when the real Mach-O corpus has been fetched (check-macho-corpus),
#     its signatures verify, its fat file joins back identical and its
#     signed images re-signed verify.
set -u
TOOL=$1
OUT=$2
HERE=$(dirname "$0")
VERIFY="python3 $HERE/csverify.py"
LD="ld64.lld-14 -platform_version macos 11.0 11.0"
FUZZ_N=${MACHO_SIGN_FUZZ:-1000}
mkdir -p "$OUT"
fails=0
ok() { echo "  ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { # run CMD...: must succeed
    local log
    if log=$("$@" 2>&1); then ok "$*"; else bad "$*"; echo "$log" | sed 's/^/    /'; fi
}
# The verifier runs in batches (a Python start is slow on a loaded machine):
# files queued here are checked at the end, each by its own output line.
PASS_SIGNED=()   # must verify, signed
PASS_ANY=()      # must verify; unsigned (slices) allowed
MUST_FAIL=()     # must be refused
verify_batch() { # verify_batch pass|fail LOGNAME [--require-signed] FILES...
    local mode=$1 log="$OUT/$2.log" rc f; shift 2
    local opt=(); if [ "$1" = --require-signed ]; then opt=(--require-signed); shift; fi
    [ $# -eq 0 ] && return
    $VERIFY "${opt[@]}" "$@" > "$log" 2>&1; rc=$?
    if [ $mode = pass ] && [ $rc -ne 0 ]; then bad "csverify failed on $2"; cat "$log"; return; fi
    if [ $mode = fail ] && [ $rc -ne 1 ]; then bad "csverify exit $rc on $2"; cat "$log"; return; fi
    for f in "$@"; do
        local lines
        lines=$(grep -F "$f" "$log" | grep -E "^$f(\[[^]]*\])?: ")
        if [ -z "$lines" ]; then bad "csverify said nothing about $f"
        elif [ $mode = pass ] && ! echo "$lines" | grep -q ": FAIL"; then ok "verified $f"
        elif [ $mode = fail ] && echo "$lines" | grep -q ": FAIL"; then
            ok "refused $f: $(echo "$lines" | grep -m1 ": FAIL" | sed 's/.*: FAIL //')"
        else bad "csverify on $f:"; echo "$lines" | sed 's/^/    /'; fi
    done
}
run_fails() { # run_fails CMD...: must exit non-zero (1), and not crash
    local log rc
    log=$("$@" 2>&1); rc=$?
    if [ $rc -eq 1 ]; then ok "refused: $* ($(echo "$log" | grep -m1 FAIL | sed 's/.*FAIL //'))"
    else bad "expected a refusal (exit 1), got $rc: $*"; echo "$log" | sed 's/^/    /'; fi
}

# ---- inputs --------------------------------------------------------------
set -e
for arch in arm64 x86_64; do
    clang --target=$arch-apple-macos11 -O1 -c "$HERE/prog.c" -o "$OUT/prog_$arch.o"
    clang --target=$arch-apple-macos11 -O1 -DTABLE=70000 -c "$HERE/prog.c" -o "$OUT/big_$arch.o"
    clang --target=$arch-apple-macos11 -O1 -c "$HERE/lib.c" -o "$OUT/lib_$arch.o"
    $LD -arch $arch -e _main -o "$OUT/prog_$arch" "$OUT/prog_$arch.o"
    $LD -arch $arch -e _main -o "$OUT/big_$arch" "$OUT/big_$arch.o"
    $LD -arch $arch -dylib -install_name @rpath/liblib.dylib -o "$OUT/liblib_$arch.dylib" "$OUT/lib_$arch.o"
    $LD -arch $arch -bundle -o "$OUT/lib_$arch.bundle" "$OUT/lib_$arch.o"
done
set +e
SIGNED="$OUT/prog_arm64 $OUT/big_arm64 $OUT/liblib_arm64.dylib $OUT/lib_arm64.bundle"

# ---- 0. SHA-256 against coreutils ----------------------------------------
echo "sha256:"
for f in $SIGNED "$OUT/prog_x86_64" "$HERE/prog.c"; do
    if [ "$($TOOL sha256 "$f")" = "$(sha256sum < "$f" | cut -d' ' -f1)" ]; then ok "sha256 $f"
    else bad "sha256 of $f differs from sha256sum"; fi
done
: > "$OUT/empty"
[ "$($TOOL sha256 "$OUT/empty")" = "$(sha256sum < "$OUT/empty" | cut -d' ' -f1)" ] && ok "sha256 empty" || bad "sha256 empty"

# ---- 1. the verifier against lld's signatures ----------------------------
echo "verifier vs ld64.lld-14:"
PASS_SIGNED+=($SIGNED)
# x86_64: lld-14 does not sign; the verifier says so (and fails with --require-signed)
PASS_ANY+=("$OUT/prog_x86_64")
MUST_FAIL+=("$OUT/prog_x86_64")

# corrupted copies: offsets from the file's own LC_CODE_SIGNATURE
sig_field() { # sig_field FILE dataoff|datasize
    llvm-otool-14 -l "$1" | awk -v k="$2" '/cmd LC_CODE_SIGNATURE/{f=1} f && $1==k {print $2; exit}'
}
flip() { # flip IN OUT OFFSET [MASK]: OUT is IN with one byte xored (default 0x10)
    cp "$1" "$2"
    local b
    b=$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(( b ^ ${4:-0x10} )))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
for f in "$OUT/prog_arm64" "$OUT/liblib_arm64.dylib"; do
    so=$(sig_field "$f" dataoff)
    name=$(basename "$f")
    flip "$f" "$OUT/$name.p0" 40                     # page 0 (a load command)
    flip "$f" "$OUT/$name.pmid" $((so / 2))          # a middle page
    flip "$f" "$OUT/$name.plast" $((so - 1))         # the last (partial) page
    flip "$f" "$OUT/$name.hash" $((so + 0x80 + 40))  # a stored page hash
    flip "$f" "$OUT/$name.limit" $((so + 24 + 35))   # codeLimit
    flip "$f" "$OUT/$name.eslimit" $((so + 24 + 79)) # execSegLimit
    flip "$f" "$OUT/$name.esflags" $((so + 24 + 87)) 1 # execSegFlags: MAIN_BINARY
    flip "$f" "$OUT/$name.nslots" $((so + 24 + 31))  # nCodeSlots
    flip "$f" "$OUT/$name.magic" $((so + 24 + 3))    # CodeDirectory magic
    MUST_FAIL+=("$OUT/$name".{p0,pmid,plast,hash,limit,eslimit,esflags,nslots,magic})
done

# ---- 2. re-signing with macho_sign.c -------------------------------------
echo "re-signing:"
for f in $SIGNED; do
    name=$(basename "$f")
    if $TOOL resign "$f" "$OUT/$name.resigned" && cmp -s "$f" "$OUT/$name.resigned"; then
        ok "resign $name: byte-identical to lld's signature"
    else
        bad "resign $name differs from lld's signature"
        cmp -l "$f" "$OUT/$name.resigned" | head -5
    fi
    run $TOOL info "$f"
done
# a code change: lld's signature no longer matches, a fresh one does
so=$(sig_field "$OUT/big_arm64" dataoff)
flip "$OUT/big_arm64" "$OUT/big_arm64.changed" $((so / 3))
MUST_FAIL+=("$OUT/big_arm64.changed")
run $TOOL resign "$OUT/big_arm64" "$OUT/big_arm64.fixed" --flip $((so / 3))
PASS_SIGNED+=("$OUT/big_arm64.fixed")
if cmp -s "$OUT/big_arm64.changed" "$OUT/big_arm64.fixed"; then
    bad "re-signing a changed image left its signature as it was"
fi
# 16 KiB pages, another identifier (the signature is resized)
run $TOOL resign "$OUT/big_arm64" "$OUT/big_arm64.p14" --page-shift 14
PASS_SIGNED+=("$OUT/big_arm64.p14")
run $TOOL resign "$OUT/liblib_arm64.dylib" "$OUT/liblib.ident" --ident com.example.callirw.a-much-longer-identifier-than-before
PASS_SIGNED+=("$OUT/liblib.ident")
run llvm-objdump-14 --macho --private-headers "$OUT/liblib.ident"
run llvm-otool-14 -l "$OUT/big_arm64.p14"
# a codesign-style signature (requirements blob, special slots, CS_ADHOC only):
# verified, read, re-signed with the same identity and flags
reqs=$(python3 "$HERE/mksig.py" "$OUT/big_arm64" "$OUT/big_arm64.cs" com.example.prog | sed -n 's/^reqs_off=//p')
PASS_SIGNED+=("$OUT/big_arm64.cs")
flip "$OUT/big_arm64.cs" "$OUT/big_arm64.csreq" $((reqs + 11)) 1
MUST_FAIL+=("$OUT/big_arm64.csreq")
[ "$($TOOL info "$OUT/big_arm64.cs" | cut -d' ' -f1-2)" = "ident=com.example.prog flags=0x2" ] \
    && ok "codesign-style identity read" || bad "codesign-style identity not read"
run $TOOL resign "$OUT/big_arm64.cs" "$OUT/big_arm64.csre"
PASS_SIGNED+=("$OUT/big_arm64.csre")
[ "$($TOOL info "$OUT/big_arm64.csre" | cut -d' ' -f1-2)" = "ident=com.example.prog flags=0x2" ] \
    && ok "codesign-style identity kept" || bad "codesign-style identity not kept"
# a caller that did not update LC_CODE_SIGNATURE first: RW_E_INTERNAL (10 + 7)
$TOOL resign "$OUT/big_arm64" "$OUT/big_arm64.nolc" --page-shift 14 --keep-lc 2>/dev/null
[ $? -eq 17 ] && ok "stale LC_CODE_SIGNATURE refused" || bad "stale LC_CODE_SIGNATURE not refused"
# identity read back from what we wrote
[ "$($TOOL info "$OUT/liblib.ident" | cut -d' ' -f1)" = "ident=com.example.callirw.a-much-longer-identifier-than-before" ] \
    && ok "identifier read back" || bad "identifier not read back"
# an unsigned image: info says so
[ "$($TOOL info "$OUT/prog_x86_64")" = unsigned ] && ok "x86_64 image unsigned" || bad "x86_64 image not reported unsigned"

# ---- 3. fat files ---------------------------------------------------------
echo "fat files:"
llvm-lipo-14 -create "$OUT/prog_x86_64" "$OUT/prog_arm64" -output "$OUT/prog.fat"
llvm-lipo-14 -create "$OUT/liblib_x86_64.dylib" "$OUT/liblib_arm64.dylib" -output "$OUT/liblib.fat"
python3 "$HERE/fatgen.py" fat64 "$OUT/prog.fat" "$OUT/prog.fat64"
PASS_ANY+=("$OUT/prog.fat" "$OUT/liblib.fat" "$OUT/prog.fat64")
for fat in prog.fat liblib.fat prog.fat64; do
    f="$OUT/$fat"
    run $TOOL split "$f"
    # no change: the same file again
    run $TOOL join "$f" "$f.same"
    cmp -s "$f" "$f.same" && ok "join $fat unchanged: identical" || bad "join $fat unchanged: differs"
    # slice 0 replaced by a bigger image: the next slice moves, aligned
    case $fat in
    liblib.fat) repl="$OUT/prog_x86_64" ;;
    *) repl="$OUT/big_x86_64" ;;
    esac
    run $TOOL join "$f" "$f.grown" 0="$repl"
    run llvm-lipo-14 -info "$f.grown"
    run llvm-lipo-14 "$f.grown" -verify_arch x86_64 arm64
    run llvm-objdump-14 --macho --universal-headers "$f.grown"
    PASS_ANY+=("$f.grown")
    if [ "$(od -An -tx1 -N4 "$f.grown" | tr -d ' ')" = "$(od -An -tx1 -N4 "$f" | tr -d ' ')" ]; then
        ok "$fat: header kind kept"
    else bad "$fat: header kind changed"; fi
    # extracted slices: the replacement and the untouched arm64 slice
    llvm-lipo-14 "$f.grown" -thin x86_64 -output "$f.x86_64" &&
        cmp -s "$f.x86_64" "$repl" && ok "$fat: new x86_64 slice intact" || bad "$fat: x86_64 slice differs"
    llvm-lipo-14 "$f" -thin arm64 -output "$f.arm64.orig"
    llvm-lipo-14 "$f.grown" -thin arm64 -output "$f.arm64" &&
        cmp -s "$f.arm64" "$f.arm64.orig" && ok "$fat: arm64 slice unchanged" || bad "$fat: arm64 slice differs"
done
run python3 "$HERE/fatgen.py" check "$OUT"/{prog.fat,liblib.fat,prog.fat64}.grown
# the arm64 slice moved: lipo's and our placement differ from the input's
o1=$($TOOL split "$OUT/prog.fat" | awk '$1=="1"{print $3}')
o2=$($TOOL split "$OUT/prog.fat.grown" | awk '$1=="1"{print $3}')
[ "$o1" != "$o2" ] && ok "arm64 slice moved ($o1 -> $o2)" || bad "arm64 slice did not move ($o1)"
# a thin file is not a container
$TOOL split "$OUT/prog_arm64" >/dev/null 2>&1
[ $? -eq 13 ] && ok "thin file: RW_E_FORMAT" || bad "thin file not refused as RW_E_FORMAT"
# the probe: fat files yes, thin files and Java class files no
for f in prog.fat prog.fat64; do
    $TOOL probe "$OUT/$f" && ok "probe claims $f" || bad "probe does not claim $f"
done

# ---- 4. hostile input -----------------------------------------------------
echo "hostile fat headers:"
hostile=()
for h in $(python3 "$HERE/fatgen.py" hostile "$OUT/prog.fat" "$OUT/hostile"); do
    $TOOL split "$h" > "$h.log" 2>&1
    rc=$?
    case $rc in
    13|14) ok "$(basename "$h"): refused ($(sed 's/^sign_tool: //' "$h.log"))" ;;
    *) bad "$(basename "$h"): exit $rc"; cat "$h.log" ;;
    esac
    case $(basename "$h") in
    java.fat|counthuge.fat|count0.fat|tiny.fat)
        $TOOL probe "$h" && bad "probe claims $(basename "$h")" ;;
    esac
    hostile+=("$h")
done
$VERIFY "${hostile[@]}" > "$OUT/hostile.log" 2>&1
[ $? -le 1 ] && ok "csverify survives the hostile files" || { bad "csverify crashed on a hostile file"; cat "$OUT/hostile.log"; }
run $TOOL fuzz "$FUZZ_N" "$OUT/prog.fat" "$OUT/prog.fat64" "$OUT/hostile/overlap.fat" \
    "$OUT/prog_arm64" "$OUT/liblib_arm64.dylib"

# ---- 5. real files, when the Mach-O corpus is there ------------------------
# (fetched by check-macho-corpus through tools/corpus_macho.sh; never here)
CORPUS_TOOL=${MACHO_SIGN_CORPUS_TOOL:-tools/corpus_macho.sh}
CORPUS_DIR=${CALLIRW_MACHO_CORPUS:-build/corpus/macho}
echo "real files:"
if [ -x "$CORPUS_TOOL" ] && list=$("$CORPUS_TOOL" --dir "$CORPUS_DIR" --list-only 2>/dev/null) \
        && [ -n "$list" ]; then
    n=0
    for rel in $list; do
        f="$CORPUS_DIR/$rel"; n=$((n + 1))
        c="$OUT/real$n"
        PASS_ANY+=("$f")
        if $TOOL probe "$f"; then
            # fat: joined again unchanged; each signed slice re-signed
            run $TOOL join "$f" "$c.join"
            cmp -s "$f" "$c.join" && ok "join $rel unchanged: identical" || bad "join $rel differs"
            for arch in $($TOOL split "$f" | awk 'NR > 1 {print $2}'); do
                llvm-lipo-14 "$f" -thin "$arch" -output "$c.$arch" || { bad "lipo -thin $arch $rel"; continue; }
                if [ "$($TOOL info "$c.$arch")" != unsigned ]; then
                    run $TOOL resign "$c.$arch" "$c.$arch.re"
                    PASS_SIGNED+=("$c.$arch.re")
                fi
            done
        elif [ "$($TOOL info "$f")" != unsigned ]; then
            run $TOOL resign "$f" "$c.re"
            PASS_SIGNED+=("$c.re")
        fi
    done
else
    echo "  skipped: the real Mach-O corpus is not in $CORPUS_DIR (check-macho-corpus fetches it)"
fi

# ---- the verifier's verdicts ------------------------------------------------
echo "verifier:"
verify_batch pass signed --require-signed "${PASS_SIGNED[@]}"
verify_batch pass any "${PASS_ANY[@]}"
verify_batch fail refused --require-signed "${MUST_FAIL[@]}"

if [ $fails -ne 0 ]; then
    echo "check-macho-sign: $fails failure(s)"
    exit 1
fi
echo "check-macho-sign: all passed"

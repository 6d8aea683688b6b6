#!/bin/sh
# check.sh CALLIRW SELFTEST DIR - the Mach-O image writer (docs/macho-images.md).
#
# Links small images with ld64.lld-14 (x86-64 and arm64: an executable with
# the helper linked in, one importing it from a dylib through __stubs, a
# dylib and a bundle with sites, arm64 both signed and unsigned, and one
# executable with the default 32 bytes of header padding), then:
#  1. rewrites each with the writer alone (SELFTEST: sites from the
#     disassembly, the plan built there) and judges the output with
#     check_image.py (an independent reader), llvm-otool -l and llvm-objdump
#     --macho (disassembly of every site and of the stubs, unwind info,
#     rebase, bind, lazy bind, function starts);
#     Two of them also with synthesized chained fixups (chained.py), which
#     lld-14 cannot write;
#  2. rewrites each with `callirw rewrite` (the whole pipeline), judged the
#     same way, then again (idempotence: exit 1, nothing written) and once
#     more (determinism); a fat file of two of them, slice by slice;
#  3. the image without room for the command is refused with one line
#     naming -headerpad, and nothing is written;
#  4. mutated copies (fuzz.py) end in a clean refusal or an output, never
#     in a sanitizer report.
# Parts that need the Mach-O reader or signer are skipped, saying so, while
# formats/macho.c or formats/macho_sign.c is still the skeleton.
set -eu
CALLIRW=$1
SELFTEST=$2
D=$3
HERE=$(dirname "$0")
ROOT=$HERE/../..
mkdir -p "$D"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fails=0
say() { echo "check-macho-img: $*"; }
bad() { say "FAIL: $*"; fails=$((fails + 1)); }

reader=1
grep -q '(Skeleton' "$ROOT/formats/macho.c" && reader=0
signer=1
grep -q '(Skeleton' "$ROOT/formats/macho_sign.c" && signer=0

# ---- inputs ---------------------------------------------------------------
IMAGES=
for a in x86_64 arm64; do
    tg=$a-apple-macos11
    for f in sites libsystem; do
        clang-14 --target=$tg -c "$HERE/$f.S" -o "$D/$f.$a.o"
    done
    clang-14 --target=$tg -c -DMAIN "$HERE/helper.S" -o "$D/main_helper.$a.o"
    clang-14 --target=$tg -c -DMAIN -DNO_HELPER "$HERE/helper.S" -o "$D/main.$a.o"
    clang-14 --target=$tg -c "$HERE/helper.S" -o "$D/helper.$a.o"
    L="ld64.lld-14 -arch $a -platform_version macos 11.0 11.0"
    $L -dylib -install_name /usr/lib/libSystem.B.dylib "$D/libsystem.$a.o" -o "$D/libSystem.$a.dylib"
    $L -dylib -install_name @rpath/libhelper.dylib "$D/helper.$a.o" "$D/libSystem.$a.dylib" \
        -o "$D/libhelper.$a.dylib"
    for sig in -no_adhoc_codesign -adhoc_codesign; do
        s=; [ $sig = -adhoc_codesign ] && s=.signed
        [ $a = x86_64 ] && [ -n "$s" ] && continue # lld signs arm64 only by default; both are tested there
        $L $sig -headerpad 0x400 "$D/main_helper.$a.o" "$D/sites.$a.o" "$D/libSystem.$a.dylib" \
            -o "$D/exe_static$s.$a"
        $L $sig -headerpad 0x400 "$D/main.$a.o" "$D/sites.$a.o" "$D/libhelper.$a.dylib" \
            "$D/libSystem.$a.dylib" -o "$D/exe_import$s.$a"
        $L $sig -headerpad 0x400 -dylib -install_name @rpath/libsites.dylib "$D/sites.$a.o" \
            "$D/libhelper.$a.dylib" "$D/libSystem.$a.dylib" -o "$D/libsites$s.$a.dylib"
        $L $sig -headerpad 0x400 -bundle "$D/sites.$a.o" "$D/libhelper.$a.dylib" \
            "$D/libSystem.$a.dylib" -o "$D/sites$s.$a.bundle"
        IMAGES="$IMAGES exe_static$s.$a exe_import$s.$a libsites$s.$a.dylib sites$s.$a.bundle"
    done
    $L "$D/main_helper.$a.o" "$D/sites.$a.o" "$D/libSystem.$a.dylib" -o "$D/exe_nopad.$a"
done

# ---- judging an output ----------------------------------------------------
# judge IN OUT LOG: check_image.py, otool, objdump, LIEF, the signature, the
# stubs in __unwind_info (unless LOG has the writer's warning that the table
# was left as it was), and every site a branch of the same kind into
# __CALLIRW,__text
judge() {
    in=$1 out=$2 log=$3
    sites=$(python3 "$HERE/sites.py" "$in.dis")
    [ -n "$sites" ] || { bad "$in: no site in the input's disassembly"; return; }
    python3 "$HERE/check_image.py" "$in" "$out" $(echo "$sites" | sed 's/:[a-z]*:/:/') ||
        { bad "$out: check_image"; return; }
    llvm-otool-14 -l "$out" > "$out.lc" 2> "$out.lc.err" && [ ! -s "$out.lc.err" ] ||
        { bad "$out: llvm-otool -l: $(head -1 "$out.lc.err")"; return; }
    llvm-objdump-14 --macho -d --unwind-info --rebase --bind --lazy-bind --function-starts \
        "$out" > "$out.dump" 2> "$out.dump.err" && [ ! -s "$out.dump.err" ] ||
        { bad "$out: llvm-objdump: $(head -1 "$out.dump.err")"; return; }
    llvm-objdump-14 --macho -d --rebase --bind --lazy-bind "$in" | sed -n '/^Rebase table/,$p' > "$out.fix.in"
    llvm-objdump-14 --macho -d --rebase --bind --lazy-bind "$out" | sed -n '/^Rebase table/,$p' > "$out.fix.out"
    cmp -s "$out.fix.in" "$out.fix.out" || { bad "$out: rebase or bind information changed"; return; }
    "$ROOT/build/tools/lief_check" "$out" > "$out.lief" 2>&1 ||
        { bad "$out: LIEF cannot parse it: $(tail -1 "$out.lief")"; return; }
    llvm-otool-14 -tv -s __CALLIRW __text "$out" > "$out.stubs" 2>&1 &&
        grep -q -E '\s(ret|retq|br|jmpq?)(\s|$)' "$out.stubs" ||
        { bad "$out: the stubs do not disassemble"; return; }
    # signed stays signed (every page hash right), unsigned stays unsigned
    if llvm-otool-14 -l "$in" | grep -q LC_CODE_SIGNATURE; then
        python3 "$ROOT/tests/macho_sign/csverify.py" --require-signed "$out" > "$out.cs" 2>&1 ||
            { bad "$out: signature: $(tail -1 "$out.cs")"; return; }
    elif grep -q LC_CODE_SIGNATURE "$out.lc"; then
        bad "$out: an unsigned input came out signed"; return
    fi
    # the stubs' unwind entries: every stub start is a function in __unwind_info
    if grep -q '__unwind_info left as it was' "$log"; then
        say "note: $(basename "$out"): $(grep -o '__unwind_info left as it was.*' "$log")"
    else
    python3 - "$out.dump" "$out.lc" <<'EOF2' || { bad "$out: the stubs are not in __unwind_info"; return; }
import re, sys
dump, lc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
base = int(re.search(r'segname __TEXT\s+vmaddr 0x([0-9a-f]+)', lc).group(1), 16)
m = re.search(r'sectname __text\s+segname __CALLIRW\s+addr 0x([0-9a-f]+)\s+size 0x([0-9a-f]+)', lc)
lo, hi = int(m.group(1), 16), int(m.group(1), 16) + int(m.group(2), 16)
funcs = set(base + int(x, 16) for x in re.findall(r'function offset=0x([0-9a-f]+), encoding', dump))
starts = [int(x, 16) for x in re.findall(r'^([0-9a-f]{16})$', dump, re.M)]
stubs = [x for x in starts if lo <= x < hi]
missing = [hex(x) for x in stubs if x not in funcs]
if not stubs or missing:
    print('stub starts %s; not in __unwind_info: %s' % ([hex(x) for x in stubs], missing))
sys.exit(1 if missing or not stubs else 0)
EOF2
    fi
    python3 - "$out" "$out.dump" "$out.lc" $sites <<'EOF' || bad "$out: sites"
import re, sys
out, dump, lc = sys.argv[1:4]
t = open(lc).read()
m = re.search(r'sectname __text\s+segname __CALLIRW\s+addr 0x([0-9a-f]+)\s+size 0x([0-9a-f]+)', t)
lo = int(m.group(1), 16); hi = lo + int(m.group(2), 16)
ins = {}
for ln in open(dump):
    f = ln.rstrip('\n').split('\t')
    if len(f) >= 4 and f[0].strip().endswith(':'):
        ins[int(f[0].strip()[:-1], 16)] = (f[2], f[3])
ok = True
for s in sys.argv[4:]:
    va, form, n = s.split(':'); va = int(va, 16); n = int(n)
    at = va + n - 5 if form in ('call', 'jmp') else va  # x86: nops, then the branch
    op, arg = ins.get(at, ('?', '?'))
    want = {'call': 'callq', 'jmp': 'jmp', 'bl': 'bl', 'b': 'b'}[form]
    try:
        tgt = int(arg.split()[0], 16)
    except ValueError:
        tgt = -1
    if op != want or not lo <= tgt < hi:
        print('check-macho-img: %s: site 0x%x is "%s %s", not a %s into __CALLIRW,__text' % (out, va, op, arg, want))
        ok = False
sys.exit(0 if ok else 1)
EOF
}

# ---- 1. the writer alone ---------------------------------------------------
n=0
for img in $IMAGES; do
    in=$D/$img
    llvm-objdump-14 --macho -d "$in" > "$in.dis"
    case $img in *.signed.*) [ $signer = 1 ] || { say "skip $img (writer alone): the signer is a skeleton"; continue; } ;; esac
    rm -f "$in.self"
    if ! "$SELFTEST" "$in" "$in.self" $(python3 "$HERE/sites.py" "$in.dis") > "$in.self.log" 2>&1; then
        bad "$img: mw_selftest: $(grep -v warning "$in.self.log" | head -1)"
        continue
    fi
    judge "$in" "$in.self" "$in.self.log"
    n=$((n + 1))
done
say "writer alone: $n images rewritten and judged"

# ---- 1b. chained fixups (synthesized: lld-14 writes none), writer alone -----
for img in exe_import.x86_64 libsites.arm64.dylib; do
    in=$D/$img
    python3 "$HERE/chained.py" make "$in" "$in.cf"
    cp "$in.dis" "$in.cf.dis"
    if "$SELFTEST" "$in.cf" "$in.cf.self" $(python3 "$HERE/sites.py" "$in.dis") > "$in.cf.log" 2>&1 &&
        python3 "$HERE/chained.py" check "$in.cf" "$in.cf.self"; then
        judge "$in.cf" "$in.cf.self" "$in.cf.log"
    else
        bad "$img with chained fixups: $(grep -v warning "$in.cf.log" | head -1)"
    fi
done
say "chained fixups: 2 synthesized images rewritten and judged"

# ---- 2. the whole pipeline -------------------------------------------------
if [ $reader = 0 ]; then
    say "skip callirw rewrite: the Mach-O reader (formats/macho.c) is still the skeleton"
else
    n=0
    for img in $IMAGES; do
        in=$D/$img
        case $img in *.signed.*) [ $signer = 1 ] || { say "skip $img: the signer is a skeleton"; continue; } ;; esac
        rm -f "$in.post" "$in.post2" "$in.again"
        if ! "$CALLIRW" rewrite "$in" -o "$in.post" > "$in.post.log" 2>&1; then
            bad "$img: callirw rewrite: $(grep -v warning "$in.post.log" | tail -1)"
            continue
        fi
        judge "$in" "$in.post" "$in.post.log"
        set +e
        "$CALLIRW" rewrite "$in.post" -o "$in.post2" > "$in.post2.log" 2>&1
        rc=$?
        set -e
        [ $rc = 1 ] && [ ! -e "$in.post2" ] && grep -q 'already carries a rewrite map' "$in.post2.log" ||
            bad "$img: a second rewrite did not see the map (exit $rc)"
        "$CALLIRW" rewrite "$in" -o "$in.again" > /dev/null 2>&1 && cmp -s "$in.post" "$in.again" ||
            bad "$img: two rewrites differ"
        n=$((n + 1))
    done
    say "callirw rewrite: $n images rewritten, judged, idempotent and deterministic"
fi

# ---- 2b. a fat file: every slice rewritten, each judged as its thin input -----
if [ $reader = 1 ] && [ $signer = 1 ]; then
    fat=$D/fat_static
    rm -f "$fat.post"
    llvm-lipo-14 -create "$D/exe_static.x86_64" "$D/exe_static.signed.arm64" -output "$fat"
    if "$CALLIRW" rewrite "$fat" -o "$fat.post" > "$fat.post.log" 2>&1 &&
        python3 "$ROOT/tests/macho_sign/csverify.py" "$fat.post" > "$fat.cs" 2>&1; then
        for pair in x86_64:exe_static.x86_64 arm64:exe_static.signed.arm64; do
            a=${pair%%:*} in=$D/${pair#*:}
            llvm-lipo-14 "$fat.post" -thin $a -output "$fat.post.$a"
            grep -F "[$a]" "$fat.post.log" > "$fat.post.$a.log" || true
            judge "$in" "$fat.post.$a" "$fat.post.$a.log"
        done
        say "fat: both slices rewritten and judged"
    else
        bad "fat: $(grep -v warning "$fat.post.log" | tail -1) $(tail -1 "$fat.cs" 2>/dev/null)"
    fi
fi

# ---- 3. no room for the command: refused, nothing written ------------------
for a in x86_64 arm64; do
    in=$D/exe_nopad.$a
    llvm-objdump-14 --macho -d "$in" > "$in.dis"
    rm -f "$in.self" "$in.post"
    set +e
    "$SELFTEST" "$in" "$in.self" $(python3 "$HERE/sites.py" "$in.dis") > "$in.self.log" 2>&1
    rc=$?
    set -e
    [ $rc = 4 ] && [ ! -e "$in.self" ] && grep -q 'needs 232 bytes .* -headerpad' "$in.self.log" ||
        bad "exe_nopad.$a: not refused as it should be (exit $rc): $(head -1 "$in.self.log")"
    if [ $reader = 1 ]; then
        set +e
        "$CALLIRW" rewrite "$in" -o "$in.post" > "$in.post.log" 2>&1
        rc=$?
        set -e
        [ $rc = 2 ] || bad "exe_nopad.$a: callirw exit $rc (2 expected)"
        [ ! -e "$in.post" ] && [ "$(grep -c . "$in.post.log")" = 1 ] &&
            grep -q -- '-headerpad' "$in.post.log" ||
            bad "exe_nopad.$a: callirw: $(cat "$in.post.log")"
    fi
done

# ---- 4. hostile inputs: mutated commands, under ASan/UBSan ------------------
python3 "$HERE/fuzz.py" 100 "$SELFTEST" "$D/exe_import.x86_64" "$D/libsites.signed.arm64.dylib" \
    "$D/sites.arm64.bundle" || bad "fuzz (writer alone)"
if [ $reader = 1 ]; then
    python3 "$HERE/fuzz.py" --callirw 60 "$CALLIRW" "$D/exe_import.x86_64" \
        "$D/libsites.signed.arm64.dylib" || bad "fuzz (callirw rewrite)"
fi

if [ $fails != 0 ]; then
    say "$fails failure(s)"
    exit 1
fi
say "ok"

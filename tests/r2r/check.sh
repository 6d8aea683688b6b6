#!/bin/bash
# check.sh DIR CALLIRW PE_DUMP - check-r2r (tests/r2r/rules.mk, docs/r2r.md
# "Proof"). DIR holds r2r.exe and r2r_apply; R2R_CORPUS the real images.
# Every check prints one line; any failure makes the exit status 1.
set -u
D=$1 CALLIRW=$2 PE_DUMP=$3
CORPUS=${R2R_CORPUS:-../shared/corpus/r2r}
WINE=${WINE:-/usr/lib/wine/wine64}
export WINEDEBUG=-all WINEPREFIX=$PWD/$D/wineprefix
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() { # expect WHAT COMMAND...: the command must succeed
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
run_wine() { # run_wine EXE OUT: the program's stdout in OUT (CRs dropped), its exit status returned
    local rc
    "$WINE" "$1" >"$2.raw" 2>"$2.err"
    rc=$?
    tr -d '\r' <"$2.raw" >"$2"
    return $rc
}
results() { grep -E '^(result: |@)' "$1"; }

# 1. the program as built: results, the runtime's view of its header
mkdir -p "$WINEPREFIX"
run_wine "$D/r2r.exe" "$D/orig.out"; rc=$?
[ $rc = 0 ] && ok "r2r.exe runs under wine" || { bad "r2r.exe exits $rc"; cat "$D/orig.out"; }
cat >"$D/expected.results" <<'END'
@enter
@leave
@enter
@leave
result: method_a(5, 9) = 14016
@enter
@leave
@s2n 68c3a96c6c6f
@enter
@leave
@free 68c3a96c6c6f
result: method_b(1.5, 4) = 19.000
@enter
@leave
result: method_c() = 91
@enter
@leave
@enter
@leave
result: method_a(-3, 100) = 97107
END
expect "r2r.exe: results and runtime events as computed by hand" \
    cmp -s <(results "$D/orig.out") "$D/expected.results"
expect "r2r.exe: 2 calli cells filled, 3 runtime functions found, not rewritten" \
    grep -qzP 'r2r: 2 calli helper cells filled, 1 module cells\nr2r: not rewritten\nr2r: 3 runtime functions, 3 found' "$D/orig.out"

# 2. scan finds the six sites through the two 0x47 cells, and only with that id
"$CALLIRW" scan --json "$D/r2r.exe" >"$D/scan.json"; rc=$?
expect "scan: exit 0" test $rc = 0
expect "scan: 6 sites, all rewritable, in method_a/b/c, through the cells" python3 - "$D/scan.json" <<'END'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sites"]
funcs = sorted(x.get("function", "").split("+")[0] for x in s)
assert len(s) == 6, len(s)
assert all(x["verdict"] == "ok" for x in s), s
assert funcs == ["method_a"] * 2 + ["method_b"] * 3 + ["method_c"], funcs
END
"$CALLIRW" scan --r2r-helper-id 0x8 "$D/r2r.exe" >/dev/null; rc=$?
expect "scan --r2r-helper-id 0x8: no site (exit 1)" test $rc = 1
"$CALLIRW" scan --r2r-helper-id 0x20000000 "$D/r2r.exe" >/dev/null 2>&1; rc=$?
expect "scan --r2r-helper-id 0x20000000: usage error (exit 2)" test $rc = 2

# 3. pe_r2r_rewrite through the stand-in writer: the copy runs the same
"$D/r2r_apply" "$D/r2r.exe" "$D/applied.exe" 4 >/dev/null &&
"$D/r2r_apply" "$D/r2r.exe" "$D/applied-nomap.exe" 1 --no-crwmap >/dev/null &&
"$D/r2r_apply" "$D/r2r.exe" "$D/applied-nopdata.exe" 3 --no-pdata >/dev/null ||
    bad "r2r_apply"
for v in applied applied-nomap; do
    run_wine "$D/$v.exe" "$D/$v.out"; rc=$?
    expect "$v.exe: exit 0 under wine" test $rc = 0
    expect "$v.exe: the same results and events" cmp -s <(results "$D/$v.out") "$D/expected.results"
done
expect "applied.exe: relocated header read, map section seen, 7 runtime functions all found by RtlLookupFunctionEntry" \
    grep -qzP 'version 5.4, 5 sections\nr2r: 2 calli helper cells filled, 1 module cells\nr2r: rewritten, rewrite map \d+ bytes\nr2r: 7 runtime functions, 7 found' "$D/applied.out"
run_wine "$D/applied-nopdata.exe" "$D/applied-nopdata.out"; rc=$?
expect "negative control (stubs not in the exception directory): the program fails (exit 1)" test $rc = 1
expect "negative control: RtlLookupFunctionEntry misses exactly the 3 stubs" \
    test "$(grep -c 'FAIL: RtlLookupFunctionEntry does not find runtime function' "$D/applied-nopdata.out")" = 3

# 4. the ReadyToRun tables of the copy against the original (pe_dump --json)
"$PE_DUMP" --json "$D/r2r.exe" >"$D/orig.json" && "$PE_DUMP" --json "$D/applied.exe" >"$D/applied.json" ||
    bad "pe_dump --json"
expect "tables: existing runtime functions at their indices, stubs after them, entry points/imports unchanged, map section" \
    python3 - "$D/orig.json" "$D/applied.json" <<'END'
import json, sys
o = json.load(open(sys.argv[1]))["readytorun"]
a = json.load(open(sys.argv[2]))["readytorun"]
ro, ra = o["runtime_functions"], a["runtime_functions"]
assert ra["count"] == ro["count"] + 4, (ro["count"], ra["count"])
assert ra["entries"][:ro["count"]] == ro["entries"]
top = max(e["end"] for e in ro["entries"])
st = ra["entries"][ro["count"]:]
assert all(e["begin"] >= top and e["end"] > e["begin"] for e in st), st
assert [e["begin"] for e in st] == sorted(e["begin"] for e in st)
assert ra["rva"] != ro["rva"] and a["header_rva"] != o["header_rva"]
for k in ("method_entry_points", "import_sections", "compiler_identifier", "major", "minor", "flags", "helper_slots"):
    assert a[k] == o[k], k
types = [s["type"] for s in a["sections"]]
assert types == [s["type"] for s in o["sections"]] + [0xCA110001], types
for s, t in zip(a["sections"], o["sections"]):
    assert s == t or s["type"] == 102, (s, t)
assert a["header_size"] == 16 + 12 * len(types)
assert a["rewritten"] and not o["rewritten"]
END

expect "tables, read by the independent reader (tests/pe/r2r_facts.py): the same facts" \
    python3 - "$D/r2r.exe" "$D/applied.exe" <<'END'
import json, subprocess, sys
o, a = (json.loads(subprocess.check_output(["python3", "tests/pe/r2r_facts.py", p])) for p in sys.argv[1:3])
assert a["runtime_functions"][:3] == o["runtime_functions"] and len(a["runtime_functions"]) == 7
assert [e["index"] for e in o["entry_points"]] == [0, 1, 2], o["entry_points"]
assert a["entry_points"] == o["entry_points"] and a["imports"] == o["imports"]
assert [s[0] for s in a["sections"]] == [100, 101, 102, 103, 0xCA110001]
assert a["header_size"] == 16 + 12 * 5 and a["header_rva"] != o["header_rva"]
assert a["helper_slots_0x47"] == o["helper_slots_0x47"] and len(o["helper_slots_0x47"]) == 2
END

# 5. inspect and scan on the copies agree
"$CALLIRW" inspect "$D/applied.exe" >"$D/inspect.txt"; rc=$?
expect "inspect applied.exe (.crwmap and the 0xCA110001 section): exit 0, 4 stubs" \
    sh -c "test $rc = 0 && grep -q 'rewritten by callirw: 4 stubs' '$D/inspect.txt'"
expect "inspect applied.exe shows the grown header" grep -qE 'sections \(5\)|callirw rewrite map' "$D/inspect.txt"
"$CALLIRW" inspect "$D/applied-nomap.exe" >"$D/inspect-nomap.txt"; rc=$?
expect "inspect applied-nomap.exe (map only in the 0xCA110001 section): exit 0, 1 stub" \
    sh -c "test $rc = 0 && grep -q 'rewritten by callirw: 1 stub' '$D/inspect-nomap.txt'"
python3 - "$D/applied.exe" "$D/applied-differ.exe" <<'END'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", d, 0x3C)[0]
n = struct.unpack_from("<H", d, pe + 6)[0]
sh = pe + 24 + struct.unpack_from("<H", d, pe + 20)[0]
for i in range(n):
    if d[sh + 40 * i: sh + 40 * i + 8].rstrip(b"\0") == b".crwmap":
        ptr = struct.unpack_from("<I", d, sh + 40 * i + 20)[0]
        d[ptr + 40] ^= 0xFF  # inside the stub records
open(sys.argv[2], "wb").write(d)
END
"$CALLIRW" inspect "$D/applied-differ.exe" >/dev/null 2>"$D/differ.err"; rc=$?
expect "inspect: .crwmap differing from the 0xCA110001 section is refused (exit 2)" \
    sh -c "test $rc = 2 && grep -q 'differ' '$D/differ.err'"
# hostile: the 0xCA110001 entry of applied-nomap.exe's header pointed at
# bytes that are not a map, or past the image
python3 - "$D/applied-nomap.exe" "$D" <<'END'
import struct, sys
d = bytes(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", d, 0x3C)[0]
opt = pe + 24
sh = opt + struct.unpack_from("<H", d, pe + 20)[0]
secs = [struct.unpack_from("<8sIIII", d, sh + 40 * i) for i in range(struct.unpack_from("<H", d, pe + 6)[0])]
def off(rva):
    for n, vs, va, rs, ro in secs:
        if va <= rva < va + rs:
            return rva - va + ro
clr = struct.unpack_from("<I", d, opt + 112 + 14 * 8)[0]
h = off(struct.unpack_from("<I", d, off(clr) + 64)[0])
n = struct.unpack_from("<I", d, h + 12)[0]
e = h + 16 + 12 * (n - 1)
assert struct.unpack_from("<I", d, e)[0] == 0xCA110001
for name, rva, size in (("notamap", struct.unpack_from("<I", d, h + 16 + 4)[0], 16), ("outside", 0x7FFFFFF0, 0x100)):
    x = bytearray(d)
    struct.pack_into("<II", x, e + 4, rva, size)
    open(f"{sys.argv[2]}/hostile-{name}.exe", "wb").write(x)
END
for h in notamap outside; do
    "$CALLIRW" inspect "$D/hostile-$h.exe" >/dev/null 2>"$D/hostile-$h.err"; rc=$?
    expect "inspect hostile-$h.exe: exit 2, one line" \
        sh -c "test $rc = 2 && test \$(wc -l <'$D/hostile-$h.err') = 1"
done

"$CALLIRW" scan "$D/applied.exe" >"$D/scan-applied.txt"; rc=$?
expect "scan applied.exe: 'already rewritten'" grep -q 'already rewritten' "$D/scan-applied.txt"
rm -f "$D/again.exe"
"$CALLIRW" rewrite "$D/applied.exe" -o "$D/again.exe" >/dev/null 2>&1; rc=$?
expect "rewrite applied.exe: nothing to do (exit 1), no file" sh -c "test $rc = 1 && test ! -e '$D/again.exe'"

# 6. the real corpus: no helper cell, so rewrite is a clean no-op
for f in "$CORPUS"/*.dll; do
    rm -f "$D/corpus.out"
    "$CALLIRW" rewrite "$f" -o "$D/corpus.out" >/dev/null 2>&1; rc=$?
    expect "rewrite $(basename "$f"): exit 1, no file" sh -c "test $rc = 1 && test ! -e '$D/corpus.out'"
done

# 7. the real rewrite (R2R_REWRITER: another callirw to rewrite with, e.g. a
#    build with a work-in-progress writer)
REWRITER=${R2R_REWRITER:-$CALLIRW}
rm -f "$D/rewritten.exe"
"$REWRITER" rewrite "$D/r2r.exe" -o "$D/rewritten.exe" >"$D/rewrite.out" 2>"$D/rewrite.err"; rc=$?
if [ $rc != 0 ]; then
    bad "callirw rewrite r2r.exe: exit $rc: $(cat "$D/rewrite.err")"
else
    expect "callirw rewrite r2r.exe: exit 0" test $rc = 0
    run_wine "$D/rewritten.exe" "$D/rewritten.out"; rc=$?
    expect "rewritten.exe: exit 0 under wine" test $rc = 0
    expect "rewritten.exe: the same results and events" cmp -s <(results "$D/rewritten.out") "$D/expected.results"
    expect "rewritten.exe: stubs' runtime functions all found by RtlLookupFunctionEntry" \
        grep -qP 'r2r: (\d+) runtime functions, \1 found' "$D/rewritten.out"
    R2R_NO_CELLS=1 run_wine "$D/rewritten.exe" "$D/rewritten-nocells.out"; rc=$?
    expect "rewritten.exe with the calli cells left empty (the sites call the stubs): exit 0" test $rc = 0
    expect "rewritten.exe with the calli cells left empty: the same results and events" \
        cmp -s <(results "$D/rewritten-nocells.out") "$D/expected.results"
    # (wine's exit status after an unhandled fault is not reliable: the
    # missing results are the evidence)
    R2R_NO_CELLS=1 run_wine "$D/r2r.exe" "$D/orig-nocells.out"
    expect "negative control: r2r.exe with the calli cells left empty faults before any result" \
        sh -c "grep -q 'left empty' '$D/orig-nocells.out' && ! grep -q '^result:' '$D/orig-nocells.out'"
    "$CALLIRW" inspect "$D/rewritten.exe" >"$D/inspect-rw.txt"; rc=$?
    expect "inspect rewritten.exe (.crwmap and 0xCA110001 agree): 6 sites" \
        sh -c "test $rc = 0 && grep -q ', 6 sites' '$D/inspect-rw.txt'"
    rm -f "$D/again.exe"
    "$REWRITER" rewrite "$D/rewritten.exe" -o "$D/again.exe" >/dev/null 2>&1; rc=$?
    expect "rewrite rewritten.exe: nothing to do (exit 1), no file" sh -c "test $rc = 1 && test ! -e '$D/again.exe'"
    "$PE_DUMP" --json "$D/r2r.exe" >"$D/orig.json" && "$PE_DUMP" --json "$D/rewritten.exe" >"$D/rewritten.json" ||
        bad "pe_dump --json rewritten.exe"
    expect "rewritten.exe: existing runtime functions at their indices, stubs' after, map section, rest unchanged" \
        python3 - "$D/orig.json" "$D/rewritten.json" <<'END'
import json, sys
o = json.load(open(sys.argv[1]))["readytorun"]
a = json.load(open(sys.argv[2]))["readytorun"]
ro, ra = o["runtime_functions"], a["runtime_functions"]
assert ra["count"] > ro["count"] and ra["entries"][:ro["count"]] == ro["entries"]
for k in ("method_entry_points", "import_sections", "compiler_identifier", "flags", "helper_slots"):
    assert a[k] == o[k], k
assert [s["type"] for s in a["sections"]] == [s["type"] for s in o["sections"]] + [0xCA110001]
assert a["rewritten"]
END
fi

if [ $fails != 0 ]; then
    echo "check-r2r: $fails check(s) failed"
    exit 1
fi
echo "check-r2r: all checks passed"

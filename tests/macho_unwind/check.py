#!/usr/bin/env python3
"""check.py ORIG.txt NEW.txt DRIVER.txt [--want-regular] [--min-pages N]
[--want-local]: compares two `llvm-objdump --macho --unwind-info` listings,
of an image and of its copy carrying the rebuilt table (unw_test rebuild,
whose output DRIVER.txt names the old end, the adds and the new end).

The new table must list exactly the old functions with their encodings, an
entry with encoding 0 at the old end when something follows it (the rule of
docs/macho-unwind.md), then the added functions; keep the common encodings
as a prefix, the personalities and the LSDA descriptors; end at the new end;
have each first-level entry start at its page's first function and name the
LSDA slice of its range; and have pages of at most 4 KiB, back to back."""
import re
import sys

ENTRY = re.compile(r"^\s+\[(\d+)\]: function offset=0x([0-9a-f]+), encoding(?:\[(\d+)\])?=0x([0-9a-f]+)")
TOP = re.compile(r"^\s+\[(\d+)\]: function offset=0x([0-9a-f]+), 2nd level page offset=0x([0-9a-f]+), "
                 r"LSDA offset=0x([0-9a-f]+)")
LSDA = re.compile(r"^\s+\[(\d+)\]: function offset=0x([0-9a-f]+), LSDA offset=0x([0-9a-f]+)")
PAGE = re.compile(r"^\s+Second level index\[(\d+)\]: offset in section=0x([0-9a-f]+), base function offset=0x([0-9a-f]+)")
COMMON = re.compile(r"^\s+encoding\[(\d+)\]: 0x([0-9a-f]+)")
PERS = re.compile(r"^\s+personality\[(\d+)\]: 0x([0-9a-f]+)")
HDR = re.compile(r"^\s+(Index array section offset|Number of indices in array|"
                 r"Number of common encodings in array):\s+0x([0-9a-f]+)")


def fail(msg):
    print("check.py: " + msg)
    sys.exit(1)


def parse(path):
    t = {"common": [], "pers": [], "top": [], "lsda": [], "pages": [], "hdr": {}}
    part = None
    for line in open(path):
        m = HDR.match(line)
        if m:
            t["hdr"][m.group(1)] = int(m.group(2), 16)
            continue
        if "Common encodings:" in line:
            part = "common"
        elif "Personality functions:" in line:
            part = "pers"
        elif "Top level indices:" in line:
            part = "top"
        elif "LSDA descriptors:" in line:
            part = "lsda"
        m = PAGE.match(line)
        if m:
            part = "page"
            t["pages"].append({"off": int(m.group(2), 16), "base": int(m.group(3), 16), "e": []})
            continue
        if part == "common" and COMMON.match(line):
            t["common"].append(int(COMMON.match(line).group(2), 16))
        elif part == "pers" and PERS.match(line):
            t["pers"].append(int(PERS.match(line).group(2), 16))
        elif part == "top" and TOP.match(line):
            m = TOP.match(line)
            t["top"].append(tuple(int(m.group(k), 16) for k in (2, 3, 4)))
        elif part == "lsda" and LSDA.match(line):
            m = LSDA.match(line)
            t["lsda"].append((int(m.group(2), 16), int(m.group(3), 16)))
        elif part == "page" and ENTRY.match(line):
            m = ENTRY.match(line)
            t["pages"][-1]["e"].append((int(m.group(2), 16), int(m.group(4), 16), m.group(3)))
    if not t["top"]:
        fail(f"{path}: no first-level index decoded")
    return t


def main():
    args = sys.argv[1:]
    want_regular = "--want-regular" in args
    want_local = "--want-local" in args
    min_pages = 1
    if "--min-pages" in args:
        min_pages = int(args[args.index("--min-pages") + 1])
    orig, new, drv = parse(args[0]), parse(args[1]), open(args[2]).read()
    old_end = int(re.search(r"^old_end 0x([0-9a-f]+)$", drv, re.M).group(1), 16)
    end = int(re.search(r"^end 0x([0-9a-f]+)$", drv, re.M).group(1), 16)
    size = int(re.search(r"^size 0x[0-9a-f]+ -> 0x([0-9a-f]+)$", drv, re.M).group(1), 16)
    adds = [(int(a, 16), int(b, 16)) for a, b in re.findall(r"^add 0x([0-9a-f]+) 0x([0-9a-f]+)$", drv, re.M)]

    old = [(f, e) for p in orig["pages"] for f, e, _ in p["e"]]
    got = [(f, e) for p in new["pages"] for f, e, _ in p["e"]]
    if not old:
        fail("the original table lists no function")
    if orig["top"][-1][0] != old_end:
        fail(f"the driver's old end 0x{old_end:x} is not the original sentinel 0x{orig['top'][-1][0]:x}")
    want = list(old)
    nxt = adds[0][0] if adds else end
    if nxt > old_end:
        want.append((old_end, 0))
    want += adds
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                fail(f"entry {i}: got (0x{g[0]:x}, 0x{g[1]:08x}), want (0x{w[0]:x}, 0x{w[1]:08x})")
        fail(f"{len(got)} entries, want {len(want)}")

    if new["common"][:len(orig["common"])] != orig["common"]:
        fail("the old common encodings are not kept as a prefix")
    if len(new["common"]) > max(127, len(orig["common"])):
        fail(f"{len(new['common'])} common encodings")
    if new["pers"] != orig["pers"]:
        fail("personalities differ")
    if new["lsda"] != orig["lsda"]:
        fail("LSDA descriptors differ")

    top, pages = new["top"], new["pages"]
    if top[-1][0] != end or top[-1][1] != 0:
        fail(f"sentinel (0x{top[-1][0]:x}, 0x{top[-1][1]:x}), want (0x{end:x}, 0)")
    if len(top) != len(pages) + 1 or len(pages) < min_pages:
        fail(f"{len(pages)} pages for {len(top)} first-level entries (want >= {min_pages} pages)")
    lsda0 = top[0][2]
    for i, p in enumerate(pages):
        base, poff, loff = top[i]
        if p["off"] != poff or p["base"] != base or not p["e"] or p["e"][0][0] != base:
            fail(f"page {i} does not start at its first-level entry's function")
        lo, hi = base, top[i + 1][0]
        want_slice = [k for k, (f, _) in enumerate(new["lsda"]) if lo <= f < hi]
        have = list(range((loff - lsda0) // 8, (top[i + 1][2] - lsda0) // 8))
        if want_slice != have:
            fail(f"page {i}: LSDA slice has {len(have)} descriptors from {have[:1]}, want {len(want_slice)} from {want_slice[:1]}")
        nxt_off = pages[i + 1]["off"] if i + 1 < len(pages) else size
        if nxt_off - poff > 4096 or nxt_off <= poff:
            fail(f"page {i} at 0x{poff:x} spans {nxt_off - poff} bytes")
        for f, e, idx in p["e"]:
            if idx is not None and int(idx) < len(new["common"]) and new["common"][int(idx)] != e:
                fail(f"0x{f:x}: common index {idx} does not hold 0x{e:08x}")
    # the rebuilt pages follow each other in the order of their functions
    for i in range(1, len(pages)):
        if pages[i]["off"] <= pages[i - 1]["off"]:
            fail("pages are not in ascending order")
    regular = sum(1 for p in pages if all(idx is None for _, _, idx in p["e"]))
    local = sum(1 for p in pages for _, _, idx in p["e"] if idx is not None and int(idx) >= len(new["common"]))
    if want_regular and not regular:
        fail("no regular page, though functions lie more than 16 MiB apart")
    if want_local and not local:
        fail("no page-local encoding used")
    print(f"check.py: {args[1]}: {len(got)} entries ({len(adds)} added), {len(pages)} pages "
          f"({regular} regular), {len(new['common'])} common encodings, {local} page-local uses: ok")


main()

#!/usr/bin/env python3
"""bench/call/report.py - fill bench/call/report.md.in with the numbers
bench/call/run.sh gathered in its work directory, and print the Markdown
section "Cost per call".

Placeholders: {{NAME}} (tables, parameters) and {{row.column}} (a number:
column is direct, hand, stub, helper, ffi, or ns_<column>). A block
<!-- why:ROW --> ... <!-- end --> is kept only when ROW misses a target, and
every row that misses one must have such a block (else this fails: a miss
without its explanation is not a report)."""
import argparse
import glob
import os
import re
import sys

# (row, signature, cookie) in the order of the tables
ROWS = [
    ("add_sgc", "`int32(int32, int32)`", "suppress-gc, runtime 0"),
    ("add_gc", "`int32(int32, int32)`", "GC transition, runtime table"),
    ("mul", "`float64(float64, float64)`", "no flag, runtime 0"),
    ("not", "`bool(bool)`", "suppress-gc, runtime 0"),
    ("len", "`int32(string)`", "GC transition, runtime table"),
    ("mix", "12 mixed parameters, 2 on the stack", "suppress-gc, runtime 0"),
    ("void", "`void()`", "suppress-gc, runtime 0"),
]
# column -> (image, way in the program)
COLS = [("direct", "rw", "direct"), ("hand", "rw", "hand"), ("stub", "rw", "site"),
        ("helper", "orig", "site"), ("ffi", "rw", "ffi")]
STUB_MAX = 1.25   # stub <= 1.25 x direct (instructions)
PEER_MIN = 10.0   # helper and libffi >= 10 x stub


def die(msg):
    print("report.py: " + msg, file=sys.stderr)
    sys.exit(1)


def read_counts(path, n):
    """row way -> instructions per call, (Ir(2N) - Ir(N)) / N."""
    at = {}
    for line in open(path):
        f = line.split()
        if len(f) != 4:
            continue
        at[(f[0], f[1], int(f[2]))] = int(f[3])
    out = {}
    for (row, way, k), ir in at.items():
        if k == n:
            if (row, way, 2 * n) not in at:
                die("%s: no count for %s %s at 2N" % (path, row, way))
            out[(row, way)] = (at[(row, way, 2 * n)] - ir) / n
    return out


def read_ns(paths):
    """row way -> best ns per call over every run given."""
    out = {}
    for p in paths:
        for line in open(p):
            f = line.split()
            if len(f) == 3:
                v = float(f[2])
                k = (f[0], f[1])
                out[k] = min(out.get(k, v), v)
    return out


def fmt(v):
    return "%.0f" % v if abs(v - round(v)) < 0.005 else "%.2f" % v


def fmt_ns(v):
    return "%.1f" % v if v >= 10 else "%.2f" % v


def cell(v, floor, fn):
    return "%s (%.2fx)" % (fn(v), v / floor) if floor > 0 else fn(v)


def main():
    ap = argparse.ArgumentParser()
    for a in ("template", "work", "perf", "cpu"):
        ap.add_argument("--" + a, required=True)
    for a in ("n", "tn", "reps"):
        ap.add_argument("--" + a, required=True, type=int)
    o = ap.parse_args()
    w = o.work
    ir = {img: read_counts(os.path.join(w, "ir." + img), o.n) for img in ("orig", "rw")}
    ns = {img: read_ns(sorted(glob.glob(os.path.join(w, "ns.%s.*" % img)))) for img in ("orig", "rw")}

    val, nsv = {}, {}
    for row, _, _ in ROWS:
        for col, img, way in COLS:
            if (row, way) not in ir[img] or (row, way) not in ns[img]:
                die("no measurement for %s %s in the %s image" % (row, way, img))
            val[(row, col)] = ir[img][(row, way)]
            # the columns that are the same code in both images: best of both
            t = ns[img][(row, way)]
            if way != "site":
                t = min(t, ns["orig"][(row, way)])
            nsv[(row, col)] = t

    # The rewrite changes only the sites' destinations: the other ways run
    # the same instructions in both images, exactly.
    same = [(r, way) for (r, way) in ir["rw"] if way != "site" and ir["rw"][(r, way)] != ir["orig"].get((r, way))]
    sanity = ("The direct, by-hand and libffi loops execute exactly the same number of "
              "instructions in the original and the rewritten image (as they must: the "
              "rewrite changes only the sites' destinations).") if not same else (
              "**Warning:** the direct/by-hand/libffi loops differ between the two images for "
              + ", ".join("%s %s" % x for x in same) + ".")

    def table(get, fn, unit):
        head = ("| signature | cookie | direct (floor) | floor + marshaling by hand | "
                "**stub** (rewritten) | helper (original) | libffi `ffi_call` |\n"
                "|---|---|--:|--:|--:|--:|--:|\n")
        lines = []
        for row, sig, ck in ROWS:
            fl = get(row, "direct")
            lines.append("| %s | %s | %s | %s | **%s** | %s | %s |" % (
                sig, ck, fn(fl), cell(get(row, "hand"), fl, fn), cell(get(row, "stub"), fl, fn),
                cell(get(row, "helper"), fl, fn), cell(get(row, "ffi"), fl, fn)))
        return head + "\n".join(lines) + "\n\n" + unit

    instr_table = table(lambda r, c: val[(r, c)], fmt,
                        "Instructions per call, loop included (ratio to the floor in parentheses).")
    ns_table = table(lambda r, c: nsv[(r, c)], fmt_ns,
                     "Nanoseconds per call, loop included (ratio to the floor in parentheses).")

    # Targets, in instructions (exact; ns follow them but are noisy).
    missed = set()
    tl = ["| signature | stub / direct (<= %.2fx) | helper / stub (>= %.0fx) | libffi / stub (>= %.0fx) "
          "| stub / by hand (no target) |" % (STUB_MAX, PEER_MIN, PEER_MIN), "|---|---|---|---|---|"]
    for row, sig, ck in ROWS:
        d, s, h, f = (val[(row, c)] for c in ("direct", "stub", "helper", "ffi"))
        cells = []
        r = s / d
        if r <= STUB_MAX:
            cells.append("%.2fx met" % r)
        else:
            missed.add(row)
            cells.append("%.2fx **missed** by %s instructions (needs <= %s, has %s)"
                         % (r, fmt(s - STUB_MAX * d), fmt(STUB_MAX * d), fmt(s)))
        for peer in (h, f):
            r = peer / s
            if r >= PEER_MIN:
                cells.append("%.1fx met" % r)
            else:
                missed.add(row)
                cells.append("%.1fx **missed**: the stub would need <= %s instructions, has %s"
                             % (r, fmt(peer / PEER_MIN), fmt(s)))
        cells.append("%.2fx (+%s)" % (s / val[(row, "hand")], fmt(s - val[(row, "hand")])))
        tl.append("| %s, %s | %s |" % (sig, ck, " | ".join(cells)))
    target_table = "\n".join(tl) + "\n"
    nmiss = sum(c.count("**missed**") for c in tl)
    target_summary = ("%d of %d targets met; every miss is explained below, with what the "
                      "stub adds to the same work written by hand." % (3 * len(ROWS) - nmiss, 3 * len(ROWS))
                      if nmiss else "All %d targets met." % (3 * len(ROWS)))

    text = open(o.template).read()
    # the explanations: one block per row, kept when that row misses a target
    blocks = dict(re.findall(r"<!-- why:(\w+) -->\n(.*?)<!-- end -->\n", text, re.S))
    for row in missed:
        if row not in blocks:
            die("%s misses a target and %s has no <!-- why:%s --> block to say why"
                % (row, o.template, row))

    def keep(m):
        return m.group(2) + "\n" if m.group(1) in missed else ""
    text = re.sub(r"<!-- why:(\w+) -->\n(.*?)<!-- end -->\n", keep, text, flags=re.S)
    if not missed:
        text = text.replace("{{NO_MISS}}", "Every target is met.")
    text = text.replace("{{NO_MISS}}", "")

    perf = ("`perf stat -e instructions:u` is %s, so the counts come from callgrind alone."
            % o.perf) if o.perf != "ok" else None
    if o.perf == "ok":
        pc = read_counts(os.path.join(w, "perf.rw"), o.n)
        rows = ["| %s | %s | %s |" % (row, way, fmt(pc[(row, way)]))
                for row, _, _ in ROWS for way in ("direct", "hand", "site", "ffi") if (row, way) in pc]
        perf = ("`perf stat -e instructions:u` works here. Its counts for the rewritten image "
                "(user-space instructions, same N / 2N method), as a cross-check:\n\n"
                "| row | way | instructions per call |\n|---|---|--:|\n" + "\n".join(rows))

    subst = {"INSTR_TABLE": instr_table, "NS_TABLE": ns_table, "TARGET_TABLE": target_table, "TARGET_SUMMARY": target_summary,
             "N": str(o.n), "TN": str(o.tn), "REPS": str(o.reps), "PERF": perf, "CPU": o.cpu,
             "SANITY": sanity}
    for (row, col), v in val.items():
        subst["%s.%s" % (row, col)] = fmt(v)
        subst["%s.ns_%s" % (row, col)] = fmt_ns(nsv[(row, col)])
    for row, _, _ in ROWS:
        subst["%s.stub_minus_direct" % row] = fmt(val[(row, "stub")] - val[(row, "direct")])
        subst["%s.stub_minus_hand" % row] = fmt(val[(row, "stub")] - val[(row, "hand")])
        subst["%s.hand_minus_direct" % row] = fmt(val[(row, "hand")] - val[(row, "direct")])
        subst["%s.helper_minus_hand" % row] = fmt(val[(row, "helper")] - val[(row, "hand")])
        subst["%s.ffi_minus_hand" % row] = fmt(val[(row, "ffi")] - val[(row, "hand")])

    def put(m):
        if m.group(1) not in subst:
            die("unknown placeholder {{%s}} in %s" % (m.group(1), o.template))
        return subst[m.group(1)]
    text = re.sub(r"\{\{([\w.]+)\}\}", put, text)
    sys.stdout.write(re.sub(r"\n{3,}", "\n\n", text))


main()

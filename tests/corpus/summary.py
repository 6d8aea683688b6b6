#!/usr/bin/env python3
"""summary.py RUNDIR REPORT.md - judge and summarise a corpus run (docs/corpus.md).

RUNDIR is what tools/corpus.sh leaves: meta.json (the run: date, machine,
commands, wall time), sources.json (per source: files, bytes, skip counts),
res/ID.res (one result line per file: tools/corpus_file.sh) with
res/ID.{scan,rw}.{out,err}. Prints the summary, writes it as Markdown to
REPORT.md and RUNDIR/results.tsv (one line per file), and exits 1 if any
file crashed, hung, or has a site; 0 otherwise.

A failure (docs/cli.md's exit codes, DEVELOPERS.md's one-line refusals):
  - a hang: timeout's exit 124 or 137;
  - a crash: a sanitizer report (ASan/UBSan: exit 86 or the report on
    stderr), a signal (exit >= 128), exit 3 (internal error), any other
    exit code than 0, 1, 2;
  - a site: scan --json lists one (rewritable or not), or the dry-run
    rewrite would rewrite (exit 0);
  - a malformed answer: a refusal that is not one line `callirw: CMD: ...`,
    scan --json output that does not parse, or whose site count and exit
    code disagree.
"""
import collections
import glob
import json
import os
import re
import sys

SAN_EXIT = 86


def crash_kind(rc, err):
    """None, or why this exit is a failure of callirw itself."""
    if rc in (124, 137):
        return "hang (timeout)"
    if rc == SAN_EXIT or "Sanitizer" in err or "runtime error:" in err:
        return "sanitizer report"
    if rc >= 128:
        return "signal %d" % (rc - 128)
    if rc == 3:
        return "internal error (exit 3)"
    if rc not in (0, 1, 2):
        return "exit %d (not in docs/cli.md)" % rc
    return None


def refusal(cmd, path, err):
    """The refusal's message without its `callirw: CMD: PATH[arch]: ` prefix,
    or None when it is not the one line docs/cli.md promises."""
    lines = err.splitlines()
    if len(lines) != 1:
        return None
    line = lines[0]
    prefix = "callirw: %s: " % cmd
    if not line.startswith(prefix):
        return None
    msg = line[len(prefix):]
    if msg.startswith(path):
        msg = re.sub(r"^\[[^\]]*\]", "", msg[len(path):])
        msg = msg[2:] if msg.startswith(": ") else msg
    return msg


def json_sites(text):
    """(sites listed, sites in the summaries, [(format, machine, kind)]) of
    a scan --json output: one image, or a fat file's slices."""
    doc = json.loads(text)
    images = doc["slices"] if "slices" in doc else [doc]
    listed = summed = 0
    kinds = []
    for im in images:
        if im.get("error"):
            continue
        listed += len(im["sites"])
        summed += im["summary"]["sites"]
        kinds.append((im.get("format", "?"), im.get("machine", "?"), im.get("kind", "?")))
    return listed, summed, kinds


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def first_lines(text, n=3):
    lines = [l for l in text.splitlines() if l.strip()]
    return " / ".join(lines[:n])[:300]


def judge(helper, run, rid, src, size, scan_rc, scan_ms, rw_rc, rw_ms, path):
    r = {"id": rid, "source": src, "size": size, "path": path, "scan_rc": scan_rc,
         "scan_ms": scan_ms, "rw_rc": rw_rc, "rw_ms": rw_ms, "sites": 0,
         "failures": [], "scan": None, "rw": None, "kinds": []}
    base = os.path.join(run, "res", rid)
    err = read(base + ".scan.err")
    c = crash_kind(scan_rc, err)
    if c:
        r["failures"].append("scan: %s: %s" % (c, first_lines(err)))
        r["scan"] = "crash"
    elif scan_rc == 2:
        msg = refusal("scan", path, err)
        if msg is None:
            r["failures"].append("scan: exit 2 without one `callirw: scan:` line: %s" % first_lines(err))
        r["scan"] = "refused"
        r["scan_msg"] = msg
    else:
        try:
            listed, summed, r["kinds"] = json_sites(read(base + ".scan.out"))
        except (ValueError, KeyError, TypeError) as e:
            r["failures"].append("scan --json: output does not parse (%s)" % e)
            listed = summed = 0
        r["sites"] = listed
        r["scan"] = "sites" if scan_rc == 0 else "none"
        if listed and not helper:
            r["failures"].append("scan: %d site(s) found (none of these files calls the helper)" % listed)
        if listed != summed:
            r["failures"].append("scan --json: %d sites listed, summary says %d" % (listed, summed))
        if (scan_rc == 0) != (listed > 0):
            r["failures"].append("scan: exit %d with %d site(s)" % (scan_rc, listed))
    err = read(base + ".rw.err")
    out = read(base + ".rw.out")
    c = crash_kind(rw_rc, err)
    if c:
        r["failures"].append("rewrite --dry-run: %s: %s" % (c, first_lines(err)))
        r["rw"] = "crash"
    elif rw_rc == 0 and not helper:
        r["failures"].append("rewrite --dry-run: would rewrite (exit 0): %s" % first_lines(out + err))
        r["rw"] = "rewrite"
    elif rw_rc == 2:
        msg = refusal("rewrite", path, err)
        if msg is None:
            r["failures"].append("rewrite: exit 2 without one `callirw: rewrite:` line: %s" % first_lines(err))
        r["rw"] = "refused"
        r["rw_msg"] = msg
    elif rw_rc == 0:
        r["rw"] = "rewrite"
    else:
        r["rw"] = "none"
    return r


def fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1024.0


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: summary.py RUNDIR REPORT.md")
    run, report = sys.argv[1], sys.argv[2]
    meta = json.loads(read(os.path.join(run, "meta.json")))
    sources = json.loads(read(os.path.join(run, "sources.json")))
    results = []
    for f in sorted(glob.glob(os.path.join(run, "res", "*.res"))):
        rid = os.path.basename(f)[:-4]
        line = read(f).rstrip("\n")
        parts = line.split("\t")
        if len(parts) != 7:
            results.append({"id": rid, "source": "?", "size": 0, "path": f, "sites": 0,
                            "failures": ["no result line (the worker died?)"], "scan": None,
                            "rw": None, "scan_ms": 0, "rw_ms": 0, "kinds": []})
            continue
        src, size, scan_rc, scan_ms, rw_rc, rw_ms, path = parts
        results.append(judge(meta.get("helper"), run, rid, src, int(size), int(scan_rc), int(scan_ms),
                             int(rw_rc), int(rw_ms), path))
    expected = sum(s["files"] for s in sources.values())
    missing = expected - len(results)

    with open(os.path.join(run, "results.tsv"), "w", encoding="utf-8") as f:
        f.write("source\tsize\tscan_rc\tscan_ms\trw_rc\trw_ms\tsites\tfailures\tpath\n")
        for r in results:
            f.write("%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n" % (
                r["source"], r["size"], r.get("scan_rc", ""), r["scan_ms"], r.get("rw_rc", ""),
                r["rw_ms"], r["sites"], len(r["failures"]), r["path"]))

    by_src = collections.OrderedDict((name, []) for name in sources)
    for r in results:
        by_src.setdefault(r["source"], []).append(r)
    failed = [r for r in results if r["failures"]]
    crashes = sum(1 for r in results if r["scan"] == "crash" or r["rw"] == "crash")
    hangs = sum(1 for r in results if any("hang (timeout)" in m for m in r["failures"]))
    sites = sum(r["sites"] for r in results)

    md = ["# Corpus run: real binaries nobody here wrote", ""]
    md += ["- date: %s" % meta["date"], "- machine: %s" % meta["machine"],
           "- callirw: %s" % meta["version"],
           "- scan: `%s` (sanitizers: %s)" % (meta["scan_cmd"], meta["scan_build"]),
           "- dry-run rewrite: `%s` (sanitizers: %s)" % (meta["rw_cmd"], meta["rw_build"]),
           ] + (["- **stress run**: `%s` plays the helper (`--helper`), so sites are expected;"
                 " only crashes, hangs and malformed answers fail" % meta["helper"]]
                if meta.get("helper") else []) + [
           "- %s jobs in parallel, %s s timeout per command; wall time %s s" % (
               meta["jobs"], meta["timeout"], meta["wall_s"]),
           ""]
    verdict = "PASS" if not failed and not missing else "FAIL"
    md += ["**%s**: %d files, %s; %d crashes (hangs among them: %d), %d sites, "
           "%d files with a failure%s." % (
               verdict, len(results), fmt_bytes(sum(r["size"] for r in results)), crashes, hangs,
               sites, len(failed), ", %d files without a result" % missing if missing else ""), ""]

    rows = []
    tot = collections.Counter()
    for name, rs in by_src.items():
        c = collections.Counter()
        for r in rs:
            c["files"] += 1
            c["bytes"] += r["size"]
            c["scan " + str(r["scan"])] += 1
            c["rw " + str(r["rw"])] += 1
            c["sites"] += r["sites"]
            c["crash"] += r["scan"] == "crash" or r["rw"] == "crash"
            c["failed"] += bool(r["failures"])
            c["scan_ms"] += r["scan_ms"]
            c["rw_ms"] += r["rw_ms"]
        tot.update(c)
        rows.append([name, c["files"], fmt_bytes(c["bytes"]), c["scan none"], c["scan refused"],
                     c["scan sites"], c["sites"], c["crash"], c["rw none"], c["rw refused"], c["failed"],
                     "%.1f" % (c["scan_ms"] / 1000), "%.1f" % (c["rw_ms"] / 1000)])
    rows.append(["**all**", tot["files"], fmt_bytes(tot["bytes"]), tot["scan none"],
                 tot["scan refused"], tot["scan sites"], tot["sites"], tot["crash"], tot["rw none"],
                 tot["rw refused"], tot["failed"], "%.1f" % (tot["scan_ms"] / 1000),
                 "%.1f" % (tot["rw_ms"] / 1000)])
    md += ["## Per source", ""]
    md += table(["source", "files", "size", "scan: no site (exit 1)", "scan: refused (exit 2)",
                 "scan: with sites (exit 0)", "sites", "crashes", "dry-run: nothing to do", "dry-run: refused",
                 "failed", "scan s", "dry-run s"], rows)
    md += ["", "`scan s` and `dry-run s` add up each command's own wall time (the "
           "jobs overlap, so the run's wall time is smaller)", ""]

    md += ["## Selection (by magic, each file once by device and inode)", ""]
    rows = []
    for name, s in sources.items():
        skipped = ", ".join("%s %d" % (k, v) for k, v in sorted(s["skipped"].items())) or "-"
        rows.append([name, md_escape(s["roots"]), s["kind"], s["files"], md_escape(skipped)])
    md += table(["source", "roots", "kind", "files", "skipped"], rows) + [""]
    ar = read(os.path.join(run, "ar.json"))
    if ar:
        a = json.loads(ar)
        md += ["`archives`: %d members extracted from %d ar archives (%d malformed archives"
               " stopped at the bad header, %d thin archives skipped)" % (
                   a["members"], a["archives"], a["bad archives"], a["thin archives"]), ""]

    kinds = collections.Counter()
    for r in results:
        for k in r["kinds"]:
            kinds[(r["source"],) + k] += 1
    if kinds:
        md += ["## What was read (scan --json: format, machine, kind; a fat file's slices each)", ""]
        md += table(["source", "format", "machine", "kind", "images"],
                    [list(k) + [v] for k, v in sorted(kinds.items())]) + [""]

    for cmd, key in (("scan", "scan_msg"), ("rewrite --dry-run", "rw_msg")):
        groups = collections.Counter()
        example = {}
        for r in results:
            if key in r and r[key] is not None:
                g = (r["source"], r[key])
                groups[g] += 1
                example.setdefault(g, r["path"])
        if groups:
            md += ["## Refusals of `%s` (exit 2), by message" % cmd, ""]
            md += table(["source", "files", "message", "e.g."],
                        [[s, n, md_escape(m), md_escape(example[(s, m)])]
                         for (s, m), n in sorted(groups.items(), key=lambda t: (t[0][0], -t[1], t[0][1]))])
            md += [""]

    mixed = [r for r in results if (r["scan"] == "refused") != (r["rw"] == "refused")
             and r["scan"] != "crash" and r["rw"] != "crash"]
    if mixed:
        md += ["## Read by one command and refused by the other (not a failure)", ""]
        md += table(["source", "scan exit", "dry-run exit", "file", "message"],
                    [[r["source"], r["scan_rc"], r["rw_rc"], md_escape(r["path"]),
                      md_escape(r.get("scan_msg") or r.get("rw_msg") or "")] for r in mixed[:20]])
        md += ["", "(%d files)" % len(mixed) if len(mixed) > 20 else "", ""]

    slow = sorted(results, key=lambda r: -(r["scan_ms"] + r["rw_ms"]))[:8]
    md += ["## Slowest files", ""]
    md += table(["file", "size", "scan s", "dry-run s"],
                [[md_escape(r["path"]), fmt_bytes(r["size"]), "%.2f" % (r["scan_ms"] / 1000),
                  "%.2f" % (r["rw_ms"] / 1000)] for r in slow]) + [""]

    if failed:
        md += ["## Failures", ""]
        for r in failed[:100]:
            for m in r["failures"]:
                md.append("- `%s` (res/%s): %s" % (r["path"], r["id"], md_escape(m)))
        if len(failed) > 100:
            md.append("- ... and %d more files (results.tsv)" % (len(failed) - 100))
        md.append("")

    text = "\n".join(md).rstrip("\n") + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(report)), exist_ok=True)
    with open(report, "w", encoding="utf-8") as f:
        f.write(text)
    print(text, end="")
    sys.exit(1 if failed or missing else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""run.py - `make bench-rewrite`: the cost of a rewrite, beside its floors.

    run.py --callirw B/callirw --runtime B/x86_64-linux/libcalli_runtime.a
           --work B/bench/rewrite --out B/bench/rewrite.md [--reps N]

Builds (once; cached in --work, rebuilt when the generator or the runtime
changes) the generated programs of gen.py: 1 000, 10 000 and 100 000 sites
over 1 000 signatures, and the 100 000-site one padded to the size of
libLLVM-14.so.1. Checks each: `callirw scan` finds every site rewritable,
the rewritten program prints exactly what the original prints. Then
measures, with a warm page cache, wall time, CPU time and peak RSS
(`/usr/bin/time`'s %M) of: callirw rewrite (generated) or scan, scan
--decode-all and rewrite --dry-run (libLLVM, cc1); cp of the file; objcopy
and llvm-objcopy-14 --add-section of a section as large as what callirw
adds (64 KiB for libLLVM and cc1). Writes the Markdown section from
report.md.in.
"""
import argparse
import hashlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LLVM = "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1"
CC1 = "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"
SYS_BLOB = 64 * 1024
SIGS = 1000
TIME_OUT = None  # /usr/bin/time's report file, in --work


def die(msg):
    sys.exit("bench-rewrite: " + msg)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def run(cmd, ok=(0,), **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode not in ok:
        die("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout.decode(errors="replace")[-2000:],
                                  r.stderr.decode(errors="replace")[-2000:]))
    return r


def measure(cmd, ok=(0,)):
    """One run: (wall s, cpu s, peak RSS KiB). RSS and CPU come from
    /usr/bin/time (its small fork: wait4 on a child of this Python process
    would count the parent's pages the child had before exec); wall time
    from here, at a finer resolution than time's."""
    rep = TIME_OUT
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-q", "-f", "%U %S %M %x", "-o", rep] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    with open(rep) as f:
        u, sy, rss, rc = f.read().split()[-4:]
    if int(rc) not in ok:
        die("%s: exit %s: %s" % (" ".join(cmd), rc, p.stderr.decode(errors="replace")[-500:]))
    return wall, float(u) + float(sy), int(rss)


def bench(cmd, reps, ok=(0,), cleanup=None):
    """Median wall and CPU time, and the median peak RSS, of reps runs after
    one warm-up run (page cache warm)."""
    measure(cmd, ok)
    rs = []
    for _ in range(reps):
        if cleanup:
            cleanup()
        rs.append(measure(cmd, ok))
    return {"wall": statistics.median(r[0] for r in rs), "cpu": statistics.median(r[1] for r in rs),
            "rss": statistics.median(r[2] for r in rs), "min": min(r[0] for r in rs)}


def build(a, name, sites, pad_to):
    """The generated program (cached): returns its path."""
    d = os.path.join(a.work, name)
    prog = os.path.join(d, "prog")
    stamp = os.path.join(d, "stamp")
    key = "%s %d %d %s %s" % (sha(os.path.join(HERE, "gen.py")), sites, pad_to, sha(a.runtime),
                              sha(os.path.join(ROOT, "examples", "calli_x86_64.inc")))
    if os.path.exists(prog) and os.path.exists(stamp) and open(stamp).read() == key:
        return prog
    print("bench-rewrite: building %s (%d sites%s)" % (name, sites,
          ", padded to %d bytes" % pad_to if pad_to else ""), flush=True)
    os.makedirs(d, exist_ok=True)
    gen = [sys.executable, os.path.join(HERE, "gen.py"), "--sites", str(sites), "--sigs", str(SIGS),
           "--out", d]
    cc = ["gcc", "-std=c11", "-O1", "-pie", "-fPIE", "-w", "-I" + os.path.join(ROOT, "runtime", "include"),
          "-I" + os.path.join(ROOT, "examples"), os.path.join(d, "main.c"), os.path.join(d, "targets.c"),
          os.path.join(d, "sites.S")]
    run(gen)
    if pad_to:
        # link once unpadded to learn the size, then pad the difference
        run(cc + [a.runtime, "-o", prog])
        pad = pad_to - os.path.getsize(prog)
        if pad <= 0:
            die("%s is already larger than %d bytes" % (prog, pad_to))
        run(gen + ["--pad", str(pad)])
        run(cc + [os.path.join(d, "pad.S"), a.runtime, "-o", prog])
    else:
        run(cc + [a.runtime, "-o", prog])
    with open(stamp, "w") as f:
        f.write(key)
    return prog


def check(a, prog, sites, out):
    """The rewrite must work: every site found and rewritable, the rewritten
    program prints what the original prints. Returns bytes added."""
    import json
    r = run([a.callirw, "scan", "--json", prog])
    summ = json.loads(r.stdout)["summary"]
    if summ["sites"] != sites or summ["rewritable"] != sites:
        die("%s: scan found %s, expected %d sites all rewritable" % (prog, summ, sites))
    run([a.callirw, "rewrite", prog, "-o", out])
    want = run([prog]).stdout
    got = run([out]).stdout
    if not want or want != got:
        die("%s: the rewritten program's output differs from the original's" % prog)
    with open(prog, "rb") as f1, open(out, "rb") as f2:
        if f1.read() == f2.read():
            die("%s: the rewrite changed nothing" % prog)
    r = run([a.callirw, "scan", out], ok=(0, 1))
    if b"already rewritten" not in r.stdout:
        die("%s: the rewritten image carries no rewrite map" % out)
    return os.path.getsize(out) - os.path.getsize(prog), len(want.splitlines())


def peers(a, path, blob_size, reps):
    """cp, objcopy and llvm-objcopy --add-section of blob_size bytes."""
    tmp = os.path.join(a.work, "out")
    os.makedirs(tmp, exist_ok=True)
    blob = os.path.join(tmp, "blob.%d" % blob_size)
    if not os.path.exists(blob) or os.path.getsize(blob) != blob_size:
        with open(blob, "wb") as f:
            f.write(bytes((i * 7) & 0xFF for i in range(blob_size)))
    dst = os.path.join(tmp, "peer.out")
    rm = lambda: os.path.exists(dst) and os.unlink(dst)
    res = {"cp": bench(["cp", path, dst], reps, cleanup=rm)}
    for tool in ("objcopy", "llvm-objcopy-14"):
        if shutil.which(tool):
            res[tool] = bench([tool, "--add-section", ".callirw.bench=" + blob, path, dst], reps,
                              cleanup=rm)
    rm()
    return res


def fsync_cost(a, size, reps):
    """Seconds to fsync a freshly written file of size bytes (what
    rw_write_atomic does and cp does not)."""
    path = os.path.join(a.work, "out", "fsync.tmp")
    data = os.urandom(1 << 20)
    ts = []
    for _ in range(reps):
        with open(path, "wb") as f:
            left = size
            while left > 0:
                f.write(data[:min(left, len(data))])
                left -= len(data)
            f.flush()
            t0 = time.perf_counter()
            os.fsync(f.fileno())
            ts.append(time.perf_counter() - t0)
        os.unlink(path)
    return statistics.median(ts)


def ms(s):
    return "%.0f" % (s * 1000) if s >= 0.0995 else "%.1f" % (s * 1000)


def mib(kib):
    return "%.1f" % (kib / 1024)


def ratio(x, y):
    return "%.2fx" % (x / y) if y > 0 else "-"


def sections(template):
    """The template's body, and its `%% why NAME` blocks."""
    parts = re.split(r"^%% why (\S+)\n", template, flags=re.M)
    why = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}
    return parts[0], why


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--callirw", required=True)
    ap.add_argument("--runtime", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    a.callirw = os.path.abspath(a.callirw)
    global TIME_OUT
    TIME_OUT = os.path.join(os.path.abspath(a.work), "out", "time.txt")
    if not os.access("/usr/bin/time", os.X_OK):
        die("/usr/bin/time is missing (make deps installs it)")
    os.makedirs(os.path.join(a.work, "out"), exist_ok=True)
    for f in (LLVM, CC1):
        if not os.path.exists(f):
            die("%s is missing (make deps installs libllvm14 and gcc-12)" % f)
    t_start = time.time()
    outdir = os.path.join(a.work, "out")
    rw_out = os.path.join(outdir, "callirw.out")
    rm_rw = lambda: os.path.exists(rw_out) and os.unlink(rw_out)

    gen_rows, growth, bigs = [], [], []
    llvm_size = os.path.getsize(LLVM)
    for name, sites, pad in (("gen1k", 1000, 0), ("gen10k", 10000, 0), ("gen100k", 100000, 0),
                             ("gen1k-pad", 1000, llvm_size), ("gen100k-pad", 100000, llvm_size)):
        prog = build(a, name, sites, pad)
        added, lines = check(a, prog, sites, rw_out)
        reps = a.reps if not pad else max(3, a.reps - 2)
        size = os.path.getsize(prog)
        r = {"callirw rewrite": bench([a.callirw, "rewrite", prog, "-o", rw_out], reps, cleanup=rm_rw)}
        r.update(peers(a, prog, added, reps))
        rm_rw()
        gen_rows.append((name, sites, size, added, lines, r))
        if not pad:
            growth.append((sites, r["callirw rewrite"]))
        else:
            bigs.append({"name": name, "sites": sites, "size": size, "added": added, "r": r})
        print("bench-rewrite: %s: rewrite %s ms, %s MiB" % (name, ms(r["callirw rewrite"]["wall"]),
              mib(r["callirw rewrite"]["rss"])), flush=True)

    sys_rows = []
    for path in (LLVM, CC1):
        reps = max(3, a.reps - 2)
        r = {"callirw scan": bench([a.callirw, "scan", path], reps, ok=(1,)),
             "callirw scan --decode-all": bench([a.callirw, "scan", "--decode-all", path], reps, ok=(1,)),
             "callirw rewrite --dry-run": bench([a.callirw, "rewrite", "--dry-run", path], reps, ok=(1,))}
        r.update(peers(a, path, SYS_BLOB, reps))
        sys_rows.append((path, os.path.getsize(path), r))
        print("bench-rewrite: %s: scan %s ms" % (os.path.basename(path), ms(r["callirw scan"]["wall"])),
              flush=True)
    # tables
    cols = ["callirw rewrite", "cp", "objcopy", "llvm-objcopy-14"]
    t_gen = ["| image | sites | input | added | " + " | ".join("%s ms" % c for c in cols) +
             " | callirw / cp | callirw / objcopy | callirw / llvm-objcopy |",
             "|---|---:|---:|---:|" + "---:|" * (len(cols) + 3)]
    t_rss = ["| image | input MiB | " + " | ".join("%s MiB" % c for c in cols) + " | callirw / input |",
             "|---|---:|" + "---:|" * (len(cols) + 1)]
    for name, sites, size, added, lines, r in gen_rows:
        w = lambda c: ms(r[c]["wall"]) if c in r else "-"
        t_gen.append("| %s | %d | %s MiB | %s MiB | %s | %s | %s | %s |" % (
            name, sites, mib(size / 1024), mib(added / 1024), " | ".join(w(c) for c in cols),
            ratio(r["callirw rewrite"]["wall"], r["cp"]["wall"]),
            ratio(r["callirw rewrite"]["wall"], r.get("objcopy", {}).get("wall", 0)),
            ratio(r["callirw rewrite"]["wall"], r.get("llvm-objcopy-14", {}).get("wall", 0))))
        t_rss.append("| %s | %s | %s | %s |" % (name, mib(size / 1024), " | ".join(
            mib(r[c]["rss"]) if c in r else "-" for c in cols),
            ratio(r["callirw rewrite"]["rss"], size / 1024)))
    t_cpu = ["| image | callirw rewrite CPU ms | wall ms | per site, wall µs |", "|---|---:|---:|---:|"]
    for name, sites, size, added, lines, r in gen_rows:
        c = r["callirw rewrite"]
        t_cpu.append("| %s | %s | %s | %.2f |" % (name, ms(c["cpu"]), ms(c["wall"]), c["wall"] / sites * 1e6))
    (s1, r1), (s3, r3) = growth[0], growth[-1]
    marginal = (r3["wall"] - r1["wall"]) / (s3 - s1) * 1e6
    marginal_cpu = (r3["cpu"] - r1["cpu"]) / (s3 - s1) * 1e6

    scols = ["callirw scan", "callirw scan --decode-all", "callirw rewrite --dry-run", "cp", "objcopy",
             "llvm-objcopy-14"]
    t_sys = ["| file | size | " + " | ".join("%s ms" % c for c in scols) + " |",
             "|---|---:|" + "---:|" * len(scols)]
    t_sysr = ["| file | size MiB | " + " | ".join("%s MiB" % c for c in scols) + " |",
              "|---|---:|" + "---:|" * len(scols)]
    for path, size, r in sys_rows:
        t_sys.append("| `%s` | %s MiB | %s |" % (path, mib(size / 1024), " | ".join(
            ms(r[c]["wall"]) if c in r else "-" for c in scols)))
        t_sysr.append("| `%s` | %s | %s |" % (os.path.basename(path), mib(size / 1024), " | ".join(
            mib(r[c]["rss"]) if c in r else "-" for c in scols)))

    # targets, on the ~110 MB rewrites (100 000 sites: the main one; 1 000)
    body, why = sections(open(os.path.join(HERE, "report.md.in")).read())
    t_targets = ["| target | image | result | measured |", "|---|---|---|---|"]
    whys = []
    for big in sorted(bigs, key=lambda x: -x["sites"]):
        b = big["r"]
        rw, cp = b["callirw rewrite"], b["cp"]
        objs = [b[t]["wall"] for t in ("objcopy", "llvm-objcopy-14") if t in b]
        insz = big["size"] / 1024
        targets = [
            ("a rewrite of the ~110 MB image within 2x of `cp`", rw["wall"] <= 2 * cp["wall"],
             "%s ms = %s of cp's %s ms (CPU %s ms)" % (ms(rw["wall"]), ratio(rw["wall"], cp["wall"]),
                                                      ms(cp["wall"]), ms(rw["cpu"])), "time_vs_cp"),
            ("faster than `objcopy --add-section`", bool(objs) and rw["wall"] < min(objs),
             "%s ms against %s" % (ms(rw["wall"]), ", ".join(
                 "%s %s ms" % (t, ms(b[t]["wall"])) for t in ("objcopy", "llvm-objcopy-14") if t in b)),
             "time_vs_objcopy"),
            ("peak RSS under 1.5x the input", rw["rss"] < 1.5 * insz,
             "%s MiB = %s of the %s MiB input" % (mib(rw["rss"]), ratio(rw["rss"], insz), mib(insz)),
             "rss"),
        ]
        for text, met, got, key in targets:
            t_targets.append("| %s | %s | %s | %s |" % (text, big["name"], "met" if met else "**missed**",
                                                       got))
            if not met:
                whys.append("**%s, %s: missed** (%s). %s" % (text, big["name"], got,
                                                            why.get(key + ("" if big["sites"] >= 100000
                                                                           else "_few"), why.get(key, ""))))
    big = max(bigs, key=lambda x: x["sites"])
    fs = fsync_cost(a, big["size"] + big["added"], 3)
    fields = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "reps": a.reps,
        "duration": "%.0f" % (time.time() - t_start),
        "table_time": "\n".join(t_gen),
        "table_rss": "\n".join(t_rss),
        "table_cpu": "\n".join(t_cpu),
        "marginal_us": "%.2f" % marginal,
        "marginal_cpu_us": "%.2f" % marginal_cpu,
        "table_sys": "\n".join(t_sys),
        "table_sys_rss": "\n".join(t_sysr),
        "sys_blob_kib": SYS_BLOB // 1024,
        "table_targets": "\n".join(t_targets),
        "missed": "\n\n".join(whys) if whys else "Every target is met in this run.",
        "fsync_ms": ms(fs),
        "big_size_mib": mib(big["size"] / 1024),
        "big_added_mib": mib(big["added"] / 1024),
        "lines": gen_rows[-1][4],
    }
    text = body.format(**fields)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)
    print("bench-rewrite: wrote %s (%s s)" % (a.out, fields["duration"]))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""scan_gen.py - `callirw scan --json` on the generator's Mach-O objects
against the generator's manifest (sites.txt).

usage: scan_gen.py CALLIRW GEN ROOT WORK TARGET FIRST COUNT [LIBDIR]

For each seed: callirw-gen writes WORK/TARGET/seed-S, build.sh assembles it,
and the scan of sites.o must list exactly the manifest's sites: one site in
each function _gen_site_N, verdict ok, a call form matching the manifest's
call-form, and a cookie at the address of _gen_cookie_K (section and offset
taken from llvm-nm -m and llvm-readobj, not from callirw). prog.o (no calls
of the helper) must scan to no site (every tenth seed: compiling it is slow).
With LIBDIR (the stand-in libSystem and helper of tests/macho_read/rules.mk),
every third seed is also linked with ld64.lld-14: an executable and a dylib
importing the helper (sites through __stubs and bound __got slots), an
executable and a bundle linking it in, and a stripped copy of the executable
(sites found by address, without names); each scans to the manifest's sites
(arm64 images that link the helper in: lld relaxes `br-got` to adrp+add+br,
a site because its block writes x15, docs/scan.md section 7). Prints one line per failure and a
summary; exit 1 on any failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys

# manifest call-form -> scan forms it may take
X64_FORMS = {"call": {"call_rel32"}, "call-got": {"call_mem"},
             "jmp": {"jmp_rel32"}, "jmp-got": {"jmp_mem"}}
A64_FORMS = {"bl": {"bl"}, "b": {"b"}, "blr-got": {"blr"}, "br-got": {"br"},
             "blr": {"blr"}, "br": {"br"}}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def sections(obj):
    """(segment, name) -> address, from llvm-readobj."""
    out = run(["llvm-readobj-14", "--sections", obj]).stdout
    res, name, seg = {}, None, None
    for line in out.splitlines():
        line = line.strip()
        m = re.match(r"Name: (\S+)", line)
        if m:
            name = m.group(1)
        m = re.match(r"Segment: (\S+)", line)
        if m:
            seg = m.group(1)
        m = re.match(r"Address: (0x[0-9A-Fa-f]+)", line)
        if m and name and seg:
            res["%s,%s" % (seg, name)] = int(m.group(1), 16)
            name = seg = None
    return res


def symbols(obj):
    """name -> (model section name, address) of defined symbols (llvm-nm -m)."""
    out = run(["llvm-nm-14", "-m", obj]).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"([0-9a-f]+) \(([^)]+)\) .* (\S+)$", line)
        if m:
            res[m.group(3)] = (m.group(2), int(m.group(1), 16))
    return res


def manifest(path):
    sites, cookies = [], {}
    for line in open(path):
        f = line.split()
        if not f or f[0] == "#":
            continue
        if f[0] == "site":
            kv = dict(zip(f[2::2], f[3::2]))
            sites.append((int(f[1]), kv))
        elif f[0] == "cookie":
            cookies[int(f[1])] = f
    return sites, cookies


def compare(callirw, image, want, cookie_at, forms, names, skip=()):
    """Scan image; the sites must be exactly want minus skip. cookie_at(K)
    -> (section, offset) or address of _gen_cookie_K; names: True to match
    sites to _gen_site_N by function, else a dict N -> expected address."""
    r = run([callirw, "scan", "--json", image])
    if r.returncode not in (0, 1):
        return ["%s: scan exit %d: %s" % (image, r.returncode, r.stderr.strip()[:200])]
    scan = json.loads(r.stdout)
    errs = []
    want = [(n, kv) for n, kv in want if n not in skip]
    if len(scan["sites"]) != len(want):
        errs.append("%s: %d sites found, %d expected" % (image, len(scan["sites"]), len(want)))
    for n, kv in want:
        if names is True:
            got = [s for s in scan["sites"] if s["function"] == "_gen_site_%d" % n]
        else:
            got = [s for s in scan["sites"] if s["address"] and int(s["address"], 16) == names[n]]
        if len(got) != 1:
            errs.append("%s: site %d: %d sites found" % (image, n, len(got)))
            continue
        s = got[0]
        if s["verdict"] != "ok":
            errs.append("%s: site %d: verdict %s (%s)" % (image, n, s["verdict"], s["reason"]))
        cf = kv["call-form"]
        if cf in forms and s["form"] not in forms[cf]:
            errs.append("%s: site %d: form %s, manifest call-form %s" % (image, n, s["form"], cf))
        c = s.get("cookie") or {}
        at = cookie_at(kv["cookie"])
        if isinstance(at, tuple):
            have = (c.get("section"), int(c.get("offset") or "-1", 16))
        else:
            have = int(c.get("address") or "-1", 16)
        if at is None or have != at:
            errs.append("%s: site %d: cookie at %s, _gen_cookie_%s is at %s"
                        % (image, n, have, kv["cookie"], at))
    return errs


def link_and_check(callirw, d, target, want, forms, libdir):
    """The linked images of sites.o: helper imported from a dylib (executable,
    dylib), linked in (executable, bundle), and a stripped copy."""
    arch = "arm64" if target.startswith("arm64") else "x86_64"
    obj = os.path.join(d, "sites.o")
    undef = [l.split()[-1] for l in run(["llvm-nm-14", "-u", obj]).stdout.splitlines()]
    with open(os.path.join(d, "defs.s"), "w") as f:  # every other symbol sites.o needs
        for u in undef:
            if u != "_GenericPInvokeCalliHelper":
                f.write("\t.globl %s\n%s:\n\tret\n" % (u, u))
    defs = os.path.join(d, "defs.o")
    r = run(["clang", "--target=%s-apple-macos11" % arch, "-c", defs[:-1] + "s", "-o", defs])
    if r.returncode:
        return ["defs.s: " + r.stderr.strip()[:200]]
    ld = ["ld64.lld-14", "-arch", arch, "-platform_version", "macos", "11.0", "11.0"]
    sysl = os.path.join(libdir, "libSystem-%s.dylib" % arch)
    imp = os.path.join(libdir, "libhelper-%s.dylib" % arch)
    own = os.path.join(libdir, "helper-%s.o" % arch)
    variants = [("imp.exe", ["-e", "_gen_site_0"], imp), ("own.exe", ["-e", "_gen_site_0"], own),
                ("imp.dylib", ["-dylib"], imp), ("own.bundle", ["-bundle"], own)]
    errs = []
    for name, flags, helper in variants:
        out = os.path.join(d, name)
        r = run(ld + flags + [obj, defs, helper, sysl, "-o", out])
        if r.returncode:
            errs.append("%s: link failed: %s" % (name, r.stderr.strip()[:200]))
            continue
        syms = symbols(out)
        skip = []  # (lld's adrp+add relaxation of br-got is a site too: docs/scan.md 7)
        cookie = lambda k: syms.get("_gen_cookie_%s" % k, (None, None))[1]
        errs += compare(callirw, out, want, cookie, forms, True, skip)
        if name == "imp.exe":  # stripped: the same sites, found without names
            st = os.path.join(d, "imp-stripped.exe")
            r = run(["llvm-strip-14", "-o", st, out])
            addrs = {}
            js = json.loads(run([callirw, "scan", "--json", out]).stdout)
            for s in js["sites"]:
                m = re.match(r"_gen_site_(\d+)$", s["function"] or "")
                if m:
                    addrs[int(m.group(1))] = int(s["address"], 16)
            if r.returncode or len(addrs) != len(want):
                errs.append("%s: strip failed or sites unnamed" % st)
            else:
                errs += compare(callirw, st, want, cookie, forms, addrs)
    return errs


def check_seed(callirw, gen, root, work, target, seed, libdir):
    d = os.path.join(work, target, "seed-%d" % seed)
    shutil.rmtree(d, ignore_errors=True)
    r = run([gen, "--target", target, "--seed", str(seed), "-o", d])
    if r.returncode:
        return ["callirw-gen failed: " + r.stderr.strip()[:200]]
    arch = "arm64" if target.startswith("arm64") else "x86_64"
    # sites.o as build.sh assembles it (prog.c is compiled for a few seeds only: slow)
    cmd = ["clang", "--target=%s-apple-macos11" % arch, "-c", os.path.join(d, "sites.S"),
           "-o", os.path.join(d, "sites.o")]
    r = run(cmd)
    if r.returncode:
        return ["sites.S: " + r.stderr.strip()[:200]]
    obj = os.path.join(d, "sites.o")
    want, _ = manifest(os.path.join(d, "sites.txt"))
    secs, syms = sections(obj), symbols(obj)
    forms = X64_FORMS if arch == "x86_64" else A64_FORMS

    def cookie(k):
        c = syms.get("_gen_cookie_%s" % k)
        return (c[0], c[1] - secs[c[0]]) if c and c[0] in secs else None
    errs = compare(callirw, obj, want, cookie, forms, True)
    if libdir and seed % 3 == 1:  # linking takes longer: every third seed
        errs += link_and_check(callirw, d, target, want, forms, libdir)
    if seed % 10 == 1:  # prog.o calls no helper: no site
        r = run([os.path.join(d, "build.sh")], env=dict(os.environ, CALLI_ROOT=root))
        if r.returncode:
            errs.append("build.sh failed: " + r.stderr.strip()[:200])
        else:
            r = run([callirw, "scan", "--json", os.path.join(d, "prog.o")])
            if r.returncode not in (0, 1) or json.loads(r.stdout)["sites"]:
                errs.append("prog.o: exit %d or sites found" % r.returncode)
    if not errs:
        shutil.rmtree(d, ignore_errors=True)
    return errs


def main():
    callirw, gen, root, work, target, first, count = sys.argv[1:8]
    libdir = sys.argv[8] if len(sys.argv) > 8 else None
    bad = 0
    nsites = 0
    for seed in range(int(first), int(first) + int(count)):
        errs = check_seed(callirw, gen, root, work, target, seed, libdir)
        for e in errs:
            print("FAIL %s seed %d: %s" % (target, seed, e))
        bad += bool(errs)
    print("scan_gen %s: %d seeds, %d failed" % (target, int(count), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

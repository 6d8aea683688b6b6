#!/usr/bin/env python3
"""write_fuzz.py - hostile inputs for the PE image writer: copies of an image
with 1-4 bytes changed (mostly in the headers, which the writer reads) are
rewritten by callirw (built with ASan/UBSan). Every run must end with exit
0, 1 or 2 and no sanitizer report; every output written must pass
write_props.py compare. Deterministic (fixed seed).

  write_fuzz.py CALLIRW IMAGE WORKDIR [COUNT]
"""
import os
import random
import subprocess
import sys

callirw, src_path, work = sys.argv[1:4]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 200
props = os.path.join(os.path.dirname(os.path.abspath(__file__)), "write_props.py")
src = open(src_path, "rb").read()
os.makedirs(work, exist_ok=True)
inp, out = os.path.join(work, "in.exe"), os.path.join(work, "out.exe")
rng = random.Random(7)
bad, rcs = 0, {}
for i in range(count):
    d = bytearray(src)
    for _ in range(rng.randint(1, 4)):
        o = rng.randrange(0x80, min(0x600, len(d))) if rng.random() < 0.8 else rng.randrange(len(d))
        d[o] = rng.randrange(256)
    open(inp, "wb").write(d)
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run([callirw, "rewrite", inp, "-o", out], capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    rcs[r.returncode] = rcs.get(r.returncode, 0) + 1
    why = None
    if r.returncode not in (0, 1, 2) or "Sanitizer" in err or "runtime error" in err:
        why = "exit %d: %s" % (r.returncode, err.strip()[-400:])
    elif r.returncode == 0:
        v = subprocess.run([sys.executable, props, "compare", inp, out], capture_output=True, text=True)
        if v.returncode:
            why = "write_props: " + v.stdout.strip()[-400:]
    elif os.path.exists(out):
        why = "exit %d but an output was written" % r.returncode
    if why:
        bad += 1
        keep = os.path.join(work, "bad-%d.exe" % i)
        open(keep, "wb").write(d)
        print("FAIL write_fuzz: copy %d (%s): %s" % (i, keep, why))
print("write_fuzz: %d copies of %s, exits %s, %d failed"
      % (count, os.path.basename(src_path), dict(sorted(rcs.items())), bad))
sys.exit(1 if bad else 0)

#!/usr/bin/env python3
"""obj_mutate.py CALLIRW N FILE... - hostile inputs for the COFF object writer
(tests/pe/obj_check.sh): N copies of each FILE with 1-4 bytes changed (a
fixed seed: reproducible) and every 13th truncation, each given to
`CALLIRW rewrite` (the ASan/UBSan build). Exit codes 0 (rewritten), 1
(nothing to do) and 2 (refused) are fine; 3 (internal error), a signal or a
sanitizer report is a failure. Every output written is read back by
`CALLIRW inspect`."""
import os
import random
import shutil
import subprocess
import sys
import tempfile


def run(cw, data, tmp, label):
    src = os.path.join(tmp, 'in.o')
    dst = os.path.join(tmp, 'out.o')
    with open(src, 'wb') as f:
        f.write(data)
    if os.path.exists(dst):
        os.unlink(dst)
    p = subprocess.run([cw, 'rewrite', src, '-o', dst], capture_output=True, text=True, errors='replace')
    if p.returncode not in (0, 1, 2) or 'Sanitizer' in p.stderr or 'runtime error' in p.stderr:
        bad = os.path.join(tmp, 'failed-%s.o' % label)
        with open(bad, 'wb') as f:
            f.write(data)
        sys.exit('obj_mutate: %s: rewrite exits %d: %s (input kept as %s)'
                 % (label, p.returncode, p.stderr.strip()[:300], bad))
    if p.returncode == 0:
        q = subprocess.run([cw, 'inspect', dst], capture_output=True, text=True, errors='replace')
        if q.returncode != 0:
            sys.exit('obj_mutate: %s: inspect cannot read the output: %s' % (label, q.stderr.strip()[:300]))
    return p.returncode


def main():
    cw, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rng = random.Random(20261124)
    tmp = tempfile.mkdtemp(prefix='obj_mutate.')
    counts = {0: 0, 1: 0, 2: 0}
    for path in files:
        orig = open(path, 'rb').read()
        name = os.path.basename(path)
        for i in range(n):
            b = bytearray(orig)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            counts[run(cw, bytes(b), tmp, '%s-%d' % (name, i))] += 1
        for cut in range(0, len(orig), 13):
            counts[run(cw, orig[:cut], tmp, '%s-cut%d' % (name, cut))] += 1
    shutil.rmtree(tmp)
    print('obj_mutate: %d inputs: %d rewritten, %d nothing to do, %d refused'
          % (sum(counts.values()), counts[0], counts[1], counts[2]))


main()

#!/usr/bin/env python3
"""fuzz.py [--callirw] N PROG IN... - hostile inputs for the image writer: N copies of
each input with one to three 32-bit fields of the header and load commands
overwritten by boundary values or nudged, rewritten under ASan/UBSan by PROG: mw_selftest (no sites: the writer's
own parsing and __LINKEDIT layout; a clean refusal is exit 2, 3 or 4) or,
with --callirw, `callirw rewrite` (reader, scanner and writer; exit 1 or 2).
Every run must end with a clean refusal or an output; a sanitizer report
(exit 99), an internal error, a signal or a hang fails. Deterministic
(seeded)."""
import os
import random
import struct
import subprocess
import sys

VALUES = [0, 1, 7, 8, 0x10, 0xe8, 0x1000, 0x4000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff]


def main():
    args = sys.argv[1:]
    callirw = args[0] == '--callirw'
    if callirw:
        args = args[1:]
    n, prog, inputs = int(args[0]), args[1], args[2:]
    ok = (0, 1, 2) if callirw else (0, 2, 3, 4)
    env = dict(os.environ, ASAN_OPTIONS='exitcode=99:detect_leaks=1', UBSAN_OPTIONS='exitcode=99')
    rnd = random.Random(6)
    bad = 0
    counts = {}
    for path in inputs:
        data = open(path, 'rb').read()
        lc_end = 32 + struct.unpack_from('<I', data, 20)[0]
        for i in range(n):
            m = bytearray(data)
            for _ in range(rnd.randint(1, 3)):
                off = rnd.randrange(16, lc_end - 4) & ~3
                v = rnd.choice(VALUES) if rnd.random() < 0.7 else \
                    (struct.unpack_from('<I', m, off)[0] + rnd.choice([-16, -8, -1, 1, 8, 16, 0x4000])) & 0xffffffff
                struct.pack_into('<I', m, off, v)
            tmp = path + '.fuzz'
            open(tmp, 'wb').write(m)
            try:
                cmd = [prog, 'rewrite', tmp, '-o', tmp + '.out'] if callirw else [prog, tmp, tmp + '.out']
                r = subprocess.run(cmd, env=env, capture_output=True, timeout=20)
                rc = r.returncode
            except subprocess.TimeoutExpired:
                rc = 'timeout'
            counts[rc] = counts.get(rc, 0) + 1
            if rc not in ok:
                bad += 1
                keep = '%s.crash%d' % (path, i)
                os.replace(tmp, keep)
                print('fuzz: %s: exit %s, kept as %s: %s' % (path, rc, keep,
                      (r.stderr.decode(errors='replace').strip().splitlines() or [''])[0]
                      if rc != 'timeout' else ''))
    print('fuzz: %d mutated inputs, exits %s' % (n * len(inputs), dict(sorted(counts.items(), key=str))))
    sys.exit(1 if bad else 0)


main()

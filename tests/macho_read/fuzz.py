#!/usr/bin/env python3
"""fuzz.py - mutated Mach-O files through `callirw scan` (the ASan/UBSan
build): it must never crash, hang or report a sanitizer error, and must exit
0 (sites), 1 (none) or 2 (bad input, with one line on stderr).

usage: fuzz.py CALLIRW WORKDIR COUNT SEED INPUT...

Mutations (deterministic from SEED): truncation; random bytes flipped
anywhere; a header or load-command word (ncmds, sizeofcmds, cmdsize, file
offsets, counts, section fields) set to an edge value; bytes of the
__LINKEDIT data (opcodes, chained fixups, function starts, symbols) replaced.
"""
import os
import random
import struct
import subprocess
import sys

EDGE = [0, 1, 7, 8, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, 0x1000, 0x4000]


def lc_words(data):
    """Offsets of 32-bit words inside the load commands (after cmd/cmdsize)."""
    if len(data) < 32:
        return []
    ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
    end = min(32 + sizeofcmds, len(data))
    return list(range(4, 32, 4)) + list(range(32, end - 3, 4))


def linkedit_range(data):
    """The file range of __LINKEDIT (or the file's second half)."""
    try:
        ncmds, sizeofcmds = struct.unpack_from("<II", data, 16)
        off = 32
        for _ in range(ncmds):
            cmd, size = struct.unpack_from("<II", data, off)
            if cmd == 0x19 and data[off + 8:off + 24].rstrip(b"\0") == b"__LINKEDIT":
                fo, fs = struct.unpack_from("<QQ", data, off + 40)
                if fs and fo + fs <= len(data):
                    return fo, fo + fs
            off += size
    except struct.error:
        pass
    return len(data) // 2, len(data)


def mutate(rng, data):
    d = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        return bytes(d[:rng.randrange(len(d))]), "truncate"
    if kind == 1:
        for _ in range(rng.randint(1, 16)):
            d[rng.randrange(len(d))] = rng.randrange(256)
        return bytes(d), "flip"
    if kind in (2, 3):
        words = lc_words(d)
        for _ in range(rng.randint(1, 3)):
            if not words:
                break
            o = rng.choice(words)
            v = rng.choice(EDGE + [len(d), len(d) - 8, len(d) + 8, rng.getrandbits(32)])
            struct.pack_into("<I", d, o, v & 0xffffffff)
        return bytes(d), "lc-word"
    lo, hi = linkedit_range(d)
    for _ in range(rng.randint(1, 24)):
        if hi > lo:
            d[rng.randrange(lo, hi)] = rng.randrange(256)
    return bytes(d), "linkedit"


def main():
    callirw, work, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    inputs = sys.argv[5:]
    os.makedirs(work, exist_ok=True)
    rng = random.Random(seed)
    datas = [open(p, "rb").read() for p in inputs]
    bad = 0
    codes = {}
    path = os.path.join(work, "m.bin")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    for i in range(count):
        k = i % len(datas)
        m, kind = mutate(rng, datas[k])
        with open(path, "wb") as f:
            f.write(m)
        try:
            r = subprocess.run([callirw, "scan", "--json", path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=30, env=env)
            rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = "timeout", ""
        codes[rc] = codes.get(rc, 0) + 1
        ok = rc in (0, 1, 2) and "Sanitizer" not in err and "runtime error" not in err
        if ok and rc == 2 and len(err.strip().splitlines()) != 1:
            ok = False
        if not ok:
            bad += 1
            keep = os.path.join(work, "fail-%d.bin" % i)
            os.replace(path, keep)
            print("FAIL mutation %d (%s of %s): exit %s, kept %s\n%s"
                  % (i, kind, inputs[k], rc, keep, err[:2000]))
    print("fuzz: %d mutations of %d inputs, exits %s, %d failed"
          % (count, len(inputs), dict(sorted(codes.items(), key=str)), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

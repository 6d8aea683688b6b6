#!/usr/bin/env python3
"""fatgen.py - fat-file helpers for tests/macho_sign/check.sh.

  fatgen.py fat64 IN OUT      IN (FAT_MAGIC) rewritten with a FAT_MAGIC_64
                              header, slices where they were
  fatgen.py hostile BASE DIR  malformed fat files made from BASE in DIR,
                              one per line on stdout
  fatgen.py check FAT...      independent layout check: every slice inside
                              the file, at a multiple of its alignment, no
                              overlap; prints "magic n off/size/align ..."
"""
import os
import struct
import sys


def read_fat(data):
    magic, n = struct.unpack_from(">2I", data)
    wide = magic == 0xCAFEBABF
    ents = []
    for i in range(n):
        if wide:
            ents.append(list(struct.unpack_from(">iiQQII", data, 8 + 32 * i)))
        else:
            ents.append(list(struct.unpack_from(">iiIII", data, 8 + 20 * i)) + [0])
    return wide, ents


def write_hdr(wide, ents, count=None):
    out = struct.pack(">2I", 0xCAFEBABF if wide else 0xCAFEBABE,
                      len(ents) if count is None else count)
    for e in ents:
        if wide:
            out += struct.pack(">iiQQII", *e)
        else:
            out += struct.pack(">iiIII", *e[:5])
    return out


def splice(data, hdr):
    return hdr + data[len(hdr):]


def fat64(src, dst):
    data = open(src, "rb").read()
    wide, ents = read_fat(data)
    assert not wide
    hdr = write_hdr(True, ents)
    assert len(hdr) <= min(e[2] for e in ents)
    open(dst, "wb").write(hdr + b"\0" * (min(e[2] for e in ents) - len(hdr))
                          + data[min(e[2] for e in ents):])


def hostile(base, outdir):
    data = open(base, "rb").read()
    wide, ents = read_fat(data)
    size = len(data)
    cases = {}
    cases["count0"] = splice(data, write_hdr(wide, ents, 0))
    cases["count65"] = splice(data, write_hdr(wide, ents, 65))
    cases["counthuge"] = splice(data, write_hdr(wide, ents, 0x7FFFFFFF))
    cases["truncated"] = data[:8 + 20 * len(ents) - 3]
    e = [list(x) for x in ents]
    e[-1][3] = size  # size runs past the end
    cases["pastend"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[0][2] = size + 4096
    cases["offpastend"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[0][2] = 0  # the slice holds the header itself
    cases["inheader"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[1][2] = e[0][2] + 16  # overlaps slice 0
    e[1][3] = min(e[1][3], size - e[1][2])
    cases["overlap"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[0][4] = 40
    cases["align40"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[1][0], e[1][1] = e[0][0], e[0][1]
    cases["duparch"] = splice(data, write_hdr(wide, e))
    e = [list(x) for x in ents]
    e[0][3] = 0
    cases["empty"] = splice(data, write_hdr(wide, e))
    # 64-bit header: offset + size wrapping around 2^64
    e = [list(x) for x in ents]
    e[0][2] = (1 << 64) - 4096
    e[0][3] = 8192
    cases["wrap64"] = splice(data, write_hdr(True, e))
    # a Java class file: magic, minor 0, major 52, a constant pool
    cases["java"] = struct.pack(">IHHH", 0xCAFEBABE, 0, 52, 20) + bytes(range(256)) * 8
    cases["tiny"] = b"\xca\xfe\xba\xbe\0\0"
    os.makedirs(outdir, exist_ok=True)
    for name, blob in cases.items():
        path = os.path.join(outdir, name + ".fat")
        open(path, "wb").write(blob)
        print(path)


def check(path):
    data = open(path, "rb").read()
    wide, ents = read_fat(data)
    end = 8 + (32 if wide else 20) * len(ents)
    spans = []
    for cpu, sub, off, size, align, _ in ents:
        if off % (1 << align) or off < end or off + size > len(data):
            print("%s: slice cpu 0x%x at 0x%x+%d (align 2^%d) misplaced" % (path, cpu, off, size, align))
            return 1
        spans.append((off, off + size))
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if a[1] > b[0]:
            print("%s: slices overlap" % path)
            return 1
    print("%s %d %s" % ("fat64" if wide else "fat", len(ents),
                        " ".join("0x%x/%d/%d" % (e[2], e[3], e[4]) for e in ents)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "fat64":
        fat64(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "hostile":
        hostile(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        sys.exit(max(check(f) for f in sys.argv[2:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

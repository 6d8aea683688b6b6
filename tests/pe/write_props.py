#!/usr/bin/env python3
"""write_props.py - independent checks of a PE image rewritten by callirw
(docs/pe.md, "Writing images"); a reader of its own, sharing no code with
formats/pe*.c.

  write_props.py compare IN OUT        the properties of OUT against IN
  write_props.py checksum FILE         prints "header computed" CheckSums
  write_props.py free FILE             bytes after the section table before
                                       the first section (the slack)
  write_props.py forge-sig IN OUT      IN with a fake Authenticode blob
                                       appended and directory 4 set
  write_props.py dir FILE N            prints "rva size" of data directory N
  write_props.py old-pdata OUT NEG      NEG: OUT with directory 3 back on the
                                       old table (.pdata0), a negative control
  write_props.py dllchars FILE         prints DllCharacteristics (0x...)
  write_props.py readobj-stubs FILE    how many RUNTIME_FUNCTIONs llvm-readobj
                                       --unwind lists inside .callirw
Exit 0 when every check holds, 1 with one line per failed check.
"""
import struct
import sys

NEW = [".callirw", ".pdata", ".crwdata", ".crwmap"]


class PE:
    def __init__(self, path):
        self.d = d = open(path, "rb").read()
        self.pe = struct.unpack_from("<I", d, 0x3C)[0]
        assert d[self.pe:self.pe + 4] == b"PE\0\0", path + ": not PE"
        (self.machine, self.nsec, self.timestamp, self.symptr, self.nsyms, self.optsz,
         self.chars) = struct.unpack_from("<HHIIIHH", d, self.pe + 4)
        self.oh = oh = self.pe + 24
        assert struct.unpack_from("<H", d, oh)[0] == 0x20B
        self.size_of_code, self.size_of_idata = struct.unpack_from("<II", d, oh + 4)
        self.image_base = struct.unpack_from("<Q", d, oh + 24)[0]
        self.sa, self.fa = struct.unpack_from("<II", d, oh + 32)
        self.size_of_image, self.size_of_headers, self.checksum = struct.unpack_from("<III", d, oh + 56)
        self.dllchars = struct.unpack_from("<H", d, oh + 70)[0]
        self.ndirs = struct.unpack_from("<I", d, oh + 108)[0]
        self.dirs = [struct.unpack_from("<II", d, oh + 112 + 8 * i) for i in range(min(self.ndirs, 16))]
        self.sh = oh + self.optsz
        self.secs = []
        for i in range(self.nsec):
            h = self.sh + 40 * i
            name = d[h:h + 8].rstrip(b"\0").decode("latin-1")
            vs, va, rs, rp, pr, pl = struct.unpack_from("<IIIIII", d, h + 8)
            ch = struct.unpack_from("<I", d, h + 36)[0]
            self.secs.append(dict(name=name, vs=vs, va=va, rs=rs, rp=rp, pr=pr, pl=pl, ch=ch))

    def free(self):
        """Zero-or-not, the bytes after the section table before the first section."""
        end = self.sh + 40 * self.nsec
        return min([s["rp"] for s in self.secs if s["rs"] and s["rp"]] + [s["va"] for s in self.secs]) - end

    def debug_entries(self):
        """(offset of the entry, its 28 bytes) for each IMAGE_DEBUG_DIRECTORY."""
        if len(self.dirs) <= 6 or self.dirs[6][1] < 28:
            return []
        rva, size = self.dirs[6]
        out = []
        for k in range(size // 28):
            for s in self.secs:
                if s["va"] <= rva + 28 * k and rva + 28 * k + 28 <= s["va"] + min(s["vs"] or s["rs"], s["rs"]):
                    o = s["rp"] + rva + 28 * k - s["va"]
                    out.append((o, self.d[o:o + 28]))
                    break
        return out

    def sec(self, name):
        return [s for s in self.secs if s["name"] == name]

    def rva_bytes(self, rva, n):
        for s in self.secs:
            if s["va"] <= rva and rva + n <= s["va"] + min(s["vs"] or s["rs"], s["rs"]):
                o = s["rp"] + rva - s["va"]
                return self.d[o:o + n]
        raise ValueError("rva 0x%x not in a section" % rva)


def checksum(d, off):
    """The PE checksum: 16-bit words, end-around carry, the field as 0, + length."""
    b = bytearray(d)
    b[off:off + 4] = b"\0\0\0\0"
    if len(b) % 2:
        b.append(0)
    s = 0
    for (w,) in struct.iter_unpack("<H", bytes(b)):
        s += w
        s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (s + len(d)) & 0xFFFFFFFF


def compare(a, b):
    fails = []

    def need(cond, what):
        if not cond:
            fails.append(what)

    need(b.nsec == a.nsec + 4, "NumberOfSections %d, expected %d" % (b.nsec, a.nsec + 4))
    need([s["name"] for s in b.secs[a.nsec:]] == NEW, "new sections %s" % [s["name"] for s in b.secs[a.nsec:]])
    need(b.timestamp == a.timestamp, "timestamp changed")
    need(b.dllchars == a.dllchars, "DllCharacteristics 0x%x, was 0x%x" % (b.dllchars, a.dllchars))
    need(b.chars == a.chars, "Characteristics changed")
    need(b.image_base == a.image_base, "ImageBase changed")
    # a uniform shift (docs/pe.md, "Headers"): every file offset from the old
    # SizeOfHeaders on moved by delta, a multiple of FileAlignment; only when
    # the input had no room in place
    split = a.size_of_headers
    moved = [t["rp"] - s["rp"] for s, t in zip(a.secs, b.secs) if s["rs"] and s["rp"] >= split]
    delta = moved[0] if moved else 0
    need(delta >= 0 and delta % b.fa == 0, "file offsets moved by %d" % delta)
    first_a = min([s["rp"] for s in a.secs if s["rs"] and s["rp"]] + [len(a.d)])
    need(delta == 0 or a.free() < 160 or
         -(-(a.sh + 40 * a.nsec + 160) // a.fa) * a.fa > min([first_a] + [s["va"] for s in a.secs]),
         "file offsets moved by 0x%x though the input had room in place" % delta)
    need(delta == 0 or b.size_of_headers <= split + delta < b.size_of_headers + b.fa,
         "moved by 0x%x: not the smallest shift for SizeOfHeaders 0x%x" % (delta, b.size_of_headers))

    def mv(x):
        return x + delta if x and split <= x <= len(a.d) else x

    need((b.symptr, b.nsyms) == (mv(a.symptr), a.nsyms), "COFF symbol table moved")
    need(b.checksum == checksum(b.d, b.oh + 64) and b.checksum,
         "CheckSum 0x%x, computed 0x%x" % (b.checksum, checksum(b.d, b.oh + 64)))
    need(b.size_of_headers % b.fa == 0, "SizeOfHeaders not FileAlignment-aligned")
    need(b.sh + 40 * b.nsec <= b.size_of_headers, "section table past SizeOfHeaders")
    first_raw = min([s["rp"] for s in b.secs if s["rs"] and s["rp"]] + [len(b.d)])
    need(b.size_of_headers <= min(first_raw, min(s["va"] for s in b.secs)), "headers overlap the first section")
    for i in range(16):
        if i in (3, 4):
            continue
        need(b.dirs[i] == a.dirs[i], "data directory %d changed" % i)  # 5: no new base relocations
    need(b.dirs[4] == (0, 0), "security directory not dropped")
    # old sections: same placement; old .pdata renamed
    for s, t in zip(a.secs, b.secs):
        exp = dict(s, name=".pdata0" if s["name"] == ".pdata" else s["name"], rp=mv(s["rp"]),
                   pr=mv(s["pr"]), pl=mv(s["pl"]))
        need(t == exp, "section %s changed: %s" % (s["name"], t))
    # new sections: aligned, after everything, in order
    end_va = max(s["va"] + (s["vs"] or s["rs"]) for s in a.secs)
    kept = len(a.d)
    if a.dirs[4][0] and a.dirs[4][0] + a.dirs[4][1] <= len(a.d):
        kept = a.dirs[4][0]
    prev_va, prev_off = end_va, kept + delta
    for s in b.secs[a.nsec:]:
        need(s["va"] % b.sa == 0 and s["va"] >= prev_va, "%s: VirtualAddress 0x%x" % (s["name"], s["va"]))
        need(s["rp"] % b.fa == 0 and s["rs"] % b.fa == 0 and s["rp"] >= prev_off,
             "%s: raw data 0x%x+0x%x" % (s["name"], s["rp"], s["rs"]))
        prev_va, prev_off = s["va"] + s["vs"], s["rp"] + s["rs"]
    last = b.secs[-1]
    need(b.size_of_image == -(-(last["va"] + last["vs"]) // b.sa) * b.sa, "SizeOfImage 0x%x" % b.size_of_image)
    need(len(b.d) == prev_off, "file does not end with the new sections")
    text = b.sec(".callirw")[0]
    need(text["ch"] & 0x20000020 == 0x20000020 and not text["ch"] & 0x80000000, ".callirw not R-X code")
    need(b.size_of_code == a.size_of_code + text["rs"], "SizeOfCode not grown by .callirw")
    # exception table: every old entry byte for byte, then the stubs', sorted
    pd = b.sec(".pdata")[0]
    need(b.dirs[3] == (pd["va"], pd["vs"]), "directory 3 does not point at the new .pdata")
    old = a.rva_bytes(a.dirs[3][0], a.dirs[3][1]) if a.dirs[3][1] else b""
    new = b.rva_bytes(b.dirs[3][0], b.dirs[3][1])
    need(new[:len(old)] == old, "old RUNTIME_FUNCTIONs not kept byte for byte")
    ents = [struct.unpack_from("<III", new, k) for k in range(0, len(new), 12)]
    need(all(ents[k][0] >= ents[k - 1][1] for k in range(1, len(ents))), "exception table not sorted")
    stub_ents = ents[len(old) // 12:]
    cw = b.sec(".crwdata")[0]
    for beg, end, uw in stub_ents:
        need(text["va"] <= beg < end <= text["va"] + text["vs"], "stub entry 0x%x outside .callirw" % beg)
        need(cw["va"] <= uw < cw["va"] + cw["vs"] and uw % 4 == 0, "stub UNWIND_INFO 0x%x" % uw)
        need(b.rva_bytes(uw, 1)[0] & 7 == 1, "UNWIND_INFO version")
    # existing bytes: only the headers and the call sites changed
    # (at their new offsets when moved: every section's bytes, the overlay)
    diff = [i for i in range(split, kept) if i + delta >= len(b.d) or a.d[i] != b.d[i + delta]]
    diff += [i for i in range(b.size_of_headers, split) if a.d[i] != b.d[i]]
    need(len(diff) <= 12 * 64, "%d bytes changed outside the headers" % len(diff))
    hdr_end = b.sh + 40 * b.nsec
    need(not any(b.d[max(hdr_end, split):split + delta]), "the bytes a shift inserted are not zero")
    # debug directory entries: the same but PointerToRawData (moved), their
    # data the same at the new offset
    ea, eb = a.debug_entries(), b.debug_entries()
    need(len(ea) == len(eb), "debug directory: %d entries, was %d" % (len(eb), len(ea)))
    for (oa, x), (ob, y) in zip(ea, eb):
        size, rva, ptr = struct.unpack_from("<III", x, 16)
        need(y[:24] == x[:24] and struct.unpack_from("<I", y, 24)[0] == mv(ptr),
             "debug entry at 0x%x: %s, was %s" % (ob, y.hex(), x.hex()))
        if ptr and ptr + size <= kept:
            need(b.d[mv(ptr):mv(ptr) + size] == a.d[ptr:ptr + size], "debug data at 0x%x changed" % ptr)
            if rva:
                need(b.rva_bytes(rva, size) == b.d[mv(ptr):mv(ptr) + size],
                     "debug data: PointerToRawData and AddressOfRawData disagree")
    print("%s: %d old + %d stub RUNTIME_FUNCTIONs, %d bytes changed outside the headers, "
          "CheckSum 0x%x, file offsets moved by 0x%x, %d debug entries" %
          (sys.argv[3], len(old) // 12, len(stub_ents), len(diff), b.checksum, delta, len(eb)))
    return fails


def main():
    cmd = sys.argv[1]
    if cmd == "compare":
        fails = compare(PE(sys.argv[2]), PE(sys.argv[3]))
        for f in fails:
            print("FAIL %s: %s" % (sys.argv[3], f))
        return 1 if fails else 0
    p = PE(sys.argv[2])
    if cmd == "checksum":
        print("0x%x 0x%x" % (p.checksum, checksum(p.d, p.oh + 64)))
    elif cmd == "free":
        print(p.free())
    elif cmd == "old-pdata":
        old = p.sec(".pdata0")[0]
        d = bytearray(p.d)
        struct.pack_into("<II", d, p.oh + 112 + 24, old["va"], old["vs"])
        open(sys.argv[3], "wb").write(bytes(d))
    elif cmd == "dllchars":
        print("0x%x" % p.dllchars)
    elif cmd == "readobj-stubs":
        import re
        import subprocess
        t = p.sec(".callirw")[0]
        lo, hi = p.image_base + t["va"], p.image_base + t["va"] + t["vs"]
        txt = subprocess.run(["llvm-readobj", "--unwind", sys.argv[2]], capture_output=True,
                             text=True, check=True).stdout
        print(sum(lo <= int(a, 16) < hi for a in re.findall(r"StartAddress: .*?\((0x[0-9A-Fa-f]+)\)", txt)))
    elif cmd == "dir":
        print("%d %d" % p.dirs[int(sys.argv[3])])
    elif cmd == "forge-sig":
        d = bytearray(p.d)
        d += b"\0" * (-len(d) % 8)
        off = len(d)
        blob = struct.pack("<IHH", 0x208, 0x0200, 2) + b"FAKESIG!" * 64
        d += blob
        struct.pack_into("<II", d, p.oh + 112 + 32, off, len(blob))
        open(sys.argv[3], "wb").write(bytes(d))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

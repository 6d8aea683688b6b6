#!/usr/bin/env python3
"""r2r_facts.py - an independent reader of ReadyToRun facts, for checking
formats/pe_r2r.c. Written from the format documents (readytorun.h,
readytorun-format.md) without looking at the C code; it shares no code with
it. Prints one JSON object per image:

    python3 tests/pe/r2r_facts.py IMAGE...
"""
import json
import struct
import sys


class Image:
    def __init__(self, data):
        self.d = data
        (lfanew,) = struct.unpack_from("<I", data, 0x3C)
        assert data[lfanew:lfanew + 4] == b"PE\0\0"
        coff = lfanew + 4
        self.machine, nsec, _, _, _, optsz, _ = struct.unpack_from("<HHIIIHH", data, coff)
        opt = coff + 20
        (magic,) = struct.unpack_from("<H", data, opt)
        assert magic == 0x20B
        (self.image_base,) = struct.unpack_from("<Q", data, opt + 24)
        (ndirs,) = struct.unpack_from("<I", data, opt + 108)
        self.dirs = [struct.unpack_from("<II", data, opt + 112 + 8 * i) for i in range(ndirs)]
        sh = opt + optsz
        self.secs = []
        for i in range(nsec):
            name, vsize, va, rawsz, rawptr = struct.unpack_from("<8sIIII", data, sh + 40 * i)
            self.secs.append((name.rstrip(b"\0").decode(), va, vsize, rawptr, rawsz))

    def off(self, rva):
        for _, va, vsize, rawptr, rawsz in self.secs:
            if va <= rva < va + max(vsize, rawsz):
                o = rva - va
                if o >= rawsz:
                    return None
                return rawptr + o
        return None

    def u8(self, rva):
        return self.d[self.off(rva)]

    def u16(self, rva):
        return struct.unpack_from("<H", self.d, self.off(rva))[0]

    def u32(self, rva):
        return struct.unpack_from("<I", self.d, self.off(rva))[0]

    def u64(self, rva):
        return struct.unpack_from("<Q", self.d, self.off(rva))[0]

    def bytes_at(self, rva, n):
        o = self.off(rva)
        return self.d[o:o + n]


def native_unsigned(img, rva):
    """NativeFormat variable-length unsigned integer: (value, next rva)."""
    b = img.u8(rva)
    if b & 1 == 0:
        return b >> 1, rva + 1
    if b & 2 == 0:
        return (b >> 2) | (img.u8(rva + 1) << 6), rva + 2
    if b & 4 == 0:
        return (b >> 3) | (img.u8(rva + 1) << 5) | (img.u8(rva + 2) << 13), rva + 3
    if b & 8 == 0:
        return ((b >> 4) | (img.u8(rva + 1) << 4) | (img.u8(rva + 2) << 12)
                | (img.u8(rva + 3) << 20)), rva + 4
    if b & 16 == 0:
        return img.u32(rva + 1), rva + 5
    raise ValueError("bad native integer")


def native_array_get(img, base_rva, index):
    header, base = native_unsigned(img, base_rva)
    count, width = header >> 2, header & 3
    if index >= count:
        return None
    block = index // 16
    if width == 0:
        off = img.u8(base + block)
    elif width == 1:
        off = img.u16(base + 2 * block)
    else:
        off = img.u32(base + 4 * block)
    pos = base + off
    bit = 8
    while bit:
        val, nxt = native_unsigned(img, pos)
        if index & bit and val & 2:
            pos = pos + (val >> 2)
        elif not index & bit and val & 1:
            pos = nxt
        elif val & 3 == 0 and (val >> 2) == (index & 15):
            pos = nxt
            break
        else:
            return None
        bit >>= 1
    return pos


def nibbles(img, rva):
    i = 0
    while True:
        b = img.u8(rva + i // 2)
        yield (b >> 4) if i & 1 else (b & 15)
        i += 1


def nibble_u32(it):
    v = 0
    while True:
        n = next(it)
        v = (v << 3) | (n & 7)
        if not n & 8:
            return v


def fixup_list(img, rva):
    it = nibbles(img, rva)
    out = []
    table = nibble_u32(it)
    while True:
        slot = nibble_u32(it)
        while True:
            out.append((table, slot))
            d = nibble_u32(it)
            if d == 0:
                break
            slot += d
        d = nibble_u32(it)
        if d == 0:
            return out
        table += d


def ecma_uint(img, rva):
    b = img.u8(rva)
    if b & 0x80 == 0:
        return b, rva + 1
    if b & 0xC0 == 0x80:
        return ((b & 0x3F) << 8) | img.u8(rva + 1), rva + 2
    return (((b & 0x1F) << 24) | (img.u8(rva + 1) << 16) | (img.u8(rva + 2) << 8)
            | img.u8(rva + 3)), rva + 4


def facts(path):
    img = Image(open(path, "rb").read())
    cli_rva, _ = img.dirs[14]
    mnh_rva, mnh_size = img.u32(cli_rva + 64), img.u32(cli_rva + 68)
    sig, major, minor, flags, nsec = struct.unpack("<IHHII", img.bytes_at(mnh_rva, 16))
    f = {"image": path.rsplit("/", 1)[-1], "image_base": img.image_base,
         "cli_rva": cli_rva, "header_rva": mnh_rva, "header_size": mnh_size,
         "signature": sig, "major": major, "minor": minor, "flags": flags, "sections": []}
    secs = {}
    for i in range(nsec):
        t, rva, size = struct.unpack("<III", img.bytes_at(mnh_rva + 16 + 12 * i, 12))
        f["sections"].append([t, rva, size])
        secs[t] = (rva, size)
    if 100 in secs:
        rva, size = secs[100]
        f["compiler"] = img.bytes_at(rva, size).split(b"\0")[0].decode()
    imports = []
    if 101 in secs:
        rva, size = secs[101]
        for k in range(size // 20):
            srva, ssize, flg, typ, esz, sigs, aux = struct.unpack(
                "<IIHBBII", img.bytes_at(rva + 20 * k, 20))
            n = ssize // esz if esz else 0
            slots = []
            for s in range(n):
                entry = {"rva": srva + s * esz}
                if sigs:
                    srva2 = img.u32(sigs + 4 * s)
                    kind = img.u8(srva2)
                    entry["sig"] = srva2
                    entry["kind"] = kind
                    p = srva2 + 1
                    if kind & 0x80:
                        entry["module"], p = ecma_uint(img, p)
                    if kind & 0x7F == 0x1A:
                        entry["helper"], _ = ecma_uint(img, p)
                slots.append(entry)
            imports.append({"rva": srva, "size": ssize, "flags": flg, "type": typ,
                            "entry_size": esz, "signatures": sigs, "aux": aux, "slots": slots})
    f["imports"] = imports
    f["nslots"] = sum(len(i["slots"]) for i in imports)
    f["helper_slots_0x47"] = [s["rva"] for i in imports for s in i["slots"]
                              if s.get("kind", 0) & 0x7F == 0x1A and s.get("helper") == 0x47]
    rfs = []
    if 102 in secs:
        rva, size = secs[102]
        for k in range(size // 12):
            rfs.append(list(struct.unpack("<III", img.bytes_at(rva + 12 * k, 12))))
    f["runtime_functions"] = rfs
    eps = []
    if 103 in secs:
        rva, _ = secs[103]
        header, _ = native_unsigned(img, rva)
        f["methoddef_count"] = header >> 2
        for i in range(header >> 2):
            pos = native_array_get(img, rva, i)
            if pos is None:
                continue
            v, nxt = native_unsigned(img, pos)
            e = {"rid": i + 1}
            if v & 1:
                fix = nxt
                if v & 2:
                    back, _ = native_unsigned(img, nxt)
                    fix = nxt - back
                e["index"] = v >> 2
                e["fixups"] = fixup_list(img, fix)
            else:
                e["index"] = v >> 1
                e["fixups"] = []
            eps.append(e)
    f["entry_points"] = eps
    exc_rva, exc_size = img.dirs[3]
    f["pdata"] = [exc_rva, exc_size]
    return f


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(json.dumps(facts(p)))

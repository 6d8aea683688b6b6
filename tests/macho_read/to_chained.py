#!/usr/bin/env python3
"""to_chained.py - turn a linked Mach-O image with classic dyld info
(LC_DYLD_INFO_ONLY rebase/bind opcodes, what ld64.lld-14 writes) into the
same image with LC_DYLD_CHAINED_FIXUPS, as ld64 writes for newer
deployment targets: each fixup slot becomes a chain entry in its page, the
binds become imports. ld64.lld-14 cannot write chained fixups; this gives
the reader's chained path real inputs whose answers are known (the classic
image's).

usage: to_chained.py IN OUT FORMAT     (FORMAT: 64 or 64_offset)

The dyld info command is replaced by a LC_DYLD_CHAINED_FIXUPS command (the
load commands after it move up; sizeofcmds shrinks), the fixup data is
appended to __LINKEDIT. Lazy binds become ordinary binds (chained-fixup
images bind everything at load). The code signature, if any, is stale.
"""
import struct
import sys

from machotool import MachO, LC_DYLD_INFO, LC_DYLD_INFO_ONLY

LC_DYLD_CHAINED_FIXUPS = 0x80000034


def main():
    src, dst, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
    data = bytearray(open(src, "rb").read())
    m = MachO(bytes(data))
    ptr_format = {"64": 2, "64_offset": 6}[fmt]
    page = 0x4000 if m.cputype == 0x0100000c else 0x1000

    fix = {}  # va -> ("rebase", target) | ("bind", import index)
    for va in m.rebases():
        fix[va] = ("rebase", m.read64(va))
    imports, index = [], {}
    for va, name, ordinal, addend, stream in m.binds():
        if addend:
            raise SystemExit("to_chained.py: bind addends are not handled")
        key = (name, ordinal if stream != "weak" else -3)
        if key not in index:
            index[key] = len(imports)
            imports.append(key)
        fix[va] = ("bind", index[key])  # a bind wins over the lazy pointer's rebase

    # chain entries, page by page of each segment
    starts = {}  # segment index -> {page: [offsets in segment]}
    for va in sorted(fix):
        for si, s in enumerate(m.segs):
            if s["vmaddr"] <= va < s["vmaddr"] + s["vmsize"]:
                off = va - s["vmaddr"]
                starts.setdefault(si, {}).setdefault(off // page, []).append(off)
                break
        else:
            raise SystemExit("to_chained.py: fixup 0x%x outside every segment" % va)
    for si, pages in starts.items():
        s = m.segs[si]
        for pg, offs in pages.items():
            for k, off in enumerate(offs):
                va = s["vmaddr"] + off
                nxt = (offs[k + 1] - off) // 4 if k + 1 < len(offs) else 0
                assert nxt < 4096 and (k + 1 == len(offs) or (offs[k + 1] - off) % 4 == 0)
                kind, v = fix[va]
                if kind == "rebase":
                    target = v - m.base if ptr_format == 6 else v
                    assert 0 <= target < 1 << 36
                    word = target | nxt << 51
                else:
                    word = v | nxt << 51 | 1 << 63
                fo = s["fileoff"] + off
                struct.pack_into("<Q", data, fo, word)

    # the blob: header, starts_in_image, starts_in_segment..., imports, symbols
    nseg = len(m.segs)
    image = bytearray(struct.pack("<I", nseg) + b"\0" * 4 * nseg)
    for si in range(nseg):
        if si not in starts:
            continue
        s = m.segs[si]
        npages = (s["vmsize"] + page - 1) // page
        while len(image) % 8:
            image += b"\0"
        struct.pack_into("<I", image, 4 + 4 * si, len(image))
        ps = [0xffff] * npages
        for pg, offs in starts[si].items():
            ps[pg] = offs[0] - pg * page
        body = struct.pack("<IHHQIH", 22 + 2 * npages, page, ptr_format,
                           s["vmaddr"] - m.base, 0, npages)
        body += struct.pack("<%dH" % npages, *ps)
        image += body
    syms = bytearray(b"\0")
    imps = bytearray()
    for name, ordinal in imports:
        imps += struct.pack("<I", (ordinal & 0xff) | len(syms) << 9)
        syms += name.encode() + b"\0"
    hdr_size = 28
    starts_off = (hdr_size + 3) & ~3
    imports_off = starts_off + len(image)
    imports_off = (imports_off + 3) & ~3
    symbols_off = imports_off + len(imps)
    blob = bytearray(struct.pack("<7I", 0, starts_off, imports_off, symbols_off,
                                 len(imports), 1, 0))
    blob += b"\0" * (starts_off - len(blob)) + image
    blob += b"\0" * (imports_off - len(blob)) + imps + syms
    while len(blob) % 8:
        blob += b"\0"

    # append to __LINKEDIT (the file's end)
    le = next(s for s in m.segs if s["name"] == "__LINKEDIT")
    if le["fileoff"] + le["filesize"] != len(data):
        raise SystemExit("to_chained.py: __LINKEDIT does not end the file")
    while len(data) % 8:
        data += b"\0"
    blob_off = len(data)
    data += blob
    filesize = len(data) - le["fileoff"]
    vmsize = (filesize + page - 1) // page * page
    struct.pack_into("<Q", data, le["lc"] + 32, max(vmsize, le["vmsize"]))
    struct.pack_into("<Q", data, le["lc"] + 48, filesize)

    # replace the dyld info command (read after the __LINKEDIT patch above,
    # so that a command moving up carries it)
    (cmd, size, off), = m.cmd((LC_DYLD_INFO, LC_DYLD_INFO_ONLY))
    end = 32 + m.sizeofcmds
    new = struct.pack("<4I", LC_DYLD_CHAINED_FIXUPS, 16, blob_off, len(blob))
    rest = bytes(data[off + size:end])
    data[off:end] = new + rest + b"\0" * (size - 16)
    struct.pack_into("<I", data, 20, m.sizeofcmds - (size - 16))
    open(dst, "wb").write(bytes(data))


if __name__ == "__main__":
    main()

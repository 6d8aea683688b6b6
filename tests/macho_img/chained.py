#!/usr/bin/env python3
"""chained.py - chained fixups for the image writer's test, which
ld64.lld-14 cannot produce (it writes LC_DYLD_INFO_ONLY).

  chained.py make IN OUT    IN plus an LC_DYLD_CHAINED_FIXUPS command (in the
                            header padding) and its blob, appended to
                            __LINKEDIT: a header, starts_in_image with one
                            entry per segment, a starts_in_segment for
                            __DATA (one page, no chain), an empty imports
                            table and symbol pool. Only the writer reads it
                            (mw_selftest), not dyld.
  chained.py check IN OUT   OUT's blob is IN's with __CALLIRW's entry (0)
                            inserted at its segment index: seg_count one
                            more, every other entry and the imports and
                            symbols offsets moved by 8, the segment starts
                            byte for byte the same.
"""
import struct
import sys

LC_CHAINED = 0x80000034


def segments(d):
    ncmds = struct.unpack_from('<I', d, 16)[0]
    off, segs, cmds = 32, [], []
    for _ in range(ncmds):
        cmd, size = struct.unpack_from('<II', d, off)
        cmds.append((cmd, off))
        if cmd == 0x19:
            segs.append((d[off + 8:off + 24].rstrip(b'\0').decode(), off))
        off += size
    return segs, cmds, off


def make(src, dst):
    d = bytearray(open(src, 'rb').read())
    segs, cmds, lc_end = segments(d)
    assert segs[-1][0] == '__LINKEDIT' and all(c != LC_CHAINED for c, _ in cmds)
    n = len(segs)
    data_idx = [s[0] for s in segs].index('__DATA')
    starts = 32
    arr_end = starts + 4 + 4 * n
    seg_starts = (arr_end + 7) & ~7
    blob = bytearray(seg_starts)
    struct.pack_into('<7I', blob, 0, 0, starts, 0, 0, 0, 1, 0)
    struct.pack_into('<I', blob, starts, n)
    struct.pack_into('<I', blob, starts + 4 + 4 * data_idx, seg_starts - starts)
    vm = struct.unpack_from('<Q', d, segs[data_idx][1] + 24)[0]
    base = struct.unpack_from('<Q', d, segs[1][1] + 24)[0] if segs[0][0] == '__PAGEZERO' else \
        struct.unpack_from('<Q', d, segs[0][1] + 24)[0]
    blob += struct.pack('<IHHQIHH', 24, 0x1000, 6, vm - base, 0, 1, 0xffff)
    while len(blob) % 4:
        blob += b'\0'
    imports = len(blob)
    symbols = imports
    blob += b'\0'
    while len(blob) % 8:
        blob += b'\0'
    struct.pack_into('<II', blob, 8, imports, symbols)
    # append to __LINKEDIT (no signature: these inputs are unsigned)
    le = segs[-1][1]
    fileoff, filesize = struct.unpack_from('<QQ', d, le + 40)
    assert fileoff + filesize == len(d) and len(d) % 8 == 0
    dataoff = len(d)
    d += blob
    struct.pack_into('<Q', d, le + 32, (filesize + len(blob) + 0xfff) & ~0xfff)  # vmsize
    struct.pack_into('<Q', d, le + 48, filesize + len(blob))                     # filesize
    # the command, in the padding after the others
    assert d[lc_end:lc_end + 16] == bytes(16)
    struct.pack_into('<4I', d, lc_end, LC_CHAINED, 16, dataoff, len(blob))
    ncmds, sizeofcmds = struct.unpack_from('<II', d, 16)
    struct.pack_into('<II', d, 16, ncmds + 1, sizeofcmds + 16)
    open(dst, 'wb').write(d)


def blob_of(d):
    _segs, cmds, _ = segments(d)
    for cmd, off in cmds:
        if cmd == LC_CHAINED:
            o, s = struct.unpack_from('<II', d, off + 8)
            return d[o:o + s]
    raise SystemExit('chained.py: no LC_DYLD_CHAINED_FIXUPS')


def check(src, out):
    a, b = open(src, 'rb').read(), open(out, 'rb').read()
    ba, bb = blob_of(a), blob_of(b)
    segs_b = [s[0] for s in segments(b)[0]]
    k = segs_b.index('__CALLIRW')
    sa, ia, ya = struct.unpack_from('<III', ba, 4)
    sb, ib, yb = struct.unpack_from('<III', bb, 4)
    na, nb = struct.unpack_from('<I', ba, sa)[0], struct.unpack_from('<I', bb, sb)[0]
    errs = []
    if sb != sa or nb != na + 1 or nb != len(segs_b):
        errs.append('seg_count %d -> %d for %d segments' % (na, nb, len(segs_b)))
    ea = list(struct.unpack_from('<%dI' % na, ba, sa + 4))
    eb = list(struct.unpack_from('<%dI' % nb, bb, sb + 4))
    want = [x + 8 if x else 0 for x in ea]
    want.insert(k, 0)
    if eb != want:
        errs.append('seg_info_offset %s, expected %s' % (eb, want))
    if (ib, yb) != (ia + 8, ya + 8):
        errs.append('imports/symbols offsets %d/%d -> %d/%d' % (ia, ya, ib, yb))
    for x, y in zip(ea, eb[:k] + eb[k + 1:]):
        if x and ba[sa + x:sa + x + 24] != bb[sb + y:sb + y + 24]:
            errs.append('a segment\'s starts changed')
    if ba[ia:] != bb[ib:ib + len(ba) - ia]:
        errs.append('imports or symbols changed')
    if len(bb) % 8:
        errs.append('blob size %d is not 8-aligned' % len(bb))
    for e in errs:
        print('chained.py: %s: %s' % (out, e))
    sys.exit(1 if errs else 0)


if sys.argv[1] == 'make':
    make(sys.argv[2], sys.argv[3])
else:
    check(sys.argv[2], sys.argv[3])

#!/usr/bin/env python3
"""obj_grow_sections.py IN OUT TOTAL - a copy of the COFF object IN (regular
or /bigobj) with empty sections (".pad", no data) appended until it has TOTAL
sections: the section-count limits of the COFF object writer
(tests/pe/obj_check.sh; docs/pe.md, "Writing objects"). Everything after the
section table moves down; every file pointer follows."""
import struct
import sys

BIGOBJ_GUID = bytes([0xC7, 0xA1, 0xBA, 0xD1, 0xEE, 0xBA, 0xA9, 0x4B,
                     0xAF, 0x20, 0xFA, 0xF6, 0x6A, 0xA4, 0xDC, 0xB8])


def main():
    src, dst, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    b = bytearray(open(src, 'rb').read())
    big = b[0:4] == b'\0\0\xff\xff' and b[12:28] == BIGOBJ_GUID
    if big:
        hdr, nsec_at, sym_at = 56, 44, 48
        nsec = struct.unpack_from('<I', b, nsec_at)[0]
    else:
        hdr, nsec_at, sym_at = 20, 2, 8
        nsec = struct.unpack_from('<H', b, nsec_at)[0]
    add = total - nsec
    if add < 0 or (not big and total > 0xFFFF):
        sys.exit('obj_grow_sections: cannot have %d sections' % total)
    end = hdr + 40 * nsec
    delta = 40 * add
    for i in range(nsec):
        h = hdr + 40 * i
        for k in (20, 24, 28):
            p = struct.unpack_from('<I', b, h + k)[0]
            if p >= end:
                struct.pack_into('<I', b, h + k, p + delta)
    symptr = struct.unpack_from('<I', b, sym_at)[0]
    if symptr >= end:
        struct.pack_into('<I', b, sym_at, symptr + delta)
    if big:
        struct.pack_into('<I', b, nsec_at, total)
    else:
        struct.pack_into('<H', b, nsec_at, total)
    pad = (b'.pad\0\0\0\0' + bytes(28) + struct.pack('<I', 0x40000040)) * add
    open(dst, 'wb').write(bytes(b[:end]) + pad + bytes(b[end:]))


main()

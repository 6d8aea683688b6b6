#!/usr/bin/env python3
"""set_clr.py EXE SYMBOL-VA - point data directory 14 (the CLI header) of a
linked PE32+ image at the 72-byte IMAGE_COR20_HEADER at SYMBOL-VA (the
symbol's virtual address, from nm). GNU ld has no option for this
directory; the synthetic ReadyToRun program (docs/r2r.md) needs it."""
import struct
import sys

path, va = sys.argv[1], int(sys.argv[2], 16)
d = bytearray(open(path, 'rb').read())
pe = struct.unpack_from('<I', d, 0x3C)[0]
assert d[pe:pe + 4] == b'PE\0\0', 'not a PE image'
opt = pe + 24
assert struct.unpack_from('<H', d, opt)[0] == 0x20B, 'not PE32+'
base = struct.unpack_from('<Q', d, opt + 24)[0]
ndirs = struct.unpack_from('<I', d, opt + 108)[0]
assert ndirs > 14, 'no data directory 14'
struct.pack_into('<II', d, opt + 112 + 14 * 8, va - base, 72)
open(path, 'wb').write(d)

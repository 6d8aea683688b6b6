#!/usr/bin/env python3
"""mutate.py IN OUTDIR N SEED: N hostile copies of the Mach-O object IN for
the writer's fuzz step (tests/macho_obj/check.sh): bytes flipped or set to
edge values in the header and load commands, in the symbol, string and
relocation tables, anywhere; or the file truncated."""
import random
import struct
import sys

src, outdir, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(src, 'rb').read()
rng = random.Random(seed)
ncmds, sizeofcmds = struct.unpack_from('<II', data, 16)
regions = [(0, 32 + sizeofcmds)]
off = 32
for _ in range(ncmds):
    cmd, size = struct.unpack_from('<II', data, off)
    if cmd == 0x2:  # LC_SYMTAB: symbols, strings
        symoff, nsyms, stroff, strsize = struct.unpack_from('<IIII', data, off + 8)
        regions += [(symoff, symoff + 16 * nsyms), (stroff, stroff + strsize)]
    if cmd == 0x19:  # sections' relocations
        for k in range(struct.unpack_from('<I', data, off + 64)[0]):
            reloff, nreloc = struct.unpack_from('<II', data, off + 72 + 80 * k + 56)
            if nreloc:
                regions.append((reloff, reloff + 8 * nreloc))
    off += size
regions = [(a, min(b, len(data))) for a, b in regions if a < b and a < len(data)]
edge = [0, 1, 0x7f, 0x80, 0xff]
for i in range(n):
    b = bytearray(data)
    if rng.random() < 0.1:
        b = b[:rng.randrange(len(b))]
    else:
        for _ in range(rng.randint(1, 4)):
            a, e = rng.choice(regions) if rng.random() < 0.85 else (0, len(b))
            p = rng.randrange(a, e)
            b[p] = rng.choice(edge) if rng.random() < 0.5 else b[p] ^ (1 << rng.randrange(8))
    open('%s/m%03d.o' % (outdir, i), 'wb').write(bytes(b))

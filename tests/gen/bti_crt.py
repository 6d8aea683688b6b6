#!/usr/bin/env python3
"""tests/gen/bti_crt.py DIR - arm64 start files with BTI landing pads.

Debian 12's cross glibc (libc6-dev-arm64-cross) is not built with
--enable-standard-branch-protection: _start (Scrt1.o, crt1.o), _init and
_fini (crti.o) begin with the `nop` that glibc leaves where `bti c` goes.
ld.so enters _start with `br x16` and calls _init/_fini with `blr`, so a
BTI-marked executable built with them dies with SIGILL on a BTI CPU (and
under qemu-aarch64, whose default CPU enforces BTI). This writes copies into
DIR with that nop replaced by `bti c`; crtn.o is copied unchanged. gcc's
crtbegin*.o have no such placeholder (frame_dummy is a bare `b`), so BTI
links use -nostartfiles with these files and no crtbegin/crtend.

The copies are written atomically (concurrent seeds may build DIR at once).
"""
import os
import struct
import subprocess
import sys
import tempfile

NOP = bytes.fromhex('1f2003d5')     # d503201f
BTI_C = bytes.fromhex('5f2403d5')   # d503245f
PATCH = {'Scrt1.o': ['.text'], 'crt1.o': ['.text'], 'crti.o': ['.init', '.fini'], 'crtn.o': []}


def patch(data, sections, name):
    d = bytearray(data)
    if d[:4] != b'\x7fELF' or d[4] != 2 or d[5] != 1 or struct.unpack_from('<H', d, 18)[0] != 183:
        sys.exit(f'bti_crt: {name}: not an ELF64 little-endian AArch64 object')
    shoff, = struct.unpack_from('<Q', d, 0x28)
    shnum, shstrndx = struct.unpack_from('<HH', d, 0x3c)
    hdrs = [struct.unpack_from('<IIQQQQIIQQ', d, shoff + 64 * i) for i in range(shnum)]
    strtab = hdrs[shstrndx][4]
    todo = set(sections)
    for h in hdrs:
        sname = d[strtab + h[0]:d.index(0, strtab + h[0])].decode()
        if sname in todo:
            off = h[4]
            if d[off:off + 4] not in (NOP, BTI_C):
                sys.exit(f'bti_crt: {name}: {sname} does not begin with a nop ({d[off:off + 4].hex()})')
            d[off:off + 4] = BTI_C
            todo.discard(sname)
    if todo:
        sys.exit(f'bti_crt: {name}: no section {", ".join(sorted(todo))}')
    return bytes(d)


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: bti_crt.py DIR')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cc = os.environ.get('GEN_CC', 'aarch64-linux-gnu-gcc')
    for name, sections in PATCH.items():
        src = subprocess.run([cc, f'-print-file-name={name}'], check=True,
                             capture_output=True, text=True).stdout.strip()
        with open(src, 'rb') as f:
            data = patch(f.read(), sections, name)
        fd, tmp = tempfile.mkstemp(dir=out, prefix='.' + name)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, os.path.join(out, name))


if __name__ == '__main__':
    main()

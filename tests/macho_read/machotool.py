"""machotool.py - a small independent Mach-O reader for the tests (written
apart from formats/macho*.c): load commands, segments, sections, and the
rebase / bind / lazy-bind / weak-bind opcode streams decoded into slots.
(llvm-objdump-14 --macho --rebase prints wrong addresses for slots in a
section that does not start its segment, e.g. literal pools in __text.)"""
import struct

LC_SEGMENT_64 = 0x19
LC_DYLD_INFO_ONLY = 0x80000022
LC_DYLD_INFO = 0x22


def uleb(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def sleb(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            if c & 0x40:
                v -= 1 << s
            return v, i


class MachO:
    def __init__(self, data):
        self.data = data
        (self.magic, self.cputype, self.cpusubtype, self.filetype, self.ncmds,
         self.sizeofcmds, self.flags) = struct.unpack_from("<7I", data, 0)
        self.cmds = []  # (cmd, cmdsize, offset)
        self.segs = []  # dict per segment
        off = 32
        for _ in range(self.ncmds):
            cmd, size = struct.unpack_from("<II", data, off)
            self.cmds.append((cmd, size, off))
            if cmd == LC_SEGMENT_64:
                name = data[off + 8:off + 24].rstrip(b"\0").decode()
                vmaddr, vmsize, fileoff, filesize = struct.unpack_from("<4Q", data, off + 24)
                nsects, = struct.unpack_from("<I", data, off + 64)
                secs = []
                for k in range(nsects):
                    q = off + 72 + 80 * k
                    secs.append((data[q:q + 16].rstrip(b"\0").decode(),
                                 struct.unpack_from("<QQ", data, q + 32)))
                self.segs.append(dict(name=name, vmaddr=vmaddr, vmsize=vmsize,
                                      fileoff=fileoff, filesize=filesize, sects=secs, lc=off))
            off += size
        self.base = next(s["vmaddr"] for s in self.segs if s["fileoff"] == 0 and s["filesize"])

    def cmd(self, which):
        return [c for c in self.cmds if c[0] in which]

    def dyld_info(self):
        c = self.cmd((LC_DYLD_INFO, LC_DYLD_INFO_ONLY))
        if not c:
            return None
        return struct.unpack_from("<10I", self.data, c[0][2] + 8)

    def read64(self, va):
        for s in self.segs:
            if s["vmaddr"] <= va < s["vmaddr"] + s["filesize"]:
                o = s["fileoff"] + va - s["vmaddr"]
                return struct.unpack_from("<Q", self.data, o)[0]
        return None

    def rebases(self):
        """[va] of every rebase."""
        info = self.dyld_info()
        if not info:
            return []
        b = self.data[info[0]:info[0] + info[1]]
        out, i, seg, off = [], 0, 0, 0
        while i < len(b):
            op, imm = b[i] & 0xf0, b[i] & 0x0f
            i += 1
            if op == 0x00:
                break
            elif op == 0x10:
                pass
            elif op == 0x20:
                seg = imm
                off, i = uleb(b, i)
            elif op == 0x30:
                n, i = uleb(b, i)
                off += n
            elif op == 0x40:
                off += imm * 8
            elif op in (0x50, 0x60, 0x70, 0x80):
                n, skip = imm, 0
                if op in (0x60, 0x80):
                    n, i = uleb(b, i)
                if op == 0x70:
                    n = 1
                    skip, i = uleb(b, i)
                if op == 0x80:
                    skip, i = uleb(b, i)
                for _ in range(n):
                    out.append(self.segs[seg]["vmaddr"] + off)
                    off += 8 + skip
            else:
                raise ValueError("rebase opcode 0x%x" % op)
        return out

    def binds(self):
        """[(va, name, ordinal, addend, stream)] of every bind (stream:
        'bind', 'weak', 'lazy')."""
        info = self.dyld_info()
        if not info:
            return []
        out = []
        for stream, o, n in (("bind", info[2], info[3]), ("weak", info[4], info[5]),
                             ("lazy", info[6], info[7])):
            b = self.data[o:o + n]
            i, seg, off, name, ordinal, addend = 0, 0, 0, None, 0, 0
            while i < len(b):
                op, imm = b[i] & 0xf0, b[i] & 0x0f
                i += 1
                if op == 0x00:
                    if stream != "lazy":
                        break
                elif op == 0x10:
                    ordinal = imm
                elif op == 0x20:
                    ordinal, i = uleb(b, i)
                elif op == 0x30:
                    ordinal = imm - 16 if imm else 0
                elif op == 0x40:
                    z = b.index(0, i)
                    name = b[i:z].decode()
                    i = z + 1
                elif op == 0x50:
                    pass
                elif op == 0x60:
                    addend, i = sleb(b, i)
                elif op == 0x70:
                    seg = imm
                    off, i = uleb(b, i)
                elif op == 0x80:
                    n2, i = uleb(b, i)
                    off = (off + n2) & (2**64 - 1)
                elif op in (0x90, 0xa0, 0xb0, 0xc0):
                    cnt, skip = 1, 0
                    if op == 0xa0:
                        skip, i = uleb(b, i)
                    if op == 0xb0:
                        skip = imm * 8
                    if op == 0xc0:
                        cnt, i = uleb(b, i)
                        skip, i = uleb(b, i)
                    for _ in range(cnt):
                        out.append((self.segs[seg]["vmaddr"] + off, name, ordinal, addend, stream))
                        off = (off + 8 + skip) & (2**64 - 1)
                else:
                    raise ValueError("bind opcode 0x%x" % op)
        return out

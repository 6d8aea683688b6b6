#!/usr/bin/env python3
"""stub_calls.py FILE CALLIRW N - make callirw really scan a real thin Mach-O
image and check what it finds against an independent view.

These programs do not call the helper, so a plain scan may stop early. Here
the helper is played by imported functions: the N symbols with the most
direct calls (call / bl) to their __stubs entries. Their stubs are found
independently: each stub is decoded (x86-64 `jmp *slot(%rip)`; arm64
`adrp / ldr / br` or `nop / ldr literal / br`, whatever the section's stub size says: Go's
linker writes 6 there for 12-byte arm64 stubs) to its pointer slot, and the
slot is named through the indirect symbol table; llvm-objdump disassembles
(__TEXT,__text). Then `CALLIRW scan --json --helper SYM` must not crash, and
in __TEXT,__text
  - every `call` / `bl` to SYM's stub is a site, and
  - every site is a direct branch to the stub or to a forwarder (a jump to
    the stub, which callirw treats as the helper: docs/scan.md).
Prints one line per symbol; exit 1 with the differences otherwise."""
import json
import os
import re
import struct
import subprocess
import sys

S_LAZY_SYMBOL_POINTERS, S_NON_LAZY_SYMBOL_POINTERS, S_SYMBOL_STUBS = 7, 6, 8
CPU_X86_64, CPU_ARM64 = 0x01000007, 0x0100000C
INDIRECT_LOCAL_OR_ABS = 0xC0000000


def parse(d):
    magic, cpu, _, _, ncmds, _, _, _ = struct.unpack_from("<8I", d, 0)
    if magic != 0xFEEDFACF:
        raise ValueError("not a thin 64-bit Mach-O file")
    secs, symtab, dysymtab, off = [], None, None, 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", d, off)
        if cmd == 0x19:  # LC_SEGMENT_64
            nsects = struct.unpack_from("<I", d, off + 64)[0]
            for i in range(nsects):
                h = off + 72 + 80 * i
                sect = d[h:h + 16].rstrip(b"\0").decode()
                seg = d[h + 16:h + 32].rstrip(b"\0").decode()
                addr, sz, fo, _, _, _, flags, r1, r2 = struct.unpack_from("<QQIIIIIII", d, h + 32)
                secs.append(dict(name=f"{seg},{sect}", addr=addr, size=sz, off=fo,
                                 type=flags & 0xFF, r1=r1, r2=r2))
        elif cmd == 0x2:  # LC_SYMTAB
            symtab = struct.unpack_from("<4I", d, off + 8)
        elif cmd == 0xB:  # LC_DYSYMTAB
            dysymtab = struct.unpack_from("<18I", d, off + 8)
        off += size
    return cpu, secs, symtab, dysymtab


def stub_symbols(path):
    """{stub address: symbol name} from the decoded stubs."""
    d = open(path, "rb").read()
    cpu, secs, symtab, dysymtab = parse(d)
    symoff, nsyms, stroff, _ = symtab
    indoff, nind = dysymtab[12], dysymtab[13]

    def sym_name(i):
        strx = struct.unpack_from("<I", d, symoff + 16 * i)[0]
        return d[stroff + strx:d.index(b"\0", stroff + strx)].decode()

    slots = {}  # pointer slot address -> symbol name
    for s in secs:
        if s["type"] in (S_LAZY_SYMBOL_POINTERS, S_NON_LAZY_SYMBOL_POINTERS):
            for i in range(s["size"] // 8):
                if s["r1"] + i >= nind:
                    break
                idx = struct.unpack_from("<I", d, indoff + 4 * (s["r1"] + i))[0]
                if not idx & INDIRECT_LOCAL_OR_ABS and idx < nsyms:
                    slots[s["addr"] + 8 * i] = sym_name(idx)
    stubs = {}
    for s in secs:
        if s["type"] != S_SYMBOL_STUBS:
            continue
        b, a = d[s["off"]:s["off"] + s["size"]], s["addr"]
        if cpu == CPU_X86_64:
            for k in range(0, len(b) - 5, 6):
                if b[k:k + 2] == b"\xff\x25":
                    slot = a + k + 6 + struct.unpack_from("<i", b, k + 2)[0]
                    if slot in slots:
                        stubs[a + k] = slots[slot]
        elif cpu == CPU_ARM64:
            for k in range(0, len(b) - 11, 4):
                w0, w1, w2 = struct.unpack_from("<3I", b, k)
                slot = None
                # adrp xA; ldr xB, [xA, #off]; br xB
                if (w0 & 0x9F000000) == 0x90000000 and (w1 & 0xFFC00000) == 0xF9400000 and \
                        (w1 >> 5) & 31 == w0 & 31 and w2 == (0xD61F0000 | (w1 & 31) << 5):
                    imm = ((w0 >> 5) & 0x7FFFF) << 2 | (w0 >> 29) & 3
                    imm -= (1 << 21) if imm & (1 << 20) else 0
                    slot = ((a + k) & ~0xFFF) + (imm << 12) + ((w1 >> 10) & 0xFFF) * 8
                # nop; ldr xB, literal; br xB (ld64 relaxes the adrp when in reach)
                elif w0 == 0xD503201F and (w1 & 0xFF000000) == 0x58000000 and \
                        w2 == (0xD61F0000 | (w1 & 31) << 5):
                    imm = (w1 >> 5) & 0x7FFFF
                    imm -= (1 << 19) if imm & (1 << 18) else 0
                    slot = a + k + 4 + imm * 4
                if slot in slots:
                    stubs[a + k] = slots[slot]
    text = next((s for s in secs if s["name"] == "__TEXT,__text"), None)
    return cpu, stubs, text


BRANCH = re.compile(r"^\s*([0-9a-f]+):\s+(callq|call|jmp|jmpq|bl|b)\s+0x([0-9a-f]+)\b")


def branches(path):
    """[(address, mnemonic, target)] of every direct branch in __TEXT,__text."""
    out = subprocess.run(["llvm-objdump-14", "--macho", "-d", "--no-show-raw-insn", path],
                         capture_output=True, text=True, check=True).stdout
    res = []
    for line in out.splitlines():
        m = BRANCH.match(line)
        if m:
            res.append((int(m.group(1), 16), m.group(2), int(m.group(3), 16)))
    return res


def main():
    path, callirw, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cpu, stubs, text = stub_symbols(path)
    br = branches(path)
    calls = {}
    for a, m, t in br:
        if m in ("callq", "call", "bl") and t in stubs:
            calls.setdefault(stubs[t], set()).add(a)
    picked = sorted(calls, key=lambda s: (-len(calls[s]), s))[:n]
    if not picked:
        print(f"{path}: no direct call to an imported function's stub: nothing to cross-check")
        return 1
    bad = 0
    for sym in picked:
        stub = {t for t, s in stubs.items() if s == sym}
        fwd = {a for a, m, t in br if m not in ("callq", "call", "bl") and t in stub}
        allowed = {a for a, m, t in br if t in stub or t in fwd}
        helper = sym[1:] if sym.startswith("_") else sym
        p = subprocess.run([callirw, "scan", "--json", "--helper", helper, path],
                           capture_output=True, text=True)
        if p.returncode < 0 or p.returncode in (3, 86) or "Sanitizer" in p.stderr \
                or "runtime error:" in p.stderr:
            print(p.stderr.strip())
            print(f"{path}: scan --helper {helper}: crashed (exit {p.returncode})")
            bad = 1
            continue
        if p.returncode not in (0, 1):
            print(f"{path}: scan --helper {helper}: exit {p.returncode}: {p.stderr.strip()}")
            bad = 1
            continue
        sites = {int(s["address"], 16) for s in json.loads(p.stdout)["sites"]
                 if s.get("section") == "__TEXT,__text" and s.get("address")}
        missed = sorted(calls[sym] - sites)
        extra = sorted(sites - allowed)
        if missed or extra:
            where = {a: (m, t) for a, m, t in br}

            def what(a):
                m, t = where.get(a, ("?", None))
                dest = stubs.get(t, "no stub") if t is not None else "?"
                return f"{a:#x} ({m} {t:#x}: {dest})" if t is not None else f"{a:#x} (no branch)"
            print(f"{path}: scan --helper {helper}: {len(sites)} sites; calls to the stub of "
                  f"{sym} not found: {[hex(a) for a in missed[:8]]}; sites that are no branch "
                  f"to it: {', '.join(what(a) for a in extra[:8])}")
            bad = 1
            continue
        print(f"{os.path.basename(path)}: --helper {helper}: {len(sites)} sites, "
              f"all {len(calls[sym])} calls to its stub among them")
    return bad


if __name__ == "__main__":
    sys.exit(main())

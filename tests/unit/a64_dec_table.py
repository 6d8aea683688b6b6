#!/usr/bin/env python3
"""a64_dec_table.py - regenerate tests/unit/a64_dec_table.txt, the reference
table test_a64_dec.c checks rewriter/a64_dec.c against.

The table is committed; this script is only for regenerating it (review the
diff): the test never runs objdump.

    python3 tests/unit/a64_dec_table.py > tests/unit/a64_dec_table.txt

Encodings (deterministic):
  - every class the decoder decodes field by field (B, BL, B.cond, BC.cond,
    CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET and their PAC forms, ERET, DRPS, ADRP,
    ADR, ADD immediate, LDR unsigned offset, LDR literal, MOVZ/MOVN/MOVK,
    ORR-as-MOV): every register value of every register field, every bit of
    every immediate field (walking ones and all ones), every condition,
    tested bit, shift and size;
  - every single-bit neighbour of several encodings of each class (the
    masks must not accept a neighbour objdump calls something else);
  - the whole hint space, and samples of the system, exception and branch
    spaces;
  - 16000 uniformly random words (the conservative "which registers may it
    write" answer, over the whole encoding space).

Each line: ADDRESS WORD FLOW WRITES TEXT
  ADDRESS  where objdump placed the word (PC-relative operands depend on it)
  WORD     the instruction word
  FLOW     what objdump's mnemonic says about control flow:
           J unconditional branch (b), C conditional (b.cond, bc.cond, cbz,
           cbnz, tbz, tbnz), L call (bl), I indirect jump (br, braa...),
           R indirect call (blr, blraa...), E return (ret, retaa, eret, drps),
           T trap (brk, hlt, udf, dcps, tcancel), S supervisor call (svc, hvc,
           smc), U undefined (objdump: "undefined", or "NYI" for the reserved
           space 0x0020xxxx-0x003fxxxx), . anything else
  WRITES   general registers x0-x30 objdump's operand text says the
           instruction writes (bit n = xn): the first register operand
           unless the mnemonic is a store / compare / branch / system write /
           ..., both registers of pair loads, the status register of
           store-exclusives, the old-value register of atomics, writeback
           bases ("[xn, #8]!", "[xn], #8", MOPS "xn!"), x17 for the 1716 PAC
           hints, x30 for the SP/Z PAC hints and calls, x0-x7 for LD64B
  TEXT     objdump's text, comments removed, whitespace collapsed
"""
import random
import re
import struct
import subprocess
import sys
import tempfile

OBJDUMP = "aarch64-linux-gnu-objdump"
VMA = 0x10000000

words = []


def add(w):
    words.append(w & 0xffffffff)


def walk(bits):
    """0, all ones, and every single bit of a field of `bits` bits."""
    return [0, (1 << bits) - 1] + [1 << k for k in range(bits)]


# ---- the classes, field by field ----
for op in (0x14000000, 0x94000000):  # B, BL
    for v in walk(26):
        add(op | v)
for bc in (0, 0x10):  # B.cond, BC.cond
    for cond in range(16):
        add(0x54000000 | bc | cond | 5 << 5)
    for v in walk(19):
        add(0x54000000 | bc | 1 | v << 5)
for op in (0x34000000, 0x35000000):  # CBZ, CBNZ
    for sf in (0, 1):
        for rt in range(32):
            add(op | sf << 31 | 7 << 5 | rt)
        for v in walk(19):
            add(op | sf << 31 | v << 5 | 3)
for op in (0x36000000, 0x37000000):  # TBZ, TBNZ
    for b in range(64):
        add(op | (b >> 5) << 31 | (b & 31) << 19 | 9 << 5 | 16)
    for rt in range(32):
        add(op | rt | 3 << 19 | 1 << 5)
    for v in walk(14):
        add(op | v << 5 | 15)
for op in (0xd61f0000, 0xd63f0000, 0xd65f0000):  # BR, BLR, RET
    for rn in range(32):
        add(op | rn << 5)
for op in (0xd61f081f, 0xd63f081f):  # BRAAZ/BRABZ, BLRAAZ/BLRABZ
    for m in (0, 1):
        for rn in range(32):
            add(op | m << 10 | rn << 5)
for op in (0xd71f0800, 0xd73f0800):  # BRAA/BRAB, BLRAA/BLRAB
    for m in (0, 1):
        for r in range(32):
            add(op | m << 10 | r << 5 | 17)
            add(op | m << 10 | 16 << 5 | r)
for w in (0xd65f0bff, 0xd65f0fff, 0xd69f03e0, 0xd69f0bff, 0xd69f0fff, 0xd6bf03e0):
    add(w)
for op in (0x10000000, 0x90000000):  # ADR, ADRP
    for rd in range(32):
        add(op | 0x1234 << 5 | rd)
    for v in walk(21):
        add(op | (v & 3) << 29 | (v >> 2) << 5 | 16)
for sf in (0, 1):  # ADD (immediate)
    for sh in (0, 1):
        base = 0x11000000 | sf << 31 | sh << 22
        for r in range(32):
            add(base | 0x10 << 10 | 16 << 5 | r)
            add(base | 0x10 << 10 | r << 5 | 15)
            add(base | r << 5 | 31)
            add(base | 31 << 5 | r)
            add(base | r << 5 | r)
        for v in walk(12):
            add(base | v << 10 | 15 << 5 | 15)
for size in (2, 3):  # LDR (unsigned offset), 32 and 64 bits
    base = 0x39400000 | size << 30
    for r in range(32):
        add(base | 1 << 10 | 16 << 5 | r)
        add(base | 1 << 10 | r << 5 | 17)
        add(base | r << 5 | 15)
    for v in walk(12):
        add(base | v << 10 | 16 << 5 | 17)
for opc in (0, 1):  # LDR (literal), W and X
    base = 0x18000000 | opc << 30
    for r in range(32):
        add(base | 5 << 5 | r)
    for v in walk(19):
        add(base | v << 5 | 15)
for opc in (0, 2, 3):  # MOVN, MOVZ, MOVK
    for sf in (0, 1):
        for hw in range(4):
            base = 0x12800000 | sf << 31 | opc << 29 | hw << 21
            for r in range(32):
                add(base | 0x1234 << 5 | r)
            for v in walk(16) + [0x8000, 0xfffe, 0x7fff]:
                add(base | v << 5 | 15)
for sf in (0, 1):  # ORR (shifted register) as MOV
    base = 0x2a0003e0 | sf << 31
    for r in range(32):
        add(base | 1 << 16 | r)
        add(base | r << 16 | 15)

# ---- neighbours: every single-bit flip of a few encodings per class ----
reps = [0x94000010, 0x17fffffe, 0x54000041, 0x54000050, 0xb4000050, 0x35ffffef,
        0x36780050, 0xb7f80010, 0xd61f0220, 0xd63f0200, 0xd65f03c0, 0xd65f0000,
        0xd61f0a1f, 0xd63f0e3f, 0xd71f0a11, 0xd73f0e11, 0xd65f0bff, 0xd69f03e0,
        0xd69f0bff, 0xd6bf03e0, 0x90000010, 0xf000000f, 0x10000010, 0x910043ef,
        0x11400210, 0x910003ef, 0xf9400611, 0xb94007ef, 0x58000050, 0x1800004f,
        0xd2a0002f, 0x92800000, 0xf2c0024f, 0x52800020, 0xaa1003ef, 0x2a0103e0,
        0xd503201f, 0xd503245f, 0xd503219f, 0xd503233f, 0xd4000001, 0xd4200000]
for w in reps:
    for k in range(32):
        add(w ^ (1 << k))

# ---- the hint space, and samples of system / exception / branch spaces ----
for h in range(128):
    add(0xd503201f | h << 5)
for h in (0x00, 0x08, 0x19, 0x22, 0x40, 0x7f):
    add(0xd5032000 | h << 5 | 15)
rng = random.Random(20240611)
for _ in range(600):
    add(0xd5000000 | rng.getrandbits(24))
for _ in range(300):
    add(0xd4000000 | rng.getrandbits(24))
for _ in range(300):
    add(0xd6000000 | rng.getrandbits(25))
for _ in range(200):
    add(0x54000000 | rng.getrandbits(26))

# ---- uniformly random words ----
for _ in range(16000):
    add(rng.getrandbits(32))

# ---- objdump ----
with tempfile.NamedTemporaryFile(suffix=".bin") as f:
    f.write(b"".join(struct.pack("<I", w) for w in words))
    f.flush()
    out = subprocess.run([OBJDUMP, "-D", "-b", "binary", "-m", "aarch64",
                          "--adjust-vma=0x%x" % VMA, f.name],
                         check=True, capture_output=True, text=True).stdout

line_re = re.compile(r"^\s*([0-9a-f]+):\s+([0-9a-f]{8})\s+(.*)$")
text_of = {}
for line in out.splitlines():
    m = line_re.match(line)
    if not m:
        continue
    t = m.group(3)
    if t.startswith(".inst"):
        t = "undefined" if "undefined" in t else "nyi"  # "NYI": reserved, unallocated
    else:
        t = re.sub(r"\s*//.*$", "", t)
        t = re.sub(r"\s*;.*$", "", t)
        t = re.sub(r"\s+", " ", t).strip()
    text_of[int(m.group(1), 16)] = (int(m.group(2), 16), t)

BRANCH = {"b": "J", "bl": "L", "cbz": "C", "cbnz": "C", "tbz": "C", "tbnz": "C",
          "br": "I", "braa": "I", "brab": "I", "braaz": "I", "brabz": "I",
          "blr": "R", "blraa": "R", "blrab": "R", "blraaz": "R", "blrabz": "R",
          "ret": "E", "retaa": "E", "retab": "E", "eret": "E", "eretaa": "E",
          "eretab": "E", "drps": "E", "brk": "T", "hlt": "T", "udf": "T",
          "dcps1": "T", "dcps2": "T", "dcps3": "T", "tcancel": "T",
          "svc": "S", "hvc": "S", "smc": "S"}

# mnemonics whose first register operand is read, not written
NO_DEST = {"cmp", "cmn", "tst", "ccmp", "ccmn", "cmpp", "setf8", "setf16", "rmif",
           "prfm", "prfum", "rprfm", "msr", "sys", "sysp", "msrr", "dc", "ic", "at", "tlbi",
           "wfet", "wfit", "trcit", "gcspushm", "gcsss1", "cfp", "cpp", "dvp", "cosp",
           "brb", "bti", "hint"}
STATUS_STORES = re.compile(r"^st(l?xr[bh]?|l?xp|64bv0?)$")
PAIR_LOADS = re.compile(r"^(ldp|ldnp|ldpsw|ldxp|ldaxp|ldiapp|ldtp|ldtnp|mrrs|casp[al]*|"
                        r"swpp[al]*|ldclrp[al]*|ldsetp[al]*)$")
ATOMIC_RMW = re.compile(r"^(swp|ld(add|clr|eor|set|smax|smin|umax|umin))(a|al|l)?[bh]?$")
GPR = re.compile(r"^[xw](\d+)$")


def oracle(text):
    """(flow, writes) from objdump's text."""
    if text in ("undefined", "nyi"):
        return "U", 0
    if text == "hint #0x28":  # CHKFEAT X16 (binutils 2.40 predates it)
        return ".", 1 << 16
    parts = text.split(" ", 1)
    mn = parts[0]
    ops = [o.strip() for o in parts[1].split(",")] if len(parts) > 1 else []
    if mn.startswith("b.") or mn.startswith("bc."):
        flow = "C"
    else:
        flow = BRANCH.get(mn, ".")
    w = 0

    def reg(o):
        m = GPR.match(o)
        return int(m.group(1)) if m and int(m.group(1)) < 31 else None

    if mn.endswith("1716"):
        w |= 1 << 17
    if mn in ("xpaclri", "paciaz", "paciasp", "pacibz", "pacibsp",
              "autiaz", "autiasp", "autibz", "autibsp") or flow in "LR":
        w |= 1 << 30
    dest = []
    if flow != ".":
        pass
    elif mn == "ld64b":
        r = reg(ops[0])
        if r is not None:
            dest = [r + k for k in range(8) if r + k < 31]
    elif ATOMIC_RMW.match(mn):
        dest = [ops[1]] if len(ops) > 1 else []
    elif PAIR_LOADS.match(mn):
        dest = ops[:2]
    elif STATUS_STORES.match(mn):
        dest = ops[:1]
    elif mn.startswith("st") or mn in NO_DEST:
        dest = []
    elif ops:
        dest = ops[:1]
    for o in dest:
        r = o if isinstance(o, int) else reg(o)
        if r is not None:
            w |= 1 << r
    # writeback: "[xn, #imm]!", "[xn]!", "[xn], #imm", "[xn], xm", MOPS "xn!"
    for m in re.finditer(r"\[(x\d+)[^\]]*\]!|\[(x\d+)\], |(?<![\[\w])(x\d+)!", text):
        r = reg(m.group(1) or m.group(2) or m.group(3))
        if r is not None:
            w |= 1 << r
    return flow, w


print("# a64_dec_table.txt - generated by tests/unit/a64_dec_table.py from")
print("# %s; ADDRESS WORD FLOW WRITES TEXT (see the script)." %
      subprocess.run([OBJDUMP, "--version"], capture_output=True, text=True).stdout.splitlines()[0])
for i, w in enumerate(words):
    addr = VMA + 4 * i
    got, text = text_of[addr]
    assert got == w, (hex(addr), hex(got), hex(w))
    flow, wr = oracle(text)
    print("%x %08x %s %08x %s" % (addr, w, flow, wr, text))

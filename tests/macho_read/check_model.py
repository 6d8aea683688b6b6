#!/usr/bin/env python3
"""check_model.py - the Mach-O reader's model (model_dump) held against what
the toolchain says.

usage:
  check_model.py relocs MODEL_DUMP OBJ LINKED
      every x86-64 BRANCH32 / PCREL32 and arm64 CALL26 / PAGE21 / LO12
      relocation and every ABS64 of OBJ (the model's normalised S + A - P,
      resp. S + A) must give the value ld64.lld-14 wrote into the field (or
      encoded into the instruction) of LINKED (OBJ linked): this pins the
      implicit addends, the SIGNED_1/2/4 biases, non-extern relocations and
      folded ARM64_RELOC_ADDEND pairs; and the model must
      have one relocation per raw entry (pairs counted once), per
      llvm-objdump --macho -r.
  check_model.py image MODEL_DUMP IMAGE
      a linked image: sections (names, addresses, sizes) as llvm-readobj
      lists them; __got and __la_symbol_ptr are GOT, __DATA_CONST is RELRO,
      __stubs / __stub_helper are the helper's PLT sections; every rebase
      slot reads back as the value stored in the file, every bind as
      unknown (slots decoded by machotool.py, an independent reader); an
      imported helper has a slot and its __stubs entry as an address
      (llvm-objdump --macho --indirect-symbols).
  check_model.py same MODEL_DUMP A B
      A and B (the same image with classic and with chained fixups) have the
      same fixup slots, the same read_pointer values and helper slots.
Prints one line per failure; exit 1 on any.
"""
import re
import struct
import subprocess
import sys

from machotool import MachO

FAIL = []


def fail(msg):
    FAIL.append(msg)
    print("FAIL " + msg)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    return r.stdout


def dump(md, path):
    out = run([md, path])
    m = {"sec": [], "sym": [], "rel": [], "func": [], "haddr": [], "hslot": [], "hplt": [],
         "fix": [], "ptr": {}, "hsym": [], "kind": []}
    for line in out.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "error":
            fail("%s: %s" % (path, line))
            return m
        if f[0] == "ptr":
            m["ptr"][int(f[1], 16)] = f[2]
        elif f[0] in m:
            m[f[0]].append(f[1:])
    m["fixups"] = m["kind"][0][-1] if m["kind"] else None
    return m


def nm(path):
    res = {}
    for line in run(["llvm-nm-14", path]).splitlines():
        f = line.split()
        if len(f) == 3:
            res[f[2]] = int(f[0], 16)
    return res


def segments(path):
    """[(vmaddr, vmsize, fileoff, filesize)] from llvm-otool -l."""
    segs, cur = [], {}
    for line in run(["llvm-otool-14", "-l", path]).splitlines():
        f = line.split()
        if len(f) == 2 and f[0] in ("vmaddr", "vmsize", "fileoff", "filesize"):
            cur[f[0]] = int(f[1], 0)
            if len(cur) == 4:
                segs.append((cur["vmaddr"], cur["vmsize"], cur["fileoff"], cur["filesize"]))
                cur = {}
    return segs


def read_va(data, segs, va, size):
    for vm, vs, fo, fs in segs:
        if vm <= va < vm + fs:
            off = fo + va - vm
            return data[off:off + size]
    return None


def check_relocs(md, obj, linked):
    m = dump(md, obj)
    syms_obj = {f[1]: (int(f[2]), int(f[3], 16)) for f in m["sym"] if f[2] != "-1"}
    secs = [f[1] for f in m["sec"]]
    lnk = nm(linked)
    data = open(linked, "rb").read()
    segs = segments(linked)
    # where each object section landed: through a defined symbol in it
    base = {}
    for name, (sec, val) in syms_obj.items():
        if name in lnk and sec not in base:
            base[sec] = lnk[name] - val
    # a section without symbols (only OBJ has it): its linked address
    out = run(["llvm-readobj-14", "--sections", linked])
    for blk in out.split("Section {")[1:]:
        g = lambda k: re.search(k + r": (\S+)", blk).group(1)
        name = "%s,%s" % (g("Segment"), g("Name"))
        if name in secs and secs.index(name) not in base:
            base[secs.index(name)] = int(g("Address"), 16)
    # count raw entries: pairs (SUBTRACTOR + UNSIGNED, ADDEND + next) count once
    raw = run(["llvm-objdump-14", "--macho", "-r", obj])
    nraw = len(re.findall(r"^[0-9a-f]{8} ", raw, re.M))
    npair = len(re.findall(r"^[0-9a-f]{8} .* (SUB|ADDEND) ", raw, re.M))
    if len(m["rel"]) != nraw - npair:
        fail("%s: %d model relocations, %d raw entries with %d pairs" %
             (obj, len(m["rel"]), nraw, npair))
    checked = 0
    for sec, off, kind, addend, sym, _raw, _idx in m["rel"]:
        sec, off, kind, addend = int(sec), int(off, 16), int(kind), int(addend)
        if kind not in (1, 2, 6, 8, 10, 11) or sec not in base:
            continue
        if sym in secs:  # a section symbol: the section's linked address
            s_val = base.get(secs.index(sym))
        elif sym in syms_obj and syms_obj[sym][0] in base:
            s_val = base[syms_obj[sym][0]] + syms_obj[sym][1]
        else:
            s_val = lnk.get(sym)
        if s_val is None:
            continue
        p = base[sec] + off
        if kind == 6:
            b = read_va(data, segs, p, 8)
            want, got = s_val + addend, struct.unpack("<Q", b)[0] if b else None
        elif kind in (8, 10, 11):  # arm64: decode what lld encoded
            b = read_va(data, segs, p, 4)
            insn = struct.unpack("<I", b)[0] if b else 0
            t = s_val + addend
            if kind == 8:  # bl / b: imm26 * 4 = S + A - P
                imm = insn & 0x3ffffff
                got = (imm - (1 << 26) if imm >> 25 else imm) * 4
                want = t - p
            elif kind == 10:  # adrp: page(S + A) - page(P)
                imm = (insn >> 29 & 3) | (insn >> 5 & 0x7ffff) << 2
                got = (imm - (1 << 21) if imm >> 20 else imm) << 12
                want = (t & ~0xfff) - (p & ~0xfff)
            else:  # add (unscaled) or ldr/str unsigned offset (scaled by size)
                imm12 = insn >> 10 & 0xfff
                scale = insn >> 30 if (insn >> 24 & 0x3b) == 0x39 else 0
                got, want = imm12 << scale, t & 0xfff
        else:
            b = read_va(data, segs, p, 4)
            want, got = s_val + addend - p, struct.unpack("<i", b)[0] if b else None
        checked += 1
        if want != got:
            fail("%s: %s+0x%x (kind %d, %s%+d): model gives 0x%x, linked field holds %s" %
                 (obj, secs[sec], off, kind, sym, addend, want & (2**64 - 1),
                  hex(got) if got is not None else None))
    if checked < 10:
        fail("%s: only %d relocations could be checked" % (obj, checked))
    print("relocs %s: %d relocations checked against %s" % (obj, checked, linked))


def bind_slots(path):
    """(va, name) of every bind, lazy bind and weak bind (machotool.py)."""
    return [(va, name) for va, name, _o, _a, _s in MachO(open(path, "rb").read()).binds()]


def rebase_slots(path):
    return MachO(open(path, "rb").read()).rebases()


def check_image(md, path):
    m = dump(md, path)
    if FAIL:
        return
    # sections against llvm-readobj
    out = run(["llvm-readobj-14", "--sections", path])
    want = []
    for blk in out.split("Section {")[1:]:
        g = lambda k: re.search(k + r": (\S+)", blk).group(1)
        want.append(("%s,%s" % (g("Segment"), g("Name")), int(g("Address"), 16), int(g("Size"), 16)))
    have = [(f[1], int(f[3], 16), int(f[4], 16)) for f in m["sec"]]
    if want != have:
        fail("%s: sections %s, llvm-readobj %s" % (path, have, want))
    flags = {f[1]: f[2] for f in m["sec"]}
    idx = {f[1]: int(f[0]) for f in m["sec"]}
    for name, fl in flags.items():
        if name.endswith(",__got") or name.endswith(",__la_symbol_ptr"):
            if "g" not in fl:
                fail("%s: %s is not GOT (%s)" % (path, name, fl))
        if name.startswith("__DATA_CONST,") and "r" not in fl:
            fail("%s: %s is not RELRO (%s)" % (path, name, fl))
        if name.startswith("__TEXT,__text") and "x" not in fl:
            fail("%s: %s is not EXEC" % (path, name))
        if name in ("__TEXT,__cstring", "__TEXT,__const", "__TEXT,__unwind_info") and "x" in fl:
            fail("%s: data section %s is EXEC" % (path, name))
        if name in ("__TEXT,__stubs", "__TEXT,__stub_helper") and str(idx[name]) not in [h[0] for h in m["hplt"]]:
            fail("%s: %s is not a PLT section of the helper" % (path, name))
    # fixups: every rebase reads back as the file's value, every bind unknown
    data = open(path, "rb").read()
    segs = segments(path)
    binds = bind_slots(path)
    bound = {va for va, _ in binds}
    rebases = rebase_slots(path)
    fixed = {int(f[0], 16) for f in m["fix"]}
    for va in rebases:
        if va not in fixed:
            fail("%s: rebase at 0x%x missing" % (path, va))
            continue
        if va in bound:
            continue
        b = read_va(data, segs, va, 8)
        if m["ptr"].get(va) != "0x%x" % struct.unpack("<Q", b)[0]:
            fail("%s: read_pointer(0x%x) = %s, file holds 0x%x" %
                 (path, va, m["ptr"].get(va), struct.unpack("<Q", b)[0]))
    for va, name in binds:
        if va not in fixed or m["ptr"].get(va) != "unsupported":
            fail("%s: bind of %s at 0x%x: %s" % (path, name, va, m["ptr"].get(va)))
    if len(fixed) != len(set(rebases) | bound):
        fail("%s: %d fixup slots, llvm-objdump lists %d" % (path, len(fixed), len(set(rebases) | bound)))
    # the helper
    hslots = {int(h[0], 16) for h in m["hslot"]}
    want_slots = {va for va, name in binds if name == "_GenericPInvokeCalliHelper"}
    if not want_slots <= hslots:
        fail("%s: helper slots %s, binds %s" % (path, sorted(hslots), sorted(want_slots)))
    haddrs = {int(h[0], 16) for h in m["haddr"]}
    lnk = nm(path)
    if "_GenericPInvokeCalliHelper" in lnk and lnk["_GenericPInvokeCalliHelper"] not in haddrs:
        fail("%s: the helper's address is not a helper address" % path)
    ind = run(["llvm-objdump-14", "--macho", "--indirect-symbols", path])
    stubs = None
    for line in ind.splitlines():
        if "(__TEXT,__stubs)" in line:
            stubs = True
            continue
        if line.startswith("Indirect symbols for"):
            stubs = False
        mm = re.match(r"(0x[0-9a-f]+)\s+\d+\s+(\S+)", line)
        if stubs and mm and mm.group(2) == "_GenericPInvokeCalliHelper":
            if int(mm.group(1), 16) not in haddrs:
                fail("%s: the helper's __stubs entry %s is not a helper address" % (path, mm.group(1)))
            else:
                print("image %s: helper's stub %s found" % (path, mm.group(1)))
    print("image %s: %d sections, %d rebases, %d binds checked" %
          (path, len(have), len(rebases), len(binds)))


def check_same(md, a, b):
    ma, mb = dump(md, a), dump(md, b)
    if ma["fixups"] != "classic" or mb["fixups"] != "chained":
        fail("%s / %s: fixups %s / %s, want classic / chained" % (a, b, ma["fixups"], mb["fixups"]))
    if ma["ptr"] != mb["ptr"]:
        diff = {k: (ma["ptr"].get(k), mb["ptr"].get(k)) for k in set(ma["ptr"]) | set(mb["ptr"])
                if ma["ptr"].get(k) != mb["ptr"].get(k)}
        fail("%s / %s: read_pointer differs at %d slots: %s" %
             (a, b, len(diff), sorted(diff.items())[:4]))
    if sorted(ma["hslot"]) != sorted(mb["hslot"]) or sorted(ma["haddr"]) != sorted(mb["haddr"]):
        fail("%s / %s: helper slots or addresses differ" % (a, b))
    print("same %s %s: %d fixup slots agree" % (a, b, len(ma["ptr"])))


def main():
    mode = sys.argv[1]
    if mode == "relocs":
        check_relocs(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "image":
        for p in sys.argv[3:]:
            check_image(sys.argv[2], p)
    elif mode == "same":
        check_same(sys.argv[2], sys.argv[3], sys.argv[4])
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""crosscheck.py - compare what the PE/COFF back-end reads (pe_dump --json,
the describe JSON of formats/pe*.c) with independent readers.

    crosscheck.py r2r PE_DUMP IMAGE...   ReadyToRun images: against
                                         tests/pe/r2r_facts.py
    crosscheck.py pe PE_DUMP IMAGE...    PE32+ images: against llvm-readobj
                                         (headers, sections, imports, exports,
                                         base relocations, the helper's slots)

Prints one line per image; exits 1 on any difference.
"""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r2r_facts  # noqa: E402

HELPER = "GenericPInvokeCalliHelper"
failures = 0


def fail(img, what, got, want):
    global failures
    failures += 1
    print(f"crosscheck: {img}: {what}: pe_dump says {got!r}, the independent reader {want!r}")


def eq(img, what, got, want):
    if got != want:
        fail(img, what, got, want)


def pe_dump(tool, img):
    out = subprocess.run([tool, "--json", img], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def check_r2r(tool, img):
    before = failures
    d = pe_dump(tool, img)
    r = d["readytorun"]
    f = r2r_facts.facts(img)
    eq(img, "header rva", r["header_rva"], f["header_rva"])
    eq(img, "header size", r["header_size"], f["header_size"])
    eq(img, "signature", r["signature"], f["signature"])
    eq(img, "version", (r["major"], r["minor"]), (f["major"], f["minor"]))
    eq(img, "flags", r["flags"]["value"], f["flags"])
    eq(img, "sections", [[s["type"], s["rva"], s["size"]] for s in r["sections"]], f["sections"])
    eq(img, "compiler identifier", r["compiler_identifier"], f.get("compiler"))
    eq(img, "import section count", len(r["import_sections"]), len(f["imports"]))
    for i, (a, b) in enumerate(zip(r["import_sections"], f["imports"])):
        eq(img, f"import section {i}",
           (a["rva"], a["size"], a["flags"]["value"], a["type"]["value"], a["entry_size"],
            a["signatures_rva"], a["auxiliary_data_rva"]),
           (b["rva"], b["size"], b["flags"], b["type"], b["entry_size"], b["signatures"], b["aux"]))
        eq(img, f"import section {i} slots", len(a["slots"]), len(b["slots"]))
        for k, (s, t) in enumerate(zip(a["slots"], b["slots"])):
            fx = s["fixup"] or {}
            mine = (s["rva"], s["signature_rva"] if fx else None,
                    (fx.get("kind") | (0x80 if fx.get("module_override") is not None else 0)) if fx else None,
                    (fx.get("helper") or {}).get("id"), fx.get("module_override"))
            theirs = (t["rva"], t.get("sig"), t.get("kind"), t.get("helper"), t.get("module"))
            eq(img, f"import section {i} slot {k}", mine, theirs)
    eq(img, "slot count", r["slots"], f["nslots"])
    rf = r["runtime_functions"]
    eq(img, "runtime functions", [[e["begin"], e["end"], e["unwind"]] for e in rf["entries"]],
       f["runtime_functions"])
    me = r["method_entry_points"]
    eq(img, "MethodDef rows", me["rows"], f.get("methoddef_count"))
    eq(img, "entry points",
       [(e["rid"], e["runtime_function"], [tuple(x) for x in e["fixups"]]) for e in me["entries"]],
       [(e["rid"], e["index"], [tuple(x) for x in e["fixups"]]) for e in f["entry_points"]])
    eq(img, "helper slots (Helper 0x47)", r["helper_slots"],
       [f["image_base"] + x for x in f["helper_slots_0x47"]])
    eq(img, "model helper slots", d["helper"]["slots"], [])
    eq(img, "exception directory", [x for x in d["data_directories"] if x["name"] == "exception"][0]["rva"],
       f["pdata"][0])
    if failures == before:
        print(f"crosscheck: {os.path.basename(img)}: ReadyToRun {r['major']}.{r['minor']}, "
          f"{len(r['sections'])} sections, {len(r['import_sections'])} import sections / {r['slots']} slots, "
              f"{rf['count']} runtime functions, {len(me['entries'])} entry points: agree")


def readobj(img):
    text = subprocess.run(["llvm-readobj", "--file-headers", "--sections", "--coff-imports",
                           "--coff-basereloc", img], capture_output=True, text=True, check=True).stdout
    # llvm-readobj gives up on some export tables (e.g. no names at all)
    exp = subprocess.run(["llvm-readobj", "--coff-exports", img], capture_output=True, text=True)
    return text, exp.stdout if exp.returncode == 0 else None


def parse_readobj(both):
    """The facts this check needs, from llvm-readobj's text output."""
    text, exports = both
    facts = {"sections": [], "imports": [], "delay": [], "exports": [], "dir64": 0}
    m = re.search(r"ImageBase: 0x([0-9A-F]+)", text)
    facts["image_base"] = int(m.group(1), 16)
    m = re.search(r"ExportTableRVA: 0x([0-9A-F]+)\s+ExportTableSize: 0x([0-9A-F]+)", text)
    facts["export_dir"] = (int(m.group(1), 16), int(m.group(2), 16))
    m = re.search(r"ExceptionTableRVA: 0x([0-9A-F]+)\s+ExceptionTableSize: 0x([0-9A-F]+)", text)
    facts["exception"] = (int(m.group(1), 16), int(m.group(2), 16))
    facts["dll"] = "IMAGE_FILE_DLL " in text
    for flag in ("DYNAMIC_BASE", "NX_COMPAT", "GUARD_CF", "HIGH_ENTROPY_VA"):
        facts[flag] = f"IMAGE_DLL_CHARACTERISTICS_{flag} " in text
    for s in re.finditer(r"Section \{\s+Number: \d+\s+Name: (\S+) .*?\n\s+VirtualSize: 0x([0-9A-F]+)\s+"
                         r"VirtualAddress: 0x([0-9A-F]+)", text, re.S):
        facts["sections"].append((s.group(1), int(s.group(3), 16), int(s.group(2), 16)))
    block = None
    for line in text.splitlines():
        line = line.strip()
        if line == "Import {" and block is None:
            block = {"syms": [], "delay": False}
        elif line == "DelayImport {":
            block = {"syms": [], "delay": True}
        elif block is not None and line.startswith("Name: ") and "name" not in block:
            block["name"] = line[6:]
        elif block is not None and line.startswith("ImportAddressTableRVA: "):
            block["iat"] = int(line.split()[1], 16)
        elif block is not None and line.startswith("ImportAddressTable: "):
            block["iat"] = int(line.split()[1], 16)
        elif block is not None and line.startswith("Symbol: "):
            block["syms"].append(line[8:].rsplit(" (", 1)[0])
        elif block is not None and line == "}" and "name" in block and not block.get("_inner"):
            (facts["delay"] if block["delay"] else facts["imports"]).append(block)
            block = None
        elif block is not None and line == "Import {":
            block["_inner"] = True
        elif block is not None and line == "}" and block.get("_inner"):
            block["_inner"] = False
        if line.startswith("Type: DIR64"):
            facts["dir64"] += 1
    if exports is None:
        facts["exports"] = None
    else:
        for e in re.finditer(r"Export \{\s+Ordinal: \d+\s+Name: (\S*)\s+RVA: 0x([0-9A-F]+)", exports):
            facts["exports"].append((e.group(1), int(e.group(2), 16)))
    return facts


def check_pe(tool, img):
    before = failures
    d = pe_dump(tool, img)
    f = parse_readobj(readobj(img))
    base = f["image_base"]
    eq(img, "image base", d["image_base"], base)
    eq(img, "kind", d["kind"], "dll" if f["dll"] else "exe")
    eq(img, "ASLR", d["aslr"], f["DYNAMIC_BASE"])
    eq(img, "DEP", d["dep"], f["NX_COMPAT"])
    eq(img, "CFG", d["cfg"], f["GUARD_CF"])
    eq(img, "high entropy VA", d["high_entropy_va"], f["HIGH_ENTROPY_VA"])
    eq(img, "sections", [(s["name"], s["rva"], s["virtual_size"]) for s in d["sections"]],
       [(n, va, vs) for n, va, vs in f["sections"]])
    mine = [(x["name"], x["functions"], x["iat_rva"], x["delay"]) for x in d["imports"]["dlls"]]
    theirs = [(b["name"], len(b["syms"]), b["iat"], False) for b in f["imports"]] + \
             [(b["name"], len(b["syms"]), b["iat"], True) for b in f["delay"]]
    eq(img, "imported DLLs", mine, theirs)
    slots = []
    for b in f["imports"] + f["delay"]:
        for i, s in enumerate(b["syms"]):
            if s == HELPER:
                slots.append(base + b["iat"] + 8 * i)
    # the model may add the __imp_ symbol's slot (the same address)
    eq(img, "helper IAT slots", sorted(set(d["helper"]["slots"])), sorted(set(slots)))
    lo, size = f["export_dir"]
    if f["exports"] is not None:
        named = [e for e in f["exports"] if e[0] and not (lo <= e[1] < lo + size)]
        eq(img, "named exports (not forwarded)", d["exports"], len(named))
    eq(img, "DIR64 base relocations", d["base_relocations"]["dir64"], f["dir64"])
    exc = [x for x in d["data_directories"] if x["name"] == "exception"]
    want = f["exception"][1] // (8 if d["machine"] == "arm64" else 12)
    eq(img, "exception entries", d["exception_entries"] if exc else 0, want)
    if failures == before:
        print(f"crosscheck: {os.path.basename(img)}: {len(d['sections'])} sections, "
              f"{len(mine)} DLLs, {d['imports']['functions']} imports, {len(slots)} helper slot(s), "
              f"{d['exports']} exports, {d['base_relocations']['dir64']} DIR64: agree with llvm-readobj")


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("r2r", "pe"):
        print(__doc__, file=sys.stderr)
        return 2
    for img in sys.argv[3:]:
        (check_r2r if sys.argv[1] == "r2r" else check_pe)(sys.argv[2], img)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""scan_json.py JSON NSLICES - check `callirw scan --json` of a real Mach-O
file that does not call the helper: a thin file (NSLICES 0) is one scan
object of a Mach-O format with no site; a fat file is one object whose
"slices" holds NSLICES scan objects (no {"error"} entry), none with a site.
Prints one line describing what scan saw; exit 1 with the reason otherwise."""
import json
import sys


def thin(o, where):
    if not isinstance(o, dict):
        raise ValueError(f"{where}: not a JSON object")
    if o.get("error"):
        raise ValueError(f"{where}: scan could not read this slice")
    fmt = o.get("format", "")
    if not isinstance(fmt, str) or not fmt.startswith("Mach-O"):
        raise ValueError(f"{where}: format {fmt!r}, not Mach-O")
    sites = o.get("sites")
    summary = o.get("summary") or {}
    if not isinstance(sites, list):
        raise ValueError(f"{where}: no \"sites\" list")
    if sites or summary.get("sites", 0) != 0:
        addrs = ", ".join(str(s.get("address", s.get("addr", "?"))) for s in sites[:5]
                          if isinstance(s, dict))
        raise ValueError(f"{where}: {max(len(sites), summary.get('sites', 0))} false site(s): "
                         f"{addrs}")
    return f"{o.get('machine', '?')} {o.get('kind', '?')}"


def main():
    path, nslices = sys.argv[1], int(sys.argv[2])
    try:
        with open(path, encoding="utf-8") as f:
            o = json.load(f)
    except (OSError, ValueError) as e:
        print(f"scan --json: not one JSON document ({e})")
        return 1
    try:
        if nslices == 0:
            print(thin(o, "scan"))
            return 0
        slices = o.get("slices") if isinstance(o, dict) else None
        if not isinstance(slices, list):
            raise ValueError("a fat file, but no \"slices\" list")
        if len(slices) != nslices:
            raise ValueError(f"{len(slices)} slices, the fat header has {nslices}")
        print(f"{o.get('format', '?')}: " +
              ", ".join(thin(s, f"slice {i}") for i, s in enumerate(slices)))
        return 0
    except ValueError as e:
        print(e)
        return 1


if __name__ == "__main__":
    sys.exit(main())

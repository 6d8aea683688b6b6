#!/usr/bin/env python3
"""collect.py LIST KIND ROOT... - the files of one corpus source (docs/corpus.md).

Walks each ROOT (a directory, recursively; a file; or @FILE: the paths listed
in FILE, one a line), keeps the regular files whose magic is of KIND, each
file once (by device and inode: hard links and symlinks to the same file are
one), and writes LIST: one line per file, "SIZE<TAB>PATH", largest first (so
that parallel workers start on the long jobs). Prints one JSON object on
stdout with what was skipped and why.

KIND: elf (ELF magic), pe (MZ: PE and PE32 alike; the reader decides), bin
(ELF, MZ or Mach-O, thin or fat) or obj (archive members: ELF, COFF by its
machine field or a short import object, Mach-O). Symlinks to directories are not followed
(counted), so the walk stays inside ROOT.
"""
import json
import os
import stat
import sys


def magic_class(head):
    """What the first bytes say, for the skip counts and KIND."""
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:2] == b"MZ":
        return "pe"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe"):
        return "macho"
    if head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") and len(head) >= 8:
        # Java class files share the magic, with a large version there
        if int.from_bytes(head[4:8], "big") <= 32:
            return "macho"
    # COFF objects have no magic: the machine field (x86-64, arm64, i386),
    # or a short import object (0, 0xffff) as in import libraries
    if len(head) >= 4 and (head[:2] in (b"\x64\x86", b"\x64\xaa", b"\x4c\x01")
                           or head[:4] == b"\x00\x00\xff\xff"):
        return "coff"
    if head[:8] == b"!<arch>\n":
        return "ar archive"
    if head[:2] == b"#!":
        return "script"
    if head[:4] == b"\x00asm":
        return "wasm"
    return "other"


KINDS = {"elf": {"elf"}, "pe": {"pe"}, "bin": {"elf", "pe", "macho"},
         "obj": {"elf", "coff", "macho"}}


def walk(root, counts):
    """Every path under root (root itself when it is not a directory)."""
    if root.startswith("@"):
        with open(root[1:], encoding="utf-8") as f:
            for line in f:
                if line.rstrip("\n"):
                    yield line.rstrip("\n")
        return
    if not os.path.isdir(root):
        if not os.path.lexists(root):
            counts["missing roots"] = counts.get("missing roots", 0) + 1
            return
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: bump(counts, "unreadable directories")):
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                bump(counts, "directory symlinks not followed")
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def bump(counts, key, n=1):
    counts[key] = counts.get(key, 0) + n


def main():
    if len(sys.argv) < 4 or sys.argv[2] not in KINDS:
        sys.exit("usage: collect.py LIST elf|pe|bin|obj ROOT...")
    out, kind, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
    want = KINDS[kind]
    seen = set()
    files = []
    skipped = {}
    for root in roots:
        for path in walk(root, skipped):
            if "\n" in path or "\t" in path:
                bump(skipped, "names with a tab or newline")
                continue
            try:
                st = os.stat(path)  # follows symlinks: the file itself
            except OSError:
                bump(skipped, "broken symlinks or unreadable")
                continue
            if not stat.S_ISREG(st.st_mode):
                bump(skipped, "not regular files")
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                bump(skipped, "same file again (hard link or symlink)")
                continue
            seen.add(key)
            try:
                with open(path, "rb") as f:
                    head = f.read(8)
            except OSError:
                bump(skipped, "unreadable")
                continue
            cls = magic_class(head)
            if cls in want:
                files.append((st.st_size, path))
            else:
                bump(skipped, "not %s: %s" % (kind, cls))
    files.sort(key=lambda t: (-t[0], t[1]))
    with open(out, "w", encoding="utf-8") as f:
        for size, path in files:
            f.write("%d\t%s\n" % (size, path))
    json.dump({"files": len(files), "bytes": sum(s for s, _ in files), "skipped": skipped},
              sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()

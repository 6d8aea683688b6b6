#!/usr/bin/env python3
"""ar_extract.py OUTDIR ROOT... - the members of every `ar` archive under ROOT
(recursively; by magic, each archive once by device and inode) as files of
OUTDIR, for the corpus run's optional `archives` source (docs/corpus.md).

Members are written as OUTDIR/NNNN-ARCHIVE/MMMMM-NAME, so that members of the
same name (common in static libraries) are all kept. GNU and BSD long names
are resolved; the symbol tables ("/", "/SYM64/", "__.SYMDEF") are skipped;
thin archives (members outside the archive) are skipped. A malformed archive
stops at the bad header (counted). Prints one JSON object of counts.
"""
import json
import os
import re
import stat
import sys

MAGIC = b"!<arch>\n"


def members(data):
    """(name, bytes) of each member; raises ValueError on a bad header."""
    pos = len(MAGIC)
    longnames = b""
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        if hdr[58:60] != b"`\n":
            raise ValueError("bad member header at %d" % pos)
        name = hdr[0:16].rstrip(b" ")
        size = int(hdr[48:58].strip() or b"0")
        body = data[pos + 60:pos + 60 + size]
        if len(body) != size:
            raise ValueError("member past the end at %d" % pos)
        pos += 60 + size + (size & 1)
        if name in (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
            continue
        if name == b"//":
            longnames = body
            continue
        if re.match(rb"^/\d+$", name):
            off = int(name[1:])
            end = longnames.find(b"\n", off)
            name = longnames[off:end if end >= 0 else len(longnames)].rstrip(b"/")
        elif name.startswith(b"#1/"):  # BSD: the name leads the body
            n = int(name[3:])
            name, body = body[:n].rstrip(b"\0"), body[n:]
        else:
            name = name.rstrip(b"/")
        yield name.decode("utf-8", "replace"), body


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: ar_extract.py OUTDIR ROOT...")
    out = sys.argv[1]
    counts = {"archives": 0, "members": 0, "bad archives": 0, "thin archives": 0}
    seen = set()
    paths = []
    for root in sys.argv[2:]:
        for dirpath, _, filenames in os.walk(root):
            paths += [os.path.join(dirpath, f) for f in sorted(filenames)]
    for path in paths:
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with open(path, "rb") as f:
                head = f.read(8)
                if head == b"!<thin>\n":
                    counts["thin archives"] += 1
                    continue
                if head != MAGIC:
                    continue
                data = head + f.read()
        except OSError:
            continue
        counts["archives"] += 1
        base = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(path))
        d = os.path.join(out, "%04d-%s" % (counts["archives"], base))
        os.makedirs(d, exist_ok=True)
        try:
            for i, (name, body) in enumerate(members(data)):
                safe = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(name)) or "member"
                with open(os.path.join(d, "%05d-%s" % (i, safe)), "wb") as f:
                    f.write(body)
                counts["members"] += 1
        except ValueError:
            counts["bad archives"] += 1
    json.dump(counts, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""csverify.py - verify the embedded code signatures of Mach-O files, thin or
fat, independently of formats/macho_sign.c (its own parsing; hashlib).

For each image: find LC_CODE_SIGNATURE, parse the SuperBlob and every
CodeDirectory in it, recompute every page hash over [0, codeLimit) and the
special slots it can (requirements, entitlements), check codeLimit == the
signature's file offset, the slot count, and the execSeg fields against
__TEXT. One line per image; exit status 1 on any mismatch (or on an unsigned
image with --require-signed), 2 on usage errors.

usage: csverify.py [--require-signed] FILE...
"""
import hashlib
import struct
import sys

CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CSMAGIC_REQUIREMENTS = 0xFADE0C01
CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xFADE7171
CSMAGIC_EMBEDDED_DER_ENTITLEMENTS = 0xFADE7172
CSMAGIC_BLOBWRAPPER = 0xFADE0B01
CSSLOT_CODEDIRECTORY = 0
CSSLOT_REQUIREMENTS = 2
CSSLOT_ENTITLEMENTS = 5
CSSLOT_DER_ENTITLEMENTS = 7
CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000
CSSLOT_SIGNATURESLOT = 0x10000
CS_EXECSEG_MAIN_BINARY = 1
MH_EXECUTE = 2
LC_SEGMENT_64 = 0x19
LC_CODE_SIGNATURE = 0x1D

HASHES = {1: ("sha1", 20), 2: ("sha256", 32), 3: ("sha256", 20), 4: ("sha384", 48)}


class Bad(Exception):
    pass


def be32(b, off):
    if off < 0 or off + 4 > len(b):
        raise Bad("read past the end at 0x%x" % off)
    return struct.unpack_from(">I", b, off)[0]


def be64(b, off):
    if off < 0 or off + 8 > len(b):
        raise Bad("read past the end at 0x%x" % off)
    return struct.unpack_from(">Q", b, off)[0]


def digest(kind, data):
    name, size = HASHES[kind]
    return hashlib.new(name, data).digest()[:size]


def parse_thin(img):
    """(filetype, (dataoff, datasize) or None, (text fileoff, filesize) or None)"""
    if len(img) < 32:
        raise Bad("too small for a Mach-O header")
    magic, _cpu, _sub, filetype, ncmds, sizeofcmds = struct.unpack_from("<6I", img, 0)
    if magic != 0xFEEDFACF:
        raise Bad("not a 64-bit little-endian Mach-O (magic 0x%08x)" % magic)
    end = 32 + sizeofcmds
    if end > len(img):
        raise Bad("load commands run past the file")
    off, cs, text = 32, None, None
    for i in range(ncmds):
        if off + 8 > end:
            raise Bad("load command %d runs past sizeofcmds" % i)
        cmd, size = struct.unpack_from("<2I", img, off)
        if size < 8 or off + size > end:
            raise Bad("load command %d has a bad size" % i)
        if cmd == LC_CODE_SIGNATURE:
            if cs is not None:
                raise Bad("two LC_CODE_SIGNATURE commands")
            if size < 16:
                raise Bad("LC_CODE_SIGNATURE too small")
            cs = struct.unpack_from("<2I", img, off + 8)
        elif cmd == LC_SEGMENT_64 and size >= 72:
            name = img[off + 8:off + 24].rstrip(b"\0")
            if name == b"__TEXT" and text is None:
                text = struct.unpack_from("<QQQQ", img, off + 24)[2:4]
        off += size
    return filetype, cs, text


def check_cd(img, sig, cdoff, filetype, cs, text, blobs):
    """Verify one CodeDirectory at sig[cdoff:]; returns a summary string."""
    if be32(sig, cdoff) != CSMAGIC_CODEDIRECTORY:
        raise Bad("slot is not a CodeDirectory")
    length = be32(sig, cdoff + 4)
    if length < 44 or cdoff + length > len(sig):
        raise Bad("CodeDirectory length %d out of range" % length)
    cd = sig[cdoff:cdoff + length]
    (version, flags, hash_off, ident_off, nspecial, ncode, code_limit) = struct.unpack_from(
        ">7I", cd, 8)
    hash_size, hash_type, _platform, page_shift = cd[36], cd[37], cd[38], cd[39]
    if hash_type not in HASHES:
        raise Bad("unknown hash type %d" % hash_type)
    if HASHES[hash_type][1] != hash_size:
        raise Bad("hash size %d does not match hash type %d" % (hash_size, hash_type))
    if ident_off >= length or b"\0" not in cd[ident_off:]:
        raise Bad("identifier out of range")
    ident = cd[ident_off:cd.index(b"\0", ident_off)].decode("utf-8", "replace")
    if version >= 0x20300 and length >= 64 and be64(cd, 56):
        code_limit = be64(cd, 56)  # codeLimit64
    if code_limit != cs[0]:
        raise Bad("codeLimit 0x%x != signature offset 0x%x" % (code_limit, cs[0]))
    page = 1 << page_shift if page_shift else code_limit
    want = (code_limit + page - 1) // page if page else 0
    if ncode != want:
        raise Bad("%d code slots, %d pages" % (ncode, want))
    if hash_off < nspecial * hash_size or hash_off + ncode * hash_size > length:
        raise Bad("hash slots outside the CodeDirectory")
    for i in range(ncode):
        got = cd[hash_off + i * hash_size:hash_off + (i + 1) * hash_size]
        calc = digest(hash_type, img[i * page:min((i + 1) * page, code_limit)])
        if got != calc:
            raise Bad("page %d (offset 0x%x) hash mismatch" % (i, i * page))
    # special slots we can recompute: -n is the hash of blob slot n
    for slot in (CSSLOT_REQUIREMENTS, CSSLOT_ENTITLEMENTS, CSSLOT_DER_ENTITLEMENTS):
        if slot > nspecial:
            continue
        got = cd[hash_off - slot * hash_size:hash_off - (slot - 1) * hash_size]
        if slot in blobs:
            if got != digest(hash_type, blobs[slot]):
                raise Bad("special slot -%d hash mismatch" % slot)
        elif any(got):
            raise Bad("special slot -%d set, but no blob %d" % (slot, slot))
    if version >= 0x20400:
        if length < 88:
            raise Bad("version 0x%x but only %d bytes" % (version, length))
        base, limit, eflags = be64(cd, 64), be64(cd, 72), be64(cd, 80)
        if text is None:
            raise Bad("execSeg fields but no __TEXT segment")
        if (base, limit) != text:
            raise Bad("execSeg (0x%x, 0x%x) != __TEXT file range (0x%x, 0x%x)"
                      % (base, limit, text[0], text[1]))
        if bool(eflags & CS_EXECSEG_MAIN_BINARY) != (filetype == MH_EXECUTE):
            raise Bad("execSegFlags 0x%x for file type %d" % (eflags, filetype))
    return "ident=%s flags=0x%x version=0x%x hash=%s pages=%d/%d special=%d" % (
        ident, flags, version, HASHES[hash_type][0], ncode, page, nspecial)


def check_image(img):
    filetype, cs, text = parse_thin(img)
    if cs is None:
        return None
    off, size = cs
    if off + size > len(img) or size < 12:
        raise Bad("signature (0x%x, %d) outside the file" % (off, size))
    sig = img[off:off + size]
    if be32(sig, 0) != CSMAGIC_EMBEDDED_SIGNATURE:
        raise Bad("not an embedded-signature SuperBlob")
    length, count = be32(sig, 4), be32(sig, 8)
    if length > size or 12 + 8 * count > length:
        raise Bad("SuperBlob length %d / count %d out of range" % (length, count))
    sig = sig[:length]
    blobs, cds = {}, []
    for i in range(count):
        typ, boff = be32(sig, 12 + 8 * i), be32(sig, 16 + 8 * i)
        if boff < 12 + 8 * count or boff + 8 > length:
            raise Bad("blob %d offset 0x%x out of range" % (i, boff))
        blen = be32(sig, boff + 4)
        if blen < 8 or boff + blen > length:
            raise Bad("blob %d length %d out of range" % (i, blen))
        if typ in blobs:
            raise Bad("slot %d twice" % typ)
        blobs[typ] = sig[boff:boff + blen]
        if typ == CSSLOT_CODEDIRECTORY or (CSSLOT_ALTERNATE_CODEDIRECTORIES <= typ
                                           < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5):
            cds.append(boff)
    if CSSLOT_CODEDIRECTORY not in blobs:
        raise Bad("no CodeDirectory")
    out = [check_cd(img, sig, c, filetype, cs, text, blobs) for c in cds]
    return "; ".join(out)


def images(data):
    """(label, bytes) for each image: the slices of a fat file, or the file."""
    if len(data) >= 8 and struct.unpack_from(">I", data)[0] in (0xCAFEBABE, 0xCAFEBABF):
        magic, n = struct.unpack_from(">2I", data)
        wide = magic == 0xCAFEBABF
        entry = 32 if wide else 20
        if n == 0 or n > 64 or 8 + n * entry > len(data):
            raise Bad("implausible fat header (%d slices)" % n)
        for i in range(n):
            if wide:
                cpu, sub, off, size, _a, _r = struct.unpack_from(">iiQQII", data, 8 + i * 32)
            else:
                cpu, sub, off, size, _a = struct.unpack_from(">iiIII", data, 8 + i * 20)
            if off + size > len(data):
                raise Bad("slice %d outside the file" % i)
            yield "cpu 0x%x/0x%x" % (cpu & 0xffffffff, sub & 0xffffffff), data[off:off + size]
    else:
        yield None, data


def main(argv):
    require = "--require-signed" in argv
    files = [a for a in argv if a != "--require-signed"]
    if not files:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
            for label, img in images(data):
                name = path if label is None else "%s[%s]" % (path, label)
                try:
                    res = check_image(img)
                    if res is None:
                        print("%s: %sunsigned" % (name, "FAIL " if require else ""))
                        bad += require
                    else:
                        print("%s: ok %s" % (name, res))
                except (Bad, struct.error, ValueError) as e:
                    print("%s: FAIL %s" % (name, e))
                    bad += 1
        except (Bad, OSError) as e:
            print("%s: FAIL %s" % (path, e))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""mksig.py IN OUT [IDENT] - replace the signature of a signed thin arm64
image with one laid out like `codesign -s -` output: a SuperBlob holding a
CodeDirectory (version 0x20400, CS_ADHOC only, two special slots), an empty
requirements blob (slot 2, its hash in special slot -2) and an empty CMS
wrapper (slot 0x10000). The signature stays at its offset; its size,
LC_CODE_SIGNATURE and __LINKEDIT follow. For the verifier's special-slot
checks and for reading a signature that is not lld's. Prints
reqs_off=N: the requirements blob's file offset."""
import hashlib
import struct
import sys


def main(src, dst, ident):
    img = bytearray(open(src, "rb").read())
    ncmds, sizeofcmds = struct.unpack_from("<2I", img, 16)
    off, cs, le, text = 32, None, None, None
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<2I", img, off)
        if cmd == 0x1D:
            cs = off
        elif cmd == 0x19 and img[off + 8:off + 24].rstrip(b"\0") == b"__LINKEDIT":
            le = off
        elif cmd == 0x19 and img[off + 8:off + 24].rstrip(b"\0") == b"__TEXT":
            text = struct.unpack_from("<QQ", img, off + 40)
        off += size
    filetype = struct.unpack_from("<I", img, 12)[0]
    sig_off = struct.unpack_from("<I", img, cs + 8)[0]
    page = 4096
    npages = (sig_off + page - 1) // page
    reqs = struct.pack(">3I", 0xFADE0C01, 12, 0)
    cms = struct.pack(">2I", 0xFADE0B01, 8)
    ident_b = ident.encode() + b"\0"
    nspecial = 2
    hash_off = 88 + len(ident_b) + nspecial * 32
    cd_len = hash_off + npages * 32
    # the header first: page 0 is hashed with the new sizes in it
    sig_len = 12 + 3 * 8 + cd_len + len(reqs) + len(cms)
    sig_len += -sig_len % 16
    struct.pack_into("<I", img, cs + 12, sig_len)
    le_off, le_size = struct.unpack_from("<QQ", img, le + 40)
    struct.pack_into("<Q", img, le + 48, sig_off + sig_len - le_off)
    vmsize = struct.unpack_from("<Q", img, le + 32)[0]
    struct.pack_into("<Q", img, le + 32, max(vmsize, (sig_off + sig_len - le_off + 0x3FFF) & ~0x3FFF))
    code = bytes(img[:sig_off])
    # slot n at hash_off - 32 n: slot -2 (requirements) first, then -1 (no Info.plist)
    special = hashlib.sha256(reqs).digest() + b"\0" * 32
    cd = struct.pack(">7I", 0xFADE0C02, cd_len, 0x20400, 0x2, hash_off, 88, nspecial)
    cd += struct.pack(">2I", npages, sig_off)
    cd += struct.pack(">4B", 32, 2, 0, 12) + b"\0" * 4      # hash size/type, platform, page shift
    cd += b"\0" * 4 + b"\0" * 4 + b"\0" * 4 + b"\0" * 8     # scatter, team, spare3, codeLimit64
    cd += struct.pack(">3Q", text[0], text[1], 1 if filetype == 2 else 0)
    assert len(cd) == 88
    cd += ident_b + special
    for i in range(npages):
        cd += hashlib.sha256(code[i * page:min((i + 1) * page, sig_off)]).digest()
    assert len(cd) == cd_len
    hdr = 12 + 3 * 8
    blobs = [(0, cd), (2, reqs), (0x10000, cms)]
    sb = b""
    pos = hdr
    for typ, b in blobs:
        sb += struct.pack(">2I", typ, pos)
        pos += len(b)
    sig = struct.pack(">3I", 0xFADE0CC0, pos, 3) + sb + b"".join(b for _, b in blobs)
    sig += b"\0" * (-len(sig) % 16)
    assert len(sig) == sig_len
    out = code + sig
    open(dst, "wb").write(out)
    # where the requirements blob is, for a test that corrupts it
    print("reqs_off=%d" % (sig_off + hdr + len(cd)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "com.example.prog")

#!/usr/bin/env python3
"""check_image.py IN OUT [SITE_VA ...] - an independent reading of a
rewritten Mach-O image against its input (docs/macho-images.md):

 - the header keeps its flags, with one more command: __CALLIRW (r-x, two
   sections __text and __map), right before __LINKEDIT's command, at
   __LINKEDIT's old address and file offset, page-sized;
 - __LINKEDIT is last, moved up by __CALLIRW's size in memory and file;
 - every table in __LINKEDIT reads the same (symbols, strings, indirect
   symbols, dyld info, exports, data in code, ...), wherever it moved, each
   as aligned as before; LC_FUNCTION_STARTS holds the input's starts plus
   starts inside __CALLIRW,__text only;
 - the code signature, when there is one, is last and 16-aligned;
 - every byte before __LINKEDIT is the input's, except the load commands,
   __TEXT,__unwind_info and the given sites (each SITE_VA:LEN);
 - the map starts with the map magic.
Exit 1 with one line per failure."""
import struct
import sys

LC_SEGMENT_64 = 0x19
LINKEDIT_DATA = {0x1d: 'code signature', 0x1e: 'split info', 0x26: 'function starts',
                 0x29: 'data in code', 0x2b: 'code sign DRs', 0x2e: 'optimization hints',
                 0x80000033: 'exports trie', 0x80000034: 'chained fixups'}
PAGE = {0x01000007: 0x1000, 0x0100000c: 0x4000}
fails = []


def fail(msg):
    fails.append(msg)


def parse(data):
    magic, cpu, _sub, ftype, ncmds, sizeofcmds, flags, _r = struct.unpack_from('<8I', data, 0)
    assert magic == 0xfeedfacf, 'not a 64-bit Mach-O'
    cmds, segs, off = [], [], 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from('<II', data, off)
        cmds.append((cmd, off, size))
        if cmd == LC_SEGMENT_64:
            name = data[off + 8:off + 24].rstrip(b'\0').decode()
            vmaddr, vmsize, fileoff, filesize, maxp, initp, nsects, sflags = struct.unpack_from(
                '<4Q4I', data, off + 24)
            sects = []
            for i in range(nsects):
                q = off + 72 + 80 * i
                sn = data[q:q + 16].rstrip(b'\0').decode()
                addr, ssize, soff = struct.unpack_from('<QQI', data, q + 32)
                sects.append((sn, addr, ssize, soff, q))
            segs.append(dict(name=name, vmaddr=vmaddr, vmsize=vmsize, fileoff=fileoff,
                             filesize=filesize, maxprot=maxp, initprot=initp, sects=sects, lc=off))
        off += size
    return dict(cpu=cpu, ftype=ftype, ncmds=ncmds, sizeofcmds=sizeofcmds, flags=flags, cmds=cmds,
                segs=segs)


def blobs(data, m):
    """(name, offset, size, alignment-needed) of every table in __LINKEDIT."""
    out = []
    for cmd, off, _size in m['cmds']:
        if cmd == 0x2:
            symoff, nsyms, stroff, strsize = struct.unpack_from('<4I', data, off + 8)
            out += [('symbols', symoff, nsyms * 16), ('strings', stroff, strsize)]
        elif cmd == 0xb:
            v = struct.unpack_from('<18I', data, off + 8)
            for name, i, es in (('toc', 6, 8), ('modtab', 8, 56), ('extrefs', 10, 4),
                                ('indirect', 12, 4), ('extrel', 14, 8), ('locrel', 16, 8)):
                out.append((name, v[i], v[i + 1] * es))
        elif cmd in (0x22, 0x80000022):
            v = struct.unpack_from('<10I', data, off + 8)
            for i, name in enumerate(('rebase', 'bind', 'weak bind', 'lazy bind', 'export')):
                out.append((name, v[2 * i], v[2 * i + 1]))
        elif cmd in LINKEDIT_DATA:
            o, s = struct.unpack_from('<II', data, off + 8)
            out.append((LINKEDIT_DATA[cmd], o, s))
    return [b for b in out if b[2]]


def uleb_list(buf):
    vals, cur, i = [], 0, 0
    while i < len(buf):
        v, sh = 0, 0
        while True:
            c = buf[i]
            i += 1
            v |= (c & 0x7f) << sh
            sh += 7
            if not c & 0x80:
                break
        if v == 0:
            break
        cur += v
        vals.append(cur)
    return vals


def low_align(x):
    return x & -x if x else 1 << 30


def main():
    a = open(sys.argv[1], 'rb').read()
    b = open(sys.argv[2], 'rb').read()
    sites = [tuple(int(x, 16) if i == 0 else int(x) for i, x in enumerate(s.split(':')))
             for s in sys.argv[3:]]
    ma, mb = parse(a), parse(b)
    page = PAGE[ma['cpu']]
    if mb['flags'] != ma['flags'] or mb['ftype'] != ma['ftype'] or mb['cpu'] != ma['cpu']:
        fail('header flags, type or CPU changed')
    if mb['ncmds'] != ma['ncmds'] + 1 or mb['sizeofcmds'] != ma['sizeofcmds'] + 232:
        fail('expected exactly one more command of 232 bytes')
    names_a = [s['name'] for s in ma['segs']]
    names_b = [s['name'] for s in mb['segs']]
    if names_b != names_a[:-1] + ['__CALLIRW', '__LINKEDIT'] or names_a[-1] != '__LINKEDIT':
        fail('segments %s -> %s: __CALLIRW must come right before __LINKEDIT' % (names_a, names_b))
        return
    le_a, crw, le_b = ma['segs'][-1], mb['segs'][-2], mb['segs'][-1]
    size = crw['vmsize']
    if (crw['vmaddr'], crw['fileoff']) != (le_a['vmaddr'], le_a['fileoff']) or size % page or \
            crw['filesize'] != size or size == 0:
        fail('__CALLIRW is not at __LINKEDIT\'s old place, page-sized')
    if crw['maxprot'] != 5 or crw['initprot'] != 5:
        fail('__CALLIRW is not r-x')
    if [s[0] for s in crw['sects']] != ['__text', '__map']:
        fail('__CALLIRW sections: %s' % [s[0] for s in crw['sects']])
        return
    text, mp = crw['sects']
    if text[1] != crw['vmaddr'] or text[3] != crw['fileoff'] or mp[1] + mp[2] > crw['vmaddr'] + size:
        fail('__CALLIRW sections misplaced')
    if b[mp[3]:mp[3] + 8] != b'CRWMAP\0\1':
        fail('__map does not start with the map magic')
    if le_b['vmaddr'] != le_a['vmaddr'] + size or le_b['fileoff'] != le_a['fileoff'] + size:
        fail('__LINKEDIT did not move by __CALLIRW\'s size')
    if le_b['fileoff'] + le_b['filesize'] != len(b) or le_b['vmsize'] < le_b['filesize']:
        fail('__LINKEDIT does not end the file, or its vmsize is short')
    for s in mb['segs'][:-1]:
        if s['vmaddr'] + s['vmsize'] > le_b['vmaddr'] or s['fileoff'] + s['filesize'] > le_b['fileoff']:
            fail('segment %s lies above __LINKEDIT' % s['name'])
    ba, bb = blobs(a, ma), blobs(b, mb)
    if [x[0] for x in ba] != [x[0] for x in bb]:
        fail('tables in __LINKEDIT: %s -> %s' % ([x[0] for x in ba], [x[0] for x in bb]))
        return
    text_vm = ma['segs'][[s['fileoff'] == 0 and s['filesize'] > 0 for s in ma['segs']].index(True)]['vmaddr']
    for (name, oa, sa), (_n, ob, sb) in zip(ba, bb):
        if not le_b['fileoff'] <= ob <= ob + sb <= len(b):
            fail('%s lies outside the new __LINKEDIT' % name)
        rel_a, rel_b = oa - le_a['fileoff'], ob - le_b['fileoff']
        if low_align(rel_b) < min(low_align(rel_a), 16):
            fail('%s lost its alignment (0x%x -> 0x%x)' % (name, oa, ob))
        if name == 'function starts':
            fa, fb = uleb_list(a[oa:oa + sa]), uleb_list(b[ob:ob + sb])
            extra = sorted(set(fb) - set(fa))
            if not set(fa) <= set(fb) or not extra or fb != sorted(fb):
                fail('function starts: %d -> %d, not a sorted superset with the stubs' % (len(fa), len(fb)))
            for x in extra:
                if not text[1] <= text_vm + x < text[1] + text[2]:
                    fail('function start 0x%x is not in __CALLIRW,__text' % (text_vm + x))
            if extra and text_vm + extra[0] != text[1]:
                fail('the first stub is not a function start')
        elif name == 'code signature':
            if ob % 16 or ob + sb != len(b):
                fail('the code signature is not last and 16-aligned')
        elif name == 'chained fixups':
            pass  # one more segment: compared by dyld's rules, not byte for byte
        elif a[oa:oa + sa] != b[ob:ob + sb]:
            fail('%s changed' % name)
    # bytes before __LINKEDIT: the input's, but for the allowed ranges
    allowed = [(0, 32 + mb['sizeofcmds'])]
    for s in ma['segs']:
        for sn, addr, ssize, soff, _q in s['sects']:
            if sn == '__unwind_info' and s['name'] == '__TEXT':
                end = soff + ssize
                while end < len(a) and a[end] == 0:
                    end += 1
                allowed.append((soff, end))
    for va, ln in sites:
        for s in ma['segs']:
            if s['filesize'] and s['vmaddr'] <= va < s['vmaddr'] + s['filesize']:
                allowed.append((s['fileoff'] + va - s['vmaddr'], s['fileoff'] + va - s['vmaddr'] + ln))
    diff = [i for i in range(le_a['fileoff']) if a[i] != b[i]]
    bad = [i for i in diff if not any(lo <= i < hi for lo, hi in allowed)]
    if bad:
        fail('%d bytes before __LINKEDIT changed outside the commands, unwind info and sites '
             '(first at 0x%x)' % (len(bad), bad[0]))
    for va, ln in sites:
        if not any(a[i] != b[i] for lo, hi in allowed[-len(sites):] for i in range(lo, hi)):
            fail('no site was patched')
            break


main()
for f in fails:
    print('check_image: %s: %s' % (sys.argv[2], f))
sys.exit(1 if fails else 0)

#!/usr/bin/env python3
"""seeds.py - build the seed corpora of the libFuzzer harnesses (docs/fuzz.md).

  tests/fuzz/seeds.py OUT BUILD CALLIRW [--max-size N] [--max-count N]

OUT/<harness>/ receives files named by their SHA-1 (duplicates collapse):
  elf, pe, macho  the test programs of that format under BUILD/tests,
                  BUILD/gen and BUILD/examples, their rewritten outputs
                  (made here with CALLIRW: maps for the map reader), and real
                  binaries: small system ELF files, a few wine PE DLLs, the
                  ReadyToRun corpus, the Mach-O corpus when it is cached
  rewrite         the test programs of every format (they have sites) and
                  the rewritten outputs (already rewritten: nothing to do)
and every harness the fixed sample tests/fuzz/seeds/FORMAT/ (rewrite: all).
  sig             tests/fuzz/sig_seeds.txt (one option byte, then the blob)
Deterministic: candidates are sorted by path; files over --max-size are
skipped (never truncated); when more than --max-count remain, an even
stride over the sorted list picks them. Prints one summary line per
harness."""
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def magic_format(path):
    try:
        with open(path, 'rb') as f:
            h = f.read(64)
    except OSError:
        return None
    if h[:4] == b'\x7fELF':
        return 'elf'
    if h[:2] == b'MZ':
        return 'pe'
    if h[:4] in (b'\xcf\xfa\xed\xfe', b'\xce\xfa\xed\xfe', b'\xca\xfe\xba\xbf'):
        return 'macho'
    # fat Mach-O (CAFEBABE is shared with Java classes: a small arch count)
    if h[:4] == b'\xca\xfe\xba\xbe' and len(h) >= 8 and 0 < int.from_bytes(h[4:8], 'big') < 16:
        return 'macho'
    # COFF objects: x86-64 / arm64 machine, or a bigobj header
    if h[:2] in (b'\x64\x86', b'\x64\xaa') or h[:4] == b'\x00\x00\xff\xff':
        return 'pe'
    return None


def walk(root, skip=()):
    out = []
    if not os.path.isdir(root):
        return out
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if os.path.join(d, x) not in skip and x != 'wineprefix')
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(p)
    return sorted(out)


def macho_corpus(build):
    """The Mach-O corpus files tools/corpus_macho.sh lists when it is cached
    (--list-only fetches nothing); none when it is not."""
    d = os.path.join(build, 'corpus', 'macho')
    tool = os.path.join(HERE, '..', '..', 'tools', 'corpus_macho.sh')
    try:
        r = subprocess.run([tool, '--list-only', '--dir', d], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return []
    if r.returncode != 0:
        return []
    return sorted(os.path.join(d, line) for line in r.stdout.split('\n') if line.strip())


def pick(paths, max_size, max_count):
    ok = [p for p in paths if 0 < os.path.getsize(p) <= max_size]
    if len(ok) <= max_count:
        return ok
    step = len(ok) / max_count
    return [ok[int(i * step)] for i in range(max_count)]


def put(outdir, data):
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(outdir, name)
    if not os.path.exists(path):
        with open(path, 'wb') as f:
            f.write(data)
        return 1
    return 0


def main():
    args = sys.argv[1:]
    max_size, max_count = 256 * 1024, 300
    while '--max-size' in args or '--max-count' in args:
        for opt in ('--max-size', '--max-count'):
            if opt in args:
                i = args.index(opt)
                v = int(args[i + 1])
                del args[i:i + 2]
                if opt == '--max-size':
                    max_size = v
                else:
                    max_count = v
    if len(args) != 3:
        sys.exit(__doc__)
    out, build, callirw = args
    for h in ('sig', 'elf', 'pe', 'macho', 'rewrite'):
        os.makedirs(os.path.join(out, h), exist_ok=True)

    # the test programs, by format
    tests = []
    for sub in ('tests', 'gen', 'examples'):
        tests += walk(os.path.join(build, sub))
    byfmt = {'elf': [], 'pe': [], 'macho': []}
    for p in tests:
        f = magic_format(p)
        if f:
            byfmt[f].append(p)
    count = {h: 0 for h in ('sig', 'elf', 'pe', 'macho', 'rewrite')}
    rewrite_in = []
    for f, paths in byfmt.items():
        chosen = pick(paths, max_size, max_count)
        for p in chosen:
            with open(p, 'rb') as fh:
                data = fh.read()
            count[f] += put(os.path.join(out, f), data)
        rewrite_in += pick(paths, max_size // 2, max_count // 3)
    for p in sorted(rewrite_in):
        with open(p, 'rb') as fh:
            count['rewrite'] += put(os.path.join(out, 'rewrite'), fh.read())

    # rewritten outputs: images carrying a rewrite map
    nrew = 0
    if os.access(callirw, os.X_OK):
        with tempfile.TemporaryDirectory() as tmp:
            for p in sorted(rewrite_in):
                if nrew >= max_count // 3:
                    break
                o = os.path.join(tmp, 'out')
                r = subprocess.run([callirw, 'rewrite', p, '-o', o], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=60)
                if r.returncode == 0 and os.path.getsize(o) <= max_size:
                    with open(o, 'rb') as fh:
                        data = fh.read()
                    f = magic_format(o)
                    if f:
                        count[f] += put(os.path.join(out, f), data)
                        count['rewrite'] += put(os.path.join(out, 'rewrite'), data)
                        nrew += 1
                if os.path.exists(o):
                    os.unlink(o)

    # real binaries nobody here wrote
    real = {
        'elf': pick(walk('/usr/bin')[:4000], max_size // 2, 40)
               + pick(walk('/usr/lib/x86_64-linux-gnu'), max_size // 2, 20)
               + pick(walk('/usr/aarch64-linux-gnu/lib'), max_size // 2, 20),
        'pe': pick(walk('/usr/lib/x86_64-linux-gnu/wine/x86_64-windows'), max_size // 2, 30)
              + pick(walk(os.path.join(build, '..', '..', 'shared', 'corpus', 'r2r'))
                     + walk(os.path.join(os.getcwd(), '..', 'shared', 'corpus', 'r2r')), max_size, 20),
        'macho': pick(macho_corpus(build), max_size, 20),
    }
    for f, paths in real.items():
        for p in paths:
            if magic_format(p) == f:
                with open(p, 'rb') as fh:
                    count[f] += put(os.path.join(out, f), fh.read())

    # the fixed sample make check replays (tests/fuzz/seeds/FORMAT/)
    for f in ('elf', 'pe', 'macho'):
        for p in walk(os.path.join(HERE, 'seeds', f)):
            with open(p, 'rb') as fh:
                data = fh.read()
            count[f] += put(os.path.join(out, f), data)
            count['rewrite'] += put(os.path.join(out, 'rewrite'), data)

    # signatures: an option byte, then the blob (hex, one per line, # comments)
    with open(os.path.join(HERE, 'sig_seeds.txt')) as fh:
        for line in fh:
            line = line.split('#', 1)[0].strip()
            if line:
                count['sig'] += put(os.path.join(out, 'sig'), bytes.fromhex(line))

    for h in ('sig', 'elf', 'pe', 'macho', 'rewrite'):
        n = len(os.listdir(os.path.join(out, h)))
        print(f'seeds: {h}: {n} files ({count[h]} new)' +
              (f', {nrew} rewritten outputs among the readers\'' if h == 'rewrite' else ''))


if __name__ == '__main__':
    main()

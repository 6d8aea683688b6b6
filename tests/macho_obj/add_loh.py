#!/usr/bin/env python3
"""add_loh.py < sites.S > out.S (arm64): linker optimisation hints for the
writer's filter. Each helper call (`bl`/`b _GenericPInvokeCalliHelper`,
`blr`/`br x16` after the GOT load) gets a hint naming it and the instruction
after it (the writer must drop those); each function's first two
instructions get one that names no site (the writer must keep those).
Prints the counts on stderr: "sites N kept M"."""
import re
import sys

out, hints, nsite, nkeep, pending = [], [], 0, 0, None
call = re.compile(r'\s*(bl|b)\s+_GenericPInvokeCalliHelper\s*$|\s*(blr|br)\s+x16\s*$')
for line in sys.stdin:
    if pending is not None and re.match(r'\s+[a-z]', line):
        # the instruction after a labelled one
        out.append('%s:\n' % pending)
        pending = None
    if call.match(line):
        out.append('Lloh_s%d:\n' % nsite)
        hints.append('\t.loh AdrpAdd Lloh_s%d, Lloh_t%d\n' % (nsite, nsite))
        pending = 'Lloh_t%d' % nsite
        nsite += 1
    out.append(line)
    if re.match(r'_gen\d*_site_\d+:', line):
        out.append('Lloh_f%d:\n' % nkeep)
        hints.append('\t.loh AdrpAdd Lloh_f%d, Lloh_g%d\n' % (nkeep, nkeep))
        pending_first = 'Lloh_g%d' % nkeep
        nkeep += 1
        # label the second instruction of the function
        out.append('\tnop\n%s:\n\tnop\n' % pending_first)
if pending is not None:
    out.append('%s:\n\tnop\n' % pending)
sys.stdout.write(''.join(out) + ''.join(hints))
sys.stderr.write('sites %d kept %d\n' % (nsite, nkeep))

#!/usr/bin/env python3
"""sites.py DISASM - the helper's call sites in `llvm-objdump --macho -d`
output (direct or through its __stubs entry), as VA:FORM:LEN for
mw_selftest; with --targets, each call instruction as VA TARGET (the branch
target the disassembler printed), for checking a rewritten image."""
import re
import sys

LINE = re.compile(r'^\s*([0-9a-f]+):\t([0-9a-f ]+)\t(\w+)\t(\S+)(.*)$')


def main():
    targets = sys.argv[1] == '--targets'
    text = open(sys.argv[-1]).read().splitlines()
    for ln in text:
        m = LINE.match(ln)
        if not m:
            continue
        va, hexb, op, arg, rest = m.groups()
        n = len(hexb.split())
        if targets:
            if op in ('callq', 'jmp', 'bl', 'b', 'call'):
                print(va, arg.lstrip('0x') and arg)
            continue
        if 'GenericPInvokeCalliHelper' not in arg + rest:
            continue
        form = {'callq': 'call', 'call': 'call', 'jmp': 'jmp', 'jmpq': 'jmp', 'bl': 'bl', 'b': 'b'}.get(op)
        if form:
            print('%s:%s:%d' % (va, form, n))


main()

#!/usr/bin/env python3
"""add_cfi.py ARCH < sites.S > out.S: wrap every _gen_site_N function of a
generated sites.S in .cfi_startproc / .cfi_endproc (a function ends before
the next section directive: its literal pool stays in) and add one function
with a standard frame, so that the assembler emits __LD,__compact_unwind
(which the writer must then grow and move) and, on x86-64, __eh_frame (whose
relocations name symbols that the writer renumbers)."""
import re
import sys

out, inside = [], False
for line in sys.stdin:
    if inside and re.match(r'\s*\.(text|data|section|const|cstring|bss|zerofill)\b', line):
        out.append('\t.cfi_endproc\n')
        inside = False
    out.append(line)
    if re.match(r'_gen\d*_site_\d+:', line):
        out.append('\t.cfi_startproc\n')
        inside = True
if inside:
    out.append('\t.cfi_endproc\n')
FRAMED = {
    'x86_64': ['pushq %rbp', '.cfi_def_cfa_offset 16', '.cfi_offset %rbp, -16',
               'movq %rsp, %rbp', '.cfi_def_cfa_register %rbp', 'popq %rbp', 'retq'],
    'arm64': ['stp x29, x30, [sp, #-16]!', '.cfi_def_cfa_offset 16', 'mov x29, sp',
              '.cfi_def_cfa w29, 16', '.cfi_offset w30, -8', '.cfi_offset w29, -16',
              'ldp x29, x30, [sp], #16', 'ret'],
}[sys.argv[1]]
out.append('\t.text\n\t.p2align 2\n\t.globl _gen_cu_framed\n_gen_cu_framed:\n\t.cfi_startproc\n')
out += ['\t%s\n' % i for i in FRAMED]
out.append('\t.cfi_endproc\n')
sys.stdout.write(''.join(out))

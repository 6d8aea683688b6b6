# pe_unwind.awk STUBS READOBJ-LOG (tests/rewrite/hook_pe.sh): STUBS has one
# "stub ADDRESS SIZE" line per framed stub (decimal VAs, from inspect --json);
# READOBJ-LOG is llvm-readobj --unwind output. Every top-level
# RUNTIME_FUNCTION, in order: the table must stay sorted and disjoint
# (RtlLookupFunctionEntry bisects it), and a framed stub's entry covers its
# framed part: it starts inside the stub, at its first prologue instruction
# (the frameless head before it needs none, docs/abi.md section 7), and ends
# with the stub. Prints what is wrong and exits 1. (POSIX awk: mawk has no
# strtonum.)
  FILENAME == ARGV[1] { want[$2] = $3; next }   # STUBS: "stub ADDRESS SIZE" (may be empty)
  function num(h) { h = tolower(h); sub(/^0x/, "", h); v = 0
    for (k = 1; k <= length(h); k++) v = v * 16 + index("0123456789abcdef", substr(h, k, 1)) - 1
    return v }
  /^  RuntimeFunction \{/ { top = 1 }
  /^    StartAddress:/ && top { s = $NF; gsub(/[()]/, "", s); s = num(s) }
  /^    EndAddress:/ && top { e = $NF; gsub(/[()]/, "", e); e = num(e); top = 0; n++
    if (s < prev || e <= s) { printf "entry %d: [%.0f, %.0f) after one ending at %.0f\n", n, s, e, prev; bad = 1; exit }
    prev = e; ends[e] = s }
  END { if (bad) exit 1
        if (!n) { print "no unwind entries"; exit 1 }
        for (a in want) { e = a + want[a]
          if (!(e in ends) || ends[e] < a + 0) { printf "no unwind entry covering the framed stub at %.0f\n", a; exit 1 } } }

#!/usr/bin/env bash
# selftest.sh MACHORUN WORKDIR - the harness proves itself (docs/harness.md).
#
# Per architecture: tests/macho_run/selftest.c linked with the Mach-O
# runtime must print exactly its output (stdout and stderr apart) and exit
# with main's value; abort's exit status, an unmapped read, a write to
# read-only memory, a jump into data, an invalid instruction, an unknown
# system call and an endless loop must each give their status and one line.
# Then generated programs (exe, dylib-sites, dylib-rt: callirw-gen) must
# print expected.txt, and corrupted copies must fail: the rebase opcodes
# cut (the slid image's pointers stay unslid), the lazy binds cut (the
# stubs reach dyld_stub_binder), a bound symbol renamed (unresolved), and a
# string of the program changed (the output differs from expected.txt).
# Fat files: each slice runs by --arch.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=$1; W=$2
case "$RUN" in /*) ;; *) RUN=$PWD/$RUN ;; esac
GEN=$ROOT/build/gen/callirw-gen
rm -rf "$W"; mkdir -p "$W"; W=$(cd "$W" && pwd)
fails=0 checks=0
bad() { echo "check-macho-run: FAIL: $*"; fails=$((fails + 1)); }

# expect NAME STATUS STDOUT-FILE|- STDERR-REGEX -- machorun args
expect() {
  local name=$1 st=$2 out=$3 re=$4 rc=0; shift 5
  checks=$((checks + 1))
  "$RUN" "$@" >"$W/$name.out" 2>"$W/$name.err" || rc=$?
  [ "$rc" = "$st" ] || { bad "$name: exit status $rc, want $st ($(head -c 300 "$W/$name.err"))"; return; }
  if [ "$out" != - ] && ! cmp -s "$W/$name.out" "$out"; then bad "$name: stdout differs from $out"; return; fi
  if [ "$re" = '^$' ]; then
    [ ! -s "$W/$name.err" ] || bad "$name: stderr not empty: $(head -c 300 "$W/$name.err")"
    return
  fi
  grep -Eiq -- "$re" "$W/$name.err" || bad "$name: stderr does not match /$re/: $(head -c 300 "$W/$name.err")"
  [ "$(wc -l < "$W/$name.err")" -le 1 ] || bad "$name: more than one line on stderr"
}

# patch FILE what: corrupt a copy of a Mach-O image (python: an independent reader)
patch() {
  python3 - "$@" <<'PY'
import struct, sys
path, what, out = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(path, 'rb').read())
ncmds = struct.unpack_from('<I', b, 16)[0]
off = 32
info = None
for _ in range(ncmds):
    cmd, size = struct.unpack_from('<II', b, off)
    if cmd in (0x22, 0x80000022):
        info = struct.unpack_from('<10I', b, off + 8)
    off += size
assert info, 'no LC_DYLD_INFO'
rebase_off, rebase_size, bind_off, bind_size, weak_off, weak_size, lazy_off, lazy_size = info[:8]
if what == 'no-rebase':
    assert rebase_size
    b[rebase_off] = 0x00                    # REBASE_OPCODE_DONE first
elif what == 'no-lazy':
    assert lazy_size
    for i in range(lazy_off, lazy_off + lazy_size):
        b[i] = 0x00                         # nothing but DONE
elif what.startswith('rename:'):
    name = what[7:].encode() + b'\0'
    for o, n in ((bind_off, bind_size), (lazy_off, lazy_size)):
        i = b.find(name, o, o + n)
        if i >= 0:
            b[i + len(name) - 2] ^= 0x20    # last letter's case
            break
    else:
        sys.exit('symbol not in the bind info')
elif what.startswith('string:'):
    s = what[7:].encode()
    i = b.find(s + b'\0')
    assert i >= 0, 'string not found'
    b[i + len(s) - 1] = ord('9')
open(out, 'wb').write(b)
PY
}

for t in x86_64-macos arm64-macos; do
  arch=${t%-macos}
  lib=$ROOT/build/$t/libcalli_runtime.a
  dy=$W/$t/dylibs
  mkdir -p "$W/$t"
  "$ROOT/tests/macho_run/macho_dylibs.sh" "$t" "$lib" "$dy"
  clang --target=$arch-apple-macos11 -ffreestanding -fno-stack-protector -O1 -std=c11 -Wall -Werror \
    -I"$ROOT/runtime/include" -c "$ROOT/tests/macho_run/selftest.c" -o "$W/$t/selftest.o"
  ld64.lld-14 -arch $arch -platform_version macos 11.0 11.0 -e _main "$W/$t/selftest.o" "$lib" \
    "$dy/libSystem.B.dylib" -o "$W/$t/selftest"
  printf 'hello\nworld\n' > "$W/hello.txt"
  x=$W/$t/selftest
  expect $t-main 3 "$W/hello.txt" '^to stderr$' -- "$x"
  expect $t-abort 134 /dev/null '^$' -- "$x" --entry _t_abort
  expect $t-null 126 /dev/null 'read of unmapped memory at 0x10 ' -- "$x" --entry _t_null
  expect $t-write-ro 126 /dev/null 'write to protected memory' -- "$x" --entry _t_write_ro
  expect $t-exec-data 126 /dev/null 'fetch from non-executable memory' -- "$x" --entry _t_exec_data
  expect $t-invalid 126 /dev/null 'invalid instruction|undefined instruction' -- "$x" --entry _t_invalid
  expect $t-syscall 128 /dev/null 'unknown system call' -- "$x" --entry _t_syscall
  expect $t-loop 127 /dev/null 'time limit' -- --timeout 1 "$x" --entry _t_loop
  expect $t-nosym 125 /dev/null 'entry symbol _nothing not found' -- "$x" --entry _nothing
  expect $t-notmacho 125 /dev/null 'not a 64-bit' -- "$ROOT/tests/macho_run/selftest.c"

  # generated programs, and corrupted copies of them
  for m in exe dylib-sites dylib-rt; do
    d=$W/$t/$m
    "$GEN" --target $t --mode $m --seed 7 -o "$d" >/dev/null
    CALLI_ROOT=$ROOT CALLI_MACHO_DYLIBS=$dy "$d/build.sh" >"$d/build.log" 2>&1 || { bad "$t $m: build failed"; continue; }
    libs=()
    case $m in dylib-sites) libs=(--lib "$d/libprog.dylib") ;; dylib-rt) libs=(--lib "$d/libcalli_runtime.dylib") ;; esac
    expect $t-$m 0 "$d/expected.txt" '^$' -- "${libs[@]}" "$d/prog"
    # the program's own text changed: a different output, which its
    # self-check reports too (dylib-sites: the text is in libprog.dylib)
    if [ $m = dylib-sites ]; then
      mkdir -p "$d/str"; cp "$d/prog" "$d/str/prog"
      patch "$d/libprog.dylib" string:"site 0" "$d/str/libprog.dylib"
      expect $t-$m-string 1 - 'gen: output differs from the expectation' -- --lib "$d/str/libprog.dylib" "$d/str/prog"
    else
      patch "$d/prog" string:"site 0" "$d/prog.string"
      expect $t-$m-string 1 - 'gen: output differs from the expectation' -- "${libs[@]}" "$d/prog.string"
    fi
    cmp -s "$W/$t-$m-string.out" "$d/expected.txt" && bad "$t $m: a changed program printed expected.txt"
    case $m in
      exe)
        patch "$d/prog" no-rebase "$d/prog.norebase"
        checks=$((checks + 1)); rc=0
        "$RUN" "$d/prog.norebase" >"$W/$t-norebase.out" 2>"$W/$t-norebase.err" || rc=$?
        { [ $rc -ne 0 ] && ! cmp -s "$W/$t-norebase.out" "$d/expected.txt"; } ||
          bad "$t exe: without its rebases the program still passed (status $rc)" ;;
      dylib-sites)
        patch "$d/prog" no-lazy "$d/prog.nolazy"
        expect $t-$m-nolazy 126 - 'dyld_stub_binder reached' -- "${libs[@]}" "$d/prog.nolazy"
        expect $t-$m-nolib 125 /dev/null 'libprog.dylib is not loaded' -- "$d/prog" ;;
      dylib-rt)
        patch "$d/prog" rename:_GenericPInvokeCalliHelper "$d/prog.rename"
        expect $t-$m-rename 125 /dev/null 'symbol _GenericPInvokeCalliHelpeR not found' -- "${libs[@]}" "$d/prog.rename" ;;
    esac
  done
done
# fat files: each slice runs; a missing slice is a load error
llvm-lipo-14 -create "$W/x86_64-macos/selftest" "$W/arm64-macos/selftest" -output "$W/fat"
llvm-lipo-14 -create "$W/x86_64-macos/selftest" -output "$W/fat-x86_64"
expect fat-x86_64 3 "$W/hello.txt" '^to stderr$' -- --arch x86_64 "$W/fat"
expect fat-arm64 3 "$W/hello.txt" '^to stderr$' -- --arch arm64 "$W/fat"
expect fat-noslice 125 /dev/null 'without a slice for cputype 0x100000c' -- --arch arm64 "$W/fat-x86_64"
expect mixed-arch 125 /dev/null 'another architecture' -- --lib "$W/arm64-macos/dylibs/libcalli_runtime.dylib" "$W/x86_64-macos/selftest"

echo "check-macho-run: $checks checks, $fails failures"
[ $fails -eq 0 ]

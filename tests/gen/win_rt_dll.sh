#!/bin/sh
# tests/gen/win_rt_dll.sh LIB OUTDIR - build calli_runtime.dll (generator mode
# dll-rt, docs/generator.md) from the Windows runtime archive LIB, into
# OUTDIR with its import library libcalli_runtime.dll.a.
# CC compiles and LD links (a compiler driver: mingw gcc, or clang with
# -fuse-ld=lld; defaults: x86_64-w64-mingw32-gcc).
# The whole archive goes in (--whole-archive) except the default
# calli_host_write member, replaced by tests/gen/win_rt_host.c (which
# forwards to the program's, see there). Exports (win_rt_dll.def):
# GenericPInvokeCalliHelper, calli_refrt_init, calli_refrt_default,
# calli_gen_set_host_write.
set -eu
lib=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-x86_64-w64-mingw32-gcc}
LD=${LD:-$CC}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$lib" "$tmp/rt.a"
x86_64-w64-mingw32-ar d "$tmp/rt.a" host_win_write.o
! x86_64-w64-mingw32-ar t "$tmp/rt.a" | grep -qx host_win_write.o
$CC -std=c11 -O2 -Wall -Wextra -Werror -I"$ROOT/runtime/include" -c "$ROOT/tests/gen/win_rt_host.c" -o "$tmp/host.o"
$LD -shared -o "$tmp/calli_runtime.dll" -Wl,--out-implib,"$tmp/libcalli_runtime.dll.a" \
  "$tmp/host.o" -Wl,--whole-archive "$tmp/rt.a" -Wl,--no-whole-archive "$ROOT/tests/gen/win_rt_dll.def"
mv "$tmp/libcalli_runtime.dll.a" "$out/libcalli_runtime.dll.a"
mv "$tmp/calli_runtime.dll" "$out/calli_runtime.dll"

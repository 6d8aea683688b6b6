#!/bin/sh
# macho_dylibs.sh TARGET LIB OUTDIR - the two dylibs that linked Mach-O test
# programs need, built without an SDK (docs/harness.md):
#
#   OUTDIR/libSystem.B.dylib      a stand-in libSystem (install name
#       /usr/lib/libSystem.B.dylib) defining only dyld_stub_binder, which
#       ld64.lld requires of every image with lazy binds. The harness binds
#       every lazy pointer eagerly, so it is never called (machorun reports
#       a call to it as an error).
#   OUTDIR/libcalli_runtime.dylib the runtime archive LIB (TARGET's Mach-O
#       runtime) as a dylib (install name @rpath/libcalli_runtime.dylib),
#       every member but the host primitives: calli_host_write and
#       calli_host_abort stay undefined (-undefined dynamic_lookup, a flat
#       lookup at load time), so the program's own definitions, which
#       record the output for the self-check, are the ones the runtime
#       calls - as with the static archive, whose default members a
#       program's definitions replace.
set -eu
target=$1 lib=$2 out=$3
case "$lib" in /*) ;; *) lib=$PWD/$lib ;; esac
case "$target" in
  x86_64-macos) arch=x86_64 ;;
  arm64-macos) arch=arm64 ;;
  *) echo "macho_dylibs.sh: unknown target $target" >&2; exit 2 ;;
esac
LD=${GEN_LD:-ld64.lld-14}
CC=${GEN_CC:-clang}
mkdir -p "$out"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ldflags="-arch $arch -platform_version macos 11.0 11.0 -headerpad 0x400"
printf '\t.text\n\t.globl dyld_stub_binder\ndyld_stub_binder:\n\t.long 0\n' > "$tmp/libsystem.s"
$CC --target=$arch-apple-macos11 -c "$tmp/libsystem.s" -o "$tmp/libsystem.o"
$LD $ldflags -dylib -install_name /usr/lib/libSystem.B.dylib "$tmp/libsystem.o" -o "$tmp/libSystem.B.dylib"
mkdir "$tmp/x"
(cd "$tmp/x" && llvm-ar-14 x "$lib")
rm -f "$tmp"/x/host_*.o
$LD $ldflags -dylib -install_name @rpath/libcalli_runtime.dylib -undefined dynamic_lookup \
  "$tmp"/x/*.o "$tmp/libSystem.B.dylib" -o "$tmp/libcalli_runtime.dylib"
mv -f "$tmp/libSystem.B.dylib" "$tmp/libcalli_runtime.dylib" "$out/"

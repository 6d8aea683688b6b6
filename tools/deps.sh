#!/usr/bin/env bash
# Install the Debian packages callirw and its tests need. Idempotent: checks
# each package first and installs only what is missing (nothing at all when
# everything is there). Usage: tools/deps.sh [--list]
set -euo pipefail

PACKAGES=(
  gcc make binutils            # the host build
  libelf-dev elfutils          # ELF back-end (libelf), eu-elflint
  libzydis-dev libzycore-dev   # x86 decoding and encoding
  libcmocka-dev                # unit tests
  liblief-dev                  # independent parser that checks our outputs
  libffi-dev                   # benchmark peer
  clang lld llvm               # clang, ld.lld, ld64.lld, lld-link, llvm-readobj
  gcc-mingw-w64-x86-64         # PE/COFF x86-64 builds
  wine64                       # runs PE x86-64
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # arm64 ELF builds
  qemu-user                    # runs arm64 ELF (qemu-aarch64)
  libunicorn-dev               # runs fragments of Mach-O / arm64 PE images
  jq python3                    # test scripts (JSON, byte surgery, cross-checks)
  valgrind time                # make bench: callgrind instruction counts, peak RSS
  libclang-rt-14-dev           # make fuzz: libFuzzer (clang -fsanitize=fuzzer)
  libllvm14 cpp-12             # make bench: libLLVM-14.so.1 and cc1, the real images scanned
)

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${PACKAGES[@]}" npm; exit 0; fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

# npm (npm pack: the real Mach-O inputs, tools/corpus_macho.sh): machines
# usually bring Node.js with its own npm; Debian's npm only when there is none
# (it would conflict with another vendor's nodejs package).
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "deps: not root and no sudo; install these as root: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"

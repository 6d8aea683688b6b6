#!/usr/bin/env bash
# check_nm.sh NM DIR - the freestanding core of DIR/libcalli_runtime.a (every
# object but the host primitives) may leave undefined only the two host
# primitives and symbols that the core itself defines (sig/, dispatch, the
# helper). Anything else (memcpy, memset, __chkstk, __stack_chk_fail, ...)
# means the core is not freestanding.
set -euo pipefail
nm=$1; dir=$2
objs=$(find "$dir/obj/runtime" "$dir/obj/sig" -name '*.o' ! -name 'host_*.o' | sort)
defined=$("$nm" --defined-only $objs | awk 'NF == 3 { print $3 }' | sort -u)
bad=0
for o in $objs; do
  for u in $("$nm" -u "$o" | awk '{ print $NF }'); do
    case "$u" in
      calli_host_write|calli_host_abort) continue ;;
      _calli_host_write|_calli_host_abort) continue ;;   # Mach-O (leading underscore)
    esac
    if ! grep -qx -- "$u" <<<"$defined"; then
      echo "check-runtime-nm: $o needs $u"; bad=1
    fi
  done
done
[ $bad -eq 0 ] && echo "check-runtime-nm: $dir core is freestanding ($(wc -w <<<"$objs") objects)"
exit $bad

#!/bin/sh
# The SHA-NI kernels mix VEX code with the legacy-encoded SHA instructions, which is only
# fast while no 256-bit register is live: on Intel a legacy SSE instruction in the
# dirty-upper state (after any ymm/zmm write without vzeroupper) costs a merge each time
# (SHA-256 bulk on an AVX-512 Xeon ran 140x slower). Fails if the object uses ymm or zmm.
# Usage: check_no_ymm.sh OBJDUMP OBJECT...
set -eu
objdump=$1
shift
for o in "$@"; do
  case ${o##*/} in *shani*) ;; *) continue ;; esac
  dis=$("$objdump" -d --no-show-raw-insn "$o") || { echo "$o: objdump failed"; exit 1; }
  n=$(printf '%s\n' "$dis" | grep -c -E '%[yz]mm[0-9]' || true)
  echo "$o: $n instructions on ymm/zmm registers"
  if [ "$n" -ne 0 ]; then
    "$objdump" -d --no-show-raw-insn -C "$o" | grep -E '^[0-9a-f]+ <|%[yz]mm[0-9]' | grep -B1 -E '%[yz]mm' | head -20
    exit 1
  fi
  found=1
done
[ "${found:-}" = 1 ] || { echo "no SHA-NI object among the arguments"; exit 1; }

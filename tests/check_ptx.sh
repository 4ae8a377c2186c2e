#!/bin/sh
# Checks the CUDA kernels' PTX for the instructions the kernels are written to get: funnel
# shifts (shf) for every rotate and LOP3 for choose/majority, in every entry point. A build
# that fell back to shift-shift-or rotates or two-input logic fails here. (The toolkit used
# in CI has no cuobjdump, so the check reads PTX, which ptxas maps one-to-one for these.)
# Usage: check_ptx.sh NVCC SOURCE_DIR WORK_DIR
set -eu
nvcc=$1 src=$2 work=$3
mkdir -p "$work"
printf '#include "kernels/search_kernel.h"\n#include "kernels/batch_kernel.h"\n' > "$work/kernels.cu"
"$nvcc" -std=c++20 -I"$src" -O3 -ptx -arch=compute_90 "$work/kernels.cu" -o "$work/kernels.ptx"
awk '
  /^\.visible \.entry/ { name = $3; sub(/\(.*/, "", name); entries[name] = 1 }
  /lop3\.b32/ { lop[name]++ }
  /shf\.[lr]\.wrap\.b32/ { shf[name]++ }
  /shl\.b32.*/ { shl[name]++ }
  END {
    bad = 0
    for (n in entries) {
      printf "%-20s lop3 %5d  funnel shifts %5d  plain shl %4d\n", n, lop[n], shf[n], shl[n]
      if (lop[n] < 100 || shf[n] < 300) { print n ": too few LOP3 or funnel shifts"; bad = 1 }
    }
    if (length(entries) != 6) { print "expected 6 kernels"; bad = 1 }
    exit bad
  }' "$work/kernels.ptx"

#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, as one short run on a machine that has one: the CUDA
# tests, a Bitcoin header scan from the command line, then the device figures beside
# hashcat's (same run) and the CPU backends' on that machine's processor. Built elsewhere
# and carried: build/apps/hashforge, build/tests/hf_tests, build/tests/hf_device_oom_tests,
# build/bench/hf_microbench (build/bench/hf_vector_mix where carried), and the folder bench/gpu_pack.sh writes (HF_DEVLIBS, default
# .devlibs: libraries the machine may lack, Debian's hashcat). Each step has its own time
# limit; logs go to $OUT (default /tmp/hf-gpu-check). About two minutes on an H200.
#   usage: bench/gpu_check.sh [seconds-per-measurement]
set -u
out=${OUT:-/tmp/hf-gpu-check}
mkdir -p "$out"
source "$(dirname "$0")/machine.sh"
libs=${HF_DEVLIBS:-.devlibs}
libs=$(cd "$libs" 2>/dev/null && pwd || echo "$PWD/$libs")
secs=${1:-0.5}
# The tests run with their pinned choice; the figures use the machine's own calibration.
pin=HASHFORGE_CHOICE_FILE=$PWD/tests/data/backend-choice
: >"$out/summary.txt"
say() { echo "== $*" | tee -a "$out/summary.txt"; }

{
  hf_cpu_lines
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

# Libraries: the machine's own first; the carried ones only when a binary lacks something.
bins="build/apps/hashforge build/tests/hf_tests build/tests/hf_device_oom_tests build/bench/hf_microbench"
if [ -d "$libs/lib" ] && ldd $bins 2>/dev/null | grep -q "not found"; then
  export LD_LIBRARY_PATH=$libs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "using carried libraries from $libs/lib"
fi
build/apps/hashforge --version 2>&1 | tee -a "$out/summary.txt"

# hashcat, the anchor, where it is not installed: Debian's layout, and the CUDA runtime
# compiler under the name hashcat asks for.
if ! command -v hashcat >/dev/null && [ -x "$libs/hashcat/bin/hashcat" ] && [ -w /usr/bin ]; then
  mkdir -p /usr/share/hashcat /usr/lib/hashcat
  cp -r "$libs/hashcat/share/." /usr/share/hashcat/
  cp -r "$libs/hashcat/lib/." /usr/lib/hashcat/
  ln -sfn ../../lib/hashcat/modules /usr/share/hashcat/modules
  install -m 755 "$libs/hashcat/bin/hashcat" /usr/bin/hashcat || say "hashcat: could not install"  # elsewhere it looks beside itself
  nvrtc=$(find / -xdev -name 'libnvrtc.so.*' -not -name '*builtins*' 2>/dev/null | head -1)
  if [ -n "$nvrtc" ]; then
    mkdir -p /tmp/hf-nvrtc && ln -sf "$nvrtc" /tmp/hf-nvrtc/libnvrtc.so
    export LD_LIBRARY_PATH=/tmp/hf-nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  say "hashcat installed from $libs/hashcat (nvrtc: ${nvrtc:-none found})"
fi
# OpenCL on the NVIDIA driver, when the machine has its library but no vendor file.
if [ ! -d /etc/OpenCL/vendors ] && [ -f "$libs/icd/nvidia.icd" ]; then
  export OCL_ICD_VENDORS=$libs/icd
fi

if command -v hashcat >/dev/null; then
  say "hashcat sees"
  timeout 60 hashcat -I --force >"$out/hashcat.txt" 2>&1
  echo "rc=$?" >>"$out/hashcat.txt"
  grep -E "Backend Device ID|Name\.|Type\.|rc=|rror|arning" "$out/hashcat.txt" | head -20 | tee -a "$out/summary.txt"
fi

say "backends (the choice measured on this machine)"
timeout 60 build/apps/hashforge backends >"$out/backends.txt" 2>&1
echo "rc=$?" >>"$out/backends.txt"
cat "$out/backends.txt"

say "CUDA tests"
timeout 180 env "$pin" build/tests/hf_tests --gtest_filter='*cuda*:Device*:*Cuda*' >"$out/tests.log" 2>&1
echo "hf_tests rc=$?" | tee -a "$out/summary.txt"
timeout 90 env "$pin" build/tests/hf_device_oom_tests >>"$out/tests.log" 2>&1
echo "hf_device_oom_tests rc=$?" | tee -a "$out/summary.txt"
grep -E "^\[  (PASSED|FAILED) |^\[  SKIPPED \] [0-9]+ tests?,|^\[  FAILED  \] .*\.|tests? from .* ran" "$out/tests.log" | tee -a "$out/summary.txt"

say "hashforge search header: the Bitcoin genesis header's nonce, on cuda:0 and on everything"
genesis=$HF_GENESIS_HEADER
for be in cuda:0 all; do
  timeout 60 build/apps/hashforge search header "$genesis" --bits 1d00ffff --backend "$be" -q 2>&1 | tail -4 |
    tee -a "$out/summary.txt"
done

say "kernels (Google Benchmark)"
timeout 90 build/bench/hf_microbench --benchmark_min_time=0.3 \
  --benchmark_filter='sha256_pairs/cuda|sha256_pairs/opencl|(sha256_1MiB|sha1_1MiB|sha256_pairs|sha256d_kernel)/(avx512|shani|avx2)$' \
  >"$out/micro.txt" 2>&1
echo "rc=$?" >>"$out/micro.txt"
cat "$out/micro.txt"

if [ -x build/bench/hf_vector_mix ]; then
  say "CPU kernels: cycles a block and the avx512 instruction mix's bound (hf_vector_mix)"
  timeout 90 build/bench/hf_vector_mix --benchmark_min_time=0.3 >"$out/vector_mix.txt" 2>&1
  echo "rc=$?" >>"$out/vector_mix.txt"
  cat "$out/vector_mix.txt"
fi

say "hashforge bench"
timeout 200 build/apps/hashforge bench --threads "$(nproc)" --seconds "$secs" --repeat 3 --bulk-mib 256 \
  --device-messages 4096 >"$out/bench.txt" 2>"$out/bench.err"
echo "rc=$?" >>"$out/bench.txt"
cat "$out/bench.txt"
tail -5 "$out/bench.err"
if command -v hashcat >/dev/null; then
  say "hashcat -b -m 100 (SHA-1; the anchor's own output)"
  for m in 100; do  # -m 1400 ran inside hashforge bench above
    timeout 90 hashcat -b -m $m --force --quiet 2>&1 | grep -E "Speed|Hashmode|rror" | tee -a "$out/summary.txt"
  done
fi

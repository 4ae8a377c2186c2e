#!/usr/bin/env bash
# The CPU kernels' figures on this machine in one run, for a results file: which backends the
# calibration picks (with and without AVX-512), the avx512 header scan against the same
# kernels/ source compiled by PoCL (opencl:0), the multi-buffer kernels against the bound of
# the instructions they issue (hf_vector_mix), the SHA-NI header loops side by side, the
# 64-byte path against bulk, `hashforge bench` with OpenSSL in the same run, and, where
# CPUMINER names a cpuminer-opt binary built outside the repository, the laptop path
# (HASHFORGE_DISABLE=avx512) against it, one after the other and at once.
# Run from the repository root after a Release build with HF_BUILD_BENCH=ON:
#   [CPUMINER=/path/to/cpuminer] [ROUNDS=2] bench/cpu_check.sh
# Logs and a summary go to $OUT (default /tmp/hf-cpu-check). 10-15 minutes on 2 cores, 10 more
# with cpuminer. Nothing else should run meanwhile: every figure is a rate.
set -u
out=${OUT:-/tmp/hf-cpu-check}
rounds=${ROUNDS:-2}
HF=${HF:-build/apps/hashforge}
mkdir -p "$out"
source "$(dirname "$0")/machine.sh"
: >"$out/summary.txt"
say() { echo "== $*" | tee -a "$out/summary.txt"; }
for b in "$HF" build/bench/hf_microbench build/bench/hf_vector_mix build/bench/hf_shani_mix; do
  [ -x "$b" ] || { echo "cpu_check: $b is missing; build Release with -DHF_BUILD_BENCH=ON first" >&2; exit 2; }
done
# A fresh calibration in a cache of its own: the figures are this machine's, not a pinned file's.
export XDG_CACHE_HOME=$out/cache
unset HASHFORGE_CHOICE_FILE HASHFORGE_BACKEND HASHFORGE_DISABLE
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$out/pocl-cache}

{
  hf_cpu_lines
  # perf exits 0 with "<not supported>" where the VM has no PMU; a count is a number.
  echo "perf counters: $(perf stat -x, -e instructions true 2>&1 | grep -q -E '^[0-9]+,' && echo yes || echo no)"
  "$HF" --version
  git log -1 --format='build of %h %s' 2>/dev/null
} 2>&1 | tee "$out/machine.txt" | tee -a "$out/summary.txt"

say "hashforge backends (a fresh calibration), then again with HASHFORGE_DISABLE=avx512 (the laptop path)"
timeout 120 "$HF" backends 2>&1 | tee "$out/backends.txt"
rm -rf "$XDG_CACHE_HOME"
HASHFORGE_DISABLE=avx512 timeout 120 "$HF" backends 2>&1 | tee "$out/backends-no-avx512.txt"
cat "$out/backends.txt" "$out/backends-no-avx512.txt" >>"$out/summary.txt"

# Part 1: 2^30 nonces of the genesis header (its nonce is beyond them), all cores, alternated.
genesis=$HF_GENESIS_HEADER
say "search header, 2^30 nonces, $(nproc) threads, alternated $rounds times (M nonces/s; all = every device" \
  "plus the best CPU backend, which must not lose to the best one alone)"
timeout 300 "$HF" search header "$genesis" --bits 1d00ffff --count 1000000 --backend opencl:0 -q >/dev/null 2>&1  # PoCL compiles once
for r in $(seq "$rounds"); do
  for be in avx512 opencl:0 shani all; do
    line=$(timeout 300 "$HF" search header "$genesis" --bits 1d00ffff --count 1073741824 --backend "$be" --json -q 2>&1 |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f on %s" % (d["rate"] / 1e6, d["backend"]))' 2>/dev/null || echo "failed")
    say "  round $r $be: $line"
  done
done

say "hf_vector_mix: the avx512 mix (the bound) and each kernel, cycles a 64-byte block a lane"
timeout 600 build/bench/hf_vector_mix --benchmark_repetitions="$rounds" --benchmark_report_aggregates_only=false \
  2>&1 | tee "$out/vector_mix.txt" | grep -E 'cpu:|clock|^(mix|kernel)/' | grep -v -E '_(mean|median|stddev|cv) ' |
  tee -a "$out/summary.txt"

say "hf_microbench: header loops (sha256d_loop = four SHA-NI lanes, _alt = the hybrid), 64-byte pairs against 1 MiB"
timeout 600 build/bench/hf_microbench --benchmark_filter='sha256d_loop|sha256d_scan|sha256_pairs|sha256_1MiB|sha1_1MiB' \
  --benchmark_repetitions="$rounds" 2>&1 | tee "$out/microbench.txt" | grep -v -E '_(mean|median|stddev|cv) ' |
  grep -E '^(sha|openssl)' | grep -v 'has no such loop' | tee -a "$out/summary.txt"

say "hf_shani_mix: the SHA instructions' throughput (shani's bound), and SHA-NI beside zmm16-31 work (its gain is in the verdicts)"
timeout 300 build/bench/hf_shani_mix --benchmark_filter='zmm|kernel_mix$|rnds2_only|sha1_sha_mix|msg2_|loads_only' --benchmark_format=json \
  --benchmark_out="$out/shani_mix.json" >/dev/null 2>"$out/shani_mix.err" || echo "  hf_shani_mix failed: $out/shani_mix.err" | tee -a "$out/summary.txt"

say "hashforge bench --repeat 3 (OpenSSL and every backend, same run)"
timeout 900 "$HF" bench --repeat 3 2>&1 | tee "$out/bench.txt" | grep -v '^bench: ' | tee -a "$out/summary.txt"
say "HASHFORGE_DISABLE=avx512 hashforge bench --backend shani --repeat 3"
HASHFORGE_DISABLE=avx512 timeout 300 "$HF" bench --backend shani --repeat 3 2>&1 | tee "$out/bench-shani.txt" |
  grep -v '^bench: ' | tee -a "$out/summary.txt"

if [ -n "${CPUMINER:-}" ]; then
  say "cpuminer-opt against the worker, HASHFORGE_DISABLE=avx512, one after the other (3 x 40 s)"
  HASHFORGE_DISABLE=avx512 timeout 600 bench/cpuminer_vs_worker.sh 40 "$(nproc)" 0.002 3 2>&1 |
    tee "$out/cpuminer-sequential.txt" | grep -E '^round|all rounds|/ cpuminer' | tee -a "$out/summary.txt"
  if [ "$(nproc)" -ge 2 ]; then
    say "the same, both at once on separate cores (CONCURRENT=1, 2 x 60 s)"
    HASHFORGE_DISABLE=avx512 CONCURRENT=1 timeout 600 bench/cpuminer_vs_worker.sh 60 1 0.002 2 2>&1 |
      tee "$out/cpuminer-concurrent.txt" | grep -E '^round|all rounds|/ cpuminer' | tee -a "$out/summary.txt"
  fi
else
  say "cpuminer-opt: skipped (set CPUMINER to a cpuminer-opt binary built outside the repository)"
fi
say "each goal of issue 19 beside its figure (bench/cpu_check_verdict.py)"
python3 "$(dirname "$0")/cpu_check_verdict.py" "$out" 2>&1 | tail -n +5 | tee -a "$out/summary.txt"
say "done $(date -u +%FT%TZ); logs in $out"

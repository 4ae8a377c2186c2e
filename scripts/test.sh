#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build under ctest, then the engine and
# bad-input tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
phase() { echo "== $1 ($(( $(date +%s) - t0 )) s elapsed)"; }

phase "setup"
bash scripts/setup.sh

phase "build (Release)"
# CUDA (when the toolkit is there) for one architecture plus PTX: enough to prove it builds.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DHF_CUDA_ARCHS=90-real;90-virtual" >/dev/null
ninja -C build -j"$(nproc)"

# PoCL (OpenCL on the CPU) caches compiled kernels; keep the cache with the build.
export POCL_CACHE_DIR="$PWD/build/pocl-cache"

phase "test (Release)"
ctest --test-dir build -j2 --timeout 600 --output-on-failure

phase "build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHF_SANITIZE=ON -DHF_BUILD_BENCH=OFF -DHF_CUDA=OFF >/dev/null
ninja -C build-asan -j"$(nproc)"

phase "test (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
  ctest --test-dir build-asan -j2 --timeout 900 --output-on-failure

phase "done"

#!/usr/bin/env bash
# Sets up, builds and runs every test:
#   1. the Release build under ctest (GoogleTest suites, fuzz corpora, Python network tests);
#   2. the GoogleTest suites again under ThreadSanitizer (no Python network suites: their
#      timeouts would not survive the slowdown);
#   3. the engine, network and bad-input tests under AddressSanitizer + UndefinedBehaviorSanitizer;
#   4. a short libFuzzer run of every fuzz target (a fixed total budget, two at a time).
# Every build option is stated: build/ is shared with scripts/demo.sh, and CMake's cache
# would otherwise carry one script's choices into the other. ctest fails when it finds no
# tests. Each phase prints the time spent so far.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
# ccache: paths relative to the checkout and no working-folder hash, so a fresh clone in
# another folder (CI's) reuses what an earlier build compiled.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
phase() { echo "== $1 ($(( $(date +%s) - t0 )) s elapsed)"; }
# CUDA (when the toolkit is there): one architecture plus PTX is enough to prove it builds.
archs="${HF_CUDA_ARCHS:-90-real;90-virtual}"
fuzz_seconds="${HF_FUZZ_SECONDS:-300}"

phase "setup"
bash scripts/setup.sh

phase "build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHF_SANITIZE= -DHF_FUZZ=OFF \
  -DHF_BUILD_TESTS=ON -DHF_BUILD_BENCH=ON "-DHF_CUDA_ARCHS=$archs" >/dev/null
ninja -C build -j"$(nproc)"

# PoCL (OpenCL on the CPU) caches compiled kernels; keep the cache with the build.
export POCL_CACHE_DIR="$PWD/build/pocl-cache"

phase "test (Release)"
ctest --test-dir build -j2 --timeout 600 --output-on-failure --no-tests=error

phase "build (ThreadSanitizer)"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHF_SANITIZE=thread -DHF_FUZZ=OFF \
  -DHF_BUILD_TESTS=ON -DHF_BUILD_BENCH=OFF -DHF_CUDA=OFF >/dev/null
ninja -C build-tsan -j"$(nproc)"

phase "test (ThreadSanitizer, GoogleTest suites)"
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan -j2 --timeout 900 --output-on-failure --no-tests=error -E '^net\.|^bench\.|^node\.test_|^node\.json_golden|^torrent\.client_'

phase "build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHF_SANITIZE=address -DHF_FUZZ=OFF \
  -DHF_BUILD_TESTS=ON -DHF_BUILD_BENCH=OFF -DHF_CUDA=OFF >/dev/null
ninja -C build-asan -j"$(nproc)"

phase "test (ASan + UBSan)"
# use_sigaltstack=0: PoCL's LLVM swaps in its own alternate signal stack on the threads
# that probe OpenCL devices, and ASan then aborts at thread exit trying to unmap the one it
# installed ("unable to unmap" in UnsetAlternateSignalStack).
# use_tls=0: LeakSanitizer's scan of thread-local storage crashes its tracer (SIGSEGV in
# ScanRangeForPointers, "Tracer caught signal 11") at exit of processes whose PoCL threads hold
# dynamic TLS; without TLS as roots a leak check can only report more, never less.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:use_sigaltstack=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp":use_tls=0 \
  ctest --test-dir build-asan -j2 --timeout 900 --output-on-failure --no-tests=error

phase "fuzz (${fuzz_seconds} s in all)"
bash scripts/fuzz.sh "$fuzz_seconds"

phase "done"

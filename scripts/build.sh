#!/usr/bin/env bash
# Configures and builds hashforge into build/ (Release, tests and benchmarks included).
# Extra arguments go to cmake and override these.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHF_SANITIZE= -DHF_FUZZ=OFF \
  -DHF_BUILD_TESTS=ON -DHF_BUILD_BENCH=ON "$@" >/dev/null
ninja -C build -j"$(nproc)"

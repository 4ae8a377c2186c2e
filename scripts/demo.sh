#!/usr/bin/env bash
# The main job: set up, build, then mine the bundled sample block for about 10 seconds on
# the best backend and print the best line, its hash, leading zeros, rate and backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHF_BUILD_TESTS=OFF -DHF_BUILD_BENCH=OFF >/dev/null
ninja -C build -j"$(nproc)" hashforge
./build/apps/hashforge backends
echo
./build/apps/hashforge search file samples/block.txt --seconds 10 --out build/block.result

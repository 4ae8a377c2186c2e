#!/usr/bin/env bash
# The main job: set up, build, then mine the bundled sample block for about 10 seconds on
# the best backend and print the best line, its hash, leading zeros, rate and backend.
# Every build option it depends on is stated here (build/ is shared with scripts/test.sh,
# and CMake's cache would otherwise carry one script's choices into the other).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: paths relative to the checkout and no working-folder hash, so a fresh clone in
# another folder (CI's) reuses what an earlier build compiled.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# CUDA (when the toolkit is there): every GPU generation from Turing to Hopper plus PTX,
# unless HF_CUDA_ARCHS says otherwise (CI builds one).
archs="${HF_CUDA_ARCHS:-75-real;80-real;86-real;89-real;90-real;90-virtual}"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHF_SANITIZE= -DHF_FUZZ=OFF \
  -DHF_BUILD_TESTS=ON -DHF_BUILD_BENCH=ON "-DHF_CUDA_ARCHS=$archs" >/dev/null
ninja -C build -j"$(nproc)" hashforge
./build/apps/hashforge backends
echo
./build/apps/hashforge search file samples/block.txt --seconds 10 --out build/block.result

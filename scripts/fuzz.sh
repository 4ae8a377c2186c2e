#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz, clang-14, ASan + UBSan) and fuzzes every one of
# them within one total time budget: two at a time, each for an equal share, each on a
# scratch copy of its seed corpus (the committed corpus never changes). Prints one line per
# target; exits 1 naming the saved input if any target crashes, leaks, hangs or fails a
# property. tests/fuzz/README.md has the details.
#
#   bash scripts/fuzz.sh [TOTAL_SECONDS]        default 300
#
# Environment: FUZZ_JOBS (targets at a time, default 2), FUZZ_TARGETS ("json_rpc hex": only
# these), FUZZ_BUILD_DIR (default build-fuzz), FUZZ_NO_BUILD=1 (use the binaries there),
# FUZZ_KEEP=DIR (keep each target's grown corpus and log under DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

budget=${1:-300}
jobs=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD_DIR:-build-fuzz}
case $budget in '' | *[!0-9]*) echo "fuzz.sh: the budget must be whole seconds, got '$budget'" >&2; exit 2 ;; esac
case $jobs in '' | *[!0-9]* | 0) echo "fuzz.sh: FUZZ_JOBS must be a positive integer" >&2; exit 2 ;; esac

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  for tool in clang++-14 cmake ninja; do
    command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (Debian: clang-14 libclang-rt-14-dev)" >&2; exit 2; }
  done
  t_build=$(date +%s)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHF_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
  ninja -C "$build" -j"$(nproc)" hf_fuzz
  echo "fuzz.sh: built in $(($(date +%s) - t_build)) s"
fi

[ -d "$build/fuzz" ] || { echo "fuzz.sh: no fuzz binaries in $build/fuzz (build with HF_FUZZ=ON)" >&2; exit 2; }
bdir=$(cd "$build" && pwd)

if [ -n "${FUZZ_TARGETS:-}" ]; then
  names=$FUZZ_TARGETS
else
  names=$(cd "$bdir/fuzz" && ls | grep -E '^fuzz_[a-z0-9_]+$' | sed 's/^fuzz_//' | sort || true)
fi
[ -n "$names" ] || { echo "fuzz.sh: no fuzz targets in $build/fuzz" >&2; exit 2; }
set -- $names
count=$#

# Equal shares: the targets run in ceil(count / jobs) waves of `jobs` at a time.
waves=$(((count + jobs - 1) / jobs))
each=$((budget / waves - 2)) # libFuzzer's start-up and final stats come out of the share
[ "$each" -ge 5 ] || each=5
echo "fuzz.sh: $count targets, $jobs at a time, ${each} s each (budget ${budget} s)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/hf-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# One target: fuzz a copy of its corpus, then print its line and leave rc in $work/rc.
fuzz_one() {
  local name=$1 bin=$bdir/fuzz/fuzz_$1 work=$scratch/$1
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ ! -x "$bin" ]; then
    echo "fuzz_$name: FAILED: no binary at $bin"
    echo 1 >"$work/rc"
    return
  fi
  cp -R "$root/tests/fuzz/corpus/$name/." "$work/corpus/"
  local dict=()
  [ -f "$bdir/fuzz/fuzz_$name.dict" ] && dict=(-dict="$bdir/fuzz/fuzz_$name.dict")
  local rc=0 t0=$(date +%s)
  timeout -k 10 $((each + 120)) "$bin" -max_total_time="$each" -rss_limit_mb=2048 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" "$work/corpus" \
    >"$work/log" 2>&1 || rc=$?
  local secs=$(($(date +%s) - t0))
  local execs cov corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work/corpus" -type f | wc -l)
  local rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  local found
  found=$(find "$work/artifacts" -type f | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    local keep=$bdir/fuzz-failures/$name
    mkdir -p "$keep"
    cp "$work/log" "$keep/log"
    [ -n "$found" ] && cp "$work/artifacts/"* "$keep/"
    echo "fuzz_$name: FAILED (exit $rc) after ${execs:-?} execs in ${secs} s; input: ${found:+$keep/$(basename "$found")}; log: $keep/log"
    grep -E 'ERROR|SUMMARY|property failed|runtime error|uncaught|deadly' "$work/log" | head -5 | sed 's/^/    /'
    rc=1
  else
    echo "fuzz_$name: ok, ${execs:-?} execs in ${secs} s (${rate}/s), cov ${cov:-?}, corpus ${corpus} files"
  fi
  if [ -n "${FUZZ_KEEP:-}" ]; then
    mkdir -p "$FUZZ_KEEP/$name"
    cp -R "$work/corpus" "$work/log" "$FUZZ_KEEP/$name/"
  fi
  echo "$rc" >"$work/rc"
}

running=0
for name in "$@"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
wait || true

failed=0
for name in "$@"; do
  [ "$(cat "$scratch/$name/rc" 2>/dev/null || echo 1)" = 0 ] || failed=$((failed + 1))
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: $failed of $count targets FAILED (inputs and logs under $bdir/fuzz-failures/)"
  exit 1
fi
echo "fuzz.sh: all $count targets ok"

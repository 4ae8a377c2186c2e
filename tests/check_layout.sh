#!/usr/bin/env bash
# The layout rules CONTRIBUTING.md states, checked on every build (ctest: layout.check):
#   1. outside the engine, code includes only the engine's public headers (hashforge/...);
#      tests/ may reach internals only through hf_engine_internals (their own targets), and so
#      may the microbenchmarks of kernels and instruction mixes in bench/;
#   2. pure protocol sources (targets made with hf_pure_target) include no Asio or Beast;
#   3. apps/, net/, bench/ never include kernels/ (device code is the engine's).
# Usage: check_layout.sh SOURCE_DIR PURE_SOURCES_FILE
set -euo pipefail
src=$1
pure_list=$2
fail=0
report() { echo "layout: $*" >&2; fail=1; }

cd "$src"
# 1. Engine internals: the old engine/ paths and src/ names are private to the engine.
while IFS= read -r hit; do report "$hit: include the engine's public headers (hashforge/...) only"; done < <(
  grep -rnE '#include "(engine/|cpu/|gpu/|registry\.hpp|backend\.hpp|search_plan\.hpp|cpu_features\.hpp|sha_core\.hpp|single_stream\.hpp|worker_pool\.hpp|selftest\.hpp|jobs\.hpp)' \
    apps net bench --include='*.cpp' --include='*.hpp' --include='*.h' | grep -vE '^bench/((micro_kernels|shani_mix|vector_mix)\.cpp|has_features\.hpp):' || true)
# 3. Kernels.
while IFS= read -r hit; do report "$hit: device kernels are the engine's (engine/src includes them)"; done < <(
  grep -rnE '#include "kernels/' apps net --include='*.cpp' --include='*.hpp' || true)
# 2. Pure targets.
count=0
while IFS= read -r f; do
  [ -n "$f" ] || continue
  count=$((count + 1))
  [ -f "$f" ] || { report "$f: listed as pure but missing"; continue; }
  if grep -nE '#include *<boost/(asio|beast)' "$f" >/dev/null; then
    report "$f: pure protocol code includes Asio or Beast: $(grep -nE '#include *<boost/(asio|beast)' "$f" | head -1)"
  fi
  # Headers next to a pure source are pure too.
  h="${f%.cpp}.hpp"
  if [ -f "$h" ] && grep -nE '#include *<boost/(asio|beast)' "$h" >/dev/null; then
    report "$h: pure protocol header includes Asio or Beast"
  fi
done < <(tr ';' '\n' < "$pure_list")
[ "$count" -gt 0 ] || report "no pure sources listed in $pure_list"
if [ "$fail" -eq 0 ]; then
  echo "layout: ok ($count pure sources, engine internals private)"
fi
exit $fail

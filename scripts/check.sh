#!/usr/bin/env bash
# Format and lint what changed, quickly, before a commit:
#   bash scripts/check.sh            files changed against HEAD (staged, unstaged, new)
#   bash scripts/check.sh REV        files changed since REV (e.g. origin/main, HEAD~3)
#   bash scripts/check.sh --all      every C++ source (slow: minutes on two cores)
#   FIX=1 bash scripts/check.sh ...  rewrite files with clang-format instead of failing
# clang-tidy needs build/compile_commands.json (scripts/build.sh writes it). Kernels shared
# with OpenCL and CUDA (kernels/) are left as written.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format-14 || command -v clang-format || true)
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$fmt" ] || { echo "check: clang-format not found (Debian: clang-format-14)" >&2; exit 2; }

if [ "${1:-}" = "--all" ]; then
  files=$(git ls-files '*.cpp' '*.hpp' '*.inl')
else
  files=$( { git diff --name-only --diff-filter=ACMR "${1:-HEAD}"; git ls-files --others --exclude-standard; } |
           sort -u | grep -E '\.(cpp|hpp|inl)$' || true)
fi
files=$(echo "$files" | grep -v '^kernels/' | while read -r f; do [ -f "$f" ] && echo "$f"; done || true)
if [ -z "$files" ]; then
  echo "check: no changed C++ files"
  exit 0
fi

rc=0
echo "check: clang-format on $(echo "$files" | wc -l) files"
for f in $files; do
  if [ "${FIX:-0}" = 1 ]; then
    "$fmt" -i "$f"
  elif ! "$fmt" --dry-run -Werror "$f" 2>/dev/null; then
    echo "check: $f is not formatted (FIX=1 bash scripts/check.sh to fix)"
    rc=1
  fi
done

if [ -z "$tidy" ]; then
  echo "check: clang-tidy not found (Debian: clang-tidy-14); lint skipped" >&2
  exit $rc
fi
if [ ! -f build/compile_commands.json ]; then
  echo "check: build/compile_commands.json missing (run scripts/build.sh); lint skipped" >&2
  exit $rc
fi
# Only translation units the build knows (headers are checked through them).
units=$(echo "$files" | grep '\.cpp$' | while read -r f; do grep -q "\"file\": \".*/$f\"" build/compile_commands.json && echo "$f"; done || true)
if [ -n "$units" ]; then
  echo "check: clang-tidy on $(echo "$units" | wc -l) files"
  echo "$units" | xargs -P "$(nproc)" -n 1 "$tidy" -p build --quiet 2>/dev/null | grep -E 'warning:|error:' && rc=1 || true
fi
[ $rc -eq 0 ] && echo "check: ok"
exit $rc

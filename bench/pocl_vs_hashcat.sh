#!/usr/bin/env bash
# The OpenCL-on-PoCL figure: hashforge's sha256d header scan on opencl:0
# beside hashcat's SHA2-256 (-m 1400) benchmark on the same PoCL device, in one run.
# hashcat tests one SHA-256 compression per candidate; a sha256d nonce costs two, so the
# fair comparison is compressions per second (nonces/s x 2).
# Needs Debian's hashcat and pocl-opencl-icd; run from the repository root after a build.
set -euo pipefail
HF=${HF:-build/apps/hashforge}
command -v hashcat >/dev/null || { echo "hashcat is not installed (apt-get install hashcat)" >&2; exit 1; }
header=0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710
target=0000000000000000000000000000000000000000000000000000000000000001
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$HF" backends --backend opencl:0 | grep opencl
ours() { "$HF" search raw --message $header --offset 76 --target $target --seconds 10 --backend opencl:0 --json -q |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["rate"])'; }
theirs() { hashcat -b -m 1400 --force --quiet 2>/dev/null | awk '/Speed.#1/ {v=$2; u=$3; gsub(/[^0-9.]/,"",v);
  m = (u ~ /^kH/) ? 1e3 : (u ~ /^MH/) ? 1e6 : (u ~ /^GH/) ? 1e9 : 1; printf "%.0f\n", v*m}'; }
a=$(ours); h=$(theirs); b=$(ours)
python3 - "$a" "$b" "$h" <<'PY'
import sys
a, b, h = map(float, sys.argv[1:])
n = (a + b) / 2
print(f"hashforge opencl:0 sha256d scan: {n/1e6:.2f} M nonces/s = {2*n/1e6:.2f} M compressions/s (runs {a/1e6:.2f}, {b/1e6:.2f})")
print(f"hashcat -m 1400 on the same device: {h/1e6:.2f} M hashes/s (one compression each)")
print(f"ratio (compressions/s): {2*n/h:.2f}x  (target 0.8x)")
PY

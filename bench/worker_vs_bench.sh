#!/usr/bin/env bash
# The worker figure: a worker's hash rate while connected to a
# coordinator, beside `hashforge bench`'s sha256d header scan for the same backend and
# threads. Rounds alternate (bench, worker, bench, worker, ...) so machine noise falls on
# both; the figure is the ratio of the medians. Run from the repository root after a build:
#   bench/worker_vs_bench.sh [BACKEND] [THREADS] [ROUNDS] [WORKER_SECONDS]
set -euo pipefail
HF=${HF:-build/apps/hashforge}
backend=${1:-avx512}; threads=${2:-$(nproc)}; rounds=${3:-3}; secs=${4:-20}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  cores: $(nproc)"
echo "backend $backend, $threads threads; worker runs of $secs s on examples/jobs/block100000.json at difficulty 0.05"
"$HF" coordinator --header-job examples/jobs/block100000.json --listen "127.0.0.1:$port" --difficulty 0.05 \
  --no-vardiff --stats-interval 0 --quiet >/dev/null 2>&1 &
co=$!
trap 'kill $co 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
benches=(); workers=()
for r in $(seq "$rounds"); do
  b=$("$HF" bench --backend "$backend" --threads "$threads" --seconds 3 --repeat 1 --no-devices --bulk-mib 16 --json 2>/dev/null |
      python3 -c "import json,sys; d=json.load(sys.stdin); print(next(x['sha256d_scan_nonces_per_s']['rate'] for x in d['backends'] if x['backend']=='$backend'))")
  w=$("$HF" worker --url "stratum+tcp://127.0.0.1:$port" --backend "$backend" --threads "$threads" --seconds "$secs" --json -q |
      python3 -c "import json,sys; d=json.load(sys.stdin); print(d['rate'], d['accepted'], d['rejected'])")
  benches+=("$b"); workers+=("${w%% *}")
  python3 -c "import sys; r, b, w, a, j = sys.argv[1:]; print(f'round {r}: bench {float(b)/1e6:.2f} MH/s, worker {float(w)/1e6:.2f} MH/s (accepted {a}, rejected {j})')" \
    "$r" "$b" $w
done
python3 - "${benches[*]}" "${workers[*]}" <<'PY'
import statistics, sys
b = statistics.median(map(float, sys.argv[1].split()))
w = statistics.median(map(float, sys.argv[2].split()))
print(f"median: bench {b/1e6:.2f} MH/s, worker {w/1e6:.2f} MH/s, worker/bench {w/b:.3f} (target within 3%: 0.970 or more)")
PY

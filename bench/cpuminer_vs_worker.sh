#!/usr/bin/env bash
# The CPU-miner comparison: cpuminer-opt and a hashforge worker each mine
# the same header job from one coordinator for the same time, one after the other (and
# again, alternating, ROUNDS times); the coordinator counts each one's accepted shares at a
# pinned difficulty, so accepted shares per second measure useful hash rate the same way for
# both. cpuminer-opt is not part of hashforge: build it yourself from its public source,
# outside this repository, and pass the binary in CPUMINER. Run from the repository root:
#   CPUMINER=/path/to/cpuminer bench/cpuminer_vs_worker.sh [SECONDS] [THREADS] [DIFFICULTY] [ROUNDS]
# With CONCURRENT=1 both mine at the same time instead, one thread each on a core of its own
# (cpuminer on CPU 0 and hashforge on CPU 1, swapped every round; THREADS is ignored): on a
# shared host whose load moves from one second to the next, both then see the same seconds.
# The worker starts a moment after cpuminer (its self-tests), so its window ends slightly later.
set -euo pipefail
HF=${HF:-build/apps/hashforge}
: "${CPUMINER:?set CPUMINER to a cpuminer-opt binary built outside the repository}"
secs=${1:-60}; threads=${2:-$(nproc)}; diff=${3:-0.002}; rounds=${4:-2}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  cores: $(nproc)"
echo "cpuminer: $("$CPUMINER" --version 2>&1 | grep -m1 -i 'cpuminer')"
if [ "${CONCURRENT:-0}" = 1 ]; then threads=1; fi
echo "job examples/jobs/block100000.json (version 1), difficulty $diff, vardiff off, $threads threads each," \
  "$secs s per run$([ "${CONCURRENT:-0}" = 1 ] && echo ', both at once on separate cores')"
"$HF" coordinator --header-job examples/jobs/block100000.json --listen "127.0.0.1:$port" --http "127.0.0.1:$http" \
  --difficulty "$diff" --no-vardiff --stats-interval 0 --quiet >/dev/null 2>&1 &
co=$!
cpm=
trap 'kill $co ${cpm} 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
hf_line() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f MH/s on %s" % (d["rate"] / 1e6, d["backend"]))' "$1"
}
for r in $(seq "$rounds"); do
  if [ "${CONCURRENT:-0}" = 1 ]; then
    a=$(( (r + 1) % 2 )); b=$(( r % 2 ))
    # cpuminer pins its own threads; an outer taskset would fight its affinity mask
    timeout -s INT "$secs" "$CPUMINER" --cpu-affinity $(( 1 << a )) -a sha256d -o "stratum+tcp://127.0.0.1:$port" \
      -u "cpuminer-$r" -p x -t 1 > "/tmp/cpuminer-$r.log" 2>&1 &
    cpm=$!
    taskset -c "$b" "$HF" worker --url "stratum+tcp://127.0.0.1:$port" --user "hashforge-$r" --threads 1 \
      --seconds "$secs" --json -q > "/tmp/hashforge-$r.json"
    wait "$cpm" || true
    echo "round $r: cpuminer on CPU $a says: $(grep -a -o '[0-9.]* [kMG]h/s' "/tmp/cpuminer-$r.log" | tail -1);" \
      "hashforge worker on CPU $b says: $(hf_line "/tmp/hashforge-$r.json")"
    continue
  fi
  timeout -s INT "$secs" "$CPUMINER" -a sha256d -o "stratum+tcp://127.0.0.1:$port" -u "cpuminer-$r" -p x \
    -t "$threads" > "/tmp/cpuminer-$r.log" 2>&1 || true
  echo "round $r: cpuminer says: $(grep -a -o 'Hash rate [^,]*\|[0-9.]* [kMG]h/s' "/tmp/cpuminer-$r.log" | tail -1)"
  "$HF" worker --url "stratum+tcp://127.0.0.1:$port" --user "hashforge-$r" --threads "$threads" --seconds "$secs" \
    --json -q > "/tmp/hashforge-$r.json"
  echo "round $r: hashforge worker says: $(hf_line "/tmp/hashforge-$r.json")"
done
python3 - "http://127.0.0.1:$http/api/stats" "$secs" "$diff" <<'PY'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1]))
secs, diff = float(sys.argv[2]), float(sys.argv[3])
total = {}
for w in stats["workers"]:
    if not w["name"]:
        continue  # the script's own readiness probe
    who = w["name"].rsplit("-", 1)[0]
    a, j = total.get(who, (0, 0))
    total[who] = (a + w["accepted"], j + w["rejected"])
    print(f'{w["name"]:12s} accepted {w["accepted"]:5d} rejected {w["rejected"]:3d} (stale {w["stale"]}, duplicate '
          f'{w["duplicate"]}, low {w["low_difficulty"]}, other {w["rejected"] - w["stale"] - w["duplicate"] - w["low_difficulty"]})  '
          f'{w["accepted"] / secs:6.2f} shares/s = {w["accepted"] * diff * 2**32 / secs / 1e6:6.2f} MH/s of accepted work')
runs = len([w for w in stats["workers"] if w["name"].startswith("hashforge")])
for who, (a, j) in sorted(total.items()):
    print(f'{who:12s} all rounds: {a} accepted, {j} rejected, {a / (secs * runs):.2f} shares/s, '
          f'{a * diff * 2**32 / (secs * runs) / 1e6:.2f} MH/s of accepted work')
if total.get("cpuminer", (0, 0))[0]:
    print(f'hashforge / cpuminer accepted shares: {total["hashforge"][0] / total["cpuminer"][0]:.2f}x')
PY

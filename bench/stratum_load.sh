#!/usr/bin/env bash
# The coordinator's load figure (mining issue, section 5): one coordinator on loopback holding
# CONNECTIONS worker connections that together submit RATE fresh, valid shares per second,
# with submit-to-reply latency measured at the client and the coordinator's memory sampled.
# The difficulty is pinned at 2^-32 (nearly every hash is a share) with vardiff off, so the
# generator spends one SHA-256d per share. Run from the repository root after a build:
#   bench/stratum_load.sh [CONNECTIONS] [RATE] [SECONDS] [JOB_INTERVAL]
set -euo pipefail
HF=${HF:-build/apps/hashforge}
LOAD=${LOAD:-build/bench/hf_stratum_load}
conns=${1:-2000}; rate=${2:-20000}; seconds=${3:-30}; interval=${4:-10}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  cores: $(nproc)"
echo "coordinator: --difficulty 2^-32 --no-vardiff --job-interval $interval (jobs from examples/jobs/block100000.json)"
"$HF" coordinator --header-job examples/jobs/block100000.json --listen "127.0.0.1:$port" \
  --difficulty 2.3283064365386963e-10 --no-vardiff --job-interval "$interval" --stats-interval 0 --quiet >/dev/null &
co=$!
trap 'kill $co 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "coordinator idle: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$co/status)"
"$LOAD" --connect "127.0.0.1:$port" --connections "$conns" --rate "$rate" --warmup 5 --seconds "$seconds" --pid "$co" \
  --json "${JSON_OUT:-/dev/null}"
echo "coordinator CPU time: $(ps -o times= -p $co | xargs) s over the run"

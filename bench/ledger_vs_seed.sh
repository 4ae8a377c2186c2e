#!/bin/bash
# The auction ledger against the seed system's figures (issue 16): four `hashforge node`s on
# loopback with HTTPS APIs and mutual-TLS links, mining without pause (--mine always) at a
# set share of one thread each, driven by bench/ledger_load.cpp. The seed (BFT-SMaRt, four
# replicas, k6 with 3 processes x 10,000 operations) measured reads at 5.2 ms and writes at
# 5.74 ms on average, about 410 operations/s in all.
#
#   1. `openssl speed ed25519` (one and two processes): what the signature checks cost here;
#   2. the sustained rate: writers as fast as they are acknowledged, with the CPU the nodes
#      used per operation;
#   3. at half that rate: acknowledgement latency, time to k = 6 confirmations, and reads
#      from 3 quorum-checking processes and from one warm proof-checking client at once;
#   4. the same reads beside a light write load (LIGHT/s): the latency floor, not queueing;
#   5. the same with one node killed, and with one node answering reads wrongly
#      (--byzantine wrong-reads) and mining empty blocks (--byzantine empty-blocks).
#
# Writes bench/results/<date>-ledger-vs-seed.md (RESULT= to change). Knobs: SHARE (mining
# share of a thread per node, default 0.02), DURATION (seconds per write run, default 30),
# ACCOUNTS (256), WARMUP (seconds for the retarget to settle, default 90), READ_RATE (reads a
# second per reading process, default 137: the seed's k6 processes each did about that),
# LIGHT (writes a second in a light-load run that shows latency without queueing, default 50),
# KEEP (a folder: the nodes' logs, data and the load generator's output are copied there),
# ONLY_SUSTAINED=1 (stop after the sustained run: for profiling it), FLOOR=1 (instead of the
# runs above: one writer at 20/s alone, then one quorum reader and one proof reader alone at
# 20/s each: the latency with nothing queued behind anything; prints the three JSONs),
# PERF_OUT (a file: `perf record -g` of every node during the sustained run, for perf report).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
HF=${HF:-$HERE/build/apps/hashforge}
LOAD=${LOAD:-$HERE/build/bench/hf_ledger_load}
SHARE=${SHARE:-0.02}
DURATION=${DURATION:-30}
ACCOUNTS=${ACCOUNTS:-256}
WARMUP=${WARMUP:-90}
READ_RATE=${READ_RATE:-137}  # reads a second per reading process: the seed's per-process rate
LIGHT=${LIGHT:-50}  # writes a second in the light-load run
export READ_RATE LIGHT
RESULT=${RESULT:-$HERE/bench/results/$(date -u +%Y-%m-%d)-ledger-vs-seed.md}
# Another run the same day keeps the first: the time goes into the new one's name.
[ -e "$RESULT" ] && RESULT=${RESULT%.md}-$(date -u +%H%M).md
for b in "$HF" "$LOAD"; do [ -x "$b" ] || { echo "ledger_vs_seed: build $b first (cmake --build build)" >&2; exit 2; }; done
command -v openssl >/dev/null || { echo "ledger_vs_seed: openssl is needed" >&2; exit 2; }

WORK=$(mktemp -d /tmp/hf-ledger-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NAMES=(a b c d)
declare -A API LINK PID
for n in "${NAMES[@]}"; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $n.key -out $n.crt -days 2 \
    -subj /CN=$n -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  API[$n]=$(free_port); LINK[$n]=$(free_port)
done
cat a.crt b.crt c.crt d.crt > ca.pem
"$HF" auction keygen --out admin.seed > /dev/null
ADMIN=$("$HF" auction id --key admin.seed | python3 -c 'import json,sys; print(json.load(sys.stdin)["account"])')
python3 - "$HF" "$ADMIN" <<'PY'
import json, subprocess, sys
hf, admin = sys.argv[1], sys.argv[2]
ids = {n: subprocess.run([hf, "node", "--print-key-id", "--node-cert", n + ".crt"], capture_output=True, text=True,
                         check=True).stdout.strip() for n in "abcd"}
json.dump({"name": "ledger-bench", "scheme": "header-sha256d", "difficulty": 4, "block_interval": 1,
           "genesis": {"index": 0, "transactions": [], "timestamp": 1700000000, "previous_hash": "0" * 64,
                       "nonce": 0, "state_root": "0" * 64, "bits": 0x1F0FFFFF},
           "ledger": {"admins": [admin]}, "nodes": [{"name": n, "key": ids[n]} for n in "abcd"]},
          open("spec.json", "w"))
PY

start_node() {  # name [extra args]
  local n=$1; shift
  local conn=() i
  for i in "${NAMES[@]}"; do [[ $i < $n ]] && conn+=(--connect 127.0.0.1:${LINK[$i]}); done
  "$HF" node --listen 127.0.0.1:${API[$n]} --data d$n --chain-spec spec.json --mine always --threads 1 \
    --mining-share "$SHARE" --tls-cert $n.crt --tls-key $n.key --node-cert $n.crt --node-key $n.key \
    --peer-listen 127.0.0.1:${LINK[$n]} "${conn[@]}" "$@" > $n.out 2> $n.err &
  PID[$n]=$!
  PIDS+=($!)
}
status() { curl -s --cacert ca.pem "https://127.0.0.1:${API[$1]}/api/status"; }
nodes_args() { local a=() n; for n in "$@"; do a+=(--node "https://127.0.0.1:${API[$n]}"); done; echo "${a[@]}"; }
node_ticks() { local t=0 n; for n in "${NAMES[@]}"; do
  [ -r /proc/${PID[$n]}/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/${PID[$n]}/stat))); done; echo $t; }
COMMON="--chain-spec spec.json --tls-ca ca.pem --accounts-file accounts.txt"

for n in "${NAMES[@]}"; do start_node $n; done
for i in $(seq 1 100); do status a > /dev/null 2>&1 && status d > /dev/null 2>&1 && break; sleep 0.2; done
echo "ledger_vs_seed: four nodes up; letting the retarget settle for ${WARMUP} s" >&2
sleep "$WARMUP"
"$LOAD" --mode setup $COMMON $(nodes_args a b c d) --admin-key admin.seed --accounts "$ACCOUNTS" > setup.json

write_run() {  # label rate nodes...
  local label=$1 rate=$2; shift 2
  local t0 t1
  local prof=()
  if [ -n "${PERF_OUT:-}" ] && [ "$label" = max ]; then
    perf record -q -F 499 -g -o "$PERF_OUT" -p "$(IFS=,; echo "${PID[*]}")" -- sleep $((DURATION - 2)) \
      > /dev/null 2>&1 & prof=($!)
  fi
  t0=$(node_ticks)
  "$LOAD" --mode write $COMMON $(nodes_args "$@") --threads 8 --rate "$rate" --duration "$DURATION" > "w-$label.json"
  t1=$(node_ticks)
  [ ${#prof[@]} -eq 0 ] || wait "${prof[0]}" || true
  echo $((t1 - t0)) > "ticks-$label"
}
read_runs() {  # label: 3 quorum processes and one proof client, during a write run
  local label=$1; shift
  local secs=$((DURATION - 8))
  for i in 1 2 3; do
    "$LOAD" --mode read-quorum $COMMON $(nodes_args a b c d) --duration $secs --rate "$READ_RATE" > "q$i-$label.json" &
  done
  "$LOAD" --mode read-proof $COMMON $(nodes_args "$@") --duration $secs --rate "$READ_RATE" > "p-$label.json" &
}

if [ "${FLOOR:-0}" = 1 ]; then
  "$LOAD" --mode write $COMMON $(nodes_args a b c d) --threads 1 --rate 20 --duration 15 > w-floor.json
  "$LOAD" --mode read-quorum $COMMON $(nodes_args a b c d) --duration 10 --rate 20 > q-floor.json
  "$LOAD" --mode read-proof $COMMON $(nodes_args a) --duration 10 --rate 20 > p-floor.json
  cat w-floor.json; echo; cat q-floor.json; echo; cat p-floor.json; echo
  exit 0
fi
echo "ledger_vs_seed: the sustained rate" >&2
write_run max 0 a b c d
MAX=$(python3 -c 'import json; print(json.load(open("w-max.json"))["acknowledged_per_s"])')
if [ "${ONLY_SUSTAINED:-0}" = 1 ]; then
  cat w-max.json; echo; for n in "${NAMES[@]}"; do status $n; echo; done
  exit 0
fi
HALF=$(python3 -c "print(int($MAX / 2))")
echo "ledger_vs_seed: half of $MAX/s with reads" >&2
(sleep 4; read_runs half a b c d; wait) & RP=$!
write_run half "$HALF" a b c d
wait $RP

# The floor under the queueing: the same reads beside a light write load.
echo "ledger_vs_seed: light load (${LIGHT} writes/s) with reads" >&2
(sleep 4; read_runs light a b c d; wait) & RP=$!
write_run light "$LIGHT" a b c d
wait $RP

echo "ledger_vs_seed: one node killed" >&2
kill -9 ${PID[d]}; sleep 1
(sleep 4; read_runs crash a b c; wait) & RP=$!
write_run crash "$HALF" a b c
wait $RP

echo "ledger_vs_seed: one Byzantine node (wrong reads, empty blocks)" >&2
start_node d --byzantine wrong-reads --byzantine empty-blocks
sleep 10
(sleep 4; read_runs byz d a b c; wait) & RP=$!
write_run byz "$HALF" a b c
wait $RP
FINAL=$(status a)
# Each node's hashes since it started (d since its restart): the hash-power split.
for n in "${NAMES[@]}"; do status $n > "status-$n.json" 2>/dev/null || true; done

mkdir -p "$(dirname "$RESULT")"
python3 - "$RESULT" "$SHARE" "$DURATION" "$MAX" "$HALF" "$FINAL" <<'PY'
import json, os, platform, subprocess, sys, datetime
out, share, duration, mx, half, final = sys.argv[1:7]
def j(p):
    try:
        return json.load(open(p))
    except Exception as e:
        return {"error": str(e)}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
def speed(multi):
    args = ["openssl", "speed", "-seconds", "3"] + (["-multi", "2"] if multi else []) + ["ed25519"]
    txt = subprocess.run(args, capture_output=True, text=True).stdout.strip().splitlines()[-1].split()
    return float(txt[-1])
v1, v2 = speed(False), speed(True)
rows = []
for label, what in (("max", "sustained (as fast as acknowledged)"), ("half", "half rate, all 4 nodes"),
                    ("light", "light load (%s writes/s), all 4 nodes" % os.environ.get("LIGHT", "50")),
                    ("crash", "half rate, node d killed"), ("byz", "half rate, node d Byzantine")):
    w = j("w-%s.json" % label)
    ticks = int(open("ticks-" + label).read()) if os.path.exists("ticks-" + label) else 0
    ack = w.get("acknowledged", 0) or 1
    q = [j("q%d-%s.json" % (i, label)) for i in (1, 2, 3)]
    p = j("p-%s.json" % label)
    rows.append((what, w, ticks * 10.0 / ack, q, p))
status = json.loads(final)
with open(out, "w") as f:
    f.write("# Auction ledger vs the seed's BFT-SMaRt figures (issue 16)\n\n")
    f.write("- date: %s\n- CPU: %s (%d logical CPUs)\n- kernel: %s\n" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), cpu, os.cpu_count(), platform.release()))
    f.write("- cluster: 4 `hashforge node`s on loopback, HTTPS API, mutual-TLS links, `--mine always --threads 1 "
            "--mining-share %s`, 1 s block interval (retargeting), 256 funded accounts, transfers; `bench/ledger_vs_seed.sh`\n" % share)
    f.write("- anchor (measured here, same run): `openssl speed ed25519` verify %.0f/s one process, %.0f/s two processes\n" % (v1, v2))
    f.write("- seed (its own report, k6, 3 processes x 10,000 ops): reads 5.2 ms, writes 5.74 ms on average, about 410 ops/s\n")
    f.write("- reads: 3 quorum-checking processes and 1 warm proof-checking client, each paced at %s reads/s, during the write runs\n\n" % os.environ.get("READ_RATE", "137"))
    f.write("| run | acked/s | committed/s | ack mean / p50 / p99 ms | k=6 confirm p50 / p99 ms | node CPU ms per op | quorum read mean ms (3 procs) | proof read mean / p99 ms |\n")
    f.write("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
    for what, w, cpu_ms, q, p in rows:
        qm = [x.get("mean_ms") for x in q if "mean_ms" in x]
        f.write("| %s | %.0f | %.0f | %.2f / %.2f / %.2f | %.0f / %.0f | %.3f | %s | %s |\n" % (
            what, w.get("acknowledged_per_s", 0), w.get("committed_per_s", 0), w.get("ack_mean_ms", 0),
            w.get("ack_p50_ms", 0), w.get("ack_p99_ms", 0), w.get("confirm_p50_ms", 0), w.get("confirm_p99_ms", 0),
            cpu_ms, " / ".join("%.3f" % x for x in qm) if qm else "-",
            ("%.3f / %.3f" % (p["mean_ms"], p["p99_ms"])) if "mean_ms" in p else "-"))
    sig_share = 4 * 1000.0 / v2 * 2
    f.write("\nSignature checks: every node verifies every operation once, so 4 verifications an operation; at the "
            "two-process rate above that is %.3f ms of one core each (%.0f%% of the node CPU per operation in the "
            "sustained run).\n" % (4 * 2 * 1000.0 / v2, 100 * 4 * 2 * 1000.0 / v2 / max(rows[0][2], 1e-9)))
    f.write("\nFailed or refused: %s\n" % "; ".join("%s: %d refused, %d errors, %d told to retry (pool full), reads failed %s" % (
        what, w.get("refused", 0), w.get("errors", 0), w.get("busy", 0), ",".join(str(x.get("failed", "?")) for x in q + [p]))
        for what, w, _, q, p in rows))
    f.write("\nFinal status of node a: height %s, forks %s, committed %s operations.\n" % (
        status.get("height"), status.get("forks"), status.get("ledger", {}).get("committed")))
    hashes = {n: j("status-%s.json" % n).get("mining", {}).get("hashes", 0) for n in "abcd"}
    total = sum(hashes.values()) or 1
    f.write("\nHash power, measured (each node's hash counter; d counts from its restart): %s.\n" % ", ".join(
        "%s %.1f%% (%.3g hashes)" % (n, 100.0 * h / total, h) for n, h in hashes.items()))
    f.write("\nRaw: " + "; ".join("%s %s" % (what, json.dumps(w)) for what, w, _, _, _ in rows) + "\n")
print(open(out).read())
PY

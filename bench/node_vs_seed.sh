#!/usr/bin/env bash
# The node's figures (issue 14): `hashforge node` against the tutorial blockchain node it
# replaces (satwikkansal/python_blockchain_app, node_server.py, on Debian's python3-flask dev
# server, threaded), measured in the same run.
#   1. Both nodes get the same 100-block chain at difficulty 2 (per block: 10 transactions of
#      about 100 bytes, then GET /mine); both /chain lengths must be 101.
#   2. wrk -t2 -cC -dD --latency on GET /chain, then on POST /new_transaction with
#      bench/wrk/node_new_tx.lua (a distinct transaction per request), seed then hashforge, for
#      each C in CONNS. After each POST run on hashforge, every acknowledged (201) transaction
#      must be in its /pending_tx.
#   3. Mining: a fresh hashforge node at --difficulty 5 (2^20 nonces a block on average) mines
#      blocks of 1,000 transactions; nonces/s x SHA-256 compressions per nonce (the length of
#      the hashed json.dumps text, padded) against `hashforge bench`'s SHA-256 1 MiB bytes/s / 64
#      on the backend the node mined on, same threads. The target: >= 0.8.
# Run from the repository root after a build; writes bench/results/<date>-node-vs-seed.md
# (RESULT=path to put it elsewhere, RESULT=/dev/null for none):
#   bench/node_vs_seed.sh [BUILD_DIR]
# env: SEED_NODE_PY=/tmp/seed/node_server.py (cloned into a temporary folder when missing)
#      SEED_PYTHON=/usr/bin/python3 (Debian's, with python3-flask and python3-requests)
#      CONNS="20 10" DURATION=10s THREADS=2 (wrk) ROUNDS=1
#      BLOCKS=100 TX_PER_BLOCK=10 MINE_DIFFICULTY=5 MINE_TX=1000 MINE_SECONDS=30
#      MINE_MAX_BLOCKS=5 MINE_THREADS=$(nproc) MINE_BACKEND= (default: the node's choice)
#      BENCH_SECONDS=1 BENCH_REPEAT=3 BENCH_RUNS=2 (the best run is kept)
# Exits 77 (skipped) when wrk or Flask is missing.
set -euo pipefail
build=${1:-build}
hf=${HF:-$build/apps/hashforge}
seed_py=${SEED_NODE_PY:-/tmp/seed/node_server.py}
seed_python=${SEED_PYTHON:-/usr/bin/python3}
conns_list=${CONNS:-20 10}
duration=${DURATION:-10s}
wrk_threads=${THREADS:-2}
rounds=${ROUNDS:-1}
blocks=${BLOCKS:-100}
tx_per_block=${TX_PER_BLOCK:-10}
mine_difficulty=${MINE_DIFFICULTY:-5}
mine_tx=${MINE_TX:-1000}
mine_seconds=${MINE_SECONDS:-30}
mine_max_blocks=${MINE_MAX_BLOCKS:-5}
mine_threads=${MINE_THREADS:-$(nproc)}
mine_backend=${MINE_BACKEND:-}
bench_seconds=${BENCH_SECONDS:-1}
bench_repeat=${BENCH_REPEAT:-3}
bench_runs=${BENCH_RUNS:-2}
day=$(date -u +%Y-%m-%d)
result=${RESULT:-bench/results/$day-node-vs-seed.md}
lua=bench/wrk/node_new_tx.lua

command -v wrk >/dev/null || { echo "skipped: wrk is not installed"; exit 77; }
"$seed_python" -c 'import flask, requests' 2>/dev/null ||
  { echo "skipped: $seed_python has no flask/requests (apt-get install python3-flask python3-requests)"; exit 77; }
[ -x "$hf" ] || { echo "no $hf: build it first (ninja -C $build hashforge)"; exit 1; }
[ -f "$lua" ] || { echo "no $lua: run from the repository root"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The seed: never copied into the repository; fetched into the temporary folder when missing.
seed_origin="$seed_py"
if [ ! -f "$seed_py" ]; then
  command -v git >/dev/null || { echo "no seed node at $seed_py and no git to fetch it: set SEED_NODE_PY"; exit 1; }
  echo "no seed node at $seed_py: cloning https://github.com/satwikkansal/python_blockchain_app into $tmp"
  GIT_TERMINAL_PROMPT=0 timeout 120 git clone -q --depth 1 https://github.com/satwikkansal/python_blockchain_app "$tmp/seed" ||
    { echo "could not clone the seed node (no network?): put node_server.py somewhere and set SEED_NODE_PY"; exit 1; }
  seed_py=$tmp/seed/node_server.py
  seed_origin="github.com/satwikkansal/python_blockchain_app@$(git -C "$tmp/seed" rev-parse --short HEAD)"
fi
seed_dir=$(cd "$(dirname "$seed_py")" && pwd)
seed_file=$(basename "$seed_py")
seed_sha=$(sha256sum "$seed_py" | cut -c1-16)
seed_versions=$("$seed_python" -c 'import sys, importlib.metadata as m; print("Python", sys.version.split()[0] + ", Flask", m.version("flask") + ", Werkzeug", m.version("werkzeug"))')
hf_version=$("$hf" --version)
wrk_version=$( (wrk -v 2>&1 || true) | head -1 | cut -d" " -f1-2)

# Every server listens on port 0 and names its port in its log: no race with other programs
# for a port picked in advance. wait_url PID LOG SED_EXPR -> the URL, once the log has it.
wait_url() {
  local url=""
  for _ in $(seq 300); do
    kill -0 "$1" 2>/dev/null || return 1
    url=$(sed -n "$3" "$2" | head -1)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.05
  done
  return 1
}
hf_url_of() { wait_url "$1" "$2" 's|^node listening on \(http://[^ ]*/\)$|\1|p'; }

# Client-side helpers (standard library only).
cat >"$tmp/nodes.py" <<'PY'
import hashlib, json, sys, time, urllib.error, urllib.request

def call(url, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

def tx(tag, i, j):
    head = f"{tag} block {i:03d} transaction {j:04d} "
    return {"author": f"{tag}-author-{j % 7}", "content": head + "y" * (80 - len(head))}

def post(base, txs):
    for t in txs:
        status, body = call(base + "new_transaction", t)
        if status != 201 or body != "Success":
            sys.exit(f"{base}new_transaction: {status} {body!r}")

def mine(base, mined_before=None):
    status, body = call(base + "mine", timeout=3600)
    if status == 503 and body.startswith("Still mining") and mined_before is not None:
        # hashforge stops waiting after a while (5 minutes); the block still follows.
        for _ in range(3600):
            if json.loads(call(base + "api/status")[1])["mining"]["blocks_mined"] > mined_before:
                return body
            time.sleep(1)
    if status != 200 or not body.startswith("Block #"):
        sys.exit(f"{base}mine: {status} {body!r}")
    return body

cmd, base = sys.argv[1], sys.argv[2]
if cmd == "build":  # build BASE BLOCKS TX_PER_BLOCK: the same chain on any node
    blocks, per = int(sys.argv[3]), int(sys.argv[4])
    for i in range(1, blocks + 1):
        post(base, [tx("chain", i, j) for j in range(per)])
        mine(base)
elif cmd == "same-chain":  # same-chain BASE OTHER LENGTH: both that long, same transactions
    want = int(sys.argv[4])
    chains = [json.loads(call(b + "chain")[1]) for b in (base, sys.argv[3])]
    for b, c in zip((base, sys.argv[3]), chains):
        if c["length"] != want or len(c["chain"]) != want:
            sys.exit(f"{b}chain: length {c['length']}, want {want}")
    strip = lambda c: [[(t["author"], t["content"]) for t in blk["transactions"]] for blk in c["chain"]]
    if strip(chains[0]) != strip(chains[1]):
        sys.exit("the two chains hold different transactions")
    print(chains[0]["length"], chains[1]["length"], len(call(base + "chain")[1]), len(call(sys.argv[3] + "chain")[1]))
elif cmd == "pending":  # pending BASE [TAG]: pending transactions (those whose author starts with TAG)
    txs = json.loads(call(base + "pending_tx")[1])
    if len(sys.argv) > 3:
        txs = [t for t in txs if t["author"].startswith(sys.argv[3] + "-")]
    contents = {(t["author"], t["content"]) for t in txs}
    print(len(txs), len(contents))
elif cmd == "mine-one":  # mine-one BASE TXS ROUND: post TXS transactions, mine, describe the block
    n, rnd = int(sys.argv[3]), int(sys.argv[4])
    post(base, [tx(f"mine{rnd}", rnd, j) for j in range(n)])
    mine(base, json.loads(call(base + "api/status")[1])["mining"]["blocks_mined"])
    st = json.loads(call(base + "api/status")[1])
    m = st["mining"]
    block = json.loads(call(base + "api/block/" + st["tip"])[1])
    fields = {k: block[k] for k in ("index", "transactions", "timestamp", "previous_hash", "nonce")}
    text = json.dumps(fields, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if digest != block["hash"] or digest != st["tip"]:
        sys.exit(f"block {block['index']}: hash {block['hash']} but json.dumps hashes to {digest}")
    if st["difficulty"] and not digest.startswith("0" * st["difficulty"]):
        sys.exit(f"block {block['index']}: {digest} misses difficulty {st['difficulty']}")
    cpn = (len(text.encode()) + 9 + 63) // 64
    print(block["index"], len(block["transactions"]), len(text.encode()), cpn,
          m["last_nonces"], m["last_seconds"], m["rate"], m["backend"] or "?", block["nonce"])
else:
    sys.exit(f"unknown command {cmd}")
PY
nodes() { python3 "$tmp/nodes.py" "$@"; }

# The two nodes for the HTTP figures, both at difficulty 2 (the tutorial's).
(cd "$seed_dir" && exec env -u DATA_FILE PYTHONDONTWRITEBYTECODE=1 FLASK_APP="$seed_file" \
  "$seed_python" -m flask run --host 127.0.0.1 --port 0) >"$tmp/seed.log" 2>&1 &
pids+=($!)
seed_url=$(wait_url "$!" "$tmp/seed.log" 's|^ \* Running on \(http://[0-9.:]*\)$|\1/|p') ||
  { echo "the seed node did not start:"; cat "$tmp/seed.log"; exit 1; }
"$hf" node --listen 127.0.0.1:0 --data "$tmp/hf-data" --rate-limit 0 --quiet >"$tmp/hf.log" 2>&1 &
pids+=($!)
hf_url=$(hf_url_of "$!" "$tmp/hf.log") || { echo "hashforge node did not start:"; cat "$tmp/hf.log"; exit 1; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
cores=$(nproc)
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "date: $when  cpu: $cpu  cores: $cores  load average: $load"
echo "seed: $seed_origin (sha256 $seed_sha), $seed_versions; hashforge: $hf_version; $wrk_version"

echo "building the same $blocks-block chain ($tx_per_block transactions a block) on both nodes"
t0=$(date +%s.%N)
nodes build "$seed_url" "$blocks" "$tx_per_block"
t1=$(date +%s.%N)
nodes build "$hf_url" "$blocks" "$tx_per_block"
t2=$(date +%s.%N)
build_seed=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
build_hf=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')
read -r len_seed len_hf bytes_seed bytes_hf < <(nodes same-chain "$seed_url" "$hf_url" $((blocks + 1)))
echo "chain lengths: seed $len_seed, hashforge $len_hf (same transactions); /chain bodies: seed $bytes_seed bytes, hashforge $bytes_hf bytes"
echo "building took seed ${build_seed}s, hashforge ${build_hf}s (sequential requests, one connection each)"

# wrk's output -> "req/s p99" (p99 as wrk prints it); the whole output is left in $tmp/last.out,
# Non-2xx and socket errors are noted in $tmp/wrk-errors.
: >"$tmp/wrk-errors"
measure() {  # measure NAME CONNS URL [SCRIPT TAG]
  local name=$1 c=$2 url=$3 args=()
  [ $# -ge 5 ] && args=(-s "$4" "$url" -- "$5") || args=("$url")
  wrk -t"$wrk_threads" -c"$c" -d"$duration" --latency "${args[@]}" >"$tmp/last.out"
  cat "$tmp/last.out" >>"$tmp/wrk-$name.log"
  local errors
  errors=$(awk '/Non-2xx|Socket errors/' "$tmp/last.out" | xargs)
  if [ -n "$errors" ]; then
    echo "  $name -c$c: wrk reported: $errors" >&2
    echo "$name -c$c: $errors" >>"$tmp/wrk-errors"
  fi
  echo "$(awk '/^Requests\/sec:/ {print $2}' "$tmp/last.out") $(awk '$1 == "99%" {print $2}' "$tmp/last.out")"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

rows=()
ack_total=0
present_total=0
distinct_total=0
other_total=0
ack_ok=yes
declare -A rps_of p99_of
for c in $conns_list; do
  for what in get post; do
    s_all=(); h_all=(); s_p99s=(); h_p99s=()
    for r in $(seq "$rounds"); do
      if [ "$what" = get ]; then
        read -r s_rps s_p99 < <(measure seed-get "$c" "${seed_url}chain")
        read -r h_rps h_p99 < <(measure hashforge-get "$c" "${hf_url}chain")
      else
        tag="c${c}r${r}"
        read -r s_rps s_p99 < <(measure seed-post "$c" "$seed_url" "$lua" "seed$tag")
        read -r before _ < <(nodes pending "$hf_url" "hf$tag")
        read -r h_rps h_p99 < <(measure hashforge-post "$c" "$hf_url" "$lua" "hf$tag")
        ack=$(awk '/^acknowledged:/ {print $2}' "$tmp/last.out")
        other=$(awk '/^other_status:/ {print $2}' "$tmp/last.out")
        read -r present distinct < <(nodes pending "$hf_url" "hf$tag")
        present=$((present - before))
        echo "  hashforge POST -c$c round $r: acknowledged $ack (other statuses $other), present in /pending_tx $present ($distinct distinct)"
        ack_total=$((ack_total + ack)); present_total=$((present_total + present))
        distinct_total=$((distinct_total + distinct)); other_total=$((other_total + other))
        { [ "$present" -ge "$ack" ] && [ "$distinct" = "$present" ]; } || ack_ok=no
      fi
      ratio=$(awk -v h="$h_rps" -v s="$s_rps" 'BEGIN {printf "%.1f", h / s}')
      label=$([ "$what" = get ] && echo "GET /chain" || echo "POST /new_transaction")
      printf "%-22s -c%-3s round %d: seed %9.0f req/s (p99 %s) | hashforge %9.0f req/s (p99 %s) | %sx\n" \
        "$label" "$c" "$r" "$s_rps" "$s_p99" "$h_rps" "$h_p99" "$ratio"
      s_all+=("$s_rps"); h_all+=("$h_rps"); s_p99s+=("$s_p99"); h_p99s+=("$h_p99")
    done
    s_med=$(median "${s_all[@]}"); h_med=$(median "${h_all[@]}")
    ratio=$(awk -v h="$h_med" -v s="$s_med" 'BEGIN {printf "%.1f", h / s}')
    rows+=("| $label | $c | $(printf %.0f "$s_med") | ${s_p99s[*]} | $(printf %.0f "$h_med") | ${h_p99s[*]} | **${ratio}x** |")
  done
done

# The mining figure: a fresh node at a target needing >= 2^20 nonces a block on average.
mine_args=(--difficulty "$mine_difficulty" --threads "$mine_threads")
[ -n "$mine_backend" ] && mine_args+=(--backend "$mine_backend")
"$hf" node --listen 127.0.0.1:0 --data "$tmp/mine-data" --rate-limit 0 --quiet "${mine_args[@]}" >"$tmp/mine.log" 2>&1 &
mine_pid=$!
pids+=("$mine_pid")
mine_url=$(hf_url_of "$mine_pid" "$tmp/mine.log") || { echo "hashforge node (mining) did not start:"; cat "$tmp/mine.log"; exit 1; }
echo "mining at difficulty $mine_difficulty ($mine_threads threads), $mine_tx transactions a block, until ${mine_seconds}s of mining or $mine_max_blocks blocks"
mine_rows=()
sum_nonces=0
sum_secs=0
sum_comp=0
backend=""
n_blocks=0
while :; do
  n_blocks=$((n_blocks + 1))
  read -r idx ntx tlen cpn nonces secs rate b winning < <(nodes mine-one "$mine_url" "$mine_tx" "$n_blocks")
  backend=$b
  comp_s=$(awk -v n="$nonces" -v s="$secs" -v c="$cpn" 'BEGIN {printf "%.0f", n * c / s}')
  printf "block %d: %d transactions, hashed text %d bytes = %d compressions a nonce; %d nonces in %.2fs (status rate %.0f/s) = %.2f M compressions/s on %s (winning nonce %d)\n" \
    "$idx" "$ntx" "$tlen" "$cpn" "$nonces" "$secs" "$rate" "$(awk -v x="$comp_s" 'BEGIN {print x / 1e6}')" "$backend" "$winning"
  mine_rows+=("| $idx | $ntx | $tlen | $cpn | $nonces | $(printf %.2f "$secs") | $(printf %.0f "$rate") | $(awk -v x="$comp_s" 'BEGIN {printf "%.2f", x / 1e6}') |")
  sum_nonces=$((sum_nonces + nonces))
  sum_secs=$(awk -v a="$sum_secs" -v b="$secs" 'BEGIN {print a + b}')
  sum_comp=$(awk -v a="$sum_comp" -v n="$nonces" -v c="$cpn" 'BEGIN {printf "%.0f", a + n * c}')
  awk -v s="$sum_secs" -v m="$mine_seconds" 'BEGIN {exit !(s >= m)}' && break
  [ "$n_blocks" -ge "$mine_max_blocks" ] && break
done
kill "$mine_pid" 2>/dev/null || true
wait "$mine_pid" 2>/dev/null || true
mine_comp_s=$(awk -v c="$sum_comp" -v s="$sum_secs" 'BEGIN {printf "%.0f", c / s}')
mine_nonce_s=$(awk -v n="$sum_nonces" -v s="$sum_secs" 'BEGIN {printf "%.0f", n / s}')

# `hashforge bench` on the backend the node mined on, same threads, with the node stopped.
bench_args=(bench --backend "$backend" --threads "$mine_threads" --seconds "$bench_seconds" --repeat "$bench_repeat" --bulk-mib 64 --json)
case $backend in *:* | cuda*) ;; *) bench_args+=(--no-devices) ;; esac
# BENCH_RUNS runs, the best kept: the shared machine's noise only ever lowers a figure, and the
# best bench is the harder one for the ratio to meet.
bench_all=()
for _ in $(seq "$bench_runs"); do
  bench_all+=("$("$hf" "${bench_args[@]}" 2>/dev/null |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(next(x['sha256_1MiB_bytes_per_s']['rate'] for x in d['backends'] if x['backend']==sys.argv[1]))" "$backend")")
done
bench_bytes=$(printf '%s\n' "${bench_all[@]}" | sort -g | tail -1)
bench_list=$(printf '%s\n' "${bench_all[@]}" | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / 1e9}')
bench_comp_s=$(awk -v b="$bench_bytes" 'BEGIN {printf "%.0f", b / 64}')
mine_ratio=$(awk -v m="$mine_comp_s" -v b="$bench_comp_s" 'BEGIN {printf "%.2f", m / b}')
mine_verdict=$(awk -v r="$mine_ratio" 'BEGIN {print (r >= 0.8) ? "met" : "NOT met"}')
printf "mining: %d nonces in %.2fs over %d blocks = %.0f nonces/s = %.2f M compressions/s; bench %s SHA-256 1 MiB (best of $bench_list) %.2f GB/s = %.2f M compressions/s; ratio %s (target >= 0.8: %s)\n" \
  "$sum_nonces" "$sum_secs" "$n_blocks" "$mine_nonce_s" "$(awk -v x="$mine_comp_s" 'BEGIN {print x / 1e6}')" \
  "$backend" "$(awk -v x="$bench_bytes" 'BEGIN {print x / 1e9}')" "$(awk -v x="$bench_comp_s" 'BEGIN {print x / 1e6}')" "$mine_ratio" "$mine_verdict"

ack_verdict=$([ "$ack_ok" = yes ] && echo "every acknowledged transaction present" || echo "MISSING TRANSACTIONS")
table() {
  echo "| request | wrk -c | seed req/s | seed p99 | hashforge req/s | hashforge p99 | hashforge / seed |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
}
echo
table
echo
echo "hashforge POST runs: acknowledged (201) $ack_total, other statuses $other_total, present in /pending_tx $present_total ($distinct_total distinct): $ack_verdict"
echo "mining: $mine_ratio of bench ($mine_verdict)"

[ "$result" = /dev/null ] && exit 0
mkdir -p "$(dirname "$result")"
{
  echo "# hashforge node vs the tutorial node ($day)"
  echo
  echo "- date: $when"
  echo "- cpu: $cpu, $cores cores (wrk, the nodes and the client share them); load average at the start: $load"
  echo "- seed: \`$seed_file\` from $seed_origin (sha256 $seed_sha...), $seed_versions (Debian), Flask's dev server (threaded), request log to a file"
  echo "- hashforge: $hf_version, \`hashforge node --rate-limit 0 --quiet\` (difficulty 2, SQLite in a temporary folder)"
  echo "- load: $wrk_version, \`wrk -t$wrk_threads -cC -d$duration --latency\`, $rounds round(s), seed then hashforge;"
  echo "  POST with \`-s $lua\` (a distinct ~100-byte transaction per request)"
  echo "- script: \`bench/node_vs_seed.sh\`"
  echo
  echo "Commands:"
  echo
  echo "\`\`\`"
  echo "cd $seed_dir && FLASK_APP=$seed_file $seed_python -m flask run --host 127.0.0.1 --port 0"
  echo "$hf node --listen 127.0.0.1:0 --data DIR --rate-limit 0 --quiet"
  echo "wrk -t$wrk_threads -cC -d$duration --latency URL/chain            # C in: $conns_list"
  echo "wrk -t$wrk_threads -cC -d$duration --latency -s $lua URL -- TAG"
  echo "$hf node --listen 127.0.0.1:0 --data DIR --rate-limit 0 --quiet ${mine_args[*]}"
  echo "$hf ${bench_args[*]}"
  echo "\`\`\`"
  echo
  echo "## HTTP"
  echo
  echo "Both nodes first get the same $blocks-block chain ($tx_per_block transactions of about 100 bytes a block, GET /mine after each):"
  echo "/chain length seed $len_seed, hashforge $len_hf, same transactions; the /chain body is $bytes_seed bytes (seed), $bytes_hf bytes (hashforge)."
  echo "Building it with sequential requests took ${build_seed}s on the seed, ${build_hf}s on hashforge."
  echo
  table
  echo
  echo "POST /new_transaction on hashforge, all runs: $ack_total acknowledged (201), $other_total other statuses;"
  echo "$present_total of the run's transactions present in /pending_tx afterwards ($distinct_total distinct): $ack_verdict."
  echo "(Present can exceed acknowledged: requests in flight when wrk stops are stored, but wrk counts no answer.)"
  if [ -s "$tmp/wrk-errors" ]; then
    echo
    echo "wrk reported:"
    sed 's/^/- /' "$tmp/wrk-errors"
  fi
  echo
  echo "## Mining"
  echo
  echo "A fresh node, \`hashforge node --difficulty $mine_difficulty --threads $mine_threads${mine_backend:+ --backend $mine_backend}\`, $mine_tx transactions a block,"
  echo "GET /mine, then /api/status's mining.last_nonces and last_seconds; compressions a nonce = (len(json.dumps(5 fields, sort_keys=True)) + 9 + 63) // 64."
  echo
  echo "| block | transactions | hashed bytes | compressions / nonce | nonces | seconds | status rate (nonces/s) | M compressions/s |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${mine_rows[@]}"
  echo
  printf "Aggregate: %d nonces in %.2fs = %.0f nonces/s = %.2f M compressions/s on %s.\n" \
    "$sum_nonces" "$sum_secs" "$mine_nonce_s" "$(awk -v x="$mine_comp_s" 'BEGIN {print x / 1e6}')" "$backend"
  printf "\`hashforge %s\` (the node stopped), %d runs: SHA-256 1 MiB %s GB/s; the best, %.2f GB/s / 64 = %.2f M compressions/s.\n" \
    "${bench_args[*]}" "$bench_runs" "$bench_list" "$(awk -v x="$bench_bytes" 'BEGIN {print x / 1e9}')" "$(awk -v x="$bench_comp_s" 'BEGIN {print x / 1e6}')"
  echo
  echo "The miner hashes the same block text (about 160 KB, cache-resident) in every lane, only the nonce differing;"
  echo "the bulk bench hashes distinct 1 MiB messages out of 64 MiB of memory. That is the likely reason a ratio can exceed 1."
  echo
  echo "Mining / bench: **$mine_ratio** (target >= 0.8: $mine_verdict)."
} >"$result"
echo "wrote $result"

#!/usr/bin/env bash
# The tracker's figure (docs/tracker.md): `hashforge tracker` against Debian's opentracker in
# the same run, on loopback, with the same load:
#   HTTP  wrk -t2 -cCONNS with keep-alive, and with `Connection: close` (a new connection per
#         announce), every request a new peer on one of TORRENTS info-hashes (bench/tracker_announce.lua);
#   UDP   bench/udp_tracker_load.cpp: connection ids reused, and a connect before every announce;
#   net/http's own ceiling: hf_http_bench_server's 200-byte reply, keep-alive and close.
# hashforge runs with rate limits off (the load comes from one address) and no history.
# opentracker (Debian builds it whitelist-only, and it chroots) gets a directory of its own
# with the TORRENTS hashes whitelisted, run as nobody when this runs as root.
#   bench/tracker_vs_opentracker.sh [BUILD_DIR]   (env: DURATION=10s CONNS=50 TORRENTS=1000
#       HF_HTTP_THREADS=2 HF_UDP_THREADS=2 RESULT=path, RESULT=/dev/null for none)
# Targets: HTTP >= 2x opentracker with keep-alive, >= 1x with a new connection each time; UDP
# >= 1x in both modes; p99 under 10 ms. Exits 77 (skipped) without wrk or opentracker.
set -euo pipefail
build=${1:-build}
duration=${DURATION:-10s}
secs=${duration%s}
conns=${CONNS:-50}
torrents=${TORRENTS:-1000}
hf_http_threads=${HF_HTTP_THREADS:-2}
hf_udp_threads=${HF_UDP_THREADS:-2}
hf=${HF:-$build/apps/hashforge}
load=${LOAD:-$build/bench/hf_udp_tracker_load}
ceiling=${HF_HTTP_BENCH:-$build/bench/hf_http_bench_server}
ot=${OPENTRACKER:-/usr/bin/opentracker}
day=$(date -u +%Y-%m-%d)
result=${RESULT:-bench/results/$day-tracker-vs-opentracker.md}
here=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { echo "skipped: wrk is not installed"; exit 77; }
[ -x "$ot" ] || { echo "skipped: no opentracker at $ot"; exit 77; }
for b in "$hf" "$load" "$ceiling"; do [ -x "$b" ] || { echo "no $b: build it first"; exit 1; }; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# opentracker, whitelisting the hashes the load uses: 16 zero bytes and i + 1 big-endian.
mkdir -p "$tmp/ot"
for i in $(seq 1 "$torrents"); do printf '%032x%08x\n' 0 "$i"; done >"$tmp/ot/whitelist.txt"
chmod -R a+rX "$tmp/ot"
ot_port=$(free_port)
as_nobody=()
[ "$(id -u)" = 0 ] && as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
(cd "$tmp/ot" && exec "${as_nobody[@]}" "$ot" -i 127.0.0.1 -p "$ot_port" -P "$ot_port" -d "$tmp/ot" -w whitelist.txt \
  >"$tmp/ot.log" 2>&1) &
pids+=($!)
wait_port "$ot_port" || { echo "opentracker did not start:"; cat "$tmp/ot.log"; exit 1; }

"$hf" tracker --http 127.0.0.1:0 --udp 127.0.0.1:0 --rate-limit 0 --no-history --quiet \
  --http-threads "$hf_http_threads" --udp-threads "$hf_udp_threads" >"$tmp/hf.out" 2>"$tmp/hf.err" &
pids+=($!)
for _ in $(seq 100); do [ "$(grep -c listening "$tmp/hf.out" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
hf_http=$(sed -n 's|^tracker listening on \(http://[^/]*\)/announce$|\1|p' "$tmp/hf.out")
hf_udp=$(sed -n 's|^tracker listening on udp://\(.*\)$|\1|p' "$tmp/hf.out")
[ -n "$hf_http" ] && [ -n "$hf_udp" ] || { echo "hashforge tracker did not start:"; cat "$tmp/hf.err"; exit 1; }

ceil_port=$(free_port)
"$ceiling" --listen "127.0.0.1:$ceil_port" --threads "$hf_http_threads" >/dev/null &
pids+=($!)
wait_port "$ceil_port" || { echo "hf_http_bench_server did not start"; exit 1; }

# Both trackers must accept the load's first announce before anything is measured.
probe="/announce?info_hash=$(printf '%%00%.0s' $(seq 16))%00%00%00%01&peer_id=-HFWRK0-probeprobepr&port=1&left=0"
for base in "http://127.0.0.1:$ot_port" "$hf_http"; do
  reply=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read())' "$base$probe")
  case $reply in *failure*) echo "$base refused the probe: $reply"; exit 1 ;; esac
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
echo "date: $when  cpu: $cpu  cores: $(nproc)  load average: $loadavg"

# wrk's output -> "req/s p50 p99 errors"
measure_http() {
  local url=$1 script=$2
  shift 2
  local out
  out=$(TORRENTS=$torrents wrk -t2 -c"$conns" -d"$duration" --latency ${script:+-s "$script"} "$@" "$url")
  local rps p50 p99 errs
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"$out")
  echo "$rps $p50 $p99 ${errs:-none}"
}
# hf_udp_tracker_load's line -> "announces/s p50 p99 lost errors"
measure_udp() {
  "$load" --target "$1" --seconds "$secs" --mode "$2" --torrents "$torrents" --sockets 4 --window 16 |
    sed -n 's/.*: \([0-9]*\) announces\/s, p50 \([0-9]*\) us, p99 \([0-9]*\) us, \([0-9]*\) lost, \([0-9]*\) errors/\1 \2us \3us \4 \5/p'
}

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); printf '%-44s %10s req/s  p50 %-9s p99 %-9s %s\n' "$1" "$2" "$3" "$4" "$5"; }

read -r a b c d < <(measure_http "http://127.0.0.1:$ot_port/" "$here/tracker_announce.lua")
ot_ka=$a; row "HTTP keep-alive: opentracker" "$a" "$b" "$c" "$d"
read -r a b c d < <(measure_http "$hf_http/" "$here/tracker_announce.lua")
hf_ka=$a; hf_ka_p99=$c; row "HTTP keep-alive: hashforge" "$a" "$b" "$c" "$d"
read -r a b c d < <(measure_http "http://127.0.0.1:$ot_port/" "$here/tracker_announce.lua" -H "Connection: close")
ot_cl=$a; row "HTTP Connection: close: opentracker" "$a" "$b" "$c" "$d"
read -r a b c d < <(measure_http "$hf_http/" "$here/tracker_announce.lua" -H "Connection: close")
hf_cl=$a; hf_cl_p99=$c; row "HTTP Connection: close: hashforge" "$a" "$b" "$c" "$d"
read -r a b c d < <(measure_http "http://127.0.0.1:$ceil_port/" "")
row "net/http ceiling (200 B reply), keep-alive" "$a" "$b" "$c" "$d"
read -r a b c d < <(measure_http "http://127.0.0.1:$ceil_port/" "" -H "Connection: close")
row "net/http ceiling (200 B reply), close" "$a" "$b" "$c" "$d"
read -r a b c d e < <(measure_udp "127.0.0.1:$ot_port" reuse)
ot_ur=$a; row "UDP, connection id reused: opentracker" "$a" "$b" "$c" "lost $d, errors $e"
read -r a b c d e < <(measure_udp "$hf_udp" reuse)
hf_ur=$a; hf_ur_p99=$c; row "UDP, connection id reused: hashforge" "$a" "$b" "$c" "lost $d, errors $e"
read -r a b c d e < <(measure_udp "127.0.0.1:$ot_port" connect)
ot_uc=$a; row "UDP, connect every time: opentracker" "$a" "$b" "$c" "lost $d, errors $e"
read -r a b c d e < <(measure_udp "$hf_udp" connect)
hf_uc=$a; hf_uc_p99=$c; row "UDP, connect every time: hashforge" "$a" "$b" "$c" "lost $d, errors $e"

ratio() { awk -v h="$1" -v o="$2" 'BEGIN {printf "%.2f", (o > 0 ? h / o : 0)}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t ? "met" : "MISSED")}'; }
r_ka=$(ratio "$hf_ka" "$ot_ka"); r_cl=$(ratio "$hf_cl" "$ot_cl"); r_ur=$(ratio "$hf_ur" "$ot_ur"); r_uc=$(ratio "$hf_uc" "$ot_uc")
summary="HTTP keep-alive ${r_ka}x (target 2x: $(verdict "$r_ka" 2)), HTTP close ${r_cl}x (target 1x: $(verdict "$r_cl" 1)), UDP reused ${r_ur}x (target 1x: $(verdict "$r_ur" 1)), UDP connect ${r_uc}x (target 1x: $(verdict "$r_uc" 1)); hashforge p99: $hf_ka_p99 / $hf_cl_p99 / $hf_ur_p99 / $hf_uc_p99 (target < 10 ms)"
echo "$summary"

if [ "$result" != /dev/null ]; then
  {
    echo "# Tracker: hashforge vs opentracker, HTTP and UDP announces ($day)"
    echo
    echo "- date: $when"
    echo "- cpu: $cpu, $(nproc) cores (load generators and both trackers share them); load average at the start: $loadavg"
    echo "- opentracker: Debian's package (whitelist of the $torrents hashes, run as nobody); hashforge: \`hashforge tracker --rate-limit 0 --no-history --http-threads $hf_http_threads --udp-threads $hf_udp_threads\`"
    echo "- HTTP: \`wrk -t2 -c$conns -d$duration --latency -s bench/tracker_announce.lua\` (every request a new peer on one of $torrents torrents), and the same with \`-H 'Connection: close'\`"
    echo "- UDP: \`hf_udp_tracker_load --sockets 4 --window 16 --seconds $secs\` (bench/udp_tracker_load.cpp), modes reuse and connect"
    echo "- script: \`bench/tracker_vs_opentracker.sh\`"
    echo
    echo "| run | req/s | p50 | p99 | notes |"
    echo "| --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Ratios (hashforge / opentracker): $summary."
  } >"$result"
  echo "wrote $result"
fi

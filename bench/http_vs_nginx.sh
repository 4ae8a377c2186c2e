#!/usr/bin/env bash
# The HTTP server's figure (net/http): hf_http_bench_server and Debian's nginx serve the same
# 200-byte body with keep-alive on loopback, each measured with `wrk -t2 -c50`, alternately,
# ROUNDS times each, in the same run. The target: hashforge >= 0.5x nginx's requests/s.
# Run from the repository root after a build; writes bench/results/<date>-http-vs-nginx.md
# (RESULT=path to put it elsewhere, RESULT=/dev/null for none):
#   bench/http_vs_nginx.sh [BUILD_DIR]        (env: ROUNDS=3 DURATION=10s CONNS=50 THREADS=2)
# nginx runs in the foreground with its own configuration and prefix in a temporary folder:
# worker_processes auto, access_log off, Debian's usual sendfile/tcp_nopush, and
# keepalive_requests raised so that neither server closes connections during a run.
# Exits 77 (skipped) when wrk or nginx is missing.
set -euo pipefail
build=${1:-build}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
conns=${CONNS:-50}
threads=${THREADS:-2}
server=${HF_HTTP_BENCH:-$build/bench/hf_http_bench_server}
nginx=${NGINX:-/usr/sbin/nginx}
day=$(date -u +%Y-%m-%d)
result=${RESULT:-bench/results/$day-http-vs-nginx.md}

command -v wrk >/dev/null || { echo "skipped: wrk is not installed"; exit 77; }
[ -x "$nginx" ] || { echo "skipped: no nginx at $nginx"; exit 77; }
[ -x "$server" ] || { echo "no $server: build it first (ninja -C $build hf_http_bench_server)"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"  # nginx's workers drop to nobody when started as root
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The body: 199 bytes of text and a newline, as the bench server's.
mkdir -p "$tmp/www"
{ head -c 199 /dev/zero | tr '\0' 'x'; echo; } >"$tmp/www/index.html"
chmod 644 "$tmp/www/index.html"
[ "$(wc -c <"$tmp/www/index.html")" = 200 ]

ngx_port=$(free_port)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
cat >"$tmp/nginx.conf" <<EOF
$user_line
worker_processes auto;
daemon off;
master_process on;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
  default_type text/html;
  client_body_temp_path $tmp/client_body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  server {
    listen 127.0.0.1:$ngx_port;
    root $tmp/www;
  }
}
EOF
"$nginx" -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" &
pids+=($!)
wait_port "$ngx_port" || { echo "nginx did not start:"; cat "$tmp/error.log"; exit 1; }

hf_port=$(free_port)
"$server" --listen "127.0.0.1:$hf_port" --threads "$threads" >/dev/null &
pids+=($!)
wait_port "$hf_port" || { echo "hf_http_bench_server did not start"; exit 1; }

# The two must answer with the same body before anything is measured.
hf_url="http://127.0.0.1:$hf_port/"
ngx_url="http://127.0.0.1:$ngx_port/index.html"  # the file itself: no index lookup per request
fetch() { python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' "$1"; }
cmp <(fetch "$hf_url") "$tmp/www/index.html"
cmp <(fetch "$ngx_url") "$tmp/www/index.html"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "date: $when  cpu: $cpu  cores: $(nproc)  load average: $load"
echo "wrk -t2 -c$conns -d$duration, $rounds rounds each, alternating; hashforge on $threads I/O threads, nginx $("$nginx" -v 2>&1 | cut -d/ -f2) with worker_processes auto"

# wrk's output -> "req/s avg_latency p50 p99" (latencies as wrk prints them).
measure() {
  local out
  out=$(wrk -t2 -c"$conns" -d"$duration" --latency "$1")
  local rps avg p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  avg=$(awk '$1 == "Latency" {print $2; exit}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  [ -z "$errors" ] || echo "  wrk reported: $errors" >&2
  echo "$rps $avg $p50 $p99"
}

rows=()
hf_all=()
ngx_all=()
for r in $(seq "$rounds"); do
  read -r n_rps n_avg n_p50 n_p99 < <(measure "$ngx_url")
  read -r h_rps h_avg h_p50 h_p99 < <(measure "$hf_url")
  ratio=$(awk -v h="$h_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", h / n}')
  printf "round %d: nginx %10.0f req/s (avg %s, p50 %s, p99 %s) | hashforge %10.0f req/s (avg %s, p50 %s, p99 %s) | %sx\n" \
    "$r" "$n_rps" "$n_avg" "$n_p50" "$n_p99" "$h_rps" "$h_avg" "$h_p50" "$h_p99" "$ratio"
  rows+=("| $r | $(printf %.0f "$n_rps") | $n_avg / $n_p50 / $n_p99 | $(printf %.0f "$h_rps") | $h_avg / $h_p50 / $h_p99 | ${ratio}x |")
  hf_all+=("$h_rps")
  ngx_all+=("$n_rps")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
hf_med=$(median "${hf_all[@]}")
ngx_med=$(median "${ngx_all[@]}")
ratio=$(awk -v h="$hf_med" -v n="$ngx_med" 'BEGIN {printf "%.2f", h / n}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.5) ? "met" : "NOT met"}')
printf "median: nginx %.0f req/s, hashforge %.0f req/s: %sx (target >= 0.5x: %s)\n" "$ngx_med" "$hf_med" "$ratio" "$verdict"

[ "$result" = /dev/null ] && exit 0
mkdir -p "$(dirname "$result")"
{
  echo "# HTTP server vs nginx: 200-byte body, keep-alive ($day)"
  echo
  echo "- date: $when"
  echo "- cpu: $cpu, $(nproc) cores (wrk, nginx and hashforge share them); load average at the start: $load"
  echo "- load: \`wrk -t2 -c$conns -d$duration --latency\`, $rounds rounds each, nginx then hashforge in every round"
  echo "- hashforge: \`hf_http_bench_server --threads $threads\` (net/http; GET / answers a compiled-in 200-byte body)"
  echo "- nginx: Debian's $("$nginx" -v 2>&1 | cut -d: -f2 | xargs), worker_processes auto, access_log off, sendfile on,"
  echo "  keepalive_requests 10000000, serving the same 200 bytes from a file (GET /index.html)"
  echo "- script: \`bench/http_vs_nginx.sh\`"
  echo
  echo "| round | nginx req/s | nginx latency avg / p50 / p99 | hashforge req/s | hashforge latency avg / p50 / p99 | ratio |"
  echo "| --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  printf "Median: nginx %.0f req/s, hashforge %.0f req/s, **%sx** (target >= 0.5x: %s).\n" "$ngx_med" "$hf_med" "$ratio" "$verdict"
} >"$result"
echo "wrote $result"

#!/usr/bin/env bash
# Installs hashforge's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

PKGS=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev   # Boost.JSON (machine output); 1.81, not Debian's default 1.74
  libssl-dev                                # OpenSSL: test oracle, bench anchor, TLS for Stratum
  openssl                                   # the openssl command: self-signed certificates in tests
  ca-certificates                           # the system CA store: workers and the proxy check stratum+ssl pools against it
  python3                                   # network tests drive the binary from Python (stdlib only)
  chromium chromium-driver python3-selenium # the dashboard test: a real browser, headless
  libgtest-dev                              # GoogleTest
  libbenchmark-dev                          # Google Benchmark
  libcli11-dev                              # CLI11: the command-line parser
  ocl-icd-opencl-dev opencl-headers         # OpenCL loader and headers (devices found at run time)
  pocl-opencl-icd                           # PoCL: OpenCL on the CPU, so OpenCL code is tested everywhere
  hashcat                                   # the device bench anchor (hashcat -b -m 1400), same run
  iproute2                                  # ip netns + veth: the multi-host test (when run as root)
  clang-14 libclang-rt-14-dev               # the AVX2/AVX-512 kernel files; libFuzzer and its runtimes: scripts/fuzz.sh
  clang-format-14 clang-tidy-14             # scripts/check.sh: format and lint changed files
  nginx wrk                                 # bench/http_vs_nginx.sh: nginx is the HTTP anchor, wrk the load
  libsqlite3-dev sqlite3                    # the node's storage (and the sqlite3 shell for looking inside)
  python3-flask python3-requests            # tests/node: the reference seed peer and the front end's requests
  python3-cryptography                      # tests/node: Ed25519 for the auction ledger's oracle
  tshark                                    # tests/node: a packet capture shows only TLS between ledger nodes
  python3-libtorrent                        # tests/torrent: torrents made by libtorrent, read back
  mktorrent                                 # tests/torrent: torrents made by mktorrent, checked by `torrent verify`
  opentracker transmission-daemon transmission-cli aria2  # tests/tracker: real clients and opentracker against the tracker; bench/tracker_vs_opentracker.sh
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

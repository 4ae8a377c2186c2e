#!/usr/bin/python3
"""The torrent figures (issue 15, section 6): `hashforge torrent verify` and `create` against
the programs people use, on the same data in the same run.

One file of SIZE_GIB GiB (random bytes), 1 MiB pieces. Before every measurement the page cache
is refilled and checked with fincore (this kind of machine evicts file pages idle for about a
minute), except for the cold-cache rows, which drop the cache first (root only).

Rows:
  read-only      dd of the file to /dev/null (bs=8M): what reading alone costs here
  bench          `hashforge bench` bulk SHA-1 and SHA-256 (1 MiB messages) on the best backend,
                 and OpenSSL's one-thread SHA-1
  verify         hashforge torrent verify, v1 / v2 / hybrid (--io mmap, and --io read for v1)
  create         hashforge torrent create, v1 / v2 / hybrid
  anchors        libtorrent 2.0.8 check (v1) and create_torrent (v1, hybrid), Transmission 3.00
                 verify (transmission-daemon), aria2 --check-integrity, mktorrent -t 2 and
                 transmission-create
  cold           after dropping the page cache: dd and hashforge torrent verify v1

Run from the repository root after a build:
  bench/torrent_vs_anchors.py [BUILD_DIR]
env: SIZE_GIB=4 WORK=/tmp/hf-torrent-bench RESULT=bench/results/<date>-torrent-vs-anchors.md
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
HF = os.environ.get("HF", os.path.join(BUILD, "apps", "hashforge"))
SIZE_GIB = float(os.environ.get("SIZE_GIB", "4"))
WORK = os.environ.get("WORK", "/tmp/hf-torrent-bench")
PIECE = 1 << 20
DATE = time.strftime("%Y-%m-%d", time.gmtime())
RESULT = os.environ.get("RESULT", f"bench/results/{DATE}-torrent-vs-anchors.md")
DATA_DIR = os.path.join(WORK, "data")
NAME = "payload.bin"
DATA = os.path.join(DATA_DIR, NAME)
SIZE = int(SIZE_GIB * (1 << 30))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def make_data():
    os.makedirs(DATA_DIR, exist_ok=True)
    if os.path.exists(DATA) and os.path.getsize(DATA) == SIZE:
        return
    # Random bytes, fast: AES-CTR keystream of zeros.
    with open(DATA, "wb") as out:
        p = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-nosalt", "-pass", "pass:hashforge", "-in", "/dev/zero"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        left = SIZE
        while left > 0:
            chunk = p.stdout.read(min(left, 8 << 20))
            out.write(chunk)
            left -= len(chunk)
        p.kill()
        p.wait()


def cached_fraction():
    out = run(["fincore", "--bytes", "--noheadings", "--output", "RES", DATA]).stdout.strip()
    return int(out) / SIZE


def fill_cache():
    for _ in range(3):
        with open(DATA, "rb") as f:
            while f.read(8 << 20):
                pass
        if cached_fraction() > 0.999:
            return
    raise SystemExit(f"the page cache does not hold the file ({cached_fraction():.1%}): not enough memory?")


def drop_cache():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("1\n")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def dd_rate():
    out = subprocess.run(["dd", f"if={DATA}", "of=/dev/null", "bs=8M"], capture_output=True, text=True).stderr
    m = re.search(r"copied, ([0-9.]+) s", out)
    return SIZE / float(m.group(1))


def hf_json(args):
    return json.loads(run([HF] + args).stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- anchors -------------------------------------------------------------------------------

def libtorrent_session():
    import libtorrent as lt
    return lt, lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                           "enable_upnp": False, "enable_natpmp": False})


def libtorrent_check(torrent):
    lt, ses = libtorrent_session()
    ti = lt.torrent_info(torrent)
    t0 = time.perf_counter()
    h = ses.add_torrent({"ti": ti, "save_path": DATA_DIR})
    while h.status().state not in (lt.torrent_status.seeding, lt.torrent_status.finished):
        time.sleep(0.01)
    dt = time.perf_counter() - t0
    assert h.status().num_pieces == ti.num_pieces(), "libtorrent found the data incomplete"
    return dt


def libtorrent_create(kind):
    import libtorrent as lt
    fs = lt.file_storage()
    lt.add_files(fs, DATA)
    flags = lt.create_torrent.v1_only if kind == "v1" else 0
    ct = lt.create_torrent(fs, PIECE, flags=flags)
    return timed(lambda: lt.set_piece_hashes(ct, DATA_DIR))


def transmission_verify(torrent):
    conf = tempfile.mkdtemp(prefix="hf-tr-")
    port = free_port()
    daemon = subprocess.Popen(["transmission-daemon", "-f", "-g", conf, "-p", str(port), "-r", "127.0.0.1",
                               "-w", DATA_DIR, "-T", "-P", str(free_port()), "-O", "-Y", "--no-utp", "-M",
                               "--log-error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        remote = ["transmission-remote", f"127.0.0.1:{port}"]
        for _ in range(100):
            if subprocess.run(remote + ["-l"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        run(remote + ["--start-paused", "-a", torrent, "--download-dir", DATA_DIR])
        run(remote + ["-t", "1", "-S"])
        t0 = time.perf_counter()
        run(remote + ["-t", "1", "-v"])
        seen_verify = False
        while True:
            info = run(remote + ["-t", "1", "-i"]).stdout
            state = re.search(r"State: (.*)", info).group(1).strip()
            if "Verif" in state or "Will Verify" in state:
                seen_verify = True
            elif seen_verify or time.perf_counter() - t0 > 2:
                break
            time.sleep(0.05)
        dt = time.perf_counter() - t0
        done = re.search(r"Percent Done: ([0-9.]+)%", info).group(1)
        assert float(done) == 100.0, f"Transmission found {done}% of the data"
        return dt
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        shutil.rmtree(conf, ignore_errors=True)


def aria2_check(torrent):
    cmd = ["aria2c", "--check-integrity=true", "--seed-time=0", "--bt-seed-unverified=false", f"--dir={DATA_DIR}",
           "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
           f"--listen-port={free_port()}", "--file-allocation=none", "--console-log-level=warn",
           "--summary-interval=0", "--bt-stop-timeout=1", torrent]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t0


def openssl_sha1_one_thread():
    out = run(["openssl", "speed", "-evp", "sha1", "-bytes", str(PIECE), "-seconds", "2"]).stdout
    line = [l for l in out.splitlines() if l.startswith("sha1") or l.startswith("SHA1")][-1]
    return float(line.split()[-1].rstrip("k")) * 1000


# ---- the run -------------------------------------------------------------------------------

def main():
    if not os.path.exists(HF):
        raise SystemExit(f"{HF}: build hashforge first")
    make_data()
    rows = []  # (group, what, bytes/s, note)
    gb = lambda r: f"{r / 1e9:.2f} GB/s"

    bench = hf_json(["bench", "--no-devices", "--json", "--seconds", "1", "--repeat", "3"])
    best = {}
    for b in bench["backends"]:
        for key in ("sha1_1MiB_bytes_per_s", "sha256_1MiB_bytes_per_s"):
            r = b[key]["rate"]
            if r > best.get(key, (0, ""))[0]:
                best[key] = (r, b["backend"])
    sha1, sha1_be = best["sha1_1MiB_bytes_per_s"]
    sha256, sha256_be = best["sha256_1MiB_bytes_per_s"]
    both = 1 / (1 / sha1 + 1 / sha256)
    rows.append(("bench", f"hashforge bench SHA-1 1 MiB ({sha1_be})", sha1, ""))
    rows.append(("bench", f"hashforge bench SHA-256 1 MiB ({sha256_be})", sha256, ""))
    rows.append(("bench", "1/(1/SHA-1 + 1/SHA-256)", both, "the hybrid's hash bound"))
    ossl = openssl_sha1_one_thread()
    rows.append(("bench", "OpenSSL SHA-1, one thread", ossl, ""))

    fill_cache()
    read = max(dd_rate() for _ in range(3))
    rows.append(("read", "dd bs=8M from the page cache (one thread, copying)", read, ""))

    torrents = {}
    create = {}
    for kind in ("v1", "v2", "hybrid"):
        out = os.path.join(WORK, f"hf-{kind}.torrent")
        fill_cache()
        j = hf_json(["torrent", "create", DATA, "-o", out, "-f", "--format", kind, "--piece-size", "1M", "--no-date",
                     "-q", "--json"])
        torrents[kind] = out
        create[kind] = j["bytes_per_second"]
    verify = {}
    for kind in ("v1", "v2", "hybrid"):
        fill_cache()
        j = hf_json(["torrent", "verify", torrents[kind], DATA, "-q", "--json"])
        assert j["ok"], j
        verify[kind] = j["bytes_per_second"]
    fill_cache()
    j = hf_json(["torrent", "verify", torrents["v1"], DATA, "-q", "--json", "--io", "read"])
    verify_read = j["bytes_per_second"]

    anchors = {}
    fill_cache()
    anchors["libtorrent check v1"] = SIZE / libtorrent_check(torrents["v1"])
    fill_cache()
    anchors["Transmission 3.00 verify v1"] = SIZE / transmission_verify(torrents["v1"])
    fill_cache()
    anchors["aria2 --check-integrity v1"] = SIZE / aria2_check(torrents["v1"])
    fill_cache()
    mk_out = os.path.join(WORK, "mk.torrent")
    if os.path.exists(mk_out):
        os.remove(mk_out)
    anchors["mktorrent -t 2 v1"] = SIZE / timed(lambda: run(["mktorrent", "-t", "2", "-l", "20", "-a",
                                                                  "http://127.0.0.1/announce", "-o", mk_out, DATA]))
    fill_cache()
    tc_out = os.path.join(WORK, "tc.torrent")
    anchors["transmission-create v1"] = SIZE / timed(lambda: run(["transmission-create", "-s", "1024", "-o", tc_out,
                                                                       DATA]))
    fill_cache()
    anchors["libtorrent create v1"] = SIZE / libtorrent_create("v1")
    fill_cache()
    anchors["libtorrent create hybrid"] = SIZE / libtorrent_create("hybrid")

    cold = {}
    if os.geteuid() == 0:
        drop_cache()
        cold["dd"] = dd_rate()
        drop_cache()
        cold["verify v1"] = hf_json(["torrent", "verify", torrents["v1"], DATA, "-q", "--json"])["bytes_per_second"]
        drop_cache()
        cold["verify v1 --io read"] = hf_json(["torrent", "verify", torrents["v1"], DATA, "-q", "--json", "--io",
                                               "read"])["bytes_per_second"]

    # ---- the report ----
    lt_check = anchors["libtorrent check v1"]
    tr = anchors["Transmission 3.00 verify v1"]
    lines = [f"# Torrent verify and create against their anchors ({DATE})", "",
             f"- CPU: {cpu_model()}, {os.cpu_count()} cores; {SIZE / (1 << 30):.1f} GiB file of random bytes, "
             f"1 MiB pieces; page cache refilled (fincore 100%) before every warm row.",
             f"- hashforge: `{HF}`; anchors: python3-libtorrent 2.0.8, transmission-daemon 3.00, aria2 1.36, "
             "mktorrent, transmission-create, OpenSSL 3.0, all from Debian 12, measured in this run.",
             "- Produced by `bench/torrent_vs_anchors.py`.", "",
             "## Reference rates", "", "| what | rate |", "|---|---|"]
    for _, what, r, note in rows:
        lines.append(f"| {what} | {gb(r)}{' (' + note + ')' if note else ''} |")
    lines += ["", "## hashforge torrent verify (warm page cache)", "",
              "| kind | rate | target | bound if read() copied: 1/(1/hash + 1/read) | vs libtorrent | vs Transmission |",
              "|---|---|---|---|---|---|"]
    targets = {"v1": 0.7 * sha1, "v2": 0.7 * sha256, "hybrid": 0.7 * both}
    hashes = {"v1": sha1, "v2": sha256, "hybrid": both}
    for kind in ("v1", "v2", "hybrid"):
        r = verify[kind]
        bound = 1 / (1 / hashes[kind] + 1 / read)
        ok = "met" if r >= targets[kind] else "missed"
        lines.append(f"| {kind} | {gb(r)} | >= {gb(targets[kind])} (70% of bench), {ok} | {gb(bound)} | "
                     f"{r / lt_check:.2f}x | {r / tr:.2f}x |")
    lines.append(f"| v1 --io read (copying) | {gb(verify_read)} | | {gb(1 / (1 / sha1 + 1 / read))} | "
                 f"{verify_read / lt_check:.2f}x | {verify_read / tr:.2f}x |")
    lines += ["", "## hashforge torrent create (warm page cache)", "", "| kind | rate | target | |", "|---|---|---|---|"]
    mk = anchors["mktorrent -t 2 v1"]
    lines.append(f"| v1 | {gb(create['v1'])} | >= 2x mktorrent -t 2 ({gb(2 * mk)}) | {create['v1'] / mk:.2f}x mktorrent |")
    lines.append(f"| v2 | {gb(create['v2'])} | within 10% of verify v2 ({gb(0.9 * verify['v2'])}) | "
                 f"{create['v2'] / anchors['libtorrent create hybrid']:.2f}x libtorrent hybrid creator |")
    lines.append(f"| hybrid | {gb(create['hybrid'])} | within 10% of verify ({gb(0.9 * verify['hybrid'])}), >= 3x "
                 f"libtorrent ({gb(3 * anchors['libtorrent create hybrid'])}) | "
                 f"{create['hybrid'] / anchors['libtorrent create hybrid']:.2f}x libtorrent |")
    lines += ["", "## Anchors (same file, same run)", "", "| program | rate |", "|---|---|"]
    for what, r in anchors.items():
        lines.append(f"| {what} | {gb(r)} |")
    if cold:
        lines += ["", "## Cold page cache (dropped before each row)", "", "| what | rate |", "|---|---|"]
        for what, r in cold.items():
            lines.append(f"| {what} | {gb(r)} |")
    else:
        lines += ["", "Cold-cache rows skipped: dropping the page cache needs root."]
    text = "\n".join(lines) + "\n"
    print(text)
    if RESULT != "/dev/null":
        with open(RESULT, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The BitTorrent client's figures (issue 17) on loopback, with Transmission and libtorrent as
anchors in the same run: one torrent of SIZE random bytes (default 4 GiB, 1 MiB pieces), its
seeder's data in the page cache (checked with fincore), every download compared byte for byte
(SHA-1 of the file) and deleted before the next.

  1. hashforge seeding -> hashforge downloading (direct --peer);
  2. Transmission seeding -> hashforge, and Transmission -> Transmission (the anchor);
  3. hashforge seeding -> Transmission (against 2's anchor);
  4. hashforge seeding -> libtorrent (python3-libtorrent) for its CPU per GiB.

Each row: wall time from start to the whole file on disk (hashforge: until it exits, which
includes its final fdatasync; Transmission and libtorrent do not sync), the rate, and the CPU
(user + system) of the downloading and the seeding process per GiB.

  HASHFORGE=build/apps/hashforge python3 bench/torrent_client_vs_transmission.py
Knobs: SIZE (bytes, default 4 GiB), WORK (a folder with room for twice SIZE; default /tmp),
RESULT (default bench/results/<date>-torrent-client.md), BENCH_ADDR, HF_RUNS (hashforge ->
hashforge runs, default 3), ONLY_HF=1 (those runs alone).

Transmission does not dial peers at 127.x addresses, so two Transmissions on 127.0.0.1 never
meet. Every peer and the tracker therefore use BENCH_ADDR, by default 10.77.0.3 added to the
loopback interface for the run (root; removed at the end): still loopback traffic."""
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "tracker"))
os.environ.setdefault("HASHFORGE_BIN", os.environ.get("HASHFORGE", os.path.join(ROOT, "build", "apps", "hashforge")))
from tracker_harness import Tracker, free_port, wait_for  # noqa: E402
from torrent_bench_util import result_path, cpu_model, sha1_file  # noqa: E402

HF = os.environ["HASHFORGE_BIN"]
ADDR = os.environ.get("BENCH_ADDR", "")
SIZE = int(os.environ.get("SIZE", str(4 << 30)))
HF_RUNS = int(os.environ.get("HF_RUNS", "3"))  # hashforge -> hashforge runs


class OnlyHashforge(Exception):
    """ONLY_HF=1: the hashforge -> hashforge runs alone, no Transmission or libtorrent."""

ONLY_HF = os.environ.get("ONLY_HF") == "1"
GIB = float(1 << 30)


def cpu_of(pid):
    """User + system seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Transmission:
    def __init__(self, work, name, download_dir):
        self.conf = os.path.join(work, name + "-conf")
        os.makedirs(self.conf, exist_ok=True)
        self.rpc = free_port()
        with open(os.path.join(self.conf, "settings.json"), "w") as f:
            json.dump({"dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
                       "port-forwarding-enabled": False, "peer-port": free_port(), "rpc-port": self.rpc,
                       "rpc-bind-address": "127.0.0.1", "rpc-authentication-required": False,
                       "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False,
                       "download-dir": download_dir, "incomplete-dir-enabled": False, "message-level": 1,
                       "ratio-limit-enabled": False, "speed-limit-up-enabled": False,
                       "speed-limit-down-enabled": False, "cache-size-mb": 64}, f)
        self.proc = subprocess.Popen(["transmission-daemon", "-f", "-g", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: self.remote("-l").returncode == 0, timeout=30, step=0.2):
            raise SystemExit("transmission-daemon's RPC did not come up")

    def remote(self, *args):
        return subprocess.run(["transmission-remote", "127.0.0.1:%d" % self.rpc, *args], capture_output=True,
                              text=True)

    def info(self):
        return self.remote("-t", "1", "-i").stdout

    def percent(self):
        for line in self.info().splitlines():
            line = line.strip()
            if line.startswith("Percent Done:"):
                try:
                    return float(line.split(":")[1].strip().rstrip("%"))
                except ValueError:
                    return 0.0
        return 0.0

    def state(self):
        for line in self.info().splitlines():
            if line.strip().startswith("State:"):
                return line.split(":", 1)[1].strip()
        return ""

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    global ADDR
    added = False
    if not ADDR:
        if os.geteuid() != 0:
            raise SystemExit("run as root (an address is added to lo) or set BENCH_ADDR to a local non-127 address")
        ADDR = "10.77.0.3"
        added = subprocess.run(["ip", "addr", "add", ADDR + "/32", "dev", "lo"], capture_output=True).returncode == 0
    try:
        run(added)
    finally:
        if added:
            subprocess.run(["ip", "addr", "del", ADDR + "/32", "dev", "lo"], capture_output=True)


def run(added):
    work = tempfile.mkdtemp(prefix="hf-client-bench-", dir=os.environ.get("WORK", "/tmp"))
    rows, notes = [], []
    procs = []
    try:
        seed_dir = os.path.join(work, "seed")
        os.makedirs(seed_dir)
        data = os.path.join(seed_dir, "payload.bin")
        print("writing %d random bytes" % SIZE, flush=True)
        with open(data, "wb") as f:
            left = SIZE
            while left:
                n = min(left, 64 << 20)
                f.write(os.urandom(n))
                left -= n
        os.sync()  # the new file's writeback must not compete with the downloads' writes
        want = sha1_file(data)  # also reads it into the page cache
        cached = subprocess.run(["fincore", "-b", "-n", "-o", "RES", data], capture_output=True, text=True).stdout.strip()
        notes.append("seeder data in the page cache (fincore): %s of %d bytes" % (cached or "?", SIZE))
        tracker = Tracker("--interval", "10", "--min-interval", "1", "--http", ADDR + ":0", http=False, udp=False)
        torrent = os.path.join(work, "payload.torrent")
        subprocess.run([HF, "torrent", "create", data, "-o", torrent, "--piece-size", "1M", "-q", "-t",
                        tracker.http_url + "/announce"], check=True, capture_output=True)

        def check(path, label):
            ok = sha1_file(path) == want
            if not ok:
                raise SystemExit("%s: the download differs from the seed" % label)
            os.remove(path)

        def hf_seed(extra=()):
            port = free_port()
            p = subprocess.Popen([HF, "torrent", "seed", torrent, seed_dir, "--listen", "%s:%d" % (ADDR, port), "-q",
                                  *extra], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            procs.append(p)
            # Up once it accepts connections (its recheck of the seed data comes first).
            def up():
                try:
                    socket.create_connection((ADDR, port), timeout=1).close()
                    return True
                except OSError:
                    return False
            if not wait_for(up, timeout=600, step=0.2):
                raise SystemExit("hashforge seeder did not come up")
            return p, port

        def hf_download(label, peer_args, seeder_pid):
            d = os.path.join(work, "hf-dl")
            os.makedirs(d, exist_ok=True)
            s0 = cpu_of(seeder_pid)
            t0 = time.monotonic()
            p = subprocess.Popen([HF, "torrent", "download", torrent, "-o", d, "--listen", ADDR + ":0", "-q",
                                  *peer_args], stdin=subprocess.DEVNULL)
            # CPU of the child, read from its rusage after it ends.
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
            if status != 0:
                raise SystemExit("%s: hashforge download failed (%d)" % (label, status))
            cpu = ru.ru_utime + ru.ru_stime
            seeder_cpu = cpu_of(seeder_pid) - s0
            check(os.path.join(d, "payload.bin"), label)
            rows.append((label, wall, SIZE / wall / 1e6, cpu / (SIZE / GIB), seeder_cpu / (SIZE / GIB)))
            print(rows[-1], flush=True)

        # 1. hashforge -> hashforge, HF_RUNS times (each download deleted and synced away first)
        seeder, port = hf_seed(["--no-trackers"])
        for i in range(HF_RUNS):
            os.sync()
            hf_download("hashforge -> hashforge" + (" (run %d)" % (i + 1) if HF_RUNS > 1 else ""),
                        ["--peer", "%s:%d" % (ADDR, port), "--no-trackers"], seeder.pid)
        seeder.terminate()
        seeder.wait()
        if ONLY_HF:
            raise OnlyHashforge()

        # 2. Transmission seeding: hashforge and Transmission download from it.
        tseed = Transmission(work, "tr-seed", seed_dir)
        tseed.remote("-a", torrent)
        # Verified and serving: "Seeding", or "Idle" while it has no peer.
        if not wait_for(lambda: tseed.percent() >= 100.0 and tseed.state() in ("Seeding", "Idle"), timeout=900,
                        step=0.5):
            raise SystemExit("Transmission never started seeding: " + tseed.info())
        hf_download("Transmission -> hashforge", [], tseed.proc.pid)

        dl_dir = os.path.join(work, "tr-dl")
        os.makedirs(dl_dir)
        tdl = Transmission(work, "tr-dl", dl_dir)
        s0, d0 = cpu_of(tseed.proc.pid), cpu_of(tdl.proc.pid)
        t0 = time.monotonic()
        tdl.remote("-a", torrent)
        if not wait_for(lambda: tdl.percent() >= 100.0, timeout=1800, step=0.2):
            raise SystemExit("Transmission did not download from Transmission: " + tdl.info())
        wall = time.monotonic() - t0
        rows.append(("Transmission -> Transmission", wall, SIZE / wall / 1e6,
                     (cpu_of(tdl.proc.pid) - d0) / (SIZE / GIB), (cpu_of(tseed.proc.pid) - s0) / (SIZE / GIB)))
        print(rows[-1], flush=True)
        tdl.close()
        check(os.path.join(dl_dir, "payload.bin"), "Transmission -> Transmission")
        tseed.close()

        # 3. hashforge seeding -> Transmission
        seeder, port = hf_seed()
        dl_dir2 = os.path.join(work, "tr-dl2")
        os.makedirs(dl_dir2)
        tdl = Transmission(work, "tr-dl2", dl_dir2)
        s0, d0 = cpu_of(seeder.pid), cpu_of(tdl.proc.pid)
        t0 = time.monotonic()
        tdl.remote("-a", torrent)
        if not wait_for(lambda: tdl.percent() >= 100.0, timeout=1800, step=0.2):
            raise SystemExit("Transmission did not download from hashforge: " + tdl.info())
        wall = time.monotonic() - t0
        rows.append(("hashforge -> Transmission", wall, SIZE / wall / 1e6,
                     (cpu_of(tdl.proc.pid) - d0) / (SIZE / GIB), (cpu_of(seeder.pid) - s0) / (SIZE / GIB)))
        print(rows[-1], flush=True)
        tdl.close()
        check(os.path.join(dl_dir2, "payload.bin"), "hashforge -> Transmission")

        # 4. hashforge seeding -> libtorrent (this process: its CPU is libtorrent's and ours)
        try:
            import libtorrent as lt
        except ImportError:
            lt = None
            notes.append("libtorrent row skipped: python3-libtorrent is not installed")
        if lt:
            ses = lt.session({"listen_interfaces": "%s:%d" % (ADDR, free_port()), "enable_dht": False,
                              "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
                              "enable_outgoing_utp": False, "enable_incoming_utp": False,
                              "allow_multiple_connections_per_ip": True})
            lt_dir = os.path.join(work, "lt-dl")
            os.makedirs(lt_dir)
            params = lt.add_torrent_params()
            params.ti = lt.torrent_info(torrent)
            params.save_path = lt_dir
            r0, s0 = os.times(), cpu_of(seeder.pid)
            t0 = time.monotonic()
            h = ses.add_torrent(params)
            h.connect_peer((ADDR, port))
            if not wait_for(lambda: h.status().is_seeding, timeout=1800, step=0.1):
                raise SystemExit("libtorrent did not download from hashforge")
            wall = time.monotonic() - t0
            r1 = os.times()
            lt_cpu = (r1.user - r0.user) + (r1.system - r0.system)
            rows.append(("hashforge -> libtorrent", wall, SIZE / wall / 1e6, lt_cpu / (SIZE / GIB),
                         (cpu_of(seeder.pid) - s0) / (SIZE / GIB)))
            print(rows[-1], flush=True)
            ses.remove_torrent(h)
            del ses
            check(os.path.join(lt_dir, "payload.bin"), "hashforge -> libtorrent")
        seeder.terminate()
        seeder.wait()
        tracker.close()
    except OnlyHashforge:
        tracker.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)

    date = datetime.datetime.now(datetime.timezone.utc)
    result = os.environ.get("RESULT") or result_path(ROOT, "torrent-client", date)
    tr_ver = subprocess.run(["transmission-daemon", "--version"], capture_output=True, text=True)
    with open(result, "w") as f:
        f.write("# BitTorrent client on loopback (issue 17)\n\n")
        f.write("- date: %s\n" % date.strftime("%Y-%m-%d %H:%M UTC"))
        f.write("- CPU: %s (%d logical CPUs)\n" % (cpu_model(), os.cpu_count()))
        f.write("- peers and tracker on %s (%s)\n" % (ADDR, "added to lo for the run" if added else "BENCH_ADDR"))
        f.write("- torrent: %d bytes of random data, 1 MiB pieces, one file; `bench/torrent_client_vs_transmission.py`\n" % SIZE)
        f.write("- anchors: %s; libtorrent %s (python3-libtorrent)\n" % (
            (tr_ver.stdout or tr_ver.stderr).strip().splitlines()[0] if (tr_ver.stdout or tr_ver.stderr) else "Transmission",
            __import__("libtorrent").__version__ if "libtorrent" in sys.modules else "-"))
        for n in notes:
            f.write("- %s\n" % n)
        f.write("\n| seeder -> downloader | wall s | MB/s | downloader CPU s/GiB | seeder CPU s/GiB |\n")
        f.write("| --- | --- | --- | --- | --- |\n")
        for label, wall, rate, dcpu, scpu in rows:
            f.write("| %s | %.2f | %.0f | %.2f | %.2f |\n" % (label, wall, rate, dcpu, scpu))
        f.write("\nhashforge's wall time runs until the process exits, after its final fdatasync of the "
                "download; Transmission's and libtorrent's until they report 100% (no sync). "
                "Both processes share the machine's cores.\n")
    print("wrote " + result)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A swarm of hashforge peers on one machine (issue 17): one seeder and PEERS (default 20)
downloaders of a SIZE (default 256 MiB) torrent, started together, finding each other through
`hashforge tracker`. Reports the time until the last download ends, each peer's peak memory
(its maximum resident set), how much the seeder uploaded against what the swarm downloaded
(the rest the leechers traded among themselves), and checks every file's SHA-1.

  HASHFORGE=build/apps/hashforge python3 bench/torrent_swarm.py
Knobs: PEERS, SIZE, WORK (needs PEERS + 1 times SIZE free), RESULT."""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "tracker"))
os.environ.setdefault("HASHFORGE_BIN", os.environ.get("HASHFORGE", os.path.join(ROOT, "build", "apps", "hashforge")))
from tracker_harness import Tracker  # noqa: E402
from torrent_bench_util import result_path, cpu_model, sha1_file  # noqa: E402

HF = os.environ["HASHFORGE_BIN"]
PEERS = int(os.environ.get("PEERS", "20"))
SIZE = int(os.environ.get("SIZE", str(256 << 20)))


def main():
    work = tempfile.mkdtemp(prefix="hf-swarm-", dir=os.environ.get("WORK", "/tmp"))
    tracker = Tracker("--interval", "10", "--min-interval", "1")
    try:
        seed_dir = os.path.join(work, "seed")
        os.makedirs(seed_dir)
        data = os.path.join(seed_dir, "payload.bin")
        with open(data, "wb") as f:
            left = SIZE
            while left:
                n = min(left, 64 << 20)
                f.write(os.urandom(n))
                left -= n
        want = sha1_file(data)
        torrent = os.path.join(work, "payload.torrent")
        subprocess.run([HF, "torrent", "create", data, "-o", torrent, "-q", "-t", tracker.http_url + "/announce"],
                       check=True, capture_output=True)
        # Its status lines go to a file: a pipe read only at the end would fill and stall it.
        status_file = os.path.join(work, "seeder.json")
        with open(status_file, "w") as out:
            seeder = subprocess.Popen([HF, "torrent", "seed", torrent, seed_dir, "--listen", "127.0.0.1:0", "--json",
                                       "-q"], stdin=subprocess.DEVNULL, stdout=out, stderr=open(status_file + ".err", "w"))
        time.sleep(2)  # its first announce
        t0 = time.monotonic()
        procs = []
        for i in range(PEERS):
            d = os.path.join(work, "peer%02d" % i)
            os.makedirs(d)
            procs.append((subprocess.Popen([HF, "torrent", "download", torrent, "-o", d, "--listen", "127.0.0.1:0",
                                            "-q"], stdin=subprocess.DEVNULL), d))
        # Peak memory from each process's own VmHWM, read while it runs (it only grows, so the
        # last reading before the exit is the peak, less at most a fifth of a second's
        # growth). Not ru_maxrss: Linux carries the parent's resident set at fork into a
        # child's ru_maxrss across exec, and this script holds tens of MiB.
        hwm = {p.pid: 0.0 for p, _ in procs}
        end_of = {}
        while len(end_of) < len(procs):
            for p, _ in procs:
                if p.pid in end_of:
                    continue
                try:
                    with open("/proc/%d/status" % p.pid) as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                hwm[p.pid] = max(hwm[p.pid], int(line.split()[1]) / 1024.0)  # MiB
                except OSError:
                    pass
                if p.poll() is not None:
                    end_of[p.pid] = time.monotonic() - t0
                    if p.returncode != 0:
                        raise SystemExit("a peer failed (%d)" % p.returncode)
            time.sleep(0.2)
        ends = [end_of[p.pid] for p, _ in procs]
        peak = [hwm[p.pid] for p, _ in procs]
        wall = max(ends)
        bad = [d for _, d in procs if sha1_file(os.path.join(d, "payload.bin")) != want]
        if bad:
            raise SystemExit("downloads differ: %r" % bad)
        seeder.terminate()
        seeder.wait(timeout=60)
        with open(status_file) as f:
            lines = f.read().strip().splitlines()
        if not lines:
            with open(status_file + ".err") as f:
                raise SystemExit("the seeder printed no status: " + f.read()[-2000:])
        last = json.loads(lines[-1])
        uploaded = last["uploaded"]
    finally:
        tracker.close()
        shutil.rmtree(work, ignore_errors=True)

    date = datetime.datetime.now(datetime.timezone.utc)
    result = os.environ.get("RESULT") or result_path(ROOT, "torrent-swarm", date)
    with open(result, "w") as f:
        f.write("# A swarm of hashforge peers on one machine (issue 17)\n\n")
        f.write("- date: %s\n" % date.strftime("%Y-%m-%d %H:%M UTC"))
        f.write("- CPU: %s (%d logical CPUs)\n" % (cpu_model(), os.cpu_count()))
        f.write("- %d downloaders + 1 seeder, %d bytes (default piece size), `hashforge tracker` on loopback; "
                "`bench/torrent_swarm.py`\n\n" % (PEERS, SIZE))
        f.write("| figure | value |\n| --- | --- |\n")
        f.write("| time until the last download ended | %.1f s |\n" % wall)
        f.write("| first / median download end | %.1f / %.1f s |\n" % (min(ends), sorted(ends)[len(ends) // 2]))
        f.write("| peak memory per peer (max RSS) min / median / max | %.1f / %.1f / %.1f MiB |\n" % (
            min(peak), sorted(peak)[len(peak) // 2], max(peak)))
        f.write("| seeder uploaded / swarm downloaded | %.2f GiB / %.2f GiB (%.0f%% from the seeder) |\n" % (
            uploaded / 2**30, PEERS * SIZE / 2**30, 100.0 * uploaded / (PEERS * SIZE)))
        f.write("\nEvery download's SHA-1 matched the seed's.\n")
    print("wrote " + result)
    print(open(result).read())


if __name__ == "__main__":
    main()

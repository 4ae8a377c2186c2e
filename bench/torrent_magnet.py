#!/usr/bin/env python3
"""Magnet link to first byte and to completion (issue 18), on loopback, with libtorrent's own
magnet download from the same seeder in the same run as the anchor. One torrent of SIZE random
bytes (default 256 MiB, 1 MiB pieces, v1) seeded by libtorrent (python3-libtorrent, in this
process, data in the page cache); each downloader gets the magnet link (btih only, no tracker)
and the seeder's address by hand, and every download is compared byte for byte (SHA-1) and
deleted before the next run.

  hashforge: metadata time and first piece from its --json status (metadata_ms and
             first_piece_ms, measured inside the client from its start: the first piece checked
             and written), completion at exit (after its final fdatasync);
  libtorrent: metadata_received, first piece_finished and torrent_finished alerts (no sync).

  HASHFORGE=build/apps/hashforge python3 bench/torrent_magnet.py
Knobs: SIZE (bytes), RUNS (default 3), WORK (default /tmp), RESULT (default
bench/results/<date>-torrent-magnet.md)."""
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torrent_bench_util import cpu_model, result_path, sha1_file  # noqa: E402

import libtorrent as lt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF = os.environ.get("HASHFORGE", os.path.join(ROOT, "build", "apps", "hashforge"))
SIZE = int(os.environ.get("SIZE", 256 << 20))
RUNS = int(os.environ.get("RUNS", 3))
WORK = os.environ.get("WORK", "/tmp")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session(port):
    return lt.session({"listen_interfaces": "127.0.0.1:%d" % port, "enable_dht": False, "enable_lsd": False,
                       "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                       "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True,
                       "alert_mask": lt.alert.category_t.status_notification |
                       lt.alert.category_t.piece_progress_notification})


def hf_run(magnet, seed_port, out):
    start = time.monotonic()
    p = subprocess.Popen([HF, "torrent", "download", magnet, "--peer", "127.0.0.1:%d" % seed_port, "--no-trackers",
                          "-o", out, "--json", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    first = None
    last = None
    for line in p.stdout:
        st = json.loads(line)
        last = st
        if first is None and st.get("downloaded", 0) > 0:
            first = time.monotonic() - start
    rc = p.wait()
    done = time.monotonic() - start
    if rc != 0 or not last or not last.get("complete"):
        raise SystemExit("hashforge did not finish (exit %d)" % rc)
    if "first_piece_ms" in last:
        first = last["first_piece_ms"] / 1000
    return last["metadata_ms"] / 1000, first if first is not None else done, done


def lt_run(magnet, seed_port, out):
    ses = session(free_port())
    params = lt.parse_magnet_uri(magnet)
    params.save_path = out
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    start = time.monotonic()
    h = ses.add_torrent(params)
    h.connect_peer(("127.0.0.1", seed_port))
    meta = first = done = None
    deadline = start + 600
    while done is None and time.monotonic() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            t = time.monotonic() - start
            if isinstance(a, lt.metadata_received_alert) and meta is None:
                meta = t
            elif isinstance(a, lt.piece_finished_alert) and first is None:
                first = t
            elif isinstance(a, lt.torrent_finished_alert):
                done = t
    if done is None:
        raise SystemExit("libtorrent did not finish")
    ses.remove_torrent(h)
    del ses
    return meta, first, done


def main():
    work = tempfile.mkdtemp(prefix="hf-magnet-bench-", dir=WORK)
    try:
        src = os.path.join(work, "seed")
        os.makedirs(src)
        data = os.path.join(src, "payload.bin")
        with open(data, "wb") as f:
            left = SIZE
            while left:
                n = min(left, 1 << 24)
                f.write(os.urandom(n))
                left -= n
        want = sha1_file(data)  # also brings it into the page cache
        torrent = os.path.join(work, "payload.torrent")
        subprocess.run([HF, "torrent", "create", data, "-o", torrent, "--piece-size", "1M", "--no-date", "-q"],
                       check=True, capture_output=True)
        info = json.loads(subprocess.run([HF, "torrent", "info", "--json", torrent], check=True,
                                         capture_output=True, text=True).stdout)
        magnet = info["magnet"]
        seed_port = free_port()
        seeder = session(seed_port)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(torrent)
        params.save_path = src
        params.flags |= lt.torrent_flags.seed_mode
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        seeder.add_torrent(params)
        rows = []
        for run in range(RUNS):
            for name, fn in (("hashforge", hf_run), ("libtorrent", lt_run)):
                out = os.path.join(work, "%s-%d" % (name, run))
                os.makedirs(out)
                meta, first, done = fn(magnet, seed_port, out)
                if sha1_file(os.path.join(out, "payload.bin")) != want:
                    raise SystemExit("%s: the download differs" % name)
                shutil.rmtree(out)
                rows.append((name, run + 1, meta, first, done))
                print("%-10s run %d: metadata %.3f s, first byte %.3f s, complete %.2f s (%.0f MB/s)" % (
                    name, run + 1, meta, first, done, SIZE / done / 1e6), flush=True)
        now = datetime.datetime.now()
        path = os.environ.get("RESULT") or result_path(ROOT, "torrent-magnet", now)
        with open(path, "w") as f:
            f.write("# Magnet link to first byte and to completion (%s)\n\n" % now.strftime("%Y-%m-%d %H:%M"))
            f.write("- CPU: %s, %d logical CPUs\n" % (cpu_model(), os.cpu_count()))
            f.write("- torrent: %d MiB, 1 MiB pieces, v1; seeder: libtorrent %s in the bench process, data in "
                    "the page cache; loopback, peer given by hand, no tracker\n" % (SIZE >> 20, lt.__version__))
            f.write("- hashforge: `%s`\n\n" % subprocess.run([HF, "--version"], capture_output=True,
                                                             text=True).stdout.strip())
            f.write("| downloader | run | metadata (s) | first byte (s) | complete (s) | MB/s |\n")
            f.write("|---|---|---|---|---|---|\n")
            for name, run, meta, first, done in rows:
                f.write("| %s | %d | %.3f | %.3f | %.2f | %.0f |\n" % (name, run, meta, first, done, SIZE / done / 1e6))
            f.write("\nFirst byte: the first piece checked and written (hashforge's first_piece_ms from its client's "
                    "start; libtorrent's first piece_finished alert); hashforge's completion includes its final "
                    "fdatasync and process start, libtorrent's does not.\n")
        print("wrote", path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

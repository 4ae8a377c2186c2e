"""Hostile and broken peers against `hashforge torrent seed` and `download` over real sockets:
a 0xFFFFFFFF length prefix, requests over 16 KiB or outside the torrent, a bitfield of the
wrong size, a HAVE flood, a handshake dripped slower than the timeout, a seeder that sends
corrupt blocks (banned, the download still ends byte-exact from an honest seeder) and one
that disconnects in the middle of a piece. After each, the hashforge peer is still alive
and still serves an honest client."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tracker"))
from tracker_harness import free_port, hashforge_bin, wait_for  # noqa: E402
from torrent_harness import can_connect  # noqa: E402

PIECE = 64 * 1024
BLOCK = 16 * 1024


def msg(mid, payload=b""):
    return struct.pack(">IB", len(payload) + 1, mid) + payload


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def read_msg(s):
    n = struct.unpack(">I", recv_exact(s, 4))[0]
    if n == 0:
        return None, b""
    body = recv_exact(s, n)
    return body[0], body[1:]


def closed_soon(s, timeout=10):
    """True when the other side closes the connection within the timeout."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Fixture:
    def __init__(self, size=8 * PIECE + 1234):
        self.dir = tempfile.mkdtemp(prefix="hf-hostile-")
        self.seed_dir = os.path.join(self.dir, "seed")
        os.makedirs(self.seed_dir)
        self.data = os.urandom(size)
        with open(os.path.join(self.seed_dir, "payload.bin"), "wb") as f:
            f.write(self.data)
        self.torrent = os.path.join(self.dir, "payload.torrent")
        subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(self.seed_dir, "payload.bin"), "-o",
                        self.torrent, "--piece-size", "64K", "-q"], check=True, capture_output=True)
        info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", self.torrent],
                                         capture_output=True, text=True, check=True).stdout)
        self.info_hash = bytes.fromhex(info["info_hash_v1"])
        self.pieces = info["pieces"]
        self.procs = []

    def seed(self):
        port = free_port()
        with open(os.path.join(self.dir, "seed-%d.log" % port), "wb") as log:
            p = subprocess.Popen([hashforge_bin(), "torrent", "seed", self.torrent, self.seed_dir, "--listen",
                                  "127.0.0.1:%d" % port, "--no-trackers", "-q", "-v"], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
        self.procs.append(p)
        ok = wait_for(lambda: can_connect(port), timeout=30, step=0.1)
        if not ok:
            raise AssertionError("the seeder did not come up")
        return p, port

    def handshake(self, port, fast=True, peer_id=None):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        reserved = bytearray(8)
        if fast:
            reserved[7] |= 0x04
        s.sendall(b"\x13BitTorrent protocol" + bytes(reserved) + self.info_hash +
                  (peer_id or os.urandom(20)))
        theirs = recv_exact(s, 68)
        assert theirs[28:48] == self.info_hash
        return s

    def honest_download(self, port, name="honest"):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        r = subprocess.run([hashforge_bin(), "torrent", "download", self.torrent, "-o", d, "--peer",
                            "127.0.0.1:%d" % port, "--no-trackers", "--listen", "127.0.0.1:0", "--json"],
                           capture_output=True, text=True, timeout=120)
        with open(os.path.join(d, "payload.bin"), "rb") as f:
            same = f.read() == self.data
        return r, same

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class FakeSeeder(threading.Thread):
    """A peer on a listening socket that has every piece and answers requests its own way:
    `corrupt` flips bytes in every block, `stop_after` closes after that many blocks, `total`
    answers no request after that many blocks in all (the connection stays open), `drip`
    sends each block a few bytes at a time, a tenth of a second apart."""

    def __init__(self, fx, corrupt=False, stop_after=None, total=None, drip=False):
        super().__init__(daemon=True)
        self.fx, self.corrupt, self.stop_after, self.total, self.drip = fx, corrupt, stop_after, total, drip
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.bytes = 0
        self.connections = 0
        self.start()

    def run(self):
        try:
            while True:
                c, _ = self.sock.accept()
                threading.Thread(target=self.serve, args=(c,), daemon=True).start()
        except OSError:
            pass

    def serve(self, c):
        self.connections += 1
        sent = 0
        try:
            hs = recv_exact(c, 68)
            c.sendall(hs[:20] + bytes([0, 0, 0, 0, 0, 0, 0, 0x04]) + self.fx.info_hash + b"-XX0001-fakeseeder01")
            c.sendall(msg(14))  # have all
            while True:
                mid, body = read_msg(c)
                if mid == 2:
                    c.sendall(msg(1))  # unchoke
                elif mid == 6:
                    if self.total is not None and self.sent >= self.total:
                        continue
                    index, begin, length = struct.unpack(">III", body)
                    at = index * PIECE + begin
                    block = bytearray(self.fx.data[at:at + length])
                    if self.corrupt:
                        block[0] ^= 0xFF
                    out = msg(7, struct.pack(">II", index, begin) + bytes(block))
                    if self.drip:
                        for at in range(0, len(out), 16):
                            c.sendall(out[at:at + 16])
                            time.sleep(0.1)
                    else:
                        c.sendall(out)
                    self.sent += 1
                    self.bytes += len(block)
                    sent += 1
                    if self.stop_after is not None and sent >= self.stop_after:
                        c.close()
                        return
        except (OSError, ConnectionError):
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


class HostilePeers(unittest.TestCase):
    def setUp(self):
        self.fx = Fixture()

    def tearDown(self):
        self.fx.close()

    def assert_still_serves(self, proc, port):
        self.assertIsNone(proc.poll(), "the seeder died")
        r, same = self.fx.honest_download(port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(same)

    def test_a_huge_length_prefix_closes_only_that_peer(self):
        proc, port = self.fx.seed()
        s = self.fx.handshake(port)
        s.sendall(b"\xff\xff\xff\xff")
        self.assertTrue(closed_soon(s))
        s.close()
        self.assert_still_serves(proc, port)

    def test_bad_requests_close_the_peer(self):
        proc, port = self.fx.seed()
        for req in (struct.pack(">III", 0, 0, 32 * 1024),              # over 16 KiB
                    struct.pack(">III", self.fx.pieces, 0, BLOCK),      # no such piece
                    struct.pack(">III", self.fx.pieces - 1, 0, BLOCK)):  # past the end of the last piece
            s = self.fx.handshake(port)
            s.sendall(msg(15) + msg(2))  # have none, interested
            s.sendall(msg(6, req))
            self.assertTrue(closed_soon(s), "not closed after request %r" % req)
            s.close()
        self.assert_still_serves(proc, port)

    def test_a_bitfield_of_the_wrong_size_closes_the_peer(self):
        proc, port = self.fx.seed()
        s = self.fx.handshake(port)
        s.sendall(msg(5, b"\xff" * 7))  # 9 pieces take 2 bytes
        self.assertTrue(closed_soon(s))
        s.close()
        self.assert_still_serves(proc, port)

    def test_a_have_flood_is_harmless(self):
        proc, port = self.fx.seed()
        s = self.fx.handshake(port)
        s.sendall(msg(15) + msg(4, struct.pack(">I", 1)) * 20000)
        s.sendall(msg(2))  # still talks: interested gets an unchoke
        s.settimeout(10)
        got = set()
        while 1 not in got:
            mid, _ = read_msg(s)
            got.add(mid)
        s.close()
        self.assert_still_serves(proc, port)

    def test_a_dripped_handshake_times_out(self):
        proc, port = self.fx.seed()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x13BitTor")  # then nothing: the handshake must end within 20 s
        self.assertTrue(closed_soon(s, timeout=40))
        s.close()
        self.assert_still_serves(proc, port)

    def test_a_corrupting_seeder_is_banned_and_the_download_ends_right(self):
        bad = FakeSeeder(self.fx, corrupt=True)
        d = os.path.join(self.fx.dir, "dl")
        os.makedirs(d)
        # Only the corrupting seeder first: every piece it sends fails, it is banned at the
        # first one (it sent all of it), and nothing bad reaches the file as good.
        p = subprocess.Popen([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--peer",
                              "127.0.0.1:%d" % bad.port, "--no-trackers", "--listen", "127.0.0.1:0", "--json", "-v"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not wait_for(lambda: bad.sent >= PIECE // BLOCK, timeout=30):
            p.terminate()
            out, err = p.communicate(timeout=30)
            bad.close()
            self.fail("the fake seeder was not asked (%d connections, %d blocks sent); the client said:\n%s\n%s" %
                      (bad.connections, bad.sent, err[-3000:], out[-1000:]))
        time.sleep(2)
        p.terminate()
        out, err = p.communicate(timeout=30)
        bad.close()
        self.assertEqual(p.returncode, 130, err[-3000:])  # interrupted, not complete
        final = json.loads(out.strip().splitlines()[-1])
        self.assertGreaterEqual(final["hash_failures"], 1, err[-3000:])
        self.assertEqual(final["banned"], 1)
        self.assertEqual(final["have"], 0)
        self.assertIn("sent bad data for piece", err)
        self.assertIn("banned", err)  # its redials are refused
        # Then an honest seeder: the same folder ends byte-exact.
        proc, good_port = self.fx.seed()
        r, same = self.fx.honest_download(good_port, name="dl")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertTrue(same)

    def test_a_seeder_that_leaves_mid_piece_every_time(self):
        # Its only source closes the connection after every 5 blocks (pieces are 4), so every
        # connection ends in the middle of a piece; redialled each second, it still yields
        # the whole file, and the blocks already in are not asked for again.
        quitter = FakeSeeder(self.fx, stop_after=5)
        d = os.path.join(self.fx.dir, "dl")
        os.makedirs(d)
        r = subprocess.run([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--peer",
                            "127.0.0.1:%d" % quitter.port, "--no-trackers", "--listen", "127.0.0.1:0", "--json"],
                           capture_output=True, text=True, timeout=120)
        quitter.close()
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        with open(os.path.join(d, "payload.bin"), "rb") as f:
            self.assertEqual(f.read(), self.fx.data)
        final = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(final["hash_failures"], 0)
        self.assertGreater(quitter.connections, 1)
        self.assertLessEqual(final["wasted"], 4 * BLOCK)  # little asked twice

    def test_resume_data_spares_the_recheck_until_a_file_changes(self):
        proc, port = self.fx.seed()
        r, same = self.fx.honest_download(port, name="dl")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(same)
        path = os.path.join(self.fx.dir, "dl", "payload.bin")
        self.assertTrue(os.path.exists(path + ".hfresume"))
        proc.terminate()
        proc.wait()

        def again():
            return subprocess.run([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o",
                                   os.path.join(self.fx.dir, "dl"), "--no-trackers", "--listen", "127.0.0.1:0",
                                   "-v"], capture_output=True, text=True, timeout=60)
        # Complete by its resume data alone: no peer, no hashing.
        r = again()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("resume data: %d of %d pieces, no hashing" % (self.fx.pieces, self.fx.pieces), r.stderr)
        self.assertNotIn("checking the data", r.stderr)
        # A byte changed behind its back (and so the file's time): everything it touches is
        # hashed again, and the damaged piece is found missing.
        with open(path, "r+b") as f:
            f.seek(PIECE + 5)
            b = f.read(1)
            f.seek(PIECE + 5)
            f.write(bytes([b[0] ^ 1]))
        log = os.path.join(self.fx.dir, "again.log")
        with open(log, "wb") as out:
            p = subprocess.Popen([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o",
                                  os.path.join(self.fx.dir, "dl"), "--no-trackers", "--listen", "127.0.0.1:0", "-v"],
                                 stdout=out, stderr=out)

        def text():
            with open(log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        self.assertTrue(wait_for(lambda: "listening on" in text(), timeout=30), text())
        p.terminate()
        self.assertEqual(p.wait(timeout=30), 130)  # one piece is missing and no peer has it
        self.assertIn("resume data not used: files changed", text())
        self.assertIn("%d of %d pieces on disk are good" % (self.fx.pieces - 1, self.fx.pieces), text())

    def test_a_stopped_download_keeps_its_unfinished_pieces(self):
        # A first peer sends 6 blocks (a 64 KiB piece holds 4, the last piece 1) and then
        # nothing: the download is stopped holding at least one unfinished piece. Restarted
        # beside a second peer, it asks that peer for exactly the blocks it never had, and
        # ends byte-exact.
        blocks = sum((min(PIECE, len(self.fx.data) - at) + 16383) // 16384 for at in range(0, len(self.fx.data), PIECE))
        first = FakeSeeder(self.fx, total=6)
        d = os.path.join(self.fx.dir, "partial")
        os.makedirs(d)
        args = [hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--no-trackers", "--listen",
                "127.0.0.1:0", "-v", "--json"]
        log = os.path.join(self.fx.dir, "partial-1.log")
        with open(log, "wb") as out:
            p = subprocess.Popen(args + ["--peer", "127.0.0.1:%d" % first.port], stdout=out, stderr=out)
        self.fx.procs.append(p)

        def text():
            with open(log, "rb") as f:
                return f.read().decode("utf-8", "replace")

        def all_six_in():
            lines = [ln for ln in text().splitlines() if ln.startswith("{")]
            return first.sent >= 6 and lines and json.loads(lines[-1])["downloaded"] >= first.bytes
        self.assertTrue(wait_for(all_six_in, timeout=30, step=0.1), text()[-2000:])
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=30), 130)
        first.close()
        self.assertTrue(os.path.exists(os.path.join(d, "payload.bin.hfresume")))
        second = FakeSeeder(self.fx)
        try:
            r = subprocess.run(args + ["--peer", "127.0.0.1:%d" % second.port], capture_output=True, text=True,
                               timeout=120)
        finally:
            second.close()
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "payload.bin"), "rb") as f:
            self.assertEqual(f.read(), self.fx.data)
        kept = re.search(r"resume data: (\d+) blocks of (\d+) unfinished pieces kept", r.stderr)
        self.assertIsNotNone(kept, r.stderr[-2000:])
        self.assertGreater(int(kept.group(1)), 0)
        self.assertEqual(second.sent, blocks - 6, r.stderr[-2000:])

    def test_a_slow_drip_peer_does_not_hold_the_download_up(self):
        # One peer trickles 16 bytes a tenth of a second (a block would take 100 s); an honest
        # seeder beside it. The download ends byte-exact well before the drip could deliver.
        dripper = FakeSeeder(self.fx, drip=True)
        _, port = self.fx.seed()
        d = os.path.join(self.fx.dir, "dripped")
        os.makedirs(d)
        t0 = time.monotonic()
        try:
            r = subprocess.run([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--peer",
                                "127.0.0.1:%d" % dripper.port, "--peer", "127.0.0.1:%d" % port, "--no-trackers",
                                "--listen", "127.0.0.1:0", "-v"], capture_output=True, text=True, timeout=90)
        finally:
            dripper.close()
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        with open(os.path.join(d, "payload.bin"), "rb") as f:
            self.assertEqual(f.read(), self.fx.data)
        self.assertEqual(dripper.sent, 0)  # not one block came from it
        self.assertLess(time.monotonic() - t0, 90)

    def test_max_peers_counts_connections_still_in_their_handshake(self):
        # Ten peers that accept and never answer the handshake (it times out after 20 s), and
        # --max-peers 3: in 4 s no more than three of them are ever connected, where every
        # address given used to be dialled at once.
        listeners, accepted = [], []
        for _ in range(10):
            ls = socket.socket()
            ls.bind(("127.0.0.1", 0))
            ls.listen(8)
            ls.settimeout(0.1)
            listeners.append(ls)
        stop = threading.Event()

        def accept_all():
            while not stop.is_set():
                for ls in listeners:
                    try:
                        c, _ = ls.accept()
                        accepted.append(c)
                    except socket.timeout:
                        pass

        t = threading.Thread(target=accept_all, daemon=True)
        t.start()
        d = os.path.join(self.fx.dir, "bounded")
        os.makedirs(d)
        argv = [hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--no-trackers", "--listen",
                "127.0.0.1:0", "--max-peers", "3", "-q"]
        for ls in listeners:
            argv += ["--peer", "127.0.0.1:%d" % ls.getsockname()[1]]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(wait_for(lambda: len(accepted) >= 3, 20), "fewer than 3 peers dialled")
            time.sleep(4)
            self.assertIsNone(p.poll())
            self.assertEqual(len(accepted), 3, "connections opened with --max-peers 3")
        finally:
            p.kill()
            p.communicate()
            stop.set()
            t.join(10)
            for c in accepted + listeners:
                c.close()

    def test_seeding_checks_whole_data_its_resume_data_undersells(self):
        # A download told not to check the disk (--no-recheck) over data that is whole, with
        # no resume file, vouches for nothing and records that; `torrent seed` then checks the
        # data rather than refusing it. --recheck and --no-recheck together are refused.
        _, port = self.fx.seed()
        r, same = self.fx.honest_download(port, name="un")
        self.assertEqual(r.returncode, 0, r.stderr)
        folder = os.path.join(self.fx.dir, "un")
        os.remove(os.path.join(folder, "payload.bin.hfresume"))
        base = [hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", folder, "--no-trackers",
                "--listen", "127.0.0.1:0", "-v"]
        r = subprocess.run(base + ["--recheck", "--no-recheck"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        log = os.path.join(self.fx.dir, "norecheck.log")
        with open(log, "wb") as out:
            p = subprocess.Popen(base + ["--no-recheck", "--json"], stdout=out, stderr=out)

        def text(path):
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        # A status line comes once the client runs with its signal handling set up: a SIGTERM
        # then saves the resume data on the way out.
        self.assertTrue(wait_for(lambda: '{"' in text(log), timeout=30), text(log))
        p.terminate()
        p.wait(timeout=30)
        self.assertTrue(os.path.exists(os.path.join(folder, "payload.bin.hfresume")), text(log))
        slog = os.path.join(self.fx.dir, "seed-after.log")
        with open(slog, "wb") as out:
            s = subprocess.Popen([hashforge_bin(), "torrent", "seed", self.fx.torrent, folder, "--no-trackers",
                                  "--listen", "127.0.0.1:0", "-v"], stdout=out, stderr=out)
        self.addCleanup(s.kill)
        self.assertTrue(wait_for(lambda: "listening on" in text(slog) or s.poll() is not None, timeout=60), text(slog))
        self.assertIsNone(s.poll(), text(slog))
        self.assertIn("checking the data on disk", text(slog))
        self.assertIn("%d of %d pieces on disk are good" % (self.fx.pieces, self.fx.pieces), text(slog))
        s.terminate()
        s.wait(timeout=30)

    def test_a_recheck_on_request_finds_damage_resume_data_missed(self):
        # A byte changed with the file's time put back: the resume data still vouches for
        # every piece, so only --recheck (the verify path) finds the damaged piece, which is
        # then fetched again.
        _, port = self.fx.seed()
        r, same = self.fx.honest_download(port, name="rc")
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.fx.dir, "rc", "payload.bin")
        st = os.stat(path)
        with open(path, "r+b") as f:
            f.seek(3 * PIECE + 7)
            b = f.read(1)
            f.seek(3 * PIECE + 7)
            f.write(bytes([b[0] ^ 1]))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        base = [hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", os.path.join(self.fx.dir, "rc"),
                "--no-trackers", "--listen", "127.0.0.1:0", "-v"]
        r = subprocess.run(base, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no hashing", r.stderr)  # trusted: the damage is not seen
        r = subprocess.run(base + ["--recheck", "--peer", "127.0.0.1:%d" % port], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%d of %d pieces on disk are good" % (self.fx.pieces - 1, self.fx.pieces), r.stderr)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), self.fx.data)

    def test_rate_limits_hold(self):
        # Lower bounds only: a slow machine takes longer, never shorter. The burst is 64 KiB.
        size = len(self.fx.data)
        for side in ("--upload-limit", "--download-limit"):
            port = free_port()
            with open(os.path.join(self.fx.dir, "limited.log"), "wb") as log:
                seeder = subprocess.Popen([hashforge_bin(), "torrent", "seed", self.fx.torrent, self.fx.seed_dir,
                                           "--listen", "127.0.0.1:%d" % port, "--no-trackers", "-q",
                                           *(["--upload-limit", "128K"] if side == "--upload-limit" else [])],
                                          stdout=log, stderr=log)
            self.fx.procs.append(seeder)
            self.assertTrue(wait_for(lambda: can_connect(port), timeout=30, step=0.1))
            d = os.path.join(self.fx.dir, "limited" + side)
            t0 = time.monotonic()
            r = subprocess.run([hashforge_bin(), "torrent", "download", self.fx.torrent, "-o", d, "--peer",
                                "127.0.0.1:%d" % port, "--no-trackers", "--listen", "127.0.0.1:0", "-q",
                                *(["--download-limit", "128K"] if side == "--download-limit" else [])],
                               capture_output=True, text=True, timeout=120)
            elapsed = time.monotonic() - t0
            seeder.terminate()
            seeder.wait()
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "payload.bin"), "rb") as f:
                self.assertEqual(f.read(), self.fx.data)
            self.assertGreaterEqual(elapsed, (size - 64 * 1024) / (128 * 1024) * 0.9, side)

if __name__ == "__main__":
    unittest.main()

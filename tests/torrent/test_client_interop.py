"""`hashforge torrent download` and `seed` against Debian's real clients, every download
byte-compared: hashforge downloads from Transmission, aria2 and libtorrent seeders, and each of
them downloads from a hashforge seeder; v2-only and padded hybrid torrents with libtorrent
both ways, libtorrent fetching v2 piece layers from hashforge (BEP 52 hash requests); peers
over IPv6; peers meeting through Debian's opentracker over HTTP and UDP; a swarm of hashforge
peers over the UDP tracker; a download killed mid-way and restarted; a seeder that corrupts
data. Peers find each other
through `hashforge tracker` (HTTP unless said otherwise), with DHT, local discovery and peer
exchange off everywhere, so the tracker is the only way."""
import hashlib
import json
import os
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
from tracker_harness import Tracker, bdecode, escape, free_port, hashforge_bin, wait_for  # noqa: E402
from opentracker_harness import OpenTracker  # noqa: E402
from torrent_harness import can_connect, exit_code, last_status, stop  # noqa: E402

try:
    import libtorrent as lt
except ImportError:
    lt = None

ARIA2C = shutil.which("aria2c")
TRANSMISSION = shutil.which("transmission-daemon")
REMOTE = shutil.which("transmission-remote")
WAIT = 120


class Swarm:
    """One torrent of random data in a temporary folder, and the peers started on it."""

    def __init__(self, tracker_url, size=3 * 1024 * 1024 + 12345, piece="256K", kind="v1"):
        """kind: v1 (made by hashforge), hybrid (one file, made by libtorrent), or, made by
        libtorrent as two files in a folder so that files are aligned to pieces (pad files in
        the hybrid, bare gaps in v2): hybrid-multi, v2."""
        self.dir = tempfile.mkdtemp(prefix="hf-client-")
        os.chmod(self.dir, 0o755)
        self.seed_dir = os.path.join(self.dir, "seed")
        os.makedirs(self.seed_dir)
        self.multi = kind in ("hybrid-multi", "v2")
        self.files = {"payload.bin": os.urandom(size)} if not self.multi else {
            os.path.join("payload", "a.bin"): os.urandom(size // 3 + 1000),
            os.path.join("payload", "b.bin"): os.urandom(size - size // 3)}
        for rel, data in self.files.items():
            os.makedirs(os.path.dirname(os.path.join(self.seed_dir, rel)), exist_ok=True)
            with open(os.path.join(self.seed_dir, rel), "wb") as f:
                f.write(data)
        self.torrent = os.path.join(self.dir, "payload.torrent")
        if kind == "v1":
            subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(self.seed_dir, "payload.bin"), "-o",
                            self.torrent, "--piece-size", piece, "-t", tracker_url, "-q"], check=True,
                           capture_output=True)
        else:  # made by libtorrent
            fs = lt.file_storage()
            lt.add_files(fs, os.path.join(self.seed_dir, "payload" if self.multi else "payload.bin"))
            flags = lt.create_torrent.v2_only if kind == "v2" else 0
            ct = lt.create_torrent(fs, 256 * 1024, flags=flags)
            ct.add_tracker(tracker_url)
            lt.set_piece_hashes(ct, self.seed_dir)
            with open(self.torrent, "wb") as f:
                f.write(lt.bencode(ct.generate()))
        self.procs = []
        self.sessions = []
        self.logs = []

    def retrack(self, tracker_url):
        """The v1 torrent made again for another tracker: the same info-hash (the info
        dictionary holds no tracker and no date)."""
        subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(self.seed_dir, "payload.bin"), "-o",
                        self.torrent, "--piece-size", "256K", "-t", tracker_url, "-q", "--force"], check=True,
                       capture_output=True)

    def target(self, folder):
        """Where a download into `folder` lands: the file, or the torrent's folder."""
        return os.path.join(folder, "payload" if self.multi else "payload.bin")

    def good(self, path):
        """The download at `path` (from target()) is byte-identical to the seed's data."""
        base = os.path.dirname(path)
        try:
            for rel, data in self.files.items():
                with open(os.path.join(base, rel), "rb") as f:
                    if hashlib.sha256(f.read()).digest() != hashlib.sha256(data).digest():
                        return False
            return True
        except OSError:
            return False

    def popen(self, name, args):
        log = os.path.join(self.dir, name + ".log")
        self.logs.append(log)
        with open(log, "wb") as out:
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        self.procs.append(p)
        return p

    # hashforge
    def hf_seed(self, name="hf-seed", extra=(), listen="127.0.0.1:0"):
        where = ("--listen", listen) if listen else ()  # None: the default, every address
        return self.popen(name, [hashforge_bin(), "torrent", "seed", self.torrent, self.seed_dir, *where, "-q", "-v",
                                 *extra])

    def hf_download(self, name="hf-dl", extra=(), listen="127.0.0.1:0", what=None):
        """hashforge downloading this torrent, or `what` (a magnet link)."""
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        p = self.popen(name, [hashforge_bin(), "torrent", "download", what or self.torrent, "-o", d, "--listen",
                              listen, "-v", "--json", *extra])
        return p, self.target(d)

    # aria2
    def aria2(self, seed, name="aria2", extra=(), what=None):
        """aria2 on this torrent, or on `what` (a magnet link)."""
        d = self.seed_dir if seed else os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        self.popen(name, [ARIA2C, "--dir", d, "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                          "--enable-peer-exchange=false", "--listen-port=%d" % free_port(), "--seed-time=600",
                          "--seed-ratio=0.0", "--console-log-level=warn", "--summary-interval=0",
                          "--bt-tracker-interval=5", "--check-integrity=true", "--no-conf", *extra, what or self.torrent])
        return self.target(d)

    # Transmission
    def transmission(self, seed, name="transmission", what=None):
        """transmission-daemon on this torrent, or on `what` (a magnet link)."""
        conf = os.path.join(self.dir, name + "-conf")
        d = self.seed_dir if seed else os.path.join(self.dir, name)
        os.makedirs(conf)
        os.makedirs(d, exist_ok=True)
        rpc = free_port()
        with open(os.path.join(conf, "settings.json"), "w") as f:
            json.dump({"dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
                       "port-forwarding-enabled": False, "peer-port": free_port(), "rpc-port": rpc,
                       "rpc-bind-address": "127.0.0.1", "rpc-authentication-required": False,
                       "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False, "download-dir": d,
                       "incomplete-dir-enabled": False, "message-level": 2, "ratio-limit-enabled": False}, f)
        self.popen(name, [TRANSMISSION, "-f", "-g", conf, "--log-error"])
        ok = wait_for(lambda: subprocess.run([REMOTE, "127.0.0.1:%d" % rpc, "-l"], capture_output=True).returncode
                      == 0, timeout=30, step=0.3)
        if not ok:
            raise AssertionError("transmission-daemon's RPC did not come up")
        subprocess.run([REMOTE, "127.0.0.1:%d" % rpc, "-a", what or self.torrent], check=True, capture_output=True)
        return self.target(d)

    # libtorrent
    def libtorrent(self, seed, name="lt", host="127.0.0.1", torrent=None, peer=None):
        """A libtorrent session on `host` with this torrent (or another .torrent file for the
        same data), told of `peer` (host, port) by hand if given."""
        ses = lt.session({
            "listen_interfaces": "%s:%d" % ("[%s]" % host if ":" in host else host, free_port()),
            "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
            "allow_multiple_connections_per_ip": True,
            "enable_outgoing_utp": False, "enable_incoming_utp": False,
        })
        self.sessions.append(ses)
        d = self.seed_dir if seed else os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(torrent or self.torrent)
        params.save_path = d
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        h = ses.add_torrent(params)
        if peer:
            h.connect_peer(peer)
        return self.target(d), h

    def log_text(self):
        out = ""
        for p in self.logs:
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += "--- %s\n%s\n" % (os.path.basename(p), f.read()[-3000:].decode("utf-8", "replace"))
        return out

    def close(self):
        for p in self.procs:
            stop(p)
        self.sessions.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


class ClientInterop(unittest.TestCase):
    def setUp(self):
        self.tracker = Tracker("--interval", "10", "--min-interval", "1")
        self.url = self.tracker.http_url + "/announce"

    def tearDown(self):
        self.tracker.close()

    def complete_seeders(self, swarm, n):
        info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", swarm.torrent],
                                         capture_output=True, text=True, check=True).stdout)
        # A v2-only torrent is announced under its SHA-256 info-hash cut to 20 bytes (BEP 52).
        info_hash = bytes.fromhex(info.get("info_hash_v1") or info["info_hash_v2"])[:20]

        def count():
            files = bdecode(self.tracker.get("/scrape?info_hash=" + escape(info_hash))[1])[b"files"]
            return files.get(info_hash, {b"complete": 0})[b"complete"]
        return wait_for(lambda: count() >= n, timeout=WAIT)

    def hf_downloads_from(self, start_seeder, kind="v1"):
        s = Swarm(self.url, kind=kind)
        try:
            start_seeder(s)
            self.assertTrue(self.complete_seeders(s, 1), "the seeder never announced\n" + s.log_text())
            p, path = s.hf_download()
            rc = exit_code(p, WAIT)
            self.assertEqual(rc, 0, "hashforge did not finish\n" + s.log_text())
            self.assertTrue(s.good(path), "the download differs\n" + s.log_text())
            st = last_status(os.path.join(s.dir, "hf-dl.log"))
            self.assertTrue(st["complete"])
            self.assertEqual(st["hash_failures"], 0)
        finally:
            s.close()

    def downloads_from_hf(self, start_leecher, kind="v1"):
        s = Swarm(self.url, kind=kind)
        try:
            s.hf_seed()
            self.assertTrue(self.complete_seeders(s, 1), "hashforge's seeder never announced\n" + s.log_text())
            path = start_leecher(s)
            self.assertTrue(wait_for(lambda: s.good(path), timeout=WAIT, step=0.5),
                            "the download from hashforge differs or never ended\n" + s.log_text())
        finally:
            s.close()

    @unittest.skipUnless(TRANSMISSION and REMOTE, "transmission-daemon / transmission-remote are not installed")
    def test_hashforge_downloads_from_transmission(self):
        self.hf_downloads_from(lambda s: s.transmission(seed=True))

    @unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
    def test_hashforge_downloads_from_aria2(self):
        self.hf_downloads_from(lambda s: s.aria2(seed=True))

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_downloads_from_libtorrent(self):
        self.hf_downloads_from(lambda s: s.libtorrent(seed=True))

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_downloads_a_hybrid_from_libtorrent(self):
        self.hf_downloads_from(lambda s: s.libtorrent(seed=True), kind="hybrid")

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_downloads_a_padded_hybrid_from_libtorrent(self):
        self.hf_downloads_from(lambda s: s.libtorrent(seed=True), kind="hybrid-multi")

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_downloads_a_v2_torrent_from_libtorrent(self):
        self.hf_downloads_from(lambda s: s.libtorrent(seed=True), kind="v2")

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_downloads_a_v2_torrent_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.libtorrent(seed=False)[0], kind="v2")

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_fetches_v2_piece_layers_from_hashforge(self):
        """libtorrent holds the v2 torrent without its piece layers (as after a magnet link), so
        it can check nothing until hashforge answers its BEP 52 hash requests with the layers
        and their proofs; the download completing byte-exact shows the answers were right."""
        s = Swarm(self.url, kind="v2")
        try:
            s.hf_seed(extra=("--no-trackers",))
            port = self.seeder_port(s)
            t = lt.bdecode(open(s.torrent, "rb").read())
            self.assertIn(b"piece layers", t)
            del t[b"piece layers"]
            bare = os.path.join(s.dir, "bare.torrent")
            with open(bare, "wb") as f:
                f.write(lt.bencode(t))
            path, _ = s.libtorrent(seed=False, name="lt-bare", torrent=bare, peer=("127.0.0.1", port))
            self.assertTrue(wait_for(lambda: s.good(path), timeout=WAIT, step=0.5),
                            "libtorrent without piece layers did not finish\n" + s.log_text())
        finally:
            s.close()

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_downloads_a_padded_hybrid_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.libtorrent(seed=False)[0], kind="hybrid-multi")

    @unittest.skipUnless(TRANSMISSION and REMOTE, "transmission-daemon / transmission-remote are not installed")
    def test_transmission_downloads_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.transmission(seed=False))

    @unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
    def test_aria2_downloads_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.aria2(seed=False))

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_downloads_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.libtorrent(seed=False)[0])

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_names_hashforge_as_its_peer(self):
        # From our extension handshake's "v" (and peer id): held to 1 MB/s so the connection
        # is there to look at.
        s = Swarm(self.url, size=2 * 1024 * 1024)
        try:
            s.hf_seed(extra=("--upload-limit", "1M"))
            self.assertTrue(self.complete_seeders(s, 1), s.log_text())
            path, h = s.libtorrent(seed=False)
            clients = set()

            def seen():
                for pi in h.get_peer_info():  # bytes in this binding
                    c = pi.client
                    clients.add(c.decode("utf-8", "replace") if isinstance(c, bytes) else c)
                return any("hashforge" in c.lower() for c in clients)
            self.assertTrue(wait_for(seen, timeout=WAIT, step=0.1), (clients, s.log_text()))
            self.assertTrue(wait_for(lambda: s.good(path), timeout=WAIT, step=0.5), s.log_text())
        finally:
            s.close()

    def seeder_port(self, s, name="hf-seed"):
        """The port a hashforge seeder started with -v says it listens on."""
        found = {}

        def look():
            with open(os.path.join(s.dir, name + ".log"), "rb") as f:
                for line in f:
                    if line.startswith(b"listening on "):
                        found["port"] = int(line.strip().rsplit(b":", 1)[1])
            return "port" in found
        self.assertTrue(wait_for(look, timeout=30, step=0.2), "the seeder never listened\n" + s.log_text())
        return found["port"]

    def test_peers_over_ipv6(self):
        """A hashforge seeder on [::1]; hashforge and libtorrent download from it over IPv6."""
        s = Swarm(self.url)
        try:
            s.hf_seed(extra=("--no-trackers",), listen="[::1]:0")
            port = self.seeder_port(s)
            p, path = s.hf_download(extra=("--peer", "[::1]:%d" % port, "--no-trackers"), listen="[::1]:0")
            self.assertEqual(p.wait(timeout=WAIT), 0, s.log_text())
            self.assertTrue(s.good(path), s.log_text())
            with open(os.path.join(s.dir, "hf-dl.log")) as f:
                self.assertIn("[::1]:%d: connected" % port, f.read())
            # The default listener takes IPv6 and IPv4 on one socket, and names an IPv4 peer by
            # its IPv4 address (not ::ffff:127.0.0.1).
            s.hf_seed(name="hf-seed-any", extra=("--no-trackers",), listen=None)
            any_port = self.seeder_port(s, "hf-seed-any")
            for addr, name in (("127.0.0.1", "hf-dl4"), ("[::1]", "hf-dl6")):
                p, path = s.hf_download(name=name, extra=("--peer", "%s:%d" % (addr, any_port), "--no-trackers"))
                self.assertEqual(p.wait(timeout=WAIT), 0, s.log_text())
                self.assertTrue(s.good(path), s.log_text())
            with open(os.path.join(s.dir, "hf-seed-any.log")) as f:
                seen = f.read()
            self.assertIn("\n127.0.0.1:", seen)
            self.assertIn("\n[::1]:", seen)
            self.assertNotIn("ffff", seen)
            if not lt:
                self.skipTest("python3-libtorrent is not installed: hashforge's part ran, libtorrent's "
                              "download over IPv6 did not")
            path6, _ = s.libtorrent(seed=False, name="lt6", host="::1", peer=("::1", port))
            self.assertTrue(wait_for(lambda: s.good(path6), timeout=WAIT, step=0.5),
                            "libtorrent's download over IPv6 differs or never ended\n" + s.log_text())
        finally:
            s.close()

    def meet_through_opentracker(self, udp):
        """A hashforge seeder and downloader that know each other only through Debian's
        opentracker (which also lists each announcer to itself)."""
        s = Swarm(self.url)
        ot = None
        try:
            info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", s.torrent],
                                             capture_output=True, text=True, check=True).stdout)
            ot = OpenTracker([bytes.fromhex(info["info_hash_v1"])])
            s.retrack("udp://%s:%d" % ot.udp_addr if udp else ot.http_url + "/announce")
            info2 = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", s.torrent],
                                              capture_output=True, text=True, check=True).stdout)
            self.assertEqual(info2["info_hash_v1"], info["info_hash_v1"])
            s.hf_seed()
            time.sleep(1)  # the seeder announces first; the downloader then hears of it
            p, path = s.hf_download()
            rc = exit_code(p, WAIT)
            self.assertEqual(rc, 0, "hashforge did not finish through opentracker\n" + s.log_text())
            self.assertTrue(s.good(path), s.log_text())
            st = last_status(os.path.join(s.dir, "hf-dl.log"))
            self.assertTrue(any(t.get("peers", 0) >= 1 for t in st.get("trackers", [])), st)
            # The seeder is still there: opentracker counts it, and `torrent scrape` says so.
            counts = self.scrape(s.torrent)
            self.assertEqual(len(counts), 1, counts)
            self.assertGreaterEqual(counts[0].get("seeders", 0), 1, counts)
        finally:
            if ot:
                ot.close()
            s.close()

    def scrape(self, torrent, rc=0):
        r = subprocess.run([hashforge_bin(), "torrent", "scrape", torrent, "--json"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def test_scrape_over_http_and_udp(self):
        """`torrent scrape` against the hashforge tracker over HTTP and UDP, beside a tracker
        that is not there: one line each, the dead one with its error."""
        s = Swarm(self.url)
        try:
            s.hf_seed()
            self.assertTrue(self.complete_seeders(s, 1), s.log_text())
            udp = "udp://%s:%d/announce" % self.tracker.udp_addr
            multi = os.path.join(s.dir, "multi.torrent")
            subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(s.seed_dir, "payload.bin"), "-o", multi,
                            "--piece-size", "256K", "-t", self.url, "-t", udp, "-t", "http://127.0.0.1:1/announce",
                            "-q"], check=True, capture_output=True)
            counts = {c["tracker"]: c for c in self.scrape(multi)}
            self.assertEqual(set(counts), {self.url, udp, "http://127.0.0.1:1/announce"})
            for url in (self.url, udp):
                self.assertEqual(counts[url].get("seeders"), 1, counts)
                self.assertEqual(counts[url].get("leechers"), 0, counts)
            self.assertIn("error", counts["http://127.0.0.1:1/announce"])
            # Every tracker down: exit status 1, each one's error named.
            only_dead = os.path.join(s.dir, "dead.torrent")
            subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(s.seed_dir, "payload.bin"), "-o",
                            only_dead, "--piece-size", "256K", "-t", "http://127.0.0.1:1/announce", "-q"], check=True,
                           capture_output=True)
            self.assertIn("error", self.scrape(only_dead, rc=1)[0])
        finally:
            s.close()

    def test_peers_meet_through_opentracker_over_http(self):
        self.meet_through_opentracker(udp=False)

    def test_peers_meet_through_opentracker_over_udp(self):
        self.meet_through_opentracker(udp=True)

    def test_hashforge_swarm_over_the_udp_tracker(self):
        s = Swarm("udp://%s:%d" % self.tracker.udp_addr, size=8 * 1024 * 1024 + 1)
        try:
            s.hf_seed()
            self.assertTrue(self.complete_seeders(s, 1), "the seeder never announced over UDP\n" + s.log_text())
            leechers = [s.hf_download("hf-dl-%d" % i) for i in range(3)]
            for p, path in leechers:
                rc = exit_code(p, WAIT)
                self.assertEqual(rc, 0, s.log_text())
                self.assertTrue(s.good(path), s.log_text())
            self.assertTrue(self.complete_seeders(s, 1))
        finally:
            s.close()

    @unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
    def test_a_dead_first_tier_falls_back_and_the_tracker_hears_every_event(self):
        # Tier 1 refuses connections; tier 2 is the live tracker (BEP 12). The tracker must
        # see the download start, complete and stop: its scrape counts one completed download
        # and, once the downloader is gone, only the seeder.
        s = Swarm(self.url, size=2 * 1024 * 1024 + 5)
        try:
            dead = "http://127.0.0.1:%d/announce" % free_port()
            subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(s.seed_dir, "payload.bin"), "-o",
                            s.torrent, "--piece-size", "256K", "-t", dead, "-t", self.url, "-q", "--force"],
                           check=True, capture_output=True)
            s.hf_seed()
            self.assertTrue(self.complete_seeders(s, 1), "the seeder never reached tier 2\n" + s.log_text())
            p, path = s.hf_download()
            self.assertEqual(exit_code(p, WAIT), 0, s.log_text())
            self.assertTrue(s.good(path), s.log_text())
            info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", s.torrent],
                                             capture_output=True, text=True, check=True).stdout)
            info_hash = bytes.fromhex(info["info_hash_v1"])

            def counts():
                files = bdecode(self.tracker.get("/scrape?info_hash=" + escape(info_hash))[1])[b"files"]
                return files.get(info_hash, {})
            self.assertTrue(wait_for(lambda: counts().get(b"downloaded", 0) >= 1, timeout=WAIT), counts())
            # `stopped` took the downloader out at once (no wait for its announce to expire).
            self.assertTrue(wait_for(lambda: counts().get(b"complete") == 1 and counts().get(b"incomplete") == 0,
                                     timeout=10), counts())
        finally:
            s.close()

    def test_announces_over_https(self):
        # The tracker behind Debian's nginx terminating TLS with a certificate of our own,
        # trusted through SSL_CERT_FILE (the client checks trackers' certificates against the
        # system's store, which OpenSSL lets that variable replace).
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            self.skipTest("nginx is not installed (scripts/setup.sh installs it)")
        s = Swarm(self.url, size=1024 * 1024 + 3)
        old_env = os.environ.get("SSL_CERT_FILE")
        try:
            conf_dir = os.path.join(s.dir, "nginx")
            os.makedirs(conf_dir)
            cert, key = os.path.join(conf_dir, "t.crt"), os.path.join(conf_dir, "t.key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            port = free_port()
            user = "user root;\n" if os.geteuid() == 0 else ""
            with open(os.path.join(conf_dir, "nginx.conf"), "w") as f:
                f.write("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                        "events { worker_connections 64; }\nhttp {\n access_log off;\n"
                        " client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s;"
                        " scgi_temp_path %s;\n server { listen 127.0.0.1:%d ssl; ssl_certificate %s;"
                        " ssl_certificate_key %s; location / { proxy_pass %s; } }\n}\n"
                        % ((user,) + (conf_dir,) * 7 + (port, cert, key, self.tracker.http_url)))
            s.procs.append(subprocess.Popen([nginx, "-c", os.path.join(conf_dir, "nginx.conf"), "-p", conf_dir],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.assertTrue(wait_for(lambda: can_connect(port), timeout=20))
            subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(s.seed_dir, "payload.bin"), "-o",
                            s.torrent, "--piece-size", "256K", "-t", "https://127.0.0.1:%d/announce" % port, "-q",
                            "--force"], check=True, capture_output=True)
            os.environ["SSL_CERT_FILE"] = cert
            s.hf_seed()
            self.assertTrue(self.complete_seeders(s, 1), "the seeder never announced over HTTPS\n" + s.log_text())
            p, path = s.hf_download()
            self.assertEqual(exit_code(p, WAIT), 0, s.log_text())
            self.assertTrue(s.good(path), s.log_text())
        finally:
            if old_env is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = old_env
            s.close()

    def test_a_download_killed_midway_resumes_and_ends_right(self):
        # aria2 seeds at 2 MiB/s so the download is still running when it is killed.
        s = Swarm(self.url, size=12 * 1024 * 1024 + 777)
        try:
            s.aria2(seed=True, extra=["--max-overall-upload-limit=2M"])
            self.assertTrue(self.complete_seeders(s, 1), s.log_text())
            p, path = s.hf_download()
            log = os.path.join(s.dir, "hf-dl.log")

            def partway():
                st = last_status(log) if os.path.exists(log) else None
                return st is not None and 0 < st["have"] < st["pieces"] // 2
            self.assertTrue(wait_for(partway, timeout=WAIT, step=0.2), s.log_text())
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.assertFalse(s.good(path))
            p2, _ = s.hf_download("hf-dl")  # the same folder
            self.assertEqual(p2.wait(timeout=WAIT), 0, s.log_text())
            self.assertTrue(s.good(path), s.log_text())
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            # The restart checked what was there: by hashing, or by resume data the first run
            # wrote (every 30 s: a slow first run may have saved some).
            self.assertTrue("pieces on disk are good" in text or "resume data:" in text, text[-2000:])
        finally:
            s.close()


def ipv6_loopback():
    """Why IPv6 on loopback cannot be used here, or None."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as t:
            t.bind(("::1", 0))
        return None
    except OSError as e:
        return "no IPv6 on loopback: %s" % e


class RecordingTracker:
    """An HTTP or UDP (BEP 15) tracker on one address that records where each announce came
    from and answers it with no peers."""

    def __init__(self, kind, host):
        self.hits = []
        self.kind, self.host = kind, host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM if kind == "http" else socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        if kind == "http":
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve_http if kind == "http" else self.serve_udp, daemon=True)
        self.thread.start()

    def url(self):
        where = "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)
        return "%s://%s/announce" % (self.kind, where)

    def serve_http(self):
        while not self.stopping:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    req = b""
                    while b"\r\n\r\n" not in req:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        req += chunk
                    if req.startswith(b"GET "):
                        self.hits.append(addr[0])
                    body = b"d8:intervali60e5:peers0:e"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                                 + body)
                except OSError:
                    pass

    def serve_udp(self):
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:
                continue
            if len(data) >= 16 and struct.unpack(">I", data[8:12])[0] == 0:  # connect
                self.sock.sendto(struct.pack(">IIQ", 0, struct.unpack(">I", data[12:16])[0], 0x1234), addr)
            elif len(data) >= 98 and struct.unpack(">I", data[8:12])[0] == 1:  # announce
                self.hits.append(addr[0])
                self.sock.sendto(struct.pack(">IIIII", 1, struct.unpack(">I", data[12:16])[0], 60, 0, 1), addr)

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


@unittest.skipIf(ipv6_loopback(), ipv6_loopback())
class AnnounceFamily(unittest.TestCase):
    """A tracker hands out the address an announce came from, so a client listening on one
    family announces over that family only: the trackers of the other family, in the first
    tier, hear nothing, and the announce reaches the next tier's."""

    def run_case(self, listen, wrong_host, right_host):
        wrong = [RecordingTracker(k, wrong_host) for k in ("http", "udp")]
        right = RecordingTracker("http", right_host)
        for t in wrong + [right]:
            self.addCleanup(t.close)
        work = tempfile.mkdtemp(prefix="hf-family-")
        self.addCleanup(shutil.rmtree, work, True)
        data = os.path.join(work, "payload.bin")
        with open(data, "wb") as f:
            f.write(os.urandom(300000))
        torrent = os.path.join(work, "payload.torrent")
        subprocess.run([hashforge_bin(), "torrent", "create", data, "-o", torrent, "-t",
                        ",".join(t.url() for t in wrong), "-t", right.url(), "-q"], check=True, capture_output=True)
        log = os.path.join(work, "seed.log")
        with open(log, "wb") as out:
            p = subprocess.Popen([hashforge_bin(), "torrent", "seed", torrent, work, "--listen", listen, "-v"],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        self.addCleanup(stop, p)
        with open(log, "rb") as f:
            self.assertTrue(wait_for(lambda: right.hits, timeout=WAIT),
                            "no announce reached %s\n%s" % (right.url(), f.read().decode(errors="replace")))
        self.assertEqual({right_host}, set(right.hits))
        for t in wrong:
            self.assertEqual([], t.hits, t.url())

    def test_an_ipv4_client_announces_over_ipv4_only(self):
        self.run_case("127.0.0.1:0", "::1", "127.0.0.1")

    def test_an_ipv6_only_client_announces_over_ipv6_only(self):
        self.run_case("[::1]:0", "127.0.0.1", "::1")


if __name__ == "__main__":
    unittest.main()

"""Real BitTorrent clients from Debian against `hashforge tracker`, over HTTP and over UDP, with
DHT, local peer discovery and peer exchange off, so the tracker is the only way they can find
each other: libtorrent (python3-libtorrent) seeds a torrent that names the tracker, aria2c and
transmission-daemon download it to the last byte (they received the seeder from the tracker),
then the first seeder leaves and a fresh libtorrent session downloads it again from aria2 and
Transmission (libtorrent received them from the tracker). The tracker's scrape and /stats
follow: three peers at once, two and then three completed downloads."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from tracker_harness import Tracker, bdecode, escape, hashforge_bin, wait_for

try:
    import libtorrent as lt
except ImportError:
    lt = None

ARIA2C = shutil.which("aria2c")
TRANSMISSION = shutil.which("transmission-daemon")
REMOTE = shutil.which("transmission-remote")
SIZE = 3 * 256 * 1024 + 12345
WAIT = 90


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def lt_session(port):
    return lt.session({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,  # every client here is 127.0.0.1
        # TCP only: aria2 has no uTP and Transmission's is off here, and a uTP attempt first
        # costs a connect timeout per peer.
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "announce_to_all_trackers": True,
        "alert_mask": lt.alert.category_t.all_categories,
    })


class Clients:
    """The three clients around one torrent in a temporary directory."""

    def __init__(self, tracker_url):
        self.udp = tracker_url.startswith("udp:")
        self.dir = tempfile.mkdtemp(prefix="hf-tracker-clients-")
        os.chmod(self.dir, 0o755)
        self.seed_dir = os.path.join(self.dir, "seed")
        os.makedirs(self.seed_dir)
        self.data = os.urandom(SIZE)
        with open(os.path.join(self.seed_dir, "payload.bin"), "wb") as f:
            f.write(self.data)
        fs = lt.file_storage()
        lt.add_files(fs, os.path.join(self.seed_dir, "payload.bin"))
        ct = lt.create_torrent(fs, 64 * 1024, flags=lt.create_torrent.v1_only)
        ct.add_tracker(tracker_url)
        ct.set_priv(False)
        lt.set_piece_hashes(ct, self.seed_dir)
        self.torrent = os.path.join(self.dir, "payload.torrent")
        with open(self.torrent, "wb") as f:
            f.write(lt.bencode(ct.generate()))
        self.info = lt.torrent_info(self.torrent)
        self.info_hash = bytes.fromhex(str(self.info.info_hash()))
        self.procs = []
        self.sessions = []

    def lt_add(self, save_path, seed):
        ses = lt_session(free_port())
        self.sessions.append(ses)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(self.torrent)
        params.save_path = save_path
        if seed:
            params.flags |= lt.torrent_flags.seed_mode
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        return ses, ses.add_torrent(params)

    def start_aria2(self):
        d = os.path.join(self.dir, "aria2")
        os.makedirs(d)
        # aria2 speaks to UDP trackers only through its DHT socket, so DHT is on for that, with
        # no entry point: it knows no node and finds nobody that way.
        dht = ["--enable-dht=true", "--dht-listen-port=%d" % free_port(),
               "--dht-file-path=%s" % os.path.join(self.dir, "dht.dat")] if self.udp else ["--enable-dht=false"]
        with open(os.path.join(self.dir, "aria2.log"), "wb") as log:
            p = subprocess.Popen([ARIA2C, "--dir", d, *dht, "--enable-dht6=false", "--bt-enable-lpd=false",
                              "--enable-peer-exchange=false", "--listen-port=%d" % free_port(),
                              "--seed-time=600", "--seed-ratio=0.0", "--console-log-level=warn", "--summary-interval=0",
                                  "--bt-tracker-interval=5", "--no-conf", self.torrent],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(p)
        return os.path.join(d, "payload.bin")

    def start_transmission(self):
        conf = os.path.join(self.dir, "transmission")
        d = os.path.join(self.dir, "transmission-data")
        os.makedirs(conf)
        os.makedirs(d)
        self.rpc = free_port()
        with open(os.path.join(conf, "settings.json"), "w") as f:
            json.dump({"dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
                       "port-forwarding-enabled": False, "peer-port": free_port(), "rpc-port": self.rpc,
                       "rpc-bind-address": "127.0.0.1", "rpc-authentication-required": False,
                       "rpc-whitelist-enabled": False, "rpc-host-whitelist-enabled": False, "download-dir": d,
                       "incomplete-dir-enabled": False, "message-level": 2}, f)
        with open(os.path.join(self.dir, "transmission.log"), "wb") as log:
            p = subprocess.Popen([TRANSMISSION, "-f", "-g", conf, "--log-error"], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
        self.procs.append(p)
        ok = wait_for(lambda: subprocess.run([REMOTE, "127.0.0.1:%d" % self.rpc, "-l"], capture_output=True).returncode
                      == 0, timeout=30, step=0.3)
        if not ok:
            raise AssertionError("transmission-daemon's RPC did not come up")
        subprocess.run([REMOTE, "127.0.0.1:%d" % self.rpc, "-a", self.torrent], check=True, capture_output=True)
        return os.path.join(d, "payload.bin")

    def transmission_info(self):
        r = subprocess.run([REMOTE, "127.0.0.1:%d" % self.rpc, "-t", "1", "-i"], capture_output=True, text=True)
        return r.stdout

    def done(self, path):
        try:
            with open(path, "rb") as f:
                return hashlib.sha1(f.read()).digest() == hashlib.sha1(self.data).digest()
        except OSError:
            return False

    def logs(self):
        out = ""
        for name in ("aria2.log", "transmission.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += "--- %s\n%s\n" % (name, f.read()[-2000:].decode("utf-8", "replace"))
        return out

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.sessions.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(lt, "python3-libtorrent is not installed")
@unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
@unittest.skipUnless(TRANSMISSION and REMOTE, "transmission-daemon / transmission-cli are not installed")
class RealClients(unittest.TestCase):
    def run_swarm(self, use_udp):
        t = Tracker("--interval", "10", "--min-interval", "1")
        url = "udp://%s:%d" % t.udp_addr if use_udp else t.http_url + "/announce"
        c = Clients(url)
        try:
            def scrape():
                files = bdecode(t.get("/scrape?info_hash=" + escape(c.info_hash))[1])[b"files"]
                return files.get(c.info_hash, {b"complete": 0, b"incomplete": 0, b"downloaded": 0})

            seed_ses, seed = c.lt_add(c.seed_dir, seed=True)
            self.assertTrue(wait_for(lambda: scrape()[b"complete"] == 1, timeout=WAIT),
                            "libtorrent's seeder never announced: %r" % scrape())
            aria2_file = c.start_aria2()
            tr_file = c.start_transmission()
            self.assertTrue(wait_for(lambda: c.done(aria2_file), timeout=WAIT, step=0.5),
                            "aria2 did not download from the seeder it had from the tracker\n" + c.logs())
            self.assertTrue(wait_for(lambda: c.done(tr_file), timeout=WAIT, step=0.5),
                            "Transmission did not download\n%s\n%s" % (c.transmission_info(), c.logs()))
            self.assertTrue(wait_for(lambda: scrape()[b"complete"] == 3 and scrape()[b"downloaded"] == 2,
                                     timeout=WAIT), "the tracker does not show three seeders: %r" % scrape())
            # The first seeder leaves (libtorrent sends stopped); a fresh libtorrent leecher can only
            # get the data from aria2 and Transmission, which only the tracker can tell it about.
            seed_ses.remove_torrent(seed)
            self.assertTrue(wait_for(lambda: scrape()[b"complete"] == 2, timeout=WAIT), repr(scrape()))
            leech_dir = os.path.join(c.dir, "lt-leech")
            os.makedirs(leech_dir)
            leech_ses, leech = c.lt_add(leech_dir, seed=False)
            self.assertTrue(wait_for(lambda: c.done(os.path.join(leech_dir, "payload.bin")), timeout=WAIT, step=0.5),
                            "libtorrent did not download from aria2 / Transmission: %r, peers %r, trackers %r"
                            % (leech.status().state, [p.ip for p in leech.get_peer_info()], leech.trackers()))
            self.assertTrue(wait_for(lambda: scrape()[b"downloaded"] == 3, timeout=WAIT), repr(scrape()))
            stats = t.stats()
            self.assertGreater(stats["udp_announces" if use_udp else "http_announces"], 3)
            self.assertTrue(t.alive())
        finally:
            c.close()
            t.close()

    def test_http(self):
        self.run_swarm(use_udp=False)

    def test_udp(self):
        self.run_swarm(use_udp=True)


class TrackerByName(unittest.TestCase):
    def test_a_udp_tracker_whose_name_resolves_first_to_a_silent_address(self):
        # The tracker listens on 127.0.0.1 alone and the torrent names it "localhost", which
        # resolves to ::1 first on many hosts: nothing answers there, and an unanswered UDP
        # packet says nothing. hashforge asks every address at once and takes the one that answers.
        addrs = [a[4][0] for a in socket.getaddrinfo("localhost", 1, type=socket.SOCK_DGRAM)]
        if addrs[:1] != ["::1"] or "127.0.0.1" not in addrs:
            self.skipTest("localhost does not resolve to ::1 and then 127.0.0.1 here (%s)" % addrs)
        t = Tracker()
        d = tempfile.mkdtemp(prefix="hf-byname-")
        try:
            data = os.path.join(d, "data.bin")
            with open(data, "wb") as f:
                f.write(os.urandom(100000))
            torrent = os.path.join(d, "t.torrent")
            subprocess.run([hashforge_bin(), "torrent", "create", data, "-o", torrent, "-q", "-t",
                            "udp://localhost:%d/announce" % t.udp_addr[1]], check=True, capture_output=True)
            t0 = time.monotonic()
            r = subprocess.run([hashforge_bin(), "torrent", "scrape", torrent], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertLess(time.monotonic() - t0, 10, "the silent address was waited for")
        finally:
            t.close()
            shutil.rmtree(d, ignore_errors=True)

    def test_a_udp_tracker_port_with_nothing_on_it_is_reported_at_once(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        d = tempfile.mkdtemp(prefix="hf-deadudp-")
        try:
            data = os.path.join(d, "data.bin")
            with open(data, "wb") as f:
                f.write(b"x" * 1000)

            def scrape_fails_at_once(url, why):
                torrent = os.path.join(d, "t.torrent")
                subprocess.run([hashforge_bin(), "torrent", "create", data, "-o", torrent, "-q", "--force", "-t", url],
                               check=True, capture_output=True)
                t0 = time.monotonic()
                r = subprocess.run([hashforge_bin(), "torrent", "scrape", torrent], capture_output=True, text=True,
                                   timeout=120)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(why, r.stdout + r.stderr)
                self.assertNotIn("no reply", r.stdout + r.stderr)
                self.assertLess(time.monotonic() - t0, 10, url + " was waited on")

            # The host answers "port unreachable": that is the answer, not 45 s of retries.
            scrape_fails_at_once("udp://127.0.0.1:%d/announce" % port, "connection refused")
            # An address no datagram can go to (broadcast, without asking for it): its reason.
            scrape_fails_at_once("udp://255.255.255.255:%d/announce" % port, "255.255.255.255: ")
        finally:
            shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    unittest.main()

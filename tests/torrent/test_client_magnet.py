"""Magnet links (BEP 9, ut_metadata) and peer exchange (BEP 11, ut_pex) between hashforge and
Debian's real clients. Magnet links: hashforge
resolves a magnet link from libtorrent, Transmission and aria2 seeders and downloads on the
same connections; libtorrent, Transmission and aria2 resolve one from a hashforge seeder.
Every download is byte-compared, and the info dictionary hashforge saved must be the
original's, byte for byte. Peers meet through `hashforge tracker` (the magnet's tr=), with
DHT, local discovery and peer exchange off, so ut_metadata is the only way to the torrent.
Peer exchange: with no tracker at all, hashforge learns a libtorrent peer's address from
another libtorrent peer, and a libtorrent peer learns one from hashforge."""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_client_interop import ARIA2C, REMOTE, TRANSMISSION, WAIT, ClientInterop, Swarm, lt  # noqa: E402
from torrent_harness import bdecode, exit_code, last_status  # noqa: E402
from tracker_harness import free_port, hashforge_bin, wait_for  # noqa: E402


def magnet_of(torrent):
    info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", torrent], capture_output=True,
                                     text=True, check=True).stdout)
    return info["magnet"]


def info_bytes(torrent_path):
    """The info dictionary's original bytes in a .torrent file."""
    with open(torrent_path, "rb") as f:
        raw = f.read()
    return bdecode(raw)[1][b"info"]


class MagnetInterop(ClientInterop):
    def hf_magnet_from(self, start_seeder, kind="v1"):
        s = Swarm(self.url, kind=kind)
        try:
            start_seeder(s)
            self.assertTrue(self.complete_seeders(s, 1), "the seeder never announced\n" + s.log_text())
            saved = os.path.join(s.dir, "saved.torrent")
            p, path = s.hf_download(extra=("--save-torrent", saved), what=magnet_of(s.torrent))
            rc = exit_code(p, WAIT)
            self.assertEqual(rc, 0, "hashforge did not finish\n" + s.log_text())
            self.assertTrue(s.good(path), "the download differs\n" + s.log_text())
            self.assertEqual(info_bytes(saved), info_bytes(s.torrent), "the saved info dictionary differs")
            st = last_status(os.path.join(s.dir, "hf-dl.log"))
            self.assertTrue(st["complete"])
            self.assertTrue(st["has_metadata"])
            self.assertGreaterEqual(st["metadata_ms"], 0)
            self.assertEqual(st["hash_failures"], 0)
        finally:
            s.close()

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_resolves_a_magnet_from_libtorrent(self):
        self.hf_magnet_from(lambda s: s.libtorrent(seed=True))

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_resolves_a_hybrid_magnet_from_libtorrent(self):
        """btih and btmh in one link: the metadata must match both hashes."""
        self.hf_magnet_from(lambda s: s.libtorrent(seed=True), kind="hybrid-multi")

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_hashforge_resolves_a_v2_magnet_from_libtorrent(self):
        """btmh alone: the info dictionary names only each file's merkle root, so the piece
        layers come from the seeder too, by BEP 52 hash requests, proved against the roots."""
        self.hf_magnet_from(lambda s: s.libtorrent(seed=True), kind="v2")

    @unittest.skipUnless(TRANSMISSION and REMOTE, "transmission-daemon / transmission-remote are not installed")
    def test_hashforge_resolves_a_magnet_from_transmission(self):
        self.hf_magnet_from(lambda s: s.transmission(seed=True))

    @unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
    def test_hashforge_resolves_a_magnet_from_aria2(self):
        self.hf_magnet_from(lambda s: s.aria2(seed=True))

    @unittest.skipUnless(lt, "python3-libtorrent is not installed")
    def test_libtorrent_resolves_a_magnet_from_hashforge(self):
        def leech(s):
            ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                              "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                              "enable_incoming_utp": False})
            s.sessions.append(ses)
            d = os.path.join(s.dir, "lt-magnet")
            os.makedirs(d)
            params = lt.parse_magnet_uri(magnet_of(s.torrent))
            params.save_path = d
            params.flags &= ~lt.torrent_flags.auto_managed
            params.flags &= ~lt.torrent_flags.paused
            ses.add_torrent(params)
            return s.target(d)
        self.downloads_from_hf(leech)

    @unittest.skipUnless(TRANSMISSION and REMOTE, "transmission-daemon / transmission-remote are not installed")
    def test_transmission_resolves_a_magnet_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.transmission(seed=False, what=magnet_of(s.torrent)))

    @unittest.skipUnless(ARIA2C, "aria2 is not installed (scripts/setup.sh installs it)")
    def test_aria2_resolves_a_magnet_from_hashforge(self):
        self.downloads_from_hf(lambda s: s.aria2(seed=False, what=magnet_of(s.torrent)))

    def test_a_magnet_with_no_way_to_peers_is_refused(self):
        r = subprocess.run([hashforge_bin(), "torrent", "download", "magnet:?xt=urn:btih:" + "ab" * 20, "-o",
                            "/tmp"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no tracker and no peer", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_a_bad_magnet_is_refused(self):
        r = subprocess.run([hashforge_bin(), "torrent", "download", "magnet:?xt=urn:btih:zz", "-o", "/tmp"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a magnet link", r.stderr)

    def test_hashforge_resolves_a_magnet_from_hashforge_by_hand(self):
        """No tracker at all: the seeder's address given as x.pe in the link itself."""
        s = Swarm(self.url)
        try:
            s.hf_seed(extra=("--no-trackers",))
            port = self.seeder_port(s)
            link = magnet_of(s.torrent).split("&tr=")[0] + "&x.pe=127.0.0.1:%d" % port
            p, path = s.hf_download(extra=("--no-trackers",), what=link)
            self.assertEqual(exit_code(p, WAIT), 0, "hashforge did not finish\n" + s.log_text())
            self.assertTrue(s.good(path), "the download differs\n" + s.log_text())
        finally:
            s.close()


def lt_peer(swarm, seed, name, upload_limit=0):
    """A libtorrent session with peer exchange on (its default plugins) and nothing else to
    find peers by: (session, handle, listen port, download folder)."""
    port = free_port()
    ses = lt.session({"listen_interfaces": "127.0.0.1:%d" % port, "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
                      "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True})
    swarm.sessions.append(ses)
    d = swarm.seed_dir if seed else os.path.join(swarm.dir, name)
    os.makedirs(d, exist_ok=True)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(swarm.torrent)
    params.save_path = d
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(params)
    if upload_limit:
        h.set_upload_limit(upload_limit)
    return ses, h, port, d


def lt_peer_ports(h):
    return {p.ip[1] for p in h.get_peer_info()}


@unittest.skipUnless(lt, "python3-libtorrent is not installed")
class PexInterop(unittest.TestCase):
    """No tracker, no DHT: the only way to the third peer is what a peer says over ut_pex."""

    def test_hashforge_learns_a_peer_from_libtorrent(self):
        s = Swarm("http://127.0.0.1:1/announce", size=6 * 1024 * 1024)
        try:
            # A seeds slowly; B, a libtorrent leecher, dialled A. hashforge is told only of B.
            _, _, a_port, _ = lt_peer(s, True, "lt-a", upload_limit=300 * 1024)
            _, hb, b_port, _ = lt_peer(s, False, "lt-b")
            hb.connect_peer(("127.0.0.1", a_port))
            self.assertTrue(wait_for(lambda: a_port in lt_peer_ports(hb), timeout=30),
                            "libtorrent B never reached A")
            # hashforge listens where A cannot reach it (A hears of it from B's ut_pex too and
            # would dial it): a connection to A can only be hashforge's own, from B's ut_pex.
            p, path = s.hf_download(extra=("--no-trackers", "--peer", "127.0.0.1:%d" % b_port),
                                    listen="127.0.0.2:0")
            log = os.path.join(s.dir, "hf-dl.log")

            def reached_a():
                with open(log, errors="replace") as f:
                    return re.search(r"127\.0\.0\.1:%d: connected" % a_port, f.read()) is not None
            self.assertTrue(wait_for(reached_a, timeout=WAIT, step=0.5),
                            "hashforge never dialled A, whose address only B's ut_pex told\n" + s.log_text())
            self.assertEqual(exit_code(p, WAIT), 0, "hashforge did not finish\n" + s.log_text())
            self.assertTrue(s.good(path), "the download differs\n" + s.log_text())
        finally:
            s.close()

    def test_libtorrent_learns_a_peer_from_hashforge(self):
        s = Swarm("http://127.0.0.1:1/announce", size=6 * 1024 * 1024)
        try:
            # hashforge seeds slowly; libtorrent A dials it, then libtorrent B dials it: only
            # hashforge's ut_pex can tell B where A listens.
            s.hf_seed(extra=("--no-trackers", "--upload-limit", "300K"))
            port = ClientInterop.seeder_port(self, s)
            _, ha, a_port, _ = lt_peer(s, False, "lt-a")
            ha.connect_peer(("127.0.0.1", port))
            self.assertTrue(wait_for(lambda: port in lt_peer_ports(ha), timeout=30), "A never reached hashforge")
            time.sleep(1)  # A's extension handshake (its listen port) is in
            _, hb, _, _ = lt_peer(s, False, "lt-b")
            hb.connect_peer(("127.0.0.1", port))
            # B dials A, or A dials B (hashforge told each where the other listens): either
            # way B has a peer besides hashforge.
            self.assertTrue(wait_for(lambda: lt_peer_ports(hb) - {port}, timeout=WAIT, step=0.5),
                            "libtorrent A and B never met, though hashforge's ut_pex told each of the other\n" +
                            s.log_text())
        finally:
            s.close()


# Only this file's tests, not the interop suite's it inherits from.
def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for name in loader.getTestCaseNames(MagnetInterop):
        if name not in loader.getTestCaseNames(ClientInterop):
            suite.addTest(MagnetInterop(name))
    suite.addTests(loader.loadTestsFromTestCase(PexInterop))
    return suite


if __name__ == "__main__":
    unittest.main()

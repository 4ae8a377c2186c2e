"""Magnet links (BEP 9, ut_metadata) between hashforge and Debian's real clients: hashforge
resolves a magnet link from libtorrent, Transmission and aria2 seeders and downloads on the
same connections; libtorrent, Transmission and aria2 resolve one from a hashforge seeder.
Every download is byte-compared, and the info dictionary hashforge saved must be the
original's, byte for byte. Peers meet through `hashforge tracker` (the magnet's tr=), with
DHT, local discovery and peer exchange off, so ut_metadata is the only way to the torrent."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_client_interop import ARIA2C, REMOTE, TRANSMISSION, WAIT, ClientInterop, Swarm, lt  # noqa: E402
from torrent_harness import bdecode, exit_code, last_status  # noqa: E402
from tracker_harness import hashforge_bin  # noqa: E402


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


# Only this file's tests, not the interop suite's it inherits from.
def load_tests(loader, tests, pattern):
    suite = unittest.TestSuite()
    for name in loader.getTestCaseNames(MagnetInterop):
        if name not in loader.getTestCaseNames(ClientInterop):
            suite.addTest(MagnetInterop(name))
    return suite


if __name__ == "__main__":
    unittest.main()

"""The DHT (BEP 5) over real sockets. With libtorrent (Debian's python3-libtorrent), each node
in its own network namespace with its own address (libtorrent keeps one routing entry per
address, so nodes sharing 127.0.0.1 barely form a DHT): hashforge downloads a trackerless
magnet link whose only seeder is a libtorrent node, and libtorrent downloads one whose only
seeder is hashforge, each side finding the other through the DHT alone (no tracker, no
x.pe, no --peer); `hashforge torrent dht --lookup` finds the peer a libtorrent node
announced. These need root (visible skip otherwise).
On loopback, hashforge nodes alone: a routing table saved at stop brings a node back into
the network after a restart with no bootstrap node; hostile datagrams (garbage, truncated,
oversized, a flood) leave a node answering."""
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "node"))
sys.path.insert(0, os.path.join(HERE, "..", "tracker"))
import netns_harness as netns  # noqa: E402
from torrent_harness import Procs, bdecode, exit_code, last_status, stop  # noqa: E402
from tracker_harness import free_port, hashforge_bin, wait_for  # noqa: E402

HAVE_LT = importlib.util.find_spec("libtorrent") is not None

PY = "/usr/bin/python3"
LT_NODE = os.path.join(HERE, "lt_dht_node.py")
SIZE = 3 * 1024 * 1024 + 777
WAIT = 120


def ns(name):
    """The prefix that runs a program inside network namespace `name`."""
    return [netns.IP, "netns", "exec", name]


def make_torrent(work, name):
    """A file and its trackerless .torrent (made by hashforge); returns (torrent, seed dir, data)."""
    seed_dir = os.path.join(work, "seed")
    os.makedirs(seed_dir, exist_ok=True)
    data = os.urandom(SIZE)
    with open(os.path.join(seed_dir, name), "wb") as f:
        f.write(data)
    torrent = os.path.join(work, name + ".torrent")
    subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(seed_dir, name), "-o", torrent,
                    "--piece-size", "256K", "-q"], check=True, capture_output=True)
    with open(torrent, "rb") as f:
        meta = bdecode(f.read())[0]
    assert b"announce" not in meta and b"announce-list" not in meta
    return torrent, seed_dir, data


def magnet_of(torrent):
    info = json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", torrent], capture_output=True,
                                     text=True, check=True).stdout)
    assert "&tr=" not in info["magnet"] and "&x.pe=" not in info["magnet"]
    return info["magnet"]


def same_file(path, data):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    except OSError:
        return False


@unittest.skipUnless(HAVE_LT, "python3-libtorrent is not installed")
@unittest.skipIf(netns.unavailable(), netns.unavailable() or "")
class DhtWithLibtorrent(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hf-dht-lt-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.p = Procs(self, self.work)

    def libtorrent_swarm(self, br, torrent, seed_dir):
        """Two libtorrent nodes, hosts 1 and 2: a plain one (the entry point) and the seeder."""
        a, b = br.address(1), br.address(2)
        self.p.start("lt-node", [PY, LT_NODE, "--listen", "%s:6881" % a, "--bootstrap", "%s:6881" % b], ns(br.ns[0]))
        self.p.start("lt-seed", [PY, LT_NODE, "--listen", "%s:6881" % b, "--bootstrap", "%s:6881" % a,
                                 "--seed", torrent, seed_dir], ns(br.ns[1]))
        self.assertTrue(wait_for(lambda: any(x.get("seeding") for x in self.p.lines("lt-seed")), WAIT),
                        "libtorrent never seeded\n" + self.p.logs())

    def test_hashforge_downloads_a_trackerless_magnet_from_a_libtorrent_seeder(self):
        net = netns.subnet(offset=70)
        br = netns.Bridge(self, 4, net)
        torrent, seed_dir, data = make_torrent(self.work, "from-lt.bin")
        a, c = br.address(1), br.address(3)
        self.libtorrent_swarm(br, torrent, seed_dir)
        out = os.path.join(self.work, "dl")
        os.makedirs(out)
        dl = self.p.start("hf-dl", [hashforge_bin(), "torrent", "download", magnet_of(torrent), "-o", out, "--dht",
                                    "--dht-bootstrap", "%s:6881" % a, "--dht-listen", "%s:6881" % c,
                                    "--listen", "%s:6882" % c, "--dht-state", os.path.join(self.work, "hf.dht"),
                                    "--json", "-v"], ns(br.ns[2]))
        rc = exit_code(dl, WAIT * 2)
        self.assertEqual(rc, 0, "hashforge did not finish\n" + self.p.logs())
        self.assertTrue(same_file(os.path.join(out, "from-lt.bin"), data), "the download differs")
        st = last_status(os.path.join(self.work, "hf-dl.log"))
        self.assertTrue(st["complete"])
        self.assertGreaterEqual(st["dht"]["peers_found"], 1)
        self.assertGreaterEqual(st["dht"]["ipv4"]["nodes"], 1)
        # The table was saved at the end, with the libtorrent nodes in it.
        with open(os.path.join(self.work, "hf.dht"), "rb") as f:
            saved = bdecode(f.read())[0]
        self.assertEqual(len(saved[b"id"]), 20)
        self.assertGreaterEqual(len(saved[b"nodes"]) // 26, 1)

    def test_libtorrent_downloads_a_trackerless_magnet_from_a_hashforge_seeder(self):
        net = netns.subnet(offset=71)
        br = netns.Bridge(self, 4, net)
        torrent, seed_dir, data = make_torrent(self.work, "from-hf.bin")
        a, b, c = br.address(1), br.address(2), br.address(3)
        # A hashforge DHT node as the entry point, a hashforge seeder, a libtorrent downloader.
        self.p.start("hf-node", [hashforge_bin(), "torrent", "dht", "--listen", "%s:6881" % a, "--bootstrap",
                                 "%s:6881" % b, "--json", "-v"], ns(br.ns[0]))
        self.p.start("hf-seed", [hashforge_bin(), "torrent", "seed", torrent, seed_dir, "--dht", "--dht-bootstrap",
                                 "%s:6881" % a, "--dht-listen", "%s:6881" % b, "--listen", "%s:6882" % b, "--json",
                                 "-v"], ns(br.ns[1]))

        def announced():
            lines = self.p.lines("hf-node")
            return lines and lines[-1]["dht"]["ipv4"]["peers_stored"] >= 1
        self.assertTrue(wait_for(announced, WAIT), "the seeder never announced\n" + self.p.logs())
        out = os.path.join(self.work, "lt-out")
        os.makedirs(out)
        lt = self.p.start("lt-dl", [PY, LT_NODE, "--listen", "%s:6881" % c, "--bootstrap", "%s:6881" % a,
                                    "--magnet", magnet_of(torrent), "--out", out, "--exit-when-done"], ns(br.ns[2]))
        rc = exit_code(lt, WAIT * 2)
        self.assertEqual(rc, 0, "libtorrent did not finish\n" + self.p.logs())
        self.assertTrue(same_file(os.path.join(out, "from-hf.bin"), data), "the download differs")
        # libtorrent's DHT node talked to ours: it is in our entry node's table.
        lines = self.p.lines("hf-node")
        self.assertGreaterEqual(lines[-1]["dht"]["ipv4"]["nodes"], 2, self.p.logs())

    def test_a_lookup_finds_the_peer_a_libtorrent_node_announced(self):
        net = netns.subnet(offset=72)
        br = netns.Bridge(self, 3, net)
        torrent, seed_dir, _ = make_torrent(self.work, "lookup.bin")
        a, b, c = br.address(1), br.address(2), br.address(3)
        self.libtorrent_swarm(br, torrent, seed_dir)
        look = self.p.start("hf-lookup", [hashforge_bin(), "torrent", "dht", "--listen", "%s:6881" % c, "--bootstrap",
                                          "%s:6881" % a, "--lookup", magnet_of(torrent), "--for", str(WAIT), "--json"],
                            ns(br.ns[2]))
        rc = exit_code(look, WAIT + 30)
        self.assertEqual(rc, 0, self.p.logs())
        peers = [x["peer"] for x in self.p.lines("hf-lookup") if "peer" in x]
        self.assertIn("%s:6881" % b, peers, self.p.logs())


class DhtOnLoopback(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hf-dht-lo-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.p = Procs(self, self.work)

    def node(self, name, port, *extra):
        return self.p.start(name, [hashforge_bin(), "torrent", "dht", "--listen", "127.0.0.1:%d" % port, "--json"]
                            + list(extra))

    def nodes_of(self, name):
        lines = [x for x in self.p.lines(name) if "dht" in x]
        return lines[-1]["dht"]["ipv4"]["nodes"] if lines else 0

    def test_a_state_file_that_is_not_a_table_is_refused_and_left_as_it_was(self):
        # A wrong path must not cost the user the file there: a document, or a file over the
        # cap, is refused with one line and not written over at stop.
        for i, content in enumerate((b"my notes, not a routing table\n", b"\0" * (2 << 20))):
            path = os.path.join(self.work, "other%d" % i)
            with open(path, "wb") as f:
                f.write(content)
            proc = self.node("bad%d" % i, free_port(socket.SOCK_DGRAM), "--state", path,
                             "--bootstrap", "127.0.0.1:1", "--for", "1")
            self.assertEqual(exit_code(proc, WAIT), 1, self.p.logs())
            with open(path, "rb") as f:
                self.assertEqual(f.read(), content)
            with open(os.path.join(self.work, "bad%d.log" % i), "rb") as f:
                log = f.read().decode()
            self.assertIn("DHT state: " + path, log)
            self.assertEqual(len(log.strip().splitlines()), 1, log)

    def test_a_saved_table_rejoins_the_network_without_bootstrap_nodes(self):
        ports = [free_port(socket.SOCK_DGRAM) for _ in range(4)]
        self.node("n0", ports[0], "--bootstrap", "127.0.0.1:%d" % ports[1])
        for i in (1, 2):
            self.node("n%d" % i, ports[i], "--bootstrap", "127.0.0.1:%d" % ports[0])
        state = os.path.join(self.work, "x.dht")
        x = self.node("x", ports[3], "--bootstrap", "127.0.0.1:%d" % ports[0], "--state", state)
        self.assertTrue(wait_for(lambda: self.nodes_of("x") >= 3, WAIT), self.p.logs())
        stop(x)
        with open(state, "rb") as f:
            saved = bdecode(f.read())[0]
        self.assertGreaterEqual(len(saved[b"nodes"]) // 26, 3)
        # Back with no bootstrap node: the saved nodes answer, and a lookup works through them.
        self.node("x2", ports[3], "--state", state, "--bootstrap", "127.0.0.1:1")
        self.assertTrue(wait_for(lambda: self.nodes_of("x2") >= 3, WAIT), self.p.logs())
        announce = self.p.start("ann", [hashforge_bin(), "torrent", "dht", "--listen", "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM),
                                        "--bootstrap", "127.0.0.1:%d" % ports[3], "--lookup", "ab" * 20,
                                        "--announce", "4242", "--for", "5"])
        self.assertEqual(exit_code(announce, WAIT), 0, self.p.logs())
        look = self.p.start("look", [hashforge_bin(), "torrent", "dht", "--listen", "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM),
                                     "--bootstrap", "127.0.0.1:%d" % ports[1], "--lookup", "ab" * 20, "--for", "30"])
        self.assertEqual(exit_code(look, WAIT), 0, self.p.logs())
        with open(os.path.join(self.work, "look.log")) as f:
            self.assertIn("peer 127.0.0.1:4242", f.read())

    def test_a_private_torrent_never_uses_the_dht(self):
        # BEP 27: a private torrent's peers come from its trackers alone. The same download of
        # a public torrent looks the DHT up within seconds; the private one never does, and
        # says so in its status.
        boot = free_port(socket.SOCK_DGRAM)
        self.node("boot", boot)
        data = os.path.join(self.work, "data.bin")
        with open(data, "wb") as f:
            f.write(os.urandom(200000))
        for name, extra in (("public", []), ("private", ["--private"])):
            subprocess.run([hashforge_bin(), "torrent", "create", data, "-o", os.path.join(self.work, name + ".torrent"),
                            "-t", "http://127.0.0.1:1/announce", "-q"] + extra, check=True, capture_output=True)
            self.p.start(name, [hashforge_bin(), "torrent", "download", os.path.join(self.work, name + ".torrent"), "-o",
                                os.path.join(self.work, name), "--listen", "127.0.0.1:0", "--dht", "--dht-listen",
                                "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM), "--dht-bootstrap",
                                "127.0.0.1:%d" % boot, "--json", "-v"])

        def lookups(name):
            lines = [x for x in self.p.lines(name) if "dht" in x]
            return lines[-1]["dht"]["lookups"] if lines else -1
        self.assertTrue(wait_for(lambda: lookups("public") >= 1, WAIT), self.p.logs())
        time.sleep(2)
        self.assertIn(lookups("private"), (0, -1), self.p.logs())
        with open(os.path.join(self.work, "private.log"), "rb") as f:
            self.assertIn(b"no DHT, its trackers alone", f.read())

    def test_nodes_on_ipv6_find_each_other(self):
        # BEP 32: the same protocol over IPv6, contacts in nodes6.
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            probe.bind(("::1", 0))
            probe.close()
        except OSError as e:
            self.skipTest("no IPv6 loopback here: %s" % e)
        ports = [free_port(socket.SOCK_DGRAM) for _ in range(3)]
        for i in range(3):
            self.p.start("v6n%d" % i, [hashforge_bin(), "torrent", "dht", "--listen", "[::1]:%d" % ports[i], "--bootstrap",
                                       "[::1]:%d" % ports[1 if i == 0 else 0], "--json"])

        def v6_nodes(name):
            lines = [x for x in self.p.lines(name) if "dht" in x]
            return lines[-1]["dht"].get("ipv6", {}).get("nodes", 0) if lines else 0
        self.assertTrue(wait_for(lambda: all(v6_nodes("v6n%d" % i) >= 2 for i in range(3)), WAIT), self.p.logs())
        ann = self.p.start("ann6", [hashforge_bin(), "torrent", "dht", "--listen", "[::1]:%d" % free_port(socket.SOCK_DGRAM),
                                    "--bootstrap", "[::1]:%d" % ports[0], "--lookup", "cd" * 20, "--announce", "4343",
                                    "--for", "5"])
        self.assertEqual(exit_code(ann, WAIT), 0, self.p.logs())
        look = self.p.start("look6", [hashforge_bin(), "torrent", "dht", "--listen", "[::1]:%d" % free_port(socket.SOCK_DGRAM),
                                      "--bootstrap", "[::1]:%d" % ports[2], "--lookup", "cd" * 20, "--for", "30"])
        self.assertEqual(exit_code(look, WAIT), 0, self.p.logs())
        with open(os.path.join(self.work, "look6.log")) as f:
            self.assertIn("peer [::1]:4343", f.read())

    def test_hostile_datagrams_leave_the_node_answering(self):
        port = free_port(socket.SOCK_DGRAM)
        self.node("n", port)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        self.addCleanup(s.close)
        ping = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"

        def answered(payload, tid=b"aa"):
            s.sendto(payload, ("127.0.0.1", port))
            end = time.time() + 3
            while time.time() < end:
                try:
                    data, _ = s.recvfrom(65536)
                except socket.timeout:
                    return None
                if b"1:t%d:%s" % (len(tid), tid) in data:
                    return data
            return None
        self.assertTrue(wait_for(lambda: answered(ping), 20), self.p.logs())
        # A malformed query with a transaction id: BEP 5's protocol error 203.
        r = answered(b"d1:ad2:id3:abce1:q4:ping1:t2:bb1:y1:qe", b"bb")
        self.assertIsNotNone(r)
        self.assertIn(b"1:y1:e", r)
        self.assertIn(b"i203e", r)
        # Unknown methods: 204.
        r = answered(b"d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:cc1:y1:qe", b"cc")
        self.assertIn(b"i204e", r)
        # Garbage, truncated and oversized datagrams, and an announce with a forged token.
        for junk in (b"", b"\xff" * 100, ping[:-1], ping[:10], b"d" * 60000, b"l" * 5000 + b"e" * 5000,
                     b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti1e5:token4:fakee"
                     b"1:q13:announce_peer1:t2:dd1:y1:qe"):
            s.sendto(junk, ("127.0.0.1", port))
        # A flood from one address: rate-limited, and the node answers again moments later...
        for i in range(3000):
            s.sendto(ping, ("127.0.0.1", port))
        time.sleep(3)
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s2.close)
        s2.settimeout(3)
        s2.sendto(ping.replace(b"2:aa", b"2:zz"), ("127.0.0.1", port))
        data, _ = s2.recvfrom(65536)  # ...another client at once
        self.assertIn(b"1:t2:zz", data)
        self.assertIn(b"1:y1:r", data)
        # ...and the flooding address itself is answered again once its allowance refills (a
        # transaction id of its own: replies to the flood may still be queued on that socket).
        self.assertTrue(wait_for(lambda: answered(ping.replace(b"2:aa", b"2:ee"), b"ee"), 30), self.p.logs())
        lines = [x for x in self.p.lines("n") if "dht" in x]
        st = wait_for(lambda: [x for x in self.p.lines("n") if "dht" in x][-1]["dht"]["ipv4"], 5)
        self.assertGreater(st["rate_limited"], 0)
        self.assertGreater(st["malformed"], 0)
        self.assertGreaterEqual(st["bad_tokens"], 1)
        self.assertTrue(lines)


if __name__ == "__main__":
    unittest.main()

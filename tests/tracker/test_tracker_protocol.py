"""`hashforge tracker` over real loopback sockets: HTTP announce and scrape (compact, dictionary
and IPv6 peers, events, numwant, the ip parameter, several hashes in one scrape), the UDP
tracker (BEP 15) sharing the same swarms, a whitelist, peer expiry, and a clean stop on
SIGTERM and SIGINT. Replies are read with the harness's own bencode and BEP 15 code."""
import os
import signal
import socket
import struct
import time
import unittest

from tracker_harness import (Tracker, UdpClient, UdpError, announce_query, bdecode, compact_peers, escape,
                             wait_for)

H1 = bytes(range(20))
H2 = bytes(range(100, 120))
H3 = b"\xff" * 20


def pid(n):
    return b"-HF0001-" + b"%012d" % n


class HttpAndUdp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tracker()

    @classmethod
    def tearDownClass(cls):
        cls.t.close()

    def announce(self, info_hash, n, left, **kw):
        status, body = self.t.get("/announce?" + announce_query(info_hash, pid(n), 10000 + n, left, **kw))
        self.assertEqual(status, 200)
        return bdecode(body)

    def test_announce_counts_and_compact_peers(self):
        self.announce(H1, 1, 100, event="started")
        self.announce(H1, 2, 0, event="started")
        r = self.announce(H1, 3, 50, event="started")
        self.assertEqual((r[b"complete"], r[b"incomplete"], r[b"downloaded"]), (1, 2, 0))
        self.assertEqual(r[b"interval"], 1800)
        self.assertEqual(r[b"min interval"], 60)
        self.assertEqual(compact_peers(r[b"peers"]), {("127.0.0.1", 10001), ("127.0.0.1", 10002)})
        # completed: counted once however often it is sent
        self.announce(H1, 1, 0, event="completed")
        r = self.announce(H1, 1, 0, event="completed")
        self.assertEqual((r[b"complete"], r[b"incomplete"], r[b"downloaded"]), (2, 1, 1))
        # dictionary model with peer ids, and without
        r = self.announce(H1, 3, 50, compact=0)
        peers = sorted((p[b"ip"], p[b"port"], p[b"peer id"]) for p in r[b"peers"])
        self.assertEqual(peers, [(b"127.0.0.1", 10001, pid(1)), (b"127.0.0.1", 10002, pid(2))])
        r = self.announce(H1, 3, 50, compact=0, extra="&no_peer_id=1")
        self.assertTrue(all(b"peer id" not in p for p in r[b"peers"]))
        r = self.announce(H1, 3, 50, numwant=1)
        self.assertEqual(len(compact_peers(r[b"peers"])), 1)
        # stopped: gone, and no peers in the reply
        r = self.announce(H1, 2, 0, event="stopped")
        self.assertEqual((r[b"complete"], r[b"incomplete"]), (1, 1))
        self.assertEqual(r[b"peers"], b"")

    def test_scrape_several_hashes(self):
        self.announce(H2, 10, 0)
        self.announce(H2, 11, 5)
        status, body = self.t.get("/scrape?info_hash=%s&info_hash=%s&info_hash=%s" % (escape(H2), escape(H3), escape(H2)))
        self.assertEqual(status, 200)
        files = bdecode(body)[b"files"]
        self.assertEqual(set(files), {H2, H3})
        self.assertEqual(files[H2], {b"complete": 1, b"incomplete": 1, b"downloaded": 0})
        self.assertEqual(files[H3], {b"complete": 0, b"incomplete": 0, b"downloaded": 0})

    def test_failures_are_bencoded_with_status_200(self):
        for query, reason in [
                ("", b"missing info_hash"),
                ("info_hash=abc&peer_id=x&port=1&left=0", b"info_hash is not 20 bytes (it is 3)"),
                (announce_query(H1, pid(1), 0), b"port is not a number from 1 to 65535"),
                (announce_query(H1, pid(1), 1, event="bogus"), b"event is not started, completed, stopped or empty")]:
            status, body = self.t.get("/announce?" + query)
            self.assertEqual(status, 200, query)
            self.assertEqual(bdecode(body), {b"failure reason": reason})
        status, body = self.t.get("/scrape")
        self.assertEqual(bdecode(body)[b"failure reason"],
                         b"scrape needs at least one info_hash (a full scrape is not served)")

    def test_ip_parameter_from_loopback(self):
        h = b"\x01" * 20
        self.announce(h, 20, 5, extra="&ip=10.9.8.7")
        r = self.announce(h, 21, 5)
        self.assertEqual(compact_peers(r[b"peers"]), {("10.9.8.7", 10020)})

    def test_udp_shares_swarms_with_http(self):
        h = b"\x02" * 20
        self.announce(h, 30, 0, event="started")
        c = UdpClient(self.t.udp_addr)
        try:
            c.connect()
            interval, leechers, seeders, peers = c.announce(h, pid(31), 10031, left=7, event=2)
            self.assertEqual((interval, leechers, seeders), (1800, 1, 1))
            self.assertEqual(peers, {("127.0.0.1", 10030)})
            self.assertEqual(c.scrape([h, b"\x03" * 20]), [(1, 0, 1), (0, 0, 0)])
            c.announce(h, pid(31), 10031, left=0, event=1)  # completed
            self.assertEqual(c.scrape([h]), [(2, 1, 0)])
            c.announce(h, pid(31), 10031, left=0, event=3)  # stopped
            r = self.announce(h, 30, 0)
            self.assertEqual((r[b"complete"], r[b"incomplete"], r[b"downloaded"]), (1, 0, 1))
            # numwant caps the UDP reply too
            for n in range(40, 50):
                self.announce(h, n, 1)
            _, _, _, peers = c.announce(h, pid(31), 10031, left=1, numwant=3)
            self.assertEqual(len(peers), 3)
        finally:
            c.close()

    def test_stats_json_counts(self):
        s = self.t.stats()
        for key in ("torrents", "peers", "seeders", "leechers", "completed", "http_announces", "udp_announces",
                    "history"):
            self.assertIn(key, s)
        self.assertGreaterEqual(s["torrents"], 1)
        status, body = self.t.get("/stats?format=json")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"{"))


class Ipv6(unittest.TestCase):
    def test_peers6_over_ipv6(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        t = Tracker("--http", "[::1]:0", "--http", "127.0.0.1:0", http=False, udp=False)
        try:
            # The harness reads the first http URL: [::1]. A v4 client on the second address.
            self.assertTrue(t.http_url.startswith("http://[::1]:"), t.http_url)
            h = b"\x06" * 20
            status, body = t.get("/announce?" + announce_query(h, pid(1), 6001, 5))
            r = bdecode(body)
            status, body = t.get("/announce?" + announce_query(h, pid(2), 6002, 5))
            r = bdecode(body)
            self.assertEqual(compact_peers(r[b"peers6"], v6=True), {("::1", 6001)})
            self.assertEqual(r[b"peers"], b"")
            status, body = t.get("/announce?" + announce_query(h, pid(2), 6002, 5, compact=0))
            self.assertEqual([(p[b"ip"], p[b"port"]) for p in bdecode(body)[b"peers"]], [(b"::1", 6001)])
        finally:
            t.close()


class Whitelist(unittest.TestCase):
    def test_only_listed_hashes(self):
        import tempfile
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("# the private tracker's torrents\n%s\n\n%s\n" % (H1.hex(), ("ab" * 32)))
        t = Tracker("--whitelist", path)
        try:
            status, body = t.get("/announce?" + announce_query(H1, pid(1), 1, 0))
            self.assertIn(b"complete", bdecode(body))
            status, body = t.get("/announce?" + announce_query(bytes.fromhex("ab" * 20), pid(1), 1, 0))
            self.assertIn(b"complete", bdecode(body), "a v2 hash is listed by its first 20 bytes")
            status, body = t.get("/announce?" + announce_query(H2, pid(1), 1, 0))
            self.assertEqual(status, 200)
            self.assertEqual(bdecode(body), {b"failure reason": b"info-hash not on this tracker's whitelist"})
            status, body = t.get("/scrape?info_hash=%s&info_hash=%s" % (escape(H1), escape(H2)))
            self.assertEqual(set(bdecode(body)[b"files"]), {H1})
            c = UdpClient(t.udp_addr)
            c.connect()
            with self.assertRaises(UdpError) as e:
                c.announce(H2, pid(2), 2)
            self.assertEqual(str(e.exception), "info-hash not on this tracker's whitelist")
            c.close()
        finally:
            t.close()
            os.unlink(path)

    def test_bad_whitelist_is_a_usage_error(self):
        import subprocess
        import tempfile
        from tracker_harness import hashforge_bin
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("%s\nnot-a-hash\n" % H1.hex())
        try:
            r = subprocess.run([hashforge_bin(), "tracker", "--whitelist", path, "--http", "127.0.0.1:0",
                                "--no-history"], capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertIn(b"line 2", r.stderr)
        finally:
            os.unlink(path)


class Expiry(unittest.TestCase):
    def test_silent_peers_vanish(self):
        t = Tracker("--interval", "10", "--peer-timeout", "2")
        try:
            h = b"\x07" * 20
            t.get("/announce?" + announce_query(h, pid(1), 1, 0))
            t.get("/announce?" + announce_query(h, pid(2), 2, 5))
            self.assertEqual(t.stats()["peers"], 2)
            self.assertTrue(wait_for(lambda: t.stats()["peers"] == 0, timeout=15), "peers did not expire")
            files = bdecode(t.get("/scrape?info_hash=" + escape(h))[1])[b"files"]
            self.assertEqual(files[h][b"complete"] + files[h][b"incomplete"], 0)
        finally:
            t.close()


class Stop(unittest.TestCase):
    def test_sigterm_and_sigint_stop_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            t = Tracker()
            try:
                t.get("/announce?" + announce_query(H1, pid(1), 1, 0))
                t.proc.send_signal(sig)
                self.assertEqual(t.proc.wait(timeout=30), 0, t.stderr_text())
            finally:
                t.close()


if __name__ == "__main__":
    unittest.main()

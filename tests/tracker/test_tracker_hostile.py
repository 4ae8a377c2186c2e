"""Hostile input against the real `hashforge tracker`: malformed and oversized HTTP requests,
missing fields, UDP packets that are truncated, oversized, garbage or carry connection ids
that are wrong, foreign or made up, and a flood from one address (127.0.0.1) that is rate
limited while a second address (127.0.0.2) is served as usual. Every bad input gets a clear
answer (or, for what cannot be answered, none) and the process never dies."""
import os
import random
import socket
import struct
import time
import unittest

from tracker_harness import Tracker, UdpClient, UdpError, announce_query, bdecode, sanitized

H = b"\x42" * 20
PID = b"-HF0001-hostile00001"


def raw_http(t, data, source=None, read_timeout=10):
    host, port = t.http_url[len("http://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=read_timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_of(reply):
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else None


class HostileHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tracker()

    @classmethod
    def tearDownClass(cls):
        code = cls.t.stop()
        cls.t.close()
        assert code == 0, "tracker exit code %r" % code

    def tearDown(self):
        self.assertTrue(self.t.alive(), self.t.stderr_text())

    def test_malformed_query_strings(self):
        for q in ["info_hash=%", "info_hash=%zz&peer_id=x", "%%%%", "a=%4", "info_hash=%GG%00"]:
            status, body = self.t.get("/announce?" + q)
            self.assertEqual(status, 400, q)
            self.assertIn(b"bad", body.lower())
        for q in ["&&&&", "=&=&=", "info_hash", "info_hash=&peer_id=&port=&left=", "port=1&port=2",
                  "info_hash=" + "A" * 5000, announce_query(H, PID, 1) + "&left=1&left=2"]:
            status, body = self.t.get("/announce?" + q)
            self.assertEqual(status, 200, q)
            self.assertIn(b"failure reason", bdecode(body), q)

    def test_missing_fields(self):
        full = announce_query(H, PID, 6881, 0)
        for drop, reason in [("info_hash", b"missing info_hash"), ("peer_id", b"missing peer_id"),
                             ("port", b"missing port"), ("left", b"missing left")]:
            q = "&".join(p for p in full.split("&") if not p.startswith(drop + "="))
            status, body = self.t.get("/announce?" + q)
            self.assertEqual(bdecode(body), {b"failure reason": reason})

    def test_oversized_and_garbage_requests(self):
        long_target = b"GET /announce?" + b"x=1&" * 4000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        self.assertEqual(status_of(raw_http(self.t, long_target)), 414)
        big_head = b"GET /announce HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"p" * 20000 + b"\r\n\r\n"
        self.assertEqual(status_of(raw_http(self.t, big_head)), 431)
        many = b"GET /announce?" + b"&".join(b"k%d=1" % i for i in range(300)) + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        self.assertEqual(status_of(raw_http(self.t, many)), 400)
        body = b"POST /announce HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"b" * 100000
        self.assertIn(status_of(raw_http(self.t, body)), (405, 413))
        self.assertEqual(status_of(raw_http(self.t, b"\x16\x03\x01\x00\xa5garbage\r\n\r\n")), 400)
        self.assertEqual(status_of(raw_http(self.t, os.urandom(3000) + b"\r\n\r\n")), 400)
        # Still serving.
        status, body = self.t.get("/announce?" + announce_query(H, PID, 6881, 0))
        self.assertIn(b"complete", bdecode(body))


class HostileUdp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = Tracker()

    @classmethod
    def tearDownClass(cls):
        code = cls.t.stop()
        cls.t.close()
        assert code == 0, "tracker exit code %r" % code

    def tearDown(self):
        self.assertTrue(self.t.alive(), self.t.stderr_text())

    def setUp(self):
        self.c = UdpClient(self.t.udp_addr)

    def tearDown(self):  # noqa: F811 (both checks)
        self.c.close()
        self.assertTrue(self.t.alive(), self.t.stderr_text())

    def error_of(self, packet):
        r = self.c.request(packet)
        self.assertEqual(struct.unpack(">I", r[:4])[0], 3, r)
        self.assertEqual(r[4:8], packet[12:16], "the error carries the transaction id")
        return r[8:].decode()

    def test_wrong_connection_ids(self):
        self.c.connect()
        other = UdpClient(self.t.udp_addr)
        theirs = other.connect()
        other.close()
        for conn in (0, 1, 0x41727101980, theirs, self.c.conn ^ 1, random.getrandbits(64)):
            self.assertEqual(self.error_of(self.c.announce_packet(H, PID, 1, conn=conn)),
                             "connection id expired or not issued to this address; connect again")
        pkt = struct.pack(">QII", 12345, 2, 9) + H
        self.assertEqual(self.error_of(pkt), "connection id expired or not issued to this address; connect again")
        self.assertEqual(self.t.stats()["bad_connection_ids"], 7)

    def test_truncated_and_oversized_packets(self):
        self.c.connect()
        full = self.c.announce_packet(H, PID, 1)
        for n in (0, 1, 8, 15):
            self.c.sock.sendto(full[:n], self.t.udp_addr)
        self.c.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout, msg="no answer to what holds no transaction id"):
            self.c.sock.recvfrom(4096)
        for n in (16, 20, 50, 97):
            self.assertEqual(self.error_of(full[:n]), "announce packet too short (98 bytes needed)")
        self.assertEqual(self.error_of(full + os.urandom(3000)), "packet too large")
        self.assertEqual(self.error_of(full[:16] + b"\x00" * 60000), "packet too large")
        scrape = struct.pack(">QII", self.c.conn, 2, 5)
        self.assertEqual(self.error_of(scrape + H[:7]), "scrape packet is not 16 bytes plus 20 a hash")
        self.assertEqual(self.error_of(scrape), "scrape packet is not 16 bytes plus 20 a hash")
        self.assertEqual(self.error_of(struct.pack(">QII", 0x41727101980, 77, 5)), "unknown action")
        self.assertEqual(self.error_of(struct.pack(">QII", 1234, 0, 5)), "connect without the protocol id")

    def test_garbage_then_still_serving(self):
        rnd = random.Random(7)
        for _ in range(2000):
            n = rnd.choice([0, 3, 16, 17, 98, 99, 300, 1500, 1501, 4000])
            self.c.sock.sendto(bytes(rnd.getrandbits(8) for _ in range(n)), self.t.udp_addr)
        time.sleep(0.3)
        fresh = UdpClient(self.t.udp_addr)
        try:
            fresh.connect()
            self.assertEqual(fresh.announce(H, PID, 7, left=0)[2], 1)
        finally:
            fresh.close()


class Flood(unittest.TestCase):
    """Rate limits on (20 a second, bursts of 40): 127.0.0.1 floods, 127.0.0.2 is unaffected.
    A tracker each, so one flood's empty bucket does not carry into the next test."""

    def setUp(self):
        self.t = Tracker("--rate-burst", "40", rate_limit="20")

    def tearDown(self):
        code = self.t.stop()
        self.t.close()
        self.assertEqual(code, 0, "tracker exit code")

    def test_udp_flood(self):
        flood = UdpClient(self.t.udp_addr, source="127.0.0.1")
        calm = UdpClient(self.t.udp_addr, source="127.0.0.2")
        try:
            pkt = struct.pack(">QII", 0x41727101980, 0, 1)
            t0 = time.time()
            for _ in range(3000):
                flood.sock.sendto(pkt, self.t.udp_addr)
            answered = 0
            flood.sock.settimeout(0.5)
            try:
                while True:
                    flood.sock.recvfrom(64)
                    answered += 1
            except socket.timeout:
                pass
            elapsed = time.time() - t0
            self.assertLessEqual(answered, 40 + 20 * elapsed + 5, "the flood was not limited")
            self.assertGreater(answered, 0)
            calm.connect()
            self.assertEqual(calm.announce(H, PID, 9, left=0)[2], 1, "the other address is served")
            # The kernel may drop part of the flood before the tracker sees it (a full socket
            # buffer on a busy machine); what reached it beyond the burst was refused.
            limited = self.t.stats()["rate_limited"]
            self.assertGreater(limited, 0)
            self.assertLessEqual(limited + answered, 3000 + 2)
        finally:
            flood.close()
            calm.close()
        self.assertTrue(self.t.alive())

    def test_http_flood(self):
        import http.client
        conn = http.client.HTTPConnection(*self.t.http_url[len("http://"):].rsplit(":", 1), timeout=10)
        limited = served = 0
        t0 = time.time()
        for i in range(300):
            conn.request("GET", "/announce?" + announce_query(H, PID, 100 + i % 5, 0))
            body = bdecode(conn.getresponse().read())
            if body.get(b"failure reason", b"").startswith(b"rate limited"):
                limited += 1
            else:
                served += 1
        elapsed = time.time() - t0
        conn.close()
        # A burst of 40, then 20 a second: the bound grows with the time the flood took (long on
        # a loaded sanitizer build), and most of a quick flood is refused.
        self.assertLessEqual(served, 40 + 20 * elapsed + 5, "the flood was not limited (%.1f s)" % elapsed)
        self.assertGreater(limited, 0)
        if elapsed < 3:
            self.assertGreater(limited, 200)
        status, body = self.t.get("/announce?" + announce_query(H, PID, 9, 0), source="127.0.0.2")
        self.assertEqual(status, 200)
        self.assertIn(b"complete", bdecode(body), "the other address is served")
        self.assertTrue(self.t.alive())


if __name__ == "__main__":
    unittest.main()

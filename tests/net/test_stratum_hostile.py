"""Hostile and broken clients against the coordinator: each gets an error reply or a closed
connection, the coordinator stays up, its memory does not grow, and a well-behaved worker
alongside keeps getting its shares accepted. Timeouts here are hang guards, not speed checks."""
import os
import random
import socket
import time
import unittest

from stratum_harness import HANG_GUARD, Client, Coordinator, check_growth

D0 = 1.0 / 65536


class Hostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "600", "--auth-timeout", "3",
                             "--line-timeout", "2", http=True)
        cls.good = Client(cls.co.port)
        cls.job = cls.good.subscribe_authorize("good")
        cls.en2 = 0

    @classmethod
    def tearDownClass(cls):
        cls.good.close()
        cls.co.stop()

    def setUp(self):
        self.assertTrue(self.co.alive())

    def tearDown(self):
        # After every hostile act the coordinator is up and the good worker still mines.
        self.assertTrue(self.co.alive(), self.co.stderr())
        Hostile.en2 += 1
        en2 = "%08x" % Hostile.en2
        n = self.job.find_share(self.good.en1, en2, D0)
        r = self.good.submit(self.job, en2, self.job.ntime, n, user="good")
        self.assertIs(r["result"], True, r)

    def client(self):
        c = Client(self.co.port)
        self.addCleanup(c.close)
        return c

    def test_json_of_the_wrong_shape_gets_an_error_and_the_connection_goes_on(self):
        c = self.client()
        for bad in [b"[1,2,3]\n", b'{"id":1,"method":5}\n', b'{"id":{},"method":"x"}\n',
                    b'{"id":1,"method":"mining.subscribe","params":{"a":1}}\n', b"42\n"]:
            c.send_raw(bad)
            m = c.read_msg()
            self.assertIsNotNone(m, bad)
            self.assertEqual(m["error"][0], 20, bad)
        self.assertIsNone(c.call("mining.subscribe", [])["error"])

    def test_a_line_that_is_not_json_closes_at_once(self):
        # Binary bytes, another protocol, text that is not JSON, nesting past 16: one error
        # line saying why, then the close.
        for bad in [b"\x00\xff\xfe garbage\n", b"GET / HTTP/1.1\r\n", b"{not json\n", b"[" * 100 + b"\n",
                    b"\x16\x03\x01\x02\x00\x01\n"]:
            c = self.client()
            c.send_raw(bad)
            m = c.read_msg(timeout=5)
            self.assertIsNotNone(m, bad)
            self.assertEqual(m["error"][0], 20, bad)
            self.assertIn("invalid JSON", m["error"][1])
            # At once: well before this class's 3 s authorization timeout would close it anyway.
            self.assertTrue(c.closed_within(2), bad)

    def test_the_17th_malformed_request_closes_the_connection(self):
        c = self.client()
        c.send_raw(b"[1]\n" * 40)
        errors = 0
        while True:
            m = c.read_msg(timeout=10)
            if m is None:
                break
            self.assertEqual(m["error"][0], 20)
            errors += 1
        self.assertEqual(errors, 17)

    def test_a_line_over_16_kib_is_refused_and_closes(self):
        c = self.client()
        c.send_raw(b'{"id":1,"method":"mining.subscribe","params":["' + b"a" * 17000 + b'"]}\n')
        m = c.read_msg()
        self.assertEqual(m["error"][0], 20)
        self.assertIn("16 KiB", m["error"][1])
        self.assertTrue(c.closed_within(10))

    def test_binary_garbage_without_newlines_is_cut_off(self):
        c = self.client()
        try:
            c.send_raw(os.urandom(64 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(c.closed_within(10))

    def test_a_silent_client_is_closed(self):
        c = self.client()
        self.assertTrue(c.closed_within(15))

    def test_one_byte_a_second_is_closed(self):
        c = self.client()
        closed = False
        for b in b'{"id":1,"method":"mining.subscribe","params":[]}\n'[:10]:
            try:
                c.send_raw(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if c.closed_within(1):
                closed = True
                break
        self.assertTrue(closed or c.closed_within(10))

    def test_thousands_of_the_same_share_are_duplicates_and_memory_stays_flat(self):
        c = self.client()
        job = c.subscribe_authorize("dup")
        n = job.find_share(c.en1, "00000000", D0)
        self.assertIs(c.submit(job, "00000000", job.ntime, n, user="dup")["result"], True)
        line = ('{"id":7,"method":"mining.submit","params":["dup","%s","00000000","%s","%08x"]}\n'
                % (job.id, job.ntime, n)).encode()
        before = self.co.rss_kib()
        for _ in range(5):
            c.send_raw(line * 1000)
            for _ in range(1000):
                m = c.read_msg()
                self.assertEqual(m["error"][0], 22)
        check_growth(self, self.co, before, 8 * 1024)

    def test_wrong_job_ids(self):
        c = self.client()
        c.subscribe_authorize("jobs")
        rnd = random.Random(7)
        for _ in range(300):
            jid = "".join(rnd.choice("0123456789abcdefxyz") for _ in range(rnd.randint(0, 70)))
            r = c.call("mining.submit", ["jobs", jid, "00000000", "4d1b2237", "00000000"])
            self.assertEqual(r["error"][0], 21)

    def test_a_reader_that_never_reads_is_dropped(self):
        # Pipelined requests whose replies are never read: the coordinator holds at most
        # 1 MiB of unsent replies for it, then drops it.
        s = socket.create_connection(("127.0.0.1", self.co.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.addCleanup(s.close)
        line = b'{"id":1,"method":"mining.subscribe","params":["' + b"x" * 100 + b'"]}\n'
        before = self.co.rss_kib()
        sent, dropped = 0, False
        s.settimeout(HANG_GUARD)
        try:
            while sent < 256 * 1024 * 1024:
                s.sendall(line * 200)
                sent += len(line) * 200
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
        self.assertTrue(dropped, "still connected after %d bytes of requests" % sent)
        check_growth(self, self.co, before, 64 * 1024)

    def test_many_connections_come_and_go(self):
        socks = [socket.create_connection(("127.0.0.1", self.co.port)) for _ in range(300)]
        for s in socks[::2]:
            s.sendall(b'{"id":1,"method":"mining.subscribe","params":[]}\n')
        for s in socks:
            s.close()
        deadline = time.time() + 20
        while time.time() < deadline and self.co.stats()["connections"] > 1:
            time.sleep(0.1)
        self.assertEqual(self.co.stats()["connections"], 1)  # the good worker


if __name__ == "__main__":
    unittest.main()

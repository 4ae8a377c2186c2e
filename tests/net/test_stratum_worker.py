"""A hashforge worker against a Stratum pool written with the standard library alone
(fake_pool.py): what the worker does with what a pool may send that it cannot use.

What is shown: a line over the 16 KiB Stratum line cap (a job too large) makes the worker
say so, naming the cap, and reconnect; a client.reconnect naming a port outside 1..65535
(99999 once became 34463) is not dialled: the worker returns to the pool it was on."""
import socket
import time
import unittest

from fake_pool import BLOCK_100000, FakePool
from stratum_harness import HANG_GUARD, finish_worker, worker


def authorized(pool):
    with pool.lock:
        return [c for c in pool.conns if c.authorized and not c.closed]


class WorkerAndPool(unittest.TestCase):
    def pool(self):
        p = FakePool("beef", en2_size=4, difficulty=1 / 8192)
        self.addCleanup(p.drop)
        return p

    def start_worker(self, pool, seconds=8):
        w = worker([pool.url()], "--backend", "scalar", "--threads", "1", "--intensity", "20", seconds=seconds)
        self.addCleanup(lambda: w.poll() is None and w.kill())
        pool.wait_for(lambda: authorized(pool), HANG_GUARD, "an authorized worker")
        return w

    def test_a_difficulty_sent_as_a_string_is_used(self):
        # Some pools send set_difficulty's number as a string: the worker mines at it (an
        # ignored one left it at difficulty 1, with no share in this time).
        p = FakePool("beef", en2_size=4, difficulty=1 / 65536)
        self.addCleanup(p.drop)
        p.difficulty_as_text = True
        w = self.start_worker(p)
        summary, err = finish_worker(self, w)
        self.assertGreater(len(p.valid_shares()), 0, err[-2000:])
        self.assertEqual(p.invalid_shares(), [], err[-2000:])

    def test_a_line_over_the_cap_is_reported_and_the_worker_reconnects(self):
        pool = self.pool()
        w = self.start_worker(pool)
        huge = "00" * 9000  # valid hex, but the line is over 16 KiB
        for c in authorized(pool):
            c.send({"id": None, "method": "mining.notify",
                    "params": ["big", BLOCK_100000["prevhash"], huge, BLOCK_100000["coinb2"], [],
                               BLOCK_100000["version"], BLOCK_100000["nbits"], "%08x" % int(time.time()), True]})
        pool.wait_for(lambda: pool.connects >= 2, HANG_GUARD, "a reconnect")
        summary, err = finish_worker(self, w)
        self.assertIn("sent a line longer than the 16384-byte Stratum line cap", err)
        self.assertGreaterEqual(summary["connects"], 2)

    def test_client_reconnect_to_an_impossible_port_returns_to_the_same_pool(self):
        # A trap on the port 99999 wraps to, if it is free here: nothing may connect to it.
        trap = socket.socket()
        try:
            trap.bind(("127.0.0.1", 99999 & 0xFFFF))
            trap.listen(4)
            trap.settimeout(0.01)
        except OSError:
            trap.close()
            trap = None
        pool = self.pool()
        w = self.start_worker(pool, seconds=10)
        for port in (99999, "99999", 0, -1):
            before = pool.connects
            for c in authorized(pool):
                c.send({"id": None, "method": "client.reconnect", "params": ["127.0.0.1", port, 0]})
            pool.wait_for(lambda: pool.connects > before and authorized(pool), HANG_GUARD,
                          "the worker back on the same pool after client.reconnect to port %r" % (port,))
        summary, err = finish_worker(self, w)
        self.assertEqual(summary["connects"], 5, err[-2000:])
        self.assertNotIn("34463", err)
        self.assertNotIn("cannot connect", err)
        if trap:
            with self.assertRaises(socket.timeout):
                trap.accept()
            trap.close()


if __name__ == "__main__":
    unittest.main()

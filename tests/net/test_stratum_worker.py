"""A hashforge worker against a Stratum pool written with the standard library alone
(fake_pool.py): what the worker does with what a pool may send that it cannot use.

What is shown: a line over the 16 KiB Stratum line cap (a job too large) makes the worker
say so, naming the cap, and reconnect; a client.reconnect naming a port outside 1..65535
(99999 once became 34463) is not dialled: the worker returns to the pool it was on; a
client.reconnect naming no place brings it back to the same pool, not to its first URL;
numbers sent as strings are used; a new extranonce holds from the next job (NiceHash's
extension); ckpool's "reject-reason" is logged and a stale one counted; mining.ping and
client.get_version are answered; and a pool that is not a hashforge coordinator is never
sent hashforge's own methods."""
import json
import socket
import time
import unittest

from fake_pool import BLOCK_100000, FakePool, coinb2_paying
from stratum_harness import HANG_GUARD, finish_worker, worker


def authorized(pool):
    with pool.lock:
        return [c for c in pool.conns if c.authorized and not c.closed]


class WorkerAndPool(unittest.TestCase):
    def pool(self, difficulty=1 / 8192, **settings):
        p = FakePool("beef", en2_size=4, difficulty=difficulty)
        self.addCleanup(p.drop)
        for name, value in settings.items():
            setattr(p, name, value)
        return p

    def start_worker(self, pool, seconds=8):
        w = worker([pool.url()], "--backend", "scalar", "--threads", "1", "--intensity", "20", seconds=seconds)
        self.addCleanup(lambda: w.poll() is None and w.kill())
        pool.wait_for(lambda: authorized(pool), HANG_GUARD, "an authorized worker")
        return w

    def mine_with_every_share_valid(self, pool):
        """Mines on pool for a few seconds; some shares, none invalid. Returns (summary, stderr)."""
        summary, err = finish_worker(self, self.start_worker(pool))
        self.assertGreater(len(pool.valid_shares()), 0, err[-2000:])
        self.assertEqual(pool.invalid_shares(), [], err[-2000:])
        return summary, err

    def test_a_difficulty_sent_as_a_string_is_used(self):
        # Some pools send set_difficulty's number as a string: the worker mines at it (an
        # ignored one left it at difficulty 1, with no share in this time).
        self.mine_with_every_share_valid(self.pool(1 / 65536, difficulty_as_text=True))

    def test_extranonce2_size_sent_as_a_string_is_used(self):
        # "4" instead of 4 in subscribe's reply: refused as a failed subscribe before, so the
        # worker reconnected forever and never mined.
        summary, err = self.mine_with_every_share_valid(self.pool(1 / 65536, en2_size_as_text=True))
        self.assertEqual(summary["connects"], 1, err[-2000:])

    def test_a_new_extranonce_holds_from_the_next_job(self):
        # Shares on the job in hand keep the old extranonce1 until the pool's next
        # mining.notify; the worker took the new one at once, so every share until then was
        # hashed with an extranonce1 the pool does not pair with that job.
        p = self.pool(1 / 65536)
        w = self.start_worker(p, seconds=12)
        p.wait_for(lambda: len(p.shares) >= 3, HANG_GUARD, "shares on the first extranonce")
        p.set_extranonce("cafe0001")
        at_change = len(p.shares)
        p.wait_for(lambda: len(p.shares) >= at_change + 5, HANG_GUARD, "shares after set_extranonce")
        new_job = p.new_job(clean=False)  # the old job stays valid: no share can be stale
        p.wait_for(lambda: any(s.get("job") == new_job for s in p.valid_shares()), HANG_GUARD,
                   "a share on the job sent after set_extranonce")
        summary, err = finish_worker(self, w)
        self.assertEqual(p.invalid_shares(), [], err[-2000:])
        on_new = [s for s in p.valid_shares() if s["job"] == new_job]
        self.assertTrue(on_new and all(s["en1"] == "cafe0001" for s in on_new), on_new[:3])
        self.assertIn("extranonce cafe0001 + 4 bytes from the next job", err)
        self.assertEqual(summary["connects"], 1, err[-2000:])

    def test_a_ckpool_reject_reason_is_logged_and_a_stale_one_counted(self):
        p = self.pool(1 / 65536)
        p.overrides.append(("reject-reason", "Stale"))
        w = self.start_worker(p)
        summary, err = finish_worker(self, w)
        self.assertIn("share rejected: Stale", err)
        self.assertEqual((summary["rejected"], summary["stale"]), (1, 1), err[-2000:])

    def test_pool_requests_are_answered_and_no_hashforge_method_is_sent(self):
        p = self.pool()
        w = self.start_worker(p)
        for c in authorized(p):
            c.send({"id": 901, "method": "mining.ping", "params": []})
            c.send({"id": 902, "method": "client.get_version", "params": []})
        p.wait_for(lambda: sum(len(c.replies) for c in p.conns) >= 2, HANG_GUARD, "answers to ping and get_version")
        summary, err = finish_worker(self, w)
        c = p.conns[0]
        answers = {r["id"]: r for r in c.replies}
        self.assertEqual(answers[901]["result"], "pong")
        self.assertIsNone(answers[901]["error"])
        self.assertTrue(answers[902]["result"].startswith("hashforge/"), answers[902])
        # The pool lists no hashforge.hello among its subscriptions: it is not a hashforge
        # coordinator, and is asked nothing it might take as an unknown method.
        self.assertEqual([m for m in c.methods if m.startswith("hashforge.")], [], c.methods)
        self.assertEqual(c.methods[:2], ["mining.subscribe", "mining.authorize"], c.methods)
        self.assertIn("mining.extranonce.subscribe", c.methods)

    def test_a_reconnect_naming_no_place_returns_to_the_same_pool(self):
        # The first URL refuses connections, so the worker mines on the second; a bare
        # client.reconnect from there brought it back through the first URL (one more refusal).
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_url = "stratum+tcp://127.0.0.1:%d" % dead.getsockname()[1]
        dead.close()
        p = self.pool()
        w = worker([dead_url, p.url()], "--backend", "scalar", "--threads", "1", "--intensity", "20", seconds=8)
        self.addCleanup(lambda: w.poll() is None and w.kill())
        p.wait_for(lambda: authorized(p), HANG_GUARD, "the worker on the second URL")
        for c in authorized(p):
            c.send({"id": None, "method": "client.reconnect", "params": []})
        p.wait_for(lambda: p.connects >= 2 and authorized(p), HANG_GUARD, "the worker back after client.reconnect")
        summary, err = finish_worker(self, w)
        self.assertEqual(summary["connects"], 2, err[-2000:])
        self.assertEqual(err.count(dead_url), 1, err[-2000:])

    def test_a_job_paying_hundreds_of_miners_in_its_coinbase_is_mined(self):
        # A coinbase part of about 20 KB (600 outputs), as a pool paying its miners in the
        # coinbase sends: the line is over 40 KB. The worker read lines of at most 16 KiB and
        # parts of at most 4096 bytes, so it dropped the connection and reconnected forever.
        pool = self.pool(1 / 65536, coinb2=coinb2_paying(600))
        pool.new_job(clean=True, announce=False)
        self.assertGreater(len(json.dumps(pool.current)), 40000)
        summary, err = self.mine_with_every_share_valid(pool)
        self.assertEqual(summary["connects"], 1, err[-2000:])
        self.assertTrue(all(s["job"] == pool.current[0] for s in pool.valid_shares()))

    def test_a_line_over_the_cap_is_reported_and_the_worker_reconnects(self):
        pool = self.pool()
        w = self.start_worker(pool)
        huge = "00" * 270000  # valid hex, but the line is over 512 KiB
        for c in authorized(pool):
            c.send({"id": None, "method": "mining.notify",
                    "params": ["big", BLOCK_100000["prevhash"], huge, BLOCK_100000["coinb2"], [],
                               BLOCK_100000["version"], BLOCK_100000["nbits"], "%08x" % int(time.time()), True]})
        pool.wait_for(lambda: pool.connects >= 2, HANG_GUARD, "a reconnect")
        summary, err = finish_worker(self, w)
        self.assertIn("sent a line longer than the 524288-byte Stratum line cap", err)
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

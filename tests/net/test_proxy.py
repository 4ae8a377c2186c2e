"""Proxy mode: the coordinator mines for an upstream Stratum pool. The pool
here is tests/net/fake_pool.py, written with the standard library alone, which checks
every share it receives with hashlib.

What is shown: workers get the pool's extranonce1 plus a prefix of their own and a shorter
extranonce2; only shares meeting the pool's difficulty go up, and the pool's answers
(acceptance or its exact error) come back to the worker; version rolling passes through;
real hashforge workers on two backends mine through the proxy and the pool receives exactly
the shares that met its difficulty, all valid; workers are refused while there is no pool
or when the pool's extranonce2 leaves fewer than 2 bytes; when the pool drops, a share in
flight gets an error, the coordinator fails over to the backup URL (workers follow with
mining.set_extranonce or client.reconnect), and with every pool down it retries with
backoff until one returns; the upstream link also works over TLS; a job whose coinbase pays
hundreds of miners (a line of over 40 KB) is forwarded whole and mined."""
import shutil
import tempfile
import time
import unittest

from fake_pool import FakePool, coinb2_paying
from stratum_harness import (HANG_GUARD, Client, Coordinator, cert_sha256, finish_worker, make_cert, target_of,
                             worker)
from test_mining_cluster import free_port, usable_backends

LOCAL = 1 / 65536  # the workers' difficulty
POOL = 1 / 8192    # the pool's: one local share in eight goes up


def wait_upstream(co, predicate, what, timeout=HANG_GUARD):
    deadline = time.time() + timeout
    up = None
    while time.time() < deadline:
        up = co.stats()["upstream"]
        if predicate(up):
            return up
        time.sleep(0.05)
    raise AssertionError("upstream never %s: %s\n%s" % (what, up, co.stderr()[-2000:]))


def connected(co, url=None):
    return wait_upstream(co, lambda u: u["connected"] and (url is None or u["url"] == url), "connected")


class Proxy(unittest.TestCase):
    def pool(self, *args, **kw):
        p = FakePool(*args, **kw)
        self.addCleanup(p.drop)
        return p

    def proxy(self, *urls, difficulty=LOCAL, extra=()):
        args = []
        for u in urls:
            args += ["--upstream", u]
        co = Coordinator(*args, "--upstream-user", "wallet.proxy", "--difficulty", repr(difficulty), "--no-vardiff",
                         *extra, header_job=False, http=True)
        self.addCleanup(co.stop)
        return co

    def client(self, co, extranonce_subscribe=True, roll=False):
        c = Client(co.port)
        self.addCleanup(c.close)
        if roll:
            r = c.call("mining.configure", [["version-rolling"], {"version-rolling.mask": "ffffffff"}])
            self.assertEqual(r["result"], {"version-rolling": True, "version-rolling.mask": "1fffe000"})
        if extranonce_subscribe:
            self.assertIs(c.call("mining.extranonce.subscribe", [])["result"], True)
        job = c.subscribe_authorize()
        return c, job

    def test_forwards_pool_difficulty_shares_and_relays_the_pools_answers(self):
        pool = self.pool("f00d", en2_size=6, difficulty=POOL)
        co = self.proxy(pool.url())
        up = connected(co)
        pool_en1 = up["extranonce1"]
        self.assertEqual(up["extranonce2_size"], 6)
        self.assertEqual(up["version_mask"], "1fffe000")
        c, job = self.client(co, roll=True)
        # extranonce1' = the pool's + 2 bytes of this worker's own; extranonce2' = 6 - 2.
        self.assertTrue(c.en1.startswith(pool_en1) and len(c.en1) == len(pool_en1) + 4, c.en1)
        self.assertEqual(c.en2_size, 4)
        self.assertEqual(c.difficulty, LOCAL)
        self.assertEqual(co.stats()["job"]["pool_job_id"], pool.current[0])
        en2 = "0000abcd"

        # Meets our difficulty but not the pool's: accepted here, never sent up.
        n = job.find_share(c.en1, en2, LOCAL, below=POOL)
        self.assertIs(c.submit(job, en2, job.ntime, n)["result"], True)
        # Meets the pool's: the answer the worker gets is the pool's.
        n1 = job.find_share(c.en1, en2, POOL)
        self.assertIs(c.submit(job, en2, job.ntime, n1)["result"], True)
        self.assertEqual(len(pool.shares), 1)
        sent = pool.shares[0]
        self.assertTrue(sent["ok"], sent)
        self.assertEqual(sent["params"][0], "wallet.proxy")
        self.assertEqual(sent["params"][1], pool.current[0])
        self.assertEqual(sent["en1"] + sent["en2"], c.en1 + en2)
        # The pool's refusal, code and message, reaches the worker unchanged.
        pool.overrides.append((23, "fake pool: share above target after retarget"))
        n2 = job.find_share(c.en1, en2, POOL, start=n1 + 1)
        r = c.submit(job, en2, job.ntime, n2)
        self.assertEqual(r["error"][:2], [23, "fake pool: share above target after retarget"])
        # ckpool's refusal (false, the reason beside the error) reaches the worker as an
        # error with that reason; a stale one with code 21.
        pool.overrides.append(("reject-reason", "Stale"))
        n4 = job.find_share(c.en1, en2, POOL, start=n2 + 1)
        self.assertEqual(c.submit(job, en2, job.ntime, n4)["error"][:2], [21, "Stale"])
        # A duplicate is caught here; the pool never sees it.
        self.assertEqual(c.submit(job, en2, job.ntime, n1)["error"][0], 22)
        # Version rolling passes through inside the mask both sides agreed.
        bits = 0x00006000
        version = (int(job.version, 16) & ~0x1FFFE000) | bits
        n3 = job.find_share(c.en1, en2, POOL, version=version)
        self.assertIs(c.submit(job, en2, job.ntime, n3, version_bits="%08x" % bits)["result"], True)
        self.assertEqual(pool.shares[-1]["params"][5], "%08x" % bits)

        self.assertEqual(pool.invalid_shares(), [])
        self.assertEqual(len(pool.shares), 4)
        s = co.stats()
        self.assertEqual((s["upstream"]["submitted"], s["upstream"]["accepted"], s["upstream"]["rejected"]), (4, 2, 2))
        w = [w for w in s["workers"] if w["connected"]][0]
        self.assertEqual((w["accepted"], w["forwarded"], w["pool_accepted"], w["pool_rejected"]), (5, 4, 2, 2))

        # A new pool job reaches the worker under a job id of the coordinator's.
        pool.difficulty = POOL * 2
        jid = pool.new_job(clean=True)
        m = c.wait_for("mining.notify")
        self.assertTrue(m["params"][8])
        self.assertEqual(co.stats()["job"]["pool_job_id"], jid)
        # The pool's new difficulty caps the worker's (ours is lower, so it stays).
        self.assertEqual(co.stats()["job"]["pool_difficulty"], POOL * 2)

    def test_worker_difficulty_is_capped_at_the_pools(self):
        pool = self.pool("c0de", difficulty=POOL)
        co = self.proxy(pool.url(), difficulty=4)
        connected(co)
        c, job = self.client(co)
        self.assertEqual(c.difficulty, POOL)
        n = job.find_share(c.en1, "00000001", POOL)
        self.assertIs(c.submit(job, "00000001", job.ntime, n)["result"], True)
        self.assertEqual(len(pool.valid_shares()), 1)

    def test_real_workers_on_two_backends_mine_through_the_proxy(self):
        pool_diff = 1 / 1024
        pool = self.pool("abba", en2_size=8, difficulty=pool_diff)
        co = self.proxy(pool.url(), difficulty=1 / 16384)
        connected(co)
        backends = [b for b in usable_backends() if not b.startswith("cuda")]
        chosen = [backends[0], backends[-1]]
        procs = [worker([co.url()], "--backend", b, "--threads", "1", "--user", "w%d" % i, seconds=10)
                 for i, b in enumerate(chosen)]
        results = [finish_worker(self, p)[0] for p in procs]
        pool.wait_for(lambda: co.stats()["upstream"]["waiting"] == 0, HANG_GUARD, "quiet link")
        self.assertEqual(pool.invalid_shares(), [])
        up = set(s["hash"] for s in pool.valid_shares())
        self.assertGreater(len(up), 0, "no share reached the pool")
        local = co.shares()
        self.assertEqual(len(local), sum(r["accepted"] for r in results))
        # Exactly the shares that met the pool's difficulty went up.
        meeting = set(int(s["hash"], 16) for s in local if int(s["hash"], 16) <= target_of(pool_diff))
        self.assertEqual(up, meeting)
        for b, r in zip(chosen, results):
            self.assertGreater(r["accepted"], 0, (b, r))
            self.assertEqual(r["rejected"], 0, (b, r))

    def test_workers_are_refused_without_a_usable_pool(self):
        port = free_port()
        co = self.proxy("stratum+tcp://127.0.0.1:%d" % port)
        # No pool yet: subscribe is answered with a clear error and the connection closes.
        c = Client(co.port)
        self.addCleanup(c.close)
        r = c.call("mining.subscribe", ["t/1"])
        self.assertEqual(r["error"][0], 20)
        self.assertIn("upstream pool is not connected", r["error"][1])
        self.assertTrue(c.closed_within(HANG_GUARD))
        # A pool whose extranonce2 leaves fewer than 2 bytes after our 2-byte prefix.
        small = self.pool("5a11", en2_size=3, port=port)
        wait_upstream(co, lambda u: "too small" in u["last_error"], "refused the small pool", timeout=60)
        c = Client(co.port)
        self.addCleanup(c.close)
        r = c.call("mining.subscribe", ["t/1"])
        self.assertEqual(r["error"][0], 20)
        self.assertTrue(co.alive())
        self.assertIn("extranonce2 is 3 bytes: too small", co.stderr())
        small.drop()

    def test_failover_to_the_backup_pool_and_back_with_backoff(self):
        primary = self.pool("aaaa", difficulty=POOL)
        backup = self.pool("bbbb", difficulty=POOL)
        co = self.proxy(primary.url(), backup.url())
        connected(co, primary.url())
        follower, job = self.client(co)              # asked for mining.set_extranonce
        old, old_job = self.client(co, extranonce_subscribe=False)  # must be told to reconnect
        prefix = follower.en1[-4:]
        en2 = "00000007"
        # A share in flight when the pool goes away gets an error, not silence.
        primary.silent = True
        n = job.find_share(follower.en1, en2, POOL)
        follower.send("mining.submit", ["tester", job.id, en2, job.ntime, "%08x" % n])
        primary.wait_for(lambda: len(primary.shares) == 1, HANG_GUARD, "the share in flight")
        primary.drop()
        reply = None
        while reply is None:
            m = follower.read_msg()
            self.assertIsNotNone(m, "connection closed")
            if m.get("id") == follower.next_id - 1:
                reply = m
            else:
                follower.notes.append(m)
        self.assertEqual(reply["error"][0], 20)
        self.assertIn("connection lost", reply["error"][1])
        # The backup takes over: same prefix behind the backup's extranonce1.
        connected(co, backup.url())
        m = follower.wait_for("mining.set_extranonce")
        self.assertTrue(m["params"][0].startswith("bbbb") and m["params"][0].endswith(prefix), m)
        self.assertEqual(m["params"][1], 4)
        job2 = [n for n in [follower.wait_for("mining.notify")]][0]["params"]
        self.assertTrue(job2[8], "the first job from the backup must be clean")
        new_job = follower.jobs[-1]
        en1 = m["params"][0]
        n2 = new_job.find_share(en1, en2, POOL)
        self.assertIs(follower.submit(new_job, en2, new_job.ntime, n2)["result"], True)
        self.assertEqual(len(backup.valid_shares()), 1)
        self.assertEqual(backup.valid_shares()[0]["en1"] + backup.valid_shares()[0]["en2"], en1 + en2)
        # A worker that cannot follow a new extranonce is asked to reconnect.
        old.wait_for("client.reconnect")
        self.assertTrue(old.closed_within(HANG_GUARD))
        # Every pool down: the coordinator keeps trying, with backoff, until one returns.
        backup.drop()
        wait_upstream(co, lambda u: not u["connected"], "disconnected")
        time.sleep(3)  # a few failed rounds
        self.assertIn("next try in", co.stderr())
        primary.start()  # the same port again
        connected(co, primary.url())
        m = follower.wait_for("mining.set_extranonce", timeout=HANG_GUARD)
        self.assertTrue(m["params"][0].startswith("aaaa"), m)
        self.assertEqual(primary.invalid_shares(), [])
        self.assertEqual(backup.invalid_shares(), [])
        self.assertTrue(co.alive())

    def test_upstream_over_tls(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        cert = make_cert(d)
        pool = self.pool("7777", difficulty=POOL, tls=cert)
        # The pool's certificate is checked: this self-signed one is pinned by its SHA-256.
        co = self.proxy(pool.url(), extra=("--tls-fingerprint", cert_sha256(cert[0])))
        self.assertTrue(connected(co)["url"].startswith("stratum+ssl://"))
        c, job = self.client(co)
        n = job.find_share(c.en1, "00000002", POOL)
        self.assertIs(c.submit(job, "00000002", job.ntime, n)["result"], True)
        self.assertEqual(len(pool.valid_shares()), 1)


    def test_a_pool_difficulty_below_the_workers_floor_is_clamped(self):
        # 5e-324 (the smallest double) makes no target a worker can use: workers are held at
        # --min-difficulty instead, and a hashforge worker mines on one connection.
        pool = self.pool("d1ff", difficulty=POOL)
        co = self.proxy(pool.url(), difficulty=4)
        connected(co)
        c, job = self.client(co)
        self.assertEqual(c.difficulty, POOL)
        for conn in list(pool.conns):
            conn.send({"id": None, "method": "mining.set_difficulty", "params": [-1]})  # ignored, and said
            conn.send({"id": None, "method": "mining.set_difficulty", "params": [5e-324]})
        pool.new_job(clean=True, announce=False)
        for conn in list(pool.conns):
            conn.send({"id": None, "method": "mining.notify", "params": pool.current})
        c.wait_for("mining.notify")
        self.assertEqual(c.difficulty, LOCAL)  # --min-difficulty's default, 1/65536
        self.assertIn("below --min-difficulty", co.stderr())
        self.assertIn("ignoring a mining.set_difficulty", co.stderr())
        w = worker([co.url()], "--backend", "scalar", "--threads", "1", "--user", "floor", seconds=4)
        summary, err = finish_worker(self, w)
        self.assertEqual(summary["connects"], 1, err[-2000:])

    def test_a_pool_job_paying_hundreds_of_miners_in_its_coinbase_is_forwarded_and_mined(self):
        # A coinbase part of about 20 KB (600 outputs): the pool's line is over 40 KB. The link
        # read at most 16 KiB a line and 4096 bytes a part, so such a pool's jobs never came
        # through. Forwarded whole; a share on it goes up and the pool finds it valid.
        pool = self.pool("b16b", difficulty=POOL)
        co = self.proxy(pool.url())
        connected(co)
        c, _ = self.client(co)
        pool.coinb2 = coinb2_paying(600)
        jid = pool.new_job(clean=True)
        m = c.wait_for("mining.notify")
        self.assertEqual(m["params"][3], pool.coinb2)
        self.assertEqual(co.stats()["job"]["pool_job_id"], jid)
        job = c.jobs[-1]
        n = job.find_share(c.en1, "00000001", POOL)
        self.assertIs(c.submit(job, "00000001", job.ntime, n)["result"], True)
        self.assertEqual(len(pool.valid_shares()), 1)
        self.assertEqual(pool.valid_shares()[0]["job"], jid)
        self.assertEqual(pool.invalid_shares(), [])


if __name__ == "__main__":
    unittest.main()

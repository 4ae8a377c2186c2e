"""Every Stratum V1 method the coordinator serves, each shown by its effect, against the
real binary on loopback. Shares are found and checked with hashlib only."""
import json
import os
import shutil
import signal
import time
import unittest

from stratum_harness import Client, Coordinator, Job, make_cert, target_of, hash_value

D0 = 1.0 / 65536  # the coordinator's floor: pure Python finds a share in ~65k hashes


class Methods(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "600", "--password", "pw",
                             http=True)

    @classmethod
    def tearDownClass(cls):
        cls.co.stop()

    def client(self):
        c = Client(self.co.port)
        self.addCleanup(c.close)
        return c

    def test_subscribe_gives_each_connection_its_own_extranonce1(self):
        seen = set()
        for _ in range(5):
            c = self.client()
            r = c.call("mining.subscribe", ["x/1"])
            self.assertIsNone(r["error"])
            subs, en1, size = r["result"]
            self.assertEqual(len(en1), 8)
            self.assertEqual(size, 4)
            # hashforge.hello tells a hashforge worker it may use the extension; other miners
            # read only the subscriptions they know.
            self.assertEqual([s[0] for s in subs], ["mining.set_difficulty", "mining.notify", "hashforge.hello"])
            seen.add(en1)
        self.assertEqual(len(seen), 5)

    def test_authorize_starts_work_and_checks_the_password(self):
        c = self.client()
        c.call("mining.subscribe", [])
        bad = c.call("mining.authorize", ["alice", "wrong"])
        self.assertEqual(bad["error"][0], 24)
        self.assertEqual(c.jobs, [])  # no work for an unauthorized connection
        ok = c.call("mining.authorize", ["alice", "pw"])
        self.assertIs(ok["result"], True)
        d = c.wait_for("mining.set_difficulty")
        self.assertAlmostEqual(d["params"][0], D0)
        n = c.wait_for("mining.notify")
        job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean = n["params"]
        with open(self.co.job_file) as f:
            spec = json.load(f)
        self.assertEqual((prevhash, coinb1, coinb2, branch, version, nbits, ntime),
                         (spec["prevhash"], spec["coinb1"], spec["coinb2"], spec["merkle_branch"], spec["version"],
                          spec["nbits"], spec["ntime"]))
        self.assertIs(clean, True)

    def test_submit_before_subscribe_and_before_authorize(self):
        c = self.client()
        r = c.call("mining.submit", ["alice", "1", "00000000", "4d1b2237", "00000000"])
        self.assertEqual(r["error"][0], 25)
        c.call("mining.subscribe", [])
        r = c.call("mining.submit", ["alice", "1", "00000000", "4d1b2237", "00000000"])
        self.assertEqual(r["error"][0], 24)

    def test_submit_accepts_a_valid_share_and_rejects_each_kind_of_bad_one(self):
        c = self.client()
        c.call("mining.subscribe", [])
        c.call("mining.authorize", ["bob", "pw"])
        c.wait_for("mining.notify")
        job = c.jobs[-1]
        en2 = "0000abcd"
        nonce = job.find_share(c.en1, en2, D0)
        self.assertIs(c.submit(job, en2, job.ntime, nonce, user="bob")["result"], True)
        # The coordinator logged it with the header hashlib rebuilds.
        rec = [s for s in self.co.shares() if s["extranonce1"] == c.en1][-1]
        header = job.header(c.en1, en2, job.ntime, nonce)
        self.assertEqual(rec["header"], header.hex())
        self.assertLessEqual(hash_value(header), target_of(D0))
        # Duplicates, in any hex case.
        self.assertEqual(c.submit(job, en2, job.ntime, nonce, user="bob")["error"][0], 22)
        self.assertEqual(c.submit(job, en2.upper(), job.ntime.upper(), ("%08X" % nonce), user="bob")["error"][0], 22)
        # Low difficulty: a nonce whose hash misses the target.
        low = next(n for n in range(nonce + 1, nonce + 100) if hash_value(job.header(c.en1, en2, job.ntime, n)) > target_of(D0))
        self.assertEqual(c.submit(job, en2, job.ntime, low, user="bob")["error"][0], 23)
        # Unknown job, wrong worker, bad extranonce2 length, bad hex, ntime out of range.
        bad_job = type(job)(["zz"] + [getattr(job, k) for k in ("prevhash", "coinb1", "coinb2", "branch", "version", "nbits", "ntime", "clean")])
        self.assertEqual(c.submit(bad_job, en2, job.ntime, nonce, user="bob")["error"][0], 21)
        self.assertEqual(c.submit(job, en2, job.ntime, nonce, user="mallory")["error"][0], 24)
        self.assertEqual(c.submit(job, "00ab", job.ntime, nonce, user="bob")["error"][0], 20)
        self.assertEqual(c.submit(job, "0000abzz", job.ntime, nonce, user="bob")["error"][0], 20)
        self.assertEqual(c.submit(job, en2, job.ntime, "xyz", user="bob")["error"][0], 20)
        early = "%08x" % (int(job.ntime, 16) - 1)
        self.assertEqual(c.submit(job, en2, early, nonce, user="bob")["error"][0], 20)
        late = "%08x" % (int(time.time()) + 7200 + 120)
        self.assertEqual(c.submit(job, en2, late, nonce, user="bob")["error"][0], 20)
        # ntime inside the window is fine when the share meets the target with it.
        rolled = "%08x" % (int(job.ntime, 16) + 600)
        n2 = job.find_share(c.en1, en2, D0, ntime=rolled)
        self.assertIs(c.submit(job, en2, rolled, n2, user="bob")["result"], True)
        # Wrong shapes.
        self.assertEqual(c.call("mining.submit", ["bob", job.id])["error"][0], 20)
        self.assertEqual(c.call("mining.submit", ["bob", job.id, 1, 2, 3])["error"][0], 20)

    def test_configure_version_rolling(self):
        c = self.client()
        r = c.call("mining.configure", [["version-rolling", "minimum-difficulty", "no-such-extension"],
                                        {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2,
                                         "minimum-difficulty.value": D0}])
        res = r["result"]
        self.assertIs(res["version-rolling"], True)
        self.assertEqual(res["version-rolling.mask"], "1fffe000")
        self.assertIs(res["no-such-extension"], False)
        job = c.subscribe_authorize("carol", "pw")
        en2 = "00000001"
        bits = 0x00002000  # inside the mask
        version = (int(job.version, 16) & ~0x1FFFE000) | bits
        nonce = job.find_share(c.en1, en2, D0, version=version)
        self.assertIs(c.submit(job, en2, job.ntime, nonce, user="carol", version_bits="%08x" % bits)["result"], True)
        self.assertEqual(c.submit(job, en2, job.ntime, nonce, user="carol", version_bits="00000001")["error"][0], 20)

    def test_suggest_difficulty_and_set_difficulty_from_the_next_job(self):
        c = self.client()
        job1 = c.subscribe_authorize("dave", "pw")
        self.assertIs(c.call("mining.suggest_difficulty", [D0 * 16])["result"], True)
        self.assertAlmostEqual(c.wait_for("mining.set_difficulty")["params"][0], D0 * 16)
        # Job 1 was sent at D0: a share meeting D0 but not 16 x D0 is still accepted on it.
        en2 = "00000002"
        n = job1.find_share(c.en1, en2, D0, below=D0 * 16)
        self.assertIs(c.submit(job1, en2, job1.ntime, n, user="dave")["result"], True)
        self.assertEqual(c.call("mining.suggest_difficulty", ["lots"])["error"][0], 20)

    def test_unknown_method_and_hashforge_hello(self):
        c = self.client()
        self.assertEqual(c.call("mining.get_transactions", [])["error"][0], 20)
        c.subscribe_authorize("erin", "pw")
        self.assertIs(c.call("hashforge.hello", [{"backend": "python", "devices": "cpu0", "rate": 1234.5}])["result"], True)
        w = [w for w in self.co.stats()["workers"] if w["name"] == "erin"][0]
        self.assertEqual(w["backend"], "python")
        self.assertEqual(w["reported_rate"], 1234.5)


class JobChanges(unittest.TestCase):
    """Job refreshes, set_difficulty taking effect with the next job, extranonce changes."""

    def test_set_difficulty_applies_from_the_next_job(self):
        # A refresh every 2 s: job 2 comes soon, and job 1 stays live (the last four jobs are)
        # for 6 s or more, far longer than the two shares below take to find.
        co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "2")
        self.addCleanup(co.stop)
        c = Client(co.port)
        self.addCleanup(c.close)
        job1 = c.subscribe_authorize()
        c.call("mining.suggest_difficulty", [D0 * 16])
        # The reply, set_difficulty and the current job re-sent under a new id go out together;
        # a refresh that came before the reply (still at D0) is dropped, not taken for job 2.
        c.notes = [m for m in c.notes if m.get("method") != "mining.notify"]
        c.wait_for("mining.set_difficulty")
        job2 = Job(c.wait_for("mining.notify")["params"])
        self.assertNotEqual(job1.id, job2.id)
        self.assertIn(".", job2.id)  # the re-sent job, not a refresh
        self.assertIs(job2.clean, False)  # same prevhash: the old job stays live
        en2 = "00000003"
        n = job2.find_share(c.en1, en2, D0, below=D0 * 16)
        self.assertEqual(c.submit(job2, en2, job2.ntime, n)["error"][0], 23)  # judged at 16 x D0
        n1 = job1.find_share(c.en1, en2, D0, below=D0 * 16)
        r = c.submit(job1, en2, job1.ntime, n1)
        # Judged at D0, the difficulty job 1 was sent at.
        self.assertIs(r["result"], True, r)

    def test_refreshes_of_a_fixed_job_never_repeat_its_work(self):
        # A miner that restarts its nonces on every mining.notify (as cpuminer-opt does)
        # must not be handed the same header work again: each refresh moves ntime on.
        co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "1")
        self.addCleanup(co.stop)
        c = Client(co.port)
        self.addCleanup(c.close)
        c.subscribe_authorize()
        # Refreshes a second apart: jobs[-2] stays live (the last four jobs are) for 3 s after
        # jobs[-1] came, far longer than finding its share below takes.
        for _ in range(4):
            c.wait_for("mining.notify")
        jobs = c.jobs
        with open(co.job_file) as f:
            spec = json.load(f)
        ntimes = [int(j.ntime, 16) for j in jobs]
        self.assertEqual(ntimes[0], int(spec["ntime"], 16))  # the file's, at the first issue
        self.assertEqual(ntimes, sorted(set(ntimes)), "every refresh has a later ntime")
        self.assertTrue(all(j.prevhash == jobs[0].prevhash and j.coinb1 == jobs[0].coinb1 for j in jobs))
        self.assertTrue(all(j.clean is False for j in jobs[1:]))
        # The same nonce and extranonce2 on two refreshes are two different shares.
        en2 = "00000009"
        n = jobs[-2].find_share(c.en1, en2, D0)
        self.assertIs(c.submit(jobs[-2], en2, jobs[-2].ntime, n)["result"], True)
        h_next = hash_value(jobs[-1].header(c.en1, en2, jobs[-1].ntime, n))
        self.assertNotEqual(h_next, hash_value(jobs[-2].header(c.en1, en2, jobs[-2].ntime, n)))

    def test_extranonce_change_reaches_subscribers_and_reconnects_the_rest(self):
        co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "0.5")
        self.addCleanup(co.stop)
        sub, plain = Client(co.port), Client(co.port)
        self.addCleanup(sub.close)
        self.addCleanup(plain.close)
        self.assertIs(sub.call("mining.extranonce.subscribe", [])["result"], True)
        sub.subscribe_authorize()
        plain.subscribe_authorize()
        with open(co.job_file) as f:
            spec = json.load(f)
        spec["extranonce2_size"] = 8
        tmp = co.job_file + ".new"
        with open(tmp, "w") as f:
            json.dump(spec, f)
        os.replace(tmp, co.job_file)
        st = os.stat(co.job_file)
        os.utime(co.job_file, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        m = sub.wait_for("mining.set_extranonce")
        self.assertEqual(m["params"], [sub.en1, 8])
        r = plain.wait_for("client.reconnect")
        self.assertEqual(r["params"], [])
        self.assertTrue(plain.closed_within(10))
        # The subscriber mines on with 8-byte extranonce2 values.
        sub.wait_for("mining.notify")
        job = sub.jobs[-1]
        n = job.find_share(sub.en1, "00" * 8, D0)
        self.assertIs(sub.submit(job, "00" * 8, job.ntime, n)["result"], True)
        self.assertEqual(sub.submit(job, "00" * 4, job.ntime, n)["error"][0], 20)

    def test_shutdown_sends_client_reconnect(self):
        co = Coordinator("--difficulty", str(D0), "--reconnect-to", "127.0.0.1:4444")
        c = Client(co.port)
        self.addCleanup(c.close)
        c.subscribe_authorize()
        co.proc.send_signal(signal.SIGTERM)
        m = c.wait_for("client.reconnect")
        self.assertEqual(m["params"], ["127.0.0.1", 4444, 0])
        self.assertTrue(c.closed_within(10))
        self.assertEqual(co.stop(), 0)


class Tls(unittest.TestCase):
    def test_stratum_over_tls(self):
        d = __import__("tempfile").mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        cert, key = make_cert(d)
        co = Coordinator("--difficulty", str(D0), "--no-vardiff", tls=(cert, key))
        self.addCleanup(co.stop)
        c = Client(co.tls_port, tls=True)
        self.addCleanup(c.close)
        job = c.subscribe_authorize()
        n = job.find_share(c.en1, "00000000", D0)
        self.assertIs(c.submit(job, "00000000", job.ntime, n)["result"], True)
        # Plain text on the TLS port is a failed handshake, not a crash.
        raw = Client(co.tls_port)
        raw.send_raw(b'{"id":1,"method":"mining.subscribe","params":[]}\n')
        self.assertTrue(raw.closed_within(10))
        raw.close()
        self.assertTrue(co.alive())


if __name__ == "__main__":
    unittest.main()

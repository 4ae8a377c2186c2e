"""Vardiff on the real coordinator: two hashforge workers throttled to rates r and 10r
(--intensity 10 and 100 on one scalar thread) start at the same low difficulty; each is
steered to the target share rate and settles within 2x of it. A new worker with default
settings is not left at the start difficulty: the rate it reports in hashforge.hello (or a
mining.suggest_difficulty) sets its difficulty at once, with the current job re-sent so it
applies now, and a silent worker is stepped down after three share intervals."""
import time
import unittest

from stratum_harness import Client, Coordinator, worker

D0 = 1.0 / 65536

TARGET = 1.0  # shares per second (--share-interval 1)


class Vardiff(unittest.TestCase):
    def test_r_and_10r_settle_within_2x(self):
        co = Coordinator("--difficulty", "0.00002", "--min-difficulty", "0.0000001", "--share-interval", "1",
                         "--job-interval", "1", http=True)
        common = ["--backend", "scalar", "--threads", "1"]
        slow = worker([co.url()], *common, "--intensity", "10", "--user", "slow", seconds=300)
        fast = worker([co.url()], *common, "--intensity", "100", "--user", "fast", seconds=300)

        def snapshot():
            return time.time(), {w["name"]: w for w in co.stats()["workers"] if w["connected"]}

        def settled(a, b):
            rates = {n: (b[1][n]["accepted"] - a[1][n]["accepted"]) / (b[0] - a[0]) for n in ("slow", "fast")}
            return all(TARGET / 2 <= r <= TARGET * 2 for r in rates.values()), rates
        # Both start about 3x and 30x too fast. Vardiff retargets after 12 shares or 40 s, so
        # settling takes a few windows, longer on a loaded or sanitized build: the test looks
        # at 30 s windows after a warm-up and passes once one shows both within 2x.
        time.sleep(20)
        prev, seen = snapshot(), []
        ok = False
        for _ in range(5):
            time.sleep(30)
            cur = snapshot()
            ok, rates = settled(prev, cur)
            seen.append((rates, {n: cur[1][n]["difficulty"] for n in ("slow", "fast")},
                         {n: cur[1][n]["hashrate"]["1m"] for n in ("slow", "fast")}))
            prev = cur
            if ok:
                break
        diffs, hashrates = seen[-1][1], seen[-1][2]
        slow.kill()
        fast.kill()
        slow.communicate()
        fast.communicate()
        co.stop()
        print("\n  windows (share rates, difficulties): %s" % seen)
        self.assertTrue(ok, "no 30 s window with both workers within 2x of %s share/s: %s" % (TARGET, seen))
        # Vardiff moved them apart by about the ratio of their measured hash rates (not of
        # their intensities: on a loaded machine the two share its cores unevenly). With both
        # share rates within 2x of the target, the two ratios agree within 4x.
        self.assertGreater(diffs["fast"], diffs["slow"])
        self.assertGreater(diffs["fast"], 0.00002 * 4)
        self.assertGreater(hashrates["slow"], 0, hashrates)
        rate_ratio = hashrates["fast"] / hashrates["slow"]
        self.assertTrue(0.25 <= (diffs["fast"] / diffs["slow"]) / rate_ratio <= 4, (diffs, hashrates))



class NewWorker(unittest.TestCase):
    """A coordinator with default settings: start difficulty 1, a share every 4 s wanted."""

    def coordinator(self, *args):
        co = Coordinator(*args, http=True)
        self.addCleanup(co.stop)
        return co

    def client(self, co):
        c = Client(co.port)
        self.addCleanup(c.close)
        job = c.subscribe_authorize("new")
        self.assertEqual(c.difficulty, 1)
        return c, job

    def test_hello_rate_sets_the_difficulty_at_once(self):
        co = self.coordinator()
        c, job = self.client(co)
        t = time.time()
        self.assertIs(c.call("hashforge.hello", [{"backend": "python", "rate": 73e6}])["result"], True)
        # A share every 4 s at 73 MH/s: 73e6 * 4 / 2^32.
        d = c.wait_for("mining.set_difficulty", timeout=2)["params"][0]
        self.assertAlmostEqual(d, 73e6 * 4 / 2**32, delta=1e-9)
        # The current job again, under a new id and not clean, so the difficulty applies now
        # rather than at the next refresh 30 s away.
        again = c.wait_for("mining.notify", timeout=2)["params"]
        self.assertLess(time.time() - t, 2)
        self.assertNotEqual(again[0], job.id)
        self.assertEqual(again[1:8], [job.prevhash, job.coinb1, job.coinb2, job.branch, job.version, job.nbits,
                                      job.ntime])
        self.assertIs(again[8], False)
        w = next(x for x in co.stats()["workers"] if x["name"] == "new")
        self.assertEqual(w["reported_rate"], 73e6)
        self.assertAlmostEqual(w["difficulty"], d)
        # Later reports are statistics only: vardiff steers from here.
        self.assertIs(c.call("hashforge.hello", [{"rate": 1e9}])["result"], True)
        with self.assertRaises((AssertionError, TimeoutError)):  # nothing comes
            c.wait_for("mining.set_difficulty", timeout=1)

    def test_suggested_difficulty_applies_with_the_job_sent_again(self):
        co = self.coordinator()
        c, job1 = self.client(co)
        self.assertIs(c.call("mining.suggest_difficulty", [D0])["result"], True)
        self.assertEqual(c.wait_for("mining.set_difficulty", timeout=2)["params"][0], D0)
        c.wait_for("mining.notify", timeout=2)
        job2 = c.jobs[-1]
        self.assertNotEqual(job2.id, job1.id)
        # The job as re-sent is judged at D0; the one sent before, at difficulty 1.
        n = job2.find_share(c.en1, "00000001", D0)
        self.assertIs(c.submit(job2, "00000001", job2.ntime, n, user="new")["result"], True)
        n = job1.find_share(c.en1, "00000002", D0)
        self.assertEqual(c.submit(job1, "00000002", job1.ntime, n, user="new")["error"][0], 23)
        # The same header under either id is one share.
        n = job2.find_share(c.en1, "00000001", D0)
        self.assertEqual(c.submit(job1, "00000001", job1.ntime, n, user="new")["error"][0], 22)
        w = next(x for x in co.stats()["workers"] if x["name"] == "new")
        self.assertEqual((w["accepted"], w["difficulty"]), (1, D0))

    def test_silent_worker_steps_down_within_a_few_share_intervals(self):
        co = self.coordinator()
        c, _ = self.client(co)
        t0 = time.time()
        steps = []
        for _ in range(2):
            m = c.wait_for("mining.set_difficulty", timeout=20)
            steps.append((time.time() - t0, m["params"][0]))
            c.wait_for("mining.notify", timeout=2)  # applies at once
        print("\n  steps (seconds after authorize, difficulty): %s" % steps)
        # No share in 3 x 4 s: scaled by 4 / 12; then again after 12 s more.
        # Each step scales by 4 s over the silence it saw, which ends on a 1 s tick that a loaded
        # (sanitizer) machine may run late: check the scale against the silence measured here.
        self.assertTrue(11 <= steps[0][0] <= 15, steps)
        self.assertAlmostEqual(steps[0][1] * steps[0][0], 4, delta=0.4)
        self.assertTrue(23 <= steps[1][0] <= 30, steps)
        self.assertAlmostEqual(steps[1][1] / steps[0][1] * (steps[1][0] - steps[0][0]), 4, delta=0.4)

    def test_hashforge_worker_finds_shares_within_seconds(self):
        co = self.coordinator()
        w = worker([co.url()], "--backend", "scalar", "--threads", "1", "--intensity", "50", "--user", "forge",
                   seconds=40)
        self.addCleanup(w.kill)
        t0 = time.time()
        seen = None
        while time.time() - t0 < 30:
            workers = [x for x in co.stats()["workers"] if x["name"] == "forge"]
            if workers and workers[0]["accepted"] >= 1 and seen is None:
                seen = (time.time() - t0, workers[0])
            if seen and time.time() - t0 > 8:
                break
            time.sleep(0.25)
        w.kill()
        w.communicate()
        self.assertIsNotNone(seen, "no share within 30 s: %s" % co.stats()["workers"])
        first, rec = seen
        rec = next(x for x in co.stats()["workers"] if x["name"] == "forge")
        print("\n  first share after %.1f s; reported %.3g H/s, difficulty %.3g, share-based 1 min %.3g H/s" %
              (first, rec["reported_rate"], rec["difficulty"], rec["hashrate"]["1m"]))
        self.assertGreater(rec["reported_rate"], 0)
        self.assertGreater(rec["hashrate"]["1m"], 0)
        # The difficulty came from the reported rate (a share every 4 s, within vardiff's
        # later steps).
        want = rec["reported_rate"] * 4 / 2**32
        self.assertTrue(want / 4 <= rec["difficulty"] <= want * 4, (want, rec))


if __name__ == "__main__":
    unittest.main()

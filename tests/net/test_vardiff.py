"""Vardiff on the real coordinator: two hashforge workers throttled to rates r and 10r
(--intensity 10 and 100 on one scalar thread) start at the same low difficulty; each is
steered to the target share rate and settles within 2x of it."""
import time
import unittest

from stratum_harness import Coordinator, finish_worker, worker

TARGET = 1.0  # shares per second (--share-interval 1)


class Vardiff(unittest.TestCase):
    def test_r_and_10r_settle_within_2x(self):
        co = Coordinator("--difficulty", "0.00002", "--share-interval", "1", "--job-interval", "1", http=True)
        common = ["--backend", "scalar", "--threads", "1"]
        slow = worker([co.url()], *common, "--intensity", "10", "--user", "slow", seconds=100)
        fast = worker([co.url()], *common, "--intensity", "100", "--user", "fast", seconds=100)

        def snapshot():
            return {w["name"]: w for w in co.stats()["workers"] if w["connected"]}
        time.sleep(35)  # settle
        t1, s1 = time.time(), snapshot()
        time.sleep(40)
        t2, s2 = time.time(), snapshot()
        finish_worker(self, slow)
        finish_worker(self, fast)
        co.stop()
        rates = {n: (s2[n]["accepted"] - s1[n]["accepted"]) / (t2 - t1) for n in ("slow", "fast")}
        diffs = {n: s2[n]["difficulty"] for n in ("slow", "fast")}
        print("\n  share rates %s, difficulties %s" % (rates, diffs))
        for n, r in rates.items():
            self.assertGreaterEqual(r, TARGET / 2, "%s settled too slow: %s" % (n, rates))
            self.assertLessEqual(r, TARGET * 2, "%s settled too fast: %s" % (n, rates))
        # Vardiff moved them apart by about the ratio of their rates.
        self.assertGreater(diffs["fast"], 0.00002 * 4)
        self.assertTrue(3 <= diffs["fast"] / diffs["slow"] <= 60, diffs)


if __name__ == "__main__":
    unittest.main()

"""The hash rate a worker reports follows the work it really does. A hashforge worker at
--intensity 30 mines while other processes load the CPU for 10 s and then stop; afterwards
the rate on its status lines must match its effective rate (nonces per wall-clock second,
rests included) as the coordinator sees it in accepted shares at a fixed low difficulty,
averaged the same way (a decaying average with the worker's 10 s time constant), and must
keep moving rather than stay at the figure measured under load."""
import math
import re
import subprocess
import sys
import threading
import time
import unittest

from stratum_harness import HANG_GUARD as HANG, SANITIZED, Coordinator, worker

D = 1 / 65536  # about 15 shares/s at 1 MH/s: enough shares for a +-10% reference
UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
STATUS = re.compile(r"^worker: ([0-9.]+) ([kMGT]?)H/s")
TAU = 10  # the worker's time constant (Miner::kRateTau)


class WorkerRate(unittest.TestCase):
    def test_reported_rate_tracks_effective_rate_after_cpu_load(self):
        co = Coordinator("--difficulty", repr(D), "--no-vardiff", "--job-interval", "600", http=True)
        self.addCleanup(co.stop)
        w = worker([co.url()], "--backend", "scalar", "--threads", "1", "--intensity", "30", "--user", "r",
                   seconds=56)
        lines = []  # (time, rate) from the status lines

        def read():
            for line in w.stderr:
                m = STATUS.match(line)
                if m:
                    lines.append((time.time(), float(m.group(1)) * UNITS[m.group(2)]))
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        counts = []  # (time, accepted shares) as the coordinator counts them
        done = threading.Event()

        def poll():
            while not done.is_set():
                try:
                    n = next((x["accepted"] for x in co.stats()["workers"] if x["name"] == "r"), 0)
                except OSError:
                    continue
                counts.append((time.time(), n))
                done.wait(0.2)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.time()
        time.sleep(2)
        # Other CPU load beside the worker for 10 s: more busy processes than cores.
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]
        try:
            time.sleep(10)
        finally:
            for h in hogs:
                h.kill()
                h.wait()
        # The estimate has a time constant of 10 s: leave it 18 s to forget the load, then
        # compare over 22 s.
        time.sleep(max(0, t0 + 30 - time.time()))

        ta = time.time()
        time.sleep(22)
        tb = time.time()
        w.wait(timeout=60)
        done.set()
        poller.join(timeout=HANG)
        reader.join(timeout=HANG)

        def shares_rate(t):
            """The shares' work before t as a decaying average like the worker's."""
            s, prev = 0.0, 0
            for when, n in counts:
                if when > t:
                    break
                s += (n - prev) * math.exp(-(t - when) / TAU)
                prev = n
            return s * D * 2**32 / TAU
        pairs = [(r, shares_rate(t)) for t, r in lines if ta <= t <= tb]
        self.assertGreaterEqual(len(pairs), 10, lines)
        shown = [r for r, _ in pairs]
        mean, ref = sum(shown) / len(shown), sum(x for _, x in pairs) / len(pairs)
        shares = next(n for when, n in reversed(counts) if when <= tb) - next(n for when, n in counts if when >= ta)
        print("\n  from shares %.3g H/s (%d shares in the window), status lines %.3g H/s, %d of %d distinct" %
              (ref, shares, mean, len(set(shown)), len(shown)))
        # Shares are a Poisson count (about +-10% here); the machine's own load moves the
        # rate too, so the bound is loose, but a figure stuck at the loaded rate is outside it.
        tol = 0.5 if SANITIZED else 0.25
        self.assertLess(abs(mean - ref), tol * ref, pairs)
        # A live estimate moves from line to line; a frozen one repeats the same figure. (Lines
        # show three significant digits, so a steady estimate may repeat now and then.)
        self.assertGreaterEqual(len(set(shown)), max(3, len(shown) // 4), shown)
        self.assertGreater(shares, 40, "too few shares for a reference")


if __name__ == "__main__":
    unittest.main()

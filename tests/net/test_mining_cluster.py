"""hashforge workers mining for a hashforge coordinator over loopback: three workers on
different backends, every accepted share re-checked with hashlib from the job file alone;
failover between URLs; a coordinator restart mid-job; a worker over TLS."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from stratum_harness import (BIN, HANG_GUARD, Coordinator, Job, finish_worker, hash_value, make_cert, target_of,
                             worker)


def job_from_file(path, job_id="?"):
    with open(path) as f:
        j = json.load(f)
    return Job([job_id, j["prevhash"], j["coinb1"], j["coinb2"], j["merkle_branch"], j["version"], j["nbits"],
                j["ntime"], True])


def usable_backends():
    out = subprocess.run([BIN, "backends", "--json"], capture_output=True, text=True, check=True).stdout
    return [b["name"] for b in json.loads(out)["backends"] if b["usable"]]


# A port outside the kernel's ephemeral range, as the node tests pick theirs: a coordinator
# restarted on its port must not find it taken meanwhile by some connection's local port.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node"))
from node_harness import free_port  # noqa: E402,F401


class Cluster(unittest.TestCase):
    def check_share_log(self, co):
        """Every accepted share rebuilds with hashlib from the job file and meets the
        difficulty it was judged at."""
        job = job_from_file(co.job_file)
        # Every caller had shares accepted; the log may trail the replies by a moment.
        deadline = time.time() + 10
        while not co.shares() and time.time() < deadline:
            time.sleep(0.1)
        shares = co.shares()
        self.assertTrue(shares, "the coordinator's share log is empty")
        for s in shares:
            version = int(job.version, 16)
            if s["version_bits"]:
                version = (version & ~0x1FFFE000) | int(s["version_bits"], 16)
            header = job.header(s["extranonce1"], s["extranonce2"], s["ntime"], int(s["nonce"], 16), version)
            self.assertEqual(header.hex(), s["header"])
            self.assertLessEqual(hash_value(header), target_of(s["required"]), s)
            self.assertEqual(bytes.fromhex(s["hash"])[::-1], __import__("hashlib").sha256(
                __import__("hashlib").sha256(header).digest()).digest())
        return shares

    def test_three_workers_on_different_backends(self):
        backends = [b for b in usable_backends() if not b.startswith("cuda")]
        # Three different backends where there are three; the scalar one is always there.
        chosen = (backends + backends)[:3] if len(backends) < 3 else [backends[0], backends[1], backends[-1]]
        co = Coordinator("--difficulty", "0.0001", "--share-interval", "0.5", "--job-interval", "2", http=True)
        self.addCleanup(co.stop)
        procs = [worker([co.url()], "--backend", b, "--threads", "1", "--user", "w%d-%s" % (i, b), seconds=10)
                 for i, b in enumerate(chosen)]
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline:  # the dashboard's numbers while they mine
            stats = co.stats()
            # Connected, and each has reported its backend (hashforge.hello comes after
            # authorize; an OpenCL worker builds its kernels first, slowly under ASan).
            if sum(1 for w in stats["workers"] if w["connected"] and w["backend"]) == 3:
                break
            time.sleep(0.2)
        self.assertEqual(stats["workers_connected"], 3)
        self.assertEqual(sorted(w["backend"] for w in stats["workers"] if w["connected"]), sorted(chosen))
        results = [finish_worker(self, p)[0] for p in procs]
        for b, r in zip(chosen, results):
            self.assertGreater(r["accepted"], 0, (b, r))
            self.assertEqual(r["rejected"] - r["stale"], 0, (b, r))
            self.assertGreater(r["hashes"], 0)
        time.sleep(0.5)
        stats = co.stats()
        shares = self.check_share_log(co)
        self.assertEqual(len(shares), sum(r["accepted"] for r in results))
        self.assertEqual(stats["accepted"], len(shares))
        for w in stats["workers"]:
            mine = [s for s in shares if s["worker"] == w["name"]]
            self.assertEqual(w["accepted"], len(mine))
            self.assertGreater(w["hashrate"]["5m"], 0)
        best = max(shares, key=lambda s: s["difficulty"])
        self.assertEqual(stats["best"]["hash"], best["hash"])

    def test_failover_to_the_second_url(self):
        co = Coordinator("--difficulty", "0.0005", "--no-vardiff")
        self.addCleanup(co.stop)
        dead = "stratum+tcp://127.0.0.1:%d" % free_port()
        r, err = finish_worker(self, worker([dead, co.url()], "--threads", "1", seconds=6))
        self.assertGreater(r["accepted"], 0, err)
        self.assertIn("connected to " + co.url(), err)
        self.check_share_log(co)

    def test_worker_reconnects_after_a_coordinator_restart(self):
        port = free_port()
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        job = os.path.join(d, "job.json")
        shutil.copy(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "jobs", "block100000.json"), job)
        args = ("--listen", "127.0.0.1:%d" % port, "--difficulty", "0.0005", "--no-vardiff")
        co = Coordinator(*args, job_file=job)
        w = worker(["stratum+tcp://127.0.0.1:%d" % port], "--threads", "1", seconds=14)
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline and not co.shares():
            time.sleep(0.2)
        self.assertTrue(co.shares(), "no share before the restart")
        co.proc.send_signal(signal.SIGKILL)  # a crash, not a clean stop
        co.stop(signal.SIGKILL)
        time.sleep(1)
        co2 = Coordinator(*args, job_file=job)
        self.addCleanup(co2.stop)
        r, err = finish_worker(self, w)
        self.assertGreaterEqual(r["connects"], 2, err)
        self.assertTrue(co2.shares(), "no share after the restart: " + err[-1500:])
        self.check_share_log(co2)

    def test_worker_over_tls(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        cert, key = make_cert(d)
        co = Coordinator("--difficulty", "0.0005", "--no-vardiff", tls=(cert, key))
        self.addCleanup(co.stop)
        # The pool's certificate is checked: this self-signed one is trusted as its own CA.
        r, err = finish_worker(self, worker(["stratum+ssl://127.0.0.1:%d" % co.tls_port], "--threads", "1",
                                            "--tls-ca", cert, seconds=5))
        self.assertGreater(r["accepted"], 0, err)
        self.check_share_log(co)


if __name__ == "__main__":
    unittest.main()

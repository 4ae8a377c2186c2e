"""Coordinator and workers on separate hosts, as far as one machine allows: each runs in its
own network namespace, joined by veth pairs the test makes (ip netns + veth), so workers
reach the coordinator over a real link with its own addresses, not over loopback.

Two workers on different backends mine a header job and the file task at once;
every accepted share is rebuilt with hashlib, the coordinator saw each worker at its own
namespace's address, and the file task's result is the true best over the whole budget.

Needs root (CAP_NET_ADMIN) and iproute2; otherwise the test is skipped with the reason."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from stratum_harness import HANG_GUARD, Coordinator, finish_worker, worker
from test_file_task import BLOCK, NONCES, merged, true_best
import test_mining_cluster  # (as a module: importing its TestCase would run its tests here too)
from test_mining_cluster import usable_backends

IP = shutil.which("ip") or "/usr/sbin/ip"


def ip(*args):
    r = subprocess.run([IP] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise OSError("ip %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))


def netns_unavailable():
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: ip netns and veth need CAP_NET_ADMIN (run the suite as root to include this test)"
    if not os.path.exists(IP):
        return "iproute2's ip command is not installed"
    probe = "hfprobe%d" % os.getpid()
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except OSError as e:
        return "cannot make a network namespace here: %s" % e
    return None


WHY_NOT = netns_unavailable()


@unittest.skipIf(WHY_NOT, WHY_NOT)
class MultiHost(unittest.TestCase):
    def setUp(self):
        tag = str(os.getpid() % 100000)
        self.coord_ns = "hf%sc" % tag
        self.worker_ns = ["hf%sw%d" % (tag, i) for i in (1, 2)]
        self.addrs = {}
        ip("netns", "add", self.coord_ns)
        self.addCleanup(ip, "netns", "del", self.coord_ns)
        ip("-n", self.coord_ns, "link", "set", "lo", "up")
        # One veth pair and one /24 per worker: 10.231.k.1 on the coordinator's side, .2 on the worker's.
        for k, ns in enumerate(self.worker_ns, start=1):
            ip("netns", "add", ns)
            self.addCleanup(ip, "netns", "del", ns)
            a, b = "hf%sa%d" % (tag, k), "hf%sb%d" % (tag, k)
            ip("link", "add", a, "type", "veth", "peer", "name", b)
            ip("link", "set", a, "netns", self.coord_ns)
            ip("link", "set", b, "netns", ns)
            ip("-n", self.coord_ns, "addr", "add", "10.231.%d.1/24" % k, "dev", a)
            ip("-n", ns, "addr", "add", "10.231.%d.2/24" % k, "dev", b)
            ip("-n", self.coord_ns, "link", "set", a, "up")
            ip("-n", ns, "link", "set", b, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            self.addrs[ns] = ("10.231.%d.1" % k, "10.231.%d.2" % k)

    def test_coordinator_and_workers_in_separate_namespaces(self):
        d = tempfile.mkdtemp(prefix="hf-multihost-")
        self.addCleanup(shutil.rmtree, d)
        block = os.path.join(d, "block.txt")
        with open(block, "wb") as f:
            f.write(BLOCK)
        co = Coordinator("--difficulty", "0.0001", "--no-vardiff", "--file-task", block, "--file-seconds", "0",
                         "--file-nonces", str(NONCES), "--range-seconds", "0.2", listen="0.0.0.0:0", directory=d,
                         prefix=[IP, "netns", "exec", self.coord_ns])
        self.addCleanup(co.stop)
        # The coordinator is not reachable from here: only over the veth links.
        backends = [b for b in usable_backends() if not b.startswith(("cuda", "opencl"))]
        chosen = [backends[0], backends[1 % len(backends)]]
        procs = []
        for ns, b in zip(self.worker_ns, chosen):
            url = "stratum+tcp://%s:%d" % (self.addrs[ns][0], co.port)
            procs.append(worker([url], "--backend", b, "--threads", "1", "--user", ns, seconds=300,
                                prefix=[IP, "netns", "exec", ns]))
        # Until the file task is done and each worker has had a share accepted (not a fixed
        # time: a loaded machine is slower, never wrong).
        record = block + ".result.json"
        deadline = time.time() + HANG_GUARD * 8
        while time.time() < deadline and not (
                os.path.exists(record) and {s["worker"] for s in co.shares()} >= set(self.worker_ns)):
            time.sleep(0.2)
        for p in procs:
            p.send_signal(signal.SIGTERM)  # the worker prints its summary and exits 0
        results = [finish_worker(self, p)[0] for p in procs]
        self.assertTrue(os.path.exists(record), "the file task did not finish: " + co.stderr()[-2000:])
        for ns, r in zip(self.worker_ns, results):
            self.assertGreater(r["accepted"], 0, (ns, r))
            self.assertEqual(r["rejected"] - r["stale"], 0, (ns, r))
        log = co.stderr()
        for ns in self.worker_ns:  # each worker came from its own namespace's address
            self.assertIn("%s:" % self.addrs[ns][1], log)
            self.assertIn("authorized as %s" % ns, log)
        shares = test_mining_cluster.Cluster.check_share_log(self, co)
        self.assertEqual(len(shares), sum(r["accepted"] for r in results))
        self.assertEqual({s["worker"] for s in shares}, set(self.worker_ns))
        with open(record) as f:
            rnd = json.load(f)["rounds"][0]
        self.assertEqual(merged([r for w in rnd["workers"] for r in w["ranges"]]), [[0, NONCES]])
        nonce, digest = true_best(BLOCK)
        self.assertEqual(rnd["best"]["nonce"].encode(), nonce)
        self.assertEqual(rnd["best"]["hash"], digest)


if __name__ == "__main__":
    unittest.main()

"""The file task mined by hashforge workers for a hashforge coordinator over the
hashforge.file.* Stratum extension. The nonce budget is kept small enough that hashlib can
search it all again, so the result is checked against the true best of the whole space:
- three workers on different backends, two rounds: every nonce searched exactly once;
- a worker killed mid-task: its range goes to the others, the result is still the best;
- the coordinator killed mid-task and restarted: it resumes from its saved state;
- a hand-written client: the transfer arrives whole in lines under 16 KiB, and results that
  lie about ranges or nonces are refused."""
import hashlib
import json
import os
import signal
import tempfile
import time
import unittest

from stratum_harness import HANG_GUARD, Client, Coordinator, worker
from test_mining_cluster import free_port, usable_backends

BLOCK = b"Block 7 of the class ledger\nalice -> bob: 5\n"
NONCES = 1 << 21


def true_best(data, identifier="G06", count=NONCES):
    """The lowest SHA-256 over nonces 0..count-1, searched with hashlib alone."""
    base = hashlib.sha256(data)
    tail = (" " + identifier).encode()
    best = None
    for n in range(count):
        h = base.copy()
        h.update(b"%08x" % n + tail)
        d = h.digest()
        if best is None or d < best[1]:
            best = (n, d)
    return b"%08x" % best[0], best[1].hex()


def stop(*procs):
    for p in procs:
        p.kill()
        p.communicate()


def merged(ranges):
    """Sorted ranges; asserts none overlap. Returns the merged [first, count] list."""
    out = []
    for first, count in sorted(ranges):
        if out and first < out[-1][0] + out[-1][1]:
            raise AssertionError("ranges overlap at %d" % first)
        if out and first == out[-1][0] + out[-1][1]:
            out[-1][1] += count
        else:
            out.append([first, count])
    return out


class FileTask(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hf-filetask-")
        self.block = os.path.join(self.dir, "block.txt")
        with open(self.block, "wb") as f:
            f.write(BLOCK)

    def coordinator(self, *args, **kw):
        return Coordinator("--file-task", self.block, "--file-seconds", "0", "--file-nonces", str(NONCES),
                           "--range-seconds", "0.05", *args, header_job=False, directory=self.dir, **kw)

    def check_round(self, record_round, data):
        """Every nonce searched once, by the workers the record names; the best is the true one."""
        self.assertEqual(record_round["done"], [[0, NONCES]])
        self.assertEqual(merged([r for w in record_round["workers"] for r in w["ranges"]]), [[0, NONCES]])
        nonce, digest = true_best(data)
        self.assertEqual(record_round["best"]["nonce"].encode(), nonce)
        self.assertEqual(record_round["best"]["hash"], digest)
        return nonce

    def login(self, c, user):
        # No header job here, so no mining.notify follows: subscribe and authorize by hand.
        self.assertIsNone(c.call("mining.subscribe", ["hand-written/1.0"])["error"])
        self.assertIs(c.call("mining.authorize", [user, "x"])["result"], True)

    def record(self):
        with open(self.block + ".result.json") as f:
            return json.load(f)

    def test_three_backends_two_rounds(self):
        backends = [b for b in usable_backends() if not b.startswith("opencl")][:3]
        co = self.coordinator("--file-rounds", "2")
        ws = [worker([co.url()], "--backend", b, "--threads", "1", "--user", "w-" + b, seconds=120) for b in backends]
        co.wait_exit(HANG_GUARD * 4)
        stop(*ws)
        rec = self.record()
        self.assertTrue(rec["finished"])
        n1 = self.check_round(rec["rounds"][0], BLOCK)
        round2_input = BLOCK + n1 + b" G06"
        n2 = self.check_round(rec["rounds"][1], round2_input)
        with open(self.block + ".result", "rb") as f:
            self.assertEqual(f.read(), round2_input + n2 + b" G06")
        names = {w["name"] for r in rec["rounds"] for w in r["workers"]}
        self.assertGreaterEqual(len(names), 2, "ranges were spread over the workers: %s" % names)

    def test_worker_killed_midway(self):
        co = self.coordinator()
        slow = ["--threads", "1", "--intensity", "10", "--backend", "scalar"]
        victim = worker([co.url()], *slow, "--user", "victim", seconds=120)
        other = worker([co.url()], *slow, "--user", "survivor", seconds=120)
        time.sleep(2)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        co.wait_exit(HANG_GUARD * 4)
        stop(other)
        rec = self.record()
        self.check_round(rec["rounds"][0], BLOCK)
        self.assertIn("victim left; nonces", co.stderr())

    def test_coordinator_restart_resumes(self):
        port = free_port()
        co = self.coordinator(listen="127.0.0.1:%d" % port)
        slow = ["--threads", "1", "--intensity", "10", "--backend", "scalar"]
        ws = [worker([co.url()], *slow, "--user", "w%d" % i, seconds=120) for i in range(2)]
        state = self.block + ".result.state.json"

        def searched():
            with open(state) as f:
                return json.load(f)["rounds"][0]["searched"]
        deadline = time.time() + HANG_GUARD
        while searched() == 0 and time.time() < deadline:  # kill it once some work is saved
            time.sleep(0.2)
        co.stop(signal.SIGKILL)
        saved = searched()
        self.assertGreater(saved, 0)
        self.assertLess(saved, NONCES)
        co2 = self.coordinator(listen="127.0.0.1:%d" % port)
        co2.wait_exit(HANG_GUARD * 4)
        stop(*ws)
        self.assertIn("resumed from", co2.stderr())
        rec = self.record()
        self.assertTrue(rec["resumed"])
        self.check_round(rec["rounds"][0], BLOCK)

    def test_protocol_by_hand(self):
        # A 40 KiB file: several chunks, each line under 16 KiB.
        big = bytes(range(256)) * 160
        with open(self.block, "wb") as f:
            f.write(big)
        co = self.coordinator("--file-id", "G42")
        c = Client(co.port)
        self.login(c, "hand")
        self.assertEqual(c.call("hashforge.file.ready", ["x", 1, "00"])["error"][0], 20)  # not subscribed yet
        self.assertIsNone(c.call("hashforge.hello", [{"backend": "python", "rate": 1e5}])["error"])
        self.assertIsNone(c.call("hashforge.file.subscribe", [])["error"])
        begin = c.wait_for("hashforge.file.begin")["params"][0]
        self.assertEqual((begin["size"], begin["identifier"], begin["format"]), (len(big), "G42", "%08x %s"))
        data = b""
        for i in range(begin["chunks"]):
            chunk = c.wait_for("hashforge.file.chunk")["params"]
            self.assertEqual(chunk[:3], [begin["task"], 1, i])
            data += bytes.fromhex(chunk[3])
        self.assertEqual(data, big)
        self.assertEqual(hashlib.sha256(data).hexdigest(), begin["sha256"])
        self.assertEqual(c.call("hashforge.file.ready", [begin["task"], 1, "ab" * 32])["error"][0], 20)  # wrong sha
        self.assertIsNone(c.call("hashforge.file.ready", [begin["task"], 1, begin["sha256"]])["error"])
        rng = c.wait_for("hashforge.file.range")["params"][0]
        first, count = rng["first"], rng["count"]
        self.assertEqual(first, 0)

        def result(**kw):
            r = {"task": begin["task"], "round": 1, "range": rng["range"], "covered": [[first, 1000]],
                 "best_nonce": "%08x" % first}
            r.update(kw)
            return c.call("hashforge.file.result", [r])["error"]
        self.assertEqual(result(covered=[[first + count, 5]])[0], 20)  # outside the range
        # The range was taken back: a fresh one comes only for a worker that asks again.
        self.assertIn("not the range", result()[1])
        c.close()
        co.stop()
        with open(os.path.join(self.dir, "coordinator.log")) as f:
            self.assertIn("covered ranges outside the assigned range", f.read())

    def test_lying_best_nonce(self):
        co = self.coordinator()
        c = Client(co.port)
        self.login(c, "liar")
        c.call("hashforge.file.subscribe", [])
        begin = c.wait_for("hashforge.file.begin")["params"][0]
        c.wait_for("hashforge.file.chunk")
        c.call("hashforge.file.ready", [begin["task"], 1, begin["sha256"]])
        rng = c.wait_for("hashforge.file.range")["params"][0]
        bad = {"task": begin["task"], "round": 1, "range": rng["range"], "covered": [[rng["first"], 10]],
               "best_nonce": "%08x" % (rng["first"] + 50)}
        self.assertIn("outside the searched", c.call("hashforge.file.result", [bad])["error"][1])
        with open(self.block + ".result.state.json") as f:
            state = json.load(f)["rounds"][0]
        self.assertEqual(state["searched"], 0, "nothing from a lying worker is counted")
        self.assertNotIn("best", state)
        # Malformed calls get error replies and the connection stays usable.
        for params in [[], [1], [{"task": 5}], ["x" * 100]]:
            self.assertIsNotNone(c.call("hashforge.file.result", params)["error"])
        self.assertIsNone(c.call("mining.extranonce.subscribe", [])["error"])
        c.close()
        co.stop()


if __name__ == "__main__":
    unittest.main()

"""The plain protocol: hashforge workers against a plain-protocol server written in
the test (seed_protocol.py, standard library only), and that test's clients against the
coordinator's compatibility listener. Every answer is re-checked with hashlib. A client
that leaves before the batch starts frees its seat, and one that leaves without answering
cannot keep the round past its time budget."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from seed_protocol import Server, client, line_hash, receive
from stratum_harness import BIN, HANG_GUARD, Coordinator

BLOCK = b"Transactions of the block\nalice -> bob: 5\nbob -> carol: 2\n"


def seed_worker(port, *args, seconds=1):
    return subprocess.Popen([BIN, "worker", "--url", "seed://127.0.0.1:%d" % port, "--seconds", str(seconds),
                             "--threads", "1", "--json"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class PlainProtocol(unittest.TestCase):
    def finish(self, proc, ok=True):
        out, err = proc.communicate(timeout=120)
        if ok:
            self.assertEqual(proc.returncode, 0, err[-2000:])
            return json.loads(out)
        self.assertNotEqual(proc.returncode, 0)
        return err

    def test_workers_against_python_server(self):
        d = tempfile.mkdtemp(prefix="hf-seed-")
        result = os.path.join(d, "block.result")
        srv = Server(BLOCK, 2, result_path=result)
        outs = [self.finish(p) for p in [seed_worker(srv.port), seed_worker(srv.port, "--backend", "scalar")]]
        srv.wait()
        self.assertEqual(srv.rejected, {})
        self.assertEqual(sorted(srv.answers.values()), sorted(o["nonce"].encode() for o in outs))
        for o in outs:
            # The worker's own claim, checked with hashlib against the bytes the server sent.
            self.assertEqual(o["file_size"], len(BLOCK))
            self.assertEqual(o["hash"], line_hash(BLOCK, o["nonce"].encode(), "G06"))
            self.assertEqual(o["line"], o["nonce"] + " G06")
            self.assertGreater(o["hashes"], 0)
        best = min(outs, key=lambda o: o["hash"])
        with open(result, "rb") as f:
            self.assertEqual(f.read(), BLOCK + best["nonce"].encode() + b" G06")

    def test_end_inside_the_file_at_a_read_boundary(self):
        # The file holds "END" exactly where a 512-byte chunk ends, and the server pauses
        # there: a client that stopped at the first "END" would mine a truncated file.
        data = b"x" * 509 + b"END" + b" and the block goes on\n"
        srv = Server(data, 1, pause_after=b"END", identifier="G07")
        out = self.finish(seed_worker(srv.port, "--id", "G07"))
        srv.wait()
        self.assertEqual(out["file_size"], len(data))
        self.assertEqual(out["hash"], line_hash(data, out["nonce"].encode(), "G07"))
        self.assertEqual(list(srv.answers.values()), [out["nonce"].encode()])

    def one_shot_server(self, payload):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)

        def run():
            c, _ = s.accept()
            c.sendall(payload)
            c.close()
            s.close()
        threading.Thread(target=run, daemon=True).start()
        return s.getsockname()[1]

    def test_worker_refuses_bad_transfers(self):
        for payload, why in [(b"HELLO world END", "did not begin with START"),
                             (b"START half a file", "short transfer"),
                             (b"STARTEND", "empty file")]:
            err = self.finish(seed_worker(self.one_shot_server(payload)), ok=False)
            self.assertIn(why, err)
            self.assertEqual(len([line for line in err.splitlines() if line.startswith("hashforge: ")]), 1, err)
        err = self.finish(subprocess.Popen([BIN, "worker", "--url", "seed://127.0.0.1:1"], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True), ok=False)
        self.assertIn("cannot connect", err)

    def test_coordinator_listener(self):
        d = tempfile.mkdtemp(prefix="hf-seed-co-")
        block = os.path.join(d, "block.txt")
        with open(block, "wb") as f:
            f.write(BLOCK)
        co = Coordinator("--file-task", block, "--seed-listen", "127.0.0.1:0", "--seed-clients", "5",
                         "--file-seconds", "1", header_job=False, seed=True, directory=d)
        results = {}

        def run(name, **kw):
            try:
                results[name] = client(co.seed_port, seconds=1, **kw)
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                results[name] = e
        threads = [threading.Thread(target=run, args=(n,), kwargs=kw) for n, kw in
                   [("py1", {}), ("py2", {}), ("short", {"answer": b"abc"}), ("upper", {"answer": b"0000ABCD"})]]
        for t in threads:
            t.start()
        w = seed_worker(co.seed_port)
        for t in threads:
            t.join(HANG_GUARD)
        out = self.finish(w)
        # A client after the batch is turned away at once: closed unread, or refused when the
        # coordinator has already finished and exited.
        try:
            late = socket.create_connection(("127.0.0.1", co.seed_port), timeout=HANG_GUARD)
        except ConnectionRefusedError:
            late = None
        if late:
            late.settimeout(HANG_GUARD)
            try:
                self.assertEqual(late.recv(16), b"")
            except ConnectionResetError:
                pass
            late.close()
        co.wait_exit(HANG_GUARD * 2)
        for name in ["py1", "py2", "short", "upper"]:
            self.assertNotIsInstance(results[name], Exception, name)
            self.assertEqual(results[name][0], BLOCK, "every client got the file intact")
        valid = [results["py1"][1], results["py2"][1], out["nonce"].encode()]
        best = min(valid, key=lambda n: line_hash(BLOCK, n, "G06"))
        with open(block + ".result", "rb") as f:
            self.assertEqual(f.read(), BLOCK + best + b" G06")
        with open(block + ".result.json") as f:
            record = json.load(f)
        self.assertEqual(record["hash"], line_hash(BLOCK, best, "G06"))
        self.assertTrue(record["finder"].startswith("seed:127.0.0.1:"))
        log = co.stderr()
        self.assertEqual(log.count("rejected: answer is not 8 lowercase hex"), 2, log)
        self.assertEqual(log.count(" answered "), 3, log)

    def seed_coordinator(self, *args):
        d = tempfile.mkdtemp(prefix="hf-seed-co-")
        block = os.path.join(d, "block.txt")
        with open(block, "wb") as f:
            f.write(BLOCK)
        co = Coordinator("--file-task", block, "--seed-listen", "127.0.0.1:0", *args, header_job=False, seed=True,
                         directory=d)
        return co, block

    def test_port_probe_does_not_take_the_only_seat(self):
        co, block = self.seed_coordinator("--seed-clients", "1", "--file-seconds", "1")
        probe = socket.create_connection(("127.0.0.1", co.seed_port), timeout=HANG_GUARD)
        probe.close()  # a port probe: open and close at once
        time.sleep(0.5)
        data, nonce, _ = client(co.seed_port, seconds=0.5)
        self.assertEqual(data, BLOCK, "the real client got the file")
        co.wait_exit(HANG_GUARD)
        with open(block + ".result", "rb") as f:
            self.assertEqual(f.read(), BLOCK + nonce + b" G06")
        self.assertIn("left before the batch started", co.stderr())

    def test_client_leaving_unanswered_cannot_hold_the_round(self):
        co, block = self.seed_coordinator("--seed-clients", "1", "--file-seconds", "2")
        with socket.create_connection(("127.0.0.1", co.seed_port), timeout=HANG_GUARD) as s:
            self.assertEqual(receive(s), BLOCK)
        t = time.time()
        co.wait_exit(HANG_GUARD)  # no answer came: the round's time budget still ends it
        self.assertLess(time.time() - t, 2 + 10 + 5)
        with open(block + ".result", "rb") as f:
            out = f.read()
        self.assertTrue(out.startswith(BLOCK))
        self.assertRegex(out[len(BLOCK):], re.compile(rb"^[0-9a-f]{8} G06$"))
        with open(block + ".result.json") as f:
            record = json.load(f)
        self.assertEqual(record["finder"], "coordinator", "no client answered: the coordinator's own search")
        self.assertEqual(record["hash"], line_hash(BLOCK, out[len(BLOCK):len(BLOCK) + 8], "G06"))


if __name__ == "__main__":
    unittest.main()

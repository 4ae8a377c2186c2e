"""Durability of `hashforge node`: kill -9 at a random moment while four clients post
transactions (and, in some rounds, blocks are mined by the node itself or through /mine), then
a restart on the same data directory must still hold every transaction that was answered 201
(pending or in a block), every block that was answered "Block #N is mined.", every block seen
in an earlier round, a chain valid end to end, and no transaction twice. Also: a corrupt or
truncated node.db is refused at once with one line on stderr naming the file.

HF_NODE_CRASH_ROUNDS sets the number of rounds (default 50); HF_NODE_CRASH_SEED replays one."""
import collections
import http.client
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from node_harness import BIN, HANG_GUARD, Node, chain_problems, genesis, get, post_json, start_node

ROUNDS = int(os.environ.get("HF_NODE_CRASH_ROUNDS", "50"))
MODES = ("off", "auto", "mine")  # no mining; --mine auto; a fifth thread calling GET /mine


class Crash(unittest.TestCase):
    def load_and_kill(self, node, mode, rnd, delay):
        """Clients post until the node is killed `delay` s after they start; returns (acked
        contents, attempted contents, block indexes answered as mined, errors)."""
        lock = threading.Lock()
        acked, attempted, mined, errors = [], set(), [], []
        killed = threading.Event()

        def failed(what):
            if not killed.is_set():
                with lock:
                    errors.append(what)

        def client(t):
            k = 0
            while not killed.is_set():
                content = "r%d-t%d-n%d" % (rnd, t, k)
                k += 1
                with lock:
                    attempted.add(content)
                try:
                    r = post_json(node.api("/new_transaction"), {"author": "crash test", "content": content})
                except (OSError, http.client.HTTPException) as e:
                    return failed("POST %s: %r" % (content, e))
                if r.status == 201 and r.body == b"Success":
                    with lock:
                        acked.append(content)
                else:
                    return failed("POST %s: %r" % (content, r))

        def miner():
            while not killed.is_set():
                try:
                    r = get(node.api("/mine"))
                except (OSError, http.client.HTTPException) as e:
                    return failed("GET /mine: %r" % e)
                m = re.fullmatch(r"Block #(\d+) is mined\.", r.text)
                if m:
                    mined.append(int(m.group(1)))
                elif r.status != 200 or r.text != "No transactions to mine":
                    return failed("GET /mine: %r" % r)

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(4)]
        if mode == "mine":
            threads.append(threading.Thread(target=miner, daemon=True))
        for t in threads:
            t.start()
        time.sleep(delay)
        killed.set()
        node.kill()
        for t in threads:
            t.join(HANG_GUARD)
            self.assertFalse(t.is_alive(), "a client thread hung after the kill")
        return acked, attempted, mined, errors

    def test_kill_9_keeps_every_acknowledged_transaction(self):
        seed = int(os.environ.get("HF_NODE_CRASH_SEED", random.randrange(1 << 30)))
        print("\n  crash test: %d rounds, HF_NODE_CRASH_SEED=%d" % (ROUNDS, seed), file=sys.stderr)
        rng = random.Random(seed)
        data = tempfile.mkdtemp(prefix="hf-node-crash-")
        self.addCleanup(shutil.rmtree, data, True)
        all_acked, all_attempted = set(), set()
        prev_chain = [genesis()]
        total_blocks_answered = 0
        for rnd in range(ROUNDS):
            mode = MODES[rnd % len(MODES)]
            delay = rng.uniform(0.05, 0.4)
            where = "round %d (mode %s, kill after %.3f s, seed %d)" % (rnd, mode, delay, seed)
            node = Node(*(("--mine", "auto") if mode == "auto" else ()), data=data)
            try:
                acked, attempted, mined, errors = self.load_and_kill(node, mode, rnd, delay)
            finally:
                if node.alive():
                    node.kill()
            self.assertEqual(errors, [], "%s: requests failed before the kill: %s" % (where, node.stderr()[-2000:]))
            shutil.rmtree(node.logdir, ignore_errors=True)
            all_acked.update(acked)
            all_attempted.update(attempted)
            total_blocks_answered += len(mined)

            # The restart, without mining, so /chain and /pending_tx hold still between reads.
            check = Node(data=data)
            try:
                chain, pending = check.chain()["chain"], check.pending()
            finally:
                check.close()
            self.assertEqual(chain_problems(chain), [], where)
            self.assertEqual(chain[:len(prev_chain)], prev_chain, "%s: blocks of an earlier round changed" % where)
            if mined:
                self.assertGreaterEqual(len(chain) - 1, max(mined), "%s: an acknowledged block is gone" % where)
            contents = [tx.get("content") for b in chain for tx in b["transactions"]]
            contents += [tx.get("content") for tx in pending]
            twice = [c for c, n in collections.Counter(contents).items() if n > 1]
            self.assertEqual(twice, [], "%s: transactions stored twice" % where)
            self.assertEqual(sorted(all_acked - set(contents)), [], "%s: acknowledged transactions lost" % where)
            self.assertEqual(sorted(set(contents) - all_attempted), [], "%s: transactions nobody sent" % where)
            prev_chain = chain
        # The test did something: transactions were acknowledged and blocks were mined.
        self.assertGreater(len(all_acked), 0)
        if ROUNDS >= 3:
            self.assertGreater(len(prev_chain), 1, "no block was ever mined")
        print("  %d transactions acknowledged, %d blocks, %d answered by /mine"
              % (len(all_acked), len(prev_chain) - 1, total_blocks_answered), file=sys.stderr)

    def test_clean_restart_keeps_everything(self):
        node = start_node(self)
        for k in range(3):
            self.assertEqual(node.post("/new_transaction", {"author": "a", "content": "block tx %d" % k}).status, 201)
        self.assertEqual(node.get("/mine").text, "Block #1 is mined.")
        for k in range(2):
            self.assertEqual(node.post("/new_transaction", {"author": "a", "content": "pending %d" % k,
                                                            "x": "\ud800\U0001F600"}).status, 201)
        chain, pending = node.get("/chain").json()["chain"], node.get("/pending_tx").body
        node.stop()
        for extra in ((), ("--reindex",)):
            again = Node(*extra, data=node.dir)
            try:
                self.assertEqual(again.chain()["chain"], chain, extra)
                self.assertEqual(again.get("/pending_tx").body, pending, extra)
            finally:
                again.close()

    def make_database(self):
        """A data directory whose node.db holds a few hundred KB of blocks and pending
        transactions, closed cleanly."""
        node = Node()
        try:
            for b in range(4):
                for k in range(40):
                    r = node.post("/new_transaction", {"author": "db", "content": "%d/%d " % (b, k) + "z" * 2000})
                    self.assertEqual(r.status, 201)
                self.assertEqual(node.get("/mine").text, "Block #%d is mined." % (b + 1))
            for k in range(10):
                self.assertEqual(node.post("/new_transaction", {"author": "db", "content": "p%d" % k}).status, 201)
        except BaseException:
            node.kill()
            raise
        node.stop()
        shutil.rmtree(node.logdir, ignore_errors=True)
        self.addCleanup(shutil.rmtree, node.dir, True)
        db = os.path.join(node.dir, "node.db")
        self.assertTrue(os.path.isfile(db), os.listdir(node.dir))
        return node.dir, db

    def assertRefused(self, data, db, what):
        try:
            p = subprocess.run([BIN, "node", "--listen", "127.0.0.1:0", "--data", data, "--quiet"],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG_GUARD)
        except subprocess.TimeoutExpired as e:
            self.fail("%s: the node did not exit within %d s (stdout %r, stderr %r)"
                      % (what, HANG_GUARD, e.stdout, e.stderr))
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, "%s: exit %d, stderr %r" % (what, p.returncode, err))
        lines = err.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, "%s: stderr is not one line: %r" % (what, err))
        self.assertIn(db, lines[0], "%s: stderr does not name the file" % what)
        self.assertNotIn(b"node listening", p.stdout, what)

    def test_corrupt_header_is_refused(self):
        data, db = self.make_database()
        with open(db, "r+b") as f:
            f.write(b"this is not an SQLite header!!!!")
        self.assertRefused(data, db, "node.db with a broken header")

    def test_truncated_database_is_refused(self):
        data, db = self.make_database()
        size = os.path.getsize(db)
        self.assertGreater(size, 100000)
        for path in (db + "-wal", db + "-shm"):
            if os.path.exists(path):
                os.remove(path)
        with open(db, "r+b") as f:
            f.truncate(size // 2 + 123)
        self.assertRefused(data, db, "node.db truncated from %d to %d bytes" % (size, size // 2 + 123))


if __name__ == "__main__":
    unittest.main()

"""Every endpoint of the seed's API (docs/node.md) against a real `hashforge node`: exact
statuses, bodies and content types, /chain and /pending_tx written byte for byte as Python's
json.dumps writes them, blocks checked with hashlib, hostile and malformed input refused with
a one-line reason and no change of state, and the requests the node itself sends to peers
(registration, block announcements) checked on a scripted peer."""
import json
import time
import unittest

from node_harness import (BLOCK_KEYS, DISCARDED, HANG_GUARD, HTML, MIB, StubPeer, block_hash, chain_problems,
                          free_port, fresh_source, genesis, mine_block, python_json, raw_exchange, start_node,
                          start_stub, unmined_block, wait_until)


class NodeCase(unittest.TestCase):
    node_args = ()

    def setUp(self):
        self.node = start_node(self, *self.node_args)

    # -- assertions ------------------------------------------------------------------------

    def assertReply(self, r, status, text):
        self.assertEqual((r.status, r.ctype, r.body), (status, HTML, text.encode()), r)

    def assertPythonJson(self, r):
        """200, text/html, and the body exactly as Python's json.dumps writes what it says."""
        self.assertEqual((r.status, r.ctype), (200, HTML), r)
        self.assertEqual(r.body, python_json(r.body))

    def assertOneLine4xx(self, r, what="", status=400):
        self.assertEqual(r.status, status, "%s: %r" % (what, r))
        reason = r.body.decode("utf-8", "replace").rstrip("\n")
        self.assertTrue(reason.strip(), "%s: no reason given: %r" % (what, r))
        self.assertNotIn("\n", reason, "%s: the reason is not one line: %r" % (what, r))

    def assertUnchanged(self, before, what):
        self.assertEqual(self.node.state(), before, "state changed by %s" % what)

    def assertValidChain(self, chain, difficulty=2):
        self.assertEqual(chain_problems(chain, difficulty), [])

    # -- helpers -----------------------------------------------------------------------------

    def add_tx(self, tx):
        self.assertReply(self.node.post("/new_transaction", tx), 201, "Success")

    def mine(self, expect_index):
        self.assertReply(self.node.get("/mine"), 200, "Block #%d is mined." % expect_index)

    def tip(self):
        return self.node.chain()["chain"][-1]


class Reads(NodeCase):
    def test_genesis_chain_bytes(self):
        r = self.node.get("/chain")
        g = genesis()
        self.assertEqual(g["hash"], "6dbf23122cb5046cc5c0c1b245c75f8e43c59ca8ffeac292715e5078e631d0c9")
        self.assertReply(r, 200, json.dumps({"length": 1, "chain": [g], "peers": []}))

    def test_pending_tx_empty(self):
        self.assertReply(self.node.get("/pending_tx"), 200, "[]")

    def test_mine_with_nothing_pending(self):
        before = self.node.state()
        self.assertReply(self.node.get("/mine"), 200, "No transactions to mine")
        self.assertUnchanged(before, "GET /mine with nothing pending")

    def test_unknown_path_is_404(self):
        self.assertEqual(self.node.get("/no_such_endpoint").status, 404)


class Transactions(NodeCase):
    def test_new_transaction_and_pending_tx(self):
        t0 = time.time()
        self.add_tx({"author": "alice", "content": "hello"})
        self.add_tx({"content": "second", "author": "bob"})
        t1 = time.time()
        r = self.node.get("/pending_tx")
        self.assertPythonJson(r)
        txs = r.json()
        self.assertEqual([list(t) for t in txs],
                         [["author", "content", "timestamp"], ["content", "author", "timestamp"]])
        self.assertEqual([(t.get("author"), t.get("content")) for t in txs], [("alice", "hello"), ("bob", "second")])
        for t in txs:
            self.assertIs(type(t["timestamp"]), float, t)
            self.assertTrue(t0 - 1 <= t["timestamp"] <= t1 + 1, (t0, t, t1))
        self.assertLessEqual(txs[0]["timestamp"], txs[1]["timestamp"])
        # Pending transactions are not in the chain.
        self.assertEqual(self.node.chain()["chain"], [genesis()])

    def test_client_timestamp_replaced_in_place_and_extra_keys_kept(self):
        t0 = time.time()
        sent = {"timestamp": "from the client", "author": "carol", "extra": [1, {"x": None, "y": True}],
                "content": "c", "z": {"nested": ["a", 2.5]}}
        self.add_tx(sent)
        r = self.node.get("/pending_tx")
        self.assertPythonJson(r)
        [tx] = r.json()
        self.assertEqual(list(tx), ["timestamp", "author", "extra", "content", "z"])
        self.assertIs(type(tx["timestamp"]), float)
        self.assertGreaterEqual(tx["timestamp"], t0 - 1)
        self.assertEqual({k: v for k, v in tx.items() if k != "timestamp"},
                         {k: v for k, v in sent.items() if k != "timestamp"})

    def test_missing_or_falsy_fields_are_404(self):
        before = self.node.state()
        for tx in ({"content": "no author"}, {"author": "no content"}, {}, {"author": "", "content": "c"},
                   {"author": "a", "content": ""}, {"author": 0, "content": "c"}, {"author": "a", "content": 0.0},
                   {"author": None, "content": "c"}, {"author": False, "content": "c"}, {"author": [], "content": "c"},
                   {"author": "a", "content": {}}):
            self.assertReply(self.node.post("/new_transaction", tx), 404, "Invalid transaction data")
            self.assertUnchanged(before, "POST /new_transaction %r" % (tx,))

    def test_malformed_bodies_are_400_with_a_reason(self):
        before = self.node.state()
        bodies = [b"", b"not json", b"{", b'{"author": "a", "content": "c"', b'{"author": "a", "content": "c"}}',
                  b'{"author": "a", "content": "c"} trailing', b"[]", b'[{"author": "a", "content": "c"}]',
                  b'"a string"', b"42", b"null", b"true", b'{"author": "a", "content": "\xff\xfe"}',
                  b'{"author": "a", "content": "raw\ncontrol"}', b"{'author': 'a', 'content': 'c'}",
                  b'{"author": "a", "content": "c",}', b'{"author": "a" "content": "c"}',
                  b'{"author": "a", "content": "bad escape \\x41"}', b'{"author": "a", "content": "\\u12"}']
        for body in bodies:
            self.assertOneLine4xx(self.node.post_raw("/new_transaction", body), body)
            self.assertUnchanged(before, "POST /new_transaction %r" % body)
        # Nesting deeper than any parser should follow: refused, and the node lives on.
        deep = b'{"author": "a", "content": "c", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        self.assertOneLine4xx(self.node.post_raw("/new_transaction", deep), "nested 100000 deep")
        self.assertTrue(self.node.alive())
        self.assertUnchanged(before, "a transaction nested 100000 deep")

    def test_body_over_one_mib_is_413(self):
        before = self.node.state()
        head = b'{"author": "big", "content": "'
        pad = MIB + 1 - len(head) - 2
        body = head + b"x" * pad + b'"}'
        self.assertEqual(len(body), MIB + 1)
        path = self.node.api("/new_transaction")
        start = b"POST /new_transaction HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" % (
            path.split("/")[2].encode())
        req = start + b"Content-Length: %d\r\n\r\n" % len(body) + body
        status, _ = raw_exchange(path, req)
        self.assertEqual(status, 413)
        self.assertUnchanged(before, "a %d-byte body" % len(body))
        # The same, chunked: the limit is on the body, however it comes.
        chunked = b"".join(b"%x\r\n" % len(body[i:i + 65536]) + body[i:i + 65536] + b"\r\n"
                           for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
        req = start + b"Transfer-Encoding: chunked\r\n\r\n" + chunked
        status, _ = raw_exchange(path, req)
        self.assertIn(status, (413, 411), "a chunked body over the limit")  # 411: chunked bodies not taken at all
        self.assertUnchanged(before, "a chunked %d-byte body" % len(body))
        # Exactly 1 MiB is within the body limit (a node may still refuse so large a transaction).
        body = head + b"y" * (pad - 1) + b'"}'
        self.assertEqual(len(body), MIB)
        r = self.node.post_raw("/new_transaction", body)
        if r.status == 201:
            [tx] = self.node.pending()
            self.assertEqual(tx["content"], "y" * (pad - 1))
        else:
            self.assertOneLine4xx(r, "a 1 MiB transaction")
            self.assertUnchanged(before, "a refused 1 MiB transaction")

    def test_unicode_round_trips_as_python(self):
        # Escaped: astral pairs, lone and reversed surrogates, NUL and other controls, U+2028.
        escaped = (b'{"author": "\\u00e9l\\u00e8ve \\ud83d\\ude00", "content": "lone \\ud800 low \\udc00 '
                   b'reversed \\ude00\\ud83d nul \\u0000 bell \\u0007 del \x7f sep \\u2028 quote \\" slash \\/ '
                   b'back \\\\ tab \\t nl \\n", "\\u043a\\u043b\\u044e\\u0447": "\\uD834\\uDD1E"}')
        # Raw UTF-8, including a 4-byte sequence.
        raw = '{"author": "naïve ✓", "content": "😀 𝄞 中文 \ufeffbom", "ключ": "значение"}'.encode("utf-8")
        sent = []
        for body in (escaped, raw):
            self.assertReply(self.node.post_raw("/new_transaction", body), 201, "Success")
            sent.append(json.loads(body))
        r = self.node.get("/pending_tx")
        self.assertPythonJson(r)
        got = r.json()
        self.assertEqual([{k: v for k, v in t.items() if k != "timestamp"} for t in got], sent)
        self.assertEqual([list(t) for t in got], [list(s) + ["timestamp"] for s in sent])
        self.mine(1)
        r = self.node.get("/chain")
        self.assertPythonJson(r)
        chain = r.json()["chain"]
        self.assertValidChain(chain)  # the hash over Python's ASCII escapes of all of it
        self.assertEqual(chain[1]["transactions"], got)

    def test_numbers_as_python(self):
        body = (b'{"author": "n", "content": "numbers", "nums": [1.0, 1e5, 1E+2, -0.0, 0.1, -5, 1.5e300, 5e-324, '
                b'2.5, 1e16, 1e-7, 100, 0, -0, 3.141592653589793, 1.7976931348623157e308, 0.30000000000000004, '
                b'1e22, 1e-5, 123456789.123456789, 9007199254740993, -9223372036854775808, 18446744073709551615, '
                b'2.0e0, 0.5e-0, 1700000000.123456]}')
        self.assertReply(self.node.post_raw("/new_transaction", body), 201, "Success")
        r = self.node.get("/pending_tx")
        self.assertPythonJson(r)
        [tx] = r.json()
        self.assertEqual(json.dumps(tx["nums"]), json.dumps(json.loads(body)["nums"]))
        self.mine(1)
        r = self.node.get("/chain")
        self.assertPythonJson(r)
        self.assertValidChain(r.json()["chain"])

    def test_beyond_plain_numbers_python_or_400(self):
        # Python's json takes these (big integers exactly; 1e400 as Infinity; NaN): a node may
        # refuse them, but if it takes one it must write and hash it as Python does.
        for lit in (b"123456789012345678901234567890", b"-1e400", b"NaN", b"Infinity"):
            before = self.node.state()
            body = b'{"author": "n", "content": "c", "v": ' + lit + b"}"
            r = self.node.post_raw("/new_transaction", body)
            if r.status == 201:
                [tx] = self.node.pending()
                self.assertEqual(json.dumps(tx["v"]), json.dumps(json.loads(body)["v"]), lit)
                self.mine(len(self.node.chain()["chain"]))
                self.assertValidChain(self.node.chain()["chain"])
            else:
                self.assertOneLine4xx(r, lit)
                self.assertUnchanged(before, "a transaction with %r" % lit)

    def test_duplicate_keys_as_python(self):
        body = b'{"author": "first", "content": "c", "author": "second", "k": 1, "k": 2}'
        self.assertReply(self.node.post_raw("/new_transaction", body), 201, "Success")
        [tx] = self.node.pending()
        self.assertEqual(list(tx.items())[:3], [("author", "second"), ("content", "c"), ("k", 2)])
        self.assertEqual(list(tx), ["author", "content", "k", "timestamp"])


class MaxBody(NodeCase):
    node_args = ("--max-body", "2048")

    def test_max_body_option(self):
        head = b'{"author": "a", "content": "'
        ok = head + b"x" * (2048 - len(head) - 2) + b'"}'
        self.assertReply(self.node.post_raw("/new_transaction", ok), 201, "Success")
        before = self.node.state()
        over = head + b"x" * (2049 - len(head) - 2) + b'"}'
        self.assertEqual(self.node.post_raw("/new_transaction", over).status, 413)
        self.assertUnchanged(before, "a 2049-byte body")


class Mining(NodeCase):
    def test_mine_then_chain(self):
        self.add_tx({"author": "a", "content": "one"})
        self.add_tx({"author": "b", "content": "two", "more": [1, 2]})
        pending = self.node.pending()
        self.mine(1)
        self.assertReply(self.node.get("/pending_tx"), 200, "[]")
        r = self.node.get("/chain")
        self.assertPythonJson(r)
        doc = r.json()
        self.assertEqual(list(doc), ["length", "chain", "peers"])
        self.assertEqual(doc["length"], 2)
        self.assertEqual(doc["peers"], [])
        self.assertValidChain(doc["chain"])
        b = doc["chain"][1]
        self.assertEqual(list(b), BLOCK_KEYS)
        self.assertEqual(b["transactions"], pending)
        self.assertEqual([list(t) for t in b["transactions"]], [list(t) for t in pending])
        self.assertIsInstance(b["timestamp"], (int, float))
        self.assertIs(type(b["nonce"]), int)
        self.assertReply(self.node.get("/mine"), 200, "No transactions to mine")
        # More blocks, each with what was pending then.
        for n in (2, 3):
            for k in range(n):
                self.add_tx({"author": "r%d" % n, "content": "tx %d" % k})
            pending = self.node.pending()
            self.mine(n)
            chain = self.node.chain()["chain"]
            self.assertEqual(len(chain), n + 1)
            self.assertEqual(chain[n]["transactions"], pending)
        self.assertValidChain(self.node.chain()["chain"])


class Difficulty3(NodeCase):
    node_args = ("--difficulty", "3")

    def test_difficulty_option(self):
        self.add_tx({"author": "a", "content": "c"})
        self.mine(1)
        chain = self.node.chain()["chain"]
        self.assertValidChain(chain, difficulty=3)
        # A block with two zeros but not three is not enough here.
        weak = unmined_block(chain[-1], [], difficulty=3)
        while not weak["hash"].startswith("00"):
            weak = unmined_block(chain[-1], [], difficulty=3, timestamp=weak["timestamp"] + 1)
        before = self.node.state()
        r = self.node.post_raw("/add_block", json.dumps(weak, sort_keys=True).encode(), source=fresh_source())
        self.assertEqual((r.status, r.ctype), (400, HTML), r)
        self.assertTrue(r.text.startswith(DISCARDED), r)
        self.assertUnchanged(before, "a difficulty-2 block")
        strong = mine_block(chain[-1], [{"author": "py", "content": "3 zeros"}], difficulty=3)
        self.assertReply(self.node.post_raw("/add_block", json.dumps(strong, sort_keys=True).encode()), 201,
                         "Block added to the chain")


class AddBlock(NodeCase):
    def post_block(self, b, source=None):
        return self.node.post_raw("/add_block", json.dumps(b, sort_keys=True).encode(), source=source)

    def test_valid_block_from_python(self):
        tip = self.tip()
        b = mine_block(tip, [{"author": "py", "content": "mined in Python", "timestamp": 12.5}])
        self.assertReply(self.post_block(b), 201, "Block added to the chain")
        r = self.node.get("/chain")
        self.assertPythonJson(r)
        chain = r.json()["chain"]
        self.assertEqual(chain[-1], b)
        self.assertEqual(list(chain[-1]), BLOCK_KEYS)
        self.assertEqual(r.json()["length"], 2)
        # The node mines on top of it.
        self.add_tx({"author": "a", "content": "after"})
        self.mine(2)
        chain = self.node.chain()["chain"]
        self.assertValidChain(chain)
        self.assertEqual(chain[2]["previous_hash"], b["hash"])
        # Keys in any order, as any JSON: the same block content is accepted as sent.
        b3 = mine_block(chain[-1], [{"z": 1, "content": "keys in any order", "author": "py", "a": [None, False]}])
        body = json.dumps({k: b3[k] for k in reversed(BLOCK_KEYS)}).encode()
        self.assertReply(self.node.post_raw("/add_block", body), 201, "Block added to the chain")
        self.assertEqual(self.node.chain()["chain"][-1], b3)

    def test_bad_blocks_are_discarded_with_a_reason(self):
        tip = self.tip()
        txs = [{"author": "x", "content": "y"}]
        good = mine_block(tip, txs)
        other = mine_block({"index": 0, "hash": "ab" * 32}, txs)
        mismatch = dict(good, nonce=good["nonce"] + 1)
        self.assertNotEqual(block_hash(mismatch), good["hash"])
        forged = dict(mine_block(tip, txs), transactions=[{"author": "x", "content": "forged"}])
        cases = {
            "wrong previous_hash": other,
            "hash below the difficulty": unmined_block(tip, txs),
            "hash not the block's": mismatch,
            "transactions changed after mining": forged,
            "hash in upper case": dict(good, hash=good["hash"].upper()),
            "hash zeros but wrong": dict(good, hash="00" + "f" * 62),
            "wrong index": mine_block(tip, txs, index=5),
            "the genesis block again": genesis(),
        }
        for what, b in cases.items():  # each from its own address: a node may ban a sender of bad blocks
            before = self.node.state()
            r = self.post_block(b, source=fresh_source())
            self.assertEqual((r.status, r.ctype), (400, HTML), (what, r))
            self.assertTrue(r.text.startswith(DISCARDED), (what, r))
            self.assertOneLine4xx(r, what)
            self.assertUnchanged(before, what)
        self.assertReply(self.post_block(good), 201, "Block added to the chain")
        before = self.node.state()
        r = self.post_block(good, source=fresh_source())  # the same block twice
        self.assertEqual(r.status, 400, r)
        self.assertTrue(r.text.startswith(DISCARDED), r)
        self.assertUnchanged(before, "the same block twice")

    def test_malformed_blocks_are_400(self):
        tip = self.tip()
        good = mine_block(tip, [{"author": "x", "content": "y"}])
        no_hash = {k: v for k, v in good.items() if k != "hash"}
        no_nonce = {k: v for k, v in good.items() if k != "nonce"}
        bodies = [b"", b"not json", b"[]", b"{}", b"null", json.dumps([good]).encode(), json.dumps(no_hash).encode(),
                  json.dumps(no_nonce).encode(), json.dumps(dict(good, hash=12)).encode(),
                  json.dumps(mine_block(tip, "not a list")).encode(),
                  json.dumps(mine_block(tip, [], index="1")).encode(),
                  json.dumps(good).encode()[:-5]]
        before = self.node.state()
        for body in bodies:
            self.assertOneLine4xx(self.node.post_raw("/add_block", body, source=fresh_source()), body[:200])
            self.assertUnchanged(before, "POST /add_block %r" % body[:200])


class Peers(NodeCase):
    def test_register_node(self):
        a, b = start_stub(self), start_stub(self)
        r = self.node.post("/register_node", {"node_address": a.url})
        self.assertReply(r, 200, json.dumps({"length": 1, "chain": [genesis()], "peers": [a.url]}))
        self.assertReply(self.node.post("/register_node", {"node_address": a.url}), 200, r.text)  # a set
        r = self.node.post("/register_node", {"node_address": b.url})
        self.assertPythonJson(r)
        self.assertEqual(list(r.json()), ["length", "chain", "peers"])
        self.assertEqual(sorted(r.json()["peers"]), sorted([a.url, b.url]))
        c = self.node.get("/chain")
        self.assertEqual(c.body, r.body)

    def test_register_node_bad_input(self):
        before = self.node.state()
        self.assertReply(self.node.post("/register_node", {"node_address": ""}), 400, "Invalid data")
        self.assertUnchanged(before, "an empty node_address")
        for body in (b"not json", b"[]", b"{}", b'{"node_address": null}', b'{"node_address": 5}',
                     b'{"node_address": ["http://127.0.0.1:1/"]}', b'{"node_address": {"url": "x"}}', b"",
                     b'{"node_address": "http://10.255.255.1:8000/"}', b'{"node_address": "http://192.0.2.1:80/"}'):
            self.assertOneLine4xx(self.node.post_raw("/register_node", body), body)
            self.assertUnchanged(before, "POST /register_node %r" % body)

    def test_register_with_a_peer(self):
        other = start_stub(self)
        remote_chain = [genesis()]
        for k in range(2):
            tx = {"author": "remote", "content": "b%d" % k, "timestamp": 1.0 + k}
            remote_chain.append(mine_block(remote_chain[-1], [tx]))
        # Its peers include us, as a seed's would after our registration: we do not peer with ourselves.
        stub = start_stub(self, {("POST", "/register_node"):
                                 (200, StubPeer.dump(remote_chain, [other.url, self.node.url]), HTML)})
        self.add_tx({"author": "local", "content": "pending"})
        r = self.node.post("/register_with", {"node_address": stub.url.rstrip("/")})
        self.assertReply(r, 200, "Registration successful")
        [req] = stub.wait_for("POST", "/register_node")
        self.assertTrue(req["headers"].get("content-type", "").startswith("application/json"), req)
        self.assertEqual(json.loads(req["body"]), {"node_address": self.node.url})  # default --public-url
        doc = self.node.chain()
        self.assertEqual(doc["chain"], remote_chain)
        self.assertIn(other.url, doc["peers"])
        self.assertNotIn(self.node.url, doc["peers"])

    def test_register_with_public_url(self):
        node = start_node(self, public_url="http://127.0.0.1:4242")
        stub = start_stub(self)
        self.assertReply(node.post("/register_with", {"node_address": stub.url.rstrip("/")}), 200,
                         "Registration successful")
        [req] = stub.wait_for("POST", "/register_node")
        self.assertEqual(json.loads(req["body"]), {"node_address": "http://127.0.0.1:4242/"})

    def test_register_with_passes_the_remote_answer_through(self):
        for status, body in ((400, b"Invalid data"), (503, b"remote says: not now")):
            stub = start_stub(self, {("POST", "/register_node"): (status, body, HTML)})
            before = self.node.state()
            r = self.node.post("/register_with", {"node_address": stub.url.rstrip("/")})
            self.assertEqual((r.status, r.body), (status, body), r)
            self.assertUnchanged(before, "a refused registration")

    def test_register_with_a_tampered_chain_keeps_ours(self):
        remote_chain = [genesis()]
        remote_chain.append(mine_block(remote_chain[-1], [{"author": "r", "content": "1"}]))
        remote_chain.append(dict(mine_block(remote_chain[-1], [{"author": "r", "content": "2"}]), nonce=-1))
        stub = start_stub(self, {("POST", "/register_node"): (200, StubPeer.dump(remote_chain), HTML)})
        self.add_tx({"author": "a", "content": "c"})
        self.mine(1)
        chain = self.node.chain()["chain"]
        self.node.post("/register_with", {"node_address": stub.url.rstrip("/")})
        self.assertEqual(self.node.chain()["chain"], chain)

    def test_register_with_bad_input(self):
        before = self.node.state()
        self.assertReply(self.node.post("/register_with", {"node_address": ""}), 400, "Invalid data")
        self.assertUnchanged(before, "an empty node_address")
        closed = "http://127.0.0.1:%d" % free_port()
        for body in (b"not json", b"[]", b"{}", b'{"node_address": null}', b'{"node_address": 5}',
                     b'{"node_address": ["http://127.0.0.1:1"]}', b"",
                     b'{"node_address": "http://10.255.255.1:8000"}', b'{"node_address": "http://192.0.2.1:80"}'):
            t0 = time.monotonic()
            self.assertOneLine4xx(self.node.post_raw("/register_with", body), body)
            self.assertLess(time.monotonic() - t0, HANG_GUARD)
            self.assertUnchanged(before, "POST /register_with %r" % body)
        r = self.node.post("/register_with", {"node_address": closed})
        self.assertGreaterEqual(r.status, 400, r)
        self.assertUnchanged(before, "registering with a closed port")

    def test_mined_blocks_are_announced(self):
        stub = start_stub(self)
        self.assertEqual(self.node.post("/register_node", {"node_address": stub.url}).status, 200)
        self.add_tx({"author": "a", "content": "announce me", "x": "\u00e9\ud83d\ude00"})
        self.mine(1)
        block = self.node.chain()["chain"][1]
        [req] = stub.wait_for("POST", "/add_block")
        self.assertEqual(req["headers"].get("content-type"), "application/json")
        self.assertEqual(req["body"], json.dumps(block, sort_keys=True).encode())
        # After a block added from outside, the next mined one is announced too.
        b2 = mine_block(block, [{"author": "py", "content": "from outside"}])
        self.assertEqual(self.node.post_raw("/add_block", json.dumps(b2, sort_keys=True).encode()).status, 201)
        self.add_tx({"author": "a", "content": "again"})
        self.mine(3)
        block3 = self.node.chain()["chain"][3]
        reqs = wait_until(lambda: [r for r in stub.requests if r["method"] == "POST" and r["path"] == "/add_block"
                                   and json.loads(r["body"])["index"] == 3], "block 3 announced")
        self.assertEqual(reqs[0]["body"], json.dumps(block3, sort_keys=True).encode())


if __name__ == "__main__":
    unittest.main()

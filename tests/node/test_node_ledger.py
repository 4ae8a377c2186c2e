"""The auction ledger (issue 16) on real `hashforge node`s, checked against ledger_oracle.py
(the ledger rewritten in Python from its definition, with the `cryptography` package's
Ed25519) and driven both by hand-made requests and by the `hashforge auction` client.

* One node: every operation kind commits; every block's state root equals the root the
  oracle computes by replaying the blocks' operations; malformed, unsigned, wrongly signed,
  replayed, out-of-order, overdrawn and unauthorised operations each get their 4xx and change
  nothing; proofs and absence proofs check in Python against headers checked in Python.
* Four nodes on HTTPS with mutual-TLS peer links: operations sent to different nodes commit
  on every node alike; the client's proof-checked and quorum reads agree with the oracle; a
  node killed with SIGKILL leaves the others committing and serving reads, and catches up
  when restarted; with two of the four killed the other two still commit and serve reads.
* A Byzantine node (hashforge node --byzantine, a test mode): wrong reads are caught by both
  checked read modes and the node named; forged blocks get its link banned; empty blocks and
  equivocation do not stop honest nodes committing and agreeing.
* A packet capture of two linked nodes (tshark, as root): only TLS 1.3 between them.
"""
import hashlib
import json
import re
import os
import signal
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import ledger_oracle as lo
import netns_harness
import node_harness
from node_harness import BIN, HANG_GUARD, Node, get, post_json, post_raw, wait_until, free_port

OPENSSL = shutil.which("openssl")
TSHARK = shutil.which("tshark")
NAMES = ("a", "b", "c", "d")
CONVERGE = HANG_GUARD * 3

KEYS = None
ADMIN = lo.Key()
NS_NET = netns_harness.subnet(130)  # the namespace cluster's /24: node i of NAMES at .i+1


def pem(name, ext):
    return os.path.join(KEYS, name + ext)


def cert_sha256(path):
    """A certificate file's SHA-256 fingerprint as openssl prints it (AB:CD:...)."""
    with open(path) as f:
        h = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, 64, 2))


def setUpModule():
    global KEYS
    if not OPENSSL:
        raise unittest.SkipTest("the openssl command is not installed (needed to make node certificates)")
    KEYS = tempfile.mkdtemp(prefix="hf-ledger-keys-")
    bundle = []
    for name in NAMES:
        r = subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", pem(name, ".key"), "-out", pem(name, ".crt"), "-days", "2",
                            "-subj", "/CN=" + name, "-addext",
                            "subjectAltName=IP:127.0.0.1,IP:%s.%d" % (NS_NET, NAMES.index(name) + 1)],
                           capture_output=True, text=True, timeout=HANG_GUARD)
        if r.returncode != 0:
            raise AssertionError("openssl req for %s: %s" % (name, r.stderr))
        with open(pem(name, ".crt")) as f:
            bundle.append(f.read())
    with open(os.path.join(KEYS, "ca.pem"), "w") as f:
        f.write("".join(bundle))
    node_harness.TLS_CA = os.path.join(KEYS, "ca.pem")


def tearDownModule():
    if KEYS:
        shutil.rmtree(KEYS, ignore_errors=True)


def key_id(name):
    r = subprocess.run([BIN, "node", "--print-key-id", "--node-cert", pem(name, ".crt")], capture_output=True,
                       text=True, timeout=HANG_GUARD, check=True)
    return r.stdout.strip()


def write_spec(test, difficulty=4, interval=1, nodes=()):
    spec = {"name": "ledger-test-%d" % os.getpid(), "scheme": "header-sha256d", "difficulty": difficulty,
            "block_interval": interval,
            "genesis": {"index": 0, "transactions": [], "timestamp": 1700000000, "previous_hash": lo.ZERO,
                        "nonce": 0, "state_root": lo.ZERO, "bits": 0x1F0FFFFF},
            "ledger": {"admins": [ADMIN.hex]}}
    if nodes:
        spec["nodes"] = [{"name": n, "key": key_id(n)} for n in nodes]
    fd, path = tempfile.mkstemp(suffix=".json", dir=KEYS)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    return path


def network_id(node):
    return get(node.api("/api/status")).json()["chain_spec"]


def submit(node, op):
    r = post_json(node.api("/api/ops"), op)
    return r.status, json.loads(r.body)


def op_status(node, op_id):
    return get(node.api("/api/ops/" + op_id)).json()


def wait_committed(test, nodes, op_id, confirmations=1):
    def done():
        return all(op_status(n, op_id).get("confirmations", 0) >= confirmations for n in nodes)
    wait_until(done, "operation %s committed on every node" % op_id[:16], timeout=CONVERGE)


def check_chain_against_oracle(test, fetch, network):
    """Every block's state root is the oracle's after replaying the chain's operations, and
    every header checks (`fetch(path)` GETs from the node). Returns the oracle's ledger at the
    tip."""
    for attempt in range(10):  # a live node may take a block between the two reads
        chain = fetch("/chain").json()["chain"]
        headers = fetch("/api/headers?from=1&count=%d" % (len(chain) - 1)).json()["headers"]
        if [h["hash"] for h in headers] == [b["hash"] for b in chain[1:]]:
            break
        time.sleep(0.2)
    else:
        test.fail("/chain and /api/headers never agreed")
    ledger = lo.Ledger([ADMIN.hex], network)
    for b in chain[1:]:
        for op in b["transactions"]:
            test.assertTrue(lo.verify_sig(op, network), "block %d carries a badly signed operation" % b["index"])
        ledger.apply_block(b["transactions"])
        test.assertEqual(b["state_root"], ledger.root(), "block %d's state root" % b["index"])
    prev = chain[0]["hash"]
    for h in headers:
        fields = lo.check_header(h)
        test.assertEqual(fields["previous"], prev)
        prev = h["hash"]
    test.assertEqual(prev, chain[-1]["hash"])
    return ledger


def run_client(*args, check=True, timeout=HANG_GUARD * 2, prefix=()):
    r = subprocess.run(list(prefix) + [BIN, "auction"] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("hashforge auction %s: exit %d: %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r


class OneNode(unittest.TestCase):
    """Operations, refusals, proofs and the oracle on one node mining every second."""

    def setUp(self):
        self.spec = write_spec(self, difficulty=4, interval=0)
        self.node = Node("--chain-spec", self.spec, "--mine", "auto", "--block-interval", "0.5", "--max-body", "4096")
        self.addCleanup(self.node.close)
        self.net = network_id(self.node)

    def test_every_operation_commits_and_matches_the_oracle(self):
        n, net = self.node, self.net
        alice, bob, carol = lo.Key(), lo.Key(), lo.Key()
        ops = [lo.make_op(ADMIN, net, "create_money", 1, to=alice.hex, amount=1000),
               lo.make_op(ADMIN, net, "create_money", 2, to=bob.hex, amount=500),
               lo.make_op(ADMIN, net, "create_money", 3, to=carol.hex, amount=500),
               lo.make_op(alice, net, "transfer", 1, to=bob.hex, amount=100)]
        for op in ops:
            status, body = submit(n, op)
            self.assertEqual(status, 202, body)
            self.assertEqual(body["op_id"], lo.op_id(op, net))
        tip = get(n.api("/api/status")).json()["height"]
        closes = tip + 12
        auction = lo.make_op(alice, net, "create_auction", 2, item="a brass lamp", amount=50, closes_at=closes)
        doomed = lo.make_op(alice, net, "create_auction", 3, item="a chipped cup", amount=5, closes_at=closes + 100)
        for op in (auction, doomed):
            self.assertEqual(submit(n, op)[0], 202)
        aid, did = lo.op_id(auction, net), lo.op_id(doomed, net)
        wait_committed(self, [n], did)
        bids = [lo.make_op(bob, net, "bid", 1, auction=aid, amount=60),
                lo.make_op(carol, net, "bid", 1, auction=aid, amount=80),
                lo.make_op(bob, net, "bid", 2, auction=aid, amount=120),
                lo.make_op(alice, net, "cancel_auction", 4, auction=did)]
        for op in bids:
            status, body = submit(n, op)
            self.assertEqual(status, 202, body)
        # Bob's escrow is his whole bid; carol's is still held until the close.
        wait_committed(self, [n], lo.op_id(bids[-1], net))
        wait_until(lambda: get(n.api("/api/status")).json()["height"] > closes, "the closing height", timeout=CONVERGE)
        ledger = check_chain_against_oracle(self, n.get, net)
        acct = lambda k: get(n.api("/api/account/" + k.hex)).json()
        self.assertEqual(acct(alice)["value"], {"balance": 1000 - 100 + 120, "held": 0, "free": 1020, "next_seq": 5})
        self.assertEqual(acct(bob)["value"], {"balance": 600 - 120, "held": 0, "free": 480, "next_seq": 3})
        self.assertEqual(acct(carol)["value"], {"balance": 500, "held": 0, "free": 500, "next_seq": 2})
        a = get(n.api("/api/auction/" + aid)).json()
        self.assertEqual((a["value"]["status"], a["value"]["high"], a["value"]["leader"]), ("closed", 120, bob.hex))
        self.assertEqual(get(n.api("/api/auction/" + did)).json()["value"]["status"], "cancelled")
        self.assertEqual(ledger.accounts[alice.hex], [1020, 0, 5])
        # A proof and an absence proof, checked here against a header checked here.
        for k in (alice, lo.Key()):
            r = get(n.api("/api/account/" + k.hex + "?depth=2")).json()
            lo.check_header(r["block"])
            key = "61" + k.hex
            if r["found"]:
                self.assertTrue(lo.verify_proof(r["proof"], r["block"]["state_root"]))
                self.assertEqual(r["proof"]["key"], key)
            else:
                self.assertTrue(lo.verify_absence(r["absence"], key, r["block"]["state_root"]))
        self.assertEqual(get(n.api("/api/status")).json()["tip"], get(n.api("/chain")).json()["chain"][-1]["hash"])

    def test_bad_operations_are_refused_and_change_nothing(self):
        n, net = self.node, self.net
        alice, bob = lo.Key(), lo.Key()
        self.assertEqual(submit(n, lo.make_op(ADMIN, net, "create_money", 1, to=alice.hex, amount=100))[0], 202)
        wait_committed(self, [n], lo.op_id(lo.make_op(ADMIN, net, "create_money", 1, to=alice.hex, amount=100), net))
        good = lo.make_op(alice, net, "transfer", 1, to=bob.hex, amount=10)
        wrong_sig = dict(good, sig=ADMIN.priv.sign(b"something else").hex())
        unsigned = dict(good, sig="00" * 64)
        other_net = lo.make_op(alice, "another-network", "transfer", 1, to=bob.hex, amount=10)
        cases = [
            ("not JSON", b"{nope", 400),
            ("not an object", b"[1, 2]", 400),
            ("unknown kind", json.dumps(dict(good, op="steal")).encode(), 400),
            ("extra field", json.dumps(dict(good, memo="hi")).encode(), 400),
            ("missing field", json.dumps({k: v for k, v in good.items() if k != "amount"}).encode(), 400),
            ("bad hex", json.dumps(dict(good, to="zz" * 32)).encode(), 400),
            ("negative amount", json.dumps(dict(good, amount=-5)).encode(), 400),
            ("zero amount", json.dumps(lo.make_op(alice, net, "transfer", 1, to=bob.hex, amount=0)).encode(), 400),
            ("to oneself", json.dumps(lo.make_op(alice, net, "transfer", 1, to=alice.hex, amount=1)).encode(), 400),
            ("oversized", b'{"op": "transfer", "item": "' + b"x" * 5000 + b'"}', 413),
            ("unsigned", json.dumps(unsigned).encode(), 403),
            ("wrongly signed", json.dumps(wrong_sig).encode(), 403),
            ("signed for another network", json.dumps(other_net).encode(), 403),
            ("replayed", json.dumps(lo.make_op(ADMIN, net, "create_money", 1, to=alice.hex, amount=100)).encode(), 409),
            ("out of order", json.dumps(lo.make_op(alice, net, "transfer", 2, to=bob.hex, amount=10)).encode(), 409),
            ("overdrawn", json.dumps(lo.make_op(alice, net, "transfer", 1, to=bob.hex, amount=101)).encode(), 422),
            ("money by a non-admin", json.dumps(lo.make_op(alice, net, "create_money", 1, to=bob.hex, amount=5)).encode(), 403),
            ("unknown account", json.dumps(lo.make_op(bob, net, "transfer", 1, to=alice.hex, amount=1)).encode(), 422),
            ("bid on no auction", json.dumps(lo.make_op(alice, net, "bid", 1, auction="ab" * 32, amount=5)).encode(), 422),
        ]
        before = get(n.api("/api/account/" + alice.hex)).json()
        refused_before = get(n.api("/api/status")).json()["ledger"]["ops_refused"]
        for what, body, status in cases:
            r = post_raw(n.api("/api/ops"), body)
            self.assertEqual(r.status, status, "%s: %r" % (what, r))
            if r.status != 413:
                self.assertTrue(json.loads(r.body)["error"], what)
        after = get(n.api("/api/account/" + alice.hex)).json()
        self.assertEqual(after["value"], before["value"])
        self.assertEqual(after["pool_next_seq"], 1)
        self.assertEqual(get(n.api("/pending_tx")).json(), [])
        self.assertGreaterEqual(get(n.api("/api/status")).json()["ledger"]["ops_refused"] - refused_before,
                                len([c for c in cases if c[2] not in (400, 413)]))
        # The good one still goes through after all that, and twice is one operation: the
        # second answer is "already pending" or, if a block took it meanwhile, "replayed".
        self.assertEqual(submit(n, good)[0], 202)
        status, body = submit(n, good)
        self.assertIn(status, (200, 409), body)
        if status == 409:
            self.assertIn("already committed", body["error"])
        # The seed's transaction endpoint does not take plain transactions on a ledger network.
        self.assertEqual(post_json(n.url + "new_transaction", {"author": "a", "content": "b"}).status, 400)

    def test_a_full_pending_pool_asks_clients_to_retry(self):
        # A node that mines only when asked, with room for two pending operations: the third
        # gets 503 and changes nothing; once a block takes the two, it is accepted.
        n = Node("--chain-spec", self.spec, "--mine", "off", "--max-pending", "2")
        self.addCleanup(n.close)
        net = network_id(n)
        alice, bob, carol = lo.Key(), lo.Key(), lo.Key()
        ops = [lo.make_op(ADMIN, net, "create_money", i + 1, to=k.hex, amount=10) for i, k in enumerate((alice, bob, carol))]
        self.assertEqual(submit(n, ops[0])[0], 202)
        self.assertEqual(submit(n, ops[1])[0], 202)
        status, body = submit(n, ops[2])
        self.assertEqual(status, 503, body)
        self.assertIn("pending pool is full", body["error"])
        self.assertEqual(len(get(n.api("/pending_tx")).json()), 2)
        self.assertEqual(get(n.url + "mine").status, 200)
        wait_committed(self, [n], lo.op_id(ops[1], net))
        self.assertEqual(submit(n, ops[2])[0], 202)

    def test_reads_refuse_blocks_out_of_reach(self):
        n = self.node
        k = lo.Key().hex
        self.assertEqual(get(n.api("/api/account/" + k + "?depth=5000")).status, 404)
        self.assertEqual(get(n.api("/api/account/" + k + "?height=-1")).status, 400)
        self.assertEqual(get(n.api("/api/account/" + k + "?height=1&depth=1")).status, 400)
        self.assertEqual(get(n.api("/api/account/xyz")).status, 400)
        self.assertEqual(get(n.api("/api/ops/" + "0" * 64)).json()["status"], "unknown")


class Cluster(unittest.TestCase):
    """Four HTTPS nodes with mutual-TLS links on loopback, driven through `hashforge auction`.
    NamespaceCluster runs the same tests with each node in its own network namespace."""

    def host(self, name):
        return "127.0.0.1"

    def start(self, name, extra=(), data=None):
        for attempt in range(3):
            try:
                return self.start_once(name, extra, data)
            except AssertionError as e:
                # A port free when chosen may be taken by another test's process first. Only nodes
                # started after this one dial its link port, so a first start may take another.
                if attempt == 2 or "Address already in use" not in str(e) or name in self.nodes:
                    raise
                self.link_ports[name] = free_port()

    def start_once(self, name, extra, data):
        port = self.link_ports[name]
        args = ["--chain-spec", self.spec, "--mine", "auto", "--block-interval", "1", "--threads", "1",
                "--tls-cert", pem(name, ".crt"), "--tls-key", pem(name, ".key"),
                "--node-cert", pem(name, ".crt"), "--node-key", pem(name, ".key"),
                "--peer-listen", "%s:%d" % (self.host(name), port)]
        for other in NAMES:
            if other < name:  # one link per pair: each node dials those before it
                args += ["--connect", "%s:%d" % (self.host(other), self.link_ports[other])]
        # Not quiet: tests read what a node says of its links (its log goes to a file).
        # The API port is the node's choice (its URL is read from what it prints).
        return Node(*(args + list(extra)), data=data, listen="%s:0" % self.host(name), quiet=False)

    def setUp(self):
        self.spec = write_spec(self, difficulty=4, interval=1, nodes=NAMES)
        self.link_ports = {n: free_port() for n in NAMES}
        self.dirs = {n: tempfile.mkdtemp(prefix="hf-ledger-%s-" % n) for n in NAMES}
        for d in self.dirs.values():
            self.addCleanup(shutil.rmtree, d, True)
        self.nodes = {}

    def get(self, name, path):
        """GET `path` from node `name` (a Reply)."""
        return get(self.nodes[name].api(path))

    def status(self, name):
        return self.get(name, "/api/status").json()

    def client(self, *args, check=True):
        """`hashforge auction` with these arguments, from where the nodes can be reached."""
        return run_client(*args, check=check)

    def up(self, byzantine=None):
        for n in NAMES:
            extra = ["--byzantine", byzantine] if (byzantine and n == "d") else []
            self.nodes[n] = self.start(n, extra, data=self.dirs[n])
            self.addCleanup(self.nodes[n].close)
        self.net = self.status("a")["chain_spec"]
        wait_until(lambda: all(self.status(n)["links"] >= 2 for n in NAMES),
                   "the links up", timeout=CONVERGE)  # 3 each, unless d's is dropped already

    def restart(self, name):
        self.nodes[name] = self.start(name, data=self.dirs[name])
        self.addCleanup(self.nodes[name].close)

    def client_args(self, order=NAMES):
        args = ["--chain-spec", self.spec, "--tls-ca", node_harness.TLS_CA]
        for n in order:
            args += ["--node", self.nodes[n].url.rstrip("/")]
        return args

    def keyfile(self, key):
        path = os.path.join(KEYS, "seed-%s" % key.hex[:16])
        with open(path, "w") as f:
            f.write(key.seed.hex() + "\n")
        return path

    def converge(self, names=NAMES):
        def same():
            return len({self.status(n)["tip"] for n in names}) == 1
        wait_until(same, "nodes %s on one tip" % ",".join(names), timeout=CONVERGE)

    def check_against_oracle(self, name):
        return check_chain_against_oracle(self, lambda path: self.get(name, path), self.net)

    def test_operations_commit_everywhere_and_reads_check(self):
        self.up()
        alice, bob = lo.Key(), lo.Key()
        admin_file, alice_file = self.keyfile(ADMIN), self.keyfile(alice)
        # Each operation to a different node first.
        r = self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 1000, "--wait", 60, "--k", 2,
                       *self.client_args(("b", "a", "c", "d")))
        out = json.loads(r.stdout)
        self.assertEqual(out["committed"]["status"], "committed")
        r = self.client("transfer", "--key", alice_file, "--to", bob.hex, "--amount", 250, "--wait", 60, "--k", 3,
                       *self.client_args(("c", "a", "b", "d")))
        self.assertGreaterEqual(json.loads(r.stdout)["committed"]["confirmations"], 3)
        r = self.client("transfer", "--key", alice_file, "--to", bob.hex, "--amount", 5000,
                       *self.client_args(("d", "a", "b", "c")), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("insufficient funds", r.stderr)
        for mode in ("proof", "quorum"):
            r = self.client("balance", bob.hex, "--check", mode, "--k", 2, *self.client_args())
            v = json.loads(r.stdout)
            self.assertEqual(v["value"]["balance"], 250, (mode, v))
            self.assertEqual(v["checked"], mode)
        # The nodes pinned by certificate instead of a CA: one --tls-fingerprint a node. A node
        # whose certificate is not among the pins is refused, every pin named, and the next asked.
        pins = [a for n in NAMES for a in ("--tls-fingerprint", cert_sha256(pem(n, ".crt")))]
        nodes = [a for n in NAMES for a in ("--node", self.nodes[n].url.rstrip("/"))]
        r = self.client("balance", bob.hex, "--check", "quorum", "--k", 2, "--chain-spec", self.spec, *pins, *nodes)
        self.assertEqual(json.loads(r.stdout)["value"]["balance"], 250)
        r = self.client("balance", bob.hex, "--check", "proof", "--k", 2, "--chain-spec", self.spec, *pins[2:], *nodes)
        self.assertEqual(json.loads(r.stdout)["value"]["balance"], 250)
        self.assertIn("certificate fingerprint mismatch", r.stderr)
        self.assertIn(self.nodes["a"].url.rstrip("/"), r.stderr)
        self.converge()
        ledgers = [self.check_against_oracle(n) for n in NAMES]
        self.assertEqual({l.root() for l in ledgers}.__len__(), 1)

    def test_a_killed_node_catches_up(self):
        self.up()
        alice = lo.Key()
        admin_file = self.keyfile(ADMIN)
        self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 10, "--wait", 60, "--k", 1,
                   *self.client_args())
        self.nodes["c"].kill()
        # c first in the list: the client moves on to the next node.
        for i in range(3):
            self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 10, "--wait", 60, "--k", 2,
                       "--quiet", *self.client_args(("c", "a", "b", "d")))
        r = self.client("balance", alice.hex, "--check", "quorum", "--k", 1, "--quiet",
                       *self.client_args(("a", "b", "c", "d")))
        self.assertEqual(json.loads(r.stdout)["value"]["balance"], 40)
        self.restart("c")
        self.converge()
        roots = {self.status(n)["ledger"]["state_root"] for n in NAMES}
        self.assertEqual(len(roots), 1)

    def test_two_of_four_killed_still_commit_and_read(self):
        # BFT-SMaRt needs 3 of its 4 replicas; here the two left mine on, and f + 1 = 2 of
        # the 4 listed nodes are enough for confirmations and quorum reads.
        self.up()
        alice = lo.Key()
        admin_file = self.keyfile(ADMIN)
        self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 7, "--wait", 60, "--k", 1,
                   *self.client_args())
        for n in ("c", "d"):
            self.nodes[n].kill()
        r = self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 8, "--wait", 90, "--k", 2,
                       "--quiet", *self.client_args(("c", "d", "a", "b")))
        self.assertEqual(json.loads(r.stdout)["committed"]["status"], "committed")
        for mode in ("quorum", "proof"):
            r = self.client("balance", alice.hex, "--check", mode, "--k", 1, "--quiet", *self.client_args())
            self.assertEqual(json.loads(r.stdout)["value"]["balance"], 15, mode)
        self.converge(("a", "b"))

    def test_wrong_reads_are_caught(self):
        self.up(byzantine="wrong-reads")
        alice = lo.Key()
        self.client("money", "--key", self.keyfile(ADMIN), "--to", alice.hex, "--amount", 777, "--wait", 60, "--k", 2,
                   *self.client_args(("a", "b", "c", "d")))
        liar = self.nodes["d"].url.rstrip("/")
        path = "/api/account/" + alice.hex + "?depth=2"
        wait_until(lambda: self.get("d", path).json()["found"], "d holding the block", timeout=CONVERGE)
        raw = self.get("d", path).json()
        self.assertNotEqual(raw["value"]["balance"], 777)  # it does lie
        r = self.client("balance", alice.hex, "--check", "proof", "--k", 2, *self.client_args(("d", "a", "b", "c")))
        self.assertEqual(json.loads(r.stdout)["value"]["balance"], 777)
        self.assertIn(liar, r.stderr)
        self.assertIn("does not check", r.stderr)
        # Each node answers at its own tip less the depth while blocks keep coming, so the liar
        # may answer at another block than the quorum's (no vote there, nothing to catch): ask
        # again until it answers at the same block. Every answer must be the true one.
        for _ in range(10):
            r = self.client("balance", alice.hex, "--check", "quorum", "--k", 2, *self.client_args())
            v = json.loads(r.stdout)
            self.assertEqual(v["value"]["balance"], 777)
            if liar in v["disagreed"]:
                break
        self.assertIn(liar, v["disagreed"])
        # Only the liar to ask: no answer is shown as true.
        r = self.client("balance", alice.hex, "--check", "proof", "--k", 2, "--chain-spec", self.spec, "--tls-ca",
                       node_harness.TLS_CA, "--node", liar, check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stdout, "")

    def test_forged_blocks_get_the_link_banned(self):
        self.up(byzantine="forge-ops")
        honest = ("a", "b", "c")
        wait_until(lambda: all(self.status(n)["links"] == 2 for n in honest),
                   "d's link dropped by every honest node", timeout=CONVERGE)
        alice = lo.Key()
        self.client("money", "--key", self.keyfile(ADMIN), "--to", alice.hex, "--amount", 5, "--wait", 90, "--k", 2,
                   *self.client_args(honest))
        # Each honest node dropped d's link; at least one of them said why (the others may have
        # been told of the ban before d's block reached them).
        self.assertTrue(any("sent an invalid block" in self.nodes[n].stderr() for n in honest),
                        "no honest node logged d's invalid block")
        for n in honest:
            chain = self.get(n, "/chain").json()["chain"]
            for b in chain[1:]:
                for op in b["transactions"]:
                    self.assertTrue(lo.verify_sig(op, self.net), "a forged operation on %s's chain" % n)
        self.assertEqual([self.status(n)["links"] for n in honest], [2, 2, 2])

    def commits_despite(self, mode, misbehaved=None):
        self.up(byzantine=mode)
        # d must have misbehaved before the operation goes in, or the commit proves nothing: a
        # block of its own (empty, withheld), or the line it logs for a pair of twins.
        if misbehaved is None:
            misbehaved = lambda: self.status("d")["mining"]["blocks_mined"] > 0  # noqa: E731
        wait_until(misbehaved, "d misbehaving (%s)" % mode, timeout=CONVERGE)
        alice = lo.Key()
        r = self.client("money", "--key", self.keyfile(ADMIN), "--to", alice.hex, "--amount", 9, "--wait", 90,
                       "--k", 3, *self.client_args(("a", "b", "c")))
        self.assertEqual(json.loads(r.stdout)["committed"]["status"], "committed")
        self.converge(("a", "b", "c"))
        self.check_against_oracle("a")

    def test_empty_blocks_do_not_stop_commits(self):
        self.commits_despite("empty-blocks")

    def test_equivocation_does_not_stop_commits(self):
        self.commits_despite("equivocate", lambda: "byzantine: sent two blocks" in self.nodes["d"].stderr())

    def test_withheld_blocks_do_not_stop_commits(self):
        # d mines but tells no one: the others commit on their own chain and never see its blocks.
        self.commits_despite("withhold")
        # Catch d with blocks of its own (its log names each block it mines; the chains alone
        # cannot tell d's blocks from an honest side branch d saw before the others left it).
        withheld = set()

        def d_ahead():
            for line in self.nodes["d"].stderr().splitlines():
                m = re.search(r"mined block \d+ ([0-9a-f]{64})", line)
                if m:
                    withheld.add(m.group(1))
            return bool(withheld)
        wait_until(d_ahead, "a block of d's own", timeout=CONVERGE)
        self.assertGreater(self.status("d")["mining"]["blocks_mined"], 0)
        time.sleep(3)  # time enough for a block to cross a link several times over
        for n in ("a", "b", "c"):
            known = [h for h in withheld if self.get(n, "/api/block/" + h).status == 200]
            self.assertEqual(known, [], "withheld blocks reached %s" % n)


NETNS_WHY_NOT = netns_harness.unavailable()


@unittest.skipIf(NETNS_WHY_NOT, NETNS_WHY_NOT)
class NamespaceCluster(Cluster):
    """The Cluster tests again with each node in its own network namespace (its own address on
    a bridge the test makes; the client runs in the bridge's namespace), and one more that only
    namespaces allow: a node cut off from the network mines alone, then rejoins."""

    def setUp(self):
        super().setUp()
        self.bridge = netns_harness.Bridge(self, len(NAMES), NS_NET)
        self.ns = dict(zip(NAMES, self.bridge.ns))

    def host(self, name):
        return self.bridge.address(NAMES.index(name) + 1)

    def start(self, name, extra=(), data=None):
        saved, node_harness.BIN = node_harness.BIN, self.bridge.wrapper(self.ns[name], node_harness.BIN, KEYS)
        try:  # Node() runs [node_harness.BIN, "node", ...]
            return super().start(name, list(extra) + ["--allow-peer", NS_NET + ".0/24"], data)
        finally:
            node_harness.BIN = saved

    def get(self, name, path):
        return netns_harness.in_netns(self.bridge.hub, get, self.nodes[name].api(path))

    def client(self, *args, check=True):
        return run_client(*args, check=check, prefix=(netns_harness.IP, "netns", "exec", self.bridge.hub))

    def test_a_cut_off_node_mines_alone_then_rejoins(self):
        self.up()
        alice, bob = lo.Key(), lo.Key()
        admin_file = self.keyfile(ADMIN)
        self.client("money", "--key", admin_file, "--to", alice.hex, "--amount", 50, "--wait", 60, "--k", 2,
                    *self.client_args())
        self.converge()
        lone = lo.make_op(alice, self.net, "transfer", 1, to=bob.hex, amount=20)
        lone_id = lo.op_id(lone, self.net)
        self.bridge.cut(self.ns["d"])
        try:
            for _ in range(2):
                self.client("money", "--key", admin_file, "--to", bob.hex, "--amount", 1, "--wait", 90, "--k", 2,
                            "--quiet", *self.client_args(("a", "b", "c")))
            # From inside d's namespace, the only place d can be reached from now.
            r = netns_harness.in_netns(self.ns["d"], post_json, self.nodes["d"].api("/api/ops"), lone)
            self.assertEqual(r.status, 202, r)
            wait_until(lambda: netns_harness.in_netns(self.ns["d"], get, self.nodes["d"].api("/api/ops/" + lone_id))
                       .json().get("confirmations", 0) >= 1, "d mining the operation alone", timeout=CONVERGE)
            self.assertNotEqual(self.status("a")["tip"], netns_harness.in_netns(
                self.ns["d"], get, self.nodes["d"].api("/api/status")).json()["tip"])
        finally:
            self.bridge.restore(self.ns["d"])
        # d's branch has less work: d follows the others, and the operation it had committed
        # alone goes back to its pool and is committed on the common chain.
        wait_until(lambda: all(self.get(n, "/api/ops/" + lone_id).json().get("confirmations", 0) >= 1 for n in NAMES),
                   "the cut-off node's operation committed everywhere", timeout=CONVERGE * 2)
        self.converge()
        roots = {self.status(n)["ledger"]["state_root"] for n in NAMES}
        self.assertEqual(len(roots), 1)
        ledger = self.check_against_oracle("a")
        self.assertEqual(ledger.accounts[bob.hex][0], 22)  # 20 from alice (mined alone first), 2 minted
        self.assertEqual(ledger.accounts[alice.hex][0], 30)


class NoPlaintextBetweenNodes(unittest.TestCase):
    """A packet capture (tshark, on the test's own link ports) of two linked nodes while
    operations and blocks flow: every byte between them is inside TLS 1.3 records, and none of
    the operations' or blocks' text appears in the capture."""

    def setUp(self):
        if not TSHARK:
            self.skipTest("tshark is not installed (scripts/setup.sh installs it)")
        if os.geteuid() != 0:
            self.skipTest("not root: capturing on the loopback interface needs CAP_NET_RAW")

    def test_links_carry_only_tls(self):
        names = ("a", "b")
        spec = write_spec(self, difficulty=4, interval=1, nodes=names)
        ports = {n: free_port() for n in names}
        cap = os.path.join(KEYS, "links-%d.pcapng" % os.getpid())
        self.addCleanup(lambda: os.path.exists(cap) and os.remove(cap))
        bpf = "tcp port %d or tcp port %d" % (ports["a"], ports["b"])
        shark = subprocess.Popen([TSHARK, "-q", "-i", "lo", "-f", bpf, "-w", cap], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        self.addCleanup(shark.stderr.close)
        self.addCleanup(lambda: shark.poll() is None and shark.kill())
        wait_until(lambda: os.path.exists(cap) or shark.poll() is not None, "tshark capturing")
        self.assertIsNone(shark.poll(), shark.stderr.read().decode() if shark.poll() is not None else "")
        time.sleep(0.5)
        nodes = {}
        for n in names:
            args = ["--chain-spec", spec, "--mine", "always", "--threads", "1", "--mining-share", "0.2",
                    "--node-cert", pem(n, ".crt"), "--node-key", pem(n, ".key"),
                    "--peer-listen", "127.0.0.1:%d" % ports[n]]
            if n == "b":
                args += ["--connect", "127.0.0.1:%d" % ports["a"]]
            nodes[n] = Node(*args)
            self.addCleanup(nodes[n].close)
        wait_until(lambda: get(nodes["b"].api("/api/status")).json()["links"] == 1, "the link up", timeout=CONVERGE)
        net = network_id(nodes["a"])
        alice = lo.Key()
        item = "plaintext-canary-%d" % os.getpid()
        ops = [lo.make_op(ADMIN, net, "create_money", 1, to=alice.hex, amount=500),
               lo.make_op(alice, net, "create_auction", 1, item=item, amount=5, closes_at=10 ** 6)]
        for op in ops:
            self.assertEqual(submit(nodes["a"], op)[0], 202)
            wait_committed(self, [nodes["b"]], lo.op_id(op, net))
        time.sleep(1)
        shark.send_signal(signal.SIGINT)
        shark.wait(HANG_GUARD)
        fields = subprocess.run([TSHARK, "-r", cap, "-T", "fields", "-e", "tcp.payload"], capture_output=True,
                                text=True, timeout=HANG_GUARD, check=True).stdout
        payload = b"".join(bytes.fromhex(line.replace(":", "")) for line in fields.split() if line)
        self.assertGreater(len(payload), 5000, "the capture holds the link's traffic")
        for marker in (item.encode(), alice.hex.encode(), ADMIN.hex.encode(), b'"type"', b'"transactions"', b"create_money"):
            self.assertNotIn(marker, payload, "plaintext on the link: %r" % marker)
        # Every TCP payload is TLS records (a segment holding only part of a record shows as
        # TLS in the frame where the record is reassembled: two passes name that frame; a
        # retransmitted segment repeats bytes shown already, and tshark does not dissect it
        # again: its bytes are in `payload` above all the same), and the handshake chose TLS 1.3.
        shown = subprocess.run([TSHARK, "-2", "-r", cap, "-Y",
                                "tcp.len > 0 and not tls and not tcp.reassembled_in and not tcp.analysis.retransmission"
                                " and not tcp.analysis.fast_retransmission and not tcp.analysis.spurious_retransmission",
                                "-T", "fields", "-e", "frame.number"],
                               capture_output=True, text=True, timeout=HANG_GUARD, check=True).stdout.split()
        self.assertEqual(shown, [], "segments that are not TLS")
        versions = subprocess.run([TSHARK, "-r", cap, "-Y", "tls.handshake.type == 2", "-T", "fields", "-e",
                                   "tls.handshake.extensions.supported_version"], capture_output=True, text=True,
                                  timeout=HANG_GUARD, check=True).stdout.split()
        self.assertTrue(versions, "no ServerHello captured")
        self.assertTrue(all(v == "0x0304" for v in versions), versions)


if __name__ == "__main__":
    unittest.main()

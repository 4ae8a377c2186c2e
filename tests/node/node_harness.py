"""Test harness for `hashforge node`: starts the real binary (HASHFORGE_BIN) and the reference
peer (seed_peer.py) on loopback, talks HTTP to them, and checks blocks with hashlib and
Python's json alone (no hashforge code), so the tests are an independent oracle for the
tutorial network's hashing and API bytes.

Every wait has a timeout (HANG_GUARD); every process started here is stopped by its test's
cleanup, and at exit whatever is left is killed."""
import atexit
import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("HASHFORGE_BIN", "hashforge")
SEED = os.path.join(HERE, "seed_peer.py")
SEED_PYTHON = os.environ.get("HF_SEED_PYTHON", sys.executable)  # needs Flask and requests
SANITIZED = os.environ.get("HF_SANITIZED") == "1"  # the binary is an ASan build
HANG_GUARD = 60 if SANITIZED else 30  # seconds any single wait may take before the test fails as hung
FIELDS = ("index", "transactions", "timestamp", "previous_hash", "nonce")
BLOCK_KEYS = list(FIELDS) + ["hash"]
HTML = "text/html; charset=utf-8"
DISCARDED = "The block was discarded by the node: "
MIB = 1 << 20

_live = []  # every process started here, killed at exit if a test left one behind


@atexit.register
def _kill_leftovers():
    for p in _live:
        if p.poll() is None:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------------------------
# The chain, in Python


def block_hash(b):
    """The seed's block hash: SHA-256 of json.dumps of the five fields, sorted keys."""
    return hashlib.sha256(json.dumps({k: b[k] for k in FIELDS}, sort_keys=True).encode()).hexdigest()


def genesis():
    g = {"index": 0, "transactions": [], "timestamp": 0, "previous_hash": "0", "nonce": 0}
    g["hash"] = block_hash(g)
    return g


def mine_block(prev, transactions, difficulty=2, timestamp=None, index=None, nonce=0):
    """A block on `prev` (keys in chain order, with "hash"), mined here from `nonce` up."""
    b = {"index": prev["index"] + 1 if index is None else index, "transactions": transactions,
         "timestamp": time.time() if timestamp is None else timestamp, "previous_hash": prev["hash"], "nonce": nonce}
    h = block_hash(b)
    while not h.startswith("0" * difficulty):
        b["nonce"] += 1
        h = block_hash(b)
    b["hash"] = h
    return b


def unmined_block(prev, transactions, difficulty=2, timestamp=1.5):
    """A block on `prev` whose true hash does NOT meet `difficulty` (with that hash)."""
    b = {"index": prev["index"] + 1, "transactions": transactions, "timestamp": timestamp,
         "previous_hash": prev["hash"], "nonce": 0}
    while block_hash(b).startswith("0" * difficulty):
        b["nonce"] += 1
    b["hash"] = block_hash(b)
    return b


def chain_problems(chain, difficulty=2):
    """Everything wrong with a /chain "chain" array, as a list of strings (empty: valid)."""
    out = []
    if not isinstance(chain, list) or not chain:
        return ["not a non-empty list"]
    if chain[0] != genesis() or list(chain[0]) != BLOCK_KEYS:
        out.append("block 0 is not the genesis block: %r" % (chain[0],))
    for i, b in enumerate(chain[1:], 1):
        if not isinstance(b, dict) or list(b) != BLOCK_KEYS:
            out.append("block %d keys %r" % (i, list(b) if isinstance(b, dict) else b))
            continue
        if b["index"] != i or type(b["index"]) is not int:
            out.append("block %d has index %r" % (i, b["index"]))
        if b["previous_hash"] != chain[i - 1].get("hash"):
            out.append("block %d previous_hash %r != hash of block %d" % (i, b["previous_hash"], i - 1))
        if b["hash"] != block_hash(b):
            out.append("block %d hash %r != recomputed %r" % (i, b["hash"], block_hash(b)))
        if not str(b["hash"]).startswith("0" * difficulty):
            out.append("block %d hash %r lacks %d leading zeros" % (i, b["hash"], difficulty))
        if not isinstance(b["transactions"], list):
            out.append("block %d transactions is not a list" % i)
    return out


def python_json(body):
    """The body as Python's json.dumps writes what it parses to (bytes)."""
    return json.dumps(json.loads(body)).encode()


# ---------------------------------------------------------------------------------------------
# HTTP


class Reply:
    def __init__(self, status, ctype, body, headers):
        self.status, self.ctype, self.body, self.headers = status, ctype, body, headers

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        b = self.body if len(self.body) < 600 else self.body[:600] + b"..."
        return "<%d %s %r>" % (self.status, self.ctype, b)


TLS_CA = None  # https:// nodes: the PEM file of certificates to trust (a test sets it)


def tls_context():
    import ssl
    ctx = ssl.create_default_context(cafile=TLS_CA) if TLS_CA else ssl.create_default_context()
    return ctx


def request(method, url, body=None, headers=None, timeout=HANG_GUARD, source=None):
    """One request on its own connection (from loopback address `source` if given); a Reply
    (statuses >= 400 included)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=tls_context(),
                                           source_address=(source, 0) if source else None)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout,
                                          source_address=(source, 0) if source else None)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, r.getheader("Content-Type"), data, r.headers)
    finally:
        conn.close()


def get(url, timeout=HANG_GUARD):
    return request("GET", url, timeout=timeout)


def post_raw(url, body, ctype="application/json", timeout=HANG_GUARD, source=None):
    return request("POST", url, body=body, headers={"Content-Type": ctype}, timeout=timeout, source=source)


def post_json(url, obj, timeout=HANG_GUARD, source=None):
    return post_raw(url, json.dumps(obj).encode(), timeout=timeout, source=source)


_sources = iter(range(1, 1 << 16))


def fresh_source():
    """A loopback address no earlier request of this process came from (127.1.x.y): the node
    judges a peer by its address, so each hostile request can come from a new one."""
    n = next(_sources)
    return "127.1.%d.%d" % (n >> 8, n & 255)


def raw_exchange(url, data, timeout=HANG_GUARD):
    """Sends `data` (a whole request, bytes) from a thread while reading the answer, so a
    server that answers before reading everything (413) is heard. Returns (status, body);
    raises AssertionError if the connection ends without an answer."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)

    def send():
        try:
            s.sendall(data)
        except OSError:
            pass

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        r = http.client.HTTPResponse(s)
        try:
            r.begin()
            body = r.read()
        except (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead) as e:
            raise AssertionError("the connection ended without a complete answer: %r" % e)
        return r.status, body
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
        t.join(HANG_GUARD)


def wait_until(pred, what, timeout=HANG_GUARD, every=0.05):
    """Polls pred() until it is truthy and returns that; a connection or parse error counts as
    not yet. AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        err = None
        try:
            v = pred()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError) as e:
            err = e
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %s s waiting for %s%s"
                                 % (timeout, what, " (last error %r)" % err if err else ""))
        time.sleep(every)


def free_port():
    """A free port for a node to listen on, outside the kernel's ephemeral range: a node killed and
    started again on its port must not find it taken meanwhile by the ephemeral port of some
    outbound connection (seen: "Address already in use" restarting a killed cluster node)."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    first, end = (10000, lo) if lo - 10000 >= 2000 else (hi + 1, 65536)
    for _ in range(200):
        port = random.randrange(first, end)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # every try taken: any free port
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Processes


class Node:
    """`hashforge node` on loopback with its own (or the given) data directory."""

    def __init__(self, *args, data=None, listen="127.0.0.1:0", public_url=None, quiet=True):
        self.own_dir = data is None
        self.dir = data or tempfile.mkdtemp(prefix="hf-node-")
        self.logdir = tempfile.mkdtemp(prefix="hf-node-log-")
        self.args = args
        self.public_url = public_url
        cmd = [BIN, "node", "--listen", listen, "--data", self.dir]
        if quiet:
            cmd.append("--quiet")
        if public_url:
            cmd += ["--public-url", public_url]
        cmd += [str(a) for a in args]
        self.cmd = cmd
        self.err_path = os.path.join(self.logdir, "stderr.log")
        self.out_path = os.path.join(self.logdir, "stdout.log")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err)
        _live.append(self.proc)
        lines = queue.Queue()

        def drain():  # the first line to the queue; everything to stdout.log (the pipe never fills)
            with open(self.out_path, "wb") as out:
                first = True
                for raw in self.proc.stdout:
                    out.write(raw)
                    out.flush()
                    if first:
                        lines.put(raw.decode("utf-8", "replace"))
                        first = False
            lines.put(None)

        self.reader = threading.Thread(target=drain, daemon=True)
        self.reader.start()
        try:
            first = lines.get(timeout=HANG_GUARD)
        except queue.Empty:
            first = ""
        m = re.fullmatch(r"node listening on (https?://[^/\s]+/)\n", first or "")
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.reader.join(HANG_GUARD)
            self.proc.stdout.close()
            self.err.close()
            why = self.stderr()[-3000:]
            shutil.rmtree(self.logdir, ignore_errors=True)
            if self.own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError("%s: no 'node listening on http://HOST:PORT/' line (got %r, exit %r): %s"
                                 % (" ".join(cmd), first, self.proc.returncode, why))
        self.url = m.group(1)

    def api(self, path):
        return self.url + path.lstrip("/")

    def get(self, path):
        return get(self.api(path))

    def post(self, path, obj, source=None):
        return post_json(self.api(path), obj, source=source)

    def post_raw(self, path, body, ctype="application/json", source=None):
        return post_raw(self.api(path), body, ctype, source=source)

    def chain(self):
        r = self.get("/chain")
        assert r.status == 200, r
        return r.json()

    def pending(self):
        r = self.get("/pending_tx")
        assert r.status == 200, r
        return r.json()

    def state(self):
        """(/chain body, /pending_tx body): to compare before and after a request."""
        return self.get("/chain").body, self.get("/pending_tx").body

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Stops it; after SIGTERM it must exit 0 (under ASan a leak at exit shows here)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(HANG_GUARD)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("node did not stop on signal %d within %d s" % (sig, HANG_GUARD))
        self.reader.join(HANG_GUARD)
        self.proc.stdout.close()
        if not self.err.closed:
            self.err.close()
        if sig == signal.SIGTERM and self.proc.returncode != 0 and not getattr(self, "killed", False):
            raise AssertionError("node exited %d on SIGTERM: %s" % (self.proc.returncode, self.stderr()[-3000:]))
        return self.proc.returncode

    def kill(self):
        self.killed = True  # its exit status is the kill's, not a failure to stop
        return self.stop(signal.SIGKILL)

    def close(self):
        """Stop (checked) and remove the temporary directories."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.logdir, ignore_errors=True)
            if self.own_dir:
                shutil.rmtree(self.dir, ignore_errors=True)


def start_node(test, *args, **kw):
    """A Node whose test's cleanup stops it (checking a clean exit) and removes its files."""
    n = Node(*args, **kw)
    test.addCleanup(n.close)
    return n


def node_on_free_port(test, *args, **kw):
    """A Node listening on a port chosen here, with --public-url naming it (for peers)."""
    for attempt in range(3):
        port = free_port()
        try:
            return start_node(test, *args, listen="127.0.0.1:%d" % port, public_url="http://127.0.0.1:%d" % port, **kw)
        except AssertionError:
            if attempt == 2:
                raise


class SeedPeer:
    """seed_peer.py on a free loopback port; url ends with "/"."""

    def __init__(self, difficulty=2):
        self.logdir = tempfile.mkdtemp(prefix="hf-seed-peer-")
        self.log_path = os.path.join(self.logdir, "seed.log")
        for attempt in range(3):  # the port is free when chosen; another process may take it first
            self.port = free_port()
            self.url = "http://127.0.0.1:%d/" % self.port
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([SEED_PYTHON, "-B", SEED, "--port", str(self.port),
                                          "--difficulty", str(difficulty)],
                                         stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
            _live.append(self.proc)
            deadline = time.monotonic() + HANG_GUARD
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    if get(self.url + "pending_tx", timeout=5).status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            self.stop()
            if attempt == 2:
                raise AssertionError("seed_peer.py did not come up on port %d: %s" % (self.port, self.output()[-3000:]))

    def api(self, path):
        return self.url + path.lstrip("/")

    def get(self, path):
        return get(self.api(path))

    def post(self, path, obj):
        return post_json(self.api(path), obj)

    def chain(self):
        r = self.get("/chain")
        assert r.status == 200, r
        return r.json()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(HANG_GUARD)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.logdir, ignore_errors=True)


def start_seed(test, difficulty=2):
    s = SeedPeer(difficulty)
    test.addCleanup(s.close)
    return s


class StubPeer:
    """A scripted peer (standard library): records every request and answers from `routes`,
    {(method, path): (status, body bytes or callable(req) -> bytes, content type)}. By default
    it answers like a seed at genesis that accepts every block."""

    def __init__(self, routes=None):
        self.requests = []
        self.cond = threading.Condition()
        self.routes = {
            ("GET", "/chain"): (200, self.dump([genesis()]), HTML),
            ("POST", "/register_node"): (200, self.dump([genesis()]), HTML),
            ("POST", "/add_block"): (201, b"Block added to the chain", HTML),
        }
        self.routes.update(routes or {})
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = {"method": method, "path": self.path, "headers": headers, "body": body}
                with stub.cond:
                    stub.requests.append(req)
                    stub.cond.notify_all()
                status, out, ctype = stub.routes.get((method, self.path), (404, b"Not Found", HTML))
                if callable(out):
                    out = out(req)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def dump(chain, peers=()):
        return json.dumps({"length": len(chain), "chain": chain, "peers": list(peers)}).encode()

    def wait_for(self, method, path, timeout=HANG_GUARD, count=1):
        """The first `count` requests to (method, path), waiting for them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if r["method"] == method and r["path"] == path]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the stub peer got no %s %s within %s s (got %r)"
                                         % (method, path, timeout, [(r["method"], r["path"]) for r in self.requests]))
                self.cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(HANG_GUARD)


def start_stub(test, routes=None):
    s = StubPeer(routes)
    test.addCleanup(s.close)
    return s

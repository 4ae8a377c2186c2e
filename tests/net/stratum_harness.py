"""Test harness for the coordinator: starts the real hashforge binary, talks Stratum V1 to it
over real sockets, and checks shares with hashlib alone (no hashforge code), so the tests
are an independent oracle for the coordinator's byte orders and share rules.

Standard library only."""
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("HASHFORGE_BIN", "hashforge")
SOURCE = os.environ.get("HF_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE_JOB = os.path.join(SOURCE, "examples", "jobs", "block100000.json")
DIFF1 = 0xFFFF << 208
SANITIZED = os.environ.get("HF_SANITIZED") == "1"  # the binary is an ASan build
HANG_GUARD = 30  # seconds any single wait may take before the test fails as hung


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def target_of(difficulty):
    return int(DIFF1 / difficulty)


def hash_value(header):
    """The header's SHA256d as a number (Bitcoin reads the digest little-endian)."""
    return int.from_bytes(sha256d(header), "little")


class Job:
    """A mining.notify job, rebuilt with hashlib exactly as Stratum defines it."""

    def __init__(self, params):
        (self.id, self.prevhash, self.coinb1, self.coinb2, self.branch, self.version, self.nbits, self.ntime,
         self.clean) = params[:9]

    def header(self, en1, en2, ntime, nonce, version=None):
        cb = bytes.fromhex(self.coinb1) + bytes.fromhex(en1) + bytes.fromhex(en2) + bytes.fromhex(self.coinb2)
        root = sha256d(cb)
        for h in self.branch:
            root = sha256d(root + bytes.fromhex(h))
        # prevhash travels as eight 4-byte words, each byte-swapped against the header.
        prev = b"".join(bytes.fromhex(self.prevhash[i:i + 8])[::-1] for i in range(0, 64, 8))
        v = int(self.version, 16) if version is None else version
        return (struct.pack("<I", v) + prev + root +
                struct.pack("<III", int(ntime, 16), int(self.nbits, 16), nonce))

    def find_share(self, en1, en2, difficulty, ntime=None, version=None, start=0, below=None):
        """The first nonce from `start` whose hash meets `difficulty` (and, with `below`, does
        not meet that higher difficulty). Pure Python: keep difficulties near 1/65536."""
        ntime = ntime or self.ntime
        base = self.header(en1, en2, ntime, 0, version)[:76]
        t = target_of(difficulty)
        t_hi = target_of(below) if below else -1
        for n in range(start, start + 50_000_000):
            h = hash_value(base + struct.pack("<I", n))
            if h <= t and h > t_hi:
                return n
        raise AssertionError("no share found")


class Coordinator:
    """A hashforge coordinator on loopback, on ports the OS picks."""

    def __init__(self, *args, job_file=None, http=False, tls=None, env=None, header_job=True, seed=False, directory=None,
                 listen="127.0.0.1:0", prefix=(), preexec_fn=None):
        self.dir = directory or tempfile.mkdtemp(prefix="hf-coord-")
        self.job_file = job_file or os.path.join(self.dir, "job.json")
        if job_file is None:
            with open(EXAMPLE_JOB) as f, open(self.job_file, "w") as g:
                g.write(f.read())
        self.share_log = os.path.join(self.dir, "shares.jsonl")
        # `prefix` runs it under another command (ip netns exec NS for the multi-host test).
        cmd = list(prefix) + [BIN, "coordinator", "--listen", listen, "--share-log", self.share_log, "--stats-interval", "0"]
        if header_job:
            cmd += ["--header-job", self.job_file]
        if http:
            cmd += ["--http", "127.0.0.1:0"]
        if tls:
            cmd += ["--tls-listen", "127.0.0.1:0", "--cert", tls[0], "--key", tls[1]]
        cmd += list(args)
        self.log_path = os.path.join(self.dir, "coordinator.log")
        self.log = open(self.log_path, "a")
        # `preexec_fn` runs in the child before the exec (lower its resource limits, say).
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=dict(os.environ, **(env or {})), preexec_fn=preexec_fn)
        self.port = self.tls_port = self.http = self.seed_port = None
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("coordinator exited: " + self.stderr())
            if line.startswith("listening stratum+tcp://"):
                self.port = int(line.rsplit(":", 1)[1])
            elif line.startswith("listening stratum+ssl://"):
                self.tls_port = int(line.rsplit(":", 1)[1])
            elif line.startswith("listening seed://"):
                self.seed_port = int(line.rsplit(":", 1)[1])
            elif line.startswith("dashboard "):
                self.http = line.split()[1].rstrip("/")
            if self.port and (not tls or self.tls_port) and (not http or self.http) and (not seed or self.seed_port):
                break

    def url(self):
        return "stratum+tcp://127.0.0.1:%d" % self.port

    def stderr(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stats(self):
        """/api/stats as of this call. The coordinator serves one shared document, rebuilt at
        most every 0.25 s and in the background while it is asked for often, and says its age
        in X-Stats-Age: this waits for one built after the call began, so whatever happened
        before the call shows in it."""
        import urllib.request
        t0 = time.monotonic()
        deadline = t0 + HANG_GUARD
        while True:
            sent = time.monotonic()
            with urllib.request.urlopen(self.http + "/api/stats", timeout=HANG_GUARD) as r:
                age = float(r.headers.get("X-Stats-Age", "0"))
                doc = json.loads(r.read())
            if age <= sent - t0 or time.monotonic() > deadline:
                return doc
            time.sleep(0.05)

    def shares(self):
        if not os.path.exists(self.share_log):
            return []
        with open(self.share_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout):
        """For a coordinator that ends by itself (a file task without header jobs)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("coordinator did not finish in %d s: %s" % (timeout, self.stderr()[-3000:]))
        self.proc.stdout.close()
        self.log.close()
        if self.proc.returncode != 0:
            raise AssertionError("coordinator exited %d: %s" % (self.proc.returncode, self.stderr()[-3000:]))

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(HANG_GUARD)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("coordinator did not stop on signal %d" % sig)
        self.proc.stdout.close()
        self.log.close()
        # A clean stop exits 0; under ASan a leak or memory error found at exit shows here.
        if sig == signal.SIGTERM and self.proc.returncode != 0:
            raise AssertionError("coordinator exited %d: %s" % (self.proc.returncode, self.stderr()[-3000:]))
        return self.proc.returncode


def check_growth(test, co, before_kib, limit_kib):
    """The coordinator's resident memory grew by less than limit_kib since before_kib. Under
    ASan, freed memory sits in a quarantine and RSS says nothing about leaks or growth (ASan's
    leak check covers those), so the bound is not checked there, and that is said."""
    grown = co.rss_kib() - before_kib
    if SANITIZED:
        print("\n  (memory bound not checked on the ASan build: grew %d KiB)" % grown, file=sys.stderr)
        return
    test.assertLess(grown, limit_kib, "coordinator memory grew by %d KiB" % grown)


class Client:
    """A minimal Stratum V1 client over a real socket (TCP, or TLS with tls=True)."""

    def __init__(self, port, tls=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        self.sock = s
        self.buf = b""
        self.next_id = 1
        self.notes = []  # notifications seen while waiting for replies
        self.en1 = None
        self.en2_size = None
        self.difficulty = None
        self.jobs = []

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, method, params):
        i = self.next_id
        self.next_id += 1
        self.send_raw((json.dumps({"id": i, "method": method, "params": params}) + "\n").encode())
        return i

    def read_msg(self, timeout=HANG_GUARD):
        """The next JSON line, or None at EOF."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        m = json.loads(line)
        if m.get("method") == "mining.notify":
            self.jobs.append(Job(m["params"]))
        elif m.get("method") == "mining.set_difficulty":
            self.difficulty = m["params"][0]
        return m

    def call(self, method, params):
        i = self.send(method, params)
        while True:
            m = self.read_msg()
            if m is None:
                raise AssertionError("connection closed while waiting for the reply to " + method)
            if m.get("id") == i and "method" not in m:
                if method == "mining.subscribe" and m.get("result"):
                    self.en1, self.en2_size = m["result"][1], m["result"][2]
                return m
            self.notes.append(m)

    def wait_for(self, method, timeout=HANG_GUARD):
        for k, m in enumerate(self.notes):
            if m.get("method") == method:
                return self.notes.pop(k)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.read_msg(max(0.01, deadline - time.time()))
            if m is None:
                raise AssertionError("connection closed while waiting for " + method)
            if m.get("method") == method:
                return m
            self.notes.append(m)
        raise AssertionError("no %s within %s s" % (method, timeout))

    def closed_within(self, seconds):
        """True if the server closes the connection within `seconds` (data read meanwhile is dropped)."""
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                if not self.sock.recv(65536):
                    return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return False

    def subscribe_authorize(self, user="tester", password="x"):
        self.call("mining.subscribe", ["test-client/1.0"])
        a = self.call("mining.authorize", [user, password])
        assert a["result"] is True, a
        self.wait_for("mining.set_difficulty")
        self.wait_for("mining.notify")
        return self.jobs[-1]

    def submit(self, job, en2, ntime, nonce, user="tester", version_bits=None):
        p = [user, job.id, en2, ntime, "%08x" % nonce if isinstance(nonce, int) else nonce]
        if version_bits is not None:
            p.append(version_bits)
        return self.call("mining.submit", p)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def make_cert(directory, name="cert", san="IP:127.0.0.1,DNS:localhost", ca=None):
    """A certificate and key made with the openssl command: self-signed (and so its own CA),
    or signed by `ca` (a (cert, key) pair from make_ca). It names `san`: clients check the
    host they dialled against it."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + "-key.pem")
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key]
    if ca is None:
        subprocess.run(["openssl", "req", "-x509"] + new_key + ["-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=" + san], check=True, capture_output=True)
    else:
        csr = os.path.join(directory, name + ".csr")
        subprocess.run(["openssl", "req", "-new"] + new_key + ["-out", csr, "-subj", "/CN=" + name],
                       check=True, capture_output=True)
        ext = os.path.join(directory, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                        "-out", cert, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    return cert, key


def make_ca(directory, name="ca"):
    """A private certificate authority: (cert, key)."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=hashforge test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
                   check=True, capture_output=True)
    return cert, key


def cert_sha256(cert):
    """The certificate's SHA-256 fingerprint as openssl prints it (AB:CD:...)."""
    import ssl
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, 64, 2))


def worker(coordinator_urls, *args, seconds=8, prefix=()):
    """Starts a hashforge worker; returns the Popen (stdout carries the --json summary)."""
    cmd = list(prefix) + [BIN, "worker", "--seconds", str(seconds), "--json", "--stats-interval", "1"]
    for u in coordinator_urls:
        cmd += ["--url", u]
    return subprocess.Popen(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_worker(test, proc, code=0):
    """Waits for a worker started by worker(); checks its exit status (0; 1 for a worker that
    never reached a pool); returns (summary, stderr)."""
    out, err = proc.communicate(timeout=120)
    test.assertEqual(proc.returncode, code, err[-2000:])
    return json.loads(out), err

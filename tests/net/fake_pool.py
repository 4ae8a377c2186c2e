"""A Stratum V1 pool for the proxy-mode tests, written from the protocol alone with the
standard library (hashlib for every share, no hashforge code), so it is an independent
judge of what the coordinator forwards.

It serves one job built like a real block's (Bitcoin block 100000's coinbase and merkle
branch, the current time as ntime), gives each connection its own extranonce1, agrees to
BIP 310 version rolling within its mask, and checks every mining.submit in full: user, job,
extranonce2 length, hex, ntime window, version bits, duplicate, and the hash against the
difficulty the job was sent at. Tests can make it answer the next share with a chosen
error (or ckpool's false with a "reject-reason"), stay silent, drop every connection, stop
listening and listen again on the same port (failover), send a new job, or change the
extranonce (from the next job on, as NiceHash's extension has it). It records what the
miner sent, so a test can see which methods a third-party pool was asked."""
import json
import socket
import ssl
import struct
import threading
import time

from stratum_harness import Job, hash_value, target_of

BLOCK_100000 = {
    "prevhash": "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
    "coinb1": "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0804",
    "coinb2": "ffffff0100f2052a010000004341041b0e8c2567c12536aa13357b79a073dc4444acb83c4ec7a0e2f99dd7457516c58172"
              "42da796924ca4e99947d087fedf9ce467cb9f7c6287078f801df276fdf84ac00000000",
    "merkle_branch": ["c40297f730dd7b5a99567eb8d27b78758f607507c52292d02d4031895b52f2ff",
                      "49aef42d78e3e9999c9e6ec9e1dddd6cb880bf3b076a03be1318ca789089308e"],
    "version": "20000000",
    "nbits": "1b04864c",
}


def coinb2_paying(n):
    """A coinbase's second part (after the extranonce) paying n miners, as pools that pay in
    the coinbase send it: the input's sequence, n pay-to-pubkey-hash outputs, the lock time.
    600 outputs make about 20 KB, a mining.notify line of over 40 KB."""
    assert 0 < n <= 0xFFFF
    count = "%02x" % n if n < 0xFD else "fd" + struct.pack("<H", n).hex()
    outputs = "".join(struct.pack("<Q", 1000 + i).hex() + "1976a914" + struct.pack(">I", i).hex() * 5 + "88ac"
                      for i in range(n))
    return "ffffffff" + count + outputs + "00000000"


class Conn:
    def __init__(self, pool, sock, en1):
        self.pool, self.sock, self.en1 = pool, sock, en1
        self.send_lock = threading.Lock()
        self.authorized = set()
        self.subscribed = False
        self.mask = 0
        self.closed = False
        self.job_en1 = {}  # job id -> the extranonce1 in force when this connection got the job
        self.methods = []  # every request and notification the miner sent, in order
        self.replies = []  # the miner's answers to the pool's own requests

    def send(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        with self.send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class FakePool:
    def __init__(self, en1_tag, en2_size=6, difficulty=1 / 8192, version_mask=0x1FFFE000, tls=None, port=0,
                 listen=True):
        self.en1_tag = en1_tag  # 2 bytes of hex; connection k gets en1_tag + k as 2 bytes
        self.en2_size = en2_size
        self.difficulty = difficulty
        self.version_mask = version_mask
        self.tls = tls
        self.port = port
        self.lock = threading.Lock()
        self.conns = []
        self.next_conn = 1
        self.jobs = {}  # id -> (Job, difficulty it was sent at)
        self.next_job = 1
        self.shares = []  # every submit: dict(ok, reason, hash, en1, en2, ...)
        self.seen = set()
        self.overrides = []  # (code, message) answers for the next valid shares
        self.silent = False
        self.difficulty_as_text = False  # set_difficulty's number as a string ("0.0001"), as some pools send it
        self.en2_size_as_text = False  # extranonce2_size as a string ("4"), as some pools send it
        self.coinb2 = BLOCK_100000["coinb2"]  # what new jobs carry after the extranonce
        self.connects = 0
        self.listener = None
        self.new_job(clean=True, announce=False)
        if listen:
            self.start()

    # --- control from the test ---------------------------------------------------------

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def url(self):
        return ("stratum+ssl://127.0.0.1:%d" if self.tls else "stratum+tcp://127.0.0.1:%d") % self.port

    def drop(self, stop_listening=True):
        """Closes every connection (and the listener): the pool is gone."""
        if stop_listening and self.listener:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            c.close()

    def new_job(self, clean=True, announce=True):
        with self.lock:
            jid = "pool%d" % self.next_job
            self.next_job += 1
            if clean:
                self.jobs.clear()
            params = [jid, BLOCK_100000["prevhash"], BLOCK_100000["coinb1"], self.coinb2,
                      BLOCK_100000["merkle_branch"], BLOCK_100000["version"], BLOCK_100000["nbits"],
                      "%08x" % int(time.time()), clean]
            self.jobs[jid] = (Job(params), self.difficulty)
            self.current = params
            conns = list(self.conns)
        if announce:
            for c in conns:
                if c.authorized:
                    c.send({"id": None, "method": "mining.set_difficulty", "params": [self.diff_param(self.difficulty)]})
                    self._notify(c, params)
        return jid

    def set_extranonce(self, en1):
        """Sends mining.set_extranonce to every authorized connection. As NiceHash's extension
        has it, the new extranonce1 holds for jobs sent after it; the job in hand keeps the old."""
        with self.lock:
            conns = [c for c in self.conns if c.authorized]
        for c in conns:
            c.en1 = en1
            c.send({"id": None, "method": "mining.set_extranonce", "params": [en1, self.en2_param()]})

    def _notify(self, c, params):
        c.job_en1[params[0]] = c.en1
        c.send({"id": None, "method": "mining.notify", "params": params})

    def en2_param(self):
        return str(self.en2_size) if self.en2_size_as_text else self.en2_size

    def diff_param(self, d):
        return repr(d) if self.difficulty_as_text else d

    def valid_shares(self):
        with self.lock:
            return [s for s in self.shares if s["ok"]]

    def invalid_shares(self):
        with self.lock:
            return [s for s in self.shares if not s["ok"]]

    def wait_for(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("fake pool: no %s within %s s" % (what, timeout))

    # --- the protocol ----------------------------------------------------------------------

    def _accept(self, listener):
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
                try:
                    sock = ctx.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    sock.close()
                    continue
            with self.lock:
                en1 = self.en1_tag + "%04x" % self.next_conn
                self.next_conn += 1
                self.connects += 1
                c = Conn(self, sock, en1)
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        while not c.closed:
            try:
                chunk = c.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    self._handle(c, json.loads(line))
        c.close()

    def _handle(self, c, m):
        method, params, mid = m.get("method"), m.get("params", []), m.get("id")
        if method is None:
            c.replies.append(m)
            return
        c.methods.append(method)
        if method == "mining.configure":
            result = {}
            exts, opts = params[0], params[1] if len(params) > 1 else {}
            for e in exts:
                if e == "version-rolling" and self.version_mask:
                    c.mask = int(opts.get("version-rolling.mask", "ffffffff"), 16) & self.version_mask
                    result["version-rolling"] = True
                    result["version-rolling.mask"] = "%08x" % c.mask
                else:
                    result[e] = False
            c.send({"id": mid, "result": result, "error": None})
        elif method == "mining.subscribe":
            c.subscribed = True
            c.send({"id": mid, "result": [[["mining.notify", c.en1]], c.en1, self.en2_param()], "error": None})
        elif method == "mining.authorize":
            c.authorized.add(params[0])
            c.send({"id": mid, "result": True, "error": None})
            with self.lock:
                current = self.current
                diff = self.jobs[current[0]][1]
            c.send({"id": None, "method": "mining.set_difficulty", "params": [self.diff_param(diff)]})
            self._notify(c, current)
        elif method == "mining.extranonce.subscribe":
            c.send({"id": mid, "result": True, "error": None})
        elif method == "mining.submit":
            ok, code, reason, record = self._check(c, params)
            with self.lock:
                self.shares.append(record)
                override = self.overrides.pop(0) if ok and self.overrides else None
                silent = self.silent
            if silent:
                return
            if override and override[0] == "reject-reason":  # ckpool's form: false, and the reason beside
                c.send({"id": mid, "result": False, "error": None, "reject-reason": override[1]})
            elif override:
                c.send({"id": mid, "result": None, "error": [override[0], override[1], None]})
            elif ok:
                c.send({"id": mid, "result": True, "error": None})
            else:
                c.send({"id": mid, "result": None, "error": [code, reason, None]})
        elif mid is not None:
            c.send({"id": mid, "result": None, "error": [20, "unknown method", None]})

    def _check(self, c, p):
        record = {"ok": False, "params": p, "en1": c.en1}
        if isinstance(p, list) and len(p) > 1 and p[1] in c.job_en1:
            record["en1"] = c.job_en1[p[1]]

        def bad(code, reason):
            record["reason"] = reason
            return False, code, reason, record

        if not c.subscribed:
            return bad(25, "not subscribed")
        if not isinstance(p, list) or len(p) not in (5, 6) or not all(isinstance(x, str) for x in p):
            return bad(20, "bad params")
        user, jid, en2, ntime, nonce = p[:5]
        if user not in c.authorized:
            return bad(24, "unauthorized")
        with self.lock:
            entry = self.jobs.get(jid)
        if not entry:
            return bad(21, "job not found")
        job, diff = entry
        try:
            en2_bytes = bytes.fromhex(en2)
            nt = int(ntime, 16)
            nn = int(nonce, 16)
        except ValueError:
            return bad(20, "bad hex")
        if len(en2_bytes) != self.en2_size:
            return bad(20, "extranonce2 length")
        if len(ntime) != 8 or len(nonce) != 8:
            return bad(20, "ntime/nonce length")
        if nt < int(job.ntime, 16) or nt > time.time() + 7200:
            return bad(20, "ntime out of range")
        version = int(job.version, 16)
        if len(p) == 6:
            bits = int(p[5], 16)
            if bits & ~c.mask:
                return bad(20, "version bits outside the mask")
            version = (version & ~c.mask) | (bits & c.mask)
        header = job.header(record["en1"], en2, ntime, nn, version)
        h = hash_value(header)
        record.update(hash=h, en2=en2, job=jid, difficulty=diff)
        if h > target_of(diff):
            return bad(23, "low difficulty")
        with self.lock:
            if h in self.seen:
                return bad(22, "duplicate")
            self.seen.add(h)
        record["ok"] = True
        return True, 0, "", record

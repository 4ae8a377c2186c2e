"""What the tracker's Python tests share: `hashforge tracker` on loopback with its URLs read
from stdout, a small strict bencode decoder, and HTTP and UDP (BEP 15) clients written from
the BEPs, byte by byte (no tracker code of hashforge's is used to check hashforge)."""
import os
import queue
import random
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

WAIT = 30


def hashforge_bin():
    path = os.environ.get("HASHFORGE_BIN")
    if not path:
        raise unittest.SkipTest("HASHFORGE_BIN is not set (ctest sets it)")
    return path


def sanitized():
    return os.environ.get("HF_SANITIZED", "0").upper() in ("1", "ON", "TRUE")


def bdecode(data):
    """Strict bencode: returns the value; raises ValueError on anything else."""
    def value(i):
        c = data[i:i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            text = data[i + 1:end]
            if not re.fullmatch(rb"-?(0|[1-9][0-9]*)", text) or text == b"-0":
                raise ValueError("bad integer %r" % text)
            return int(text), end + 1
        if c == b"l":
            i += 1
            out = []
            while data[i:i + 1] != b"e":
                v, i = value(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            i += 1
            out = {}
            last = None
            while data[i:i + 1] != b"e":
                k, i = value(i)
                if not isinstance(k, bytes) or (last is not None and k <= last):
                    raise ValueError("dictionary keys not sorted strings")
                last = k
                out[k], i = value(i)
            return out, i + 1
        if c.isdigit():
            colon = data.index(b":", i)
            n = int(data[i:colon])
            if colon + 1 + n > len(data):
                raise ValueError("string past the end")
            return data[colon + 1:colon + 1 + n], colon + 1 + n
        raise ValueError("unexpected byte %r at %d" % (c, i))
    v, end = value(0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return v


def compact_peers(blob, v6=False):
    size = 18 if v6 else 6
    assert len(blob) % size == 0, len(blob)
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    return {(socket.inet_ntop(fam, blob[i:i + size - 2]), struct.unpack(">H", blob[i + size - 2:i + size])[0])
            for i in range(0, len(blob), size)}


def escape(raw):
    """Every byte as %XX, as libtorrent sends info_hash."""
    return "".join("%%%02X" % b for b in raw)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Tracker:
    """`hashforge tracker` on loopback ports chosen by the system, with its own database."""

    def __init__(self, *extra, db=None, http=True, udp=True, rate_limit="0"):
        self.dir = tempfile.mkdtemp(prefix="hf-tracker-")
        self.db = db or os.path.join(self.dir, "tracker.sqlite")
        args = [hashforge_bin(), "tracker", "--db", self.db, "--quiet"]
        if http:
            args += ["--http", "127.0.0.1:0"]
        if udp:
            args += ["--udp", "127.0.0.1:0"]
        if rate_limit is not None:
            args += ["--rate-limit", rate_limit]
        args += list(extra)
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w+b")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        lines = queue.Queue()

        def drain():
            for raw in self.proc.stdout:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)
        threading.Thread(target=drain, daemon=True).start()
        self.http_url = self.udp_addr = None
        self.http_urls = []
        want = sum(1 for a in args if a in ("--http", "--udp"))
        for _ in range(want):
            try:
                line = lines.get(timeout=WAIT)
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise AssertionError("tracker did not start: %r" % self.stderr_text())
            m = re.match(r"tracker listening on (http://[^/\s]+)/announce\s*$", line)
            if m:
                self.http_urls.append(m.group(1))
                self.http_url = self.http_url or m.group(1)
                continue
            m = re.match(r"tracker listening on udp://([0-9.]+):(\d+)\s*$", line)
            if m:
                self.udp_addr = (m.group(1), int(m.group(2)))
                continue
            self.stop()
            raise AssertionError("unexpected line %r" % line)

    def stderr_text(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-3000:]

    def alive(self):
        return self.proc.poll() is None

    def get(self, path, source=None):
        """(status, body bytes) of GET path, optionally from another loopback address."""
        u = urllib.parse.urlsplit(self.http_url)
        s = socket.create_connection((u.hostname, u.port), timeout=WAIT,
                                     source_address=(source, 0) if source else None)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path).encode("latin-1"))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body

    def stats(self):
        import json
        with urllib.request.urlopen(self.http_url + "/stats.json", timeout=WAIT) as r:
            return json.loads(r.read())

    def stop(self, sig_kill=False):
        if self.proc.poll() is None:
            if sig_kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.proc.stdout.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def announce_query(info_hash, peer_id, port, left=0, event=None, numwant=None, compact=None, extra=""):
    q = "info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d" % (
        escape(info_hash), escape(peer_id), port, left)
    if event:
        q += "&event=" + event
    if numwant is not None:
        q += "&numwant=%d" % numwant
    if compact is not None:
        q += "&compact=%d" % compact
    return q + extra


class UdpClient:
    """A BEP 15 client on its own socket (optionally bound to another loopback address)."""

    def __init__(self, addr, source="127.0.0.1"):
        self.addr = addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(2)
        self.conn = None

    def close(self):
        self.sock.close()

    def request(self, packet, timeout=2):
        self.sock.settimeout(timeout)
        self.sock.sendto(packet, self.addr)
        return self.sock.recvfrom(4096)[0]

    def connect(self):
        tx = random.getrandbits(32)
        r = self.request(struct.pack(">QII", 0x41727101980, 0, tx))
        action, rtx, conn = struct.unpack(">IIQ", r)
        assert action == 0 and rtx == tx, r
        self.conn = conn
        return conn

    def announce_packet(self, info_hash, peer_id, port, left=0, event=0, numwant=-1, conn=None, tx=None, ip=0):
        return struct.pack(">QII20s20sQQQIIIiH", self.conn if conn is None else conn, 1,
                           random.getrandbits(32) if tx is None else tx, info_hash, peer_id, 0, left, 0, event,
                           ip, 0, numwant, port)

    def announce(self, *args, **kw):
        """(interval, leechers, seeders, {(ip, port)}) or raises with the error text."""
        pkt = self.announce_packet(*args, **kw)
        r = self.request(pkt)
        action, tx = struct.unpack(">II", r[:8])
        assert tx == struct.unpack(">I", pkt[12:16])[0]
        if action == 3:
            raise UdpError(r[8:].decode("utf-8", "replace"))
        assert action == 1, r
        interval, leechers, seeders = struct.unpack(">III", r[8:20])
        return interval, leechers, seeders, compact_peers(r[20:])

    def scrape(self, hashes):
        tx = random.getrandbits(32)
        r = self.request(struct.pack(">QII", self.conn, 2, tx) + b"".join(hashes))
        action, rtx = struct.unpack(">II", r[:8])
        if action == 3:
            raise UdpError(r[8:].decode())
        assert action == 2 and rtx == tx
        return [struct.unpack(">III", r[8 + 12 * i:20 + 12 * i]) for i in range(len(hashes))]


class UdpError(Exception):
    pass


def wait_for(pred, timeout=WAIT, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()

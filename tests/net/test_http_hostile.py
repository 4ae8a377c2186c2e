"""Hostile HTTP clients against the shared server (net/http), through hf_http_test_server:
oversized request lines, headers and bodies, a bad request line, slow-drip requests, a
pipelined burst, a client that never reads a large reply, more connections than allowed and
accept() running out of descriptors. Each gets its answer (or its close), the server stays
up, its memory stays bounded, and a well-behaved client alongside keeps being served.
Standard library only. Timeouts here are hang guards, not speed checks."""
import os
import socket
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("HF_HTTP_TEST_SERVER", "hf_http_test_server")
SANITIZED = os.environ.get("HF_SANITIZED") == "1"
HANG_GUARD = 30

REQUEST_TIMEOUT_MS = 1000
WRITE_TIMEOUT_MS = 1000


class Server:
    def __init__(self, *args):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening http://"):
            raise AssertionError("server did not start: %r %s" % (line, self.stderr()))
        self.port = int(line.rsplit(":", 1)[1])

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Conn:
    """A raw client socket with a buffer kept across replies."""

    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(HANG_GUARD)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("closed")
        self.buf += chunk

    def reply(self, head=False):
        """(status, headers with lower-case names, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head_text, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head_text.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if head or status in (100, 204, 304) else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed_within(self, seconds):
        """True once the server has closed (EOF or reset) within `seconds`; data before the
        close is kept in self.buf."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


class HttpHostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("--request-timeout", str(REQUEST_TIMEOUT_MS), "--write-timeout", str(WRITE_TIMEOUT_MS),
                         "--idle-timeout", "20000", "--max-body", "65536", "--max-queued", "1048576",
                         "--max-connections", "64")
        cls.good = Conn(cls.srv.port)

    @classmethod
    def tearDownClass(cls):
        cls.good.close()
        cls.srv.stop()

    def tearDown(self):
        # After every hostile act the server is up and the good client is still served.
        self.assertTrue(self.srv.alive(), self.srv.stderr())
        self.good_request()

    def good_request(self):
        t0 = time.time()
        self.good.send(get("/"))
        status, _, body = self.good.reply()
        self.assertEqual((status, body), (200, b"hello\n"))
        return time.time() - t0

    def conn(self, **kw):
        c = Conn(self.srv.port, **kw)
        self.addCleanup(c.close)
        return c

    def assert_refused(self, data, status, reason_has):
        c = self.conn()
        try:
            c.send(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server answered and stopped reading while we were still sending
        got, headers, body = c.reply()
        self.assertEqual(got, status, body)
        self.assertEqual(headers.get("connection"), "close")
        self.assertIn(reason_has, body.decode())
        self.assertTrue(body.endswith(b"\n") and body.count(b"\n") == 1, body)
        self.assertTrue(c.closed_within(5))

    def test_oversized_request_line_gets_414(self):
        self.assert_refused(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "request line")

    def test_oversized_headers_get_431(self):
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"p" * 4000 + b"\r\n" * 1 +
                            b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(400)) + b"\r\n", 431, "head")
        self.assert_refused(b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200)) +
                            b"\r\n", 431, "fields")

    def test_body_over_the_cap_gets_413(self):
        self.assert_refused(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" + b"z" * 100000,
                            413, "body")
        chunk = b"%x\r\n%s\r\n" % (40000, b"c" * 40000)
        self.assert_refused(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3, 413,
                            "body")

    def test_bad_request_lines_get_400(self):
        for bad in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
                    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
                    b"GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n"):
            with self.subTest(bad=bad[:20]):
                self.assert_refused(bad, 400, "")

    def test_slow_drip_is_closed_after_the_request_timeout_while_others_are_served(self):
        c = self.conn()
        t0 = time.time()
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Drip: ")
        closed = False
        slowest = 0
        while time.time() - t0 < REQUEST_TIMEOUT_MS / 1000 * 4 and not closed:
            try:
                c.send(b"d")
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            slowest = max(slowest, self.good_request())
            closed = c.closed_within(0.1)
        elapsed = time.time() - t0
        self.assertTrue(closed, "the drip connection is still open after %.1f s" % elapsed)
        self.assertGreater(elapsed, REQUEST_TIMEOUT_MS / 1000 * 0.9)
        self.assertTrue(c.buf.startswith(b"HTTP/1.1 408 "), c.buf[:100])
        self.assertLess(slowest, 1.0, "the good client waited while the drip went on")

    def test_many_slow_drips_at_once(self):
        drips = [self.conn() for _ in range(20)]
        for d in drips:
            d.send(b"GET / HTT")
        self.assertLess(self.good_request(), 1.0)
        for d in drips:
            self.assertTrue(d.closed_within(REQUEST_TIMEOUT_MS / 1000 * 4))

    def test_pipelined_requests_are_all_answered_in_order(self):
        c = self.conn()
        n = 500
        c.send(b"".join(get("/n/%d" % i) for i in range(n)) + b"POST /echo HTTP/1.1\r\nHost: t\r\n"
               b"Content-Length: 3\r\n\r\nend" + get("/", b"Connection: close\r\n"))
        for i in range(n):
            status, _, body = c.reply()
            self.assertEqual((status, body), (200, b"%d\n" % i))
        self.assertEqual(c.reply()[2], b"end")
        status, headers, _ = c.reply()
        self.assertEqual((status, headers.get("connection")), (200, "close"))
        self.assertTrue(c.closed_within(5))

    def test_client_that_never_reads_a_large_reply_is_closed_and_its_memory_freed(self):
        before = self.srv.rss_kib()
        c = self.conn(rcvbuf=4096)
        # 50 requests for 32 MiB each: queued without bound, this would be 1.6 GiB.
        c.send(b"".join(get("/big?mib=32") for _ in range(50)))
        peak = before
        t0 = time.time()
        closed = False
        while time.time() - t0 < WRITE_TIMEOUT_MS / 1000 * 5:
            peak = max(peak, self.srv.rss_kib())
            time.sleep(0.05)
            if time.time() - t0 > WRITE_TIMEOUT_MS / 1000 * 1.5:
                # Draining what the kernel holds must end in the server's close.
                c.s.settimeout(2)
                try:
                    while c.s.recv(1 << 20):
                        pass
                    closed = True
                except (ConnectionResetError, socket.timeout):
                    closed = True
                break
        self.assertTrue(closed)
        # One 32 MiB reply may exist at a time; nothing is queued behind it.
        self.assertLess(peak - before, 48 * 1024 + (64 * 1024 if SANITIZED else 0),
                        "peak RSS grew by %d KiB" % (peak - before))
        if not SANITIZED:  # ASan keeps freed memory in quarantine
            time.sleep(0.2)
            self.assertLess(self.srv.rss_kib() - before, 16 * 1024, "memory was not freed after the close")

    def test_connections_over_the_limit_get_503(self):
        # The server allows 64 at once (the good client holds one): open until one is refused.
        held = []
        refused = None
        while len(held) < 80 and refused is None:
            c = self.conn()
            if self._refused_now(c):
                status, _, body = c.reply()
                self.assertEqual((status, body), (503, b"too many connections\n"))
                self.assertTrue(c.closed_within(5))
                refused = c
                break
            c.send(get("/"))
            try:
                status = c.reply()[0]
            except (EOFError, ConnectionResetError):
                status = 503  # refused after all (the 503 came later than the peek looked)
            if status == 503:
                refused = c
                break
            self.assertEqual(status, 200)
            held.append(c)
        self.assertIsNotNone(refused, "80 connections and none refused")
        self.assertGreaterEqual(len(held), 60)
        held.pop().close()
        deadline = time.time() + HANG_GUARD
        while True:  # the freed slot is taken by the next client
            c = self.conn()
            if not self._refused_now(c):
                c.send(get("/"))
                self.assertEqual(c.reply()[0], 200)
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        for c in held:
            c.close()

    @staticmethod
    def _refused_now(c):
        """True when the server answered before any request: the 503 of a refused connection."""
        c.s.settimeout(0.1)
        try:
            chunk = c.s.recv(65536, socket.MSG_PEEK)
        except socket.timeout:
            return False
        finally:
            c.s.settimeout(HANG_GUARD)
        return bool(chunk)


@unittest.skipIf(SANITIZED, "the sanitizer runtimes need descriptors of their own for their checks")
class AcceptBackoff(unittest.TestCase):
    def test_out_of_descriptors_backs_off_instead_of_spinning(self):
        srv = Server("--nofile", "40", "--max-connections", "1000")
        self.addCleanup(srv.stop)
        conns = []
        try:
            for _ in range(60):  # past the descriptor limit: accept() fails with EMFILE
                c = Conn(srv.port)
                conns.append(c)
            time.sleep(0.5)
            cpu0, t0 = srv.cpu_seconds(), time.time()
            time.sleep(1.5)
            used = (srv.cpu_seconds() - cpu0) / (time.time() - t0)
            self.assertLess(used, 0.3, "the server burns %.0f%% of a core while out of descriptors" % (used * 100))
            self.assertIn("Too many open files", srv.stderr())
        finally:
            for c in conns:
                c.close()
        # With descriptors back, the server serves again.
        deadline = time.time() + HANG_GUARD
        while True:
            c = None
            try:
                c = Conn(srv.port)
                c.send(get("/"))
                if c.reply()[0] == 200:
                    break
            except (EOFError, ConnectionResetError, socket.timeout):
                pass
            finally:
                if c:
                    c.close()
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        self.assertTrue(srv.alive())


if __name__ == "__main__":
    unittest.main()

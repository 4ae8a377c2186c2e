"""The plain protocol, written here from its description alone (standard library
only), so hashforge's worker and coordinator are tested against an independent peer:

- the server waits for N clients, then sends each b"START" (5 bytes, no newline), the file's
  raw bytes and b"END" (3 bytes), with no framing;
- each client strips the trailing END, mines, replies with exactly 8 lowercase hex
  characters (its best nonce) and closes;
- the server appends "<those 8 characters> <identifier>" (no newline) for each answer,
  keeps the one with the lowest SHA-256 and writes the input plus that line as the result.
Anything other than 8 lowercase hex characters is that client's failure alone."""
import hashlib
import os
import random
import re
import socket
import threading
import time

ANSWER = re.compile(rb"[0-9a-f]{8}")


def line_hash(data, nonce_hex, identifier):
    return hashlib.sha256(data + nonce_hex + b" " + identifier.encode()).hexdigest()


class Server:
    """Serves one batch of `clients` clients on a port the OS picks (see .port)."""

    def __init__(self, data, clients, identifier="G06", chunk=512, result_path=None, pause_after=None, timeout=120):
        self.data, self.clients, self.identifier, self.chunk = data, clients, identifier, chunk
        self.result_path, self.pause_after, self.timeout = result_path, pause_after, timeout
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(clients)
        self.port = self.sock.getsockname()[1]
        self.answers, self.rejected, self.best = {}, {}, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _send_file(self, conn):
        conn.sendall(b"START")
        for i in range(0, len(self.data), self.chunk):
            conn.sendall(self.data[i:i + self.chunk])
            if self.pause_after and self.data[:i + self.chunk].endswith(self.pause_after):
                time.sleep(0.1)  # a read boundary right after "END" inside the file
        conn.sendall(b"END")

    def _serve(self, conn, who):
        try:
            conn.settimeout(self.timeout)
            self._send_file(conn)
            reply = b""
            while len(reply) <= 8:
                got = conn.recv(64)
                if not got:
                    break
                reply += got
        except OSError as e:
            self.rejected[who] = "error: %s" % e
            return
        finally:
            conn.close()
        if ANSWER.fullmatch(reply):
            self.answers[who] = reply
        else:
            self.rejected[who] = reply

    def _run(self):
        conns = [self.sock.accept() for _ in range(self.clients)]
        threads = [threading.Thread(target=self._serve, args=(c, "%s:%d" % a)) for c, a in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for who, nonce in self.answers.items():
            h = line_hash(self.data, nonce, self.identifier)
            if self.best is None or h < self.best[1]:
                self.best = (nonce, h, who)
        if self.best and self.result_path:
            tmp = self.result_path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(self.data + self.best[0] + b" " + self.identifier.encode())
            os.replace(tmp, self.result_path)
        self.sock.close()

    def wait(self, timeout=300):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("plain-protocol server did not finish in %d s" % timeout)
        return self


def receive(sock, quiet=0.3, timeout=60):
    """START + file + END from the server; the file ends when the stream ends in END and no
    more comes for `quiet` seconds."""
    data = b""
    sock.settimeout(timeout)
    while True:
        if len(data) >= 8 and data.endswith(b"END"):
            sock.settimeout(quiet)
        try:
            got = sock.recv(65536)
        except socket.timeout:
            if data.endswith(b"END"):
                break
            raise
        if not got:
            break
        data += got
    if not data.startswith(b"START") or not data.endswith(b"END"):
        raise ValueError("not START ... END")
    return data[5:-3]


def client(port, seconds=1.0, identifier="G06", answer=None, host="127.0.0.1"):
    """One client: mines sequentially from a random nonce for `seconds` (or sends `answer`
    as is). Returns (file, nonce sent, its hash or None)."""
    with socket.create_connection((host, port), timeout=60) as s:
        data = receive(s)
        if answer is None:
            base = hashlib.sha256(data)
            tail = (" " + identifier).encode()
            n = random.getrandbits(32)
            best = None
            end = time.time() + seconds
            while time.time() < end:
                for _ in range(2000):
                    nonce = b"%08x" % (n & 0xffffffff)
                    h = base.copy()
                    h.update(nonce + tail)
                    d = h.digest()
                    if best is None or d < best[1]:
                        best = (nonce, d)
                    n += 1
            answer = best[0]
        s.sendall(answer)
        s.shutdown(socket.SHUT_WR)
    h = line_hash(data, answer, identifier) if ANSWER.fullmatch(answer) else None
    return data, answer, h

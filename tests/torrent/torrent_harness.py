"""Shared helpers for the torrent oracle and interop suites (test_torrent_hashlib.py,
test_torrent_interop.py, and the client suites' status reader): running the hashforge binary, a small bencode reader and writer
written here (never hashforge's), BEP 3 / BEP 52 hashes recomputed with hashlib, test data,
and libtorrent (Debian's python3-libtorrent) checking data like a client does.

Standard library only, apart from libtorrent, which is optional here (the callers skip).
"""
import base64
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

try:
    import libtorrent as lt
except ImportError:  # pragma: no cover - scripts/setup.sh installs python3-libtorrent
    lt = None

BLOCK = 16384
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stop(proc, grace=15):
    """Ends a child process: terminate, then kill if it has not gone in `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Procs:
    """Programs a test starts, each logging stdout and stderr to WORK/<name>.log, all stopped
    at the test's cleanup; `prefix` runs one under a wrapper (`ip netns exec NS`)."""

    def __init__(self, test, work):
        self.work = work
        self.procs = []
        test.addCleanup(self.stop_all)

    def start(self, name, argv, prefix=(), cwd=None):
        log = open(os.path.join(self.work, name + ".log"), "wb")
        p = subprocess.Popen(list(prefix) + list(argv), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=cwd)
        log.close()
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            stop(p)

    def lines(self, name):
        """The JSON objects `name` printed, one a line."""
        out = []
        with open(os.path.join(self.work, name + ".log"), "rb") as f:
            for line in f:
                line = line.strip()
                if line.startswith(b"{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        return out

    def logs(self):
        """The tail of every log, for a failure's message."""
        out = ""
        for n in sorted(os.listdir(self.work)):
            if n.endswith(".log"):
                with open(os.path.join(self.work, n), "rb") as f:
                    out += "--- %s\n%s\n" % (n, f.read()[-3000:].decode("utf-8", "replace"))
        return out


def can_connect(port, host="127.0.0.1"):
    """Something accepts TCP connections on host:port now."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def exit_code(proc, timeout):
    """The child's exit status, or None if it is still running after `timeout` seconds."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def last_status(log):
    """The last JSON status object a `torrent download --json` (or `seed --json`) printed
    into `log`, None if none."""
    last = None
    with open(log, "rb") as f:
        for line in f:
            line = line.strip()
            if line.startswith(b"{"):
                try:
                    last = json.loads(line)
                except ValueError:
                    pass
    return last


def hashforge_bin():
    """The binary under test: HASHFORGE_BIN (set by CMake), else the usual build folder."""
    path = os.environ.get("HASHFORGE_BIN") or os.path.join(SOURCE_DIR, "build", "apps", "hashforge")
    if not os.path.isfile(path):
        raise AssertionError("hashforge binary not found at %s (set HASHFORGE_BIN)" % path)
    return path


def run_hf(*args, timeout=120):
    """Runs `hashforge ARGS...`; the CompletedProcess (text). A signal death fails loudly."""
    p = subprocess.run([hashforge_bin(), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if p.returncode < 0 or p.returncode >= 128:
        raise AssertionError("hashforge %s died (rc %d)\nstderr: %s" % (" ".join(map(str, args)), p.returncode,
                                                                         p.stderr[-2000:]))
    return p


def hf_create(path, out, fmt, piece_size=None, *extra):
    args = ["torrent", "create", path, "-o", out, "--format", fmt, "--no-date", "-q", "-f"]
    if piece_size:
        args += ["--piece-size", str(piece_size)]
    p = run_hf(*args, *extra)
    if p.returncode != 0:
        raise AssertionError("torrent create %s failed (rc %d): %s" % (fmt, p.returncode, p.stderr))
    return out


def hf_info(torrent):
    p = run_hf("torrent", "info", torrent, "--json")
    if p.returncode != 0:
        raise AssertionError("torrent info failed (rc %d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def hf_verify(torrent, data, *extra):
    """`torrent verify --json`: (exit code, the JSON object)."""
    p = run_hf("torrent", "verify", torrent, data, "--json", "-q", *extra)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        raise AssertionError("verify printed no JSON (rc %d)\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout,
                                                                                          p.stderr))
    return p.returncode, report


# ---------------------------------------------------------------------------------------------
# Bencode, written for these tests (BEP 3). bdecode keeps the exact bytes of the top-level
# "info" value so info-hashes are computed over what the file holds, not a re-encoding.

class BencodeError(ValueError):
    pass


def _decode(buf, i, spans, depth):
    if depth > 64:
        raise BencodeError("nesting too deep")
    if i >= len(buf):
        raise BencodeError("truncated at %d" % i)
    c = buf[i:i + 1]
    if c == b"i":
        end = buf.index(b"e", i)
        return int(buf[i + 1:end]), end + 1
    if c == b"l":
        out, i = [], i + 1
        while buf[i:i + 1] != b"e":
            v, i = _decode(buf, i, None, depth + 1)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while buf[i:i + 1] != b"e":
            k, i = _decode(buf, i, None, depth + 1)
            if not isinstance(k, bytes):
                raise BencodeError("dictionary key is not a string")
            start = i
            out[k], i = _decode(buf, i, None, depth + 1)
            if spans is not None:
                spans[k] = buf[start:i]
        return out, i + 1
    if c.isdigit():
        colon = buf.index(b":", i)
        n = int(buf[i:colon])
        if colon + 1 + n > len(buf):
            raise BencodeError("string runs past the end")
        return buf[colon + 1:colon + 1 + n], colon + 1 + n
    raise BencodeError("bad byte %r at %d" % (c, i))


def bdecode(buf):
    """The value, and the raw bytes of each top-level dictionary value (for the info-hash)."""
    spans = {}
    v, end = _decode(buf, 0, spans, 0)
    if end != len(buf):
        raise BencodeError("trailing bytes")
    return v, spans


def bencode(v):
    if isinstance(v, bool):
        raise TypeError("bool in bencode")
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, (bytes, bytearray)):
        return b"%d:%s" % (len(v), bytes(v))
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in items) + b"e"
    raise TypeError(type(v))


def load_torrent(path):
    """(top-level dict, info dict, the info dictionary's exact bytes)."""
    with open(path, "rb") as f:
        top, spans = bdecode(f.read())
    return top, top[b"info"], spans[b"info"]


# ---------------------------------------------------------------------------------------------
# The oracle: BEP 3 pieces and BEP 52 merkle trees with hashlib.

ZERO32 = bytes(32)


def merkle_root(leaves, width):
    """Root of a tree over `leaves` padded with zero hashes to `width` (a power of two)."""
    layer = list(leaves) + [ZERO32] * (width - len(leaves))
    return merkle_over(layer)


def merkle_over(layer):
    """Root over a layer whose length is already a power of two."""
    assert layer and len(layer) & (len(layer) - 1) == 0
    while len(layer) > 1:
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0]


def next_pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


def v2_file_hashes(data, piece_length):
    """BEP 52 for one non-empty file: (pieces root, piece layer bytes or b"" when the file fits
    in one piece). Leaves are SHA-256 of 16 KiB blocks (the last one short, as it is)."""
    assert data
    leaves = [hashlib.sha256(data[i:i + BLOCK]).digest() for i in range(0, len(data), BLOCK)]
    per_piece = piece_length // BLOCK
    if len(data) <= piece_length:
        return merkle_root(leaves, next_pow2(len(leaves))), b""
    layer = [merkle_root(leaves[i:i + per_piece], per_piece) for i in range(0, len(leaves), per_piece)]
    # Past the file's end the piece layer is padded with the root of a piece of zero leaves.
    zero_piece = merkle_root([], per_piece)
    root = merkle_over(layer + [zero_piece] * (next_pow2(len(layer)) - len(layer)))
    return root, b"".join(layer)


def v1_pieces(stream, piece_length):
    return b"".join(hashlib.sha1(stream[i:i + piece_length]).digest() for i in range(0, len(stream), piece_length))


def v2_tree_files(tree, prefix=()):
    """The files of a BEP 52 file tree in its (sorted key) order: (path tuple, length, root)."""
    out = []
    for name in sorted(tree):
        node = tree[name]
        if b"" in node:
            leaf = node[b""]
            out.append((prefix + (name.decode(),), leaf[b"length"], leaf.get(b"pieces root")))
        else:
            out.extend(v2_tree_files(node, prefix + (name.decode(),)))
    return out


def v1_file_list(info):
    """The v1 view: [(path tuple, length, is_pad)], a single-file torrent as ((),)."""
    if b"files" not in info:
        return [((), info[b"length"], False)]
    return [(tuple(c.decode() for c in f[b"path"]), f[b"length"], b"p" in f.get(b"attr", b""))
            for f in info[b"files"]]


# ---------------------------------------------------------------------------------------------
# Data.

def make_files(root, sizes, seed):
    """Writes {relative path: size} under root with random bytes; returns root."""
    rng = random.Random(seed)
    for rel, size in sizes.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
    return root


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def copy_tree(src, dst):
    if os.path.isdir(src):
        shutil.copytree(src, dst)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    return dst


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line_error(stderr):
    """The non-progress lines a failing command wrote."""
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith("progress:")]


# ---------------------------------------------------------------------------------------------
# libtorrent: a quiet session on loopback (no DHT, LSD, UPnP or NAT-PMP) checking data.

def lt_session():
    s = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    })
    return s


def lt_check(session, torrent, save_path, timeout=60):
    """Adds `torrent` with its data in save_path, waits until libtorrent has checked it and
    returns (torrent_info, [bool per piece], final status). The handle is removed again."""
    ti = lt.torrent_info(torrent)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save_path
    # Not paused and not queued: it checks the data at once.
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    h = session.add_torrent(atp)
    deadline = time.time() + timeout
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    try:
        while True:
            st = h.status()
            if st.errc.value() != 0:
                raise AssertionError("libtorrent: %s (%s)" % (st.errc.message(), torrent))
            if st.has_metadata and st.state not in checking and st.state != lt.torrent_status.allocating:
                break
            if time.time() > deadline:
                raise AssertionError("libtorrent did not finish checking %s (state %s)" % (torrent, st.state))
            time.sleep(0.05)
        return ti, list(st.pieces), st
    finally:
        session.remove_torrent(h)


def lt_create(root, piece_size, flags, out):
    """A .torrent made by libtorrent's creator for the file or folder `root`."""
    fs = lt.file_storage()
    lt.add_files(fs, root)
    t = lt.create_torrent(fs, piece_size, flags=flags)
    lt.set_piece_hashes(t, os.path.dirname(root))
    with open(out, "wb") as f:
        f.write(lt.bencode(t.generate()))
    return out


def bitfield(raw, count):
    """A BitTorrent bitfield (first piece in the high bit of the first byte) as bools."""
    return [bool(raw[i // 8] & (0x80 >> (i % 8))) for i in range(count)]


# ---------------------------------------------------------------------------------------------
# Transmission: transmission-daemon on a private config folder, RPC and peers on loopback only,
# driven through its JSON RPC (the protocol transmission-remote speaks) with urllib.

class Transmission:
    SEEDING, DOWNLOADING, DOWNLOAD_WAIT, SEED_WAIT = 6, 4, 3, 5

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "transmission")
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "daemon.log")
        self.rpc_port = free_port()
        self.session_id = ""
        settings = {
            "rpc-bind-address": "127.0.0.1", "rpc-port": self.rpc_port, "rpc-authentication-required": False,
            "rpc-whitelist-enabled": True, "rpc-whitelist": "127.0.0.1", "rpc-host-whitelist-enabled": False,
            "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1", "peer-port": free_port(),
            "peer-port-random-on-start": False, "port-forwarding-enabled": False, "dht-enabled": False,
            "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False, "incomplete-dir-enabled": False,
            "watch-dir-enabled": False, "download-dir": os.path.join(self.dir, "downloads"),
            "message-level": 2,
        }
        with open(os.path.join(self.dir, "settings.json"), "w") as f:
            json.dump(settings, f)
        self.proc = subprocess.Popen(["transmission-daemon", "-f", "-g", self.dir, "-e", self.log],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                self.call("session-get")
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise AssertionError("transmission-daemon's RPC did not come up\n" + self.log_tail())
                time.sleep(0.1)

    def call(self, method, **arguments):
        body = json.dumps({"method": method, "arguments": arguments}).encode()
        for _ in range(3):
            req = urllib.request.Request("http://127.0.0.1:%d/transmission/rpc" % self.rpc_port, data=body,
                                         headers={"X-Transmission-Session-Id": self.session_id})
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    return json.load(r)
            except urllib.error.HTTPError as e:
                if e.code != 409:  # 409: "here is your session id, ask again"
                    raise
                self.session_id = e.headers["X-Transmission-Session-Id"]
        raise AssertionError("transmission RPC kept answering 409")

    def add(self, torrent, download_dir):
        """Adds and starts a torrent whose data lies in download_dir; (result, id or None)."""
        with open(torrent, "rb") as f:
            meta = base64.b64encode(f.read()).decode()
        r = self.call("torrent-add", metainfo=meta, **{"download-dir": download_dir, "paused": False})
        added = r.get("arguments", {}).get("torrent-added")
        return r["result"], (added["id"] if added else None)

    FIELDS = ["status", "percentDone", "haveValid", "haveUnchecked", "pieceCount", "pieceSize", "pieces",
              "sizeWhenDone", "totalSize", "error", "errorString", "hashString", "files"]

    def checked(self, tid, timeout=60):
        """Waits until Transmission has verified the data (it then seeds, or would download)."""
        deadline = time.time() + timeout
        while True:
            t = self.call("torrent-get", ids=[tid], fields=self.FIELDS)["arguments"]["torrents"][0]
            if t["status"] in (self.DOWNLOAD_WAIT, self.DOWNLOADING, self.SEED_WAIT, self.SEEDING):
                t["pieces"] = bitfield(base64.b64decode(t["pieces"]), t["pieceCount"])
                return t
            if t["error"] or time.time() > deadline:
                raise AssertionError("Transmission did not finish checking: %s\n%s" % (t, self.log_tail()))
            time.sleep(0.05)

    def remove(self, tid):
        self.call("torrent-remove", ids=[tid], **{"delete-local-data": False})

    def log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# aria2: `aria2c --check-integrity` hashes existing data; complete data is seeded for zero
# minutes and aria2 exits 0; incomplete data waits for peers that never come (no trackers,
# DHT, LPD or PEX) until --bt-stop-timeout, then exits 7 ("unfinished downloads").

ARIA2_INCOMPLETE = 7


def aria2_check(torrent, download_dir, stop_after=3):
    args = ["aria2c", "--check-integrity=true", "--bt-seed-unverified=false", "--seed-time=0",
            "--bt-stop-timeout=%d" % stop_after, "--dir=" + download_dir, "--enable-dht=false",
            "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--disable-ipv6=true", "--interface=127.0.0.1", "--listen-port=%d" % free_port(),
            "--file-allocation=none", "--allow-overwrite=false", "--auto-file-renaming=false",
            "--summary-interval=0", "--console-log-level=warn", "--no-conf=true", "--follow-torrent=false",
            "-T", torrent]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr

"""Web seeds (BEP 19, url-list) over real HTTP servers: a download with no peer at all
completes from python3 -m http.server (which ignores Range and sends whole files) and from
Debian's nginx (byte ranges, keep-alive) for single-file, multi-file hybrid (pad files, which
no server holds) and v2-only torrents; a web seed beside a peer, both contributing; a server
sending wrong bytes is dropped after the piece fails its check and a missing one (404) is
reported, while a good seed finishes the download. Every download is byte-compared."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tracker"))
from torrent_harness import Procs, can_connect, exit_code, last_status  # noqa: E402
from tracker_harness import free_port, hashforge_bin, wait_for  # noqa: E402

PY = "/usr/bin/python3"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WAIT = 120


def tree_digest(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


class WebSeeds(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hf-webseed-")
        os.chmod(self.work, 0o755)  # nginx's workers read the served files
        self.addCleanup(shutil.rmtree, self.work, True)
        self.p = Procs(self, self.work)
        self.start = lambda name, argv, cwd=None: self.p.start(name, argv, cwd=cwd)
        self.logs = self.p.logs

    def python_server(self, root):
        port = free_port()
        self.start("http-%d" % port, [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root)
        self.assertTrue(wait_for(lambda: can_connect(port), 20), self.logs())
        return "http://127.0.0.1:%d/" % port

    def nginx_server(self, root):
        if not os.path.exists(NGINX):
            self.skipTest("nginx is not installed (scripts/setup.sh installs it)")
        port = free_port()
        conf_dir = os.path.join(self.work, "nginx-%d" % port)
        os.makedirs(conf_dir)
        conf = os.path.join(conf_dir, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(conf, "w") as f:
            f.write("%sdaemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "events { worker_connections 64; }\nhttp {\n access_log off;\n"
                    " client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s;"
                    " scgi_temp_path %s;\n server { listen 127.0.0.1:%d; root %s; }\n}\n"
                    % (user, conf_dir, conf_dir, conf_dir, conf_dir, conf_dir, conf_dir, conf_dir, port, root))
        self.start("nginx-%d" % port, [NGINX, "-c", conf, "-p", conf_dir])
        self.assertTrue(wait_for(lambda: can_connect(port), 20), self.logs())
        return "http://127.0.0.1:%d/" % port

    def content(self, root, kind):
        """A file (single) or a folder of files (multi) under root; returns its path."""
        os.makedirs(root, exist_ok=True)
        if kind == "single":
            p = os.path.join(root, "single file.bin")
            with open(p, "wb") as f:
                f.write(os.urandom(2 * 1024 * 1024 + 12345))
            return p
        d = os.path.join(root, "multi")
        os.makedirs(os.path.join(d, "sub dir"))
        for name, size in (("a.bin", 700000), ("sub dir/b ü.bin", 1500001), ("c.txt", 10), ("z.bin", 300000)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(os.urandom(size))
        return d

    def torrent(self, path, seeds, fmt="v1"):
        t = os.path.join(self.work, os.path.basename(path) + "-" + fmt + ".torrent")
        argv = [hashforge_bin(), "torrent", "create", path, "-o", t, "--piece-size", "64K", "--format", fmt, "-q"]
        for s in seeds:
            argv += ["-w", s]
        subprocess.run(argv, check=True, capture_output=True)
        return t

    def download(self, torrent, name="dl", extra=()):
        out = os.path.join(self.work, name)
        os.makedirs(out, exist_ok=True)
        p = self.start(name, [hashforge_bin(), "torrent", "download", torrent, "-o", out, "--no-trackers", "--json",
                              "-v"] + list(extra))
        rc = exit_code(p, WAIT)
        return rc, out, last_status(os.path.join(self.work, name + ".log"))

    def check(self, src, out, rc, st):
        self.assertEqual(rc, 0, self.logs())
        base = os.path.basename(src)
        if os.path.isdir(src):
            self.assertEqual(tree_digest(os.path.join(out, base)), tree_digest(src))
        else:
            got = {k: v for k, v in tree_digest(out).items() if not k.endswith(".hfresume")}
            self.assertEqual(got, {base: tree_digest(os.path.dirname(src))[base]})
        self.assertTrue(st["complete"])
        self.assertEqual(st["hash_failures"], 0)
        self.assertGreater(sum(w["downloaded"] for w in st["web_seeds"]), 0)

    def test_no_peers_python_http_server_without_ranges(self):
        root = os.path.join(self.work, "srv")
        src = self.content(root, "single")
        url = self.python_server(root)
        rc, out, st = self.download(self.torrent(src, [url]))
        self.check(src, out, rc, st)

    def test_no_peers_nginx_multi_file_hybrid_with_pad_files(self):
        root = os.path.join(self.work, "srv")
        src = self.content(root, "multi")
        url = self.nginx_server(root)
        rc, out, st = self.download(self.torrent(src, [url], "hybrid"))
        self.check(src, out, rc, st)

    def test_no_peers_nginx_v2_only_and_single_file_url(self):
        root = os.path.join(self.work, "srv")
        src = self.content(root, "multi")
        url = self.nginx_server(root)
        rc, out, st = self.download(self.torrent(src, [url], "v2"))
        self.check(src, out, rc, st)
        single = self.content(os.path.join(root, "one"), "single")
        # A URL without the trailing slash is the file itself (BEP 19).
        rc, out, st = self.download(self.torrent(single, [url + "one/single%20file.bin"]), "dl-single")
        self.check(single, out, rc, st)

    def test_the_download_limit_holds_for_web_seeds(self):
        # 2.5 MB from a web seed alone at 1 MB/s: at least 2 s whatever the machine (the limit
        # allows a quarter second of burst), where unlimited it takes a fraction of a second.
        root = os.path.join(self.work, "srv")
        src = self.content(root, "multi")
        url = self.nginx_server(root)
        t0 = time.monotonic()
        rc, out, st = self.download(self.torrent(src, [url]), extra=("--download-limit", "1M"))
        took = time.monotonic() - t0
        self.check(src, out, rc, st)
        print("2.5 MB from a web seed at --download-limit 1M: %.2f s" % took, file=sys.stderr)
        self.assertGreater(took, 2.0, self.logs())

    def test_a_lying_server_is_dropped_and_a_missing_one_reported(self):
        good_root = os.path.join(self.work, "good")
        src = self.content(good_root, "single")
        bad_root = os.path.join(self.work, "bad")
        os.makedirs(bad_root)
        with open(src, "rb") as f:
            data = bytearray(f.read())
        for i in range(0, len(data), 4096):
            data[i] ^= 0xFF
        with open(os.path.join(bad_root, os.path.basename(src)), "wb") as f:
            f.write(data)
        bad = self.nginx_server(bad_root)
        good = self.python_server(good_root)
        missing = "http://127.0.0.1:%d/" % free_port() + "nothing/"
        rc, out, st = self.download(self.torrent(src, [bad, missing, good]))
        self.assertEqual(rc, 0, self.logs())
        got = {k: v for k, v in tree_digest(out).items() if not k.endswith(".hfresume")}
        self.assertEqual(got, {os.path.basename(src): tree_digest(good_root)[os.path.basename(src)]})
        by = {w["url"]: w for w in st["web_seeds"]}
        # Dropped for its bad data ("sent bad data for piece N"), or refused on return ("banned: it
        # sent bad data before").
        self.assertIn("bad data", by[bad]["error"], self.logs())
        self.assertFalse(by[bad]["active"])
        self.assertNotEqual(by[missing]["error"], "", self.logs())
        self.assertGreater(by[good]["downloaded"], 0)
        self.assertGreater(st["banned"] + st["hash_failures"], 0)

    def test_a_web_seed_beside_a_peer(self):
        root = os.path.join(self.work, "srv")
        src = self.content(root, "multi")
        url = self.python_server(root)
        t = self.torrent(src, [url])
        port = free_port()
        self.start("seed", [hashforge_bin(), "torrent", "seed", t, root, "--no-trackers", "--listen",
                            "127.0.0.1:%d" % port, "--upload-limit", "500K", "--json"])
        # The seeder listens before the download starts (it checks its data first), and the
        # download is slow enough (about 2.5 s) for the peer to have a share of it.
        self.assertTrue(wait_for(lambda: can_connect(port), 20), self.logs())
        rc, out, st = self.download(t, extra=("--peer", "127.0.0.1:%d" % port, "--download-limit", "1M"))
        self.check(src, out, rc, st)
        # Both contributed: the session's payload bytes are more than the web seeds' share.
        web = sum(w["downloaded"] for w in st["web_seeds"])
        print("web seeds %d bytes, in all %d" % (web, st["downloaded"]), file=sys.stderr)
        self.assertGreater(st["downloaded"] - web, 0, self.logs())


if __name__ == "__main__":
    unittest.main()

"""`hashforge torrent daemon` through its JSON API and its page. The API: torrents added as
.torrent bodies and as magnet links download from a hashforge seeder (byte-compared), are
paused, resumed, limited and removed, and stay inside the root folder. Hostile: no token, a
wrong token, a foreign Origin, a foreign Host (DNS rebinding), folders outside the root, junk
bodies. The page in headless Chromium (Debian's chromium and chromium-driver through
Selenium): it lists the torrents as the API does, shows each peer's flags and a rate graph,
and adds a magnet link from its form."""
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tracker"))
from torrent_harness import stop  # noqa: E402
from tracker_harness import free_port, hashforge_bin, wait_for  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TOKEN = "test-token-0123456789abcdef"
WAIT = 90


class Daemon:
    def __init__(self, test, work, *extra):
        self.port = free_port()
        self.root = os.path.join(work, "root")
        self.log = os.path.join(work, "daemon.log")
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen([hashforge_bin(), "torrent", "daemon", "--root", self.root, "--listen",
                                          "127.0.0.1:%d" % self.port, "--token", TOKEN, "-v"] + list(extra),
                                         stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        test.addCleanup(stop, self.proc)
        test.assertTrue(wait_for(lambda: self.up(), 20), self.text())

    def text(self):
        with open(self.log, "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def up(self):
        try:
            return self.call("GET", "/api/status")[0] == 200
        except OSError:
            return False

    def call(self, method, path, body=None, headers=None, token=TOKEN, host=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Host": host or "127.0.0.1:%d" % self.port}
        if token is not None:
            h["X-Hashforge-Token"] = token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data


def make_content(work, size=3 * 1024 * 1024 + 99):
    seed_dir = os.path.join(work, "seed")
    os.makedirs(seed_dir, exist_ok=True)
    data = os.urandom(size)
    path = os.path.join(seed_dir, "movie.bin")
    with open(path, "wb") as f:
        f.write(data)
    torrent = os.path.join(work, "movie.torrent")
    subprocess.run([hashforge_bin(), "torrent", "create", path, "-o", torrent, "--piece-size", "64K", "-q"],
                   check=True, capture_output=True)
    return torrent, seed_dir, hashlib.sha256(data).hexdigest()


def magnet_of(torrent):
    return json.loads(subprocess.run([hashforge_bin(), "torrent", "info", "--json", torrent], capture_output=True,
                                     text=True, check=True).stdout)["magnet"]


def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


class DaemonApi(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="hf-daemon-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def seeder(self, torrent, seed_dir, rate=None):
        port = free_port()
        argv = [hashforge_bin(), "torrent", "seed", torrent, seed_dir, "--no-trackers", "--listen",
                "127.0.0.1:%d" % port, "-q"]
        if rate:
            argv += ["--upload-limit", rate]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop, p)
        time.sleep(0.5)
        return "127.0.0.1:%d" % port

    def test_add_pause_resume_limit_remove(self):
        torrent, seed_dir, want = make_content(self.work)
        peer = self.seeder(torrent, seed_dir, rate="400K")
        d = Daemon(self, self.work)
        with open(torrent, "rb") as f:
            body = f.read()
        st, t = d.call("POST", "/api/torrents?dir=films", body, {"Content-Type": "application/x-bittorrent"})
        self.assertEqual(st, 201, t)
        tid = t["id"]
        # The same torrent again (as a magnet) is refused; removed, it comes back as a magnet
        # that names the seeder, the torrent having no tracker.
        st, dup = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent)})
        self.assertEqual(st, 409, dup)
        st, _ = d.call("DELETE", "/api/torrents/%d" % tid)
        self.assertEqual(st, 200)
        st, lst = d.call("GET", "/api/torrents")
        self.assertEqual(lst, [])
        # Again as a magnet with the seeder as its peer, into a folder under the root.
        st, t = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "dir": "films/new", "peers": [peer]})
        self.assertEqual(st, 201, t)
        tid = t["id"]
        target = os.path.join(d.root, "films", "new", "movie.bin")
        self.assertTrue(wait_for(lambda: d.call("GET", "/api/torrents/%d" % tid)[1]["has_metadata"], WAIT), d.text())
        # Pause while it downloads (the seeder is held to 400 KB/s), then resume: it finishes.
        st, t = d.call("POST", "/api/torrents/%d/pause" % tid)
        self.assertEqual(st, 200)
        self.assertTrue(t["paused"])
        self.assertTrue(wait_for(lambda: d.call("GET", "/api/torrents/%d" % tid)[1]["state"] == "paused", 20))
        st, t = d.call("POST", "/api/torrents/%d/limits" % tid, {"download": 10 * 1024 * 1024, "upload": 0})
        self.assertEqual(st, 200, t)
        self.assertEqual(t["download_limit"], 10 * 1024 * 1024)
        st, t = d.call("POST", "/api/torrents/%d/resume" % tid)
        self.assertEqual(st, 200, t)
        self.assertTrue(wait_for(lambda: d.call("GET", "/api/torrents/%d" % tid)[1]["state"] == "seeding", WAIT),
                        d.text())
        self.assertEqual(digest(target), want)
        st, detail = d.call("GET", "/api/torrents/%d" % tid)
        self.assertGreater(len(detail["history"]["down"]), 0)
        self.assertGreater(max(detail["history"]["down"]), 0)
        st, s = d.call("GET", "/api/status")
        self.assertEqual(s["torrents"], 1)
        # Removed: gone from the list, its file kept.
        self.assertEqual(d.call("DELETE", "/api/torrents/%d" % tid)[0], 200)
        self.assertEqual(d.call("GET", "/api/torrents/%d" % tid)[0], 404)
        self.assertEqual(digest(target), want)

    def test_torrents_survive_a_restart(self):
        torrent, seed_dir, want = make_content(self.work)
        peer = self.seeder(torrent, seed_dir, rate="300K")
        other, _, _ = make_content(os.path.join(self.work, "other"), 70000)
        d = Daemon(self, self.work)
        st, a = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "peers": [peer], "dir": "kept"})
        self.assertEqual(st, 201, a)
        with open(other, "rb") as f:
            st, b = d.call("POST", "/api/torrents", f.read(), {"Content-Type": "application/x-bittorrent"})
        self.assertEqual(st, 201, b)
        self.assertEqual(d.call("POST", "/api/torrents/%d/pause" % b["id"])[0], 200)
        self.assertEqual(d.call("POST", "/api/torrents/%d/limits" % b["id"], {"upload": 12345})[0], 200)
        self.assertTrue(wait_for(lambda: d.call("GET", "/api/torrents/%d" % a["id"])[1]["has_metadata"], WAIT), d.text())
        stop(d.proc)
        # Back on the same root: the same ids, the paused one still paused with its limit, the
        # magnet (now a torrent) going on to completion.
        d2 = Daemon(self, self.work)
        lst = {t["id"]: t for t in d2.call("GET", "/api/torrents")[1]}
        self.assertEqual(sorted(lst), sorted([a["id"], b["id"]]), d2.text())
        self.assertTrue(lst[b["id"]]["paused"])
        self.assertEqual(lst[b["id"]]["upload_limit"], 12345)
        self.assertEqual(lst[a["id"]]["name"], "movie.bin")
        self.assertTrue(wait_for(lambda: d2.call("GET", "/api/torrents/%d" % a["id"])[1]["state"] == "seeding", WAIT),
                        d2.text())
        self.assertEqual(digest(os.path.join(d2.root, "kept", "movie.bin")), want)
        st, c = d2.call("POST", "/api/torrents", {"magnet": magnet_of(torrent)})
        self.assertEqual(st, 409)  # still known after the restart

    def test_global_limits_hold_across_torrents_and_restarts(self):
        size = 1536 * 1024
        a_torrent, a_seed, a_want = make_content(os.path.join(self.work, "a"), size)
        b_torrent, b_seed, b_want = make_content(os.path.join(self.work, "b"), size)
        a_peer, b_peer = self.seeder(a_torrent, a_seed), self.seeder(b_torrent, b_seed)
        d = Daemon(self, self.work)
        for bad in ({"download": -1}, {"connections": 1.5}, {"upload": "fast"}, [1]):
            st, _ = d.call("POST", "/api/limits", bad)
            self.assertEqual(st, 400, bad)
        rate = 512 * 1024
        st, lim = d.call("POST", "/api/limits", {"download": rate, "connections": 1})
        self.assertEqual(st, 200, lim)
        self.assertEqual((lim["download"], lim["upload"], lim["connections"]), (rate, 0, 1))
        t0 = time.monotonic()
        for torrent, peer, sub in ((a_torrent, a_peer, "a"), (b_torrent, b_peer, "b")):
            st, t = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "peers": [peer], "dir": sub})
            self.assertEqual(st, 201, t)
        most_open = 0

        def both_done():
            nonlocal most_open
            most_open = max(most_open, d.call("GET", "/api/limits")[1]["connections_open"])
            return all(t["state"] == "seeding" for t in d.call("GET", "/api/torrents")[1])
        self.assertTrue(wait_for(both_done, WAIT, step=0.1), d.text())
        took = time.monotonic() - t0
        self.assertEqual(digest(os.path.join(d.root, "a", "movie.bin")), a_want)
        self.assertEqual(digest(os.path.join(d.root, "b", "movie.bin")), b_want)
        self.assertLessEqual(most_open, 1)
        # A lower bound only (a slow machine takes longer): both torrents' bytes through one
        # limit, less its quarter-second burst.
        self.assertGreaterEqual(took, (2 * size - rate / 4) / rate, d.text())
        stop(d.proc)
        d2 = Daemon(self, self.work)
        st, lim = d2.call("GET", "/api/limits")
        self.assertEqual((lim["download"], lim["connections"]), (rate, 1), lim)
        self.assertEqual(d2.call("GET", "/api/status")[1]["limits"]["download"], rate)

    def test_status_reports_the_shared_dht(self):
        port = free_port()
        d = Daemon(self, self.work, "--dht", "--dht-listen", "127.0.0.1:%d" % port, "--dht-bootstrap", "127.0.0.1:9")
        st, s = d.call("GET", "/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(s["dht"]["port"], port)
        self.assertEqual(len(s["dht"]["id"]), 40)

    def test_hostile_requests_are_refused(self):
        torrent, _, _ = make_content(self.work, 100000)
        d = Daemon(self, self.work)
        self.assertEqual(d.call("GET", "/api/torrents", token=None)[0], 401)
        self.assertEqual(d.call("GET", "/api/torrents", token="wrong-token-0123456789")[0], 401)
        self.assertEqual(d.call("GET", "/api/torrents", token=TOKEN[:-1])[0], 401)
        self.assertEqual(d.call("GET", "/api/torrents", headers={"Authorization": "Bearer " + TOKEN})[0], 200)
        # A page on another site (even with the token, say from a leak): refused by Origin.
        self.assertEqual(d.call("GET", "/api/torrents", headers={"Origin": "http://evil.example"})[0], 403)
        self.assertEqual(d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent)},
                                headers={"Origin": "http://evil.example"})[0], 403)
        self.assertEqual(d.call("GET", "/api/torrents", headers={"Origin": "http://127.0.0.1:%d" % d.port})[0], 200)
        # DNS rebinding: a foreign name that resolves to 127.0.0.1 arrives with its own Host.
        self.assertEqual(d.call("GET", "/api/torrents", host="evil.example:%d" % d.port)[0], 403)
        self.assertEqual(d.call("GET", "/", token=None, host="evil.example")[0], 403)
        self.assertEqual(d.call("GET", "/", token=None)[0], 200)
        # Paths outside the root, however written.
        with open(torrent, "rb") as f:
            body = f.read()
        for bad in ("../x", "a/../../x", "/etc", "a//b", "./a", "a\\b"):
            st, r = d.call("POST", "/api/torrents?dir=" + bad, body, {"Content-Type": "application/x-bittorrent"})
            self.assertEqual(st, 400, (bad, r))
            st, r = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "dir": bad})
            self.assertEqual(st, 400, (bad, r))
        os.makedirs(d.root, exist_ok=True)
        os.symlink("/tmp", os.path.join(d.root, "out"))
        st, r = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "dir": "out/x"})
        self.assertEqual(st, 400, r)
        # The daemon's own folder, as a folder or as a torrent's name.
        st, r = d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent), "dir": ".hashforge"})
        self.assertEqual(st, 400, r)
        own = os.path.join(self.work, "own", ".hashforge")
        os.makedirs(own)
        with open(os.path.join(own, "token"), "w") as f:
            f.write("attacker-chosen-token\n")
        own_torrent = os.path.join(self.work, "own.torrent")
        subprocess.run([hashforge_bin(), "torrent", "create", own, "-o", own_torrent, "-q"], check=True,
                       capture_output=True)
        with open(own_torrent, "rb") as f:
            st, r = d.call("POST", "/api/torrents", f.read(), {"Content-Type": "application/x-bittorrent"})
        self.assertEqual(st, 400, r)
        # A symbolic link where the torrent's files would go (made inside the root, leading out).
        outside = os.path.join(self.work, "outside")
        os.makedirs(outside)
        os.symlink(outside, os.path.join(d.root, "movie.bin"))
        st, r = d.call("POST", "/api/torrents", body, {"Content-Type": "application/x-bittorrent"})
        self.assertEqual(st, 400, r)
        self.assertIn("symbolic link", r["error"])
        self.assertEqual(os.listdir(outside), [])
        # Junk: not a torrent, not JSON, not a magnet, no content type, an unknown id.
        self.assertEqual(d.call("POST", "/api/torrents", b"garbage", {"Content-Type": "application/x-bittorrent"})[0],
                         400)
        self.assertEqual(d.call("POST", "/api/torrents", b"{", {"Content-Type": "application/json"})[0], 400)
        self.assertEqual(d.call("POST", "/api/torrents", {"magnet": "http://x"})[0], 400)
        self.assertEqual(d.call("POST", "/api/torrents", {"magnet": magnet_of(torrent),
                                                          "peers": ["127.0.0.1:1"] * 201})[0], 400)
        self.assertEqual(d.call("POST", "/api/torrents", b"x")[0], 415)
        self.assertEqual(d.call("GET", "/api/torrents/999")[0], 404)
        self.assertEqual(d.call("GET", "/api/torrents/abc")[0], 404)
        self.assertEqual(d.call("POST", "/api/torrents/1/limits", {"upload": -5})[0], 404)
        self.assertEqual(d.call("GET", "/api/torrents")[1], [])


@unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMEDRIVER),
                     "needs python3-selenium, chromium and chromium-driver (scripts/setup.sh installs them)")
class DaemonPage(unittest.TestCase):
    def test_page_lists_torrents_peers_and_adds_a_magnet(self):
        work = tempfile.mkdtemp(prefix="hf-daemon-page-")
        self.addCleanup(shutil.rmtree, work, True)
        torrent, seed_dir, want = make_content(work)
        port = free_port()
        p = subprocess.Popen([hashforge_bin(), "torrent", "seed", torrent, seed_dir, "--no-trackers", "--listen",
                              "127.0.0.1:%d" % port, "--upload-limit", "300K", "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop, p)
        d = Daemon(self, work)
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.addCleanup(drv.quit)
        drv.set_page_load_timeout(WAIT)
        drv.get("http://127.0.0.1:%d/#token=%s" % (d.port, TOKEN))
        self.assertEqual(drv.title, "hashforge torrents")
        # The token left the address bar once read.
        self.assertNotIn("token", drv.current_url)
        magnet = magnet_of(torrent) + "&x.pe=127.0.0.1:%d" % port
        drv.find_element(By.ID, "magnet").send_keys(magnet)
        drv.find_element(By.ID, "add").click()
        self.assertTrue(wait_for(lambda: len(d.call("GET", "/api/torrents")[1]) == 1, 20), d.text())

        def snap():
            return drv.execute_script("""
                const rows = [...document.querySelectorAll('#torrents tr')].map(tr =>
                    Object.fromEntries([...tr.children].map(td => [td.dataset.field, td.textContent])));
                const peers = [...document.querySelectorAll('#peers tr')].map(tr => ({
                    address: tr.querySelector('[data-field=address]').textContent,
                    client: tr.querySelector('[data-field=client]').textContent,
                    flags: Object.fromEntries([...tr.querySelectorAll('[data-flag]')].map(s => [s.dataset.flag, s.dataset.on]))}));
                return {rows, peers, updates: Number(document.body.dataset.updates),
                        detail: !document.getElementById('detail').hidden,
                        graph: document.getElementById('graph-max').textContent};""")
        # The page selected the new torrent: its peer (the seeder) shows with its flags. The row can
        # appear after the handshake and before the seeder's bitfield makes us interested, so wait
        # for the flag rather than read the first snapshot that has a peer.
        def interested_peer():
            s = snap()
            return s if s["peers"] and s["peers"][0]["flags"].get("interested") == "1" else None
        self.assertTrue(wait_for(interested_peer, WAIT), (snap(), d.text()))
        s = interested_peer() or snap()
        self.assertEqual(len(s["rows"]), 1)
        self.assertEqual(s["rows"][0]["name"], "movie.bin")
        self.assertEqual(s["peers"][0]["address"], "127.0.0.1:%d" % port)
        self.assertIn("hashforge", s["peers"][0]["client"])
        self.assertEqual(s["peers"][0]["flags"]["interested"], "1")  # we want its pieces
        self.assertTrue(s["detail"])
        self.assertIn("peak", s["graph"])
        target = os.path.join(d.root, "movie.bin")
        self.assertTrue(wait_for(lambda: digest(target) == want, WAIT), d.text())
        self.assertTrue(wait_for(lambda: snap()["rows"][0]["state"] == "seeding", 20))
        api = d.call("GET", "/api/torrents")[1][0]
        self.assertEqual(snap()["rows"][0]["progress"].strip().endswith("100.0%"), api["progress"] == 1.0)
        if os.environ.get("HF_SCREENSHOT"):
            drv.save_screenshot(os.environ["HF_SCREENSHOT"])


if __name__ == "__main__":
    unittest.main()

"""The coordinator's dashboard in headless Chromium (Debian's chromium and chromium-driver,
driven through Selenium): the page loads, lists the workers of a running cluster, and the
numbers it shows match /api/stats. With HF_SCREENSHOT=path it also saves a screenshot."""
import os
import shutil
import tempfile
import time
import unittest

from fake_pool import FakePool

from stratum_harness import HANG_GUARD, Client, Coordinator, finish_worker, worker

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

D0 = 1.0 / 65536
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def rate_text(v):
    """The page's hash rate format (see dashboard.html)."""
    units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"]
    i = 0
    while v >= 1000 and i < len(units) - 1:
        v /= 1000
        i += 1
    return ("%.2f" if v < 10 else "%.1f") % v + " " + units[i]


@unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMEDRIVER),
                     "needs python3-selenium, chromium and chromium-driver (scripts/setup.sh installs them)")
class Dashboard(unittest.TestCase):
    def open_page(self, co):
        """Headless Chromium on the dashboard, after two refreshes (so the page shows what the
        API says now)."""
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.addCleanup(drv.quit)
        drv.set_page_load_timeout(HANG_GUARD)
        drv.get(co.http + "/")
        self.assertEqual(drv.title, "hashforge coordinator")
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline and int(drv.execute_script("return document.body.dataset.updates || 0")) < 2:
            time.sleep(0.2)
        return drv

    def test_page_lists_the_cluster_and_matches_api_stats(self):
        co = Coordinator("--difficulty", str(D0), "--no-vardiff", "--job-interval", "600", http=True)
        self.addCleanup(co.stop)
        # A hashforge worker that mined and left, and two clients that stay connected with
        # fixed share counts, so the numbers hold still while the page is read.
        finish_worker(self, worker([co.url()], "--threads", "1", "--user", "forge", seconds=3))
        clients = {}
        for name, shares in (("alice", 3), ("bob", 1)):
            c = Client(co.port)
            self.addCleanup(c.close)
            job = c.subscribe_authorize(name)
            for k in range(shares):
                en2 = "%08x" % k
                self.assertIs(c.submit(job, en2, job.ntime, job.find_share(c.en1, en2, D0), user=name)["result"], True)
            clients[name] = c
        # alice reports her own rate, as hashforge workers do (hashforge.hello): the page shows
        # it beside the share-based figures, which are still near zero for so few shares.
        self.assertIs(clients["alice"].call("hashforge.hello", [{"backend": "python", "rate": 1234.5}])["result"], True)
        bob = clients["bob"]
        self.assertEqual(bob.submit(bob.jobs[-1], "00000000", bob.jobs[-1].ntime,
                                    bob.jobs[-1].find_share(bob.en1, "00000000", D0), user="bob")["error"][0], 22)

        drv = self.open_page(co)
        stats = co.stats()
        # One script reads the whole page at once: the page rebuilds its rows every 2 s, so
        # element-by-element reads could straddle a refresh.
        snap = drv.execute_script("""
            const rows = [...document.querySelectorAll('#workers tr')].map(tr =>
                Object.fromEntries([...tr.children].map(td => [td.dataset.field, td.textContent])));
            const ids = ['accepted', 'rejected', 'workers-connected', 'best-hash', 'job-id', 'reported-rate'];
            return {rows: rows, values: Object.fromEntries(ids.map(i => [i, document.getElementById(i).textContent])),
                    heads: [...document.querySelectorAll('thead th')].map(th => th.textContent)};
        """)
        text = snap["values"].get
        self.assertEqual(text("accepted"), str(stats["accepted"]))
        self.assertEqual(text("rejected"), str(stats["rejected"]))
        self.assertEqual(text("workers-connected"), str(stats["workers_connected"]))
        self.assertEqual(text("best-hash"), stats["best"]["hash"])
        self.assertEqual(text("job-id"), stats["job"]["id"])
        self.assertEqual(stats["accepted"], 4 + next(w["accepted"] for w in stats["workers"] if w["name"] == "forge"))
        rows = {r["name"]: r for r in snap["rows"]}
        self.assertEqual(set(rows), {"forge", "alice", "bob"})
        for w in stats["workers"]:
            row = rows[w["name"]]
            self.assertEqual(row["accepted"], str(w["accepted"]), w["name"])
            self.assertEqual(row["rejected"], str(w["rejected"]), w["name"])
            self.assertEqual(row["address"], w["address"])
        self.assertEqual(rows["alice"]["accepted"], "3")
        self.assertEqual(rows["bob"]["rejected"], "1")
        # The reported rate: its own column, non-zero for the connected worker that reported.
        self.assertIn("Reported", snap["heads"])
        self.assertIn("Shares 1 min", snap["heads"])
        self.assertEqual(rows["alice"]["reported"], rate_text(1234.5))
        self.assertEqual(rows["alice"]["reported"], "1.23 kH/s")
        self.assertEqual(rows["bob"]["reported"], "-")
        self.assertEqual(stats["reported_rate"], 1234.5)  # connected workers only
        self.assertEqual(text("reported-rate"), rate_text(stats["reported_rate"]))
        self.assertEqual(rows["forge"]["last-seen"], "disconnected")
        self.assertNotEqual(rows["forge"]["backend"], "-")  # the worker reported its backend
        shot = os.environ.get("HF_SCREENSHOT")
        if shot:
            drv.save_screenshot(shot)
        # Header jobs from a file: the proxy and file-task panels stay hidden.
        self.assertFalse(drv.find_element("id", "upstream").is_displayed())
        self.assertFalse(drv.find_element("id", "file-task").is_displayed())

    def test_upstream_pool_and_file_task_panels_match_api_stats(self):
        pool = FakePool("d00d", difficulty=1 / 8192)
        self.addCleanup(pool.drop)
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        text_file = os.path.join(d, "input.txt")
        with open(text_file, "w") as f:
            f.write("a file for the dashboard\n")
        co = Coordinator("--upstream", pool.url(), "--upstream-user", "wallet.dash", "--difficulty", repr(1 / 8192),
                         "--no-vardiff", "--file-task", text_file, "--file-nonces", "1048576", "--file-seconds", "0",
                         header_job=False, http=True, directory=d)
        self.addCleanup(co.stop)
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline and not co.stats()["upstream"]["connected"]:
            time.sleep(0.1)
        # One share up to the pool by hand, and a hashforge worker that searches the file.
        c = Client(co.port)
        self.addCleanup(c.close)
        job = c.subscribe_authorize("carol")
        n = job.find_share(c.en1, "00000000", 1 / 8192)
        self.assertIs(c.submit(job, "00000000", job.ntime, n, user="carol")["result"], True)
        finish_worker(self, worker([co.url()], "--threads", "1", "--user", "filer", seconds=4))
        while time.time() < deadline and not co.stats()["file_task"]["finished"]:
            time.sleep(0.1)
        drv = self.open_page(co)
        stats = co.stats()
        self.assertTrue(stats["file_task"]["finished"], stats["file_task"])
        page = drv.execute_script("""
            const out = {};
            for (const el of document.querySelectorAll('#upstream [id], #file-task [id]')) out[el.id] = el.textContent;
            out.upShown = !document.getElementById('upstream').hidden;
            out.ftShown = !document.getElementById('file-task').hidden;
            out.carol = [...document.querySelectorAll('#workers tr')].map(tr =>
                Object.fromEntries([...tr.children].map(td => [td.dataset.field, td.textContent])))
                .find(r => r.name === 'carol');
            return out;
        """)
        up, ft = stats["upstream"], stats["file_task"]
        self.assertTrue(page["upShown"] and page["ftShown"])
        self.assertEqual(page["up-url"], pool.url())
        self.assertEqual(page["up-user"], "wallet.dash")
        self.assertEqual(page["up-en1"], up["extranonce1"])
        self.assertEqual(page["up-submitted"], str(up["submitted"]))
        self.assertEqual(page["up-accepted"], str(up["accepted"]))
        self.assertEqual(page["up-job"], stats["job"]["pool_job_id"])
        self.assertGreaterEqual(up["accepted"], 1)
        self.assertEqual(page["carol"]["pool"], "1 / 1")
        self.assertEqual(page["ft-task"], ft["task"])
        self.assertEqual(page["ft-state"], "finished")
        self.assertEqual(page["ft-searched"], str(ft["searched"]))
        self.assertEqual(page["ft-nonces"], "1048576")
        self.assertEqual(page["ft-line"], ft["best_line"])
        self.assertEqual(page["ft-hash"], ft["best_hash"])
        self.assertEqual(page["ft-zeros"], str(ft["leading_zero_hex"]))
        self.assertEqual(page["ft-finder"], ft["finder"])
        self.assertEqual(pool.invalid_shares(), [])


if __name__ == "__main__":
    unittest.main()

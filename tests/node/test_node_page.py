"""The node's web page (net/node/node.html, served at /) in headless Chromium (Debian's chromium
and chromium-driver, driven through Selenium) against a real `hashforge node`: a transaction
posted through the form shows as pending, the mine button mines it into a block that the block
list shows (with the transaction when the block is opened), the height follows, hostile
transaction text stays text, and a node that goes away shows in the status line.
With HF_SCREENSHOT=path it also saves a screenshot."""
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

WAIT = 30  # seconds any single wait may take before the test fails as hung
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = "<img src=x onerror=alert(1)>"


def hashforge_bin():
    path = os.environ.get("HASHFORGE_BIN")
    if not path:
        raise unittest.SkipTest("HASHFORGE_BIN is not set (ctest sets it)")
    return path


class Node:
    """`hashforge node` on a free loopback port with its own data directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hf-node-page-")
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w+b")
        self.proc = subprocess.Popen(
            [hashforge_bin(), "node", "--listen", "127.0.0.1:0", "--data", os.path.join(self.dir, "data"), "--quiet"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        lines = queue.Queue()

        def drain():  # the first line to the queue, then keep the pipe empty
            for raw in self.proc.stdout:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)
        threading.Thread(target=drain, daemon=True).start()
        try:
            first = lines.get(timeout=WAIT)
        except queue.Empty:
            first = None
        m = re.match(r"node listening on (http://[^/\s]+)/\s*$", first or "")
        if not m:
            self.stop()
            raise AssertionError("hashforge node did not start: first stdout line %r, stderr %r"
                                 % (first, self.stderr_text()))
        self.url = m.group(1)

    def stderr_text(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=WAIT) as r:
            return json.loads(r.read().decode("utf-8"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(WAIT)
    drv.set_script_timeout(WAIT)
    return drv


# One script reads a part of the page at once: the page rebuilds its tables every 2 s, so
# element-by-element reads could straddle a refresh.
SNAPSHOT = """
    const rows = sel => [...document.querySelectorAll(sel)].map(tr =>
        Object.fromEntries([...tr.children].filter(td => td.dataset.field).map(td => [td.dataset.field, td.textContent])));
    const text = id => document.getElementById(id).textContent;
    const blocks = [...document.querySelectorAll('#blocks tr.block')].map(tr => {
        const r = Object.fromEntries([...tr.children].map(td => [td.dataset.field, td.textContent]));
        r.open = tr.classList.contains('open');
        const next = tr.nextElementSibling;
        r.txs = next && next.classList.contains('txs')
            ? [...next.querySelectorAll('tr.tx')].map(t => Object.fromEntries(
                  [...t.children].map(td => [td.dataset.field, td.textContent])))
            : null;
        return r;
    });
    return {
        updates: Number(document.body.dataset.updates || 0),
        pending: rows('#pending tr.tx'), pendingEmpty: document.querySelectorAll('#pending tr.empty').length,
        blocks: blocks, peers: rows('#peers tr.peer'),
        height: text('height'), rate: text('rate'), minedCount: text('blocks-mined'), tip: text('tip'),
        pendingCount: text('pending-count'), mining: text('mining-state'), backend: text('backend'),
        txResult: text('tx-result'), mineResult: text('mine-result'),
        statusLine: text('status-line'), statusError: document.getElementById('status-line').className === 'error',
        imgs: document.querySelectorAll('img').length, alerted: !!window.__alerted,
    };
"""


@unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM),
                     "needs python3-selenium, chromium and chromium-driver (scripts/setup.sh installs them)")
class NodePage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        try:
            cls.drv = browser()
        except Exception:
            cls.node.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.drv.quit()
        cls.node.stop()

    def snap(self):
        return self.drv.execute_script(SNAPSHOT)

    def wait_for(self, what, cond):
        """Polls the page until cond(snapshot) is truthy; returns that value."""
        last = {}

        def check(_):
            last["s"] = s = self.snap()
            return cond(s)
        try:
            return WebDriverWait(self.drv, WAIT, poll_frequency=0.1).until(check)
        except TimeoutException:
            self.fail("timed out waiting for %s; page: %s; node stderr: %s"
                      % (what, json.dumps(last.get("s"), indent=1)[:4000], self.node.stderr_text()))

    def open_page(self):
        self.drv.get(self.node.url + "/")
        self.assertEqual(self.drv.title, "hashforge node")
        # Any alert() that ran would set this (and none may run: node data is text).
        self.drv.execute_script("window.alert = () => { window.__alerted = true; };")
        self.wait_for("the first refresh", lambda s: s["updates"] >= 1 and s["height"] != "-")

    def post(self, author, content):
        for eid, value in (("author", author), ("content", content)):
            el = self.drv.find_element("id", eid)
            el.clear()
            if value:
                el.send_keys(value)
        self.drv.execute_script("document.getElementById('tx-result').textContent = '';")
        self.drv.find_element("id", "submit").click()
        return self.wait_for("the reply to the post",
                             lambda s: s["txResult"] if s["txResult"] and "\u2026" not in s["txResult"] else None)

    def mine(self):
        self.drv.execute_script("document.getElementById('mine-result').textContent = '';")
        self.drv.find_element("id", "mine").click()
        text = self.wait_for("the reply to /mine",
                             lambda s: s["mineResult"] if s["mineResult"] and "\u2026" not in s["mineResult"] else None)
        m = re.fullmatch(r"Block #(\d+) is mined\.", text)
        self.assertIsNotNone(m, text)
        return int(m.group(1))

    def open_block(self, index):
        """Clicks the block row of that index (once) and returns its snapshot with transactions."""
        row = self.drv.find_element("css selector", '#blocks tr.block[data-index="%d"]' % index)
        if "open" not in (row.get_attribute("class") or ""):
            row.click()
        return self.wait_for("block %d opened" % index,
                             lambda s: next((b for b in s["blocks"] if b["index"] == str(index) and b["txs"] is not None),
                                            None))

    def test_post_pending_mine_and_browse(self):
        self.open_page()
        start = self.node.get("/api/status")
        self.wait_for("the height", lambda s: s["height"] == str(start["height"]))
        h0 = start["height"]

        # The node's refusal is shown as the node says it.
        self.assertEqual(self.post("", "no author"), "404 Invalid transaction data")

        content = "a transaction from the page %d" % time.time_ns()
        self.assertEqual(self.post("alice", content), "201 Success")
        s = self.wait_for("the transaction in pending",
                          lambda s: s if any(t["content"] == content for t in s["pending"]) else None)
        tx = next(t for t in s["pending"] if t["content"] == content)
        self.assertEqual(tx["author"], "alice")
        self.assertNotIn(tx["time"], ("", "-"))
        self.assertEqual(self.drv.find_element("id", "content").get_attribute("value"), "")  # cleared on success

        n = self.mine()
        s = self.wait_for("the new block at the top of the list",
                          lambda s: s if s["blocks"] and s["blocks"][0]["index"] == str(n) else None)
        chain = self.node.get("/chain")
        status = self.node.get("/api/status")
        self.assertEqual(status["height"], h0 + 1)
        block = chain["chain"][-1]
        self.assertEqual(block["index"], n)
        top = s["blocks"][0]
        self.assertEqual(top["hash"], block["hash"])
        self.assertEqual(top["previous-hash"], block["previous_hash"])
        self.assertEqual(top["tx-count"], str(len(block["transactions"])))
        self.assertIn(content, [t["content"] for t in block["transactions"]])
        # Newest first, every block listed (a short chain).
        self.assertEqual([b["index"] for b in s["blocks"]], [str(b["index"]) for b in reversed(chain["chain"])])
        self.assertEqual(s["blocks"][1]["hash"], top["previous-hash"])

        # The height, the pending list and the mining figures follow.
        s = self.wait_for("height, pending and mining figures after mining",
                          lambda s: s if s["height"] == str(h0 + 1) and s["pendingEmpty"] and not s["pending"]
                          and s["minedCount"] not in ("-", "0") else None)
        self.assertEqual(s["height"], str(status["height"]))
        self.assertRegex(s["rate"], r"^\d+(\.\d+)? [kMGTP]?H/s$")
        self.assertEqual(s["tip"], str(status["tip"]))
        self.assertEqual(s["backend"], str(status["mining"]["backend"] or "-"))
        self.assertFalse(s["statusError"], s["statusLine"])

        # Opening the block shows its transaction.
        b = self.open_block(n)
        self.assertTrue(b["open"])
        self.assertEqual([(t["author"], t["content"]) for t in b["txs"]],
                         [(t["author"], t["content"]) for t in block["transactions"]])
        # It stays open across refreshes, and closes on a second click.
        updates = s["updates"]
        self.wait_for("two more refreshes", lambda s: s["updates"] >= updates + 2)
        self.assertTrue(next(b for b in self.snap()["blocks"] if b["index"] == str(n))["open"])
        self.drv.find_element("css selector", '#blocks tr.block[data-index="%d"]' % n).click()
        self.wait_for("block closed", lambda s: next(b for b in s["blocks"] if b["index"] == str(n))["txs"] is None)

        # Nothing pending: the node's reply says so.
        self.drv.find_element("id", "mine").click()
        self.wait_for("the reply to an empty /mine", lambda s: s["mineResult"] == "No transactions to mine")
        self.assertEqual(self.snap()["peers"], [])  # a lone node

        shot = os.environ.get("HF_SCREENSHOT")
        if shot:
            self.drv.save_screenshot(shot)

    def test_hostile_transaction_is_text(self):
        self.open_page()
        author = "<b id=injected>mallory</b>"
        self.assertEqual(self.post(author, HOSTILE), "201 Success")
        s = self.wait_for("the hostile transaction in pending",
                          lambda s: s if any(t["content"] == HOSTILE for t in s["pending"]) else None)
        self.assertEqual(next(t for t in s["pending"] if t["content"] == HOSTILE)["author"], author)
        n = self.mine()
        self.wait_for("the block", lambda s: s["blocks"] and s["blocks"][0]["index"] == str(n))
        b = self.open_block(n)
        self.assertIn((author, HOSTILE), [(t["author"], t["content"]) for t in b["txs"]])
        s = self.snap()
        self.assertEqual(s["imgs"], 0)
        self.assertFalse(s["alerted"])
        self.assertEqual(self.drv.find_elements("id", "injected"), [])
        self.assertEqual(self.drv.find_elements("css selector", "#blocks img, #pending img, #blocks b, #pending b"), [])


@unittest.skipUnless(HAVE_SELENIUM and os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM),
                     "needs python3-selenium, chromium and chromium-driver (scripts/setup.sh installs them)")
class NodeGone(unittest.TestCase):
    def test_unreachable_node_shows_in_status_line(self):
        node = Node()
        self.addCleanup(node.stop)
        drv = browser()
        self.addCleanup(drv.quit)
        drv.get(node.url + "/")
        line = lambda: drv.execute_script(
            "const l = document.getElementById('status-line'); return [l.className, l.textContent];")
        WebDriverWait(drv, WAIT, 0.1).until(lambda _: line()[1].startswith("updated"))
        node.proc.terminate()
        node.proc.wait(timeout=WAIT)
        WebDriverWait(drv, WAIT, 0.1).until(lambda _: line()[0] == "error", "no error shown: %r" % (line(),))
        self.assertIn("/api/status", line()[1])
        # The buttons report failure too, and nothing throws out of the page.
        drv.find_element("id", "mine").click()
        WebDriverWait(drv, WAIT, 0.1).until(
            lambda _: drv.find_element("id", "mine-result").text.startswith("failed"))
        self.assertEqual([e for e in drv.get_log("browser") if "Uncaught" in e.get("message", "")], [])


if __name__ == "__main__":
    unittest.main()

"""The stats page (net/torrent/tracker.html at /stats) in headless Chromium (Debian's chromium
and chromium-driver through python3-selenium) against a real `hashforge tracker` sampling
every second: the live figures show, the three bar charts (active peers, completed downloads,
torrents) are drawn with bars whose heights follow the data, and every window (hour, 5 hours,
day, 3 days) can be chosen. Nothing is fetched from elsewhere. With HF_SCREENSHOT=path it
also saves a screenshot."""
import os
import shutil
import unittest

from tracker_harness import Tracker, announce_query, wait_for

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

WAIT = 30
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

CHARTS = """
    const out = {};
    for (const svg of document.querySelectorAll('svg[data-series]')) {
        const bars = [...svg.querySelectorAll('rect.bar')];
        out[svg.dataset.series] = {window: svg.dataset.window, max: Number(svg.dataset.max),
            values: bars.map(b => Number(b.dataset.value)), heights: bars.map(b => Number(b.getAttribute('height')))};
    }
    out.cards = Object.fromEntries(['torrents', 'peers', 'seeders', 'leechers', 'completed']
        .map(id => [id, document.getElementById(id).textContent]));
    out.updates = Number(document.body.dataset.updates || 0);
    return out;
"""


@unittest.skipUnless(HAVE_SELENIUM, "python3-selenium is not installed")
@unittest.skipUnless(os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM), "chromium or chromium-driver missing")
class StatsPage(unittest.TestCase):
    def setUp(self):
        self.t = Tracker("--sample-interval", "1s")
        for h in (b"\x51" * 20, b"\x52" * 20):
            for n in range(4):
                self.t.get("/announce?" + announce_query(h, b"-HF0001-page%08d" % n, 8000 + n, 9, event="started"))
        for n in range(3):
            self.t.get("/announce?" + announce_query(b"\x51" * 20, b"-HF0001-page%08d" % n, 8000 + n, 0,
                                                     event="completed"))
        self.assertTrue(wait_for(lambda: any(v for v in self.t.stats()["history"]["windows"][0]["completed"]),
                                 timeout=20), "no sample recorded")
        opts = webdriver.ChromeOptions()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1280,1000"):
            opts.add_argument(a)
        opts.binary_location = CHROMIUM
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.drv.set_page_load_timeout(WAIT)
        self.drv.set_script_timeout(WAIT)

    def tearDown(self):
        self.drv.quit()
        self.t.close()

    def charts(self):
        return self.drv.execute_script(CHARTS)

    def test_charts_show_the_data_in_every_window(self):
        self.drv.get(self.t.http_url + "/stats")
        WebDriverWait(self.drv, WAIT).until(lambda d: self.charts()["updates"] >= 1)
        c = self.charts()
        self.assertEqual(c["cards"]["torrents"], "2")
        self.assertEqual(c["cards"]["peers"], "8")
        self.assertEqual(c["cards"]["seeders"], "3")
        self.assertEqual(c["cards"]["completed"], "3")
        for window, label in (("1h", "Last hour"), ("5h", "5 hours"), ("1d", "Day"), ("3d", "3 days")):
            button = self.drv.find_element("css selector", "#tabs button[data-window='%s']" % window)
            self.assertEqual(button.text, label)
            button.click()
            c = self.charts()
            for series, top in (("peers", 8), ("torrents", 2), ("completed", 3)):
                got = c[series]
                self.assertEqual(got["window"], window)
                self.assertEqual(max(got["values"]), top, (window, series, got["values"]))
                self.assertEqual(got["max"], top)
                tallest = max(got["heights"])
                self.assertGreater(tallest, 50, "the largest bar fills the chart's height")
                for v, h in zip(got["values"], got["heights"]):
                    self.assertAlmostEqual(h, tallest * v / top, delta=1.01, msg=(window, series))
        errors = [e for e in self.drv.get_log("browser") if e["level"] == "SEVERE"]
        self.assertEqual(errors, [])
        resources = self.drv.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
        self.assertTrue(all(r.startswith(self.t.http_url) for r in resources), resources)
        shot = os.environ.get("HF_SCREENSHOT")
        if shot:
            self.drv.find_element("css selector", "#tabs button[data-window='1h']").click()
            self.drv.save_screenshot(shot)

    def test_page_says_when_the_tracker_is_gone(self):
        self.drv.get(self.t.http_url + "/stats")
        WebDriverWait(self.drv, WAIT).until(lambda d: self.charts()["updates"] >= 1)
        self.t.stop()
        WebDriverWait(self.drv, WAIT).until(
            lambda d: "error" in d.find_element("id", "status-line").get_attribute("class"))
        self.assertIn("cannot reach the tracker", self.drv.find_element("id", "status-line").text)


if __name__ == "__main__":
    unittest.main()

"""The same announce and scrape sequence sent to Debian's opentracker and to `hashforge tracker`
(over HTTP, and over UDP) gives the same counts and the same peer sets: many peers on three
torrents, events started, completed (twice, and from a peer never seen), stopped (also from an
unknown peer), leechers becoming seeders without an event and back. opentracker lists the
announcing peer itself among the peers and hashforge does not, so the announcer is taken out
of both sets before they are compared."""
import random
import socket
import unittest
import urllib.request

from opentracker_harness import OpenTracker
from tracker_harness import Tracker, UdpClient, announce_query, bdecode, compact_peers, escape

HASHES = [bytes([0x10 + i]) * 20 for i in range(3)]
EVENTS = {None: 0, "completed": 1, "started": 2, "stopped": 3}


def sequence(seed=11):
    rnd = random.Random(seed)
    steps = []
    state = {}
    for n in range(40):  # everyone starts
        h = HASHES[n % 3]
        left = rnd.choice([0, 0, 100, 5000])
        steps.append((h, n, left, "started"))
        state[(h, n)] = left
    for _ in range(120):
        h, n = rnd.choice(sorted(state))
        kind = rnd.random()
        if kind < 0.25:
            steps.append((h, n, 0, "completed"))
            state[(h, n)] = 0
        elif kind < 0.35:
            steps.append((h, n, state[(h, n)], "stopped"))
            del state[(h, n)]
            if not state:
                break
        elif kind < 0.5:
            steps.append((h, n, rnd.choice([0, 7]), None))  # left changes without an event
        else:
            steps.append((h, n, state[(h, n)], None))
    steps.append((HASHES[0], 900, 0, "completed"))  # completed from a peer never seen
    steps.append((HASHES[1], 901, 10, "stopped"))   # stopped from a peer never seen
    steps.append((HASHES[2], 1, 0, "completed"))
    steps.append((HASHES[2], 1, 0, "completed"))    # twice
    return steps


def peer_id(n):
    return b"-HF0001-" + b"%012d" % n


def port_of(n):
    return 20000 + n


def http_run(base, steps):
    out = []
    for h, n, left, event in steps:
        q = announce_query(h, peer_id(n), port_of(n), left, event=event, numwant=200)
        with urllib.request.urlopen(base + "/announce?" + q, timeout=10) as r:
            d = bdecode(r.read())
        assert b"failure reason" not in d, d
        peers = compact_peers(d[b"peers"]) - {("127.0.0.1", port_of(n))}
        # A stopped peer is leaving: opentracker's reply to it has no "downloaded" and its peers
        # are not meant for use (hashforge sends none), so only the counts are compared there.
        stopped = event == "stopped"
        out.append((d[b"complete"], d[b"incomplete"], None if stopped else d[b"downloaded"], None if stopped else peers))
    scrape = "&".join("info_hash=" + escape(h) for h in HASHES)
    with urllib.request.urlopen(base + "/scrape?" + scrape, timeout=10) as r:
        files = bdecode(r.read())[b"files"]
    return out, files


def udp_run(addr, steps):
    c = UdpClient(addr)
    c.connect()
    out = []
    try:
        for h, n, left, event in steps:
            _, leechers, seeders, peers = c.announce(h, peer_id(n), port_of(n), left=left, event=EVENTS[event],
                                                     numwant=200)
            out.append((seeders, leechers, None if event == "stopped" else peers - {("127.0.0.1", port_of(n))}))
        scrape = c.scrape(HASHES)
    finally:
        c.close()
    return out, scrape


class SameAsOpentracker(unittest.TestCase):
    def setUp(self):
        self.ot = OpenTracker(HASHES)
        import os
        import tempfile
        fd, self.wl = tempfile.mkstemp()
        with os.fdopen(fd, "w") as f:
            f.write("".join(h.hex() + "\n" for h in HASHES))
        self.hf = Tracker("--whitelist", self.wl)

    def tearDown(self):
        import os
        self.ot.close()
        self.hf.close()
        os.unlink(self.wl)

    def compare(self, a, b, what):
        self.assertEqual(len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            self.assertEqual(x, y, "%s step %d differs (opentracker, hashforge)" % (what, i))

    def test_http(self):
        steps = sequence()
        ot, ot_files = http_run(self.ot.http_url, steps)
        hf, hf_files = http_run(self.hf.http_url, steps)
        self.compare(ot, hf, "HTTP announce")
        self.assertEqual(ot_files, hf_files)
        self.assertEqual(set(hf_files), set(HASHES))

    def test_udp(self):
        steps = sequence(seed=23)
        ot, ot_scrape = udp_run(self.ot.udp_addr, steps)
        hf, hf_scrape = udp_run(self.hf.udp_addr, steps)
        self.compare(ot, hf, "UDP announce")
        self.assertEqual(ot_scrape, hf_scrape)

    def test_refusals_agree(self):
        other = b"\x99" * 20
        q = announce_query(other, peer_id(1), 1, 0)
        for base in (self.ot.http_url, self.hf.http_url):
            with urllib.request.urlopen(base + "/announce?" + q, timeout=10) as r:
                self.assertIn(b"failure reason", bdecode(r.read()), base)


if __name__ == "__main__":
    unittest.main()

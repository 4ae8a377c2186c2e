"""The tutorial's separate web front end, replayed against a node with `requests` as that front
end uses it: it reads {node}/chain and turns every transaction of every block into a post
(tx["index"] = the block's index, tx["hash"] = the block's previous_hash), newest first by
the transaction's timestamp, rendered with author, content and the time as %H:%M; it submits
{author, content} to {node}/new_transaction; its "request to mine" link is GET {node}/mine.
The same scenario runs against the reference peer as a control."""
import json
import time
import unittest
from datetime import datetime

import requests

from node_harness import HANG_GUARD, genesis, start_node, start_seed


def fetch_posts(node_address):
    """The front end's post list from the node at `node_address` (no trailing slash)."""
    response = requests.get("{}/chain".format(node_address), timeout=HANG_GUARD)
    assert response.status_code == 200, (response.status_code, response.content)
    content = []
    chain = json.loads(response.content)
    for block in chain["chain"]:
        for tx in block["transactions"]:
            tx["index"] = block["index"]
            tx["hash"] = block["previous_hash"]
            content.append(tx)
    return sorted(content, key=lambda k: k["timestamp"], reverse=True)


def submit(node_address, author, content):
    post_object = {"author": author, "content": content}
    return requests.post("{}/new_transaction".format(node_address), json=post_object,
                         headers={"Content-type": "application/json"}, timeout=HANG_GUARD)


def readable_time(epoch):
    return datetime.fromtimestamp(epoch).strftime("%H:%M")


def render(posts):
    return ["%s | %s | %s" % (p["author"], readable_time(p["timestamp"]), p["content"]) for p in posts]


class FrontEnd(unittest.TestCase):
    def scenario(self, address):
        self.assertEqual(fetch_posts(address), [])
        t0 = time.time()
        r = submit(address, "alice", "first post")
        self.assertEqual((r.status_code, r.text), (201, "Success"))
        r = submit(address, "bob", "second post: caf\u00e9 \U0001F600 <b>not bold</b>")
        self.assertEqual((r.status_code, r.text), (201, "Success"))
        t1 = time.time()
        self.assertEqual(fetch_posts(address), [], "pending transactions are not posts yet")
        r = requests.get("{}/mine".format(address), timeout=HANG_GUARD)
        self.assertEqual((r.status_code, r.headers["Content-Type"], r.text),
                         (200, "text/html; charset=utf-8", "Block #1 is mined."))
        posts = fetch_posts(address)
        self.assertEqual([(p["author"], p["content"]) for p in posts],
                         [("bob", "second post: caf\u00e9 \U0001F600 <b>not bold</b>"), ("alice", "first post")])
        for p in posts:
            self.assertEqual((p["index"], p["hash"]), (1, genesis()["hash"]))
            self.assertIsInstance(p["timestamp"], float)
            self.assertTrue(t0 - 1 <= p["timestamp"] <= t1 + 1, p)
        lines = render(posts)
        self.assertEqual(lines[1], "alice | %s | first post" % readable_time(posts[1]["timestamp"]))
        self.assertRegex(lines[0], r"^bob \| \d\d:\d\d \| second post")
        # A second block: its post comes first, pointing at block 1.
        block1 = requests.get("{}/chain".format(address), timeout=HANG_GUARD).json()["chain"][1]
        self.assertEqual(submit(address, "carol", "third").status_code, 201)
        r = requests.get("{}/mine".format(address), timeout=HANG_GUARD)
        self.assertEqual(r.text, "Block #2 is mined.")
        posts = fetch_posts(address)
        self.assertEqual([p["author"] for p in posts], ["carol", "bob", "alice"])
        self.assertEqual((posts[0]["index"], posts[0]["hash"]), (2, block1["hash"]))
        self.assertEqual(requests.get("{}/mine".format(address), timeout=HANG_GUARD).text, "No transactions to mine")
        # A browser keeps its connection open between requests.
        with requests.Session() as s:
            for _ in range(3):
                r = s.get("{}/chain".format(address), timeout=HANG_GUARD)
                self.assertEqual((r.status_code, r.json()["length"]), (200, 3))
            r = s.post("{}/new_transaction".format(address), json={"author": "dave", "content": "kept alive"},
                       headers={"Content-type": "application/json"}, timeout=HANG_GUARD)
            self.assertEqual((r.status_code, r.text), (201, "Success"))
            self.assertEqual(s.get("{}/mine".format(address), timeout=HANG_GUARD).text, "Block #3 is mined.")
        self.assertEqual(fetch_posts(address)[0]["content"], "kept alive")

    def test_front_end_against_hashforge(self):
        node = start_node(self)
        self.scenario(node.url.rstrip("/"))

    def test_front_end_against_the_reference_peer(self):
        self.scenario(start_seed(self).url.rstrip("/"))


if __name__ == "__main__":
    unittest.main()

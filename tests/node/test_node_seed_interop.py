"""`hashforge node` next to the reference peer (seed_peer.py, Flask, written from the seed's
behaviour): they register with each other both ways, blocks mined on either side are announced
and accepted by the other, a longer chain flows across on registration and on announcement,
and both end with the same chain, valid when rechecked with hashlib."""
import json
import unittest

from node_harness import (HTML, chain_problems, mine_block, node_on_free_port, python_json, start_seed,
                          wait_until)


class SeedInterop(unittest.TestCase):
    def assertReply(self, r, status, text):
        self.assertEqual((r.status, r.ctype, r.body), (status, HTML, text.encode()), r)

    def pair(self, *node_args):
        return start_seed(self), node_on_free_port(self, *node_args)

    def register_both_ways(self, seed, node):
        self.assertReply(node.post("/register_with", {"node_address": seed.url.rstrip("/")}), 200,
                         "Registration successful")
        self.assertIn(node.public_url + "/", seed.chain()["peers"])
        self.assertReply(seed.post("/register_with", {"node_address": node.url.rstrip("/")}), 200,
                         "Registration successful")
        self.assertIn(seed.url, node.chain()["peers"])

    def post_tx(self, peer, author, content):
        self.assertReply(peer.post("/new_transaction", {"author": author, "content": content}), 201, "Success")

    def mine(self, peer, index):
        self.assertReply(peer.get("/mine"), 200, "Block #%d is mined." % index)

    def wait_equal(self, seed, node, length):
        """Both chains the same, `length` blocks long, and valid."""
        def same():
            a, b = seed.chain()["chain"], node.chain()["chain"]
            return a if a == b and len(a) == length else None
        try:
            chain = wait_until(same, "equal chains of %d blocks" % length)
        except AssertionError as e:
            raise AssertionError("%s\nseed: %s\nnode: %s" % (e, json.dumps(seed.chain()), json.dumps(node.chain())))
        self.assertEqual(chain_problems(chain), [])
        r = node.get("/chain")
        self.assertEqual(r.body, python_json(r.body))
        return chain

    def contents(self, chain):
        return [tx["content"] for b in chain for tx in b["transactions"]]

    def test_register_both_ways_and_mine_on_each_side(self):
        seed, node = self.pair()
        self.register_both_ways(seed, node)
        expected = []
        index = 0
        for rnd in range(3):
            for side, peer in (("seed", seed), ("node", node)):
                index += 1
                for k in range(rnd + 1):
                    content = "%s round %d tx %d \u00e9\U0001F600" % (side, rnd, k)
                    self.post_tx(peer, side, content)
                    expected.append(content)
                self.mine(peer, index)
                self.wait_equal(seed, node, index + 1)
        chain = self.wait_equal(seed, node, 7)
        self.assertEqual(self.contents(chain), expected)
        self.assertEqual(seed.get("/pending_tx").body, b"[]")
        self.assertEqual(node.get("/pending_tx").body, b"[]")

    def test_longer_chain_flows_both_ways_on_registration(self):
        seed, node = self.pair()
        for k in range(3):  # the node alone: 3 blocks
            self.post_tx(node, "node", "alone %d" % k)
            self.mine(node, k + 1)
        self.post_tx(seed, "seed", "seed alone")  # the seed alone: 1 block, then replaced
        self.mine(seed, 1)
        self.assertReply(seed.post("/register_with", {"node_address": node.url.rstrip("/")}), 200,
                         "Registration successful")
        self.wait_equal(seed, node, 4)
        # The seed has no peers yet (the node's list held only the seed): it mines 2 blocks alone.
        for k in range(2):
            self.post_tx(seed, "seed", "ahead %d" % k)
            self.mine(seed, 4 + k)
        self.assertEqual(len(node.chain()["chain"]), 4)
        self.assertReply(node.post("/register_with", {"node_address": seed.url.rstrip("/")}), 200,
                         "Registration successful")
        self.wait_equal(seed, node, 6)
        # Now each knows the other: blocks flow both ways.
        self.post_tx(node, "node", "after sync")
        self.mine(node, 6)
        self.wait_equal(seed, node, 7)
        self.post_tx(seed, "seed", "after sync")
        self.mine(seed, 7)
        chain = self.wait_equal(seed, node, 8)
        self.assertEqual(self.contents(chain), ["alone 0", "alone 1", "alone 2", "ahead 0", "ahead 1",
                                                "after sync", "after sync"])

    def test_seed_catches_up_when_the_node_is_ahead(self):
        seed, node = self.pair()
        self.register_both_ways(seed, node)
        # Two blocks reach the node from outside; then it mines a third and announces it: the
        # seed, behind, takes the node's longer chain.
        chain = node.chain()["chain"]
        for k in range(2):
            b = mine_block(chain[-1], [{"author": "py", "content": "outside %d" % k, "timestamp": 100.25 + k}])
            self.assertReply(node.post("/add_block", b), 201, "Block added to the chain")
            chain.append(b)
        self.post_tx(node, "node", "third")
        self.mine(node, 3)
        self.wait_equal(seed, node, 4)

    def test_node_catches_up_when_the_seed_is_ahead(self):
        # Beyond the seed's own behaviour (it never fetches a chain on an announcement): the
        # node, behind by more than one block, reaches the seed's longer valid chain.
        seed, node = self.pair()
        self.register_both_ways(seed, node)
        chain = seed.chain()["chain"]
        for k in range(2):
            b = mine_block(chain[-1], [{"author": "py", "content": "outside %d" % k, "timestamp": 200.5 + k}])
            self.assertReply(seed.post("/add_block", b), 201, "Block added to the chain")
            chain.append(b)
        self.post_tx(seed, "seed", "third")
        self.mine(seed, 3)
        self.wait_equal(seed, node, 4)

    def test_auto_mining_node_and_seed(self):
        seed, node = self.pair("--mine", "auto")
        self.register_both_ways(seed, node)
        self.post_tx(node, "node", "auto mined")
        self.wait_equal(seed, node, 2)
        self.post_tx(seed, "seed", "seed mined")
        self.mine(seed, 2)
        chain = self.wait_equal(seed, node, 3)
        self.post_tx(node, "node", "auto again")
        chain = self.wait_equal(seed, node, 4)
        self.assertEqual(self.contents(chain), ["auto mined", "seed mined", "auto again"])
        self.assertEqual(node.get("/pending_tx").body, b"[]")


if __name__ == "__main__":
    unittest.main()

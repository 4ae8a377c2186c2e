"""A node on a network whose chain spec selects the "header-sha256d" block scheme (issue 16):
blocks it mines carry an 80-byte Bitcoin-layout header (version, previous hash, SHA-256d of the
transactions root and state root, time, compact target, nonce) mined with the engine's sha256d
header scan. Every block of /chain is checked here with hashlib, from the header's definition:
its hash, its proof of work, its transactions root, and that the seed's API still lists the
transactions."""
import json
import os
import struct
import tempfile
import unittest

from ledger_oracle import compact_to_target, dsha, tx_root  # the header's definition, written once in Python
from node_harness import HANG_GUARD, fresh_source, get, post_json, start_node

ZERO = "0" * 64


def header_hash(b):
    commit = dsha(tx_root(b["transactions"]) + bytes.fromhex(b["state_root"]))
    hdr = (struct.pack("<I", 1) + bytes.fromhex(b["previous_hash"])[::-1] + commit +
           struct.pack("<III", b["timestamp"], b["bits"], b["nonce"]))
    assert len(hdr) == 80
    return dsha(hdr)[::-1].hex()


def target_to_compact(t):
    size = (t.bit_length() + 7) // 8
    mant = t >> (8 * (size - 3)) if size >= 3 else t << (8 * (3 - size))
    if mant & 0x800000:
        mant >>= 8
        size += 1
    return (size << 24) | mant


def write_spec(test, spec):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    test.addCleanup(os.remove, path)
    return path


GENESIS = {"index": 0, "transactions": [], "timestamp": 1700000000, "previous_hash": ZERO, "nonce": 0,
           "state_root": ZERO, "bits": 0x1F0FFFFF}


class Retargeting(unittest.TestCase):
    """Every block's bits against the rule computed here: the target at the window's start
    times the window's actual span over the expected one (clamped to a quarter .. four
    times), capped at the spec's target."""

    def test_bits_follow_block_times(self):
        interval, window = 4.0, 3
        easiest = (1 << 240) - 1  # difficulty 4
        path = write_spec(self, {"name": "retarget-test", "scheme": "header-sha256d", "difficulty": 4,
                                 "block_interval": interval, "retarget_window": window, "genesis": GENESIS})
        node = start_node(self, "--chain-spec", path)
        for i in range(10):
            self.assertEqual(post_json(node.url + "new_transaction", {"author": "a", "content": str(i)}).status, 201)
            self.assertEqual(get(node.url + "mine", timeout=HANG_GUARD).status, 200)
        chain = json.loads(get(node.url + "chain").body)["chain"]
        self.assertEqual(len(chain), 11)
        harder = 0
        for h in range(1, len(chain)):
            parent = chain[h - 1]
            blocks = min(window, h - 1)
            first = chain[h - 1 - blocks]
            first_bits = target_to_compact(easiest) if h - 1 - blocks == 0 else first["bits"]
            if blocks == 0:
                want = target_to_compact(easiest)
            else:
                expected = blocks * int(interval * 1000)
                actual = min(max((parent["timestamp"] - first["timestamp"]) * 1000, expected // 4), expected * 4)
                want = target_to_compact(min(compact_to_target(first_bits) * actual // expected, easiest))
            b = chain[h]
            self.assertEqual(b["bits"], want, "block %d" % h)
            self.assertLessEqual(int(b["hash"], 16), compact_to_target(b["bits"]), "block %d" % h)
            self.assertEqual(b["hash"], header_hash(b))
            harder += b["bits"] != target_to_compact(easiest)
        # Blocks came far faster than every 4 s: the target tightened.
        self.assertGreater(harder, 3)


class HeaderChain(unittest.TestCase):
    def setUp(self):
        spec = {
            "name": "auction-test",
            "scheme": "header-sha256d",
            "difficulty": 4,
            "block_interval": 0,
            "genesis": {"index": 0, "transactions": [], "timestamp": 1700000000, "previous_hash": ZERO,
                        "nonce": 0, "state_root": ZERO, "bits": 0x1f0fffff},
        }
        fd, self.spec_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(spec, f)
        self.addCleanup(os.remove, self.spec_path)
        self.node = start_node(self, "--chain-spec", self.spec_path)

    def test_mined_blocks_are_header_hashed(self):
        url = self.node.url
        for i in range(3):
            for k in range(4):
                r = post_json(url + "new_transaction", {"author": "a%d" % i, "content": "c%d-%d" % (i, k)})
                self.assertEqual(r.status, 201, r)
            r = get(url + "mine", timeout=HANG_GUARD)
            self.assertEqual(r.status, 200, r)
        chain = json.loads(get(url + "chain").body)["chain"]
        self.assertEqual(len(chain), 4)
        for i, (prev, b) in enumerate(zip(chain, chain[1:])):
            self.assertEqual(b["previous_hash"], prev["hash"])
            self.assertIsInstance(b["timestamp"], int)
            # After the median of the last 11 blocks (not necessarily after the parent).
            last = sorted(x["timestamp"] for x in chain[max(0, i - 10):i + 1])
            self.assertGreater(b["timestamp"], last[len(last) // 2])
            self.assertEqual(b["hash"], header_hash(b), b)
            self.assertTrue(b["hash"].startswith("0000"), b["hash"])
            self.assertLess(int(b["hash"], 16), 1 << 240)  # difficulty 4: four leading hex zeros
            self.assertEqual(b["bits"], 0x1F00FFFF)  # the spec's target in compact form
            self.assertEqual(len(b["transactions"]), 4)
            self.assertEqual(b["state_root"], ZERO)
        # The genesis is hashed the same way.
        self.assertEqual(chain[0]["hash"], header_hash(chain[0]))

    def test_a_block_with_a_float_time_or_wrong_hash_is_refused(self):
        url = self.node.url
        g = json.loads(get(url + "chain").body)["chain"][0]
        b = {"index": 1, "transactions": [{"author": "x", "content": "y"}], "timestamp": 1700000100.5,
             "previous_hash": g["hash"], "nonce": 0, "state_root": ZERO, "bits": 0x1f0fffff}
        b["hash"] = "0" * 64
        r = post_json(url + "add_block", b)
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"timestamp", r.body)
        # Whole seconds now, but the hash is not the header's (from another address: the
        # first refusal banned this one).
        b["timestamp"] = 1700000100
        r = post_json(url + "add_block", b, source=fresh_source())
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"hash", r.body)


if __name__ == "__main__":
    unittest.main()

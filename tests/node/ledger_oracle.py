"""The auction ledger written again from its definition (docs/node.md, "The auction ledger"),
independently of the C++: operations signed with Ed25519 from the `cryptography` package, the
state machine, the sorted-key merkle state root and its proofs, and the 80-byte header. Tests
compare what nodes say with what this computes."""
import hashlib
import json
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOMAIN = b"hashforge-auction-op-v1"
KINDS = {"create_money": 1, "transfer": 2, "create_auction": 3, "bid": 4, "close_auction": 5, "cancel_auction": 6}
ZERO = "0" * 64


def sha(b):
    return hashlib.sha256(b).digest()


def dsha(b):
    return sha(sha(b))


def u64(v):
    return struct.pack(">Q", v)


class Key:
    def __init__(self, seed=None):
        self.priv = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        self.seed = self.priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption())
        self.pub = self.priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.hex = self.pub.hex()


def signing_bytes(op, network):
    n = network.encode()
    item = op.get("item", "").encode()
    return (DOMAIN + b"\0" + u64(len(n)) + n + bytes([KINDS[op["op"]]]) + bytes.fromhex(op["account"]) +
            u64(op["seq"]) + bytes.fromhex(op.get("to", ZERO)) + u64(op.get("amount", 0)) + u64(len(item)) + item +
            u64(op.get("closes_at", 0)) + bytes.fromhex(op.get("auction", ZERO)))


def op_id(op, network):
    return sha(signing_bytes(op, network)).hex()


def make_op(key, network, kind, seq, **fields):
    op = {"op": kind, "account": key.hex, "seq": seq}
    op.update(fields)
    op["sig"] = key.priv.sign(signing_bytes(op, network)).hex()
    return op


def verify_sig(op, network):
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(op["account"])).verify(bytes.fromhex(op["sig"]),
                                                                                signing_bytes(op, network))
        return True
    except Exception:
        return False


# --- the state tree ---------------------------------------------------------------------------

def leaf_hash(key, value):
    return sha(b"\0" + u64(len(key)) + key + value)


def node_hash(l, r):
    return sha(b"\1" + l + r)


def merkle_root(leaves):
    if not leaves:
        return bytes(32)
    level = leaves
    while len(level) > 1:
        up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


def verify_proof(proof, root_hex):
    key, value = bytes.fromhex(proof["key"]), bytes.fromhex(proof["value"])
    h, i, n, used = leaf_hash(key, value), proof["index"], proof["count"], 0
    if n == 0 or i >= n:
        return False
    path = [bytes.fromhex(p) for p in proof["path"]]
    while n > 1:
        if (i ^ 1) < n:
            if used == len(path):
                return False
            h = node_hash(h, path[used]) if i % 2 == 0 else node_hash(path[used], h)
            used += 1
        i //= 2
        n = (n + 1) // 2
    return used == len(path) and h.hex() == root_hex


def verify_absence(absence, key_hex, root_hex):
    key = bytes.fromhex(key_hex)
    below, above, n = absence.get("below"), absence.get("above"), absence["count"]
    if n == 0:
        return below is None and above is None and root_hex == ZERO
    for p, ok in ((below, lambda k: k < key), (above, lambda k: k > key)):
        if p is not None and not (verify_proof(p, root_hex) and p["count"] == n and ok(bytes.fromhex(p["key"]))):
            return False
    if below is not None and above is not None:
        return above["index"] == below["index"] + 1
    if below is not None:
        return below["index"] + 1 == n
    if above is not None:
        return above["index"] == 0
    return False


def decode_account(value_hex):
    balance, held, next_seq = struct.unpack(">QQQ", bytes.fromhex(value_hex))
    return {"balance": balance, "held": held, "free": balance - held, "next_seq": next_seq}


# --- the state machine ------------------------------------------------------------------------

class Ledger:
    """Accounts, auctions and escrows, changed block by block as the C++ state machine does."""

    def __init__(self, admins, network):
        self.admins, self.network = set(admins), network
        self.height = 0
        self.accounts = {}  # hex -> [balance, held, next_seq]
        self.auctions = {}  # id hex -> dict
        self.escrows = {}  # (auction hex, bidder hex) -> amount

    def apply_block(self, ops):
        h = self.height + 1
        for op in ops:
            self.apply(op, h)
        for aid, a in sorted(self.auctions.items()):
            if a["status"] == 0 and a["closes_at"] == h:
                self.settle(aid, a, 1)
        self.height = h

    def acct(self, k):
        return self.accounts.setdefault(k, [0, 0, 1])

    def apply(self, op, h):
        acc = self.acct(op["account"])
        assert acc[2] == op["seq"], "seq"
        acc[2] = op["seq"] + 1
        kind = op["op"]
        if kind == "create_money":
            assert op["account"] in self.admins
            self.acct(op["to"])[0] += op["amount"]
        elif kind == "transfer":
            assert acc[0] - acc[1] >= op["amount"]
            acc[0] -= op["amount"]
            self.acct(op["to"])[0] += op["amount"]
        elif kind == "create_auction":
            self.auctions[op_id(op, self.network)] = {
                "owner": op["account"], "item": op["item"], "min_bid": op["amount"], "closes_at": op["closes_at"],
                "created_at": h, "status": 0, "leader": ZERO, "high": 0, "bids": 0}
        elif kind == "bid":
            a = self.auctions[op["auction"]]
            mine = self.escrows.get((op["auction"], op["account"]), 0)
            acc[1] = acc[1] - mine + op["amount"]
            self.escrows[(op["auction"], op["account"])] = op["amount"]
            a.update(leader=op["account"], high=op["amount"], bids=a["bids"] + 1)
        elif kind in ("close_auction", "cancel_auction"):
            self.settle(op["auction"], self.auctions[op["auction"]], 1 if kind == "close_auction" else 2)

    def settle(self, aid, a, status):
        a["status"] = status
        for (eid, bidder), amount in sorted(self.escrows.items()):
            if eid != aid:
                continue
            b = self.acct(bidder)
            b[1] -= amount
            if status == 1 and a["bids"] and bidder == a["leader"]:
                b[0] -= amount
                self.acct(a["owner"])[0] += amount
            del self.escrows[(eid, bidder)]

    def entries(self):
        out = []
        for k, (bal, held, seq) in self.accounts.items():
            out.append((b"a" + bytes.fromhex(k), u64(bal) + u64(held) + u64(seq)))
        for k, a in self.auctions.items():
            item = a["item"].encode()
            v = (bytes.fromhex(a["owner"]) + u64(len(item)) + item + u64(a["min_bid"]) + u64(a["closes_at"]) +
                 u64(a["created_at"]) + bytes([a["status"]]) + bytes.fromhex(a["leader"]) + u64(a["high"]) +
                 u64(a["bids"]))
            out.append((b"u" + bytes.fromhex(k), v))
        for (aid, bidder), amount in self.escrows.items():
            out.append((b"e" + bytes.fromhex(aid) + bytes.fromhex(bidder), u64(amount)))
        return sorted(out)

    def root(self):
        return merkle_root([leaf_hash(k, v) for k, v in self.entries()]).hex()


# --- headers ----------------------------------------------------------------------------------

def tx_root(transactions):
    level = [sha(json.dumps(t, sort_keys=True).encode()) for t in transactions]
    if not level:
        return bytes(32)
    while len(level) > 1:
        up = [dsha(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


def compact_to_target(bits):
    size, mant = bits >> 24, bits & 0x7FFFFF
    return mant << (8 * (size - 3)) if size >= 3 else mant >> (8 * (3 - size))


def check_header(h):
    """A /api/headers entry: its hash, proof of work and commitment. Returns the header's fields."""
    raw = bytes.fromhex(h["header"])
    assert len(raw) == 80
    assert dsha(raw)[::-1].hex() == h["hash"], "hash"
    assert raw[36:68] == dsha(bytes.fromhex(h["tx_root"]) + bytes.fromhex(h["state_root"])), "commitment"
    version, = struct.unpack("<I", raw[:4])
    t, bits, nonce = struct.unpack("<III", raw[68:80])
    if h["height"] > 0:
        assert int(h["hash"], 16) <= compact_to_target(bits), "proof of work"
    return {"previous": raw[4:36][::-1].hex(), "time": t, "bits": bits}

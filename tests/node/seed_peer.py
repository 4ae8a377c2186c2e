#!/usr/bin/env python3
"""A reference peer of the tutorial blockchain network, written for the interop tests from
the seed node's specification (docs/node.md and the tests' brief), with Flask and requests:
blocks hashed with json.dumps(sort_keys=True), the seed's endpoints, statuses and bodies.

Saner than the seed where the tests need it: one lock around the state; an announced block
that is ahead of this chain makes it fetch its peers' chains and adopt the longest valid one
(it does the same before mining), so a longer chain flows to it from either side; the block
index is checked; and malformed requests get a 400 instead of a crash.

    python3 seed_peer.py --port 8001 [--difficulty 2]
"""
import argparse
import hashlib
import json
import threading
import time

import requests
from flask import Flask, request

FIELDS = ("index", "transactions", "timestamp", "previous_hash", "nonce")
TIMEOUT = 10  # seconds for any request to another node
DISCARDED = "The block was discarded by the node: "


def compute_hash(block):
    return hashlib.sha256(json.dumps({k: block[k] for k in FIELDS}, sort_keys=True).encode()).hexdigest()


def genesis():
    block = {"index": 0, "transactions": [], "timestamp": 0, "previous_hash": "0", "nonce": 0}
    block["hash"] = compute_hash(block)
    return block


def tx_key(tx):
    return json.dumps(tx, sort_keys=True)


class Chain:
    def __init__(self, difficulty):
        self.difficulty = difficulty
        self.lock = threading.RLock()
        self.chain = [genesis()]
        self.pending = []
        self.peers = set()

    def why_not(self, block, prev):
        """Why `block` cannot follow `prev`, or None when it can."""
        if not isinstance(block, dict) or any(k not in block for k in FIELDS + ("hash",)):
            return "not a block"
        if not isinstance(block["transactions"], list):
            return "transactions is not a list"
        if block["previous_hash"] != prev["hash"]:
            return "previous_hash is not the hash of the last block"
        if type(block["index"]) is not int or block["index"] != prev["index"] + 1:
            return "wrong index"
        if not isinstance(block["hash"], str) or not block["hash"].startswith("0" * self.difficulty):
            return "the hash does not meet the difficulty"
        if block["hash"] != compute_hash(block):
            return "the hash is not the block's hash"
        return None

    def build(self, dump):
        """A chain from a peer's list of blocks, checked block by block (ValueError if bad)."""
        if not isinstance(dump, list) or not dump or dump[0] != genesis():
            raise ValueError("the chain does not start with the genesis block")
        chain = [genesis()]
        for block in dump[1:]:
            why = self.why_not(block, chain[-1])
            if why:
                raise ValueError("block %r: %s" % (block.get("index") if isinstance(block, dict) else None, why))
            chain.append({k: block[k] for k in FIELDS + ("hash",)})
        return chain

    def drop_confirmed(self):
        confirmed = {tx_key(tx) for b in self.chain for tx in b["transactions"]}
        self.pending = [tx for tx in self.pending if tx_key(tx) not in confirmed]

    def consensus(self):
        """Adopts the longest valid chain among the peers' (network outside the lock)."""
        with self.lock:
            peers = sorted(self.peers)
        for peer in peers:
            try:
                chain = self.build(requests.get(peer + "chain", timeout=TIMEOUT).json()["chain"])
            except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError):
                continue
            with self.lock:
                if len(chain) > len(self.chain):
                    self.chain = chain
                    self.drop_confirmed()

    def mine(self):
        with self.lock:
            if not self.pending:
                return None
            last = self.chain[-1]
            block = {"index": last["index"] + 1, "transactions": self.pending, "timestamp": time.time(),
                     "previous_hash": last["hash"], "nonce": 0}
            digest = compute_hash(block)
            while not digest.startswith("0" * self.difficulty):
                block["nonce"] += 1
                digest = compute_hash(block)
            block["hash"] = digest
            self.chain.append(block)
            self.pending = []
            return block

    def announce(self, block):
        with self.lock:
            peers = sorted(self.peers)
        for peer in peers:
            try:
                requests.post(peer + "add_block", data=json.dumps(block, sort_keys=True),
                              headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
            except requests.RequestException:
                pass

    def dump(self):
        with self.lock:
            return json.dumps({"length": len(self.chain), "chain": self.chain, "peers": list(self.peers)})


app = Flask(__name__)
node = None  # the Chain, set in main()


def body():
    """The request's JSON object, or None."""
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:  # nested deeper than Python's json follows
        return None
    return data if isinstance(data, dict) else None


@app.route("/new_transaction", methods=["POST"])
def new_transaction():
    tx = body()
    if tx is None:
        return "The body is not a JSON object", 400
    for field in ("author", "content"):
        if not tx.get(field):
            return "Invalid transaction data", 404
    tx["timestamp"] = time.time()
    with node.lock:
        node.pending.append(tx)
    return "Success", 201


@app.route("/chain", methods=["GET"])
def get_chain():
    return node.dump()


@app.route("/mine", methods=["GET"])
def mine():
    node.consensus()
    block = node.mine()
    if block is None:
        return "No transactions to mine"
    node.announce(block)
    return "Block #{} is mined.".format(block["index"])


@app.route("/pending_tx")
def pending_tx():
    with node.lock:
        return json.dumps(node.pending)


def node_address():
    """The request's node_address, or a (reply, status) for a bad one."""
    data = body()
    if data is None:
        return "The body is not a JSON object", 400
    address = data.get("node_address")
    if not address:
        return "Invalid data", 400
    if not isinstance(address, str):
        return "node_address is not a string", 400
    return address


@app.route("/register_node", methods=["POST"])
def register_new_peers():
    address = node_address()
    if isinstance(address, tuple):
        return address
    with node.lock:
        node.peers.add(address if address.endswith("/") else address + "/")
    return get_chain()


@app.route("/register_with", methods=["POST"])
def register_with_existing_node():
    address = node_address()
    if isinstance(address, tuple):
        return address
    try:
        r = requests.post(address.rstrip("/") + "/register_node", data=json.dumps({"node_address": request.host_url}),
                          headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    except requests.RequestException as e:
        return "Registration failed: %s" % e, 502
    if r.status_code != 200:
        return r.content, r.status_code
    try:
        dump = r.json()
        chain = node.build(dump["chain"])
        peers = [p for p in dump["peers"] if isinstance(p, str) and p != request.host_url]
    except (ValueError, KeyError, TypeError) as e:
        return "The chain dump is tampered: %s" % e, 502
    with node.lock:
        node.chain = chain
        node.pending = []
        node.peers.update(peers)
    return "Registration successful", 200


@app.route("/add_block", methods=["POST"])
def verify_and_add_block():
    block = body()
    with node.lock:
        why = node.why_not(block, node.chain[-1])
        if why is None:
            node.chain.append({k: block[k] for k in FIELDS + ("hash",)})
            node.drop_confirmed()
            return "Block added to the chain", 201
        ahead = why != "not a block" and type(block["index"]) is int and block["index"] >= len(node.chain)
    if ahead:  # a peer is ahead of us: take the longest valid chain, then look again
        node.consensus()
        with node.lock:
            if any(b["hash"] == block["hash"] for b in node.chain):
                return "Block added to the chain", 201
    return DISCARDED + why, 400


def main():
    global node
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--difficulty", type=int, default=2)
    args = p.parse_args()
    node = Chain(args.difficulty)
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The double-spend experiment (issue 16): four `hashforge node`s on loopback with mutual-TLS
links, mining without pause at a fixed target, three honest and one attacker
(`--byzantine private`) holding a share q of the hash power (set with --mining-share).

Each attempt: the attacker turns private mining on (it takes nothing from its links and tells
them nothing), sends a payment P from its account to a merchant through an honest node and a
conflicting operation P' (same account, same sequence number, to itself) to its own node.
The merchant waits until P has k confirmations on the honest chain. From then on, as soon as
the attacker's private chain has more work than the honest one, it turns private mining off
(pushing its tip); the attempt succeeds when the honest nodes have dropped P and hold P'. It
fails when the honest chain leads by --give-up blocks (the chance of catching up from there is
(q/p)^z, negligible) or after --race-seconds.

Two predictions are printed beside each measured rate. Nakamoto's formula (Bitcoin paper,
section 11) counts catching up, a tie, as success and takes the attacker's progress while the
merchant waits as Poisson. The nodes keep the branch they saw first on a tie, so the attacker
must get strictly ahead; the exact chance for that race is the second column: while the honest
chain mines its k blocks the attacker mines m with the negative binomial law, and from k - m
behind it gets one block ahead with chance (q/p)^(k-m+1). The third prediction is that race
with the measured share and the run's give-up rule (gambler's ruin between two barriers). The attacker's share is measured from
the nodes' hash counters, not assumed. Writes bench/results/<date>-double-spend-q<q>.md.

  python3 bench/double_spend.py [--q 0.25] [--ks 2,4,6,10] [--attempts 200]"""
import argparse
import datetime
import json
import math
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "node"))
import ledger_oracle as lo  # noqa: E402

NAMES = ("a", "b", "c", "d")  # d is the attacker


def nakamoto(q, z):
    p = 1 - q
    if q >= p:
        return 1.0
    lam = z * q / p
    s = 1.0
    for k in range(z + 1):
        s -= math.exp(-lam) * lam ** k / math.factorial(k) * (1 - (q / p) ** (z - k))
    return s


def strictly_ahead(q, k, give_up=None):
    """The chance that an attacker with share q gets strictly ahead of an honest chain that is
    k blocks past the fork when the merchant accepts (ties go to the honest branch), giving up
    once the honest chain leads by `give_up` blocks (never, if None)."""
    p = 1 - q
    total = 0.0
    for m in range(0, 4000):
        pm = math.comb(k + m - 1, m) * p ** k * q ** m
        lead = k - m  # the honest chain's lead when the merchant accepts
        if lead < 0:
            win = 1.0
        elif give_up is not None and lead >= give_up:
            win = 0.0
        elif give_up is None:
            win = 1.0 if q >= p else (q / p) ** (lead + 1)
        elif q == p:
            win = (give_up - lead) / (give_up + 1)  # a fair walk: +1 before -give_up
        else:
            r = p / q  # gambler's ruin from -lead, absorbed at +1 (won) or -give_up (given up)
            win = (1 - r ** (give_up - lead)) / (1 - r ** (give_up + 1))
        total += pm * win
        if m > k and pm < 1e-15:
            break
    return total


def wilson(wins, n, z=1.96):
    """The Wilson score interval for a measured rate (95 % by default)."""
    if n == 0:
        return 0.0, 1.0
    f = wins / n
    mid = (f + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, hf, work, q, total_share, hashes):
        self.hf, self.work = hf, work
        self.procs, self.api, self.link = {}, {}, {}
        self.admin = lo.Key()
        for n in NAMES:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", self.p(n + ".key"), "-out", self.p(n + ".crt"), "-days", "2",
                            "-subj", "/CN=" + n], check=True, capture_output=True)
            self.api[n], self.link[n] = free_port(), free_port()
        ids = {n: subprocess.run([hf, "node", "--print-key-id", "--node-cert", self.p(n + ".crt")], check=True,
                                 capture_output=True, text=True).stdout.strip() for n in NAMES}
        spec = {"name": "double-spend", "scheme": "header-sha256d", "target": "%064x" % ((1 << 256) // hashes),
                "block_interval": 0,
                "genesis": {"index": 0, "transactions": [], "timestamp": 1700000000, "previous_hash": lo.ZERO,
                            "nonce": 0, "state_root": lo.ZERO, "bits": 0x1F0FFFFF},
                "ledger": {"admins": [self.admin.hex]}, "nodes": [{"name": n, "key": ids[n]} for n in NAMES]}
        with open(self.p("spec.json"), "w") as f:
            json.dump(spec, f)
        # Shares of one thread each: the attacker's q of the total, the honest ones equal.
        self.share = {n: total_share * (1 - q) / 3 for n in NAMES[:3]}
        self.share["d"] = total_share * q
        for n in NAMES:
            self.start(n)
        self.net = self.status("a")["chain_spec"]

    def p(self, name):
        return os.path.join(self.work, name)

    def start(self, n):
        args = [self.hf, "node", "--listen", "127.0.0.1:%d" % self.api[n], "--data", self.p("d" + n), "--quiet",
                "--chain-spec", self.p("spec.json"), "--mine", "always", "--threads", "1",
                "--mining-share", "%.4f" % self.share[n], "--node-cert", self.p(n + ".crt"),
                "--node-key", self.p(n + ".key"), "--peer-listen", "127.0.0.1:%d" % self.link[n]]
        for m in NAMES:
            if m < n:
                args += ["--connect", "127.0.0.1:%d" % self.link[m]]
        if n == "d":
            args += ["--byzantine", "private"]
        self.procs[n] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.procs[n].stdout.readline().decode()
        if "listening" not in line:
            raise SystemExit("node %s did not start: %r" % (n, line))

    def close(self):
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()

    def call(self, n, method, path, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.api[n], path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def status(self, n):
        return self.call(n, "GET", "/api/status")[1]

    def hashes(self):
        return {n: self.status(n).get("mining", {}).get("hashes", 0) for n in NAMES}

    def op(self, n, op_id):
        return self.call(n, "GET", "/api/ops/" + op_id)[1]

    def wait(self, pred, what, timeout=120):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.02)
        raise SystemExit("timed out waiting for " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--q", type=float, default=0.25, help="the attacker's share of the hash power")
    ap.add_argument("--ks", default="2,4,6,10", help="confirmations the merchant waits for")
    ap.add_argument("--attempts", type=int, default=200, help="attempts for each k")
    ap.add_argument("--hashes", type=float, default=2e6, help="the fixed target as expected hashes a block")
    ap.add_argument("--total-share", type=float, default=0.8, help="the four miners' shares of a thread, summed")
    ap.add_argument("--give-up", type=int, default=6, help="the honest lead (blocks) at which an attempt fails")
    ap.add_argument("--race-seconds", type=float, default=60, help="the longest race after the k confirmations")
    ap.add_argument("--hf", default=os.path.join(HERE, "..", "build", "apps", "hashforge"))
    ap.add_argument("--result", default=None)
    a = ap.parse_args()
    ks = [int(k) for k in a.ks.split(",")]
    work = tempfile.mkdtemp(prefix="hf-double-spend-")
    cl = Cluster(a.hf, work, a.q, a.total_share, int(a.hashes))
    started = time.time()
    rows = []
    try:
        attacker, merchant, stash = lo.Key(), lo.Key(), lo.Key()
        fund = lo.make_op(cl.admin, cl.net, "create_money", 1, to=attacker.hex, amount=10 ** 12)
        assert cl.call("a", "POST", "/api/ops", fund)[0] == 202
        cl.wait(lambda: all(cl.op(n, lo.op_id(fund, cl.net)).get("confirmations", 0) >= 2 for n in NAMES), "funding")
        seq = 1
        for k in ks:
            wins = tries = lost = 0
            blocks_at_start = cl.status("a")["height"]
            hashes_at_start = cl.hashes()
            t0 = time.time()
            for attempt in range(a.attempts):
                cl.wait(lambda: len({cl.status(n)["tip"] for n in NAMES}) == 1, "the nodes on one tip")
                pay = lo.make_op(attacker, cl.net, "transfer", seq, to=merchant.hex, amount=1)
                back = lo.make_op(attacker, cl.net, "transfer", seq, to=stash.hex, amount=1)
                pid, bid = lo.op_id(pay, cl.net), lo.op_id(back, cl.net)
                seq += 1
                cl.call("d", "POST", "/api/test/private", {"on": True})
                assert cl.call("d", "POST", "/api/ops", back)[0] == 202
                assert cl.call("a", "POST", "/api/ops", pay)[0] == 202
                cl.wait(lambda: cl.op("a", pid).get("confirmations", 0) >= k, "%d confirmations" % k, timeout=300)
                race_end = time.monotonic() + a.race_seconds
                won = False
                while time.monotonic() < race_end:
                    honest = max(cl.status(n)["height"] for n in NAMES[:3])
                    mine = cl.status("d")["height"]
                    if mine > honest:
                        won = True
                        break
                    if honest - mine >= a.give_up:
                        break
                    time.sleep(0.01)
                cl.call("d", "POST", "/api/test/private", {"on": False})
                if won:
                    # Reversed once the honest nodes follow the attacker's chain: P gone, P' in.
                    def reversed_():
                        return all(cl.op(n, bid).get("status") == "committed" and
                                   cl.op(n, pid).get("status") != "committed" for n in NAMES[:3])
                    try:
                        cl.wait(reversed_, "the honest nodes to take the attacker's chain", timeout=30)
                    except SystemExit:
                        won = False  # released, but the honest chain moved ahead first
                        lost += 1
                tries += 1
                wins += won
                print("k=%d attempt %d: %s (%d/%d so far)" % (k, attempt + 1, "reversed" if won else "held",
                                                                 wins, tries), file=sys.stderr)
            blocks = cl.status("a")["height"] - blocks_at_start
            done = cl.hashes()
            spent = {n: done[n] - hashes_at_start[n] for n in NAMES}
            q_measured = spent["d"] / max(sum(spent.values()), 1)
            rows.append((k, tries, wins, lost, q_measured, nakamoto(a.q, k), strictly_ahead(a.q, k),
                         strictly_ahead(q_measured, k, a.give_up), blocks / max(time.time() - t0, 1e-9)))
    finally:
        cl.close()
        shutil.rmtree(work, ignore_errors=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = a.result or os.path.join(HERE, "results", "%s-double-spend-q%02d.md" % (
        datetime.date.today().isoformat(), int(round(a.q * 100))))
    with open(out, "w") as f:
        f.write("# Double spend against k confirmations, attacker share q = %.2f (issue 16)\n\n" % a.q)
        f.write("- date: %s; CPU: %s; %.0f minutes\n" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), cpu,
                                                           (time.time() - started) / 60))
        f.write("- 4 nodes (3 honest, 1 attacker with `--byzantine private`), mutual-TLS links, `--mine always`, "
                "fixed target (%.3g hashes a block), mining shares of one thread: honest %.4f each, attacker %.4f; "
                "an attempt fails at an honest lead of %d blocks or %.0f s of race; `bench/double_spend.py`\n\n" % (
                    a.hashes, cl.share["a"], cl.share["d"], a.give_up, a.race_seconds))
        f.write("| k | attempts | reversed | released, lost | measured rate | 95%% interval | measured q | "
                "Nakamoto (q = %.2f) | strictly ahead (q = %.2f) | strictly ahead, measured q, giving up as run | blocks/s |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" % (a.q, a.q))
        for k, tries, wins, lost, qm, nak, ahead, ahead_m, bps in rows:
            lo_, hi_ = wilson(wins, tries)
            f.write("| %d | %d | %d | %d | %.3f | %.3f-%.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n" % (
                k, tries, wins, lost, wins / max(tries, 1), lo_, hi_, qm, nak, ahead, ahead_m, bps))
        f.write("\n'released, lost': the attacker was ahead and published, but an honest block arrived first "
                "at some honest node (a propagation race the models leave out).\n")
    print(open(out).read())


if __name__ == "__main__":
    main()

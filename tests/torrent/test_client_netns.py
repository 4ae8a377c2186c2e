"""A swarm of hashforge peers, one network namespace and one address each (made by the test
with ip netns and veth pairs on a bridge), meeting through `hashforge tracker`: one seeder,
its upload held to a rate that makes the leechers trade among themselves, and five leechers
whose downloads are byte-compared. On loopback every peer shares 127.0.0.1; here each has
its own address, as on a real network. Needs root; skipped with the reason otherwise."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "node"))
sys.path.insert(0, os.path.join(HERE, "..", "tracker"))
import netns_harness as netns  # noqa: E402
from tracker_harness import hashforge_bin, wait_for  # noqa: E402
from torrent_harness import exit_code, last_status, stop  # noqa: E402

LEECHERS = 5
SIZE = 24 * 1024 * 1024 + 4321
SEED_RATE = 3 * 1024 * 1024  # bytes/s: five leechers could not finish quickly on it alone
WAIT = 180


@unittest.skipIf(netns.unavailable(), netns.unavailable() or "")
class ClientSwarmInNamespaces(unittest.TestCase):
    def test_a_swarm_with_one_address_per_peer_completes_and_trades(self):
        net = netns.subnet(offset=60)
        br = netns.Bridge(self, LEECHERS + 1, net)
        work = tempfile.mkdtemp(prefix="hf-netns-swarm-")
        self.addCleanup(shutil.rmtree, work, True)
        procs = []

        def start(ns, name, args):
            log = open(os.path.join(work, name + ".log"), "wb")
            p = subprocess.Popen([netns.IP, "netns", "exec", ns, hashforge_bin()] + args, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            procs.append(p)
            return p

        def stop_all():
            for p in procs:
                stop(p)
        self.addCleanup(stop_all)

        def logs():
            out = ""
            for n in sorted(os.listdir(work)):
                if n.endswith(".log"):
                    with open(os.path.join(work, n), "rb") as f:
                        out += "--- %s\n%s\n" % (n, f.read()[-2500:].decode("utf-8", "replace"))
            return out

        tracker = "http://%s.254:6969/announce" % net
        start(br.hub, "tracker", ["tracker", "--http", "%s.254:6969" % net, "--no-history", "--interval", "10",
                                  "--min-interval", "1", "--rate-limit", "0"])
        seed_dir = os.path.join(work, "seed")
        os.makedirs(seed_dir)
        data = os.urandom(SIZE)
        with open(os.path.join(seed_dir, "swarm.bin"), "wb") as f:
            f.write(data)
        torrent = os.path.join(work, "swarm.torrent")
        subprocess.run([hashforge_bin(), "torrent", "create", os.path.join(seed_dir, "swarm.bin"), "-o", torrent,
                        "--piece-size", "256K", "-t", tracker, "-q"], check=True, capture_output=True)
        seeder = start(br.ns[0], "seed", ["torrent", "seed", torrent, seed_dir, "--listen", "%s:6881" % br.address(1),
                                          "--upload-limit", str(SEED_RATE), "--json", "-v"])
        time.sleep(1)
        leechers = []
        for i in range(2, LEECHERS + 2):
            d = os.path.join(work, "dl%d" % i)
            os.makedirs(d)
            p = start(br.ns[i - 1], "dl%d" % i, ["torrent", "download", torrent, "-o", d, "--listen",
                                                 "%s:6881" % br.address(i), "--json", "-v"])
            leechers.append((i, p, os.path.join(d, "swarm.bin")))
        want = hashlib.sha256(data).digest()
        for i, p, path in leechers:
            rc = exit_code(p, WAIT)
            self.assertEqual(rc, 0, "leecher %d did not finish\n%s" % (i, logs()))
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).digest(), want, "leecher %d's copy differs" % i)
        # Every leecher met peers at their own addresses, and leechers served each other: the
        # seeder alone sent less than the five copies they got.
        self.assertTrue(wait_for(lambda: (last_status(os.path.join(work, "seed.log")) or {}).get("uploaded", 0) > 0,
                                 timeout=5, step=0.5), logs())
        seeder.terminate()
        seeder.wait(timeout=15)
        sent = last_status(os.path.join(work, "seed.log"))["uploaded"]
        self.assertLess(sent, LEECHERS * SIZE * 0.9, "the leechers did not trade:\n" + logs())
        seen = set()
        for i, _, _ in leechers:
            with open(os.path.join(work, "dl%d.log" % i), "rb") as f:
                for line in f:
                    if b": connected" in line:
                        seen.add(line.split(b":")[0].decode())
        self.assertGreaterEqual(len(seen), 3, "leechers met too few distinct addresses: %s" % sorted(seen))
        self.assertTrue(all(a.startswith(net + ".") for a in seen), sorted(seen))
        sys.stderr.write("\n  swarm: the seeder sent %.1f MiB of the %d x %.1f MiB the leechers got; addresses met: %s\n"
                         % (sent / 2**20, LEECHERS, SIZE / 2**20, " ".join(sorted(seen))))


if __name__ == "__main__":
    unittest.main()

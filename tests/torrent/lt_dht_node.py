"""One libtorrent session with its DHT on, for the DHT tests: run inside a network namespace
(under `ip netns exec`) so each node has its own address. Seeds a torrent, downloads a
magnet link, or is a plain DHT node; prints one JSON status line a second on stdout until
it is killed (or, downloading, until complete with --exit-when-done)."""
import argparse
import json
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="ADDRESS:PORT for peers and the DHT")
    ap.add_argument("--bootstrap", action="append", default=[], help="HOST:PORT of a DHT node")
    ap.add_argument("--seed", nargs=2, metavar=("TORRENT", "DIR"))
    ap.add_argument("--magnet")
    ap.add_argument("--out")
    ap.add_argument("--exit-when-done", action="store_true")
    a = ap.parse_args()
    s = lt.session({
        "listen_interfaces": a.listen,
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": ",".join(a.bootstrap),
        # A private test network: nothing here is "dark internet", and each node has its
        # own address already.
        "dht_ignore_dark_internet": False,
        "dht_announce_interval": 5,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    })
    for b in a.bootstrap:
        host, port = b.rsplit(":", 1)
        s.add_dht_node((host, int(port)))
    h = None
    if a.seed:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(a.seed[0])
        atp.save_path = a.seed[1]
        h = s.add_torrent(atp)
    elif a.magnet:
        atp = lt.parse_magnet_uri(a.magnet)
        atp.save_path = a.out
        h = s.add_torrent(atp)
    while True:
        st = s.status()
        line = {"dht_nodes": st.dht_nodes}
        if h is not None:
            ts = h.status()
            line.update({"progress": ts.progress, "seeding": ts.is_seeding, "peers": ts.num_peers,
                         "has_metadata": ts.has_metadata, "state": str(ts.state)})
            if ts.is_seeding and int(time.time()) % 5 == 0:
                h.force_dht_announce()
            if a.exit_when_done and ts.is_seeding and a.magnet:
                print(json.dumps(line), flush=True)
                return 0
        print(json.dumps(line), flush=True)
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())

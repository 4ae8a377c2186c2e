// One DHT node (BEP 5) on one address family, as pure code: datagrams in with receive(),
// datagrams out with take_outgoing(), time given by the caller (tick). The socket layer
// (dht_service) and the in-process simulated network of the tests and the benchmark drive
// the same code.
//
// It answers ping, find_node, get_peers and announce_peer (tokens bound to the asker's IP,
// from a secret changed every 5 minutes, valid for two periods); it stores announced peers
// for 30 minutes, bounded per info-hash and in all; incoming queries are rate-limited per
// source IP and in all; responses are taken only from the address the query went to, with
// the transaction id it carried. Lookups are iterative Kademlia: `alpha` queries in flight
// toward the target, one more for each that is slow, until the k closest nodes heard of
// have all answered; a get_peers lookup then announces to those that gave a token.
// IPv6 (BEP 32): a node per family; `want` is answered from the sibling family's table.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/torrent/dht_krpc.hpp"
#include "net/torrent/dht_routing.hpp"

namespace hf::torrent::dht {

struct DhtConfig {
  NodeId id{};
  bool v6 = false;                       // the family of this node's socket and contacts
  std::size_t k = 8;                     // bucket size and lookup width
  std::size_t alpha = 3;                 // queries in flight per lookup
  std::int64_t slow_ms = 1000;           // unanswered this long: the lookup asks one more node
  std::int64_t timeout_ms = 5000;        // unanswered this long: a failure
  std::size_t max_pending = 4000;        // our queries in flight, all lookups together
  std::size_t max_lookups = 64;          // lookups running at once
  std::size_t max_infohashes = 10000;    // info-hashes with stored peers
  std::size_t max_peers_per_hash = 200;  // peers stored per info-hash (the oldest make room)
  std::size_t max_values = 50;           // peers in one get_peers answer (fits a 1,500-byte datagram)
  std::int64_t peer_ttl_ms = 30 * 60 * 1000;
  double ip_rate = 20, ip_burst = 50;        // queries a second one IP may send us
  double total_rate = 5000, total_burst = 10000;  // all IPs together
  std::size_t max_tracked_ips = 50000;   // rate-limit entries; beyond, new IPs are refused
  std::string version = std::string("HF\x00\x01", 4);  // "v": two client letters, two version bytes
};

struct DhtStats {
  std::uint64_t queries_in = 0, responses_in = 0, errors_in = 0, malformed_in = 0;
  std::uint64_t rate_limited = 0, bad_tokens = 0, unexpected = 0;  // unknown tid or wrong sender
  std::uint64_t queries_out = 0, timeouts = 0, announces_stored = 0;
  std::uint64_t lookups_done = 0;
  std::size_t table = 0, replacements = 0, buckets = 0, pending = 0, lookups = 0;
  std::size_t infohashes = 0, peers_stored = 0;
};

struct Datagram {
  PeerAddr to;
  std::string bytes;
};

struct LookupResult {
  NodeId target{};
  std::size_t queried = 0, responded = 0, failed = 0;
  std::size_t peers = 0;      // distinct peers found (get_peers)
  std::size_t announced = 0;  // announce_peer queries sent
  std::vector<NodeEntry> closest;  // the k closest nodes that answered
};

class DhtNode {
 public:
  using PeersFn = std::function<void(const std::vector<PeerAddr>&)>;
  using DoneFn = std::function<void(const LookupResult&)>;

  DhtNode(DhtConfig cfg, std::uint64_t seed);
  ~DhtNode();
  DhtNode(const DhtNode&) = delete;
  DhtNode& operator=(const DhtNode&) = delete;

  const NodeId& id() const { return cfg_.id; }
  const DhtConfig& config() const { return cfg_; }
  const RoutingTable& table() const { return table_; }
  DhtStats stats() const;
  // BEP 32: the other family's node, whose table answers a query's `want`.
  void set_sibling(const DhtNode* other) { sibling_ = other; }

  // Contacts from a saved table (or a peer's PORT message): pinged, and kept if they answer.
  void ping(const PeerAddr& addr, std::int64_t now);
  // Looks up our own id starting from `nodes` (addresses whose ids are unknown) and what the
  // table already holds; again by itself every 30 s while the table holds fewer than k.
  // `known`: nodes with their ids (a saved table), asked in order of distance.
  void bootstrap(const std::vector<PeerAddr>& nodes, std::int64_t now, const std::vector<NodeEntry>& known = {});

  // get_peers toward `info_hash`: `on_peers` with each batch of new peers, `on_done` at the
  // end. announce_port > 0 (or implied_port): announce_peer to the closest nodes after.
  std::uint64_t get_peers(const NodeId& info_hash, std::uint16_t announce_port, bool implied_port,
                          PeersFn on_peers, DoneFn on_done, std::int64_t now);
  std::uint64_t find_node(const NodeId& target, DoneFn on_done, std::int64_t now);

  void receive(const PeerAddr& from, std::string_view packet, std::int64_t now);
  // Timeouts, pings of stale nodes, bucket refreshes, token secrets, expired peers.
  void tick(std::int64_t now);
  std::vector<Datagram> take_outgoing();

  std::vector<PeerAddr> stored_peers(const NodeId& info_hash) const;
  std::size_t memory_bytes() const;  // the table, pending queries, lookups and stored peers

 private:
  struct Lookup;
  struct Pending;
  struct Stored {
    PeerAddr addr;
    std::int64_t at = 0;
  };
  struct IpBucket {
    double tokens = 0;
    std::int64_t at = 0;
  };

  void send_query(Message q, const PeerAddr& to, const NodeId* id, std::uint64_t lookup, std::int64_t now);
  void reply(const PeerAddr& to, Message m);
  void on_query(const PeerAddr& from, const Message& m, std::int64_t now);
  void on_answer(const PeerAddr& from, const Message& m, std::int64_t now);
  bool allow_query(const PeerAddr& from, std::int64_t now);
  std::string token_for(const PeerAddr& from, std::uint64_t secret) const;
  bool token_ok(const PeerAddr& from, std::string_view token) const;
  std::uint64_t start_lookup(std::unique_ptr<Lookup> l, const std::vector<PeerAddr>& extra, std::int64_t now);
  void step(Lookup& l, std::int64_t now);
  void finish(Lookup& l, std::int64_t now);
  void lookup_answer(std::uint64_t lookup, const PeerAddr& from, const Message* m, std::int64_t now);
  std::vector<NodeEntry> nodes_for(const NodeId& target, bool v6) const;
  void heard(const NodeEntry& n, std::int64_t now, bool confirmed);
  void run_deferred();
  void forget(const PeerAddr& stored);  // a stored peer gone: its address's quota back

  DhtConfig cfg_;
  RoutingTable table_;
  const DhtNode* sibling_ = nullptr;
  std::mt19937_64 rng_;
  std::vector<Datagram> out_;
  std::unordered_map<std::string, Pending> pending_;
  std::map<std::uint64_t, std::unique_ptr<Lookup>> lookups_;
  std::uint64_t next_lookup_ = 1;
  std::vector<std::function<void()>> deferred_;
  std::map<NodeId, std::vector<Stored>> peers_;
  std::unordered_map<std::string, std::size_t> announced_by_;  // stored peers per announcing IP
  std::unordered_map<std::string, IpBucket> ip_rates_;
  IpBucket total_rate_;
  std::uint64_t secret_ = 0, old_secret_ = 0;
  std::int64_t last_now_ = 0;  // the latest time given to us: for work started from a callback
  std::int64_t secret_at_ = 0, maintained_at_ = 0, expired_at_ = 0, bootstrap_at_ = -1;
  std::vector<PeerAddr> bootstrap_nodes_;
  std::uint64_t self_lookup_ = 0;
  DhtStats stats_;
};

}  // namespace hf::torrent::dht

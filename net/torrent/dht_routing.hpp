// The DHT's routing table (BEP 5): Kademlia buckets of at most K good nodes each, bucket i
// holding the nodes whose ids share exactly i leading bits with ours, the last bucket all
// that share more; that last one splits when it fills, so the table knows the id space near
// us finely and the far halves coarsely (about K * log2(network size) entries in all).
//
// A full bucket takes a newcomer only in place of a bad node (one that failed to answer
// twice running); a questionable one (not heard from in 15 minutes, or never answered) is
// pinged first, the newcomer waiting in the bucket's replacement cache. One entry per IP
// address (unless it is a loopback address), so one host cannot fill the table with
// many ports or ids. Pure code; time is milliseconds given by the caller.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/dht_krpc.hpp"

namespace hf::torrent::dht {

struct RoutingNode {
  NodeId id{};
  PeerAddr addr;
  std::int64_t last_seen = 0;     // last answer or query from it
  std::int64_t last_queried = 0;  // last query we sent it
  int fails = 0;                  // queries unanswered in a row
  bool confirmed = false;         // it has answered one of our queries

  bool bad() const { return fails >= 2; }
};

struct Bucket {
  std::vector<RoutingNode> nodes;         // at most K
  std::vector<RoutingNode> replacements;  // at most K, newest last
  std::int64_t last_changed = 0;
};

class RoutingTable {
 public:
  static constexpr std::int64_t kQuestionableMs = 15 * 60 * 1000;
  static constexpr std::int64_t kRefreshMs = 15 * 60 * 1000;

  explicit RoutingTable(NodeId self, std::size_t k = 8);

  const NodeId& self() const { return self_; }
  std::size_t k() const { return k_; }

  // A node answered us (`confirmed`) or sent us a query. Returns a node to ping when the
  // newcomer waits on a questionable one (a full bucket); nullopt otherwise.
  std::optional<NodeEntry> heard(const NodeEntry& n, std::int64_t now, bool confirmed);
  // A query to this node went unanswered.
  void failed(const NodeId& id, const PeerAddr& addr);
  // We sent this node a query now (for the questionable check and the ping schedule).
  void queried(const NodeId& id, std::int64_t now);

  // Up to `count` nodes nearest to `target` by XOR distance; bad ones never.
  std::vector<NodeEntry> closest(const NodeId& target, std::size_t count) const;
  // Nodes not heard from in 15 minutes and not asked for a while: worth a ping.
  std::vector<NodeEntry> stale(std::int64_t now, std::size_t max) const;
  // For each bucket untouched for 15 minutes (every bucket when `all`), a random id in its
  // range, to look up.
  std::vector<NodeId> refresh_targets(std::int64_t now, std::uint64_t random_seed, bool all = false);

  std::size_t size() const;          // entries in buckets
  std::size_t replacement_count() const;
  std::size_t bucket_count() const { return buckets_.size(); }
  const std::vector<Bucket>& buckets() const { return buckets_; }
  // Bytes the table holds on the heap, for the memory figure.
  std::size_t memory_bytes() const;
  bool contains(const NodeId& id) const;

  // What survives a restart: our id and every node (bencoded; nodes as compact node info).
  std::string save() const;
  // Reads what save() wrote; the nodes come back unconfirmed. nullopt on anything malformed.
  static std::optional<std::pair<NodeId, std::vector<NodeEntry>>> load(std::string_view bytes);

 private:
  std::size_t bucket_index(const NodeId& id) const;
  RoutingNode* find(const NodeId& id, std::size_t* bucket = nullptr);
  bool address_taken(const PeerAddr& addr, const NodeId& id) const;
  void split_last();

  NodeId self_;
  std::size_t k_;
  std::vector<Bucket> buckets_;
};

}  // namespace hf::torrent::dht

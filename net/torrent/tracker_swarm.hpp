// The tracker's swarms, in memory: who announced which info-hash from where, seeders and
// leechers by `left`, completed downloads, peer expiry, a whitelist for private trackers and
// bounds on memory. Pure code; thread-safe (the table is split into shards, each with its
// own lock, so HTTP and UDP threads announcing different torrents rarely wait on each other).
//
// A peer is its address and port, as opentracker keys them: a client that restarts with a
// new peer_id on the same address and port replaces its old entry, and nobody can push
// another client out of a swarm by sending its peer_id from elsewhere.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/torrent/tracker_query.hpp"
#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::tracker {

// The operator's own list, so an unkeyed hash (the info-hash's first bytes) is enough.
struct OperatorHash {
  std::size_t operator()(const InfoHash& h) const {
    std::size_t v = 0;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};
using Whitelist = std::unordered_set<InfoHash, OperatorHash>;

struct SwarmConfig {
  std::uint32_t interval = 1800;    // seconds between a client's announces
  std::uint32_t min_interval = 60;  // the least a client may wait before asking again
  std::uint32_t peer_timeout = 0;   // a peer silent this long is dropped; 0: 2 x interval
  unsigned numwant_default = 50;
  unsigned numwant_max = 200;
  std::size_t max_torrents = 1'000'000;         // new info-hashes beyond this are refused
  std::size_t max_peers_per_torrent = 100'000;  // new peers beyond this are answered, not stored
  std::optional<Whitelist> whitelist;           // set: private mode, only these are tracked

  std::uint32_t effective_peer_timeout() const { return peer_timeout ? peer_timeout : 2 * interval; }
};

struct PeerInfo {
  PeerAddr addr;
  PeerId id{};
};

struct SwarmCounts {
  std::uint32_t complete = 0;    // seeders (left == 0)
  std::uint32_t incomplete = 0;  // leechers
  std::uint64_t downloaded = 0;  // completed events, each peer counted once
};

struct AnnounceReply {
  std::uint32_t interval = 0;
  std::uint32_t min_interval = 0;
  SwarmCounts counts;
  std::vector<PeerInfo> peers4, peers6;  // never the announcing peer itself
};

struct Totals {
  std::uint64_t torrents = 0;  // info-hashes with at least one peer
  std::uint64_t seeders = 0;
  std::uint64_t leechers = 0;
  std::uint64_t completed = 0;  // completed events counted since the process started
};

class Swarms {
 public:
  // `key` seeds the table's hash (so clients cannot aim info-hashes at one bucket) and the
  // choice of which peers a large swarm hands out.
  explicit Swarms(SwarmConfig cfg, SipKey key = random_sip_key());
  ~Swarms();
  Swarms(const Swarms&) = delete;
  Swarms& operator=(const Swarms&) = delete;

  const SwarmConfig& config() const { return cfg_; }
  bool allowed(const InfoHash& h) const;

  // Records the announce of the peer at `peer` (its address and announced port) at time
  // `now` (seconds on any steady clock) and fills *out with up to numwant peers of each
  // family, at most max4 IPv4 and max6 IPv6 ones (the caller's room: a UDP packet holds
  // fewer than an HTTP reply). A stopped peer is removed and gets no peers. Returns the
  // failure reason for a refused announce (not on the whitelist, tracker full).
  std::optional<std::string> announce(const AnnounceRequest& req, const PeerAddr& peer, unsigned max4, unsigned max6,
                                      std::int64_t now, AnnounceReply* out);

  // Counts for one info-hash; zeros (known false) when nobody announced it.
  SwarmCounts scrape(const InfoHash& h, bool* known = nullptr) const;

  // Drops peers silent for longer than the peer timeout, and swarms empty for as long.
  // Returns the number of peers dropped.
  std::size_t expire(std::int64_t now);

  Totals totals() const;

 private:
  struct Shard;
  Shard& shard_of(const InfoHash& h, std::uint64_t* hash) const;
  unsigned numwant(const AnnounceRequest& req) const;  // the default when not given, capped

  SwarmConfig cfg_;
  SipKey key_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> torrents_stored_{0};
  std::atomic<std::uint64_t> completed_{0};
};

}  // namespace hf::torrent::tracker

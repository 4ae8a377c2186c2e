// A simulated DHT network in one process: many DhtNodes, each with its own IPv4 address,
// exchanging the same bencoded datagrams a socket would carry, on a simulated clock with a
// latency per datagram and optional loss. The tests use it for scenarios no real network
// gives on demand (hostile nodes, thousands of peers), the benchmark for lookup figures.
// Pure code, deterministic for a seed.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "net/torrent/dht_node.hpp"

namespace hf::torrent::dht {

class SimNetwork {
 public:
  struct Options {
    std::int64_t latency_ms = 20;  // one way, plus up to `jitter_ms`
    std::int64_t jitter_ms = 20;
    double loss = 0;               // share of datagrams dropped
    std::int64_t tick_ms = 250;    // how often every node's tick() runs
    DhtConfig node;                // template for every node (id set per node)
  };

  SimNetwork(Options opt, std::uint64_t seed);

  // A node at 10.x.y.z:6881 with a random id; returns its index.
  std::size_t add_node();
  // Joins node i through node `via` (its address): the node's bootstrap lookup.
  void join(std::size_t i, std::size_t via);
  DhtNode& node(std::size_t i) { return *nodes_[i].node; }
  const PeerAddr& addr(std::size_t i) const { return nodes_[i].addr; }
  std::size_t size() const { return nodes_.size(); }
  std::int64_t now() const { return now_; }

  // A foreign endpoint (not a DhtNode) that sees what is sent to it and can send anything:
  // the hostile peer of the tests.
  using Handler = std::function<void(const PeerAddr& from, const std::string& bytes)>;
  void add_raw(const PeerAddr& addr, Handler h);
  void send_raw(const PeerAddr& from, const PeerAddr& to, std::string bytes);

  // Delivers datagrams and ticks nodes until `done()` or `max_ms` of simulated time pass.
  // Returns whether done() came true.
  bool run(const std::function<bool()>& done, std::int64_t max_ms);
  std::uint64_t delivered() const { return delivered_; }
  // Sends what node i has queued now (a lookup started from outside run()'s deliveries).
  void flush(std::size_t i) { collect(i); }

 private:
  struct Entry {
    PeerAddr addr;
    std::unique_ptr<DhtNode> node;
  };
  struct Event {
    std::int64_t at;
    std::uint64_t seq;
    PeerAddr from, to;
    std::string bytes;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void collect(std::size_t i);
  std::uint64_t key(const PeerAddr& a) const;

  Options opt_;
  std::mt19937_64 rng_;
  std::vector<Entry> nodes_;
  std::map<std::uint64_t, std::size_t> by_addr_;
  std::map<std::uint64_t, Handler> raw_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::int64_t now_ = 1'000'000;
  std::int64_t ticked_ = 1'000'000;
  std::uint64_t seq_ = 0, delivered_ = 0;
};

}  // namespace hf::torrent::dht

// Requests per client address, as token buckets: `rate` a second on average with bursts of
// `burst`. An IPv4 client is its address; an IPv6 client its /64 (one host commonly holds a
// whole /64, and counting single addresses would let it rotate through 2^64 of them). The
// table is bounded: when it is full, addresses idle long enough to have refilled are forgotten
// (they would start full again anyway); when every one is busy, a new address is let through
// untracked rather than refused, since a flood from forged sources must not lock real clients
// out. Pure code; thread-safe (sharded locks).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::tracker {

class RateLimiter {
 public:
  // rate <= 0: no limit (allow() is always true).
  RateLimiter(double rate, double burst, std::size_t max_addresses = 1 << 20, SipKey key = random_sip_key());
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token for `from` (its port is ignored) at time `now` in seconds; false when
  // the address has none left.
  bool allow(const PeerAddr& from, double now);
  bool enabled() const { return rate_ > 0; }
  std::size_t tracked() const;

 private:
  struct Shard;
  double rate_, burst_;
  std::size_t max_per_shard_;
  SipKey key_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace hf::torrent::tracker

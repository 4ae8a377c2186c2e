#include "net/torrent/tracker_rate_limit.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace hf::torrent::tracker {

namespace {

constexpr std::size_t kShards = 16;

struct Bucket {
  double tokens;
  double at;  // when tokens was last brought up to date
};

}  // namespace

struct RateLimiter::Shard {
  std::mutex mu;
  // Keyed by the SipHash of the address (already keyed, so used as is): two addresses
  // sharing a 64-bit hash would share a bucket, which costs nothing but a little fairness.
  std::unordered_map<std::uint64_t, Bucket> buckets;
};

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_addresses, SipKey key)
    : rate_(rate),
      burst_(std::max(burst, 1.0)),
      max_per_shard_(std::max<std::size_t>(max_addresses / kShards, 1)),
      key_(key),
      shards_(new Shard[kShards]) {}

RateLimiter::~RateLimiter() = default;

bool RateLimiter::allow(const PeerAddr& from, double now) {
  if (rate_ <= 0) return true;
  std::uint8_t b[17] = {};
  std::memcpy(b, from.ip.data(), from.v6 ? 8 : 4);  // IPv6: the /64
  b[16] = from.v6 ? 6 : 4;
  const std::uint64_t h = siphash24(key_, b, sizeof b);
  Shard& sh = shards_[h % kShards];
  std::lock_guard lock(sh.mu);
  auto it = sh.buckets.find(h);
  if (it == sh.buckets.end()) {
    if (sh.buckets.size() >= max_per_shard_) {
      const double full_after = burst_ / rate_;
      std::erase_if(sh.buckets, [&](const auto& kv) { return now - kv.second.at >= full_after; });
      if (sh.buckets.size() >= max_per_shard_) return true;  // untracked: see the header
    }
    sh.buckets.emplace(h, Bucket{burst_ - 1, now});
    return true;
  }
  Bucket& bk = it->second;
  if (now > bk.at) {  // a clock that stood still (or stepped back) refills nothing
    bk.tokens = std::min(burst_, bk.tokens + (now - bk.at) * rate_);
    bk.at = now;
  }
  if (bk.tokens < 1) return false;
  bk.tokens -= 1;
  return true;
}

std::size_t RateLimiter::tracked() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].buckets.size();
  }
  return n;
}

}  // namespace hf::torrent::tracker

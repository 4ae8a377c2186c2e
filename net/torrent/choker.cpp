#include "net/torrent/choker.hpp"

#include <algorithm>
#include <limits>

namespace hf::torrent {

std::vector<PeerKey> Choker::rechoke(const std::vector<ChokePeer>& peers, bool seeding, double now) {
  std::vector<const ChokePeer*> regular;
  for (const ChokePeer& p : peers) {
    if (!p.interested) continue;
    if (!seeding && now - p.last_block_at > cfg_.snub_seconds && now - p.connected_at > cfg_.snub_seconds)
      continue;  // snubbed: it had a minute and sent nothing
    regular.push_back(&p);
  }
  // Ties (all zero at the start) in a random order, so no peer is favoured by its position.
  std::shuffle(regular.begin(), regular.end(), rng_);
  std::stable_sort(regular.begin(), regular.end(), [&](const ChokePeer* a, const ChokePeer* b) {
    return seeding ? a->upload_rate > b->upload_rate : a->download_rate > b->download_rate;
  });
  if (regular.size() > cfg_.slots) regular.resize(cfg_.slots);
  std::vector<PeerKey> out;
  for (const ChokePeer* p : regular) out.push_back(p->key);

  // The optimistic slot: kept for optimistic_every rounds, then drawn again among the
  // interested peers left choked.
  auto still_there = [&](PeerKey k) {
    return std::any_of(peers.begin(), peers.end(), [&](const ChokePeer& p) { return p.key == k && p.interested; });
  };
  const bool redraw = !optimistic_ || !still_there(*optimistic_) || rounds_ % cfg_.optimistic_every == 0 ||
                      std::find(out.begin(), out.end(), *optimistic_) != out.end();
  ++rounds_;
  if (redraw) {
    optimistic_.reset();
    std::vector<std::pair<const ChokePeer*, double>> pool;
    double total = 0;
    for (const ChokePeer& p : peers) {
      if (!p.interested || std::find(out.begin(), out.end(), p.key) != out.end()) continue;
      const double w = now - p.connected_at < cfg_.newcomer_seconds ? 3.0 : 1.0;
      pool.emplace_back(&p, w);
      total += w;
    }
    if (total > 0) {
      double x = std::uniform_real_distribution<double>(0, total)(rng_);
      for (const auto& [p, w] : pool) {
        optimistic_ = p->key;
        if ((x -= w) < 0) break;
      }
    }
  }
  if (optimistic_) out.push_back(*optimistic_);
  return out;
}

void TokenBucket::set_rate(double rate, double burst) {
  rate_ = rate;
  // Default burst: a quarter second of the rate, and never under one 16 KiB block (a
  // smaller burst could never send one).
  burst_ = burst > 0 ? burst : std::max(rate / 4, 16384.0);
  tokens_ = std::min(tokens_, burst_);
}

void TokenBucket::refill(double now) {
  if (at_ < 0) {
    at_ = now;
    tokens_ = burst_;
    return;
  }
  if (now > at_) {
    tokens_ = std::min(burst_, tokens_ + (now - at_) * rate_);
    at_ = now;
  }
}

std::uint64_t TokenBucket::take(std::uint64_t want, double now) {
  if (unlimited()) return want;
  refill(now);
  const auto n = static_cast<std::uint64_t>(std::min<double>(static_cast<double>(want), tokens_));
  tokens_ -= static_cast<double>(n);
  return n;
}

void TokenBucket::charge(std::uint64_t n, double now) {
  if (unlimited()) return;
  refill(now);
  tokens_ -= static_cast<double>(n);
}

double TokenBucket::ready_at(std::uint64_t want, double now) {
  if (unlimited()) return now;
  refill(now);
  const double need = std::min<double>(static_cast<double>(want), burst_) - tokens_;
  return need <= 0 ? now : now + need / rate_;
}

std::uint64_t TokenBucket::available(double now) {
  if (unlimited()) return std::numeric_limits<std::uint64_t>::max();
  refill(now);
  return static_cast<std::uint64_t>(tokens_);
}

std::uint64_t take_all(std::initializer_list<TokenBucket*> buckets, std::uint64_t want, double now) {
  // The least any bucket has, then that much from each: no bucket gives more than all allow.
  std::uint64_t n = want;
  for (TokenBucket* b : buckets) n = std::min(n, b->available(now));
  for (TokenBucket* b : buckets) b->take(n, now);
  return n;
}

}  // namespace hf::torrent

// Per-worker statistics: hash rate from accepted shares as decaying averages over 1 min,
// 5 min and 1 h, share counts by outcome, best share, last seen. Pure code: callers pass
// the time in seconds.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

namespace hf::mining {

// An exponentially decaying average of work per second with time constant tau. Before
// tau has passed it is scaled by how much of the window exists, so a new worker's rate is
// not understated for its first hour.
class DecayingRate {
 public:
  DecayingRate(double tau, double start) : tau_(tau), start_(start), last_(start) {}
  void add(double work, double now) {
    decay_to(now);
    sum_ += work;
  }
  double rate(double now) const {
    const double elapsed = now - start_;
    if (elapsed <= 0) return 0;
    const double s = sum_ * std::exp(-(std::max(now, last_) - last_) / tau_);
    return s / (tau_ * (1 - std::exp(-elapsed / tau_)));
  }

 private:
  void decay_to(double now) {
    if (now > last_) {
      sum_ *= std::exp(-(now - last_) / tau_);
      last_ = now;
    }
  }
  double tau_, start_, last_, sum_ = 0;
};

struct WorkerStats {
  explicit WorkerStats(double now) : connected_at(now), last_seen(now), r1m(60, now), r5m(300, now), r1h(3600, now) {}
  std::uint64_t id = 0;
  std::string name, address, agent, backend, devices;
  bool connected = true;
  double connected_at, last_seen;
  DecayingRate r1m, r5m, r1h;  // hashes per second
  std::uint64_t accepted = 0, rejected = 0, stale = 0, duplicate = 0, low = 0, blocks = 0;
  // Proxy mode: accepted shares that also met the pool's difficulty, and the pool's answers.
  std::uint64_t forwarded = 0, pool_accepted = 0, pool_rejected = 0;
  double accepted_work = 0;  // hashes the accepted shares stand for
  double best_difficulty = 0;
  std::string best_hash;     // as block explorers show it
  double difficulty = 0;     // the current share difficulty
  double reported_rate = 0;  // what a hashforge worker says it does, 0 if unknown

  // A share at difficulty d stands for d * 2^32 hashes on average.
  void on_accepted(double share_difficulty, double now) {
    const double work = share_difficulty * 4294967296.0;
    ++accepted;
    accepted_work += work;
    r1m.add(work, now);
    r5m.add(work, now);
    r1h.add(work, now);
    last_seen = now;
  }
};

}  // namespace hf::mining

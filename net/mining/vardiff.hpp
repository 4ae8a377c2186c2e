// Per-worker difficulty steered toward a target share interval. Pure code: callers pass
// the time (seconds, any monotonic origin).
//
// Shares are counted in a window that starts at the last change. Once the window holds
// enough evidence (a few shares, or a few target intervals of time), the observed rate is
// compared with the target; outside a dead band the difficulty is scaled by the ratio,
// by at most 4x per step, and clamped to [min, max]. A worker that goes quiet has its
// difficulty lowered by on_idle, so a throttled or slower device still finds shares.
#pragma once
#include <optional>

namespace hf::mining {

struct VardiffConfig {
  double target_interval = 4.0;  // seconds per share wanted
  double min_difficulty = 1.0 / 65536;
  double max_difficulty = 1e15;
  int min_shares = 12;       // shares in a window before it may retarget ...
  double min_window = 40.0;  // ... or this many seconds
  double band = 0.5;         // no change while the rate is within (1 +- band) x target
};

class Vardiff {
 public:
  Vardiff(const VardiffConfig& cfg, double start_difficulty, double now);
  // Called for each accepted share; returns the new difficulty when it changes.
  std::optional<double> on_share(double now);
  // Called periodically; lowers the difficulty of a worker that has gone quiet.
  std::optional<double> on_idle(double now);
  // A difficulty chosen from outside (mining.suggest_difficulty): clamped, new window.
  double set(double difficulty, double now);
  double difficulty() const { return diff_; }
  const VardiffConfig& config() const { return cfg_; }

 private:
  std::optional<double> retarget(double observed_interval, double now);
  VardiffConfig cfg_;
  double diff_;
  double window_start_;
  int shares_ = 0;
};

}  // namespace hf::mining

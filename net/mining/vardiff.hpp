// Per-worker difficulty steered toward a target share interval. Pure code: callers pass
// the time (seconds, any monotonic origin).
//
// Shares are counted in a window that starts at the last change. Once the window holds
// enough evidence (a few shares, or a few target intervals of time), the observed rate is
// compared with the target; outside a dead band the difficulty is scaled by the ratio,
// by at most 4x per step, and clamped to [min, max]. A worker that goes quiet has its
// difficulty lowered by on_idle, so a throttled or slower device still finds shares: with no
// share at all for `idle_intervals` target intervals, the difficulty is scaled by
// target / silence (a third after three intervals, less after a longer silence), and the
// same again after each further such silence, so a new worker started far too high reaches
// its rate in a few steps rather than waiting out long windows.
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
  // No share at all for this many target intervals: step down. Before a worker's first
  // share its rate is unknown and the start difficulty a guess, so the wait is short; once
  // shares have come, a quiet spell that long happens by chance (e^-3 = 5% of windows at
  // the right difficulty), so the wait is longer (e^-8 = 0.03%).
  double idle_intervals = 3;
  double idle_intervals_after = 8;
};

class Vardiff {
 public:
  Vardiff(const VardiffConfig& cfg, double start_difficulty, double now);
  // Called for each accepted share; returns the new difficulty when it changes.
  std::optional<double> on_share(double now);
  // Called periodically (about every second, or a quarter of the target interval);
  // lowers the difficulty of a worker that has gone quiet.
  std::optional<double> on_idle(double now);
  // A difficulty chosen from outside (mining.suggest_difficulty): clamped, new window.
  double set(double difficulty, double now);
  // A fresh window at the same difficulty (the worker's work starts now).
  void restart(double now);
  // The difficulty at which `hashes_per_second` finds a share every target interval
  // (difficulty 1 is 2^32 hashes per share), clamped to [min, max].
  double for_rate(double hashes_per_second) const;
  double difficulty() const { return diff_; }
  const VardiffConfig& config() const { return cfg_; }

 private:
  std::optional<double> retarget(double observed_interval, double now);
  VardiffConfig cfg_;
  double diff_;
  double window_start_;
  int shares_ = 0;
  bool seen_share_ = false;
};

}  // namespace hf::mining

#include "net/mining/vardiff.hpp"

#include <algorithm>

namespace hf::mining {

Vardiff::Vardiff(const VardiffConfig& cfg, double start, double now)
    : cfg_(cfg), diff_(std::clamp(start, cfg.min_difficulty, cfg.max_difficulty)), window_start_(now) {}

std::optional<double> Vardiff::on_share(double now) {
  ++shares_;
  seen_share_ = true;
  const double elapsed = now - window_start_;
  if (shares_ < cfg_.min_shares && elapsed < cfg_.min_window) return std::nullopt;
  return retarget(std::max(elapsed, 1e-3) / shares_, now);
}

std::optional<double> Vardiff::on_idle(double now) {
  const double elapsed = now - window_start_;
  if (shares_ == 0) {
    // Not one share in several target intervals: the rate is at most about one share per
    // `elapsed`, so scale by target / elapsed at once; no fixed step, no long window.
    if (elapsed < (seen_share_ ? cfg_.idle_intervals_after : cfg_.idle_intervals) * cfg_.target_interval)
      return std::nullopt;
    // Once shares have shown a rate, a silence is weaker evidence (it may be chance): at
    // most the usual 4x per step then.
    const double ratio = std::max(cfg_.target_interval / elapsed, seen_share_ ? 0.25 : 0.0);
    const double next = std::clamp(diff_ * ratio, cfg_.min_difficulty, cfg_.max_difficulty);
    window_start_ = now;
    if (next == diff_) return std::nullopt;
    diff_ = next;
    return diff_;
  }
  // A few shares, too slowly: judged over a full window like any other.
  if (elapsed < std::max(cfg_.min_window, 3 * cfg_.target_interval)) return std::nullopt;
  return retarget(elapsed / shares_, now);
}

void Vardiff::restart(double now) {
  window_start_ = now;
  shares_ = 0;
}

double Vardiff::for_rate(double hashes_per_second) const {
  const double d = hashes_per_second * cfg_.target_interval / 4294967296.0;
  return std::clamp(d > 0 ? d : cfg_.min_difficulty, cfg_.min_difficulty, cfg_.max_difficulty);
}

double Vardiff::set(double difficulty, double now) {
  diff_ = std::clamp(difficulty, cfg_.min_difficulty, cfg_.max_difficulty);
  window_start_ = now;
  shares_ = 0;
  return diff_;
}

std::optional<double> Vardiff::retarget(double observed_interval, double now) {
  // Difficulty scales the work per share: to move the interval to the target, scale the
  // difficulty by target / observed.
  double ratio = cfg_.target_interval / observed_interval;
  if (ratio > 1 - cfg_.band && ratio < 1 + cfg_.band) {
    // Within the band: start a fresh window so old evidence does not pile up.
    if (now - window_start_ > 4 * cfg_.min_window) {
      window_start_ = now;
      shares_ = 0;
    }
    return std::nullopt;
  }
  ratio = std::clamp(ratio, 0.25, 4.0);
  const double next = std::clamp(diff_ * ratio, cfg_.min_difficulty, cfg_.max_difficulty);
  window_start_ = now;
  shares_ = 0;
  if (next == diff_) return std::nullopt;
  diff_ = next;
  return diff_;
}

}  // namespace hf::mining

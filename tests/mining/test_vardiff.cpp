// Vardiff against simulated workers: shares arrive as a Poisson process whose rate is the
// worker's hash rate over difficulty x 2^32 (a fixed-seed generator, so runs repeat).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "net/mining/vardiff.hpp"

using namespace hf::mining;

namespace {

// Simulates `seconds` of mining at `hashrate` and returns the expected share interval at
// the difficulty vardiff settled on: its time-weighted geometric mean over the last quarter
// of the run (an instant's value would hinge on whether a chance step happened just then).
double settle(double hashrate, double start, double seconds, std::uint32_t seed, int* changes = nullptr) {
  VardiffConfig cfg;
  Vardiff v(cfg, start, 0);
  std::mt19937_64 rng(seed);
  double t = 0;
  double next_idle = 1;
  int n = 0;
  auto draw = [&](double from) {
    std::exponential_distribution<double> gap(hashrate / (v.difficulty() * 4294967296.0));
    return from + gap(rng);
  };
  double share_at = draw(0);
  const double from = seconds * 3 / 4;
  double log_sum = 0;
  auto advance = [&](double to) {  // the interval in force from t to `to`
    const double a = std::max(t, from), b = std::min(to, seconds);
    if (b > a) log_sum += (b - a) * std::log(v.difficulty() * 4294967296.0 / hashrate);
    t = to;
  };
  while (t < seconds) {
    if (next_idle < share_at) {  // a session timer's idle check comes first
      advance(next_idle);
      next_idle += 1;
      // Shares are memoryless: after a change the next one is drawn at the new rate.
      if (v.on_idle(t)) {
        ++n;
        share_at = draw(t);
      }
      continue;
    }
    advance(share_at);
    if (v.on_share(t)) ++n;
    share_at = draw(t);
  }
  if (changes) *changes = n;
  return std::exp(log_sum / (seconds - from));
}

}  // namespace

TEST(Vardiff, RatesTenfoldApartBothSettleNearTheTarget) {
  const double target = VardiffConfig{}.target_interval;
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const double r = 5e6;  // 5 MH/s and 50 MH/s, both starting at difficulty 1
    const double slow = settle(r, 1.0, 1800, seed), fast = settle(10 * r, 1.0, 1800, seed + 100);
    EXPECT_GT(slow, target / 2) << seed;
    EXPECT_LT(slow, target * 2) << seed;
    EXPECT_GT(fast, target / 2) << seed;
    EXPECT_LT(fast, target * 2) << seed;
  }
}

TEST(Vardiff, StartingFarTooHighComesDownThroughIdleChecks) {
  // Difficulty 1e6 at 1 MH/s: a share every ~50 days; idle checks must bring it down.
  int changes = 0;
  const double interval = settle(1e6, 1e6, 3600, 7, &changes);
  EXPECT_GT(changes, 3);
  EXPECT_LT(interval, VardiffConfig{}.target_interval * 2);
}

TEST(Vardiff, ClampedToMinimumAndMaximum) {
  VardiffConfig cfg;
  cfg.min_difficulty = 0.5;
  cfg.max_difficulty = 8;
  Vardiff v(cfg, 100, 0);
  EXPECT_EQ(v.difficulty(), 8);
  // A flood of shares pushes it up, never past the maximum.
  for (int i = 1; i < 1000; ++i) v.on_share(i * 0.01);
  EXPECT_EQ(v.difficulty(), 8);
  // Silence pulls it down, never below the minimum.
  for (int s = 20; s < 2000; s += 20) v.on_idle(s);
  EXPECT_EQ(v.difficulty(), 0.5);
}

TEST(Vardiff, SteadyOnTargetMakesNoChanges) {
  Vardiff v(VardiffConfig{}, 2.0, 0);
  int changes = 0;
  for (int i = 1; i <= 500; ++i)
    if (v.on_share(i * VardiffConfig{}.target_interval)) ++changes;
  EXPECT_EQ(changes, 0);
  EXPECT_EQ(v.difficulty(), 2.0);
}

TEST(Vardiff, FractionalDifficultiesBelowOne) {
  Vardiff v(VardiffConfig{}, 1.0, 0);
  // One share per 40 s at difficulty 1: ten times slower than wanted.
  std::optional<double> d;
  for (int i = 1; i <= 3 && !d; ++i) d = v.on_share(i * 40.0);
  ASSERT_TRUE(d);
  EXPECT_LT(*d, 1.0);
  EXPECT_GT(*d, 0.0);
}

TEST(Vardiff, SilentWorkerStepsDownAfterThreeTargetIntervals) {
  // A new worker far below its start difficulty: with the idle check every second, the
  // first step comes after three target intervals (12 s at the default 4 s), not after a
  // long window, and the next after three more.
  VardiffConfig cfg;
  Vardiff v(cfg, 1.0, 0);
  std::vector<std::pair<double, double>> steps;  // (time, difficulty)
  for (double t = 1; t <= 40; t += 1)
    if (auto d = v.on_idle(t)) steps.emplace_back(t, *d);
  ASSERT_GE(steps.size(), 3u);
  EXPECT_EQ(steps[0].first, 3 * cfg.target_interval);
  EXPECT_NEAR(steps[0].second, 1.0 / 3, 1e-9);
  EXPECT_EQ(steps[1].first, 6 * cfg.target_interval);
  EXPECT_NEAR(steps[1].second, 1.0 / 9, 1e-9);
}

TEST(Vardiff, StepDownIsProportionalToTheSilence) {
  // Checked late (after 30 s of silence at a 4 s target): one step by 4/30, not a fixed 4x.
  Vardiff v(VardiffConfig{}, 1.0, 0);
  auto d = v.on_idle(30);
  ASSERT_TRUE(d);
  EXPECT_NEAR(*d, 4.0 / 30, 1e-9);
}

TEST(Vardiff, AShareInTheWindowHoldsOffTheQuickStep) {
  // One share in the window is evidence of a rate: the slow-rate case waits for its window.
  Vardiff v(VardiffConfig{}, 1.0, 0);
  EXPECT_FALSE(v.on_share(5));
  EXPECT_FALSE(v.on_idle(13));
  EXPECT_FALSE(v.on_idle(39));
  auto d = v.on_idle(40);  // 1 share in 40 s: ten times slower than wanted; at most 4x per step
  ASSERT_TRUE(d);
  EXPECT_NEAR(*d, 0.25, 1e-9);
}

TEST(Vardiff, DifficultyForARate) {
  VardiffConfig cfg;
  Vardiff v(cfg, 1.0, 0);
  // 73 MH/s and a share every 4 s: 73e6 * 4 / 2^32.
  EXPECT_NEAR(v.for_rate(73e6), 73e6 * 4 / 4294967296.0, 1e-12);
  EXPECT_NEAR(v.for_rate(73e6), 0.068, 0.001);
  EXPECT_EQ(v.for_rate(1), cfg.min_difficulty);
  EXPECT_EQ(v.for_rate(0), cfg.min_difficulty);
  EXPECT_EQ(v.for_rate(1e30), cfg.max_difficulty);
}

TEST(Vardiff, RestartOpensAFreshWindow) {
  Vardiff v(VardiffConfig{}, 1.0, 0);
  v.restart(100);  // the work only started now: the silence before it is not the worker's
  EXPECT_FALSE(v.on_idle(111));
  EXPECT_TRUE(v.on_idle(112));
}

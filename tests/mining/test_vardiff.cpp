// Vardiff against simulated workers: shares arrive as a Poisson process whose rate is the
// worker's hash rate over difficulty x 2^32 (a fixed-seed generator, so runs repeat).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "net/mining/vardiff.hpp"

using namespace hf::mining;

namespace {

// Simulates `seconds` of mining at `hashrate` and returns the expected share interval at
// the difficulty vardiff settled on.
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
  while (t < seconds) {
    if (next_idle < share_at) {  // a session timer's idle check comes first
      t = next_idle;
      next_idle += 1;
      // Shares are memoryless: after a change the next one is drawn at the new rate.
      if (v.on_idle(t)) {
        ++n;
        share_at = draw(t);
      }
      continue;
    }
    t = share_at;
    if (v.on_share(t)) ++n;
    share_at = draw(t);
  }
  if (changes) *changes = n;
  return v.difficulty() * 4294967296.0 / hashrate;
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

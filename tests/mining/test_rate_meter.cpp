// The worker's rate estimate (net/mining/rate_meter.hpp) fed scripted sequences of search
// segments and duty-cycle rests of every length, including very short ones.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "net/mining/rate_meter.hpp"

using hf::mining::RateMeter;

TEST(RateMeter, ZeroBeforeAnythingAndNoNanForEmptyPieces) {
  RateMeter m(10);
  EXPECT_EQ(m.rate(), 0);
  EXPECT_EQ(m.busy_rate(), 0);
  m.work(0, 0);
  m.work(1000, 0);  // work with no measured time yet: no figure, and no division by zero
  EXPECT_EQ(m.rate(), 0);
  m.rest(0);
  m.rest(-1);
  EXPECT_EQ(m.seconds(), 0);
  m.work(1e6, 0.5);
  EXPECT_TRUE(std::isfinite(m.rate()));
  EXPECT_GT(m.rate(), 0);
}

TEST(RateMeter, FirstSegmentGivesItsOwnRateNotAnUnderstatedOne) {
  RateMeter m(10);
  m.work(5e6, 0.5);  // 10 MH/s for half a second: far less than tau
  EXPECT_NEAR(m.rate(), 10e6, 1e-6 * 10e6);
  EXPECT_NEAR(m.busy_rate(), 10e6, 1e-6 * 10e6);
}

TEST(RateMeter, ConstantRateIsExactWhateverTheSegmentLengths) {
  // Segments from a microsecond to five seconds, in random order: a constant rate must read
  // back exactly after every one of them.
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> log_len(-6, std::log10(5.0));
  const double rate = 7.43e6;
  RateMeter m(10);
  for (int i = 0; i < 20000; ++i) {
    const double s = std::pow(10.0, log_len(rng));
    m.work(rate * s, s);
    ASSERT_NEAR(m.rate(), rate, 1e-6 * rate) << i;
  }
}

TEST(RateMeter, StepUpIsFollowedEvenWhenSegmentsShrinkBelowAFifthOfASecond) {
  // The field report: segments sized for 0.25 s at a rate measured under load (7.43 MH/s)
  // take 0.177 s once the load is gone and the rate is 10.5 MH/s. Every one of them must
  // move the estimate, which must reach the true rate within a few time constants.
  const double tau = 10, slow = 7.43e6, fast = 10.5e6;
  RateMeter m(tau);
  for (double t = 0; t < 60; t += 0.25) m.work(slow * 0.25, 0.25);
  EXPECT_NEAR(m.rate(), slow, 1e-6 * slow);
  const double count = slow * 0.25;  // nonces per segment, never resized
  std::vector<double> seen;
  for (double t = 0; t < 4 * tau; t += count / fast) {
    const double before = m.rate();
    m.work(count, count / fast);
    EXPECT_GT(m.rate(), before) << "estimate did not move at t=" << t;
    seen.push_back(m.rate());
  }
  EXPECT_NEAR(seen.back(), fast, 0.02 * fast);
  // Halfway through (2 tau) about 1 - e^-2 of the step is in.
  const double mid = seen[seen.size() / 2];
  EXPECT_NEAR((mid - slow) / (fast - slow), 1 - std::exp(-2.0), 0.03);
}

TEST(RateMeter, StepDownIsFollowedToo) {
  RateMeter m(10);
  for (int i = 0; i < 300; ++i) m.work(10e6 * 0.2, 0.2);
  for (int i = 0; i < 150000; ++i) m.work(2.5e6 * 0.0004, 0.0004);  // 60 s in 0.4 ms pieces
  EXPECT_NEAR(m.rate(), 2.5e6, 0.03 * 2.5e6);
}

TEST(RateMeter, DutyCycleRestsCountAsTimeWithNoWork) {
  // --intensity 30: 0.25 s hashing at 10.5 MH/s, then a rest of 0.25 * 0.7 / 0.3 s.
  const double rate = 10.5e6, duty = 0.3, seg = 0.25, rest = seg * (1 - duty) / duty;
  RateMeter m(10);
  double lo = 1e300, hi = 0;
  for (int i = 0; i < 400; ++i) {
    m.work(rate * seg, seg);
    if (i > 100) hi = std::max(hi, m.rate());  // after the start, when only work was seen
    m.rest(rest);
    lo = std::min(lo, i > 100 ? m.rate() : 1e300);
  }
  // The effective rate is duty x the hashing rate; within a cycle the estimate swings by
  // about a cycle's share of tau around it.
  const double eff = duty * rate, swing = (seg + rest) / 10;
  EXPECT_GT(lo, eff * (1 - swing));
  EXPECT_LT(hi, eff * (1 + swing));
  EXPECT_NEAR(m.busy_rate(), rate, 1e-6 * rate);
  EXPECT_NEAR(m.busy_fraction(), duty, 0.03);
}

TEST(RateMeter, MixedScriptTracksTheTrueAverageAndNeverRepeats) {
  // Random segments (1 us .. 2 s) at a rate that wanders, with random rests: the estimate
  // stays close to the true decaying average computed independently on a fine grid, and
  // never reads the same figure twice in a row while work keeps arriving.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const double tau = 15;
  RateMeter m(tau);
  // The reference: the same decaying average on a 1 ms grid of (work, time).
  double ref_work = 0, ref_time = 0;
  const double dt = 1e-3, keep = std::exp(-dt / tau);
  double pending_work = 0, pending_time = 0;
  auto ref_feed = [&](double work, double seconds) {
    // Spread evenly over the grid, carrying the part of a step not yet complete.
    double w_rate = seconds > 0 ? work / seconds : 0;
    double left = seconds;
    while (left > 0) {
      const double take = std::min(left, dt - pending_time);
      pending_work += w_rate * take;
      pending_time += take;
      left -= take;
      if (pending_time >= dt - 1e-15) {
        ref_work = ref_work * keep + pending_work;
        ref_time = ref_time * keep + dt;
        pending_work = pending_time = 0;
      }
    }
  };
  double rate = 5e6, prev = -1;
  int repeats = 0, checks = 0;
  for (int i = 0; i < 3000; ++i) {
    rate *= std::exp(0.05 * (u(rng) - 0.5));
    const double s = std::pow(10.0, -6 + u(rng) * 6.3);  // 1 us .. 2 s
    m.work(rate * s, s);
    ref_feed(rate * s, s);
    if (u(rng) < 0.3) {
      const double r = u(rng) * 0.5;
      m.rest(r);
      ref_feed(0, r);
    }
    if (m.rate() == prev) ++repeats;
    prev = m.rate();
    if (m.seconds() > 3 * tau) {  // the grid's partial step differs by at most dt / tau
      ++checks;
      ASSERT_NEAR(m.rate(), ref_work / ref_time, 0.01 * m.rate()) << i;
    }
  }
  EXPECT_EQ(repeats, 0);
  EXPECT_GT(checks, 0);
}

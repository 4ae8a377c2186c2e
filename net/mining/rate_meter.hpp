// A worker's own hash rate: an exponentially decaying average of the nonces it searched
// over the time it spent, fed by every search segment however short, and by the rests of a
// duty cycle (--intensity) as time with no work. Pure code with its own clock: the clock
// moves only by what is fed, so time with no work to do at all (no pool connected) is left
// out and the figure says what the worker does when it mines.
//
// Two figures come out: rate() is the effective rate, work per second of the clock with the
// rests included (what a pool or coordinator sees, and what the worker reports); busy_rate()
// is the rate while hashing. Both weight the last `tau` seconds most. Work fed with a
// duration is taken as spread evenly over it, so the average is exact for any rate that is
// constant within each piece, and before `tau` has passed it is normalised by the part of
// the window that exists, so the first figure is the average so far rather than understated.
#pragma once
#include <algorithm>
#include <cmath>

namespace hf::mining {

class RateMeter {
 public:
  explicit RateMeter(double tau = 10.0) : tau_(tau) {}

  // `amount` of work done evenly over `seconds` of hashing (0: at this instant).
  void work(double amount, double seconds) {
    seconds = std::max(seconds, 0.0);
    const double keep = std::exp(-seconds / tau_);
    // The integral of a constant rate amount/seconds, weighted by exp(-age / tau), over the
    // piece: amount * (tau / seconds) * (1 - exp(-seconds / tau)), which tends to amount.
    const double x = seconds / tau_;
    const double spread = x > 1e-9 ? -std::expm1(-x) / x : 1.0;
    work_ = work_ * keep + std::max(amount, 0.0) * spread;
    busy_ = busy_ * keep + tau_ * -std::expm1(-x);
    clock_ += seconds;
  }
  // `seconds` with no hashing (a duty-cycle rest).
  void rest(double seconds) {
    if (!(seconds > 0)) return;
    const double keep = std::exp(-seconds / tau_);
    work_ *= keep;
    busy_ *= keep;
    clock_ += seconds;
  }
  // Work per second of the clock, rests included; 0 before any time has been fed.
  double rate() const {
    const double window = tau_ * -std::expm1(-clock_ / tau_);
    return window > 0 ? work_ / window : 0;
  }
  // Work per second of hashing.
  double busy_rate() const { return busy_ > 0 ? work_ / busy_ : 0; }
  // The share of the recent clock spent hashing, in [0, 1].
  double busy_fraction() const {
    const double window = tau_ * -std::expm1(-clock_ / tau_);
    return window > 0 ? std::min(1.0, busy_ / window) : 0;
  }
  double seconds() const { return clock_; }
  double tau() const { return tau_; }

 private:
  double tau_;
  double work_ = 0;   // work, each piece weighted by exp(-age / tau)
  double busy_ = 0;   // seconds of hashing, weighted the same way
  double clock_ = 0;  // seconds fed, hashing and resting
};

}  // namespace hf::mining

// Seconds as a double (from a command line or a config) to a std::chrono duration, without
// the undefined behaviour of casting an out-of-range double to an integer: NaN and negative
// values become zero, and anything beyond kMaxDurationSeconds (about 100 years) becomes that.
// The bound leaves room to add the result to any clock's now() and to convert it to
// nanoseconds without overflow, so a timer set from it lies in the far future, never in
// the past. Header-only and free of Asio: pure code may use it too.
#pragma once
#include <chrono>

namespace hf::netio {

inline constexpr double kMaxDurationSeconds = 100.0 * 365 * 86400;

template <class D = std::chrono::milliseconds>
D seconds_to(double seconds) {
  if (!(seconds > 0)) return D::zero();  // also NaN
  if (seconds > kMaxDurationSeconds) seconds = kMaxDurationSeconds;
  return std::chrono::duration_cast<D>(std::chrono::duration<double>(seconds));
}

}  // namespace hf::netio

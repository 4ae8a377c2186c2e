// JSON equality for round-trip checks. Boost.JSON 1.81 parses decimals to within an ulp or
// so, not always to the nearest double, so a serialise-and-parse of a double may move it by
// that much; everything else must match exactly.
#pragma once
#include <boost/json.hpp>

#include <cmath>

namespace hf::fuzz {

inline bool json_same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() || b.is_double()) {
    if (!a.is_number() || !b.is_number()) return false;
    const double x = a.to_number<double>(), y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-15 * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto &x = a.as_array(), &y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!json_same(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto &x = a.as_object(), &y = b.as_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const auto* other = y.if_contains(kv.key());
      if (!other || !json_same(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace hf::fuzz

#include "net/node/retarget.hpp"

#include <algorithm>

#include "net/node/spec.hpp"

namespace hf::node {

Key scale_target(const Key& target, std::uint64_t mul, std::uint64_t div, const Key& cap) {
  if (div == 0) return cap;
  // target x mul: nine 32-bit words, most significant first.
  std::uint32_t wide[9] = {};
  unsigned __int128 carry = 0;
  for (int i = 7; i >= 0; --i) {
    const unsigned __int128 v = static_cast<unsigned __int128>(target.w[static_cast<std::size_t>(i)]) * mul + carry;
    wide[i + 1] = static_cast<std::uint32_t>(v);
    carry = v >> 32;
  }
  if (carry >> 32) return cap;  // beyond 288 bits: certainly over the cap
  wide[0] = static_cast<std::uint32_t>(carry);
  // / div, long division a word at a time.
  unsigned __int128 rem = 0;
  std::uint32_t q[9] = {};
  for (int i = 0; i < 9; ++i) {
    const unsigned __int128 cur = (rem << 32) | wide[i];
    q[i] = static_cast<std::uint32_t>(cur / div);
    rem = cur % div;
  }
  if (q[0] != 0) return cap;
  Key out;
  for (int i = 0; i < 8; ++i) out.w[static_cast<std::size_t>(i)] = q[i + 1];
  return out > cap ? cap : out;
}

std::uint32_t next_bits(const RetargetRule& r, const Key& easiest, std::uint32_t first_bits, std::int64_t first_time_s,
                        std::int64_t last_time_s, std::uint64_t blocks) {
  const std::uint32_t easiest_bits = compact_of(easiest);
  if (r.interval_ms == 0 || blocks == 0) return easiest_bits;
  Key first;
  if (!target_from_compact(first_bits, &first).empty()) return easiest_bits;
  const std::uint64_t expected = blocks * r.interval_ms;
  const std::int64_t span = std::max<std::int64_t>(last_time_s - first_time_s, 0);
  const std::uint64_t actual =
      std::clamp<std::uint64_t>(static_cast<std::uint64_t>(span) * 1000, expected / 4, expected * 4);
  const Key next = scale_target(first, actual, expected, easiest);
  return compact_of(next);
}

}  // namespace hf::node

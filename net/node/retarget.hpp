// Difficulty retargeting for header-scheme networks: each block's target follows the block
// times of the window before it, so blocks keep coming at the spec's interval whatever hash
// power the network has. Integer arithmetic only: every node computes the same bits. Pure code.
//
//   next target = target of the block at the window's start x actual / expected
//   actual   = (time of the parent - time of the window's first block) in milliseconds,
//              clamped to [expected / 4, expected x 4]
//   expected = blocks in the window x the interval
// capped at the network's easiest target (the spec's), then written in compact form.
#pragma once
#include <cstdint>

#include "hashforge/target.hpp"

namespace hf::node {

struct RetargetRule {
  std::uint64_t interval_ms = 0;  // 0: no retargeting, every block at the spec's target
  std::uint32_t window = 30;      // blocks looked back over
};

// The product target x mul / div, or `cap` when it would be larger (or div is 0).
Key scale_target(const Key& target, std::uint64_t mul, std::uint64_t div, const Key& cap);

// Bits for the next block, from the window: `first_bits`/`first_time_s` of the block at its
// start, `last_time_s` the parent's, `blocks` the intervals between them (at least 1).
std::uint32_t next_bits(const RetargetRule& r, const Key& easiest, std::uint32_t first_bits, std::int64_t first_time_s,
                        std::int64_t last_time_s, std::uint64_t blocks);

}  // namespace hf::node

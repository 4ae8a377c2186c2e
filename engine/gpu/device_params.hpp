// The parameter block a device search kernel reads (layout: kernels/sha256_search.h).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/search_plan.hpp"

namespace hf::gpu {

// Words of the block, or empty with *why set when the search cannot run on a device
// (a suffix so long that the message spans more than HFP_MAX_BLOCKS blocks after the nonce).
std::vector<std::uint32_t> device_params(const PreparedSearch& ps, std::string* why);

}  // namespace hf::gpu

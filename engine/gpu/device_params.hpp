// The parameter block a device search kernel reads (layout: kernels/sha256_search.h).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/search_plan.hpp"

namespace hf::gpu {

// Words of the block (any number of message blocks after the nonce's first).
std::vector<std::uint32_t> device_params(const PreparedSearch& ps);

}  // namespace hf::gpu

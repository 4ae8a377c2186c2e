// The parameter block a device search kernel reads (layout: kernels/sha256_search.h).
#pragma once
#include <cstdint>
#include <vector>

#include "search_plan.hpp"

namespace hf::gpu {

// Words of the block (any number of message blocks after the nonce's first).
std::vector<std::uint32_t> device_params(const PreparedSearch& ps);

// Which kernel a parameter block can use, most specialised first.
enum class KernelKind { header80, u32le, generic };
KernelKind kernel_kind(const std::vector<std::uint32_t>& params);

}  // namespace hf::gpu

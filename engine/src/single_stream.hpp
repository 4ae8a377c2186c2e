// The single-stream compression functions a streaming Hasher runs on: the portable reference
// code, or a CPU backend's (SHA-NI). Engine-internal; callers get hashers from the Engine.
#pragma once
#include <cstddef>
#include <cstdint>

#include "hashforge/hasher.hpp"

namespace hf {

struct SingleStreamFns {
  const char* name;
  void (*sha256)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t nblocks);
  void (*sha1)(std::uint32_t state[5], const std::uint8_t* blocks, std::size_t nblocks);
};
const SingleStreamFns& reference_fns();  // the portable scalar code

}  // namespace hf

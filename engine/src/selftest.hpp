// Start-up self-test of a backend: fixed vectors, unaligned buffers, every lane count.
#pragma once
#include <string>

#include "backend.hpp"

namespace hf {

// Empty when the backend computes every checked digest and search correctly; otherwise a
// one-line description of the first mismatch.
std::string selftest_backend(Backend& be);

}  // namespace hf

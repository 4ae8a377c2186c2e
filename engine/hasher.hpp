// Streaming SHA-1 / SHA-256 / SHA-256d hashers (init, update, final) for general use.
#pragma once
#include <cstdint>

#include "engine/types.hpp"

namespace hf {

// Single-stream compression functions a streaming hasher runs on.
struct SingleStreamFns {
  const char* name;
  void (*sha256)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t nblocks);
  void (*sha1)(std::uint32_t state[5], const std::uint8_t* blocks, std::size_t nblocks);
};
const SingleStreamFns& reference_fns();  // the portable scalar code

class Hasher {
 public:
  explicit Hasher(Algo algo, const SingleStreamFns* fns = nullptr);
  void update(ByteView data);
  Digest final();  // the hasher may not be used again until reset()
  void reset();
  Algo algo() const { return algo_; }

 private:
  void compress(const std::uint8_t* blocks, std::size_t n);
  Algo algo_;
  const SingleStreamFns* fns_;
  std::uint32_t state_[8];
  std::uint8_t buf_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

Digest hash_once(Algo algo, ByteView data, const SingleStreamFns* fns = nullptr);

}  // namespace hf

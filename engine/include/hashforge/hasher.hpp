// Streaming SHA-1 / SHA-256 / SHA-256d hashers (init, update, final) for general use.
#pragma once
#include <cstdint>

#include "hashforge/types.hpp"

namespace hf {

// Engine-internal: the single-stream compression functions a hasher runs on.
struct SingleStreamFns;

class Hasher {
 public:
  // On the portable reference code; Engine::hasher() gives one on the fastest (or a named)
  // backend's code. `fns` comes from the engine only.
  explicit Hasher(Algo algo, const SingleStreamFns* fns = nullptr);
  void update(ByteView data);
  Digest final();  // the hasher may not be used again until reset()
  void reset();
  Algo algo() const { return algo_; }
  const char* implementation() const;  // "shani", "scalar", ...

 private:
  void compress(const std::uint8_t* blocks, std::size_t n);
  Algo algo_;
  const SingleStreamFns* fns_;
  std::uint32_t state_[8];
  std::uint8_t buf_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

// One message on the portable reference code (or `fns`); Engine::digest() is the fast form.
Digest hash_once(Algo algo, ByteView data, const SingleStreamFns* fns = nullptr);

}  // namespace hf

// The portable backend: the shared multi-buffer kernels instantiated with one 32-bit lane.
// Always available; the reference the vector backends are compared with.
#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/kernels.hpp"
#include "sha_core.hpp"

namespace hf::cpu {
namespace scalar_impl {

struct V {
  static constexpr unsigned lanes = 1;
  std::uint32_t v;
  static V kept(V x) {
    asm("" : "+r"(x.v));
    return x;
  }
  static V bcast(std::uint32_t x) { return {x}; }
  static V load(const std::uint32_t* p) { return {*p}; }
  void store(std::uint32_t* p) const { *p = v; }
  friend V operator+(V a, V b) { return {a.v + b.v}; }
  friend V operator^(V a, V b) { return {a.v ^ b.v}; }
  template <int n>
  static V rotr(V x) {
    return {(x.v >> n) | (x.v << (32 - n))};
  }
  template <int n>
  static V shr(V x) {
    return {x.v >> n};
  }
  static V ch(V e, V f, V g) { return {((f.v ^ g.v) & e.v) ^ g.v}; }
  static V maj(V a, V b, V c) { return {(a.v & b.v) | (c.v & (a.v | b.v))}; }
  static V xor3(V a, V b, V c) { return {a.v ^ b.v ^ c.v}; }
  static V bswap(V x) { return {__builtin_bswap32(x.v)}; }
  static std::uint32_t le_mask(V x, std::uint32_t t) { return x.v <= t ? 1u : 0u; }
  static void load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w);
};

#include "cpu/mb_kernels.inl"

void V::load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
  for (int t = 0; t < 16; ++t) w[t].v = hf::sha::load_be32(ptrs[0] + off + 4 * t);
}

}  // namespace scalar_impl

const KernelTable& scalar_kernels() {
  static const KernelTable table{
      "scalar",
      1,
      &scalar_impl::sha256_blocks_impl<scalar_impl::V>,
      &scalar_impl::sha1_blocks_impl<scalar_impl::V>,
      &hf::sha::sha256_compress_ref,
      &hf::sha::sha1_compress_ref,
      &scalar_impl::sha256_64_impl<scalar_impl::V>,
      &scalar_impl::search_batch_impl<scalar_impl::V>,
  };
  return table;
}

}  // namespace hf::cpu

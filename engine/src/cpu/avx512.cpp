// AVX-512 backend: sixteen independent SHA-1/SHA-256 lanes per 512-bit register, using the
// native rotate (vprord) and three-input logic (vpternlogd) that AVX2 lacks.
// Compiled with -mavx512f -mavx512vl -mavx512bw; called only when cpu_features reports them
// with OS support for the ZMM state.
#include <immintrin.h>

// GCC 12's _mm512_ror_epi32 passes _mm512_undefined_epi32() as its unused merge source, which
// -Wuninitialized reports at every use; the value is never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/kernels.hpp"
#include "sha_core.hpp"

namespace hf::cpu {
namespace avx512_impl {

struct V {
  static constexpr unsigned lanes = 16;
  __m512i v;
  static V kept(V x) {
    asm("" : "+v"(x.v));
    return x;
  }
  static V bcast(std::uint32_t x) { return {_mm512_set1_epi32(static_cast<int>(x))}; }
  static V load(const std::uint32_t* p) { return {_mm512_loadu_si512(p)}; }
  void store(std::uint32_t* p) const { _mm512_storeu_si512(p, v); }
  friend V operator+(V a, V b) { return {_mm512_add_epi32(a.v, b.v)}; }
  friend V operator^(V a, V b) { return {_mm512_xor_si512(a.v, b.v)}; }
  template <int n>
  static V rotr(V x) {
    return {_mm512_ror_epi32(x.v, n)};
  }
  template <int n>
  static V shr(V x) {
    return {_mm512_srli_epi32(x.v, n)};
  }
  // Truth tables for vpternlogd(a, b, c): bit (a<<2 | b<<1 | c) of the immediate.
  static V ch(V e, V f, V g) { return {_mm512_ternarylogic_epi32(e.v, f.v, g.v, 0xCA)}; }
  static V maj(V a, V b, V c) { return {_mm512_ternarylogic_epi32(a.v, b.v, c.v, 0xE8)}; }
  static V xor3(V a, V b, V c) { return {_mm512_ternarylogic_epi32(a.v, b.v, c.v, 0x96)}; }
  static V bswap(V x) {
    const __m512i m =
        _mm512_set_epi8(60, 61, 62, 63, 56, 57, 58, 59, 52, 53, 54, 55, 48, 49, 50, 51, 44, 45, 46, 47, 40, 41, 42, 43,
                        36, 37, 38, 39, 32, 33, 34, 35, 28, 29, 30, 31, 24, 25, 26, 27, 20, 21, 22, 23, 16, 17, 18, 19,
                        12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    // vpshufb indexes within each 128-bit lane, so only the low four bits of m matter.
    return {_mm512_shuffle_epi8(x.v, m)};
  }
  static std::uint32_t le_mask(V x, std::uint32_t t) {
    return _mm512_cmple_epu32_mask(x.v, _mm512_set1_epi32(static_cast<int>(t)));
  }
  static void load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w);
  // Words 4Q..4Q+3 of every lane: r[a]'s 128-bit chunk c is lane 4c+a's 16 bytes, so a 4x4
  // transpose inside each chunk leaves word 4Q+k of lanes 4c..4c+3 in chunk c of w[k].
  template <int Q>
  static void load_quarter(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
    auto part = [&](int lane) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(ptrs[lane] + off + 16 * Q)); };
    __m512i r[4];
    for (int a = 0; a < 4; ++a) {
      __m512i x = _mm512_castsi128_si512(part(a));
      x = _mm512_inserti32x4(x, part(4 + a), 1);
      x = _mm512_inserti32x4(x, part(8 + a), 2);
      r[a] = _mm512_inserti32x4(x, part(12 + a), 3);
    }
    // Each step kept apart (an empty asm): clang otherwise merges the unpacks and the byte
    // swap into twice as many 256-bit shuffles and blends.
    auto apart = [](__m512i x) {
      asm("" : "+v"(x));
      return x;
    };
    const __m512i t0 = apart(_mm512_unpacklo_epi32(r[0], r[1])), t1 = apart(_mm512_unpackhi_epi32(r[0], r[1]));
    const __m512i t2 = apart(_mm512_unpacklo_epi32(r[2], r[3])), t3 = apart(_mm512_unpackhi_epi32(r[2], r[3]));
    w[0] = bswap({apart(_mm512_unpacklo_epi64(t0, t2))});
    w[1] = bswap({apart(_mm512_unpackhi_epi64(t0, t2))});
    w[2] = bswap({apart(_mm512_unpacklo_epi64(t1, t3))});
    w[3] = bswap({apart(_mm512_unpackhi_epi64(t1, t3))});
  }
};

#include "cpu/mb_kernels.inl"

// 16x16 transpose of 32-bit words: after it, w[t] holds word t of all sixteen lanes.
void V::load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
  __m512i r[16], t[16], u[16];
  for (int l = 0; l < 16; ++l) r[l] = _mm512_loadu_si512(ptrs[l] + off);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4j+k], 128-bit chunk q = word 4q+k of lanes 4j..4j+3.
  for (int j = 0; j < 4; ++j) {
    u[4 * j + 0] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
    u[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
    u[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
    u[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    __m512i v0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);
    __m512i v1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
    __m512i v2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
    __m512i v3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
    w[k] = bswap({_mm512_shuffle_i32x4(v0, v2, 0x88)});
    w[4 + k] = bswap({_mm512_shuffle_i32x4(v0, v2, 0xDD)});
    w[8 + k] = bswap({_mm512_shuffle_i32x4(v1, v3, 0x88)});
    w[12 + k] = bswap({_mm512_shuffle_i32x4(v1, v3, 0xDD)});
  }
}

}  // namespace avx512_impl

const KernelTable& avx512_kernels() {
  static const KernelTable table{
      "avx512",
      16,
      &avx512_impl::sha256_blocks_impl<avx512_impl::V>,
      &avx512_impl::sha1_blocks_impl<avx512_impl::V>,
      nullptr,
      nullptr,
      &avx512_impl::sha256_64_impl<avx512_impl::V>,
      &avx512_impl::search_batch_impl<avx512_impl::V>,
      &avx512_impl::scan_headers_impl<avx512_impl::V>,
  };
  return table;
}

}  // namespace hf::cpu

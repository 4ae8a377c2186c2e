// AVX2 backend: eight independent SHA-1/SHA-256 lanes per 256-bit register.
// Compiled with -mavx2; called only when cpu_features reports AVX2 with OS support.
#include <immintrin.h>

#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/kernels.hpp"
#include "sha_core.hpp"

namespace hf::cpu {
namespace avx2_impl {

struct V {
  static constexpr unsigned lanes = 8;
  __m256i v;
  static V kept(V x) {
    asm("" : "+x"(x.v));
    return x;
  }
  static V bcast(std::uint32_t x) { return {_mm256_set1_epi32(static_cast<int>(x))}; }
  static V load(const std::uint32_t* p) { return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))}; }
  void store(std::uint32_t* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  friend V operator+(V a, V b) { return {_mm256_add_epi32(a.v, b.v)}; }
  friend V operator^(V a, V b) { return {_mm256_xor_si256(a.v, b.v)}; }
  template <int n>
  static V rotr(V x) {
    // Byte-multiple rotations are one shuffle instead of two shifts and an or.
    if constexpr (n == 8)
      return {_mm256_shuffle_epi8(x.v, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3,
                                                        0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12))};
    else if constexpr (n == 16)
      return {_mm256_shuffle_epi8(x.v, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0,
                                                        1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13))};
    else
      return {_mm256_or_si256(_mm256_srli_epi32(x.v, n), _mm256_slli_epi32(x.v, 32 - n))};
  }
  template <int n>
  static V shr(V x) {
    return {_mm256_srli_epi32(x.v, n)};
  }
  static V ch(V e, V f, V g) { return {_mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256(f.v, g.v), e.v), g.v)}; }
  static V maj(V a, V b, V c) {
    return {_mm256_or_si256(_mm256_and_si256(a.v, b.v), _mm256_and_si256(c.v, _mm256_or_si256(a.v, b.v)))};
  }
  static V xor3(V a, V b, V c) { return {_mm256_xor_si256(_mm256_xor_si256(a.v, b.v), c.v)}; }
  static V bswap(V x) {
    return {_mm256_shuffle_epi8(x.v, _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0,
                                                      7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12))};
  }
  static std::uint32_t le_mask(V x, std::uint32_t t) {
    // Unsigned x <= t  <=>  max(x, t) == t.
    __m256i tv = _mm256_set1_epi32(static_cast<int>(t));
    __m256i eq = _mm256_cmpeq_epi32(_mm256_max_epu32(x.v, tv), tv);
    return static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(eq)));
  }
  static void load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w);
  // Words 4Q..4Q+3 of every lane: r[a]'s 128-bit chunk c is lane 4c+a's 16 bytes, so a 4x4
  // transpose inside each chunk leaves word 4Q+k of lanes 4c..4c+3 in chunk c of w[k].
  template <int Q>
  static void load_quarter(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
    auto part = [&](int lane) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(ptrs[lane] + off + 16 * Q)); };
    __m256i r[4];
    for (int a = 0; a < 4; ++a) r[a] = _mm256_inserti128_si256(_mm256_castsi128_si256(part(a)), part(4 + a), 1);
    // Each step kept apart (an empty asm), as in avx512.cpp: clang would merge them.
    auto apart = [](__m256i x) {
      asm("" : "+x"(x));
      return x;
    };
    const __m256i t0 = apart(_mm256_unpacklo_epi32(r[0], r[1])), t1 = apart(_mm256_unpackhi_epi32(r[0], r[1]));
    const __m256i t2 = apart(_mm256_unpacklo_epi32(r[2], r[3])), t3 = apart(_mm256_unpackhi_epi32(r[2], r[3]));
    w[0] = bswap({apart(_mm256_unpacklo_epi64(t0, t2))});
    w[1] = bswap({apart(_mm256_unpackhi_epi64(t0, t2))});
    w[2] = bswap({apart(_mm256_unpacklo_epi64(t1, t3))});
    w[3] = bswap({apart(_mm256_unpackhi_epi64(t1, t3))});
  }
};

#include "cpu/mb_kernels.inl"

// 8x8 transpose of 32-bit words, done twice (words 0-7 and 8-15 of each lane's block).
void V::load_words(const std::uint8_t* const* ptrs, std::size_t off, V* w) {
  for (int half = 0; half < 2; ++half) {
    __m256i r[8];
    for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ptrs[l] + off + 32 * half));
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    // u0: lanes 0-3 word 0 | word 4; u4: lanes 4-7 word 0 | word 4; and so on.
    V* o = w + 8 * half;
    o[0] = bswap({_mm256_permute2x128_si256(u0, u4, 0x20)});
    o[1] = bswap({_mm256_permute2x128_si256(u1, u5, 0x20)});
    o[2] = bswap({_mm256_permute2x128_si256(u2, u6, 0x20)});
    o[3] = bswap({_mm256_permute2x128_si256(u3, u7, 0x20)});
    o[4] = bswap({_mm256_permute2x128_si256(u0, u4, 0x31)});
    o[5] = bswap({_mm256_permute2x128_si256(u1, u5, 0x31)});
    o[6] = bswap({_mm256_permute2x128_si256(u2, u6, 0x31)});
    o[7] = bswap({_mm256_permute2x128_si256(u3, u7, 0x31)});
  }
}

}  // namespace avx2_impl

const KernelTable& avx2_kernels() {
  static const KernelTable table{
      "avx2",  8,       &avx2_impl::sha256_blocks_impl<avx2_impl::V>, &avx2_impl::sha1_blocks_impl<avx2_impl::V>,
      nullptr, nullptr, &avx2_impl::sha256_64_impl<avx2_impl::V>,     &avx2_impl::search_batch_impl<avx2_impl::V>,
      &avx2_impl::scan_headers_impl<avx2_impl::V>,
  };
  return table;
}

}  // namespace hf::cpu

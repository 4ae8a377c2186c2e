// SHA-1 / SHA-256 constants and the portable reference compression functions.
// The reference functions are the slow path every fast path is checked against.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/sha256_consts.h"

namespace hf::sha {

// FIPS 180-4, section 4.2.2 and 5.3.3.
inline constexpr std::uint32_t K256[64] = {HF_SHA256_K_LIST};
inline constexpr std::uint32_t IV256[8] = {HF_SHA256_IV_LIST};
inline constexpr std::uint32_t IV1[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
inline constexpr std::uint32_t K1[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};

constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
constexpr std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
constexpr std::uint32_t bsig0(std::uint32_t x) { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
constexpr std::uint32_t bsig1(std::uint32_t x) { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
constexpr std::uint32_t ssig0(std::uint32_t x) { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
constexpr std::uint32_t ssig1(std::uint32_t x) { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }
constexpr std::uint32_t ch(std::uint32_t e, std::uint32_t f, std::uint32_t g) { return (e & f) ^ (~e & g); }
constexpr std::uint32_t maj(std::uint32_t a, std::uint32_t b, std::uint32_t c) { return (a & b) ^ (a & c) ^ (b & c); }

inline std::uint32_t load_be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = std::uint8_t(v >> 24);
  p[1] = std::uint8_t(v >> 16);
  p[2] = std::uint8_t(v >> 8);
  p[3] = std::uint8_t(v);
}
inline std::uint32_t bswap32(std::uint32_t v) { return __builtin_bswap32(v); }

// One SHA-256 round on a scalar state array s[8] = {a..h}, used by precomputation.
constexpr void sha256_round(std::uint32_t s[8], std::uint32_t kw) {
  std::uint32_t t1 = s[7] + bsig1(s[4]) + ch(s[4], s[5], s[6]) + kw;
  std::uint32_t t2 = bsig0(s[0]) + maj(s[0], s[1], s[2]);
  s[7] = s[6];
  s[6] = s[5];
  s[5] = s[4];
  s[4] = s[3] + t1;
  s[3] = s[2];
  s[2] = s[1];
  s[1] = s[0];
  s[0] = t1 + t2;
}

// Reference compressions over `nblocks` consecutive 64-byte blocks (any alignment).
void sha256_compress_ref(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t nblocks);
void sha1_compress_ref(std::uint32_t state[5], const std::uint8_t* blocks, std::size_t nblocks);

// Number of bytes of padding (0x80, zeros, 64-bit big-endian bit length) for a message of
// `len` bytes, and a writer that appends it. Both SHA-1 and SHA-256 use this padding.
// The second block of every 64-byte message (0x80, zeros, bit length 512) never changes, so
// its whole schedule is fixed: Kpad64[t] = K[t] + W[t]. Merkle trees hash pairs of 32-byte
// digests, which is this shape.
struct Pad64Schedule {
  std::uint32_t kw[64] = {};
  constexpr Pad64Schedule() {
    std::uint32_t w[64] = {0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512};
    for (int t = 16; t < 64; ++t) w[t] = ssig1(w[t - 2]) + w[t - 7] + ssig0(w[t - 15]) + w[t - 16];
    for (int t = 0; t < 64; ++t) kw[t] = K256[t] + w[t];
  }
};
inline constexpr Pad64Schedule kPad64{};

constexpr std::size_t padded_size(std::uint64_t len) { return static_cast<std::size_t>((len + 9 + 63) / 64 * 64); }
void write_padding(std::uint8_t* tail_after_msg, std::size_t pad_len, std::uint64_t msg_len);

}  // namespace hf::sha

#include <cstring>

#include "sha_core.hpp"

namespace hf::sha {

void sha256_compress_ref(std::uint32_t state[8], const std::uint8_t* p, std::size_t nblocks) {
  for (std::size_t blk = 0; blk < nblocks; ++blk, p += 64) {
    std::uint32_t w[64];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(p + 4 * t);
    for (int t = 16; t < 64; ++t) w[t] = ssig1(w[t - 2]) + w[t - 7] + ssig0(w[t - 15]) + w[t - 16];
    std::uint32_t s[8];
    std::memcpy(s, state, sizeof s);
    for (int t = 0; t < 64; ++t) sha256_round(s, K256[t] + w[t]);
    for (int i = 0; i < 8; ++i) state[i] += s[i];
  }
}

void sha1_compress_ref(std::uint32_t state[5], const std::uint8_t* p, std::size_t nblocks) {
  for (std::size_t blk = 0; blk < nblocks; ++blk, p += 64) {
    std::uint32_t w[80];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(p + 4 * t);
    for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
    for (int t = 0; t < 80; ++t) {
      std::uint32_t f, k;
      if (t < 20) {
        f = ch(b, c, d);
        k = K1[0];
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = K1[1];
      } else if (t < 60) {
        f = maj(b, c, d);
        k = K1[2];
      } else {
        f = b ^ c ^ d;
        k = K1[3];
      }
      std::uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = tmp;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
  }
}

void write_padding(std::uint8_t* out, std::size_t pad_len, std::uint64_t msg_len) {
  std::memset(out, 0, pad_len);
  out[0] = 0x80;
  std::uint64_t bits = msg_len * 8;
  for (int i = 0; i < 8; ++i) out[pad_len - 1 - i] = std::uint8_t(bits >> (8 * i));
}

}  // namespace hf::sha

#include "hashforge/target.hpp"

#include <cmath>
#include <cstring>

#include "hashforge/hex.hpp"
#include "sha_core.hpp"

namespace hf {

namespace {
Key key_from_be_bytes(const std::uint8_t b[32]) {
  Key k;
  for (int i = 0; i < 8; ++i) k.w[i] = sha::load_be32(b + 4 * i);
  return k;
}
}  // namespace

bool Key::is_zero() const {
  for (auto x : w)
    if (x) return false;
  return true;
}

std::string Key::hex() const {
  std::uint8_t b[32];
  for (int i = 0; i < 8; ++i) sha::store_be32(b + 4 * i, w[i]);
  return to_hex({b, 32});
}

std::string order_name(ByteOrder o) { return o == ByteOrder::bitcoin ? "bitcoin" : "digest"; }
bool parse_order(const std::string& s, ByteOrder* out) {
  if (s == "bitcoin") {
    *out = ByteOrder::bitcoin;
    return true;
  }
  if (s == "digest") {
    *out = ByteOrder::digest;
    return true;
  }
  return false;
}

Key key_of_words(const std::uint32_t h[8], ByteOrder o) {
  Key k;
  for (int i = 0; i < 8; ++i) k.w[i] = o == ByteOrder::digest ? h[i] : sha::bswap32(h[7 - i]);
  return k;
}

Key key_of(const Digest& d, ByteOrder o) {
  std::uint32_t h[8];
  for (int i = 0; i < 8; ++i) h[i] = sha::load_be32(d.bytes.data() + 4 * i);
  return key_of_words(h, o);
}

std::string target_from_hex(const std::string& s, Key* out) {
  std::string why;
  auto b = from_hex(s, &why);
  if (!b) return "target: " + why;
  if (b->size() != 32) return "target must be 64 hex digits (got " + std::to_string(s.size()) + ")";
  *out = key_from_be_bytes(b->data());
  if (out->is_zero()) return "target is zero: no hash can meet it";
  return {};
}

std::string target_from_compact(std::uint32_t bits, Key* out) {
  const int exp = static_cast<int>(bits >> 24);
  const std::uint32_t mant = bits & 0x007fffff;
  if (bits & 0x00800000) return "compact target has the sign bit set (negative)";
  std::uint8_t b[32] = {};
  // value = mant * 256^(exp-3): mantissa byte i (0 = least significant) lands at byte
  // position 31 - (exp - 3) - i of the big-endian array.
  for (int i = 0; i < 3; ++i) {
    std::uint8_t byte = std::uint8_t(mant >> (8 * i));
    int pos = 31 - (exp - 3) - i;
    if (pos < 0) {
      if (byte) return "compact target overflows 256 bits";
      continue;
    }
    if (pos <= 31) b[pos] = byte;
  }
  *out = key_from_be_bytes(b);
  if (out->is_zero()) return "compact target is zero: no hash can meet it";
  return {};
}

std::string target_from_difficulty(double d, Key* out) {
  if (!(d > 0) || !std::isfinite(d)) return "difficulty must be a positive number";
  // diff1 = 0xffff * 2^208; target = diff1 / d = (65535 / d) * 2^208.
  long double x = 65535.0L / static_cast<long double>(d);
  int e;
  long double frac = std::frexp(x, &e);  // x = frac * 2^e, frac in [0.5, 1)
  const int top = e - 1 + 208;           // bit index of the leading one
  if (top >= 256) {
    *out = Key::max();
    return {};
  }
  std::uint64_t mant = static_cast<std::uint64_t>(std::ldexp(frac, 64));  // top 64 bits
  std::uint8_t b[32] = {};
  // The mantissa's bit 63 goes to bit `top` of the number.
  for (int i = 0; i < 64; ++i) {
    if (!((mant >> (63 - i)) & 1)) continue;
    int bit = top - i;
    if (bit < 0) break;
    b[31 - bit / 8] |= std::uint8_t(1u << (bit % 8));
  }
  *out = key_from_be_bytes(b);
  if (out->is_zero()) return "difficulty too high: target is zero";
  return {};
}

int leading_zero_bits(const Key& k) {
  int n = 0;
  for (auto x : k.w) {
    if (x == 0) {
      n += 32;
      continue;
    }
    return n + __builtin_clz(x);
  }
  return 256;
}

}  // namespace hf

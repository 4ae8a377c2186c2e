// 256-bit comparison keys and targets.
//
// A digest is compared as a 256-bit number in one of two byte orders: Bitcoin's (the digest
// read as a little-endian number, as block hashes are displayed reversed) or digest order
// (big-endian, as sha256sum prints it). A Key holds that number as eight 32-bit words, most
// significant first, so keys compare lexicographically.
#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "hashforge/types.hpp"

namespace hf {

enum class ByteOrder : std::uint8_t { bitcoin, digest };

struct Key {
  std::array<std::uint32_t, 8> w{};
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend auto operator<=>(const Key&, const Key&) = default;
  static Key max() {
    Key k;
    k.w.fill(0xffffffffu);
    return k;
  }
  bool is_zero() const;
  std::string hex() const;  // the 256-bit number, 64 hex digits, most significant first
};

std::string order_name(ByteOrder o);
bool parse_order(const std::string& s, ByteOrder* out);

// Key of a 32-byte digest in the given order.
Key key_of(const Digest& d, ByteOrder o);
// Key of a digest given as big-endian state words H0..H7.
Key key_of_words(const std::uint32_t h[8], ByteOrder o);

// Targets. Each returns an error line or empty.
std::string target_from_hex(const std::string& hex64, Key* out);  // 256-bit number in hex
std::string target_from_compact(std::uint32_t bits, Key* out);    // Bitcoin nBits
std::string target_from_difficulty(double difficulty, Key* out);  // pool difficulty: diff1 / d

// Leading zero bits / hex digits of a key (the number, most significant first).
int leading_zero_bits(const Key& k);

}  // namespace hf

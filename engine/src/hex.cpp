#include "hashforge/hex.hpp"

#include <algorithm>

namespace hf {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string_view algo_name(Algo a) {
  switch (a) {
    case Algo::sha1:
      return "sha1";
    case Algo::sha256:
      return "sha256";
    case Algo::sha256d:
      return "sha256d";
  }
  return "?";
}

std::optional<Algo> parse_algo(std::string_view s) {
  if (s == "sha1") return Algo::sha1;
  if (s == "sha256") return Algo::sha256;
  if (s == "sha256d") return Algo::sha256d;
  return std::nullopt;
}

std::string Digest::hex() const { return to_hex(view()); }

std::string to_hex(ByteView b) {
  std::string out(b.size() * 2, '0');
  for (std::size_t i = 0; i < b.size(); ++i) {
    out[2 * i] = kDigits[b[i] >> 4];
    out[2 * i + 1] = kDigits[b[i] & 15];
  }
  return out;
}

std::string reversed_hex(ByteView b) {
  Bytes r(b.rbegin(), b.rend());
  return to_hex(r);
}

std::optional<Bytes> from_hex(std::string_view s, std::string* why) {
  if (s.size() % 2 != 0) {
    if (why) *why = "odd-length hex string (" + std::to_string(s.size()) + " characters)";
    return std::nullopt;
  }
  Bytes out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      if (why) *why = "invalid hex character at position " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1);
      return std::nullopt;
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace hf

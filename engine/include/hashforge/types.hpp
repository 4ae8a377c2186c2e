// Basic value types shared by the engine and its callers.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hf {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

enum class Algo : std::uint8_t { sha1, sha256, sha256d };

std::string_view algo_name(Algo a);
std::optional<Algo> parse_algo(std::string_view s);
constexpr std::size_t digest_size(Algo a) { return a == Algo::sha1 ? 20 : 32; }

// A digest of up to 32 bytes; `size` says how many are used (20 for SHA-1).
struct Digest {
  std::array<std::uint8_t, 32> bytes{};
  std::uint8_t size = 0;
  ByteView view() const { return {bytes.data(), size}; }
  std::string hex() const;
  friend bool operator==(const Digest& a, const Digest& b) {
    return a.size == b.size && a.view().size() == b.view().size() &&
           std::equal(a.bytes.begin(), a.bytes.begin() + a.size, b.bytes.begin());
  }
};

}  // namespace hf

#include "net/torrent/piece_check.hpp"

#include <algorithm>

#include "hashforge/engine.hpp"
#include "net/torrent/merkle.hpp"

namespace hf::torrent {

bool v1_piece_ok(std::span<const std::uint8_t> piece, const Sha1& expected) {
  const Digest d = Engine::instance().digest(Algo::sha1, ByteView(piece.data(), piece.size()));
  return std::equal(expected.begin(), expected.end(), d.bytes.begin());
}

std::vector<Sha256> block_hashes(std::span<const std::uint8_t> data) {
  std::vector<Sha256> out;
  out.reserve((data.size() + kBlockSize - 1) / kBlockSize);
  for (std::size_t at = 0; at < data.size(); at += kBlockSize) {
    const std::size_t n = std::min<std::size_t>(kBlockSize, data.size() - at);
    out.push_back(sha256_of(std::string_view(reinterpret_cast<const char*>(data.data()) + at, n)));
  }
  return out;
}

bool v2_piece_ok(std::span<const std::uint8_t> piece, std::uint64_t width_blocks, const Sha256& expected) {
  std::vector<Sha256> leaves = block_hashes(piece);
  if (leaves.empty() || leaves.size() > width_blocks) return false;
  // Blocks past the file's end are zero hashes (BEP 52), not hashes of zero bytes.
  return merkle_root(std::move(leaves), Sha256{}, static_cast<std::size_t>(width_blocks)) == expected;
}

std::uint64_t v2_single_piece_width(std::uint64_t file_length) {
  const std::uint64_t blocks = std::max<std::uint64_t>(1, (file_length + kBlockSize - 1) / kBlockSize);
  std::uint64_t w = 1;
  while (w < blocks) w <<= 1;
  return w;
}

std::vector<std::uint32_t> failing_blocks(std::span<const std::uint8_t> piece, const std::vector<Sha256>& expected) {
  const std::vector<Sha256> got = block_hashes(piece);
  std::vector<std::uint32_t> bad;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (i >= expected.size() || got[i] != expected[i]) bad.push_back(static_cast<std::uint32_t>(i));
  return bad;
}

}  // namespace hf::torrent

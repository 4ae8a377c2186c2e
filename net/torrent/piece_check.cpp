#include "net/torrent/piece_check.hpp"

#include <algorithm>
#include <cstring>

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

PieceVerifier::PieceVerifier(const Metainfo& m) : piece_length_(m.piece_length) {
  if (m.has_v1) v1_ = m.pieces;
  if (!m.has_v2) return;
  for (const FileEntry& f : m.files) {
    if (f.pad || f.length == 0) continue;
    if (!f.pieces_root || (f.length > m.piece_length && f.piece_layer.size() != 32 * ((f.length + m.piece_length - 1) / m.piece_length))) {
      if (m.has_v1) {  // a hybrid without its piece layers: the v1 hashes alone
        files_.clear();
        return;
      }
      unusable_ = "the torrent has no piece layers for its v2 files (fetching them from peers is not supported yet)";
      return;
    }
    files_.push_back({f.offset, f.length, *f.pieces_root, f.length > m.piece_length ? f.piece_layer : std::string()});
  }
}

bool PieceVerifier::ok(std::uint32_t piece, std::span<const std::uint8_t> data) const {
  if (!unusable_.empty()) return false;
  if (!v1_.empty()) {
    if (static_cast<std::uint64_t>(piece) * 20 + 20 > v1_.size()) return false;
    Sha1 expected{};
    std::memcpy(expected.data(), v1_.data() + std::size_t{piece} * 20, 20);
    if (!v1_piece_ok(data, expected)) return false;
  }
  return files_.empty() || v2_ok(piece, data);
}

bool PieceVerifier::v2_ok(std::uint32_t piece, std::span<const std::uint8_t> data) const {
  const std::uint64_t start = std::uint64_t{piece} * piece_length_;
  // The file this piece belongs to: the last one starting at or before it (files are
  // piece-aligned in v2, so a piece never spans two).
  auto it = std::upper_bound(files_.begin(), files_.end(), start,
                             [](std::uint64_t at, const File& f) { return at < f.offset; });
  if (it == files_.begin()) return false;
  const File& f = *--it;
  if (start >= f.offset + f.length) return false;  // a piece of nothing but a gap
  const std::uint64_t k = (start - f.offset) / piece_length_;
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), f.offset + f.length - start));
  if (std::any_of(data.begin() + static_cast<std::ptrdiff_t>(n), data.end(), [](std::uint8_t b) { return b != 0; }))
    return false;
  if (f.layer.empty()) return v2_piece_ok(data.first(n), v2_single_piece_width(f.length), f.root);
  Sha256 expected{};
  std::memcpy(expected.data(), f.layer.data() + 32 * k, 32);
  return v2_piece_ok(data.first(n), piece_length_ / kBlockSize, expected);
}

}  // namespace hf::torrent


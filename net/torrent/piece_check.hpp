// Checking a downloaded piece before it is written as complete or announced: v1 by the SHA-1
// in the info dictionary, v2 by the merkle root of its 16 KiB blocks against the piece layer
// (or the file's root for a file of one piece), and, when a v2 piece fails and its block
// hashes are known (BEP 52 hashes messages), which blocks are wrong, so the peer that sent
// them can be named. Hashing runs on the engine. Pure code.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "net/torrent/metainfo.hpp"

namespace hf::torrent {

bool v1_piece_ok(std::span<const std::uint8_t> piece, const Sha1& expected);

// The SHA-256 of each 16 KiB block of `data` (the last one shorter).
std::vector<Sha256> block_hashes(std::span<const std::uint8_t> data);

// `piece` is one piece of a v2 file (the file's last piece may be short). `width_blocks` is
// the subtree's width in blocks: piece_length / 16 KiB, or for a file of a single piece the
// next power of two of its block count (its root is then the file's pieces root).
bool v2_piece_ok(std::span<const std::uint8_t> piece, std::uint64_t width_blocks, const Sha256& expected);
std::uint64_t v2_single_piece_width(std::uint64_t file_length);

// Blocks of `piece` whose hash differs from `expected` (one per block of the piece).
std::vector<std::uint32_t> failing_blocks(std::span<const std::uint8_t> piece, const std::vector<Sha256>& expected);

// A client's check of whole pieces of the wire stream (Metainfo::wire_length) as they
// arrive: the v1 SHA-1 where the torrent has v1 hashes, the v2 merkle root of the piece's
// blocks where it has v2 ones (a hybrid's piece must pass both), and a v2 piece's bytes past
// its file's end (the gap to the next piece) must be zeros.
class PieceVerifier {
 public:
  explicit PieceVerifier(const Metainfo& m);
  // Empty when every piece can be checked; else why not (v2 files longer than a piece
  // without piece layers, as a magnet link gives them before BEP 52 hash requests).
  const std::string& unusable() const { return unusable_; }
  bool ok(std::uint32_t piece, std::span<const std::uint8_t> data) const;

 private:
  struct File {
    std::uint64_t offset = 0, length = 0;
    Sha256 root{};
    std::string layer;  // 32 bytes a piece; empty for a file of one piece
  };
  bool v2_ok(std::uint32_t piece, std::span<const std::uint8_t> data) const;

  std::uint64_t piece_length_ = 0;
  std::string v1_;             // 20 bytes a piece, empty without v1
  std::vector<File> files_;    // v2 files with data, by offset; empty without v2
  std::string unusable_;
};

}  // namespace hf::torrent

// Checking a downloaded piece before it is written as complete or announced: v1 by the SHA-1
// in the info dictionary, v2 by the merkle root of its 16 KiB blocks against the piece layer
// (or the file's root for a file of one piece), and, when a v2 piece fails and its block
// hashes are known (BEP 52 hashes messages), which blocks are wrong, so the peer that sent
// them can be named. Hashing runs on the engine. Pure code.
#pragma once
#include <cstdint>
#include <span>
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

}  // namespace hf::torrent

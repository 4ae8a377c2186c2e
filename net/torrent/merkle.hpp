// BEP 52 merkle trees: a file's leaves are the SHA-256 of its 16 KiB blocks (the last one
// shorter), padded past the file's end with zero hashes up to a power of two; each inner node
// is the SHA-256 of its two children. A piece layer is the level where one node covers one
// piece; it is padded (to a power of two) with the root of an all-zero piece subtree, not with
// zero bytes. Pure code.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "net/torrent/metainfo.hpp"

namespace hf::torrent {

inline constexpr std::uint64_t kBlockSize = 16 * 1024;

Sha256 sha256_of(std::string_view bytes);
// The root over `nodes`, padded with `pad` up to `width` (a power of two, at least
// nodes.size(); 0 for the next power of two).
Sha256 merkle_root(std::vector<Sha256> nodes, const Sha256& pad, std::size_t width = 0);
// The root of a subtree of `leaves` zero leaves (a power of two).
Sha256 zero_subtree_root(std::uint64_t leaves);
// A file's root from its piece layer (one hash per piece, `piece_length` a power of two of
// at least 16 KiB).
Sha256 root_from_piece_layer(const std::vector<Sha256>& layer, std::uint64_t piece_length);

}  // namespace hf::torrent

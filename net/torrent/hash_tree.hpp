// One v2 file's merkle tree above its piece layer (BEP 52), built once from the piece layer
// a .torrent carries, to answer peers' hash requests: the hashes asked for in one layer and
// the uncle hashes that prove them against the file's root. Layers are numbered from the
// 16 KiB leaves (0); the piece layer is log2(piece length / 16 KiB). Layers below the piece
// layer need the data itself and are not answered from here. Pure code.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/torrent/metainfo.hpp"

namespace hf::torrent {

class HashTree {
 public:
  // `piece_layer`: 32 bytes a piece, as in the torrent's "piece layers" (the file is longer
  // than one piece). The layer is padded to a power of two with all-zero piece subtrees.
  HashTree(const std::string& piece_layer, std::uint64_t piece_length);

  std::uint32_t piece_layer() const { return base_; }
  std::uint32_t top_layer() const { return base_ + static_cast<std::uint32_t>(layers_.size()) - 1; }  // the root's
  const Sha256& root() const { return layers_.back().front(); }
  // A node at the piece layer or above (index within the padded layer).
  const Sha256& node(std::uint32_t layer, std::uint64_t index) const { return layers_[layer - base_][index]; }
  std::uint64_t width(std::uint32_t layer) const { return layers_[layer - base_].size(); }

  // The answer to a hash request for `length` hashes of `layer` from `index`, with uncle
  // hashes for `proof_layers` layers above it (BEP 52: the layers the span itself covers
  // count but send nothing; the uncle nearest the root comes last). Empty: the request is
  // malformed (length not a power of two from 2 to 512, index not a multiple of it, past
  // the layer's end) or below the piece layer.
  std::optional<std::vector<Sha256>> answer(std::uint32_t layer, std::uint32_t index, std::uint32_t length,
                                            std::uint32_t proof_layers) const;

 private:
  std::uint32_t base_ = 0;
  std::vector<std::vector<Sha256>> layers_;  // from the piece layer (padded) up to the root
};

}  // namespace hf::torrent

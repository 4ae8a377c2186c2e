#include "net/torrent/hash_tree.hpp"

#include <cstring>

#include "hashforge/engine.hpp"
#include "net/torrent/merkle.hpp"

namespace hf::torrent {

HashTree::HashTree(const std::string& piece_layer, std::uint64_t piece_length) {
  for (std::uint64_t w = piece_length / kBlockSize; w > 1; w /= 2) ++base_;
  std::vector<Sha256> level(piece_layer.size() / 32);
  for (std::size_t i = 0; i < level.size(); ++i) std::memcpy(level[i].data(), piece_layer.data() + 32 * i, 32);
  std::size_t width = 1;
  while (width < level.size()) width *= 2;
  level.resize(width, zero_subtree_root(piece_length / kBlockSize));
  layers_.push_back(std::move(level));
  static_assert(sizeof(Sha256) == 32, "layers are read as packed 32-byte digests");
  while (layers_.back().size() > 1) {
    const auto& below = layers_.back();
    std::vector<Sha256> up(below.size() / 2);
    Engine::instance().hash_pairs(below.front().data(), up.size(), up.front().data());
    layers_.push_back(std::move(up));
  }
}

std::optional<std::vector<Sha256>> HashTree::answer(std::uint32_t layer, std::uint32_t index, std::uint32_t length,
                                                    std::uint32_t proof_layers) const {
  if (layer < base_ || layer > top_layer()) return std::nullopt;
  const auto& row = layers_[layer - base_];
  if (length < 2 || length > 512 || (length & (length - 1)) != 0 || index % length != 0) return std::nullopt;
  if (static_cast<std::uint64_t>(index) + length > row.size()) return std::nullopt;
  std::vector<Sha256> out(row.begin() + index, row.begin() + index + length);
  // The span covers log2(length) layers above it by itself; the uncles start there.
  std::uint32_t covered = 0;
  while ((1u << covered) < length) ++covered;
  for (std::uint32_t i = covered; i <= proof_layers && layer + i < top_layer(); ++i) {
    const auto& up = layers_[layer + i - base_];
    out.push_back(up[(index >> i) ^ 1]);
  }
  return out;
}

}  // namespace hf::torrent

#include "net/torrent/merkle.hpp"

#include <algorithm>
#include <cstring>

#include "hashforge/engine.hpp"

namespace hf::torrent {

Sha256 sha256_of(std::string_view bytes) {
  Digest d = Engine::instance().digest(Algo::sha256,
                                       ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  Sha256 out{};
  std::copy_n(d.bytes.begin(), 32, out.begin());
  return out;
}

Sha256 merkle_root(std::vector<Sha256> nodes, const Sha256& pad, std::size_t width) {
  std::size_t w = 1;
  while (w < std::max<std::size_t>(nodes.size(), width)) w *= 2;
  nodes.resize(std::max<std::size_t>(w, 1), pad);
  // Each layer in place over the one below: the engine hashes the pairs as 64-byte messages.
  static_assert(sizeof(Sha256) == 32, "layers are read as packed 32-byte digests");
  std::uint8_t* layer = nodes.front().data();
  for (std::size_t n = nodes.size() / 2; n >= 1; n /= 2) Engine::instance().hash_pairs(layer, n, layer);
  return nodes[0];
}

Sha256 zero_subtree_root(std::uint64_t leaves) {
  std::uint8_t pair[64] = {};  // two zero leaves
  for (std::uint64_t n = leaves; n > 1; n /= 2) {
    Engine::instance().hash_pairs(pair, 1, pair);
    std::memcpy(pair + 32, pair, 32);
  }
  Sha256 node;
  std::memcpy(node.data(), pair, 32);
  return node;
}

Sha256 root_from_piece_layer(const std::vector<Sha256>& layer, std::uint64_t piece_length) {
  return merkle_root(layer, zero_subtree_root(piece_length / kBlockSize));
}

}  // namespace hf::torrent

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
  char pair[64];
  while (nodes.size() > 1) {
    for (std::size_t i = 0; i < nodes.size() / 2; ++i) {
      std::memcpy(pair, nodes[2 * i].data(), 32);
      std::memcpy(pair + 32, nodes[2 * i + 1].data(), 32);
      nodes[i] = sha256_of(std::string_view(pair, 64));
    }
    nodes.resize(nodes.size() / 2);
  }
  return nodes[0];
}

Sha256 zero_subtree_root(std::uint64_t leaves) {
  Sha256 node{};  // a zero leaf
  char pair[64];
  for (std::uint64_t n = leaves; n > 1; n /= 2) {
    std::memcpy(pair, node.data(), 32);
    std::memcpy(pair + 32, node.data(), 32);
    node = sha256_of(std::string_view(pair, 64));
  }
  return node;
}

Sha256 root_from_piece_layer(const std::vector<Sha256>& layer, std::uint64_t piece_length) {
  return merkle_root(layer, zero_subtree_root(piece_length / kBlockSize));
}

}  // namespace hf::torrent

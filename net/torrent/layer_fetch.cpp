#include "net/torrent/layer_fetch.hpp"

#include <algorithm>
#include <cstring>

#include "net/torrent/merkle.hpp"

namespace hf::torrent {

namespace {

std::uint32_t log2_of(std::uint64_t power_of_two) {
  std::uint32_t n = 0;
  while ((std::uint64_t{1} << n) < power_of_two) ++n;
  return n;
}

Sha256 parent(const Sha256& left, const Sha256& right) {
  char pair[64];
  std::memcpy(pair, left.data(), 32);
  std::memcpy(pair + 32, right.data(), 32);
  return sha256_of(std::string_view(pair, 64));
}

}  // namespace

LayerFetch::LayerFetch(const Metainfo& m, double timeout)
    : base_(log2_of(m.piece_length / kBlockSize)), pad_(zero_subtree_root(m.piece_length / kBlockSize)), timeout_(timeout) {
  for (const auto& f : m.files) {
    if (f.pad || !f.pieces_root || f.length <= m.piece_length) continue;
    File x;
    x.root = *f.pieces_root;
    x.pieces = (f.length + m.piece_length - 1) / m.piece_length;
    x.height = log2_of(x.pieces);
    x.span = static_cast<std::uint32_t>(std::min<std::uint64_t>(512, std::uint64_t{1} << x.height));
    x.layer.assign(x.pieces * 32, '\0');
    x.got.assign((x.pieces + x.span - 1) / x.span, false);
    files_.push_back(std::move(x));
  }
}

bool LayerFetch::done() const {
  for (const auto& f : files_)
    if (std::find(f.got.begin(), f.got.end(), false) != f.got.end()) return false;
  return true;
}

void LayerFetch::remove_peer(PeerKey k) {
  peers_.erase(k);
  for (auto it = asked_.begin(); it != asked_.end();) it = it->second.peer == k ? asked_.erase(it) : std::next(it);
}

wire::HashSpan LayerFetch::span_of(const Key& key) const {
  const File& f = files_[key.first];
  wire::HashSpan s;
  s.pieces_root = f.root;
  s.base_layer = base_;
  s.index = key.second * f.span;
  s.length = f.span;
  // Uncles from where the span's own subtree ends up to just below the root.
  s.proof_layers = f.span == (std::uint64_t{1} << f.height) ? 0 : f.height - 1;
  return s;
}

std::vector<LayerFetch::Request> LayerFetch::take_requests(double now) {
  std::vector<Request> out;
  if (peers_.empty()) return out;
  std::map<PeerKey, std::size_t> load;
  for (const auto& [key, a] : asked_) ++load[a.peer];
  for (std::size_t i = 0; i < files_.size(); ++i)
    for (std::uint32_t c = 0; c < files_[i].got.size(); ++c) {
      const Key key{i, c};
      if (files_[i].got[c] || asked_.count(key)) continue;
      const auto& no = refused_[key];
      PeerKey best = 0;
      bool found = false;
      for (PeerKey k : peers_)
        if (!no.count(k) && load[k] < 8 && (!found || load[k] < load[best])) best = k, found = true;
      if (!found) continue;
      ++load[best];
      asked_[key] = {best, now};
      out.push_back({best, span_of(key)});
    }
  return out;
}

std::string LayerFetch::on_hashes(PeerKey k, const wire::HashSpan& s, std::string_view hashes) {
  for (std::size_t i = 0; i < files_.size(); ++i) {
    File& f = files_[i];
    if (f.root != s.pieces_root || s.base_layer != base_ || s.length != f.span || s.index % f.span != 0) continue;
    const Key key{i, s.index / f.span};
    auto it = asked_.find(key);
    if (it == asked_.end() || it->second.peer != k) return {};
    asked_.erase(it);
    const std::uint32_t covered = log2_of(f.span);
    const std::size_t uncles = f.height - covered;
    if (hashes.size() != (f.span + uncles) * 32) {
      refused_[key].insert(k);  // not what was asked: another peer may do better
      return {};
    }
    std::vector<Sha256> span(f.span);
    for (std::uint32_t j = 0; j < f.span; ++j) std::memcpy(span[j].data(), hashes.data() + 32 * j, 32);
    Sha256 node = merkle_root(span, pad_, f.span);
    std::uint64_t at = key.second;
    for (std::size_t u = 0; u < uncles; ++u, at >>= 1) {
      Sha256 uncle;
      std::memcpy(uncle.data(), hashes.data() + 32 * (f.span + u), 32);
      node = (at & 1) ? parent(uncle, node) : parent(node, uncle);
    }
    if (node != f.root) {
      refused_[key].insert(k);
      return "piece-layer hashes that do not prove against the file's root";
    }
    const std::uint64_t first = std::uint64_t{key.second} * f.span;
    const std::uint64_t n = std::min<std::uint64_t>(f.span, f.pieces - first);
    std::memcpy(f.layer.data() + first * 32, hashes.data(), n * 32);
    // Past the file's last piece the span must hold pads: the root proved them already.
    f.got[key.second] = true;
    return {};
  }
  return {};
}

void LayerFetch::on_reject(PeerKey k, const wire::HashSpan& s) {
  for (auto it = asked_.begin(); it != asked_.end(); ++it) {
    const wire::HashSpan want = span_of(it->first);
    if (it->second.peer == k && want.pieces_root == s.pieces_root && want.index == s.index &&
        want.base_layer == s.base_layer) {
      refused_[it->first].insert(k);
      asked_.erase(it);
      return;
    }
  }
}

void LayerFetch::tick(double now) {
  for (auto it = asked_.begin(); it != asked_.end();) {
    if (now - it->second.at < timeout_) {
      ++it;
      continue;
    }
    refused_[it->first].insert(it->second.peer);
    it = asked_.erase(it);
  }
  // Every peer said no to some span: they may have the layers by now; ask again.
  for (auto& entry : refused_) {
    std::set<PeerKey>& no = entry.second;
    if (!no.empty() && std::all_of(peers_.begin(), peers_.end(), [&no](PeerKey p) { return no.count(p) != 0; }))
      no.clear();
  }
}

std::map<Sha256, std::string> LayerFetch::layers() const {
  std::map<Sha256, std::string> out;
  for (const auto& f : files_) out[f.root] = f.layer;
  return out;
}

std::uint32_t LayerFetch::spans() const {
  std::uint32_t n = 0;
  for (const auto& f : files_) n += static_cast<std::uint32_t>(f.got.size());
  return n;
}

std::uint32_t LayerFetch::spans_got() const {
  std::uint32_t n = 0;
  for (const auto& f : files_) n += static_cast<std::uint32_t>(std::count(f.got.begin(), f.got.end(), true));
  return n;
}

}  // namespace hf::torrent

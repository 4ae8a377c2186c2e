#include "net/torrent/dht_routing.hpp"

#include <algorithm>
#include <random>

#include "net/torrent/bencode.hpp"

namespace hf::torrent::dht {

namespace {

bool same_host(const PeerAddr& a, const PeerAddr& b) { return a.v6 == b.v6 && a.ip == b.ip; }

bool questionable(const RoutingNode& n, std::int64_t now) {
  return !n.confirmed || now - n.last_seen >= RoutingTable::kQuestionableMs || n.fails > 0;
}

RoutingNode fresh(const NodeEntry& n, std::int64_t now, bool confirmed) {
  RoutingNode r;
  r.id = n.id;
  r.addr = n.addr;
  r.last_seen = now;
  r.confirmed = confirmed;
  return r;
}

}  // namespace

RoutingTable::RoutingTable(NodeId self, std::size_t k) : self_(self), k_(k == 0 ? 1 : k) { buckets_.resize(1); }

std::size_t RoutingTable::bucket_index(const NodeId& id) const {
  return std::min<std::size_t>(static_cast<std::size_t>(common_prefix_bits(self_, id)), buckets_.size() - 1);
}

RoutingNode* RoutingTable::find(const NodeId& id, std::size_t* bucket) {
  const std::size_t i = bucket_index(id);
  if (bucket) *bucket = i;
  for (auto& n : buckets_[i].nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

bool RoutingTable::contains(const NodeId& id) const {
  return const_cast<RoutingTable*>(this)->find(id) != nullptr;
}

bool RoutingTable::address_taken(const PeerAddr& addr, const NodeId& id) const {
  // Loopback nodes are local processes on distinct ports: keyed by address and port.
  const bool loop = tracker::is_loopback(addr);
  for (const auto& b : buckets_) {
    for (const auto& n : b.nodes) {
      if (n.id == id) continue;
      if (loop ? n.addr == addr : same_host(n.addr, addr)) return true;
    }
  }
  return false;
}

void RoutingTable::split_last() {
  const std::size_t last = buckets_.size() - 1;
  buckets_.emplace_back();
  Bucket& old = buckets_[last];
  Bucket& added = buckets_.back();
  added.last_changed = old.last_changed;
  auto move_deeper = [&](std::vector<RoutingNode>& from, std::vector<RoutingNode>& to) {
    auto keep = std::stable_partition(from.begin(), from.end(), [&](const RoutingNode& n) {
      return static_cast<std::size_t>(common_prefix_bits(self_, n.id)) == last;
    });
    to.insert(to.end(), keep, from.end());
    from.erase(keep, from.end());
  };
  move_deeper(old.nodes, added.nodes);
  move_deeper(old.replacements, added.replacements);
  // The stayers may now have room: fill it from their replacements.
  for (Bucket* b : {&old, &added}) {
    while (b->nodes.size() < k_ && !b->replacements.empty()) {
      b->nodes.push_back(b->replacements.back());
      b->replacements.pop_back();
    }
    while (b->nodes.size() > k_) {
      b->replacements.push_back(b->nodes.back());
      b->nodes.pop_back();
    }
    if (b->replacements.size() > k_) b->replacements.erase(b->replacements.begin(), b->replacements.end() - k_);
  }
}

std::optional<NodeEntry> RoutingTable::heard(const NodeEntry& n, std::int64_t now, bool confirmed) {
  if (n.id == self_ || n.addr.port == 0) return std::nullopt;
  std::size_t bi = 0;
  if (RoutingNode* known = find(n.id, &bi)) {
    if (!(known->addr == n.addr)) {
      // The same id from another address: a node that moved, or someone claiming its id.
      // Only an entry that has stopped answering gives way.
      if (known->confirmed && !known->bad()) return std::nullopt;
      if (address_taken(n.addr, n.id)) return std::nullopt;
      known->addr = n.addr;
    }
    known->last_seen = now;
    if (confirmed) {
      known->confirmed = true;
      known->fails = 0;
      buckets_[bi].last_changed = now;
    }
    return std::nullopt;
  }
  if (address_taken(n.addr, n.id)) return std::nullopt;
  for (;;) {
    Bucket& b = buckets_[bi];
    if (b.nodes.size() < k_) {
      b.nodes.push_back(fresh(n, now, confirmed));
      b.last_changed = now;
      std::erase_if(b.replacements, [&](const RoutingNode& r) { return r.id == n.id; });
      return std::nullopt;
    }
    if (confirmed) {
      auto bad = std::find_if(b.nodes.begin(), b.nodes.end(), [](const RoutingNode& r) { return r.bad(); });
      if (bad != b.nodes.end()) {
        *bad = fresh(n, now, confirmed);
        b.last_changed = now;
        std::erase_if(b.replacements, [&](const RoutingNode& r) { return r.id == n.id; });
        return std::nullopt;
      }
    }
    if (bi == buckets_.size() - 1 && buckets_.size() < 160) {
      split_last();
      bi = bucket_index(n.id);
      continue;
    }
    // Full: the newcomer waits among the replacements; a questionable member is pinged.
    std::erase_if(b.replacements, [&](const RoutingNode& r) { return r.id == n.id || same_host(r.addr, n.addr); });
    b.replacements.push_back(fresh(n, now, confirmed));
    if (b.replacements.size() > k_) b.replacements.erase(b.replacements.begin());
    const RoutingNode* ping = nullptr;
    for (const auto& r : b.nodes) {
      if (!questionable(r, now) || now - r.last_queried < 5000) continue;
      if (!ping || r.last_seen < ping->last_seen) ping = &r;
    }
    if (ping) return NodeEntry{ping->id, ping->addr};
    return std::nullopt;
  }
}

void RoutingTable::failed(const NodeId& id, const PeerAddr& addr) {
  std::size_t bi = 0;
  RoutingNode* n = find(id, &bi);
  Bucket& b = buckets_[bi];
  if (!n) {
    std::erase_if(b.replacements, [&](const RoutingNode& r) { return r.id == id && r.addr == addr; });
    return;
  }
  if (!(n->addr == addr)) return;
  ++n->fails;
  if (!n->bad()) return;
  // The freshest replacement that has answered us, else the freshest one.
  auto pick = std::find_if(b.replacements.rbegin(), b.replacements.rend(),
                           [](const RoutingNode& r) { return r.confirmed; });
  if (pick == b.replacements.rend() && !b.replacements.empty()) pick = b.replacements.rbegin();
  if (pick != b.replacements.rend()) {
    *n = *pick;
    b.replacements.erase(std::next(pick).base());
    return;
  }
  // Nothing to replace it with: keep it a while (it may be back), but not forever.
  if (n->fails >= 5) b.nodes.erase(b.nodes.begin() + (n - b.nodes.data()));
}

void RoutingTable::queried(const NodeId& id, std::int64_t now) {
  if (RoutingNode* n = find(id)) n->last_queried = now;
}

std::vector<NodeEntry> RoutingTable::closest(const NodeId& target, std::size_t count) const {
  std::vector<std::pair<NodeId, const RoutingNode*>> all;
  all.reserve(size());
  for (const auto& b : buckets_) {
    for (const auto& n : b.nodes) {
      if (!n.bad()) all.emplace_back(distance(n.id, target), &n);
    }
  }
  const std::size_t m = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m), all.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<NodeEntry> out;
  out.reserve(m);
  for (std::size_t i = 0; i < m; ++i) out.push_back({all[i].second->id, all[i].second->addr});
  return out;
}

std::vector<NodeEntry> RoutingTable::stale(std::int64_t now, std::size_t max) const {
  std::vector<NodeEntry> out;
  for (const auto& b : buckets_) {
    for (const auto& n : b.nodes) {
      if (out.size() >= max) return out;
      if (now - n.last_seen >= kQuestionableMs && now - n.last_queried >= 60'000) out.push_back({n.id, n.addr});
    }
  }
  return out;
}

std::vector<NodeId> RoutingTable::refresh_targets(std::int64_t now, std::uint64_t random_seed, bool all) {
  std::mt19937_64 rng(random_seed);
  std::vector<NodeId> out;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    if (!all && now - b.last_changed < kRefreshMs) continue;
    b.last_changed = now;
    NodeId t;
    for (auto& byte : t) byte = static_cast<std::uint8_t>(rng());
    // The first i bits ours; bit i flipped unless this is the last bucket (which holds
    // every id sharing i or more bits).
    for (std::size_t bit = 0; bit < i && bit < 160; ++bit) {
      const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
      t[bit / 8] = static_cast<std::uint8_t>((t[bit / 8] & ~mask) | (self_[bit / 8] & mask));
    }
    if (i + 1 < buckets_.size() && i < 160) {
      const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (i % 8));
      t[i / 8] = static_cast<std::uint8_t>((t[i / 8] & ~mask) | (~self_[i / 8] & mask));
    }
    out.push_back(t);
  }
  return out;
}

std::size_t RoutingTable::size() const {
  std::size_t n = 0;
  for (const auto& b : buckets_) n += b.nodes.size();
  return n;
}

std::size_t RoutingTable::replacement_count() const {
  std::size_t n = 0;
  for (const auto& b : buckets_) n += b.replacements.size();
  return n;
}

std::size_t RoutingTable::memory_bytes() const {
  std::size_t n = buckets_.capacity() * sizeof(Bucket);
  for (const auto& b : buckets_) n += (b.nodes.capacity() + b.replacements.capacity()) * sizeof(RoutingNode);
  return n;
}

std::string RoutingTable::save() const {
  std::vector<NodeEntry> all;
  for (const auto& b : buckets_) {
    for (const auto& n : b.nodes) {
      if (!n.bad()) all.push_back({n.id, n.addr});
    }
  }
  BValue d = BValue::dict();
  d.set("id", BValue::string(id_bytes(self_)));
  d.set("nodes", BValue::string(compact_nodes(all, false)));
  d.set("nodes6", BValue::string(compact_nodes(all, true)));
  return bencode(d);
}

std::optional<std::pair<NodeId, std::vector<NodeEntry>>> RoutingTable::load(std::string_view bytes) {
  auto r = bdecode(bytes);
  if (!r.value || !r.value->is_dict()) return std::nullopt;
  const BValue* id = r.value->find("id");
  if (!id || !id->is_string() || id->as_string().size() != 20) return std::nullopt;
  std::vector<NodeEntry> nodes;
  for (const bool v6 : {false, true}) {
    const BValue* v = r.value->find(v6 ? "nodes6" : "nodes");
    if (!v) continue;
    if (!v->is_string()) return std::nullopt;
    auto got = parse_compact_nodes(v->as_string(), v6, 100000);
    if (!got) return std::nullopt;
    nodes.insert(nodes.end(), got->begin(), got->end());
  }
  return std::make_pair(node_id_from(id->as_string()), std::move(nodes));
}

}  // namespace hf::torrent::dht

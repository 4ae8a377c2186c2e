#include "net/torrent/dht_sim.hpp"

namespace hf::torrent::dht {

SimNetwork::SimNetwork(Options opt, std::uint64_t seed) : opt_(std::move(opt)), rng_(seed) {}

std::uint64_t SimNetwork::key(const PeerAddr& a) const {
  std::uint64_t k = a.port;
  for (int i = 0; i < 4; ++i) k = (k << 8) | a.ip[static_cast<std::size_t>(i)];
  return k;
}

std::size_t SimNetwork::add_node() {
  const std::size_t i = nodes_.size();
  // 10.0.0.1 onward: one address per node, as the table's one-entry-per-IP rule expects.
  const std::uint32_t host = 0x0A000001u + static_cast<std::uint32_t>(i);
  Entry e;
  e.addr = tracker::v4_addr(host, 6881);
  DhtConfig cfg = opt_.node;
  for (auto& b : cfg.id) b = static_cast<std::uint8_t>(rng_());
  cfg.v6 = false;
  e.node = std::make_unique<DhtNode>(cfg, rng_());
  by_addr_[key(e.addr)] = i;
  nodes_.push_back(std::move(e));
  return i;
}

void SimNetwork::join(std::size_t i, std::size_t via) {
  nodes_[i].node->bootstrap({nodes_[via].addr}, now_);
  collect(i);
}

void SimNetwork::add_raw(const PeerAddr& addr, Handler h) { raw_[key(addr)] = std::move(h); }

void SimNetwork::send_raw(const PeerAddr& from, const PeerAddr& to, std::string bytes) {
  std::uniform_int_distribution<std::int64_t> jit(0, opt_.jitter_ms);
  queue_.push({now_ + opt_.latency_ms + jit(rng_), seq_++, from, to, std::move(bytes)});
}

void SimNetwork::collect(std::size_t i) {
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& d : nodes_[i].node->take_outgoing()) {
    if (opt_.loss > 0 && u(rng_) < opt_.loss) continue;
    send_raw(nodes_[i].addr, d.to, std::move(d.bytes));
  }
}

bool SimNetwork::run(const std::function<bool()>& done, std::int64_t max_ms) {
  const std::int64_t end = now_ + max_ms;
  while (!done()) {
    const std::int64_t next_tick = ticked_ + opt_.tick_ms;
    if (!queue_.empty() && queue_.top().at <= next_tick) {
      Event ev = queue_.top();
      queue_.pop();
      if (ev.at > end) return done();
      now_ = std::max(now_, ev.at);
      ++delivered_;
      if (auto r = raw_.find(key(ev.to)); r != raw_.end()) {
        r->second(ev.from, ev.bytes);
        continue;
      }
      auto it = by_addr_.find(key(ev.to));
      if (it == by_addr_.end()) continue;  // nobody there: the datagram is lost
      nodes_[it->second].node->receive(ev.from, ev.bytes, now_);
      collect(it->second);
      continue;
    }
    if (next_tick > end) return done();
    now_ = std::max(now_, next_tick);
    ticked_ = next_tick;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i].node->tick(now_);
      collect(i);
    }
  }
  return true;
}

}  // namespace hf::torrent::dht

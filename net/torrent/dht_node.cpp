#include "net/torrent/dht_node.hpp"

#include <algorithm>
#include <cstring>
#include <set>

namespace hf::torrent::dht {

namespace {

constexpr std::int64_t kSecretMs = 5 * 60 * 1000;
constexpr std::int64_t kMaintainMs = 1000;
constexpr std::int64_t kBootstrapRetryMs = 30'000;
constexpr std::int64_t kExpireEveryMs = 60'000;
// A lookup ends after this many queries or this long whatever its nodes answer: hostile
// nodes handing out ever-closer made-up contacts cannot keep one going.
constexpr std::size_t kLookupMaxQueriesPerK = 16;
constexpr std::int64_t kLookupMaxMs = 60'000;
constexpr std::size_t kLookupMaxPeers = 2000;
constexpr std::size_t kMaxAnnouncesPerIp = 100;

std::string addr_key(const PeerAddr& a) {
  std::string k(reinterpret_cast<const char*>(a.ip.data()), a.ip.size());
  k += static_cast<char>(a.v6);
  k += static_cast<char>(a.port >> 8);
  k += static_cast<char>(a.port & 0xff);
  return k;
}

Message error_reply(const std::string& tid, int code, std::string text) {
  Message e;
  e.kind = Kind::error;
  e.tid = tid;
  e.error_code = code;
  e.error_message = std::move(text);
  return e;
}

std::string host_key(const PeerAddr& a) {
  std::string k(reinterpret_cast<const char*>(a.ip.data()), a.ip.size());
  k += static_cast<char>(a.v6);
  return k;
}

}  // namespace

struct DhtNode::Pending {
  PeerAddr to;
  NodeId id{};
  bool id_known = false;
  std::uint64_t lookup = 0;
  std::int64_t sent = 0;
  bool slow = false;
};

struct DhtNode::Lookup {
  enum class St : std::uint8_t { fresh, asked, slow, answered, failed };
  struct Cand {
    NodeEntry node;
    NodeId dist{};
    bool id_known = true;
    St st = St::fresh;
    std::string token;
  };
  std::uint64_t id = 0;
  NodeId target{};
  bool peers = false;  // get_peers, else find_node
  std::uint16_t port = 0;
  bool implied = false;
  PeersFn on_peers;
  DoneFn on_done;
  std::vector<Cand> cands;  // nearest first; unknown ids (bootstrap addresses) at the front
  std::set<std::string> seen_addrs, seen_peers;
  LookupResult res;
  std::int64_t started = 0;
  bool finished = false;

  Cand* find(const PeerAddr& a) {
    for (auto& c : cands) {
      if (c.node.addr == a) return &c;
    }
    return nullptr;
  }
  void add(const NodeEntry& n, bool id_known) {
    if (!seen_addrs.insert(addr_key(n.addr)).second) return;
    Cand c;
    c.node = n;
    c.id_known = id_known;
    if (id_known) c.dist = distance(n.id, target);
    cands.push_back(std::move(c));
  }
  void sort() {
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.dist < b.dist; });
  }
};

DhtNode::DhtNode(DhtConfig cfg, std::uint64_t seed) : cfg_(std::move(cfg)), table_(cfg_.id, cfg_.k), rng_(seed) {
  secret_ = rng_();
  old_secret_ = rng_();
  secret_at_ = -1;
  total_rate_.tokens = cfg_.total_burst;
}

DhtNode::~DhtNode() = default;

DhtStats DhtNode::stats() const {
  DhtStats s = stats_;
  s.table = table_.size();
  s.replacements = table_.replacement_count();
  s.buckets = table_.bucket_count();
  s.pending = pending_.size();
  s.lookups = lookups_.size();
  s.infohashes = peers_.size();
  s.peers_stored = 0;
  for (const auto& [h, v] : peers_) s.peers_stored += v.size();
  return s;
}

std::vector<Datagram> DhtNode::take_outgoing() {
  std::vector<Datagram> out;
  out.swap(out_);
  return out;
}

void DhtNode::send_query(Message q, const PeerAddr& to, const NodeId* id, std::uint64_t lookup, std::int64_t now) {
  q.kind = Kind::query;
  q.id = cfg_.id;
  q.version = cfg_.version;
  // Random 4-byte transaction ids: an off-path sender cannot guess one to slip in an answer
  // (and the answer must come from the address asked besides).
  do {
    const std::uint32_t r = static_cast<std::uint32_t>(rng_());
    q.tid.assign(reinterpret_cast<const char*>(&r), 4);
  } while (pending_.count(q.tid));
  Pending p;
  p.to = to;
  if (id) {
    p.id = *id;
    p.id_known = true;
    table_.queried(*id, now);
  }
  p.lookup = lookup;
  p.sent = now;
  out_.push_back({to, encode(q)});
  pending_.emplace(q.tid, p);
  ++stats_.queries_out;
}

void DhtNode::reply(const PeerAddr& to, Message m) {
  m.version = cfg_.version;
  out_.push_back({to, encode(m)});
}

void DhtNode::heard(const NodeEntry& n, std::int64_t now, bool confirmed) {
  if (n.addr.v6 != cfg_.v6) return;
  if (auto ping = table_.heard(n, now, confirmed)) {
    Message q;
    q.method = Method::ping;
    send_query(std::move(q), ping->addr, &ping->id, 0, now);
  }
}

void DhtNode::ping(const PeerAddr& addr, std::int64_t now) {
  if (addr.v6 != cfg_.v6 || addr.port == 0 || pending_.size() >= cfg_.max_pending) return;
  Message q;
  q.method = Method::ping;
  send_query(std::move(q), addr, nullptr, 0, now);
}

void DhtNode::receive(const PeerAddr& from, std::string_view packet, std::int64_t now) {
  last_now_ = now;
  Decoded d = decode(packet);
  if (!d.message) {
    ++stats_.malformed_in;
    // A broken query with a transaction id gets BEP 5's protocol error; anything else, silence.
    if (d.was_query && allow_query(from, now)) {
      reply(from, error_reply(d.tid, kProtocolError, d.error.substr(0, 100)));
    }
    return;
  }
  if (d.message->kind == Kind::query) {
    on_query(from, *d.message, now);
  } else {
    on_answer(from, *d.message, now);
  }
  run_deferred();
}

bool DhtNode::allow_query(const PeerAddr& from, std::int64_t now) {
  auto refill = [now](IpBucket& b, double rate, double burst) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(now - b.at) * rate / 1000.0);
    b.at = now;
  };
  if (total_rate_.at == 0) total_rate_.at = now;
  refill(total_rate_, cfg_.total_rate, cfg_.total_burst);
  if (total_rate_.tokens < 1) {
    ++stats_.rate_limited;
    return false;
  }
  const std::string key = host_key(from);
  auto it = ip_rates_.find(key);
  if (it == ip_rates_.end()) {
    if (ip_rates_.size() >= cfg_.max_tracked_ips) {
      // Forget the IPs whose buckets have refilled: they are as new.
      std::erase_if(ip_rates_, [&](const auto& e) {
        return e.second.tokens + static_cast<double>(now - e.second.at) * cfg_.ip_rate / 1000.0 >= cfg_.ip_burst;
      });
      if (ip_rates_.size() >= cfg_.max_tracked_ips) {
        ++stats_.rate_limited;
        return false;
      }
    }
    it = ip_rates_.emplace(key, IpBucket{cfg_.ip_burst, now}).first;
  }
  refill(it->second, cfg_.ip_rate, cfg_.ip_burst);
  if (it->second.tokens < 1) {
    ++stats_.rate_limited;
    return false;
  }
  it->second.tokens -= 1;
  total_rate_.tokens -= 1;
  return true;
}

std::string DhtNode::token_for(const PeerAddr& from, std::uint64_t secret) const {
  const std::string key = host_key(from);
  const std::uint64_t h = tracker::siphash24({secret, 0x746f6b656e446874ull}, key.data(), key.size());
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

bool DhtNode::token_ok(const PeerAddr& from, std::string_view token) const {
  return token == token_for(from, secret_) || token == token_for(from, old_secret_);
}

std::vector<NodeEntry> DhtNode::nodes_for(const NodeId& target, bool v6) const {
  if (v6 == cfg_.v6) return table_.closest(target, cfg_.k);
  if (sibling_ && sibling_->cfg_.v6 == v6) return sibling_->table_.closest(target, cfg_.k);
  return {};
}

void DhtNode::on_query(const PeerAddr& from, const Message& m, std::int64_t now) {
  ++stats_.queries_in;
  if (!allow_query(from, now)) return;
  if (!m.read_only) heard({m.id, from}, now, false);
  Message r;
  r.kind = Kind::response;
  r.tid = m.tid;
  r.id = cfg_.id;
  r.your_ip = from;
  auto add_nodes = [&](const NodeId& target) {
    const bool own = !m.want_v4 && !m.want_v6;
    for (const bool v6 : {false, true}) {
      if (own ? v6 == cfg_.v6 : (v6 ? m.want_v6 : m.want_v4)) {
        auto n = nodes_for(target, v6);
        r.nodes.insert(r.nodes.end(), n.begin(), n.end());
      }
    }
  };
  switch (m.method) {
    case Method::ping:
      break;
    case Method::find_node:
      add_nodes(m.target);
      break;
    case Method::get_peers: {
      r.token = token_for(from, secret_);
      if (auto it = peers_.find(m.info_hash); it != peers_.end()) {
        std::vector<const Stored*> live;
        for (const auto& s : it->second) {
          if (now - s.at < cfg_.peer_ttl_ms) live.push_back(&s);
        }
        // More than fit: a random choice, so every stored peer gets handed out.
        if (live.size() > cfg_.max_values) {
          std::shuffle(live.begin(), live.end(), rng_);
          live.resize(cfg_.max_values);
        }
        for (const Stored* s : live) r.values.push_back(s->addr);
      }
      add_nodes(m.info_hash);
      break;
    }
    case Method::announce_peer: {
      if (!token_ok(from, m.token)) {
        ++stats_.bad_tokens;
        reply(from, error_reply(m.tid, kProtocolError, "bad token"));
        return;
      }
      PeerAddr peer = from;
      if (!m.implied_port) peer.port = m.port;
      auto it = peers_.find(m.info_hash);
      const bool known = it != peers_.end() && std::any_of(it->second.begin(), it->second.end(),
                                                           [&](const Stored& x) { return x.addr == peer; });
      std::size_t& quota = announced_by_[host_key(from)];
      if (!known && quota >= kMaxAnnouncesPerIp) {
        // One address may not fill the store with made-up info-hashes.
        reply(from, error_reply(m.tid, kServerError, "too many announces from this address"));
        return;
      }
      if (it == peers_.end()) {
        if (peers_.size() >= cfg_.max_infohashes) {
          if (quota == 0) announced_by_.erase(host_key(from));
          reply(from, error_reply(m.tid, kServerError, "peer store full"));
          return;
        }
        it = peers_.emplace(m.info_hash, std::vector<Stored>{}).first;
      }
      auto& v = it->second;
      auto same = std::find_if(v.begin(), v.end(), [&](const Stored& s) { return s.addr == peer; });
      if (same != v.end()) {
        same->at = now;
      } else if (v.size() >= cfg_.max_peers_per_hash) {
        auto oldest = std::min_element(v.begin(), v.end(), [](const Stored& a, const Stored& b) { return a.at < b.at; });
        forget(oldest->addr);
        *oldest = {peer, now};
        ++quota;
      } else {
        v.push_back({peer, now});
        ++quota;
      }
      ++stats_.announces_stored;
      break;
    }
    case Method::unknown: {
      reply(from, error_reply(m.tid, kMethodUnknown, "method unknown"));
      return;
    }
  }
  reply(from, std::move(r));
}

void DhtNode::on_answer(const PeerAddr& from, const Message& m, std::int64_t now) {
  auto it = pending_.find(m.tid);
  if (it == pending_.end() || !(it->second.to == from)) {
    ++stats_.unexpected;
    return;
  }
  const Pending p = it->second;
  pending_.erase(it);
  if (m.kind == Kind::error) {
    ++stats_.errors_in;
    lookup_answer(p.lookup, from, nullptr, now);
    return;
  }
  ++stats_.responses_in;
  if (p.id_known && m.id != p.id) {
    // Another id than the one we asked: the node we knew is gone from that address.
    table_.failed(p.id, from);
    lookup_answer(p.lookup, from, nullptr, now);
    return;
  }
  if (!m.read_only) heard({m.id, from}, now, true);
  lookup_answer(p.lookup, from, &m, now);
}

std::uint64_t DhtNode::start_lookup(std::unique_ptr<Lookup> l, const std::vector<PeerAddr>& extra, std::int64_t now) {
  l->id = next_lookup_++;
  l->res.target = l->target;
  l->started = now;
  for (const auto& a : extra) {
    if (a.v6 == cfg_.v6 && a.port) l->add({NodeId{}, a}, false);
  }
  for (const auto& n : table_.closest(l->target, cfg_.k * 2)) l->add(n, true);
  l->sort();
  const std::uint64_t id = l->id;
  Lookup& ref = *l;
  lookups_.emplace(id, std::move(l));
  if (lookups_.size() > cfg_.max_lookups) {
    finish(ref, now);  // too many at once: this one ends empty-handed
  } else {
    step(ref, now);
  }
  run_deferred();
  return id;
}

std::uint64_t DhtNode::get_peers(const NodeId& info_hash, std::uint16_t announce_port, bool implied_port,
                                 PeersFn on_peers, DoneFn on_done, std::int64_t now) {
  auto l = std::make_unique<Lookup>();
  l->target = info_hash;
  l->peers = true;
  l->port = announce_port;
  l->implied = implied_port;
  l->on_peers = std::move(on_peers);
  l->on_done = std::move(on_done);
  return start_lookup(std::move(l), {}, now);
}

std::uint64_t DhtNode::find_node(const NodeId& target, DoneFn on_done, std::int64_t now) {
  auto l = std::make_unique<Lookup>();
  l->target = target;
  l->on_done = std::move(on_done);
  return start_lookup(std::move(l), {}, now);
}

void DhtNode::bootstrap(const std::vector<PeerAddr>& nodes, std::int64_t now, const std::vector<NodeEntry>& known) {
  for (const auto& a : nodes) {
    if (std::find(bootstrap_nodes_.begin(), bootstrap_nodes_.end(), a) == bootstrap_nodes_.end()) {
      bootstrap_nodes_.push_back(a);
    }
  }
  bootstrap_at_ = now;
  if (auto running = lookups_.find(self_lookup_); self_lookup_ && running != lookups_.end()) {
    // Nodes that came later (resolved hostnames) join the lookup already going.
    Lookup& l = *running->second;
    for (const auto& a : nodes) {
      if (a.v6 == cfg_.v6 && a.port) l.add({NodeId{}, a}, false);
    }
    for (const auto& n : known) {
      if (n.addr.v6 == cfg_.v6 && n.addr.port && n.id != cfg_.id) l.add(n, true);
    }
    l.sort();
    step(l, now);
    run_deferred();
    return;
  }
  auto l = std::make_unique<Lookup>();
  l->target = cfg_.id;
  // Saved nodes keep their ids: they sort by distance like any contact, so dead ones do
  // not all have to fail before a bootstrap node is asked.
  for (const auto& n : known) {
    if (n.addr.v6 == cfg_.v6 && n.addr.port && n.id != cfg_.id) l->add(n, true);
  }
  // Once our neighbourhood is known, one lookup in each bucket's range fills the far buckets
  // too (the Kademlia paper's join).
  l->on_done = [this](const LookupResult& r) {
    if (r.responded == 0) return;
    for (const auto& t : table_.refresh_targets(last_now_, rng_(), true)) find_node(t, nullptr, last_now_);
  };
  self_lookup_ = start_lookup(std::move(l), bootstrap_nodes_, now);
}

void DhtNode::step(Lookup& l, std::int64_t now) {
  if (l.finished) return;
  if (l.res.queried >= kLookupMaxQueriesPerK * cfg_.k || now - l.started >= kLookupMaxMs) return finish(l, now);
  std::size_t in_flight = 0, waiting = 0;
  for (const auto& c : l.cands) {
    if (c.st == Lookup::St::asked) ++in_flight;
    if (c.st == Lookup::St::asked || c.st == Lookup::St::slow) ++waiting;
  }
  std::size_t rank = 0;
  for (auto& c : l.cands) {
    if (c.st == Lookup::St::failed) continue;
    if (rank++ >= cfg_.k) break;
    if (c.st != Lookup::St::fresh) continue;
    if (in_flight >= cfg_.alpha || pending_.size() >= cfg_.max_pending) break;
    Message q;
    q.method = l.peers ? Method::get_peers : Method::find_node;
    if (l.peers) q.info_hash = l.target;
    else q.target = l.target;
    send_query(std::move(q), c.node.addr, c.id_known ? &c.node.id : nullptr, l.id, now);
    c.st = Lookup::St::asked;
    ++l.res.queried;
    ++in_flight;
    ++waiting;
  }
  if (waiting == 0) finish(l, now);
}

void DhtNode::finish(Lookup& l, std::int64_t now) {
  if (l.finished) return;
  l.finished = true;
  ++stats_.lookups_done;
  for (const auto& c : l.cands) {
    if (l.res.closest.size() >= cfg_.k) break;
    if (c.st == Lookup::St::answered && c.id_known) l.res.closest.push_back(c.node);
  }
  if (l.peers && (l.port || l.implied)) {
    std::size_t sent = 0;
    for (const auto& c : l.cands) {
      if (sent >= cfg_.k) break;
      if (c.st != Lookup::St::answered || c.token.empty() || !c.id_known) continue;
      if (pending_.size() >= cfg_.max_pending) break;
      Message q;
      q.method = Method::announce_peer;
      q.info_hash = l.target;
      q.token = c.token;
      q.port = l.port;
      q.implied_port = l.implied;
      send_query(std::move(q), c.node.addr, &c.node.id, 0, now);
      ++sent;
    }
    l.res.announced = sent;
  }
  if (l.on_done) {
    auto fn = std::move(l.on_done);
    deferred_.push_back([fn = std::move(fn), res = l.res] { fn(res); });
  }
}

void DhtNode::lookup_answer(std::uint64_t lookup, const PeerAddr& from, const Message* m, std::int64_t now) {
  if (!lookup) return;
  auto it = lookups_.find(lookup);
  if (it == lookups_.end() || it->second->finished) return;
  Lookup& l = *it->second;
  Lookup::Cand* c = l.find(from);
  if (!c) return;
  if (!m) {
    c->st = Lookup::St::failed;
    ++l.res.failed;
    step(l, now);
    return;
  }
  c->st = Lookup::St::answered;
  c->token = m->token;
  ++l.res.responded;
  bool resort = false;
  if (!c->id_known) {
    c->id_known = true;
    c->node.id = m->id;
    c->dist = distance(m->id, l.target);
    resort = true;
  }
  for (const auto& n : m->nodes) {
    if (n.addr.v6 != cfg_.v6 || n.addr.port == 0 || n.id == cfg_.id) continue;
    const std::size_t before = l.cands.size();
    l.add(n, true);
    resort = resort || l.cands.size() != before;
  }
  if (resort) {
    l.sort();
    // Far candidates beyond a few k are never asked; dropping them bounds a lookup's memory
    // whatever the nodes it meets answer.
    const std::size_t keep = cfg_.k * 8;
    if (l.cands.size() > keep) {
      std::size_t seen = 0;
      std::erase_if(l.cands, [&](const Lookup::Cand& x) { return seen++ >= keep && x.st == Lookup::St::fresh; });
    }
    // Answered and failed ones far down the list count for nothing either; the asked ones
    // stay so their answers find their place.
    if (l.cands.size() > keep * 2) {
      std::size_t seen = 0;
      std::erase_if(l.cands, [&](const Lookup::Cand& x) {
        return seen++ >= keep * 2 && x.st != Lookup::St::asked && x.st != Lookup::St::slow;
      });
    }
  }
  if (l.peers && !m->values.empty()) {
    std::vector<PeerAddr> fresh;
    for (const auto& p : m->values) {
      if (l.seen_peers.size() >= kLookupMaxPeers) break;
      if (p.port && l.seen_peers.insert(addr_key(p)).second) fresh.push_back(p);
    }
    l.res.peers += fresh.size();
    if (!fresh.empty() && l.on_peers) {
      deferred_.push_back([fn = l.on_peers, fresh = std::move(fresh)] { fn(fresh); });
    }
  }
  step(l, now);
}

void DhtNode::tick(std::int64_t now) {
  last_now_ = now;
  if (secret_at_ < 0) secret_at_ = now;
  if (now - secret_at_ >= kSecretMs) {
    old_secret_ = secret_;
    secret_ = rng_();
    secret_at_ = now;
  }
  std::vector<std::string> timed_out, slowed;
  for (const auto& [tid, p] : pending_) {
    if (now - p.sent >= cfg_.timeout_ms) timed_out.push_back(tid);
    else if (!p.slow && now - p.sent >= cfg_.slow_ms) slowed.push_back(tid);
  }
  for (const auto& tid : slowed) {
    auto it = pending_.find(tid);
    if (it == pending_.end()) continue;
    it->second.slow = true;
    auto l = lookups_.find(it->second.lookup);
    if (l == lookups_.end() || l->second->finished) continue;
    if (auto* c = l->second->find(it->second.to); c && c->st == Lookup::St::asked) {
      c->st = Lookup::St::slow;
      step(*l->second, now);
    }
  }
  for (const auto& tid : timed_out) {
    auto it = pending_.find(tid);
    if (it == pending_.end()) continue;
    const Pending p = it->second;
    pending_.erase(it);
    ++stats_.timeouts;
    if (p.id_known) table_.failed(p.id, p.to);
    lookup_answer(p.lookup, p.to, nullptr, now);
  }
  if (now - maintained_at_ >= kMaintainMs) {
    maintained_at_ = now;
    for (auto& [id, l] : lookups_) step(*l, now);
    for (const auto& n : table_.stale(now, 3)) {
      if (pending_.size() >= cfg_.max_pending) break;
      Message q;
      q.method = Method::ping;
      send_query(std::move(q), n.addr, &n.id, 0, now);
    }
    if (table_.size() > 0 && lookups_.size() < cfg_.max_lookups / 2) {
      for (const auto& t : table_.refresh_targets(now, rng_())) find_node(t, nullptr, now);
    }
    // A table short of one bucket (the bootstrap nodes were down, or the network is small):
    // look up our own id again through whatever we know, every 30 s.
    if (table_.size() < cfg_.k && (table_.size() > 0 || !bootstrap_nodes_.empty()) &&
        now - bootstrap_at_ >= kBootstrapRetryMs) {
      bootstrap({}, now);
    }
  }
  if (now - expired_at_ >= kExpireEveryMs) {
    expired_at_ = now;
    for (auto it = peers_.begin(); it != peers_.end();) {
      std::erase_if(it->second, [&](const Stored& s) {
        if (now - s.at < cfg_.peer_ttl_ms) return false;
        forget(s.addr);
        return true;
      });
      it = it->second.empty() ? peers_.erase(it) : std::next(it);
    }
  }
  run_deferred();
}

void DhtNode::run_deferred() {
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    it = it->second->finished ? lookups_.erase(it) : std::next(it);
  }
  while (!deferred_.empty()) {
    auto batch = std::move(deferred_);
    deferred_.clear();
    for (auto& fn : batch) fn();
  }
}

void DhtNode::forget(const PeerAddr& stored) {
  auto it = announced_by_.find(host_key(stored));
  if (it == announced_by_.end()) return;
  if (it->second <= 1) announced_by_.erase(it);
  else --it->second;
}

std::vector<PeerAddr> DhtNode::stored_peers(const NodeId& info_hash) const {
  std::vector<PeerAddr> out;
  if (auto it = peers_.find(info_hash); it != peers_.end()) {
    for (const auto& s : it->second) out.push_back(s.addr);
  }
  return out;
}

std::size_t DhtNode::memory_bytes() const {
  std::size_t n = sizeof(*this) + table_.memory_bytes();
  n += pending_.size() * (sizeof(Pending) + 64) + pending_.bucket_count() * sizeof(void*);
  for (const auto& [id, l] : lookups_) n += sizeof(Lookup) + l->cands.capacity() * sizeof(Lookup::Cand);
  for (const auto& [h, v] : peers_) n += 64 + v.capacity() * sizeof(Stored);
  n += ip_rates_.size() * (sizeof(IpBucket) + 64) + ip_rates_.bucket_count() * sizeof(void*);
  n += announced_by_.size() * 64;
  return n;
}

}  // namespace hf::torrent::dht

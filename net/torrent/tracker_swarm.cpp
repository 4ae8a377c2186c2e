#include "net/torrent/tracker_swarm.hpp"

#include <algorithm>

namespace hf::torrent::tracker {

namespace {

constexpr std::size_t kShards = 64;  // a power of two: the shard is the hash's top bits

struct StoredPeer {
  PeerAddr addr;
  PeerId id{};
  std::int64_t last_seen = 0;
  bool seeder = false;
  bool counted = false;  // its completed event is already in `downloaded`
};

// Keyed, so that addresses a client picks cannot all land in one bucket either.
struct AddrHash {
  SipKey key;
  std::size_t operator()(const PeerAddr& a) const {
    std::uint8_t b[19];
    std::memcpy(b, a.ip.data(), 16);
    b[16] = static_cast<std::uint8_t>(a.port >> 8);
    b[17] = static_cast<std::uint8_t>(a.port);
    b[18] = a.v6 ? 1 : 0;
    return siphash24(key, b, sizeof b);
  }
};

// The info-hash's SipHash, computed once per request and carried into the table, so the
// shard and the bucket come from one hash.
struct HashedKey {
  InfoHash h;
  std::uint64_t hash;
  friend bool operator==(const HashedKey& a, const HashedKey& b) { return a.h == b.h; }
};
struct HashedKeyHash {
  std::size_t operator()(const HashedKey& k) const { return k.hash; }
};

struct Swarm {
  explicit Swarm(const SipKey& key) : where(8, AddrHash{key}) {}
  std::vector<StoredPeer> list[2];  // [0] IPv4, [1] IPv6: each family is handed out on its own
  std::unordered_map<PeerAddr, std::uint32_t, AddrHash> where;  // -> index in list[addr.v6]
  std::uint32_t seeders = 0;
  std::uint64_t downloaded = 0;
  std::int64_t last_change = 0;

  std::size_t size() const { return list[0].size() + list[1].size(); }
  SwarmCounts counts() const { return {seeders, static_cast<std::uint32_t>(size() - seeders), downloaded}; }
  // Swap-with-last removal: O(1), and order never mattered (peers are handed out from a
  // random point).
  void remove(const PeerAddr& a, std::uint32_t idx) {
    auto& l = list[a.v6 ? 1 : 0];
    if (l[idx].seeder) --seeders;
    if (idx + 1 != l.size()) {
      l[idx] = l.back();
      where[l[idx].addr] = idx;
    }
    l.pop_back();
    where.erase(a);
  }
};

// splitmix64: the random start of the window of peers a large swarm hands out. Not for
// secrets; seeded from the process key so runs differ.
std::uint64_t next_random(std::uint64_t* state) {
  std::uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Up to `want` peers of list `l`, never index `self`, from a random point onwards.
void pick(const std::vector<StoredPeer>& l, std::size_t self, unsigned want, std::uint64_t* rng,
          std::vector<PeerInfo>* out) {
  const std::size_t others = l.size() - (self < l.size() ? 1 : 0);
  const std::size_t n = std::min<std::size_t>(want, others);
  if (n == 0) return;
  out->reserve(n);
  const std::size_t start = n == others ? 0 : next_random(rng) % l.size();
  for (std::size_t i = 0, taken = 0; taken < n; ++i) {
    const std::size_t j = (start + i) % l.size();
    if (j == self) continue;
    out->push_back({l[j].addr, l[j].id});
    ++taken;
  }
}

}  // namespace

struct Swarms::Shard {
  mutable std::mutex mu;
  std::unordered_map<HashedKey, Swarm, HashedKeyHash> swarms;
  std::uint64_t rng = 0;
  // Kept as announces change them, so totals() does not walk every swarm.
  std::uint64_t active = 0;  // swarms with at least one peer
  std::uint64_t seeders = 0;
  std::uint64_t leechers = 0;
};

Swarms::Swarms(SwarmConfig cfg, SipKey key) : cfg_(std::move(cfg)), key_(key), shards_(new Shard[kShards]) {
  for (std::size_t i = 0; i < kShards; ++i) shards_[i].rng = key_.k0 ^ (key_.k1 * (i + 1));
}

Swarms::~Swarms() = default;

bool Swarms::allowed(const InfoHash& h) const { return !cfg_.whitelist || cfg_.whitelist->count(h) != 0; }

Swarms::Shard& Swarms::shard_of(const InfoHash& h, std::uint64_t* hash) const {
  *hash = siphash24(key_, h.data(), h.size());
  return shards_[*hash >> 58];  // the top 6 bits: 64 shards
}

std::optional<std::string> Swarms::announce(const AnnounceRequest& req, const PeerAddr& peer, unsigned max4,
                                            unsigned max6, std::int64_t now, AnnounceReply* out) {
  out->interval = cfg_.interval;
  out->min_interval = std::min(cfg_.min_interval, cfg_.interval);
  if (!allowed(req.info_hash)) return "info-hash not on this tracker's whitelist";
  std::uint64_t hash = 0;
  Shard& sh = shard_of(req.info_hash, &hash);
  const HashedKey key{req.info_hash, hash};
  const bool seeder = req.left == 0;
  std::lock_guard lock(sh.mu);
  auto it = sh.swarms.find(key);
  if (it == sh.swarms.end()) {
    if (req.event == Event::stopped) return std::nullopt;  // nothing to stop; counts are zeros
    if (torrents_stored_.load(std::memory_order_relaxed) >= cfg_.max_torrents)
      return "tracker full: too many torrents, try later";
    it = sh.swarms.emplace(key, Swarm(key_)).first;
    torrents_stored_.fetch_add(1, std::memory_order_relaxed);
  }
  Swarm& s = it->second;
  const bool was_active = s.size() > 0;
  const int fam = peer.v6 ? 1 : 0;
  auto found = s.where.find(peer);
  std::size_t self = SIZE_MAX;
  if (req.event == Event::stopped) {
    if (found != s.where.end()) {
      (s.list[fam][found->second].seeder ? sh.seeders : sh.leechers) -= 1;
      s.remove(peer, found->second);
    }
  } else {
    StoredPeer* p = nullptr;
    if (found == s.where.end()) {
      if (s.size() >= cfg_.max_peers_per_torrent) {
        // Answered, not stored: the swarm still works for this client, memory stays bounded.
        out->counts = s.counts();
        pick(s.list[0], SIZE_MAX, std::min(max4, numwant(req)), &sh.rng, &out->peers4);
        pick(s.list[1], SIZE_MAX, std::min(max6, numwant(req)), &sh.rng, &out->peers6);
        return std::nullopt;
      }
      s.where.emplace(peer, static_cast<std::uint32_t>(s.list[fam].size()));
      self = s.list[fam].size();
      p = &s.list[fam].emplace_back();
      p->addr = peer;
      (seeder ? sh.seeders : sh.leechers) += 1;
      if (seeder) ++s.seeders;
    } else {
      self = found->second;
      p = &s.list[fam][self];
      if (p->seeder != seeder) {
        (p->seeder ? sh.seeders : sh.leechers) -= 1;
        (seeder ? sh.seeders : sh.leechers) += 1;
        if (seeder) {
          ++s.seeders;
        } else {
          --s.seeders;
        }
      }
    }
    p->id = req.peer_id;
    p->last_seen = now;
    p->seeder = seeder;
    if (req.event == Event::completed && !p->counted) {
      p->counted = true;
      ++s.downloaded;
      completed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  s.last_change = now;
  const bool active = s.size() > 0;
  if (active != was_active) {
    if (active) {
      ++sh.active;
    } else {
      --sh.active;
    }
  }
  out->counts = s.counts();
  if (req.event != Event::stopped) {
    const unsigned want = numwant(req);
    pick(s.list[0], fam == 0 ? self : SIZE_MAX, std::min(max4, want), &sh.rng, &out->peers4);
    pick(s.list[1], fam == 1 ? self : SIZE_MAX, std::min(max6, want), &sh.rng, &out->peers6);
  }
  return std::nullopt;
}

unsigned Swarms::numwant(const AnnounceRequest& req) const {
  if (req.numwant < 0) return std::min(cfg_.numwant_default, cfg_.numwant_max);
  return std::min(static_cast<unsigned>(req.numwant), cfg_.numwant_max);
}

SwarmCounts Swarms::scrape(const InfoHash& h, bool* known) const {
  std::uint64_t hash = 0;
  Shard& sh = shard_of(h, &hash);
  std::lock_guard lock(sh.mu);
  auto it = sh.swarms.find(HashedKey{h, hash});
  if (known) *known = it != sh.swarms.end();
  return it == sh.swarms.end() ? SwarmCounts{} : it->second.counts();
}

std::size_t Swarms::expire(std::int64_t now) {
  const std::int64_t timeout = cfg_.effective_peer_timeout();
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& sh = shards_[i];
    std::lock_guard lock(sh.mu);
    for (auto it = sh.swarms.begin(); it != sh.swarms.end();) {
      Swarm& s = it->second;
      const bool was_active = s.size() > 0;
      for (auto& l : s.list) {
        for (std::size_t j = l.size(); j-- > 0;) {
          if (now - l[j].last_seen <= timeout) continue;
          (l[j].seeder ? sh.seeders : sh.leechers) -= 1;
          const PeerAddr a = l[j].addr;
          s.remove(a, static_cast<std::uint32_t>(j));
          ++dropped;
        }
      }
      if (was_active && s.size() == 0) {
        --sh.active;
        s.last_change = now;  // its counts stay scrapeable for one more timeout
      }
      if (s.size() == 0 && now - s.last_change > timeout) {
        it = sh.swarms.erase(it);
        torrents_stored_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        ++it;
      }
    }
  }
  return dropped;
}

Totals Swarms::totals() const {
  Totals t;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    t.torrents += shards_[i].active;
    t.seeders += shards_[i].seeders;
    t.leechers += shards_[i].leechers;
  }
  t.completed = completed_.load(std::memory_order_relaxed);
  return t;
}

}  // namespace hf::torrent::tracker

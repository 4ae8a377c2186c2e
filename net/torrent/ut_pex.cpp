#include "net/torrent/ut_pex.hpp"

#include <cstring>
#include <map>

#include "net/torrent/bencode.hpp"

namespace hf::torrent {

namespace wire {

namespace {

void append_compact(const tracker::PeerAddr& a, std::string* out) {
  out->append(reinterpret_cast<const char*>(a.ip.data()), a.v6 ? 16 : 4);
  out->push_back(static_cast<char>(a.port >> 8));
  out->push_back(static_cast<char>(a.port & 0xff));
}

bool read_compact(std::string_view bytes, bool v6, std::vector<tracker::PeerAddr>* out, std::size_t max) {
  const std::size_t each = v6 ? 18 : 6;
  if (bytes.size() % each != 0) return false;
  for (std::size_t at = 0; at < bytes.size() && out->size() < max; at += each) {
    tracker::PeerAddr a;
    a.v6 = v6;
    std::memcpy(a.ip.data(), bytes.data() + at, each - 2);
    a.port = static_cast<std::uint16_t>(static_cast<std::uint8_t>(bytes[at + each - 2]) << 8 |
                                        static_cast<std::uint8_t>(bytes[at + each - 1]));
    out->push_back(a);
  }
  return true;
}

}  // namespace

std::string encode_pex(const PexMessage& m) {
  std::string added, added_f, added6, added6_f, dropped, dropped6;
  for (const auto& p : m.added) {
    append_compact(p.addr, p.addr.v6 ? &added6 : &added);
    (p.addr.v6 ? added6_f : added_f).push_back(static_cast<char>(p.flags));
  }
  for (const auto& a : m.dropped) append_compact(a, a.v6 ? &dropped6 : &dropped);
  return bencode(BValue::dict({{"added", BValue::string(added)},
                               {"added.f", BValue::string(added_f)},
                               {"added6", BValue::string(added6)},
                               {"added6.f", BValue::string(added6_f)},
                               {"dropped", BValue::string(dropped)},
                               {"dropped6", BValue::string(dropped6)}}));
}

std::optional<PexMessage> parse_pex(std::string_view payload, std::string* why, std::size_t max_peers) {
  DecodeResult r = bdecode(payload, {.max_depth = 4, .max_bytes = 64 * 1024, .max_items = 64});
  if (!r.value || !r.value->is_dict()) {
    *why = r.value ? "ut_pex: not a dictionary" : "ut_pex: " + r.error;
    return std::nullopt;
  }
  const BValue& d = *r.value;
  auto str = [&](const char* key) -> std::string_view {
    const BValue* v = d.find(key);
    return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view{};
  };
  PexMessage m;
  for (bool v6 : {false, true}) {
    std::vector<tracker::PeerAddr> added, dropped;
    if (!read_compact(str(v6 ? "added6" : "added"), v6, &added, max_peers) ||
        !read_compact(str(v6 ? "dropped6" : "dropped"), v6, &dropped, max_peers)) {
      *why = std::string("ut_pex: ") + (v6 ? "an IPv6" : "an IPv4") + " peer list that is not whole entries";
      return std::nullopt;
    }
    const std::string_view flags = str(v6 ? "added6.f" : "added.f");
    for (std::size_t i = 0; i < added.size() && m.added.size() < max_peers; ++i)
      m.added.push_back({added[i], i < flags.size() ? static_cast<std::uint8_t>(flags[i]) : std::uint8_t{0}});
    for (const auto& a : dropped)
      if (m.dropped.size() < max_peers) m.dropped.push_back(a);
  }
  return m;
}

}  // namespace wire

std::optional<wire::PexMessage> PexState::next(const std::vector<wire::PexPeer>& connected) {
  auto key_of = [](const tracker::PeerAddr& a) {
    return std::make_pair(std::string(reinterpret_cast<const char*>(a.ip.data()), a.v6 ? 16 : 4), a.port);
  };
  std::map<std::pair<std::string, std::uint16_t>, const wire::PexPeer*> now;
  for (const auto& p : connected) now[key_of(p.addr)] = &p;
  wire::PexMessage m;
  for (const auto& [k, p] : now)
    if (!told_.count(k) && m.added.size() < wire::kPexMax) {
      m.added.push_back(*p);
      told_.insert(k);
    }
  for (auto it = told_.begin(); it != told_.end();) {
    if (now.count(*it) || m.dropped.size() >= wire::kPexMax) {
      ++it;
      continue;
    }
    tracker::PeerAddr a;
    a.v6 = it->first.size() == 16;
    std::memcpy(a.ip.data(), it->first.data(), it->first.size());
    a.port = it->second;
    m.dropped.push_back(a);
    it = told_.erase(it);
  }
  if (m.added.empty() && m.dropped.empty()) return std::nullopt;
  return m;
}

}  // namespace hf::torrent

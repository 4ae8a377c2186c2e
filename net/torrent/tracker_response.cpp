#include "net/torrent/tracker_response.hpp"

#include <algorithm>

namespace hf::torrent::tracker {

namespace {

void put_string(std::string_view s, std::string* out) {
  out->append(std::to_string(s.size()));
  out->push_back(':');
  out->append(s);
}

void put_int(std::string_view key, std::uint64_t v, std::string* out) {
  put_string(key, out);
  out->push_back('i');
  out->append(std::to_string(v));
  out->push_back('e');
}

void put_compact(const PeerInfo& p, std::string* out) {
  out->append(reinterpret_cast<const char*>(p.addr.ip.data()), p.addr.v6 ? 16 : 4);
  out->push_back(static_cast<char>(p.addr.port >> 8));
  out->push_back(static_cast<char>(p.addr.port & 0xff));
}

void put_dict_peer(const PeerInfo& p, bool no_peer_id, std::string* out) {
  out->push_back('d');
  put_string("ip", out);
  put_string(ip_text(p.addr), out);
  if (!no_peer_id) {
    put_string("peer id", out);
    put_string(std::string_view(reinterpret_cast<const char*>(p.id.data()), p.id.size()), out);
  }
  put_int("port", p.addr.port, out);
  out->push_back('e');
}

}  // namespace

void encode_announce(const AnnounceReply& r, bool compact, bool no_peer_id, std::string* out) {
  out->reserve(out->size() + 128 + 6 * r.peers4.size() + 18 * r.peers6.size());
  out->push_back('d');
  put_int("complete", r.counts.complete, out);
  put_int("downloaded", r.counts.downloaded, out);
  put_int("incomplete", r.counts.incomplete, out);
  put_int("interval", r.interval, out);
  put_int("min interval", r.min_interval, out);
  put_string("peers", out);
  if (compact) {
    // Each address goes where its family belongs, whichever list it came in: a length
    // prefix that miscounted a 16-byte address would corrupt the whole reply.
    std::size_t n4 = 0, n6 = 0;
    for (const auto* list : {&r.peers4, &r.peers6})
      for (const auto& p : *list) (p.addr.v6 ? n6 : n4) += 1;
    out->append(std::to_string(6 * n4));
    out->push_back(':');
    for (const auto* list : {&r.peers4, &r.peers6})
      for (const auto& p : *list)
        if (!p.addr.v6) put_compact(p, out);
    if (n6 > 0) {
      put_string("peers6", out);
      out->append(std::to_string(18 * n6));
      out->push_back(':');
      for (const auto* list : {&r.peers4, &r.peers6})
        for (const auto& p : *list)
          if (p.addr.v6) put_compact(p, out);
    }
  } else {
    out->push_back('l');
    for (const auto& p : r.peers4) put_dict_peer(p, no_peer_id, out);
    for (const auto& p : r.peers6) put_dict_peer(p, no_peer_id, out);
    out->push_back('e');
  }
  out->push_back('e');
}

void encode_scrape(std::vector<std::pair<InfoHash, SwarmCounts>> files, std::string* out) {
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  files.erase(std::unique(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
              files.end());
  out->append("d5:filesd");
  for (const auto& [h, c] : files) {
    put_string(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()), out);
    out->push_back('d');
    put_int("complete", c.complete, out);
    put_int("downloaded", c.downloaded, out);
    put_int("incomplete", c.incomplete, out);
    out->push_back('e');
  }
  out->append("ee");
}

std::string encode_failure(std::string_view reason) {
  std::string out = "d";
  put_string("failure reason", &out);
  put_string(reason, &out);
  out.push_back('e');
  return out;
}

}  // namespace hf::torrent::tracker

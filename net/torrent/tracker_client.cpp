#include "net/torrent/tracker_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "net/torrent/bencode.hpp"

namespace hf::torrent::tracker {

namespace {

constexpr std::uint64_t kProtocolId = 0x41727101980ULL;

void percent_encode(std::span<const std::uint8_t> bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (std::uint8_t c : bytes) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

const char* event_name(Event e) {
  switch (e) {
    case Event::started: return "started";
    case Event::completed: return "completed";
    case Event::stopped: return "stopped";
    case Event::none: break;
  }
  return "";
}

std::uint32_t udp_event(Event e) { return static_cast<std::uint32_t>(e); }  // BEP 15's numbers

void put(std::uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t get(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | b[at + i];
  return v;
}

PeerAddr compact_peer(const std::uint8_t* p, bool v6) {
  PeerAddr a;
  a.v6 = v6;
  const std::size_t n = v6 ? 16 : 4;
  std::memcpy(a.ip.data(), p, n);
  a.port = static_cast<std::uint16_t>(p[n] << 8 | p[n + 1]);
  return a;
}

void compact_peers(std::string_view s, bool v6, std::vector<PeerAddr>* out) {
  const std::size_t step = v6 ? 18 : 6;
  for (std::size_t i = 0; i + step <= s.size(); i += step) {
    PeerAddr a = compact_peer(reinterpret_cast<const std::uint8_t*>(s.data()) + i, v6);
    if (a.port) out->push_back(a);
  }
}

std::int64_t int_or(const BValue& d, std::string_view key, std::int64_t fallback) {
  const BValue* v = d.find(key);
  return v && v->is_int() ? v->as_int() : fallback;
}

// Tracker error messages are shown to the user: printable and bounded.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) out.push_back(c >= 0x20 && c != 0x7F ? c : '?');
  return out;
}

bool udp_head(std::span<const std::uint8_t> b, std::uint32_t action, std::uint32_t transaction, std::size_t min,
              std::string* why) {
  if (b.size() < 8) {
    *why = "a UDP tracker reply of " + std::to_string(b.size()) + " bytes";
    return false;
  }
  if (get(b, 4, 4) != transaction) {
    *why = "a UDP tracker reply to another request";
    return false;
  }
  const auto got = static_cast<std::uint32_t>(get(b, 0, 4));
  if (got == 3) {
    *why = "tracker error: " + shown(std::string_view(reinterpret_cast<const char*>(b.data()) + 8, b.size() - 8));
    return false;
  }
  if (got != action || b.size() < min) {
    *why = "a UDP tracker reply with action " + std::to_string(got) + " and " + std::to_string(b.size()) + " bytes";
    return false;
  }
  return true;
}

}  // namespace

std::string announce_url(std::string_view base, const AnnounceParams& p) {
  std::string u(base);
  u.push_back(u.find('?') == std::string::npos ? '?' : '&');
  u += "info_hash=";
  percent_encode(p.info_hash, &u);
  u += "&peer_id=";
  percent_encode(p.peer_id, &u);
  u += "&port=" + std::to_string(p.port) + "&uploaded=" + std::to_string(p.uploaded) +
       "&downloaded=" + std::to_string(p.downloaded) + "&left=" + std::to_string(p.left) + "&compact=1";
  if (p.event != Event::none) u += std::string("&event=") + event_name(p.event);
  if (p.numwant >= 0) u += "&numwant=" + std::to_string(p.numwant);
  char key[9];
  std::snprintf(key, sizeof key, "%08X", p.key);
  u += "&key=";
  u += key;
  if (!p.tracker_id.empty()) {
    u += "&trackerid=";
    percent_encode({reinterpret_cast<const std::uint8_t*>(p.tracker_id.data()), p.tracker_id.size()}, &u);
  }
  return u;
}

std::optional<AnnounceResult> parse_announce_reply(std::string_view body, std::string* why) {
  DecodeResult d = bdecode(body, {.max_depth = 8, .max_bytes = 4u << 20, .max_items = 200'000});
  if (!d.value || !d.value->is_dict()) {
    *why = d.value ? "the tracker's reply is not a dictionary" : "the tracker's reply is not bencode: " + d.error;
    return std::nullopt;
  }
  const BValue& r = *d.value;
  AnnounceResult out;
  if (const BValue* f = r.find("failure reason"); f && f->is_string()) {
    out.failure = shown(f->as_string());
    return out;
  }
  if (const BValue* w = r.find("warning message"); w && w->is_string()) out.warning = shown(w->as_string());
  const BValue* interval = r.find("interval");
  if (!interval || !interval->is_int()) {
    *why = "the tracker's reply has no interval";
    return std::nullopt;
  }
  // Intervals held to a sane range: a tracker cannot make the client hammer it or go silent.
  out.interval = std::clamp<std::int64_t>(interval->as_int(), 30, 6 * 3600);
  out.min_interval = std::clamp<std::int64_t>(int_or(r, "min interval", 0), 0, 6 * 3600);
  out.seeders = int_or(r, "complete", -1);
  out.leechers = int_or(r, "incomplete", -1);
  if (const BValue* t = r.find("tracker id"); t && t->is_string()) out.tracker_id = t->as_string().substr(0, 200);
  if (const BValue* peers = r.find("peers")) {
    if (peers->is_string()) {
      compact_peers(peers->as_string(), false, &out.peers);
    } else if (peers->is_list()) {
      for (const BValue& e : peers->items()) {
        if (!e.is_dict()) continue;
        const BValue* ip = e.find("ip");
        const std::int64_t port = int_or(e, "port", 0);
        if (!ip || !ip->is_string() || port <= 0 || port > 65535) continue;
        auto a = parse_ip(ip->as_string());
        if (!a) continue;
        a->port = static_cast<std::uint16_t>(port);
        out.peers.push_back(*a);
      }
    }
  }
  if (const BValue* p6 = r.find("peers6"); p6 && p6->is_string()) compact_peers(p6->as_string(), true, &out.peers);
  return out;
}

std::optional<std::string> scrape_url(std::string_view announce, std::span<const InfoHash> hashes) {
  const std::size_t q = announce.find('?');
  const std::string_view path = announce.substr(0, q);
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || path.substr(slash + 1, 8) != "announce") return std::nullopt;
  std::string u(path.substr(0, slash + 1));
  u += "scrape";
  u += path.substr(slash + 9);
  std::string query(q == std::string_view::npos ? std::string_view() : announce.substr(q + 1));
  for (const InfoHash& h : hashes) {
    if (!query.empty()) query.push_back('&');
    query += "info_hash=";
    percent_encode(h, &query);
  }
  if (!query.empty()) u += "?" + query;
  return u;
}

std::optional<std::vector<ScrapeCounts>> parse_scrape_reply(std::string_view body, std::string* why) {
  DecodeResult d = bdecode(body, {.max_depth = 8, .max_bytes = 4u << 20, .max_items = 200'000});
  if (!d.value || !d.value->is_dict()) {
    *why = "the tracker's scrape reply is not a bencoded dictionary";
    return std::nullopt;
  }
  if (const BValue* f = d.value->find("failure reason"); f && f->is_string()) {
    *why = "tracker: " + shown(f->as_string());
    return std::nullopt;
  }
  const BValue* files = d.value->find("files");
  if (!files || !files->is_dict()) {
    *why = "the tracker's scrape reply has no files";
    return std::nullopt;
  }
  std::vector<ScrapeCounts> out;
  for (const auto& [key, v] : files->entries()) {
    if (key.size() != 20 || !v.is_dict()) continue;
    ScrapeCounts c;
    std::memcpy(c.info_hash.data(), key.data(), 20);
    c.complete = int_or(v, "complete", 0);
    c.downloaded = int_or(v, "downloaded", 0);
    c.incomplete = int_or(v, "incomplete", 0);
    out.push_back(c);
  }
  return out;
}

std::string udp_connect_request(std::uint32_t transaction) {
  std::string out;
  put(kProtocolId, 8, &out);
  put(0, 4, &out);
  put(transaction, 4, &out);
  return out;
}

std::optional<std::uint64_t> parse_udp_connect_reply(std::span<const std::uint8_t> b, std::uint32_t transaction,
                                                     std::string* why) {
  if (!udp_head(b, 0, transaction, 16, why)) return std::nullopt;
  return get(b, 8, 8);
}

std::string udp_announce_request(std::uint64_t connection, std::uint32_t transaction, const AnnounceParams& p) {
  std::string out;
  put(connection, 8, &out);
  put(1, 4, &out);
  put(transaction, 4, &out);
  out.append(reinterpret_cast<const char*>(p.info_hash.data()), 20);
  out.append(reinterpret_cast<const char*>(p.peer_id.data()), 20);
  put(p.downloaded, 8, &out);
  put(p.left, 8, &out);
  put(p.uploaded, 8, &out);
  put(udp_event(p.event), 4, &out);
  put(0, 4, &out);  // IP: the sender's
  put(p.key, 4, &out);
  put(static_cast<std::uint32_t>(p.numwant), 4, &out);  // -1 is 0xFFFFFFFF: the default
  put(p.port, 2, &out);
  return out;
}

std::optional<AnnounceResult> parse_udp_announce_reply(std::span<const std::uint8_t> b, std::uint32_t transaction,
                                                       bool v6, std::string* why) {
  if (!udp_head(b, 1, transaction, 20, why)) return std::nullopt;
  AnnounceResult r;
  r.interval = std::clamp<std::int64_t>(static_cast<std::int64_t>(get(b, 8, 4)), 30, 6 * 3600);
  r.leechers = static_cast<std::int64_t>(get(b, 12, 4));
  r.seeders = static_cast<std::int64_t>(get(b, 16, 4));
  compact_peers(std::string_view(reinterpret_cast<const char*>(b.data()) + 20, b.size() - 20), v6, &r.peers);
  return r;
}

std::string udp_scrape_request(std::uint64_t connection, std::uint32_t transaction, std::span<const InfoHash> hashes) {
  std::string out;
  put(connection, 8, &out);
  put(2, 4, &out);
  put(transaction, 4, &out);
  for (const InfoHash& h : hashes) out.append(reinterpret_cast<const char*>(h.data()), 20);
  return out;
}

std::optional<std::vector<ScrapeCounts>> parse_udp_scrape_reply(std::span<const std::uint8_t> b,
                                                                std::uint32_t transaction,
                                                                std::span<const InfoHash> hashes, std::string* why) {
  if (!udp_head(b, 2, transaction, 8 + 12 * hashes.size(), why)) return std::nullopt;
  std::vector<ScrapeCounts> out;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    ScrapeCounts c;
    c.info_hash = hashes[i];
    c.complete = static_cast<std::int64_t>(get(b, 8 + 12 * i, 4));
    c.downloaded = static_cast<std::int64_t>(get(b, 12 + 12 * i, 4));
    c.incomplete = static_cast<std::int64_t>(get(b, 16 + 12 * i, 4));
    out.push_back(c);
  }
  return out;
}

double udp_timeout(unsigned n) { return 15.0 * static_cast<double>(1u << std::min(n, 8u)); }

TrackerTiers::TrackerTiers(std::vector<std::vector<std::string>> tiers, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& t : tiers) {
    t.erase(std::remove(t.begin(), t.end(), std::string()), t.end());
    if (t.empty()) continue;
    std::shuffle(t.begin(), t.end(), rng);
    tiers_.push_back(std::move(t));
  }
}

std::vector<std::string> TrackerTiers::order() const {
  std::vector<std::string> out;
  for (const auto& t : tiers_) out.insert(out.end(), t.begin(), t.end());
  return out;
}

void TrackerTiers::succeeded(const std::string& url) {
  for (auto& t : tiers_) {
    auto it = std::find(t.begin(), t.end(), url);
    if (it == t.end()) continue;
    std::rotate(t.begin(), it, it + 1);  // to the front, the others' order kept
    return;
  }
}

std::optional<TrackerUrl> split_tracker_url(std::string_view u) {
  TrackerUrl r;
  const auto colon = u.find("://");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  r.scheme.assign(u.substr(0, colon));
  const std::string_view rest = u.substr(colon + 3);
  const auto slash = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, slash);
  r.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (r.target[0] == '?') r.target = "/" + r.target;
  if (authority.empty()) return std::nullopt;
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    r.host.assign(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      r.port.assign(authority.substr(close + 2));
    }
  } else {
    const auto c = authority.rfind(':');
    r.host.assign(authority.substr(0, c));
    if (c != std::string_view::npos) r.port.assign(authority.substr(c + 1));
  }
  if (r.port.empty()) r.port = r.scheme == "https" ? "443" : r.scheme == "http" ? "80" : "";
  if (r.host.empty() || r.port.empty() || r.port.size() > 5 ||
      !std::all_of(r.port.begin(), r.port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
      std::stoul(r.port) == 0 || std::stoul(r.port) > 65535)
    return std::nullopt;
  for (char ch : r.host)
    if (static_cast<unsigned char>(ch) <= ' ' || ch == '/' || ch == '@') return std::nullopt;
  return r;
}

std::optional<std::string> http_reply_body(std::string_view reply, std::string* why) {
  const auto end = reply.find("\r\n\r\n");
  const std::string_view head = reply.substr(0, end);
  if (end == std::string_view::npos || head.rfind("HTTP/1.", 0) != 0 || head.size() < 12 || head[8] != ' ') {
    *why = "a malformed HTTP reply";
    return std::nullopt;
  }
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') {
      *why = "a malformed HTTP reply";
      return std::nullopt;
    }
    status = status * 10 + (head[i] - '0');
  }
  if (status != 200) {
    *why = "HTTP " + std::to_string(status);
    return std::nullopt;
  }
  std::string lower(head);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string_view body = reply.substr(end + 4);
  if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    std::string out;
    std::size_t at = 0;
    for (;;) {
      const auto eol = body.find("\r\n", at);
      if (eol == std::string_view::npos) break;
      std::uint64_t n = 0;
      std::size_t digits = 0;
      for (std::size_t i = at; i < eol && std::isxdigit(static_cast<unsigned char>(body[i])); ++i, ++digits) {
        if (digits == 15) {
          *why = "a chunk size out of range";
          return std::nullopt;
        }
        n = n * 16 + static_cast<std::uint64_t>(std::isdigit(static_cast<unsigned char>(body[i]))
                                                     ? body[i] - '0'
                                                     : std::tolower(static_cast<unsigned char>(body[i])) - 'a' + 10);
      }
      if (digits == 0) break;
      at = eol + 2;
      if (n == 0) return out;
      if (n > body.size() - at) break;
      out.append(body.substr(at, n));
      at += n;
      if (body.substr(at, 2) != "\r\n") break;
      at += 2;
    }
    *why = "a truncated or malformed chunked reply";
    return std::nullopt;
  }
  if (const auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
    std::size_t i = cl + 17;
    while (i < lower.size() && lower[i] == ' ') ++i;
    std::uint64_t n = 0;
    std::size_t digits = 0;
    for (; i < lower.size() && lower[i] >= '0' && lower[i] <= '9' && digits < 15; ++i, ++digits)
      n = n * 10 + static_cast<std::uint64_t>(lower[i] - '0');
    if (digits == 0 || digits == 15) {
      *why = "a malformed Content-Length";
      return std::nullopt;
    }
    if (n > body.size()) {
      *why = "a truncated reply (" + std::to_string(body.size()) + " of " + std::to_string(n) + " bytes)";
      return std::nullopt;
    }
    return std::string(body.substr(0, n));
  }
  return std::string(body);
}

}  // namespace hf::torrent::tracker

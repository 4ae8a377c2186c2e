#include "net/torrent/magnet.hpp"

#include <algorithm>

#include "hashforge/hex.hpp"
#include "net/http/query.hpp"

namespace hf::torrent {

namespace {

constexpr std::size_t kMaxUri = 64 * 1024;
constexpr std::size_t kMaxList = 200;  // trackers, web seeds, peers, so ranges each

// Percent-decoding as in a query string ('+' a space); false on a broken escape.
bool decode_component(std::string_view in, std::string* out) { return http::percent_decode(in, out, true); }

// Exactly N bytes of hex (either case), through the engine's strict decoder.
template <std::size_t N>
bool hex_bytes(std::string_view s, std::array<std::uint8_t, N>* out) {
  auto bytes = s.size() == 2 * N ? hf::from_hex(s) : std::nullopt;
  if (!bytes) return false;
  std::copy(bytes->begin(), bytes->end(), out->begin());
  return true;
}

// RFC 4648 base32 (upper or lower case, no padding): 32 characters give 20 bytes.
bool from_base32(std::string_view s, std::array<std::uint8_t, 20>* out) {
  if (s.size() != 32) return false;
  std::uint64_t acc = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a';
    else if (c >= '2' && c <= '7')
      v = c - '2' + 26;
    else
      return false;
    acc = (acc << 5) | static_cast<std::uint64_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      (*out)[n++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  return n == 20;
}

bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (max - static_cast<std::uint64_t>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// "0,2,4-6": inclusive ranges of file indexes.
bool parse_select_only(std::string_view s, std::vector<std::pair<std::uint32_t, std::uint32_t>>* out) {
  while (!s.empty()) {
    std::size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    std::size_t dash = part.find('-');
    std::uint64_t a, b;
    if (!parse_uint(part.substr(0, dash), UINT32_MAX, &a)) return false;
    b = a;
    if (dash != std::string_view::npos && !parse_uint(part.substr(dash + 1), UINT32_MAX, &b)) return false;
    if (b < a || out->size() >= kMaxList) return false;
    out->emplace_back(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
    if (comma != std::string_view::npos && s.empty()) return false;  // a trailing comma
  }
  return !out->empty();
}

void add_unique(std::vector<std::string>* list, std::string v) {
  if (std::find(list->begin(), list->end(), v) == list->end()) list->push_back(std::move(v));
}

std::string encode_component(std::string_view in) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || c == ':' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += d[c >> 4];
      out += d[c & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<Magnet> parse_magnet(std::string_view uri, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<Magnet> {
    *why = std::move(w);
    return std::nullopt;
  };
  if (uri.size() > kMaxUri) return fail("magnet link longer than 64 KiB");
  constexpr std::string_view kPrefix = "magnet:?";
  if (uri.size() < kPrefix.size() || uri.substr(0, kPrefix.size()) != kPrefix)
    return fail("a magnet link starts with magnet:?");
  Magnet m;
  bool have_name = false, have_length = false;
  std::string_view rest = uri.substr(kPrefix.size());
  std::string value;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return fail("parameter without a value: " + std::string(pair.substr(0, 32)));
    std::string_view key = pair.substr(0, eq);
    // BEP 9 allows numbered forms (xt.1, tr.2): the number only tells them apart.
    std::string_view base = key.substr(0, key.find('.'));
    if (key == "x.pe") base = key;
    if (!decode_component(pair.substr(eq + 1), &value))
      return fail("bad percent escape in " + std::string(key.substr(0, 16)));
    if (base == "xt") {
      if (value.rfind("urn:btih:", 0) == 0) {
        std::array<std::uint8_t, 20> h{};
        std::string_view v = std::string_view(value).substr(9);
        if (!hex_bytes(v, &h) && !from_base32(v, &h)) return fail("urn:btih needs 40 hex or 32 base32 characters");
        if (m.btih && *m.btih != h) return fail("two different urn:btih values");
        m.btih = h;
      } else if (value.rfind("urn:btmh:", 0) == 0) {
        std::string_view v = std::string_view(value).substr(9);
        // A multihash: 0x12 (SHA-256), 0x20 (32 bytes), then the digest.
        std::array<std::uint8_t, 32> h{};
        if (v.size() != 68 || (v.substr(0, 4) != "1220") || !hex_bytes(v.substr(4), &h))
          return fail("urn:btmh needs a SHA-256 multihash: 1220 and 64 hex digits");
        if (m.btmh && *m.btmh != h) return fail("two different urn:btmh values");
        m.btmh = h;
      }
      // Other urns (urn:sha1 and the like) are not BitTorrent's: ignored.
    } else if (base == "dn") {
      if (have_name) return fail("dn given twice");
      have_name = true;
      m.name = value;
    } else if (base == "tr") {
      if (m.trackers.size() >= kMaxList) return fail("too many trackers");
      add_unique(&m.trackers, value);
    } else if (base == "ws") {
      if (m.web_seeds.size() >= kMaxList) return fail("too many web seeds");
      add_unique(&m.web_seeds, value);
    } else if (base == "xl") {
      std::uint64_t n;
      if (have_length || !parse_uint(value, UINT64_MAX, &n)) return fail("xl must be one whole number of bytes");
      have_length = true;
      m.length = n;
    } else if (base == "so") {
      if (!m.select_only.empty() || !parse_select_only(value, &m.select_only))
        return fail("so must be file indexes and ranges like 0,2,4-6");
    } else if (base == "x.pe") {
      if (m.peers.size() >= kMaxList) return fail("too many peers");
      add_unique(&m.peers, value);
    }
  }
  if (!m.btih && !m.btmh) return fail("no urn:btih or urn:btmh info-hash");
  return m;
}

std::string format_magnet(const Magnet& m) {
  std::string s = "magnet:?";
  bool first = true;
  auto add = [&](const char* key, const std::string& v) {
    if (!first) s += '&';
    first = false;
    s += key;
    s += '=';
    s += v;
  };
  if (m.btih) add("xt", "urn:btih:" + hf::to_hex(*m.btih));
  if (m.btmh) add("xt", "urn:btmh:1220" + hf::to_hex(*m.btmh));
  if (!m.name.empty()) add("dn", encode_component(m.name));
  if (m.length) add("xl", std::to_string(*m.length));
  for (const auto& t : m.trackers) add("tr", encode_component(t));
  for (const auto& w : m.web_seeds) add("ws", encode_component(w));
  if (!m.select_only.empty()) {
    std::string so;
    for (const auto& [a, b] : m.select_only) {
      if (!so.empty()) so += ',';
      so += std::to_string(a);
      if (b != a) so += "-" + std::to_string(b);
    }
    add("so", so);
  }
  for (const auto& p : m.peers) add("x.pe", encode_component(p));
  return s;
}

}  // namespace hf::torrent

#include "net/torrent/tracker_types.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <random>

namespace hf::torrent::tracker {

std::optional<PeerAddr> parse_ip(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest textual IPv6 address is 45 bytes.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  PeerAddr a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.ip.data()) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.ip.data()) != 1) return std::nullopt;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.ip.data(), kMapped, 12) == 0) {
    std::memmove(a.ip.data(), a.ip.data() + 12, 4);
    std::memset(a.ip.data() + 4, 0, 12);
    return a;
  }
  a.v6 = true;
  return a;
}

std::optional<PeerAddr> parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<unsigned>(c - '0');
  }
  if (p > 65535) return std::nullopt;
  auto a = parse_ip(host);
  if (!a) return std::nullopt;
  a->port = static_cast<std::uint16_t>(p);
  return a;
}

std::string ip_text(const PeerAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.ip.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string endpoint_text(const PeerAddr& a) {
  return a.v6 ? "[" + ip_text(a) + "]:" + std::to_string(a.port) : ip_text(a) + ":" + std::to_string(a.port);
}

bool is_loopback(const PeerAddr& a) {
  if (!a.v6) return a.ip[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.ip[i] != 0) return false;
  return a.ip[15] == 1;
}

PeerAddr v4_addr(std::uint32_t ip, std::uint16_t port) {
  PeerAddr a;
  a.ip[0] = static_cast<std::uint8_t>(ip >> 24);
  a.ip[1] = static_cast<std::uint8_t>(ip >> 16);
  a.ip[2] = static_cast<std::uint8_t>(ip >> 8);
  a.ip[3] = static_cast<std::uint8_t>(ip);
  a.port = port;
  return a;
}

namespace {

inline std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void sip_round(std::uint64_t& v0, std::uint64_t& v1, std::uint64_t& v2, std::uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

inline std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::uint64_t siphash24(const SipKey& key, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  // The four constants spell "somepseudorandomlygeneratedbytes" (the paper's initial state).
  std::uint64_t v0 = key.k0 ^ 0x736f6d6570736575ULL;
  std::uint64_t v1 = key.k1 ^ 0x646f72616e646f6dULL;
  std::uint64_t v2 = key.k0 ^ 0x6c7967656e657261ULL;
  std::uint64_t v3 = key.k1 ^ 0x7465646279746573ULL;
  const std::size_t whole = size - size % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    const std::uint64_t m = load_le64(p + i);
    v3 ^= m;
    sip_round(v0, v1, v2, v3);
    sip_round(v0, v1, v2, v3);
    v0 ^= m;
  }
  // The last block: the remaining bytes, with the length's low byte on top.
  std::uint64_t last = static_cast<std::uint64_t>(size & 0xff) << 56;
  for (std::size_t i = 0; i < size % 8; ++i) last |= static_cast<std::uint64_t>(p[whole + i]) << (8 * i);
  v3 ^= last;
  sip_round(v0, v1, v2, v3);
  sip_round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

SipKey random_sip_key() {
  std::random_device rd;
  auto word = [&rd] { return (static_cast<std::uint64_t>(rd()) << 32) | rd(); };
  SipKey k;
  k.k0 = word();
  k.k1 = word();
  return k;
}

}  // namespace hf::torrent::tracker

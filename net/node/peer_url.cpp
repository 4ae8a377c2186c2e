#include "net/node/peer_url.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace hf::node {

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpBytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::optional<IpBytes> ip_of_peer(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    auto close = peer.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return parse_ip(peer.substr(1, close - 1));
  }
  auto colon = peer.rfind(':');
  return parse_ip(colon == std::string_view::npos ? peer : peer.substr(0, colon));
}

bool Cidr::contains(const IpBytes& ip) const {
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(ip.data(), net.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (ip[full] & mask) == (net[full] & mask);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* why) {
  auto slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  auto ip = parse_ip(addr);
  if (!ip) {
    *why = "not an IP address or network: " + std::string(text.substr(0, 64));
    return std::nullopt;
  }
  bool v4 = addr.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view b = text.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(b)) > max_bits) {
      *why = "bad prefix length in " + std::string(text.substr(0, 64));
      return std::nullopt;
    }
    bits = std::stoi(std::string(b));
  }
  Cidr c;
  c.net = *ip;
  c.bits = v4 ? bits + 96 : bits;
  return c;
}

Allowlist Allowlist::loopback() {
  std::string why;
  return Allowlist({*parse_cidr("127.0.0.0/8", &why), *parse_cidr("::1/128", &why)});
}

bool Allowlist::allows(const IpBytes& ip) const {
  for (const auto& n : nets_)
    if (n.contains(ip)) return true;
  return false;
}

bool Allowlist::allows_peer(std::string_view peer) const {
  auto ip = ip_of_peer(peer);
  return ip && allows(*ip);
}

std::optional<PeerUrl> parse_peer_url(std::string_view url, std::string* why) {
  auto fail = [&](const char* w) -> std::optional<PeerUrl> {
    *why = w;
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "http://";
  if (url.size() > 2048) return fail("peer URL too long");
  if (url.substr(0, kScheme.size()) != kScheme) return fail("a peer URL starts with http://");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return fail("a peer URL has no user name");
  PeerUrl p;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed [ in the peer URL");
    p.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("bad peer URL host");
      port_text = after.substr(1);
    }
    if (!parse_ip(p.host)) return fail("bad IPv6 address in the peer URL");
  } else {
    auto colon = authority.find(':');
    p.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (p.host.empty()) return fail("the peer URL has no host");
  for (char c : p.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
      return fail("bad character in the peer URL's host");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string_view::npos)
      return fail("bad port in the peer URL");
    int port = std::stoi(std::string(port_text));
    if (port < 1 || port > 65535) return fail("bad port in the peer URL");
    p.port = static_cast<std::uint16_t>(port);
  }
  bool v6 = p.host.find(':') != std::string::npos;
  p.base = "http://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port) + "/";
  return p;
}

}  // namespace hf::node

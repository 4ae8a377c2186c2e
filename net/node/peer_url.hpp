// Seed peers' URLs ("http://host:port/") and the address allowlist that decides who may
// act as a peer and whom the node may contact. Pure code.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hf::node {

struct PeerUrl {
  std::string host;  // a name, a dotted IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 80;
  std::string base;  // the canonical form, ending in "/": "http://host:port/"
};
// http://host[:port][/...]: the path is dropped (seed peers serve at the root). Only http.
std::optional<PeerUrl> parse_peer_url(std::string_view url, std::string* why);

// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped into ::ffff:0:0/96).
using IpBytes = std::array<std::uint8_t, 16>;
std::optional<IpBytes> parse_ip(std::string_view text);
// "1.2.3.4:5678" or "[::1]:5678" (what http::Request::peer holds) to its address.
std::optional<IpBytes> ip_of_peer(std::string_view peer);

struct Cidr {
  IpBytes net{};
  int bits = 0;  // of the 128
  bool contains(const IpBytes& ip) const;
};
// "10.0.0.0/8", "::1/128", or a bare address (a single host).
std::optional<Cidr> parse_cidr(std::string_view text, std::string* why);

class Allowlist {
 public:
  Allowlist() = default;
  explicit Allowlist(std::vector<Cidr> nets) : nets_(std::move(nets)) {}
  static Allowlist loopback();  // 127.0.0.0/8 and ::1
  bool allows(const IpBytes& ip) const;
  bool allows_peer(std::string_view peer) const;  // a Request::peer string
  const std::vector<Cidr>& nets() const { return nets_; }

 private:
  std::vector<Cidr> nets_;
};

}  // namespace hf::node

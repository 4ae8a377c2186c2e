// The tracker's vocabulary (docs/tracker.md): info-hashes and peer ids as 20 raw bytes, peer
// addresses (IPv4 or IPv6 plus a port) and a keyed hash for tables and connection ids. Pure
// code: no sockets, no event loop.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hf::torrent::tracker {

// A v1 info-hash, or a v2 one truncated to 20 bytes as it travels to trackers (BEP 52).
using InfoHash = std::array<std::uint8_t, 20>;
using PeerId = std::array<std::uint8_t, 20>;

// An IPv4 or IPv6 address and a port. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
// dual-stack socket reports for an IPv4 client) are stored as IPv4, so one client is one
// peer whichever socket it came in on.
struct PeerAddr {
  std::array<std::uint8_t, 16> ip{};  // IPv4: the first 4 bytes, the rest zero
  std::uint16_t port = 0;
  bool v6 = false;

  friend bool operator==(const PeerAddr&, const PeerAddr&) = default;
};

// "1.2.3.4" or "2001:db8::1" (no brackets, no port); nullopt for anything else.
std::optional<PeerAddr> parse_ip(std::string_view text);
// "1.2.3.4:5678" or "[2001:db8::1]:5678", as the HTTP server reports a client.
std::optional<PeerAddr> parse_endpoint(std::string_view text);
std::string ip_text(const PeerAddr& a);        // "1.2.3.4", "2001:db8::1"
std::string endpoint_text(const PeerAddr& a);  // "1.2.3.4:5678", "[2001:db8::1]:5678"
bool is_loopback(const PeerAddr& a);           // 127.0.0.0/8 or ::1
PeerAddr v4_addr(std::uint32_t host_order_ip, std::uint16_t port);

// SipHash-2-4 (Aumasson and Bernstein): a keyed hash whose outputs an outsider cannot
// predict without the key. Tables keyed by client-chosen bytes use it so that nobody can
// pick info-hashes or addresses that all land in one bucket, and UDP connection ids are
// made with it so that they cannot be forged for another address.
struct SipKey {
  std::uint64_t k0 = 0, k1 = 0;
};
std::uint64_t siphash24(const SipKey& key, const void* data, std::size_t size);
// A key from the system's random source (std::random_device: /dev/urandom on Linux).
SipKey random_sip_key();

}  // namespace hf::torrent::tracker

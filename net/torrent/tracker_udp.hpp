// The UDP tracker protocol (BEP 15): request packets into values, replies into packets, and
// connection ids. Pure code; the socket is in tracker_udp_server.cpp.
//
//   connect   16 bytes: protocol id 0x41727101980, action 0, transaction id
//   announce  98 bytes or more (BEP 41 options after 98 are ignored)
//   scrape    16 + 20 x N bytes, 1 <= N <= kMaxUdpScrape
// Replies: connect 16 bytes, announce 20 + 6 (IPv4) or 18 (IPv6) bytes a peer, scrape 8 + 12
// a hash, error 8 + the message. Every integer is big-endian.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/tracker_query.hpp"
#include "net/torrent/tracker_swarm.hpp"
#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::tracker {

inline constexpr std::uint64_t kUdpProtocolId = 0x41727101980ULL;
// Requests longer than this are refused: the longest real one, a full scrape of
// kMaxUdpScrape hashes, is 1496 bytes.
inline constexpr std::size_t kMaxUdpRequest = 1500;
inline constexpr std::size_t kMaxUdpScrape = 74;
// Peers in one announce reply, so it fits one unfragmented datagram on a 1500-byte link
// (1472 bytes of IPv4 payload, 1452 of IPv6) with room to spare: 20 + 6 x 200 = 1220 bytes
// for IPv4 peers, 20 + 18 x 74 = 1352 bytes for IPv6 ones.
inline constexpr unsigned kMaxUdpPeers4 = 200;
inline constexpr unsigned kMaxUdpPeers6 = 74;

enum class UdpAction : std::uint32_t { connect = 0, announce = 1, scrape = 2, error = 3 };

struct UdpRequest {
  UdpAction action = UdpAction::connect;
  std::uint32_t transaction = 0;
  std::uint64_t connection = 0;
  AnnounceRequest announce;      // action announce; announce.ip holds a non-zero `ip` field
  std::uint32_t key = 0;         // announce: the client's key (not used for identity here)
  std::vector<InfoHash> hashes;  // action scrape
};

enum class UdpParse {
  ok,
  drop,   // too short to hold a transaction id: nothing to answer to
  error,  // answer with an error packet carrying *why
};

UdpParse parse_udp_request(std::span<const std::uint8_t> packet, UdpRequest* out, std::string* why);

// Replies, appended to *out.
void encode_udp_connect(std::uint32_t transaction, std::uint64_t connection, std::string* out);
void encode_udp_announce(std::uint32_t transaction, const AnnounceReply& r, bool v6, std::string* out);
void encode_udp_scrape(std::uint32_t transaction, const std::vector<SwarmCounts>& counts, std::string* out);
void encode_udp_error(std::uint32_t transaction, std::string_view message, std::string* out);

// Connection ids without a table: SipHash-2-4 under a per-process secret of the client's
// address and port and the current time slot. Only the client at that address can have one
// (it is sent there), so announces from forged source addresses are refused, and a slot is
// accepted for one slot more, so an id lives between one and two slots (BEP 15 asks for at
// least one minute on the client's side, two at most on the tracker's).
class ConnectionIds {
 public:
  explicit ConnectionIds(SipKey key = random_sip_key(), std::int64_t slot_seconds = 60)
      : key_(key), slot_(slot_seconds) {}
  std::uint64_t issue(const PeerAddr& from, std::int64_t now) const { return make(from, now / slot_); }
  bool valid(std::uint64_t id, const PeerAddr& from, std::int64_t now) const {
    const std::int64_t s = now / slot_;
    return id == make(from, s) || id == make(from, s - 1);
  }

 private:
  std::uint64_t make(const PeerAddr& from, std::int64_t slot) const;
  SipKey key_;
  std::int64_t slot_;
};

}  // namespace hf::torrent::tracker

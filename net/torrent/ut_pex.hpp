// Peer exchange (BEP 11, ut_pex): connected peers tell each other whom else they are
// connected to, about once a minute, as the change since their last message. Pure code: the
// message, and PexState, which remembers what one peer was told and makes the next diff.
//
//   d5:added<6 bytes a peer>7:added.f<1 byte a peer>7:dropped<6 bytes a peer>
//    6:added6<18 bytes a peer>8:added6.f<...>8:dropped6<18 bytes a peer>e
//
// Never used for private torrents (BEP 27).
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/tracker_types.hpp"

namespace hf::torrent {

namespace wire {

// The id we ask peers to use for ut_pex messages to us.
inline constexpr std::uint8_t kUtPexId = 1;
// At most this many added and dropped peers in one message, as BEP 11 asks.
inline constexpr std::size_t kPexMax = 50;

inline constexpr std::uint8_t kPexSeed = 0x02;       // added.f: the peer is a seed
inline constexpr std::uint8_t kPexConnectable = 0x10;  // it accepted our connection

struct PexPeer {
  tracker::PeerAddr addr;
  std::uint8_t flags = 0;
};

struct PexMessage {
  std::vector<PexPeer> added;  // IPv4 and IPv6
  std::vector<tracker::PeerAddr> dropped;
};

std::string encode_pex(const PexMessage& m);
// nullopt with *why when it is not a dictionary or a compact list is not a whole number of
// entries; at most `max_peers` added entries are kept (a flood is cut, not refused).
std::optional<PexMessage> parse_pex(std::string_view payload, std::string* why, std::size_t max_peers = 200);

}  // namespace wire

// What one peer has been told: the next message is the difference between the peers we
// are connected to now and what it heard last, at most kPexMax each way.
class PexState {
 public:
  // Empty when there is nothing new to say.
  std::optional<wire::PexMessage> next(const std::vector<wire::PexPeer>& connected);

 private:
  std::set<std::pair<std::string, std::uint16_t>> told_;  // address bytes and port
};

}  // namespace hf::torrent

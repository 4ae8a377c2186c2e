// A client's side of trackers: HTTP announce and scrape URLs and replies (BEP 3, 23, 48, 7),
// UDP tracker packets (BEP 15), and announce-list tiers (BEP 12). Pure code: what goes out
// as bytes and what comes back as values; the sockets and timers are the session's.
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/tracker_query.hpp"  // Event
#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::tracker {

struct AnnounceParams {
  InfoHash info_hash{};
  PeerId peer_id{};
  std::uint16_t port = 0;
  std::uint64_t uploaded = 0, downloaded = 0, left = 0;
  Event event = Event::none;
  int numwant = 50;  // -1: the tracker's default
  std::uint32_t key = 0;
  std::string tracker_id;  // sent back as given by the tracker's last reply
};

struct AnnounceResult {
  std::string failure;  // "failure reason": nothing else is meaningful
  std::string warning;
  std::int64_t interval = 1800;
  std::int64_t min_interval = 0;  // 0: not given
  std::string tracker_id;
  std::int64_t seeders = -1, leechers = -1;  // -1: not given
  std::vector<PeerAddr> peers;  // IPv4 and IPv6 (BEP 7), compact or not
};

// The announce URL for `base` (its own query kept): info_hash and peer_id percent-encoded
// byte by byte, compact=1, the event when there is one.
std::string announce_url(std::string_view base, const AnnounceParams& p);
// A tracker's bencoded reply; nullopt with *why when it is not one (a failure reason is a
// reply). Peer entries with a port of 0 or a malformed address are skipped.
std::optional<AnnounceResult> parse_announce_reply(std::string_view body, std::string* why);

// BEP 48's convention: the announce URL with the last path component "announce..." renamed
// "scrape..."; nullopt when the tracker cannot scrape.
std::optional<std::string> scrape_url(std::string_view announce, std::span<const InfoHash> hashes);
struct ScrapeCounts {
  InfoHash info_hash{};
  std::int64_t complete = 0, downloaded = 0, incomplete = 0;
};
std::optional<std::vector<ScrapeCounts>> parse_scrape_reply(std::string_view body, std::string* why);

// UDP (BEP 15). Requests are returned as bytes; replies are checked against the action and
// transaction id sent, and an error reply's message is returned in *why.
std::string udp_connect_request(std::uint32_t transaction);
std::optional<std::uint64_t> parse_udp_connect_reply(std::span<const std::uint8_t> b, std::uint32_t transaction,
                                                     std::string* why);
std::string udp_announce_request(std::uint64_t connection, std::uint32_t transaction, const AnnounceParams& p);
// v6: the reply came over IPv6, so its peers are 18 bytes each (BEP 15's IPv6 extension).
std::optional<AnnounceResult> parse_udp_announce_reply(std::span<const std::uint8_t> b, std::uint32_t transaction,
                                                       bool v6, std::string* why);
std::string udp_scrape_request(std::uint64_t connection, std::uint32_t transaction, std::span<const InfoHash> hashes);
std::optional<std::vector<ScrapeCounts>> parse_udp_scrape_reply(std::span<const std::uint8_t> b,
                                                                std::uint32_t transaction,
                                                                std::span<const InfoHash> hashes, std::string* why);
// Seconds to wait for the reply to the n-th try (n from 0): 15 x 2^n, BEP 15's schedule
// (n is capped at 8). A connection id may be used for 60 seconds.
double udp_timeout(unsigned n);

// BEP 12 tiers: trackers tried tier by tier, in a random order within each tier fixed at
// the start; a tracker that answers moves to the front of its tier.
class TrackerTiers {
 public:
  TrackerTiers(std::vector<std::vector<std::string>> tiers, std::uint64_t seed);
  // The URLs in the order to try them now.
  std::vector<std::string> order() const;
  void succeeded(const std::string& url);
  bool empty() const { return tiers_.empty(); }

 private:
  std::vector<std::vector<std::string>> tiers_;
};

// A tracker URL split up: http://host[:port]/path?query, https://..., udp://host:port[/...];
// an IPv6 host is written in brackets and given here without them; the port is the
// scheme's default when absent (none for udp); the target is "/path?query". nullopt when
// it is not such a URL.
struct TrackerUrl {
  std::string scheme, host, port, target;
};
std::optional<TrackerUrl> split_tracker_url(std::string_view url);

// The body of a tracker's HTTP/1.x reply, read until the server closed the connection:
// Content-Length or chunked framing honoured, anything else up to the close. nullopt with
// *why (one line) for a malformed head, a status other than 200, or a truncated body.
std::optional<std::string> http_reply_body(std::string_view reply, std::string* why);

}  // namespace hf::torrent::tracker

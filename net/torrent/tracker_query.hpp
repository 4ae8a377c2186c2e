// HTTP tracker requests (BEP 3, BEP 7, BEP 23, BEP 48): the query string of an announce or a
// scrape into a request, or a one-line reason that the tracker sends back as its bencoded
// "failure reason". Pure code.
//
// info_hash and peer_id are 20 raw bytes, so they arrive percent-encoded byte by byte
// ("%ab%CD..."), mixed with plain unreserved characters; every %XX is one byte whatever its
// value, and '+' is a space, the form-encoding rule (clients escape a real '+' as %2B).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/message.hpp"
#include "net/torrent/tracker_types.hpp"

namespace hf::torrent::tracker {

enum class Event : std::uint8_t { none, completed, started, stopped };  // BEP 15's numbering

struct AnnounceRequest {
  InfoHash info_hash{};
  PeerId peer_id{};
  std::uint16_t port = 0;
  std::int64_t uploaded = 0;
  std::int64_t downloaded = 0;
  std::int64_t left = 0;
  Event event = Event::none;
  int numwant = -1;            // -1: not given (the tracker's default)
  bool compact = true;         // compact=0 asks for the dictionary model (BEP 3)
  bool no_peer_id = false;     // dictionary model without "peer id"
  std::optional<PeerAddr> ip;  // the `ip` parameter, when it is a literal address (trusted only from some callers)
};

struct QueryLimits {
  std::size_t max_params = 64;         // announce: more pairs than this is refused
  std::size_t max_scrape_hashes = 64;  // scrape: info_hash values in one request
};

// The query string after '?'. Required: info_hash, peer_id (20 bytes each), port (1..65535),
// left; uploaded and downloaded default to 0. Unknown parameters are ignored (key, trackerid,
// supportcrypto, corrupt...). Empty optional with *why on anything malformed.
std::optional<AnnounceRequest> parse_announce_query(std::string_view query, std::string* why,
                                                    const QueryLimits& lim = {});
// The same from parameters already split and decoded (the HTTP server's Request::query).
std::optional<AnnounceRequest> parse_announce_params(const http::Params& query, std::string* why,
                                                     const QueryLimits& lim = {});

// One or more info_hash parameters, in order, repeats dropped. A scrape with none (a "full
// scrape" of every torrent) is refused: on a large tracker it is megabytes per request.
std::optional<std::vector<InfoHash>> parse_scrape_query(std::string_view query, std::string* why,
                                                        const QueryLimits& lim = {});
std::optional<std::vector<InfoHash>> parse_scrape_params(const http::Params& query, std::string* why,
                                                         const QueryLimits& lim = {});

}  // namespace hf::torrent::tracker

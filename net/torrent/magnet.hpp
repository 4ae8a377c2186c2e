// Magnet links (BEP 9, BEP 53 for `so`, BEP 52 for urn:btmh): what a user pastes instead of a
// .torrent file. Pure code.
//
//   magnet:?xt=urn:btih:<40 hex | 32 base32>&xt=urn:btmh:1220<64 hex>&dn=name
//          &tr=<tracker>&tr=...&ws=<web seed>&xl=<length>&so=0,2,4-6&x.pe=<host:port>
//
// At least one of btih (v1, SHA-1) and btmh (v2, SHA-256 multihash) is required; a hybrid
// carries both. Parameters are percent-decoded ('+' is a space); unknown ones are kept out
// of the way (ignored), repeated single ones refused.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hf::torrent {

struct Magnet {
  std::optional<std::array<std::uint8_t, 20>> btih;                  // v1 info-hash
  std::optional<std::array<std::uint8_t, 32>> btmh;                  // v2 info-hash (the multihash's digest)
  std::string name;                                                  // dn
  std::vector<std::string> trackers;                                 // tr, in order, repeats dropped
  std::vector<std::string> web_seeds;                                // ws
  std::optional<std::uint64_t> length;                               // xl
  std::vector<std::pair<std::uint32_t, std::uint32_t>> select_only;  // so: inclusive file index ranges
  std::vector<std::string> peers;                                    // x.pe: "host:port"
};

// Empty with *why set to one line on anything malformed.
std::optional<Magnet> parse_magnet(std::string_view uri, std::string* why);

// A magnet link for these fields (btih as 40 lowercase hex digits, btmh as "1220" + hex).
std::string format_magnet(const Magnet& m);

}  // namespace hf::torrent

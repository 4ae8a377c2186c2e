// HTTP tracker replies as bencoded dictionaries (keys in sorted order, as bencode requires):
// announce (BEP 3 dictionary peers, BEP 23 compact peers, BEP 7 peers6), scrape (BEP 48) and
// failures. Written straight into a string rather than through a BValue tree: this is the hot
// path of every announce. Pure code.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/torrent/tracker_swarm.hpp"

namespace hf::torrent::tracker {

// compact: "peers" is 6 bytes per IPv4 peer (address, port, network order) and "peers6" 18
// per IPv6 peer (present only when there are some). Otherwise "peers" is a list of
// {"ip", "peer id", "port"} dictionaries holding both families ("peer id" left out with
// no_peer_id). Appends to *out.
void encode_announce(const AnnounceReply& r, bool compact, bool no_peer_id, std::string* out);

// {"files": {<20 raw bytes>: {"complete", "downloaded", "incomplete"}}}, keys sorted.
void encode_scrape(std::vector<std::pair<InfoHash, SwarmCounts>> files, std::string* out);

// {"failure reason": reason}: clients show the reason, and expect it with status 200.
std::string encode_failure(std::string_view reason);

}  // namespace hf::torrent::tracker

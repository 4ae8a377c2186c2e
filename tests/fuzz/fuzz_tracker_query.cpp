// The tracker's HTTP query parser (net/torrent/tracker_query.*): every announce and scrape a
// client sends. Properties: no crash; a refusal has a reason; an accepted announce has a
// port and the query, decoded, holds its 20-byte info_hash and peer_id; an accepted scrape
// has 1..max distinct hashes; the announce reply for it bencodes canonically.
#include <set>

#include "net/torrent/bencode.hpp"
#include "net/torrent/tracker_query.hpp"
#include "net/torrent/tracker_response.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tr = hf::torrent::tracker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view q = hf::fuzz::text_of(data, size);
  std::string why;
  if (auto a = tr::parse_announce_query(q, &why)) {
    HF_FUZZ_CHECK(a->port != 0 && a->left >= 0 && a->uploaded >= 0 && a->downloaded >= 0);
    HF_FUZZ_CHECK(a->numwant >= -1);
    tr::AnnounceReply r;
    tr::PeerInfo p;
    p.addr = tr::v4_addr(0x7f000001, a->port);
    p.id = a->peer_id;
    r.peers4.push_back(p);
    if (a->ip) r.peers4.push_back({*a->ip, a->peer_id});
    std::string out;
    tr::encode_announce(r, a->compact, a->no_peer_id, &out);
    auto d = hf::torrent::bdecode(out);
    HF_FUZZ_CHECK(d.value && d.warnings.empty() && hf::torrent::bencode(*d.value) == out);
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
  why.clear();
  if (auto s = tr::parse_scrape_query(q, &why)) {
    HF_FUZZ_CHECK(!s->empty() && s->size() <= tr::QueryLimits{}.max_scrape_hashes);
    HF_FUZZ_CHECK(std::set<tr::InfoHash>(s->begin(), s->end()).size() == s->size());
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
  return 0;
}

// The UDP tracker's packet parser (net/torrent/tracker_udp.*): every datagram from anyone.
// Properties: no crash; only packets under 16 bytes are dropped unanswered; an error has a
// reason; an accepted request matches its size rules; a valid announce goes through a swarm
// and its reply has the size BEP 15 gives it.
#include "net/torrent/tracker_swarm.hpp"
#include "net/torrent/tracker_udp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tr = hf::torrent::tracker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tr::Swarms swarms(tr::SwarmConfig{}, tr::SipKey{1, 2});
  tr::UdpRequest req;
  std::string why;
  const auto verdict = tr::parse_udp_request({data, size}, &req, &why);
  if (size < 16) {
    HF_FUZZ_CHECK(verdict == tr::UdpParse::drop);
    return 0;
  }
  HF_FUZZ_CHECK(verdict != tr::UdpParse::drop);
  if (verdict == tr::UdpParse::error) {
    HF_FUZZ_CHECK(!why.empty());
    std::string out;
    tr::encode_udp_error(req.transaction, why, &out);
    HF_FUZZ_CHECK(out.size() == 8 + why.size());
    return 0;
  }
  HF_FUZZ_CHECK(size <= tr::kMaxUdpRequest);
  switch (req.action) {
    case tr::UdpAction::connect:
      HF_FUZZ_CHECK(req.connection == tr::kUdpProtocolId);
      break;
    case tr::UdpAction::scrape:
      HF_FUZZ_CHECK(size == 16 + 20 * req.hashes.size() && !req.hashes.empty());
      break;
    case tr::UdpAction::announce: {
      HF_FUZZ_CHECK(size >= 98 && req.announce.port != 0 && req.announce.left >= 0);
      tr::AnnounceReply r;
      const auto from = tr::v4_addr(0x0a000000u | (data[0] & 0x0f), req.announce.port);
      if (!swarms.announce(req.announce, from, tr::kMaxUdpPeers4, 0, 1, &r)) {
        std::string out;
        tr::encode_udp_announce(req.transaction, r, false, &out);
        HF_FUZZ_CHECK(out.size() == 20 + 6 * r.peers4.size() && r.peers4.size() <= tr::kMaxUdpPeers4);
      }
      break;
    }
    case tr::UdpAction::error:
      HF_FUZZ_CHECK(false);
  }
  return 0;
}

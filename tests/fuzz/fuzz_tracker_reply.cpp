// What trackers send a client (net/torrent/tracker_client.*): HTTP announce and scrape
// replies (bencode), the HTTP reply's framing, tracker URLs, and UDP connect, announce and
// scrape replies. The first byte picks the parser. Properties: no crash; an accepted announce has an interval within [30 s, 6 h] and
// only peers with a port; a refusal has a reason; a UDP reply is only taken for the
// transaction it names.
#include <vector>

#include "net/torrent/tracker_client.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace tr = hf::torrent::tracker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t pick = data[0] % 7;
  const std::span<const std::uint8_t> b(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::uint32_t tid = b.size() >= 8 ? static_cast<std::uint32_t>(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7]) : 0;
  std::string why;
  auto check_peers = [](const tr::AnnounceResult& r) {
    if (!r.failure.empty()) return;
    HF_FUZZ_CHECK(r.interval >= 30 && r.interval <= 6 * 3600);
    for (const auto& p : r.peers) HF_FUZZ_CHECK(p.port != 0);
  };
  switch (pick) {
    case 0: {
      const auto r = tr::parse_announce_reply(text, &why);
      if (r) check_peers(*r);
      else HF_FUZZ_CHECK(!why.empty());
      break;
    }
    case 1: {
      const auto r = tr::parse_scrape_reply(text, &why);
      if (!r) HF_FUZZ_CHECK(!why.empty());
      break;
    }
    case 2: {
      const auto r = tr::parse_udp_connect_reply(b, tid, &why);
      if (r) HF_FUZZ_CHECK(b.size() >= 16 && b[3] == 0);
      if (!tr::parse_udp_connect_reply(b, tid + 1, &why)) HF_FUZZ_CHECK(!why.empty());
      else HF_FUZZ_CHECK(false);  // another transaction's reply is never taken
      break;
    }
    case 3: {
      const auto r = tr::parse_udp_announce_reply(b, tid, data[0] & 8, &why);
      if (r) check_peers(*r);
      else HF_FUZZ_CHECK(!why.empty());
      break;
    }
    case 5: {
      // An HTTP reply as read to the close: a body is never longer than what followed the
      // head, and a refusal says why.
      const auto body = tr::http_reply_body(text, &why);
      if (body) HF_FUZZ_CHECK(body->size() <= text.size());
      else HF_FUZZ_CHECK(!why.empty());
      break;
    }
    case 6: {
      // A tracker URL from a .torrent: split parts have a host, a port of 1..65535 and a
      // target that starts with '/'.
      const auto u = tr::split_tracker_url(text);
      if (u) {
        HF_FUZZ_CHECK(!u->host.empty() && !u->target.empty() && u->target[0] == '/');
        HF_FUZZ_CHECK(!u->port.empty() && std::stoul(u->port) >= 1 && std::stoul(u->port) <= 65535);
      }
      break;
    }
    default: {
      std::vector<tr::InfoHash> hashes((data[0] >> 3) % 4);
      const auto r = tr::parse_udp_scrape_reply(b, tid, hashes, &why);
      if (r) HF_FUZZ_CHECK(r->size() == hashes.size() && b.size() >= 8 + 12 * hashes.size());
      else HF_FUZZ_CHECK(!why.empty());
      break;
    }
  }
  return 0;
}

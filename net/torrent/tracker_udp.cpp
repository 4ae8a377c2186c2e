#include "net/torrent/tracker_udp.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace hf::torrent::tracker {

namespace {

std::uint64_t be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put32(std::uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out->append(b, 4);
}
void put64(std::uint64_t v, std::string* out) {
  put32(static_cast<std::uint32_t>(v >> 32), out);
  put32(static_cast<std::uint32_t>(v), out);
}
// Counts are int32 on the wire.
std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::int32_t>::max()));
}

}  // namespace

UdpParse parse_udp_request(std::span<const std::uint8_t> pk, UdpRequest* out, std::string* why) {
  if (pk.size() < 16) return UdpParse::drop;
  const std::uint8_t* p = pk.data();
  out->connection = be64(p);
  const std::uint32_t action = be32(p + 8);
  out->transaction = be32(p + 12);
  out->hashes.clear();
  if (pk.size() > kMaxUdpRequest) {
    *why = "packet too large";
    return UdpParse::error;
  }
  switch (action) {
    case 0:
      out->action = UdpAction::connect;
      if (out->connection != kUdpProtocolId) {
        *why = "connect without the protocol id";
        return UdpParse::error;
      }
      return UdpParse::ok;
    case 1: {
      out->action = UdpAction::announce;
      if (pk.size() < 98) {
        *why = "announce packet too short (98 bytes needed)";
        return UdpParse::error;
      }
      AnnounceRequest& a = out->announce;
      a = AnnounceRequest{};
      std::memcpy(a.info_hash.data(), p + 16, 20);
      std::memcpy(a.peer_id.data(), p + 36, 20);
      const std::uint64_t down = be64(p + 56), left = be64(p + 64), up = be64(p + 72);
      if (down > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          left > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          up > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        *why = "negative downloaded, left or uploaded";
        return UdpParse::error;
      }
      a.downloaded = static_cast<std::int64_t>(down);
      a.left = static_cast<std::int64_t>(left);
      a.uploaded = static_cast<std::int64_t>(up);
      const std::uint32_t event = be32(p + 80);
      if (event > 3) {
        *why = "event is not 0 to 3";
        return UdpParse::error;
      }
      a.event = static_cast<Event>(event);
      if (const std::uint32_t ip = be32(p + 84); ip != 0) a.ip = v4_addr(ip, 0);
      out->key = be32(p + 88);
      const auto numwant = static_cast<std::int32_t>(be32(p + 92));
      a.numwant = numwant < 0 ? -1 : numwant;
      a.port = static_cast<std::uint16_t>((p[96] << 8) | p[97]);
      if (a.port == 0) {
        *why = "port is 0";
        return UdpParse::error;
      }
      return UdpParse::ok;
    }
    case 2: {
      out->action = UdpAction::scrape;
      const std::size_t body = pk.size() - 16;
      if (body == 0 || body % 20 != 0) {
        *why = "scrape packet is not 16 bytes plus 20 a hash";
        return UdpParse::error;
      }
      if (body / 20 > kMaxUdpScrape) {
        *why = "too many hashes in one scrape";
        return UdpParse::error;
      }
      out->hashes.resize(body / 20);
      for (std::size_t i = 0; i < out->hashes.size(); ++i) std::memcpy(out->hashes[i].data(), p + 16 + 20 * i, 20);
      return UdpParse::ok;
    }
    default:
      *why = "unknown action";
      return UdpParse::error;
  }
}

void encode_udp_connect(std::uint32_t transaction, std::uint64_t connection, std::string* out) {
  put32(0, out);
  put32(transaction, out);
  put64(connection, out);
}

void encode_udp_announce(std::uint32_t transaction, const AnnounceReply& r, bool v6, std::string* out) {
  const auto& peers = v6 ? r.peers6 : r.peers4;
  out->reserve(out->size() + 20 + (v6 ? 18 : 6) * peers.size());
  put32(1, out);
  put32(transaction, out);
  put32(r.interval, out);
  put32(clamp32(r.counts.incomplete), out);
  put32(clamp32(r.counts.complete), out);
  for (const auto& p : peers) {
    out->append(reinterpret_cast<const char*>(p.addr.ip.data()), v6 ? 16 : 4);
    out->push_back(static_cast<char>(p.addr.port >> 8));
    out->push_back(static_cast<char>(p.addr.port & 0xff));
  }
}

void encode_udp_scrape(std::uint32_t transaction, const std::vector<SwarmCounts>& counts, std::string* out) {
  put32(2, out);
  put32(transaction, out);
  for (const auto& c : counts) {
    put32(clamp32(c.complete), out);
    put32(clamp32(c.downloaded), out);
    put32(clamp32(c.incomplete), out);
  }
}

void encode_udp_error(std::uint32_t transaction, std::string_view message, std::string* out) {
  put32(3, out);
  put32(transaction, out);
  out->append(message);
}

std::uint64_t ConnectionIds::make(const PeerAddr& from, std::int64_t slot) const {
  std::uint8_t b[27];
  std::memcpy(b, from.ip.data(), 16);
  b[16] = static_cast<std::uint8_t>(from.port >> 8);
  b[17] = static_cast<std::uint8_t>(from.port);
  b[18] = from.v6 ? 6 : 4;
  for (int i = 0; i < 8; ++i) b[19 + i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(slot) >> (8 * i));
  return siphash24(key_, b, sizeof b);
}

}  // namespace hf::torrent::tracker

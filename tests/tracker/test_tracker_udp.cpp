// The UDP tracker (BEP 15): the packet codec, connection ids bound to the address and
// expiring, and the whole handling of a datagram (tracker_udp_server's handle_udp_packet)
// without a socket.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "net/torrent/tracker_state.hpp"
#include "net/torrent/tracker_udp.hpp"
#include "net/torrent/tracker_udp_server.hpp"

namespace tr = hf::torrent::tracker;

namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(Bytes* b, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) b->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put64(Bytes* b, std::uint64_t v) {
  put32(b, static_cast<std::uint32_t>(v >> 32));
  put32(b, static_cast<std::uint32_t>(v));
}
std::uint32_t get32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[at + i]);
  return v;
}
std::uint64_t get64(const std::string& s, std::size_t at) {
  return (std::uint64_t{get32(s, at)} << 32) | get32(s, at + 4);
}

Bytes connect_packet(std::uint32_t tx) {
  Bytes b;
  put64(&b, tr::kUdpProtocolId);
  put32(&b, 0);
  put32(&b, tx);
  return b;
}

Bytes announce_packet(std::uint64_t conn, std::uint32_t tx, std::uint8_t torrent, std::uint64_t left,
                      std::uint32_t event, std::uint16_t port, std::int32_t numwant = -1, std::uint32_t ip = 0) {
  Bytes b;
  put64(&b, conn);
  put32(&b, 1);
  put32(&b, tx);
  for (int i = 0; i < 20; ++i) b.push_back(torrent);
  for (int i = 0; i < 20; ++i) b.push_back('P');
  put64(&b, 0);     // downloaded
  put64(&b, left);  // left
  put64(&b, 0);     // uploaded
  put32(&b, event);
  put32(&b, ip);
  put32(&b, 0x1234);  // key
  put32(&b, static_cast<std::uint32_t>(numwant));
  b.push_back(static_cast<std::uint8_t>(port >> 8));
  b.push_back(static_cast<std::uint8_t>(port));
  return b;
}

Bytes scrape_packet(std::uint64_t conn, std::uint32_t tx, std::initializer_list<std::uint8_t> torrents) {
  Bytes b;
  put64(&b, conn);
  put32(&b, 2);
  put32(&b, tx);
  for (auto t : torrents)
    for (int i = 0; i < 20; ++i) b.push_back(t);
  return b;
}

tr::UdpParse parse(const Bytes& b, tr::UdpRequest* r, std::string* why) {
  return tr::parse_udp_request({b.data(), b.size()}, r, why);
}

std::string error_text(const std::string& reply) {
  EXPECT_GE(reply.size(), 8u);
  EXPECT_EQ(get32(reply, 0), 3u);
  return reply.substr(8);
}

}  // namespace

TEST(TrackerUdpCodec, Connect) {
  tr::UdpRequest r;
  std::string why;
  ASSERT_EQ(parse(connect_packet(77), &r, &why), tr::UdpParse::ok);
  EXPECT_EQ(r.action, tr::UdpAction::connect);
  EXPECT_EQ(r.transaction, 77u);
  Bytes bad = connect_packet(78);
  bad[7] ^= 1;
  ASSERT_EQ(parse(bad, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "connect without the protocol id");
  EXPECT_EQ(r.transaction, 78u) << "errors still carry the transaction id";
  std::string out;
  tr::encode_udp_connect(77, 0x0102030405060708ULL, &out);
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(get32(out, 0), 0u);
  EXPECT_EQ(get32(out, 4), 77u);
  EXPECT_EQ(get64(out, 8), 0x0102030405060708ULL);
}

TEST(TrackerUdpCodec, Announce) {
  tr::UdpRequest r;
  std::string why;
  Bytes b = announce_packet(42, 9, 0xab, 1000, 2, 6881, 30, 0x0a000001);
  for (int i = 0; i < 10; ++i) b.push_back(2);  // BEP 41 options after byte 98 are ignored
  ASSERT_EQ(parse(b, &r, &why), tr::UdpParse::ok) << why;
  EXPECT_EQ(r.action, tr::UdpAction::announce);
  EXPECT_EQ(r.connection, 42u);
  EXPECT_EQ(r.transaction, 9u);
  EXPECT_EQ(r.announce.info_hash[0], 0xab);
  EXPECT_EQ(r.announce.peer_id[19], 'P');
  EXPECT_EQ(r.announce.left, 1000);
  EXPECT_EQ(r.announce.event, tr::Event::started);
  EXPECT_EQ(r.announce.numwant, 30);
  EXPECT_EQ(r.announce.port, 6881);
  EXPECT_EQ(r.key, 0x1234u);
  ASSERT_TRUE(r.announce.ip);
  EXPECT_EQ(tr::ip_text(*r.announce.ip), "10.0.0.1");
  ASSERT_EQ(parse(announce_packet(42, 9, 1, 0, 0, 1, -1), &r, &why), tr::UdpParse::ok);
  EXPECT_EQ(r.announce.numwant, -1);
  EXPECT_FALSE(r.announce.ip);
}

TEST(TrackerUdpCodec, Refusals) {
  tr::UdpRequest r;
  std::string why;
  EXPECT_EQ(parse(Bytes(15, 0), &r, &why), tr::UdpParse::drop) << "no transaction id to answer to";
  EXPECT_EQ(parse(Bytes(), &r, &why), tr::UdpParse::drop);
  Bytes b = announce_packet(1, 2, 3, 0, 0, 6881);
  b.resize(97);
  EXPECT_EQ(parse(b, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "announce packet too short (98 bytes needed)");
  EXPECT_EQ(parse(announce_packet(1, 2, 3, 0, 4, 6881), &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "event is not 0 to 3");
  EXPECT_EQ(parse(announce_packet(1, 2, 3, 0, 0, 0), &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "port is 0");
  EXPECT_EQ(parse(announce_packet(1, 2, 3, ~0ULL, 0, 1), &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "negative downloaded, left or uploaded");
  Bytes s = scrape_packet(1, 2, {});
  EXPECT_EQ(parse(s, &r, &why), tr::UdpParse::error);
  s = scrape_packet(1, 2, {1});
  s.pop_back();
  EXPECT_EQ(parse(s, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "scrape packet is not 16 bytes plus 20 a hash");
  s = scrape_packet(1, 2, {});
  for (int i = 0; i < 75 * 20; ++i) s.push_back(1);
  EXPECT_EQ(parse(s, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "packet too large");
  s.resize(16 + 75 * 20 - 20 * 1);
  EXPECT_EQ(parse(s, &r, &why), tr::UdpParse::ok) << why;
  EXPECT_EQ(r.hashes.size(), 74u);
  Bytes odd = connect_packet(5);
  odd[11] = 9;
  EXPECT_EQ(parse(odd, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "unknown action");
  Bytes huge(4000, 0);
  EXPECT_EQ(parse(huge, &r, &why), tr::UdpParse::error);
  EXPECT_EQ(why, "packet too large");
}

TEST(TrackerUdpCodec, ScrapeAndAnnounceReplies) {
  std::string out;
  tr::encode_udp_scrape(5, {{1, 2, 3}, {4, 5, 6}}, &out);
  ASSERT_EQ(out.size(), 8u + 24u);
  EXPECT_EQ(get32(out, 0), 2u);
  EXPECT_EQ(get32(out, 8), 1u);   // seeders
  EXPECT_EQ(get32(out, 12), 3u);  // completed
  EXPECT_EQ(get32(out, 16), 2u);  // leechers
  tr::AnnounceReply a;
  a.interval = 1800;
  a.counts = {7, 8, 0};
  tr::PeerInfo p;
  p.addr = tr::v4_addr(0x01020304, 0x1ae1);
  a.peers4.push_back(p);
  out.clear();
  tr::encode_udp_announce(6, a, false, &out);
  ASSERT_EQ(out.size(), 26u);
  EXPECT_EQ(get32(out, 0), 1u);
  EXPECT_EQ(get32(out, 4), 6u);
  EXPECT_EQ(get32(out, 8), 1800u);
  EXPECT_EQ(get32(out, 12), 8u);  // leechers
  EXPECT_EQ(get32(out, 16), 7u);  // seeders
  EXPECT_EQ(out.substr(20), std::string("\x01\x02\x03\x04\x1a\xe1", 6));
  out.clear();
  tr::encode_udp_error(7, "nope", &out);
  EXPECT_EQ(out.size(), 12u);
  EXPECT_EQ(error_text(out), "nope");
  // The largest replies fit one unfragmented datagram.
  EXPECT_LE(20 + 6 * tr::kMaxUdpPeers4, 1400u);
  EXPECT_LE(20 + 18 * tr::kMaxUdpPeers6, 1400u);
}

TEST(TrackerUdpIds, BoundToAddressAndExpiring) {
  tr::ConnectionIds ids(tr::SipKey{1, 2}, 60);
  const auto a = tr::v4_addr(0x7f000001, 5000);
  const std::uint64_t id = ids.issue(a, 1000);  // slot 16 (960..1019)
  EXPECT_TRUE(ids.valid(id, a, 1000));
  EXPECT_TRUE(ids.valid(id, a, 1079)) << "the next slot still takes it: at least 60 s";
  EXPECT_FALSE(ids.valid(id, a, 1080)) << "gone within 120 s";
  EXPECT_FALSE(ids.valid(id, tr::v4_addr(0x7f000001, 5001), 1000)) << "another port";
  EXPECT_FALSE(ids.valid(id, tr::v4_addr(0x7f000002, 5000), 1000)) << "another address";
  EXPECT_FALSE(ids.valid(id ^ 1, a, 1000));
  tr::ConnectionIds other(tr::SipKey{3, 4}, 60);
  EXPECT_FALSE(other.valid(id, a, 1000)) << "another process's secret";
  // Every issue time in a slot gives at least 60 s.
  for (std::int64_t t = 960; t < 1020; ++t) {
    EXPECT_TRUE(ids.valid(ids.issue(a, t), a, t + 60));
    EXPECT_FALSE(ids.valid(ids.issue(a, t), a, t + 120));
  }
}

TEST(TrackerUdpHandling, ConnectAnnounceScrape) {
  tr::TrackerConfig cfg;
  cfg.rate_limit = 0;
  tr::TrackerState st(cfg);
  const auto client = tr::v4_addr(0x0a000005, 40000);
  const auto other = tr::v4_addr(0x0a000006, 40000);
  auto send = [&](const Bytes& b, const tr::PeerAddr& from, double now = 500) {
    return tr::handle_udp_packet(st, {b.data(), b.size()}, from, now);
  };
  std::string reply = send(connect_packet(1), client);
  ASSERT_EQ(reply.size(), 16u);
  const std::uint64_t conn = get64(reply, 8);
  reply = send(connect_packet(2), other);
  const std::uint64_t conn2 = get64(reply, 8);

  reply = send(announce_packet(conn, 3, 0xaa, 0, 2, 7000), client);
  ASSERT_EQ(reply.size(), 20u) << "alone in the swarm";
  EXPECT_EQ(get32(reply, 0), 1u);
  EXPECT_EQ(get32(reply, 4), 3u);
  EXPECT_EQ(get32(reply, 16), 1u);  // one seeder: itself
  reply = send(announce_packet(conn2, 4, 0xaa, 10, 2, 7001), other);
  ASSERT_EQ(reply.size(), 26u);
  EXPECT_EQ(reply.substr(20), std::string("\x0a\x00\x00\x05\x1b\x58", 6)) << "the seeder at its announced port";

  // Someone else's id, a made-up id, and an id from long ago: refused, and nothing recorded.
  EXPECT_EQ(error_text(send(announce_packet(conn2, 5, 0xbb, 0, 2, 7000), client)),
            "connection id expired or not issued to this address; connect again");
  EXPECT_EQ(error_text(send(announce_packet(12345, 6, 0xbb, 0, 2, 7000), client)),
            "connection id expired or not issued to this address; connect again");
  EXPECT_EQ(error_text(send(announce_packet(conn, 7, 0xbb, 0, 2, 7000), client, 500 + 200)),
            "connection id expired or not issued to this address; connect again");
  bool known = true;
  tr::InfoHash bb;
  bb.fill(0xbb);
  st.swarms.scrape(bb, &known);
  EXPECT_FALSE(known);

  reply = send(scrape_packet(conn, 8, {0xaa, 0xcc}), client);
  ASSERT_EQ(reply.size(), 8u + 24u);
  EXPECT_EQ(get32(reply, 8), 1u);   // seeders
  EXPECT_EQ(get32(reply, 16), 1u);  // leechers
  EXPECT_EQ(get32(reply, 20), 0u);  // the unknown one: zeros
  EXPECT_EQ(st.counters.udp_announces.load(), 2u);
  EXPECT_EQ(st.counters.bad_connection_ids.load(), 3u);
}

TEST(TrackerUdpHandling, IpFieldOnlyFromLoopbackAndIpv6Replies) {
  tr::TrackerConfig cfg;
  cfg.rate_limit = 0;
  tr::TrackerState st(cfg);
  const auto remote = tr::v4_addr(0x0a000005, 40000);
  const auto local = tr::v4_addr(0x7f000001, 40000);
  auto send = [&](const Bytes& b, const tr::PeerAddr& from) {
    return tr::handle_udp_packet(st, {b.data(), b.size()}, from, 100);
  };
  auto conn_of = [&](const tr::PeerAddr& a) { return get64(send(connect_packet(1), a), 8); };
  send(announce_packet(conn_of(remote), 1, 0x11, 5, 2, 7000, -1, 0x01020304), remote);  // ip ignored
  send(announce_packet(conn_of(local), 1, 0x11, 5, 2, 7000, -1, 0x05060708), local);    // ip honoured
  auto v6 = *tr::parse_endpoint("[2001:db8::9]:4000");
  std::string reply = send(announce_packet(conn_of(v6), 1, 0x11, 5, 2, 7000), v6);
  EXPECT_EQ(reply.size(), 20u) << "over IPv6 only IPv6 peers, 18 bytes each; there are none";
  auto v6b = *tr::parse_endpoint("[2001:db8::a]:4000");
  reply = send(announce_packet(conn_of(v6b), 1, 0x11, 5, 2, 7000), v6b);
  ASSERT_EQ(reply.size(), 38u);
  reply =
      send(announce_packet(conn_of(tr::v4_addr(0x0a000009, 1)), 1, 0x11, 5, 2, 7000, 10), tr::v4_addr(0x0a000009, 1));
  ASSERT_EQ(reply.size(), 20u + 12u);
  std::set<std::string> ips = {reply.substr(20, 4), reply.substr(26, 4)};
  EXPECT_EQ(ips, (std::set<std::string>{std::string("\x0a\x00\x00\x05", 4), std::string("\x05\x06\x07\x08", 4)}));
}

TEST(TrackerUdpHandling, RateLimitedSendersAreDropped) {
  tr::TrackerConfig cfg;
  cfg.rate_limit = 1;
  cfg.rate_burst = 3;
  tr::TrackerState st(cfg);
  const auto flood = tr::v4_addr(0x7f000001, 1), calm = tr::v4_addr(0x7f000002, 1);
  int answered = 0;
  Bytes c = connect_packet(1);
  for (int i = 0; i < 100; ++i) answered += !tr::handle_udp_packet(st, {c.data(), c.size()}, flood, 10).empty();
  EXPECT_EQ(answered, 3);
  EXPECT_FALSE(tr::handle_udp_packet(st, {c.data(), c.size()}, calm, 10).empty());
  EXPECT_EQ(st.counters.rate_limited.load(), 97u);
}

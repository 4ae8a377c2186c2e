// Peer exchange (BEP 11): the message both ways, the diffs one peer is sent over time, and a
// TorrentSession telling scripted peers about each other (never on a private torrent).
#include <gtest/gtest.h>

#include "net/torrent/peer_extensions.hpp"
#include "net/torrent/torrent_session.hpp"
#include "net/torrent/ut_pex.hpp"

namespace {

using namespace hf::torrent;
namespace wire = hf::torrent::wire;

tracker::PeerAddr addr(const char* text) { return *tracker::parse_endpoint(text); }

TEST(UtPex, MessagesRoundTrip) {
  wire::PexMessage m;
  m.added = {{addr("10.0.0.1:6881"), wire::kPexSeed}, {addr("[2001:db8::5]:51413"), wire::kPexConnectable}};
  m.dropped = {addr("10.0.0.9:1"), addr("[::1]:2")};
  std::string why;
  auto back = wire::parse_pex(wire::encode_pex(m), &why);
  ASSERT_TRUE(back) << why;
  ASSERT_EQ(back->added.size(), 2u);
  EXPECT_EQ(back->added[0].addr, m.added[0].addr);
  EXPECT_EQ(back->added[0].flags, wire::kPexSeed);
  EXPECT_EQ(back->added[1].addr, m.added[1].addr);
  EXPECT_EQ(back->added[1].flags, wire::kPexConnectable);
  EXPECT_EQ(back->dropped, m.dropped);
  // The compact form is what every client writes: 4 address bytes and the port, big-endian.
  const std::string e = wire::encode_pex({{{addr("1.2.3.4:258"), 0}}, {}});
  EXPECT_NE(e.find(std::string("5:added6:\x01\x02\x03\x04\x01\x02", 15)), std::string::npos);
}

TEST(UtPex, MalformedAndFloodedMessages) {
  std::string why;
  EXPECT_FALSE(wire::parse_pex("li1ee", &why));
  EXPECT_FALSE(wire::parse_pex("d5:added5:abcdee", &why));  // not whole 6-byte entries
  EXPECT_FALSE(wire::parse_pex("d6:added67:abcdefe", &why));
  EXPECT_FALSE(wire::parse_pex("d5:added", &why));
  EXPECT_FALSE(why.empty());
  // Missing flags are zero; unknown keys are ignored.
  auto m = wire::parse_pex(std::string("d5:added6:\x01\x02\x03\x04\x00\x50", 16) + "3:fooi1ee", &why);
  ASSERT_TRUE(m) << why;
  ASSERT_EQ(m->added.size(), 1u);
  EXPECT_EQ(m->added[0].flags, 0);
  EXPECT_EQ(m->added[0].addr.port, 80);
  // A thousand peers in one message: the first 200 are kept.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += std::string("\x0a\x00", 2) + char(i >> 8) + char(i) + "\x1a\xe1";
  m = wire::parse_pex("d5:added" + std::to_string(many.size()) + ":" + many + "e", &why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->added.size(), 200u);
}

TEST(PexState, SaysOnlyWhatChanged) {
  PexState s;
  std::vector<wire::PexPeer> now = {{addr("10.0.0.1:1"), 0}, {addr("10.0.0.2:2"), 0}};
  auto m = s.next(now);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->added.size(), 2u);
  EXPECT_TRUE(m->dropped.empty());
  EXPECT_FALSE(s.next(now));  // nothing new
  now.erase(now.begin());
  now.push_back({addr("[::1]:3"), 0});
  m = s.next(now);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->added.size(), 1u);
  EXPECT_EQ(m->added[0].addr, addr("[::1]:3"));
  ASSERT_EQ(m->dropped.size(), 1u);
  EXPECT_EQ(m->dropped[0], addr("10.0.0.1:1"));
}

TEST(PexState, AtMostFiftyAtATime) {
  PexState s;
  std::vector<wire::PexPeer> now;
  for (int i = 0; i < 120; ++i) now.push_back({addr(("10.0.1." + std::to_string(i) + ":7").c_str()), 0});
  std::size_t told = 0;
  for (int round = 0; round < 3; ++round) {
    auto m = s.next(now);
    ASSERT_TRUE(m);
    EXPECT_LE(m->added.size(), wire::kPexMax);
    told += m->added.size();
  }
  EXPECT_EQ(told, 120u);
  EXPECT_FALSE(s.next(now));
}

Metainfo small_torrent(bool is_private) {
  Metainfo m;
  m.has_v1 = true;
  m.piece_length = 16384;
  m.total_length = 32768;
  m.pieces.assign(40, 'x');
  m.info_hash_v1.fill(0x33);
  m.is_private = is_private;
  return m;
}

wire::Handshake hs_of(const TorrentSession& s, char id) {
  wire::Handshake h = s.our_handshake();
  h.peer_id.fill(static_cast<std::uint8_t>(id));
  return h;
}

// Every ut_pex message (our id for it on that link: 5) in the bytes sent to a peer.
std::vector<wire::PexMessage> pex_in(const std::string& bytes) {
  std::vector<wire::PexMessage> out;
  std::string_view rest(bytes);
  while (!rest.empty()) {
    wire::Message m;
    auto r = wire::decode_message(rest, &m);
    if (r.status != wire::Decode::ok) break;
    if (m.known && m.id == wire::MsgId::extended && m.ext_id == 5) {
      std::string why;
      if (auto p = wire::parse_pex(m.data, &why)) out.push_back(*p);
    }
    rest.remove_prefix(r.consumed);
  }
  return out;
}

void ext_handshake(TorrentSession& s, PeerKey k, std::optional<std::uint16_t> port, double now) {
  wire::ExtHandshake eh;
  eh.extensions["ut_pex"] = 5;
  eh.listen_port = port;
  wire::Message m;
  m.id = wire::MsgId::extended;
  m.ext_id = 0;
  const std::string payload = wire::encode_ext_handshake(eh);
  m.data = payload;
  s.peer_message(k, m, now);
}

TEST(TorrentSessionPex, TellsPeersOfEachOtherWhereTheyListen) {
  const Metainfo meta = small_torrent(false);
  wire::Hash20 me{};
  me.fill(0x01);
  TorrentSession s(meta, me, {});
  ASSERT_EQ(s.peer_connected(1, hs_of(s, 'a'), "10.0.0.1:6881", std::nullopt, 0), "");
  s.mark_outgoing(1);  // we dialled it: it listens there
  ASSERT_EQ(s.peer_connected(2, hs_of(s, 'b'), "10.0.0.2:40000", std::nullopt, 0), "");  // it dialled us
  const std::string hello = s.take_output(1);
  EXPECT_NE(hello.find("6:ut_pexi1e"), std::string::npos);  // offered in our extension handshake
  s.take_output(2);
  ext_handshake(s, 1, std::nullopt, 0);
  ext_handshake(s, 2, 7000, 0);
  s.tick(1);
  EXPECT_TRUE(pex_in(s.take_output(1)).empty());  // not at once
  s.tick(5);
  auto to1 = pex_in(s.take_output(1));
  auto to2 = pex_in(s.take_output(2));
  ASSERT_EQ(to1.size(), 1u);
  ASSERT_EQ(to1[0].added.size(), 1u);
  EXPECT_EQ(to1[0].added[0].addr, addr("10.0.0.2:7000"));  // its listen port, not the connection's
  ASSERT_EQ(to2.size(), 1u);
  ASSERT_EQ(to2[0].added.size(), 1u);
  EXPECT_EQ(to2[0].added[0].addr, addr("10.0.0.1:6881"));
  EXPECT_TRUE(to2[0].added[0].flags & wire::kPexConnectable);
  // Peer 1 leaves: the next message to peer 2, a minute on, drops it.
  s.peer_gone(1);
  s.tick(30);
  EXPECT_TRUE(pex_in(s.take_output(2)).empty());
  s.tick(70);
  to2 = pex_in(s.take_output(2));
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_TRUE(to2[0].added.empty());
  ASSERT_EQ(to2[0].dropped.size(), 1u);
  EXPECT_EQ(to2[0].dropped[0], addr("10.0.0.1:6881"));
}

TEST(TorrentSessionPex, WhatPeersSayBecomesAddressesToDial) {
  const Metainfo meta = small_torrent(false);
  wire::Hash20 me{};
  me.fill(0x01);
  TorrentSession s(meta, me, {});
  ASSERT_EQ(s.peer_connected(1, hs_of(s, 'a'), "10.0.0.1:6881", std::nullopt, 0), "");
  wire::PexMessage pm;
  pm.added = {{addr("10.0.0.7:1234"), 0}, {addr("[2001:db8::7]:99"), 0}, {addr("10.0.0.8:0"), 0}};
  const std::string payload = wire::encode_pex(pm);
  wire::Message m;
  m.id = wire::MsgId::extended;
  m.ext_id = wire::kUtPexId;
  m.data = payload;
  s.peer_message(1, m, 0);
  auto found = s.take_pex_peers();
  EXPECT_EQ(found, (std::vector<std::string>{"10.0.0.7:1234", "[2001:db8::7]:99"}));  // port 0 is no address
  s.peer_message(1, m, 5);  // again within 30 s: ignored, and nothing twice anyway
  EXPECT_TRUE(s.take_pex_peers().empty());
  const std::string garbage = "d5:added5:abcdee";
  m.data = garbage;
  s.peer_message(1, m, 100);
  auto closes = s.take_closes();
  ASSERT_EQ(closes.size(), 1u);  // a malformed message closes the peer
}

TEST(TorrentSessionPex, NeverOnAPrivateTorrent) {
  const Metainfo meta = small_torrent(true);
  wire::Hash20 me{};
  me.fill(0x01);
  TorrentSession s(meta, me, {});
  ASSERT_EQ(s.peer_connected(1, hs_of(s, 'a'), "10.0.0.1:6881", std::nullopt, 0), "");
  s.mark_outgoing(1);
  ASSERT_EQ(s.peer_connected(2, hs_of(s, 'b'), "10.0.0.2:6881", std::nullopt, 0), "");
  s.mark_outgoing(2);
  EXPECT_EQ(s.take_output(1).find("ut_pex"), std::string::npos);
  s.take_output(2);
  ext_handshake(s, 1, std::nullopt, 0);
  ext_handshake(s, 2, std::nullopt, 0);
  s.tick(100);
  EXPECT_TRUE(pex_in(s.take_output(1)).empty());
  EXPECT_TRUE(pex_in(s.take_output(2)).empty());
  wire::PexMessage pm;
  pm.added = {{addr("10.0.0.7:1234"), 0}};
  const std::string payload = wire::encode_pex(pm);
  wire::Message m;
  m.id = wire::MsgId::extended;
  m.ext_id = wire::kUtPexId;
  m.data = payload;
  s.peer_message(1, m, 100);
  EXPECT_TRUE(s.take_pex_peers().empty());
}

}  // namespace

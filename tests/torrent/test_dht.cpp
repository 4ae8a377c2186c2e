// The DHT (BEP 5, BEP 32) as pure code: KRPC messages both ways and refused when malformed,
// the routing table through scripted scenarios, and nodes on a simulated network finding
// each other's peers, also beside hostile nodes (floods, bogus tokens, contact floods).
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "net/torrent/bencode.hpp"
#include "net/torrent/dht_krpc.hpp"
#include "net/torrent/dht_node.hpp"
#include "net/torrent/dht_routing.hpp"
#include "net/torrent/dht_sim.hpp"

namespace {

using namespace hf::torrent;
using namespace hf::torrent::dht;

PeerAddr ep(const char* text) { return *tracker::parse_endpoint(text); }

NodeId id_of(std::string_view s) {
  NodeId id{};
  for (std::size_t i = 0; i < 20 && i < s.size(); ++i) id[i] = static_cast<std::uint8_t>(s[i]);
  return id;
}

// An id sharing exactly `bits` leading bits with `base` (then differing), the rest `fill`.
NodeId id_at(const NodeId& base, int bits, std::uint8_t fill) {
  NodeId id;
  id.fill(fill);
  for (int b = 0; b < bits; ++b) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (b % 8));
    id[b / 8] = static_cast<std::uint8_t>((id[b / 8] & ~mask) | (base[b / 8] & mask));
  }
  const std::uint8_t mask = static_cast<std::uint8_t>(0x80 >> (bits % 8));
  id[bits / 8] = static_cast<std::uint8_t>((id[bits / 8] & ~mask) | (~base[bits / 8] & mask));
  return id;
}

Message must_decode(const std::string& bytes) {
  auto d = decode(bytes);
  EXPECT_TRUE(d.message) << d.error;
  return d.message.value_or(Message{});
}

// ---------------------------------------------------------------------------------- KRPC

TEST(DhtKrpc, SpecExamplesDecode) {
  // The wire examples of BEP 5, byte for byte.
  Message q = must_decode("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");
  EXPECT_EQ(q.kind, Kind::query);
  EXPECT_EQ(q.method, Method::ping);
  EXPECT_EQ(q.tid, "aa");
  EXPECT_EQ(q.id, id_of("abcdefghij0123456789"));

  Message fq = must_decode(
      "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe");
  EXPECT_EQ(fq.method, Method::find_node);
  EXPECT_EQ(fq.target, id_of("mnopqrstuvwxyz123456"));

  Message ap = must_decode(
      "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e"
      "5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe");
  EXPECT_EQ(ap.method, Method::announce_peer);
  EXPECT_EQ(ap.port, 6881);
  EXPECT_TRUE(ap.implied_port);
  EXPECT_EQ(ap.token, "aoeusnth");

  Message gp = must_decode(
      "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re");
  EXPECT_EQ(gp.kind, Kind::response);
  ASSERT_EQ(gp.values.size(), 2u);
  EXPECT_EQ(tracker::endpoint_text(gp.values[0]), "97.120.106.101:11893");
  EXPECT_EQ(gp.token, "aoeusnth");

  Message e = must_decode("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee");
  EXPECT_EQ(e.kind, Kind::error);
  EXPECT_EQ(e.error_code, 201);
  EXPECT_EQ(e.error_message, "A Generic Error Ocurred");
}

TEST(DhtKrpc, EveryMessageRoundTrips) {
  Message q;
  q.tid = "xy";
  q.kind = Kind::query;
  q.method = Method::announce_peer;
  q.id = id_of("01234567890123456789");
  q.info_hash = id_of("abcdefghijabcdefghij");
  q.token = std::string("\x00\x01\xff", 3);
  q.port = 51413;
  q.want_v4 = q.want_v6 = true;
  q.version = "HF\x00\x01";
  Message back = must_decode(encode(q));
  EXPECT_EQ(back.method, Method::announce_peer);
  EXPECT_EQ(back.info_hash, q.info_hash);
  EXPECT_EQ(back.token, q.token);
  EXPECT_EQ(back.port, 51413);
  EXPECT_FALSE(back.implied_port);
  EXPECT_TRUE(back.want_v4 && back.want_v6);
  EXPECT_EQ(back.version, q.version);

  Message r;
  r.tid = "t1";
  r.kind = Kind::response;
  r.id = id_of("abcdefghij0123456789");
  r.token = "tok";
  r.nodes = {{id_of("AAAAAAAAAAAAAAAAAAAA"), ep("1.2.3.4:6881")}, {id_of("BBBBBBBBBBBBBBBBBBBB"), ep("[2001:db8::7]:6882")}};
  r.values = {ep("5.6.7.8:9"), ep("[2001:db8::1]:10")};
  r.your_ip = ep("9.9.9.9:1234");
  back = must_decode(encode(r));
  EXPECT_EQ(back.nodes, r.nodes);
  EXPECT_EQ(back.values, r.values);
  ASSERT_TRUE(back.your_ip);
  EXPECT_EQ(*back.your_ip, *r.your_ip);
  // IPv4 contacts go under "nodes" (26 bytes each), IPv6 ones under "nodes6" (38 bytes).
  auto tree = bdecode(encode(r));
  ASSERT_TRUE(tree.value);
  EXPECT_EQ(tree.value->find("r")->find("nodes")->as_string().size(), 26u);
  EXPECT_EQ(tree.value->find("r")->find("nodes6")->as_string().size(), 38u);

  Message unknown;
  unknown.tid = "u";
  unknown.method = Method::unknown;
  unknown.method_name = "sample_infohashes";
  unknown.id = r.id;
  back = must_decode(encode(unknown));
  EXPECT_EQ(back.method, Method::unknown);
  EXPECT_EQ(back.method_name, "sample_infohashes");
}

TEST(DhtKrpc, MalformedMessagesAreRefusedWithAReason) {
  const char* bad[] = {
      "",                                                             // nothing
      "le",                                                           // not a dictionary
      "d1:y1:qe",                                                     // no transaction id
      "d1:t2:aa1:y1:xe",                                              // unknown type
      "d1:t2:aa1:y1:qe",                                              // no method
      "d1:q4:ping1:t2:aa1:y1:qe",                                     // no arguments
      "d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe",                       // id not 20 bytes
      "d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe",  // no target
      "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe",
      "d1:rd2:id20:abcdefghij01234567895:nodes5:abcdee1:t2:aa1:y1:re",  // nodes not 26-byte entries
      "d1:rd2:id20:abcdefghij01234567896:valuesi3ee1:t2:aa1:y1:re",    // values not a list
      "d1:t33:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1:y1:re",               // transaction id too long
      "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q",       // truncated
      "d1:ei201ee1:t2:aa1:y1:ee",                                      // error without a message
  };
  for (const char* b : bad) {
    auto d = decode(b);
    EXPECT_FALSE(d.message) << b;
    EXPECT_FALSE(d.error.empty()) << b;
  }
  // A query that is broken but carries its transaction id can be answered with error 203.
  auto d = decode("d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe");
  EXPECT_TRUE(d.was_query);
  EXPECT_EQ(d.tid, "aa");
  // Oversized datagrams are refused before parsing.
  EXPECT_FALSE(decode(std::string(kMaxPacket + 1, 'd')).message);
}

TEST(DhtKrpc, AContactFloodIsCutNotParsedWhole) {
  Message r;
  r.tid = "aa";
  r.kind = Kind::response;
  r.id = id_of("abcdefghij0123456789");
  for (int i = 0; i < 2000; ++i) {
    NodeId id{};
    id[0] = static_cast<std::uint8_t>(i);
    id[1] = static_cast<std::uint8_t>(i >> 8);
    r.nodes.push_back({id, tracker::v4_addr(0x0B000000u + static_cast<std::uint32_t>(i), 1)});
  }
  const std::string bytes = encode(r);
  EXPECT_GT(bytes.size(), 50000u);
  Message back = must_decode(bytes);
  EXPECT_EQ(back.nodes.size(), kMaxNodesKept);
  EXPECT_TRUE(back.nodes_cut);
}

TEST(DhtKrpc, IdsAndDistances) {
  NodeId a{}, b{};
  EXPECT_EQ(common_prefix_bits(a, b), 160);
  b[0] = 0x80;
  EXPECT_EQ(common_prefix_bits(a, b), 0);
  b[0] = 0;
  b[2] = 0x01;
  EXPECT_EQ(common_prefix_bits(a, b), 23);
  EXPECT_EQ(distance(b, b), NodeId{});
  const std::string hex = "0123456789abcdef0123456789abcdef01234567";
  ASSERT_TRUE(id_from_hex(hex));
  EXPECT_EQ(id_hex(*id_from_hex(hex)), hex);
  EXPECT_FALSE(id_from_hex("xyz"));
}

// --------------------------------------------------------------------------- routing table

TEST(DhtRouting, FillsSplitsAndKeepsKPerBucket) {
  NodeId self{};
  self.fill(0x55);
  RoutingTable t(self, 8);
  std::uint32_t host = 0x0A000001;
  // 20 nodes in the far half (0 shared bits): the first bucket holds 8.
  for (int i = 0; i < 20; ++i) t.heard({id_at(self, 0, static_cast<std::uint8_t>(i)), tracker::v4_addr(host++, 1)}, 1000, true);
  // 20 nodes sharing 5 bits: the table splits down to them.
  for (int i = 0; i < 20; ++i) t.heard({id_at(self, 5, static_cast<std::uint8_t>(i)), tracker::v4_addr(host++, 1)}, 1000, true);
  EXPECT_GE(t.bucket_count(), 6u);
  for (const auto& b : t.buckets()) EXPECT_LE(b.nodes.size(), 8u);
  EXPECT_EQ(t.buckets()[0].nodes.size(), 8u);
  EXPECT_EQ(t.buckets()[5].nodes.size(), 8u);
  EXPECT_EQ(t.size(), 16u);
  EXPECT_GT(t.replacement_count(), 0u);
  // closest() orders by XOR distance: the 5-bit sharers come first for our own id.
  auto near = t.closest(self, 8);
  ASSERT_EQ(near.size(), 8u);
  for (const auto& n : near) EXPECT_EQ(common_prefix_bits(self, n.id), 5);
}

TEST(DhtRouting, BadNodesGiveWayToReplacementsAndQuestionableOnesArePinged) {
  NodeId self{};
  RoutingTable t(self, 2);
  const NodeId a = id_at(self, 0, 1), b = id_at(self, 0, 2), c = id_at(self, 0, 3);
  t.heard({a, ep("10.0.0.1:1")}, 0, true);
  t.heard({b, ep("10.0.0.2:1")}, 0, true);
  // The bucket is full of good nodes: a newcomer waits, nobody to ping yet.
  EXPECT_FALSE(t.heard({c, ep("10.0.0.3:1")}, 1000, true));
  EXPECT_FALSE(t.contains(c));
  EXPECT_EQ(t.replacement_count(), 1u);
  // Twenty minutes on, a and b are questionable: another newcomer makes the table ask for a ping.
  auto ping = t.heard({id_at(self, 0, 4), ep("10.0.0.4:1")}, 20 * 60 * 1000, true);
  ASSERT_TRUE(ping);
  // a fails twice: the freshest replacement takes its place.
  t.failed(a, ep("10.0.0.1:1"));
  EXPECT_TRUE(t.contains(a));
  t.failed(a, ep("10.0.0.1:1"));
  EXPECT_FALSE(t.contains(a));
  EXPECT_EQ(t.size(), 2u);
  // A failure reported for the wrong address changes nothing.
  t.failed(b, ep("10.9.9.9:1"));
  t.failed(b, ep("10.9.9.9:1"));
  EXPECT_TRUE(t.contains(b));
}

TEST(DhtRouting, OneEntryPerAddressAndNoIdHijack) {
  NodeId self{};
  RoutingTable t(self, 8);
  const NodeId a = id_at(self, 0, 1), b = id_at(self, 0, 2);
  t.heard({a, ep("10.0.0.1:1")}, 0, true);
  t.heard({b, ep("10.0.0.1:2")}, 0, true);  // same host, other port and id: refused
  EXPECT_FALSE(t.contains(b));
  t.heard({a, ep("10.0.0.99:1")}, 0, true);  // a's id from elsewhere: a stays where it was
  auto near = t.closest(a, 1);
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(tracker::endpoint_text(near[0].addr), "10.0.0.1:1");
  // Loopback nodes are processes on one host: told apart by port.
  t.heard({b, ep("127.0.0.1:7000")}, 0, true);
  t.heard({id_at(self, 0, 3), ep("127.0.0.1:7001")}, 0, true);
  EXPECT_EQ(t.size(), 3u);
  // Our own id is never an entry.
  t.heard({self, ep("10.0.0.50:1")}, 0, true);
  EXPECT_EQ(t.size(), 3u);
}

TEST(DhtRouting, SurvivesARestartThroughSave) {
  NodeId self{};
  self.fill(0xA5);
  RoutingTable t(self, 8);
  for (int i = 0; i < 30; ++i) {
    t.heard({id_at(self, i % 6, static_cast<std::uint8_t>(i)), tracker::v4_addr(0x0A000001u + static_cast<std::uint32_t>(i), 6881)}, 0, true);
  }
  t.heard({id_at(self, 7, 1), ep("[2001:db8::1]:6881")}, 0, true);
  auto loaded = RoutingTable::load(t.save());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->first, self);
  EXPECT_EQ(loaded->second.size(), t.size());
  std::set<std::string> want, got;
  for (const auto& n : t.closest(self, 1000)) want.insert(id_hex(n.id) + tracker::endpoint_text(n.addr));
  for (const auto& n : loaded->second) got.insert(id_hex(n.id) + tracker::endpoint_text(n.addr));
  EXPECT_EQ(want, got);
  EXPECT_FALSE(RoutingTable::load("d2:id3:abce"));
  EXPECT_FALSE(RoutingTable::load("d2:id20:abcdefghij01234567895:nodes3:abce"));
  EXPECT_FALSE(RoutingTable::load("garbage"));
}

TEST(DhtRouting, RefreshTargetsFallInTheirBuckets) {
  NodeId self{};
  self.fill(0x3C);
  RoutingTable t(self, 8);
  for (int i = 0; i < 40; ++i) {
    t.heard({id_at(self, i % 5, static_cast<std::uint8_t>(i)), tracker::v4_addr(0x0A000001u + static_cast<std::uint32_t>(i), 1)}, 0, true);
  }
  auto targets = t.refresh_targets(RoutingTable::kRefreshMs + 1, 7);
  ASSERT_EQ(targets.size(), t.bucket_count());
  for (std::size_t i = 0; i + 1 < targets.size(); ++i) EXPECT_EQ(common_prefix_bits(self, targets[i]), static_cast<int>(i));
  EXPECT_GE(common_prefix_bits(self, targets.back()), static_cast<int>(targets.size() - 1));
  EXPECT_TRUE(t.refresh_targets(RoutingTable::kRefreshMs + 2, 8).empty());  // just refreshed
}

// ---------------------------------------------------------------------- simulated network

SimNetwork build(std::size_t n, std::uint64_t seed, double loss = 0) {
  SimNetwork::Options o;
  o.loss = loss;
  SimNetwork net(o, seed);
  for (std::size_t i = 0; i < n; ++i) net.add_node();
  for (std::size_t i = 1; i < n; ++i) {
    net.join(i, i < 8 ? 0 : i % 8);  // a handful of well-known entry nodes
    if (i % 25 == 0) net.run([] { return false; }, 200);
  }
  net.run([] { return false; }, 10'000);
  return net;
}

TEST(DhtNetwork, NodesBootstrapAndFindAnnouncedPeers) {
  SimNetwork net = build(300, 42);
  std::size_t filled = 0;
  for (std::size_t i = 0; i < net.size(); ++i) filled += net.node(i).table().size() >= 16;
  EXPECT_GT(filled, net.size() * 9 / 10);

  NodeId ih;
  ih.fill(0x77);
  bool announced = false;
  LookupResult ann;
  net.node(17).get_peers(ih, 51413, false, nullptr, [&](const LookupResult& r) { announced = true; ann = r; }, net.now());
  ASSERT_TRUE(net.run([&] { return announced; }, 60'000));
  EXPECT_EQ(ann.closest.size(), 8u);
  EXPECT_GT(ann.announced, 0u);
  net.run([] { return false; }, 2000);  // the announces land

  // The nodes nearest the info-hash hold node 17's address with the announced port.
  std::size_t holders = 0;
  for (std::size_t i = 0; i < net.size(); ++i) {
    for (const auto& p : net.node(i).stored_peers(ih)) {
      EXPECT_EQ(p.ip, net.addr(17).ip);
      EXPECT_EQ(p.port, 51413);
      ++holders;
    }
  }
  EXPECT_GE(holders, 4u);

  // Another node far away finds it.
  std::vector<PeerAddr> found;
  bool done = false;
  net.node(250).get_peers(ih, 0, false, [&](const std::vector<PeerAddr>& p) { found.insert(found.end(), p.begin(), p.end()); },
                          [&](const LookupResult&) { done = true; }, net.now());
  ASSERT_TRUE(net.run([&] { return done; }, 60'000));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].port, 51413);
  EXPECT_EQ(found[0].ip, net.addr(17).ip);
}

TEST(DhtNetwork, LookupsFinishDespiteLoss) {
  SimNetwork net = build(200, 7, 0.2);
  NodeId ih;
  ih.fill(0x12);
  bool done = false;
  LookupResult res;
  net.node(3).get_peers(ih, 6881, false, nullptr, [&](const LookupResult& r) { done = true; res = r; }, net.now());
  ASSERT_TRUE(net.run([&] { return done; }, 120'000));
  EXPECT_GT(res.failed, 0u);
  EXPECT_GE(res.closest.size(), 6u);
}

// One node and a scripted stranger who sends it anything.
struct Lone {
  DhtNode node;
  PeerAddr stranger = ep("10.1.1.1:4000");
  std::int64_t now = 1'000'000;
  explicit Lone(DhtConfig cfg = {}) : node(cfg, 1) {}
  std::vector<Message> send(const Message& m) { return send_bytes(encode(m)); }
  std::vector<Message> send_bytes(const std::string& bytes) {
    node.take_outgoing();  // only the answer to this datagram
    node.receive(stranger, bytes, now);
    std::vector<Message> out;
    for (auto& d : node.take_outgoing()) {
      auto dec = decode(d.bytes);
      if (dec.message && d.to == stranger) out.push_back(*dec.message);
    }
    return out;
  }
};

Message query(Method m, const char* tid = "q1") {
  Message q;
  q.tid = tid;
  q.kind = Kind::query;
  q.method = m;
  q.id = id_of("strangerstrangerxxxx");
  q.info_hash = id_of("infohashinfohashinfo");
  q.target = q.info_hash;
  return q;
}

TEST(DhtHostile, BogusTokensAreRefusedAndGoodOnesStore) {
  Lone l;
  Message ap = query(Method::announce_peer);
  ap.token = "forged!!";
  ap.port = 7000;
  auto r = l.send(ap);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Kind::error);
  EXPECT_EQ(r[0].error_code, kProtocolError);
  EXPECT_TRUE(l.node.stored_peers(ap.info_hash).empty());

  r = l.send(query(Method::get_peers, "g1"));
  ASSERT_EQ(r.size(), 1u);
  ASSERT_FALSE(r[0].token.empty());
  EXPECT_EQ(*r[0].your_ip, l.stranger);
  ap.token = r[0].token;
  // The token is bound to the asker's IP: from another address it is bogus.
  const PeerAddr other = ep("10.2.2.2:4000");
  l.node.receive(other, encode(ap), l.now);
  auto out = l.node.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(decode(out[0].bytes).message->kind, Kind::error);
  EXPECT_EQ(l.node.stats().bad_tokens, 2u);
  // From the right one it stores, with implied_port taking the source port.
  ap.implied_port = true;
  r = l.send(ap);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Kind::response);
  auto stored = l.node.stored_peers(ap.info_hash);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0], l.stranger);
  // Tokens outlive one secret change but not two.
  l.node.tick(l.now);
  l.now += 6 * 60 * 1000;
  l.node.tick(l.now);
  EXPECT_EQ(l.send(ap)[0].kind, Kind::response);
  l.now += 6 * 60 * 1000;
  l.node.tick(l.now);
  EXPECT_EQ(l.send(ap)[0].kind, Kind::error);
}

TEST(DhtHostile, AQueryFloodIsRateLimited) {
  DhtConfig cfg;
  cfg.ip_rate = 10;
  cfg.ip_burst = 20;
  Lone l(cfg);
  std::size_t answered = 0;
  for (int i = 0; i < 1000; ++i) answered += l.send(query(Method::ping)).size();
  EXPECT_EQ(answered, 20u);
  EXPECT_EQ(l.node.stats().rate_limited, 980u);
  l.now += 1000;  // a second later, ten more
  answered = 0;
  for (int i = 0; i < 100; ++i) answered += l.send(query(Method::ping)).size();
  EXPECT_EQ(answered, 10u);
  // Another IP is not held back by the first one's flood.
  l.stranger = ep("10.3.3.3:1");
  EXPECT_EQ(l.send(query(Method::ping)).size(), 1u);
}

TEST(DhtHostile, SpoofedFloodOfSourcesIsBounded) {
  DhtConfig cfg;
  cfg.max_tracked_ips = 1000;
  cfg.total_rate = 1e9;
  cfg.total_burst = 1e9;
  Lone l(cfg);
  for (std::uint32_t i = 0; i < 5000; ++i) {
    l.stranger = tracker::v4_addr(0x0C000000u + i, 1);
    l.send(query(Method::ping));
  }
  EXPECT_GT(l.node.stats().rate_limited, 0u);
  EXPECT_LT(l.node.memory_bytes(), 1u << 20);
  // Only bucket-sized room in the table, whatever arrived.
  EXPECT_LE(l.node.table().size(), 8u * 160u);
}

TEST(DhtHostile, MalformedAndTruncatedQueriesGetProtocolErrors) {
  Lone l;
  const std::string ping = encode(query(Method::ping));
  for (std::size_t cut = 1; cut < ping.size(); ++cut) l.send_bytes(ping.substr(0, cut));
  auto r = l.send_bytes("d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Kind::error);
  EXPECT_EQ(r[0].error_code, kProtocolError);
  EXPECT_EQ(r[0].tid, "aa");
  Message odd = query(Method::unknown);
  odd.method_name = "vote";
  EXPECT_EQ(l.send(odd)[0].error_code, kMethodUnknown);
  EXPECT_GT(l.node.stats().malformed_in, 0u);
  // Unsolicited answers are dropped, not trusted.
  Message fake;
  fake.tid = "zz";
  fake.kind = Kind::response;
  fake.id = id_of("fakefakefakefakefake");
  fake.values = {ep("6.6.6.6:6")};
  EXPECT_TRUE(l.send(fake).empty());
  EXPECT_EQ(l.node.stats().unexpected, 1u);
}

TEST(DhtHostile, AnAnswerFromTheWrongAddressIsIgnored) {
  Lone l;
  l.node.ping(ep("10.5.5.5:6881"), l.now);
  auto out = l.node.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  Message answer;
  answer.tid = decode(out[0].bytes).message->tid;
  answer.kind = Kind::response;
  answer.id = id_of("honestnodehonestnode");
  // The stranger guesses the transaction id but sends from elsewhere: refused.
  l.send(answer);
  EXPECT_EQ(l.node.stats().unexpected, 1u);
  EXPECT_EQ(l.node.table().size(), 0u);
  l.node.receive(ep("10.5.5.5:6881"), encode(answer), l.now);
  EXPECT_EQ(l.node.table().size(), 1u);
}

TEST(DhtHostile, ANodeAnsweringWithThousandsOfContactsCannotSwampALookup) {
  SimNetwork net = build(100, 9);
  // A hostile node near every target: it answers every query with 3,000 made-up contacts.
  const PeerAddr evil = ep("10.200.0.1:6881");
  NodeId ih;
  ih.fill(0x42);
  NodeId evil_id = ih;
  evil_id[19] ^= 1;
  std::size_t asked = 0;
  net.add_raw(evil, [&](const PeerAddr& from, const std::string& bytes) {
    auto d = decode(bytes);
    if (!d.message || d.message->kind != Kind::query) return;
    ++asked;
    Message r;
    r.tid = d.message->tid;
    r.kind = Kind::response;
    r.id = evil_id;
    r.token = "t";
    for (std::uint32_t i = 0; i < 3000; ++i) {
      NodeId id = r.id;
      id[18] = static_cast<std::uint8_t>(i);
      id[17] = static_cast<std::uint8_t>(i >> 8);
      r.nodes.push_back({id, tracker::v4_addr(0x0D000000u + i, 1)});  // nobody lives there
    }
    net.send_raw(evil, from, encode(r));
  });
  bool done = false;
  LookupResult res;
  DhtNode& n = net.node(5);
  n.ping(evil, net.now());  // the evil node gets into node 5's table
  net.run([] { return false; }, 1000);
  n.get_peers(ih, 0, false, nullptr, [&](const LookupResult& r) { done = true; res = r; }, net.now());
  ASSERT_TRUE(net.run([&] { return done; }, 120'000));
  EXPECT_GT(asked, 0u);
  // The lookup ends (the fakes time out), having asked a bounded number of nodes.
  EXPECT_LT(res.queried, 200u);
  EXPECT_LT(n.memory_bytes(), 1u << 20);
}

TEST(DhtHostile, OneAddressCannotFillThePeerStore) {
  Lone l;
  auto r = l.send(query(Method::get_peers, "g1"));
  ASSERT_EQ(r.size(), 1u);
  Message ap = query(Method::announce_peer);
  ap.token = r[0].token;
  ap.port = 7000;
  std::size_t stored = 0, refused = 0;
  for (int i = 0; i < 150; ++i) {
    ap.info_hash[0] = static_cast<std::uint8_t>(i);
    auto a = l.send(ap);
    ASSERT_EQ(a.size(), 1u);
    if (a[0].kind == Kind::response) ++stored;
    else if (a[0].error_code == kServerError) ++refused;
    l.now += 100;  // within the rate limit
  }
  EXPECT_EQ(stored, 100u);
  EXPECT_EQ(refused, 50u);
  // Announcing again what is stored is a refresh, not a new entry: still allowed.
  ap.info_hash[0] = 3;
  EXPECT_EQ(l.send(ap)[0].kind, Kind::response);
  // Another address is not held back.
  l.stranger = ep("10.9.9.9:1");
  r = l.send(query(Method::get_peers, "g2"));
  ap.token = r[0].token;
  ap.info_hash[0] = 200;
  EXPECT_EQ(l.send(ap)[0].kind, Kind::response);
}

TEST(DhtHostile, EverCloserMadeUpContactsCannotKeepALookupGoing) {
  SimNetwork net({}, 11);
  net.add_node();
  NodeId ih;
  ih.fill(0x99);
  // Every contact it hands out is itself on another port, closer to the target each time.
  std::uint16_t next_port = 1000;
  int closer = 8;
  std::size_t asked = 0;
  std::function<SimNetwork::Handler(PeerAddr)> make_evil;
  make_evil = [&](PeerAddr self) -> SimNetwork::Handler {
    return [&, self](const PeerAddr& from, const std::string& bytes) {
      auto d = decode(bytes);
      if (!d.message || d.message->kind != Kind::query) return;
      ++asked;
      Message r;
      r.tid = d.message->tid;
      r.kind = Kind::response;
      r.id = ih;
      r.id[17] = static_cast<std::uint8_t>(self.port >> 8);
      r.id[18] = static_cast<std::uint8_t>(self.port);
      r.token = "t";
      for (int i = 0; i < 8; ++i) {
        NodeId id = ih;
        id[16] ^= static_cast<std::uint8_t>(std::max(1, 255 - closer));
        id[19] = static_cast<std::uint8_t>(i);
        PeerAddr a = tracker::v4_addr(0x0AC80001u, next_port++);
        net.add_raw(a, make_evil(a));
        r.nodes.push_back({id, a});
      }
      ++closer;
      net.send_raw(self, from, encode(r));
    };
  };
  const PeerAddr first = tracker::v4_addr(0x0AC80001u, 6881);
  net.add_raw(first, make_evil(first));
  DhtNode& n = net.node(0);
  n.ping(first, net.now());  // the evil node is its one contact
  net.flush(0);
  net.run([] { return false; }, 1000);
  ASSERT_EQ(n.table().size(), 1u);
  bool done = false;
  LookupResult res;
  n.get_peers(ih, 0, false, nullptr, [&](const LookupResult& x) { done = true; res = x; }, net.now());
  net.flush(0);
  ASSERT_TRUE(net.run([&] { return done; }, 120'000));
  EXPECT_GT(asked, 20u);
  EXPECT_LE(res.queried, 16u * 8u);
  EXPECT_LT(n.memory_bytes(), 1u << 20);
}

TEST(DhtNetwork, WantAnswersFromTheSiblingFamily) {
  DhtConfig c4, c6;
  c4.id = id_of("v4nodev4nodev4nodexx");
  c6.id = c4.id;
  c6.v6 = true;
  DhtNode n4(c4, 1), n6(c6, 2);
  n4.set_sibling(&n6);
  n6.set_sibling(&n4);
  // n6 learns an IPv6 contact; an IPv4 asker wanting n6 gets it from n4.
  n6.receive(ep("[2001:db8::9]:6881"), encode(query(Method::ping)), 0);
  n6.take_outgoing();
  Message fq = query(Method::find_node);
  fq.want_v4 = fq.want_v6 = true;
  n4.receive(ep("10.0.0.8:6881"), encode(fq), 0);
  auto out = n4.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  auto m = decode(out[0].bytes).message;
  ASSERT_TRUE(m);
  bool six = false, four = false;
  for (const auto& n : m->nodes) (n.addr.v6 ? six : four) = true;
  EXPECT_TRUE(six);
  EXPECT_TRUE(four);  // the asker itself, now in n4's table
}

}  // namespace

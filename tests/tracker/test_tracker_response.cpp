// Announce, scrape and failure replies (net/torrent/tracker_response.*), read back with the
// strict bencode decoder: canonical (sorted keys), compact and dictionary peers, peers6.
#include <gtest/gtest.h>

#include "net/torrent/bencode.hpp"
#include "net/torrent/tracker_response.hpp"

namespace tr = hf::torrent::tracker;
using hf::torrent::bdecode;
using hf::torrent::BValue;

namespace {

BValue decode_strict(const std::string& s) {
  auto r = bdecode(s);
  EXPECT_TRUE(r.value) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << "keys out of order: " << s;
  return r.value ? *r.value : BValue();
}

tr::AnnounceReply sample_reply() {
  tr::AnnounceReply r;
  r.interval = 1800;
  r.min_interval = 60;
  r.counts = {3, 4, 5};
  tr::PeerInfo a;
  a.addr = tr::v4_addr(0x7f000001, 6881);
  a.id.fill('A');
  tr::PeerInfo b;
  b.addr = *tr::parse_endpoint("[2001:db8::7]:51413");
  b.id.fill('B');
  r.peers4.push_back(a);
  r.peers6.push_back(b);
  return r;
}

}  // namespace

TEST(TrackerResponse, CompactWithPeers6) {
  std::string out;
  tr::encode_announce(sample_reply(), true, false, &out);
  BValue v = decode_strict(out);
  EXPECT_EQ(v.find("complete")->as_int(), 3);
  EXPECT_EQ(v.find("incomplete")->as_int(), 4);
  EXPECT_EQ(v.find("downloaded")->as_int(), 5);
  EXPECT_EQ(v.find("interval")->as_int(), 1800);
  EXPECT_EQ(v.find("min interval")->as_int(), 60);
  EXPECT_EQ(v.find("peers")->as_string(), std::string("\x7f\x00\x00\x01\x1a\xe1", 6));
  const std::string p6 = v.find("peers6")->as_string();
  ASSERT_EQ(p6.size(), 18u);
  EXPECT_EQ(p6.substr(0, 4), std::string("\x20\x01\x0d\xb8", 4));
  EXPECT_EQ(static_cast<unsigned char>(p6[15]), 7);
  EXPECT_EQ(p6.substr(16), std::string("\xc8\xd5", 2));  // 51413
}

TEST(TrackerResponse, CompactWithoutIpv6PeersHasNoPeers6) {
  auto r = sample_reply();
  r.peers6.clear();
  r.peers4.clear();
  std::string out;
  tr::encode_announce(r, true, false, &out);
  BValue v = decode_strict(out);
  EXPECT_EQ(v.find("peers")->as_string(), "");
  EXPECT_EQ(v.find("peers6"), nullptr);
}

TEST(TrackerResponse, DictionaryPeers) {
  std::string out;
  tr::encode_announce(sample_reply(), false, false, &out);
  BValue v = decode_strict(out);
  const auto& peers = v.find("peers")->items();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].find("ip")->as_string(), "127.0.0.1");
  EXPECT_EQ(peers[0].find("port")->as_int(), 6881);
  EXPECT_EQ(peers[0].find("peer id")->as_string(), std::string(20, 'A'));
  EXPECT_EQ(peers[1].find("ip")->as_string(), "2001:db8::7");
  EXPECT_EQ(peers[1].find("port")->as_int(), 51413);
  EXPECT_EQ(v.find("peers6"), nullptr);
  out.clear();
  tr::encode_announce(sample_reply(), false, true, &out);
  v = decode_strict(out);
  EXPECT_EQ(v.find("peers")->items()[0].find("peer id"), nullptr);
}

TEST(TrackerResponse, ScrapeFilesKeyedByRawHashSorted) {
  tr::InfoHash a{}, b{};
  a.fill(0xff);
  b.fill(0x01);
  std::string out;
  tr::encode_scrape({{a, {1, 2, 3}}, {b, {4, 5, 6}}, {a, {1, 2, 3}}}, &out);
  BValue v = decode_strict(out);
  const auto& files = v.find("files")->entries();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].first, std::string(20, '\x01'));
  EXPECT_EQ(files[0].second.find("complete")->as_int(), 4);
  EXPECT_EQ(files[0].second.find("downloaded")->as_int(), 6);
  EXPECT_EQ(files[0].second.find("incomplete")->as_int(), 5);
  EXPECT_EQ(files[1].first, std::string(20, '\xff'));
  out.clear();
  tr::encode_scrape({}, &out);
  EXPECT_EQ(out, "d5:filesdee");
}

TEST(TrackerResponse, Failure) {
  EXPECT_EQ(tr::encode_failure("missing port"), "d14:failure reason12:missing porte");
  BValue v = decode_strict(tr::encode_failure(std::string("bytes \x00\xff", 8)));
  EXPECT_EQ(v.find("failure reason")->as_string(), std::string("bytes \x00\xff", 8));
}

// Announce and scrape query strings (net/torrent/tracker_query.*): raw-byte info-hashes,
// defaults, and every refusal with its reason.
#include <gtest/gtest.h>

#include <string>

#include "net/http/query.hpp"
#include "net/torrent/tracker_query.hpp"

namespace tr = hf::torrent::tracker;

namespace {

// Every byte as %XX: how libtorrent and Transmission send info_hash.
std::string escape_all(const std::string& raw) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    out += '%';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string hash_bytes(unsigned char first = 0) {
  std::string h(20, '\0');
  for (int i = 0; i < 20; ++i) h[i] = static_cast<char>(first + i * 13);
  return h;
}

const std::string kPeerId = "-HF0001-abcdefghijkl";

std::string good_query() {
  return "info_hash=" + escape_all(hash_bytes()) + "&peer_id=" + kPeerId + "&port=6881&uploaded=1&downloaded=2&left=3";
}

std::string refusal(const std::string& q) {
  std::string why;
  auto r = tr::parse_announce_query(q, &why);
  EXPECT_FALSE(r.has_value()) << q;
  EXPECT_FALSE(why.empty());
  return why;
}

}  // namespace

TEST(TrackerQuery, DecodesEveryByteAndPlainCharacters) {
  std::string out;
  ASSERT_TRUE(hf::http::percent_decode("%00%ff%Fa+A-_.~z", &out, true));
  EXPECT_EQ(out, std::string("\x00\xff\xfa A-_.~z", 10));
  EXPECT_FALSE(hf::http::percent_decode("%", &out, true));
  EXPECT_FALSE(hf::http::percent_decode("%4", &out, true));
  EXPECT_FALSE(hf::http::percent_decode("ab%4", &out, true));
  EXPECT_FALSE(hf::http::percent_decode("%zz", &out, true));
  EXPECT_FALSE(hf::http::percent_decode("%g0", &out, true));
}

TEST(TrackerQuery, AnnounceFields) {
  std::string why;
  auto r = tr::parse_announce_query(good_query() + "&event=started&numwant=30&key=abc&compact=1", &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(std::string(r->info_hash.begin(), r->info_hash.end()), hash_bytes());
  EXPECT_EQ(std::string(r->peer_id.begin(), r->peer_id.end()), kPeerId);
  EXPECT_EQ(r->port, 6881);
  EXPECT_EQ(r->uploaded, 1);
  EXPECT_EQ(r->downloaded, 2);
  EXPECT_EQ(r->left, 3);
  EXPECT_EQ(r->event, tr::Event::started);
  EXPECT_EQ(r->numwant, 30);
  EXPECT_TRUE(r->compact);
  EXPECT_FALSE(r->no_peer_id);
  EXPECT_FALSE(r->ip.has_value());
}

TEST(TrackerQuery, InfoHashMixingEscapesAndPlainBytes) {
  // 20 bytes where the printable ones travel as themselves, as aria2 sends them.
  const std::string raw =
      "AB-_.~\x01\x02\xff\x80"
      "0123456789";
  std::string q =
      "info_hash=AB-_.~%01%02%FF%80"
      "0123456789&peer_id=" +
      kPeerId + "&port=1&left=0";
  std::string why;
  auto r = tr::parse_announce_query(q, &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(std::string(r->info_hash.begin(), r->info_hash.end()), raw);
}

TEST(TrackerQuery, Defaults) {
  std::string why;
  auto r = tr::parse_announce_query("info_hash=" + escape_all(hash_bytes()) + "&peer_id=" + kPeerId + "&port=1&left=0",
                                    &why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->uploaded, 0);
  EXPECT_EQ(r->downloaded, 0);
  EXPECT_EQ(r->event, tr::Event::none);
  EXPECT_EQ(r->numwant, -1);
  EXPECT_TRUE(r->compact);
}

TEST(TrackerQuery, OptionsAndEvents) {
  std::string why;
  auto r = tr::parse_announce_query(good_query() + "&compact=0&no_peer_id=1&numwant=-1&ip=10.1.2.3", &why);
  ASSERT_TRUE(r) << why;
  EXPECT_FALSE(r->compact);
  EXPECT_TRUE(r->no_peer_id);
  EXPECT_EQ(r->numwant, -1);
  ASSERT_TRUE(r->ip);
  EXPECT_EQ(tr::ip_text(*r->ip), "10.1.2.3");
  r = tr::parse_announce_query(good_query() + "&ip=tracker.example.org", &why);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ip) << "a DNS name is ignored, not trusted";
  r = tr::parse_announce_query(good_query() + "&ip=2001%3Adb8%3A%3A1", &why);
  ASSERT_TRUE(r && r->ip);
  EXPECT_TRUE(r->ip->v6);
  for (auto [text, ev] : {std::pair{"completed", tr::Event::completed}, std::pair{"stopped", tr::Event::stopped},
                          std::pair{"", tr::Event::none}, std::pair{"paused", tr::Event::none}}) {
    r = tr::parse_announce_query(good_query() + "&event=" + text, &why);
    ASSERT_TRUE(r) << text;
    EXPECT_EQ(r->event, ev) << text;
  }
}

TEST(TrackerQuery, EveryRefusal) {
  const std::string h = "info_hash=" + escape_all(hash_bytes());
  const std::string id = "&peer_id=" + kPeerId;
  EXPECT_EQ(refusal(id + "&port=1&left=0"), "missing info_hash");
  EXPECT_EQ(refusal(h + "&port=1&left=0"), "missing peer_id");
  EXPECT_EQ(refusal(h + id + "&left=0"), "missing port");
  EXPECT_EQ(refusal(h + id + "&port=1"), "missing left");
  EXPECT_EQ(refusal("info_hash=" + escape_all(hash_bytes().substr(0, 19)) + id + "&port=1&left=0"),
            "info_hash is not 20 bytes (it is 19)");
  EXPECT_EQ(refusal("info_hash=" + escape_all(hash_bytes() + "x") + id + "&port=1&left=0"),
            "info_hash is not 20 bytes (it is 21)");
  EXPECT_EQ(refusal(h + "&peer_id=short&port=1&left=0"), "peer_id is not 20 bytes (it is 5)");
  for (const char* port : {"0", "65536", "-1", "abc", "", "1e3", "99999999999999999999999"})
    EXPECT_EQ(refusal(h + id + "&left=0&port=" + port), "port is not a number from 1 to 65535") << port;
  for (const char* left : {"-1", "1.5", "x", "", "9223372036854775808"})
    EXPECT_EQ(refusal(h + id + "&port=1&left=" + left), "left is not a whole number of bytes") << left;
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&uploaded=-5"), "uploaded is not a whole number of bytes");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&downloaded=z"), "downloaded is not a whole number of bytes");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&event=finished"), "event is not started, completed, stopped or empty");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&numwant=lots"), "numwant is not a whole number");
  EXPECT_EQ(refusal(h + "&" + h + id + "&port=1&left=0"), "info_hash given more than once");
  EXPECT_EQ(refusal(h + id + id + "&port=1&left=0"), "peer_id given more than once");
  EXPECT_EQ(refusal(h + id + "&port=1&port=2&left=0"), "port given more than once");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&numwant=1&num_want=2"), "numwant given more than once");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&x=%zz"), "bad percent-encoding in the query string");
  EXPECT_EQ(refusal(h + id + "&port=1&left=0&%4=1"), "bad percent-encoding in the query string");
  std::string many = good_query();
  for (int i = 0; i < 64; ++i) many += "&x" + std::to_string(i) + "=1";
  EXPECT_EQ(refusal(many), "too many query parameters (at most 64)");
  EXPECT_EQ(refusal(""), "missing info_hash");
  EXPECT_EQ(refusal("&&&"), "missing info_hash");
}

TEST(TrackerQuery, ScrapeManyHashes) {
  std::string q;
  for (unsigned char i = 0; i < 5; ++i) q += "info_hash=" + escape_all(hash_bytes(i)) + "&";
  q += "info_hash=" + escape_all(hash_bytes(2));  // a repeat is dropped
  std::string why;
  auto r = tr::parse_scrape_query(q, &why);
  ASSERT_TRUE(r) << why;
  ASSERT_EQ(r->size(), 5u);
  for (unsigned char i = 0; i < 5; ++i) EXPECT_EQ(std::string((*r)[i].begin(), (*r)[i].end()), hash_bytes(i));
}

TEST(TrackerQuery, ScrapeRefusals) {
  std::string why;
  EXPECT_FALSE(tr::parse_scrape_query("", &why));
  EXPECT_EQ(why, "scrape needs at least one info_hash (a full scrape is not served)");
  EXPECT_FALSE(tr::parse_scrape_query("info_hash=abc", &why));
  EXPECT_EQ(why, "info_hash is not 20 bytes (it is 3)");
  EXPECT_FALSE(tr::parse_scrape_query("info_hash=%2", &why));
  EXPECT_EQ(why, "bad percent-encoding in the query string");
  tr::QueryLimits lim;
  lim.max_scrape_hashes = 3;
  std::string q;
  for (unsigned char i = 0; i < 4; ++i) q += "info_hash=" + escape_all(hash_bytes(i)) + "&";
  EXPECT_FALSE(tr::parse_scrape_query(q, &why, lim));
  EXPECT_EQ(why, "too many info_hash values in one scrape (at most 3)");
}

TEST(TrackerTypes, Addresses) {
  auto a = tr::parse_endpoint("127.0.0.2:6881");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->v6);
  EXPECT_EQ(a->port, 6881);
  EXPECT_TRUE(tr::is_loopback(*a));
  EXPECT_EQ(tr::endpoint_text(*a), "127.0.0.2:6881");
  auto b = tr::parse_endpoint("[::1]:80");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->v6);
  EXPECT_TRUE(tr::is_loopback(*b));
  EXPECT_EQ(tr::endpoint_text(*b), "[::1]:80");
  auto m = tr::parse_endpoint("[::ffff:10.0.0.1]:5");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->v6) << "a v4-mapped address is the IPv4 client it stands for";
  EXPECT_EQ(tr::endpoint_text(*m), "10.0.0.1:5");
  EXPECT_FALSE(tr::is_loopback(*m));
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "[::1]80", "::1:80x", "300.1.1.1:1", "?"})
    EXPECT_FALSE(tr::parse_endpoint(bad)) << bad;
}

TEST(TrackerTypes, SipHashReferenceVector) {
  // The SipHash paper's appendix: key 00..0f, message 00..0e.
  tr::SipKey k;
  k.k0 = 0x0706050403020100ULL;
  k.k1 = 0x0f0e0d0c0b0a0908ULL;
  std::uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(tr::siphash24(k, msg, 15), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(tr::siphash24(k, msg, 0), 0x726fdb47dd0e0e31ULL);
}

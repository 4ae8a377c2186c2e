// Magnet links (net/torrent/magnet): BEP 9 fields, v1 and v2 info-hashes, BEP 53 `so`.
#include <gtest/gtest.h>

#include "net/torrent/magnet.hpp"

namespace hf::torrent {
namespace {

// sha1("hashforge"), in hex and in base32 (computed with Python's hashlib and base64).
constexpr const char* kHex = "bb920f6760ab266ec8db386679969bf596f12dfb";
constexpr const char* kB32 = "XOJA6Z3AVMTG5SG3HBTHTFU36WLPCLP3";

std::string hex_of(const std::array<std::uint8_t, 20>& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto b : h) s += std::string{d[b >> 4], d[b & 15]};
  return s;
}

TEST(Magnet, ReadsEveryField) {
  std::string why;
  auto m = parse_magnet(std::string("magnet:?xt=urn:btih:") + kHex +
                            "&dn=My+File%20%C3%A9.iso&tr=http%3A%2F%2Ft.example%2Fannounce&tr=udp://u.example:6969"
                            "&tr=udp://u.example:6969&ws=http://w.example/f&xl=1048576&so=0,2,4-6&x.pe=10.0.0.1:6881"
                            "&unknown=1",
                        &why);
  ASSERT_TRUE(m) << why;
  ASSERT_TRUE(m->btih);
  EXPECT_EQ(hex_of(*m->btih), kHex);
  EXPECT_FALSE(m->btmh);
  EXPECT_EQ(m->name, "My File \xc3\xa9.iso");
  EXPECT_EQ(m->trackers, (std::vector<std::string>{"http://t.example/announce", "udp://u.example:6969"}));
  EXPECT_EQ(m->web_seeds, std::vector<std::string>{"http://w.example/f"});
  EXPECT_EQ(m->length, 1048576u);
  EXPECT_EQ(m->select_only, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 0}, {2, 2}, {4, 6}}));
  EXPECT_EQ(m->peers, std::vector<std::string>{"10.0.0.1:6881"});
}

TEST(Magnet, Base32AndUppercaseHexGiveTheSameHash) {
  std::string why;
  auto a = parse_magnet(std::string("magnet:?xt=urn:btih:") + kB32, &why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(hex_of(*a->btih), kHex);
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto b = parse_magnet("magnet:?xt=urn:btih:" + upper, &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(*a->btih, *b->btih);
}

TEST(Magnet, V2AndHybrid) {
  std::string v2 = "1220" + std::string(64, 'a');
  std::string why;
  auto m = parse_magnet("magnet:?xt=urn:btmh:" + v2 + "&xt.1=urn:btih:" + kHex, &why);
  ASSERT_TRUE(m) << why;
  ASSERT_TRUE(m->btmh && m->btih);
  EXPECT_EQ((*m->btmh)[0], 0xaa);
  // And back: what format_magnet writes reads the same.
  auto again = parse_magnet(format_magnet(*m), &why);
  ASSERT_TRUE(again) << why;
  EXPECT_EQ(again->btmh, m->btmh);
  EXPECT_EQ(again->btih, m->btih);
}

TEST(Magnet, FormatRoundTripsEveryField) {
  Magnet m;
  m.btih.emplace();
  (*m.btih)[0] = 1;
  m.name = "a b&c=d/é";
  m.trackers = {"http://t/announce?x=1&y=2", "udp://u:1"};
  m.web_seeds = {"http://w/"};
  m.length = 7;
  m.select_only = {{1, 3}, {5, 5}};
  m.peers = {"[::1]:6881"};
  std::string why;
  auto back = parse_magnet(format_magnet(m), &why);
  ASSERT_TRUE(back) << why << " in " << format_magnet(m);
  EXPECT_EQ(back->name, m.name);
  EXPECT_EQ(back->trackers, m.trackers);
  EXPECT_EQ(back->web_seeds, m.web_seeds);
  EXPECT_EQ(back->length, m.length);
  EXPECT_EQ(back->select_only, m.select_only);
  EXPECT_EQ(back->peers, m.peers);
}

TEST(Magnet, RefusesWithAReason) {
  const std::vector<std::string> bads = {
      "",
      "http://x",
      "magnet:?dn=x",
      "magnet:?xt=urn:btih:abc",
      "magnet:?xt=urn:btih:" + std::string(40, 'g'),
      "magnet:?xt=urn:btmh:1120" + std::string(64, 'a'),
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&dn=a&dn=b",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&so=4-2",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&so=1,",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&xl=-1",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&dn=%4",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&dn",
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&xt=urn:btih:" + std::string(40, '0'),
      "magnet:?xt=urn:btih:" + std::string(kHex) + "&xl=99999999999999999999999",
      "magnet:?" + std::string(70000, 'a')};
  for (const std::string& bad : bads) {
    std::string why;
    EXPECT_FALSE(parse_magnet(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
}  // namespace hf::torrent

// Web seeds (BEP 19) as pure code: file URLs under a seed, wire-stream spans over files,
// pad files and v2 gaps, and HTTP reply heads.
#include <gtest/gtest.h>

#include "net/torrent/web_seed.hpp"

namespace {

using namespace hf::torrent;

Metainfo multi() {
  Metainfo m;
  m.name = "my torrent";
  m.piece_length = 16;
  std::uint64_t at = 0;
  auto add = [&](std::vector<std::string> path, std::uint64_t len, bool pad = false, std::uint64_t align = 0) {
    if (align) at = (at + align - 1) / align * align;
    FileEntry f;
    f.path = std::move(path);
    f.length = len;
    f.offset = at;
    f.pad = pad;
    at += len;
    m.files.push_back(f);
  };
  add({"a.bin"}, 10);
  add({".pad", "6"}, 6, true);
  add({"dir", "b & c#1.txt"}, 20);
  add({"z"}, 5, false, 16);  // a v2-style gap of 12 bytes before it
  m.total_length = at;
  return m;
}

TEST(WebSeed, FileUrlsFollowBep19) {
  Metainfo m = multi();
  EXPECT_EQ(web_seed_file_url("http://h/files/", m, 2), "http://h/files/my%20torrent/dir/b%20%26%20c%231.txt");
  EXPECT_EQ(web_seed_file_url("http://h/files", m, 0), "http://h/files/my%20torrent/a.bin");
  Metainfo one;
  one.single_file = true;
  one.name = "x y.iso";
  one.files.push_back({});
  EXPECT_EQ(web_seed_file_url("http://h/pub/", one, 0), "http://h/pub/x%20y.iso");
  EXPECT_EQ(web_seed_file_url("http://h/pub/other.iso", one, 0), "http://h/pub/other.iso");
}

TEST(WebSeed, SpansSkipPadsAndGaps) {
  Metainfo m = multi();
  // [4, 50): 6 bytes of a.bin, the 6-byte pad, all of b (20), the 12-byte gap, 2 of z.
  auto s = web_spans(m, 4, 46);
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].file, 0u);
  EXPECT_EQ(s[0].file_offset, 4u);
  EXPECT_EQ(s[0].length, 6u);
  EXPECT_EQ(s[1].file, WebSpan::npos);
  EXPECT_EQ(s[1].length, 6u);
  EXPECT_EQ(s[2].file, 2u);
  EXPECT_EQ(s[2].length, 20u);
  EXPECT_EQ(s[3].file, WebSpan::npos);
  EXPECT_EQ(s[3].length, 12u);
  EXPECT_EQ(s[4].file, 3u);
  EXPECT_EQ(s[4].file_offset, 0u);
  EXPECT_EQ(s[4].length, 2u);
  std::uint64_t total = 0;
  for (const auto& x : s) total += x.length;
  EXPECT_EQ(total, 46u);
  // A span inside one file; one past the end of the files (a padded v2 tail) is zeros.
  s = web_spans(m, 20, 3);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].file, 2u);
  EXPECT_EQ(s[0].file_offset, 4u);
  s = web_spans(m, 50, 14);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].file, WebSpan::npos);
  EXPECT_EQ(s[1].length, 11u);
}

TEST(WebSeed, ReplyHeads) {
  std::string why;
  auto h = parse_http_head("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/5000\r\nContent-Length: 100\r\n"
                           "connection: Keep-Alive\r\n\r\n", &why);
  ASSERT_TRUE(h) << why;
  EXPECT_EQ(h->status, 206);
  EXPECT_EQ(*h->range_from, 100u);
  EXPECT_EQ(*h->range_to, 199u);
  EXPECT_EQ(*h->content_length, 100u);
  EXPECT_TRUE(h->keep_alive);
  h = parse_http_head("HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\n", &why);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->keep_alive);
  h = parse_http_head("HTTP/1.1 302 Found\r\nLocation: http://x/y\r\nConnection: close\r\n\r\n", &why);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->location, "http://x/y");
  EXPECT_FALSE(h->keep_alive);
  for (const char* bad : {"", "HTTP/1.1\r\n\r\n", "SPDY 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                          "HTTP/1.1 206 OK\r\nContent-Range: bytes 9-1/10\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"}) {
    EXPECT_FALSE(parse_http_head(bad, &why)) << bad;
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(parse_http_head("HTTP/1.1 200 OK\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", &why));
  EXPECT_EQ(web_range_request("h:80", "/a%20b", 10, 5),
            "GET /a%20b HTTP/1.1\r\nHost: h:80\r\nUser-Agent: hashforge/0.1\r\nAccept-Encoding: identity\r\n"
            "Range: bytes=10-14\r\n\r\n");
}

}  // namespace

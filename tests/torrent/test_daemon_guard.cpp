// The daemon API's guard (pure): Host, Origin and token checks, and the root-folder jail.
#include <gtest/gtest.h>

#include "net/torrent/daemon_guard.hpp"

namespace {

using namespace hf::torrent;

hf::http::Request req(std::vector<std::pair<std::string, std::string>> headers) {
  hf::http::Request r;
  r.method = "GET";
  r.path = "/api/torrents";
  for (auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

TEST(DaemonGuard, HostOriginAndToken) {
  ApiGuard g{"0123456789abcdef0123", loopback_hosts(9091)};
  EXPECT_FALSE(g.check(req({{"Host", "127.0.0.1:9091"}, {"X-Hashforge-Token", "0123456789abcdef0123"}}), true));
  EXPECT_FALSE(g.check(req({{"host", "LOCALHOST:9091"}, {"Authorization", "Bearer 0123456789abcdef0123"}}), true));
  EXPECT_FALSE(g.check(req({{"Host", "[::1]:9091"}}), false));  // the page needs no token
  auto r = g.check(req({{"Host", "127.0.0.1:9091"}}), true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = g.check(req({{"Host", "127.0.0.1:9091"}, {"X-Hashforge-Token", "0123456789abcdef012"}}), true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  for (const char* host : {"evil.example:9091", "127.0.0.1:9092", "127.0.0.1", ""}) {
    r = g.check(req({{"Host", host}, {"X-Hashforge-Token", "0123456789abcdef0123"}}), true);
    ASSERT_TRUE(r) << host;
    EXPECT_EQ(r->status, 403);
  }
  EXPECT_TRUE(g.check(req({{"X-Hashforge-Token", "0123456789abcdef0123"}}), true));  // no Host at all
  for (const char* origin : {"http://evil.example", "null", "http://127.0.0.1:9091.evil", "http://localhost:9092"}) {
    r = g.check(req({{"Host", "127.0.0.1:9091"}, {"Origin", origin}, {"X-Hashforge-Token", "0123456789abcdef0123"}}),
                true);
    ASSERT_TRUE(r) << origin;
    EXPECT_EQ(r->status, 403);
  }
  EXPECT_FALSE(
      g.check(req({{"Host", "127.0.0.1:9091"}, {"Origin", "http://localhost:9091"}, {"X-Hashforge-Token", "0123456789abcdef0123"}}),
              true));
}

TEST(DaemonGuard, PathsStayInTheRoot) {
  std::string why;
  EXPECT_EQ(*jail_path("/srv/t", "", &why), "/srv/t");
  EXPECT_EQ(*jail_path("/srv/t", "films/new", &why), "/srv/t/films/new");
  EXPECT_EQ(*jail_path("/srv/t", "a..b/.c", &why), "/srv/t/a..b/.c");
  EXPECT_EQ(*jail_path("/srv/t", "a/.hashforge", &why), "/srv/t/a/.hashforge");
  for (const char* bad : {"..", "../x", "a/../../x", "/etc", "a//b", "./a", "a/.", "a/", "a\\b", ".hashforge",
                          ".hashforge/x"}) {
    EXPECT_FALSE(jail_path("/srv/t", bad, &why)) << bad;
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(jail_path("/srv/t", std::string("a\0b", 3), &why));
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "abcd"));
}

}  // namespace

// Swarms (net/torrent/tracker_swarm.*): counts by `left`, completed counted once, stopped,
// numwant, the announcing peer left out, families kept apart, expiry, whitelist and bounds.
#include <gtest/gtest.h>

#include <set>

#include "net/torrent/tracker_rate_limit.hpp"
#include "net/torrent/tracker_swarm.hpp"

namespace tr = hf::torrent::tracker;

namespace {

tr::InfoHash hash_of(int n) {
  tr::InfoHash h{};
  h[0] = static_cast<std::uint8_t>(n);
  h[19] = 0x5a;
  return h;
}

tr::AnnounceRequest req(int torrent, std::int64_t left, tr::Event ev = tr::Event::none, int numwant = -1) {
  tr::AnnounceRequest r;
  r.info_hash = hash_of(torrent);
  r.peer_id.fill('p');
  r.left = left;
  r.event = ev;
  r.numwant = numwant;
  return r;
}

tr::PeerAddr v4(int host, std::uint16_t port) {
  return tr::v4_addr(0x0a000000u + static_cast<std::uint32_t>(host), port);
}

tr::PeerAddr v6(int host, std::uint16_t port) {
  tr::PeerAddr a;
  a.v6 = true;
  a.ip[0] = 0x20;
  a.ip[1] = 0x01;
  a.ip[15] = static_cast<std::uint8_t>(host);
  a.port = port;
  return a;
}

tr::AnnounceReply announce(tr::Swarms& s, const tr::AnnounceRequest& r, const tr::PeerAddr& a, std::int64_t now = 100) {
  tr::AnnounceReply out;
  auto refused = s.announce(r, a, 1000, 1000, now, &out);
  EXPECT_FALSE(refused) << *refused;
  return out;
}

}  // namespace

TEST(TrackerSwarm, SeedersLeechersAndCompletedOnce) {
  tr::Swarms s({});
  announce(s, req(1, 100, tr::Event::started), v4(1, 1000));
  announce(s, req(1, 0, tr::Event::started), v4(2, 1000));
  auto r = announce(s, req(1, 50), v4(3, 1000));
  EXPECT_EQ(r.counts.complete, 1u);
  EXPECT_EQ(r.counts.incomplete, 2u);
  EXPECT_EQ(r.counts.downloaded, 0u);
  EXPECT_EQ(r.interval, 1800u);
  EXPECT_EQ(r.min_interval, 60u);
  // Peer 1 finishes: it becomes a seeder and one download is counted, once however often it says so.
  r = announce(s, req(1, 0, tr::Event::completed), v4(1, 1000));
  r = announce(s, req(1, 0, tr::Event::completed), v4(1, 1000));
  EXPECT_EQ(r.counts.complete, 2u);
  EXPECT_EQ(r.counts.incomplete, 1u);
  EXPECT_EQ(r.counts.downloaded, 1u);
  // A seeder that goes back to leeching (data lost) moves back.
  r = announce(s, req(1, 10), v4(2, 1000));
  EXPECT_EQ(r.counts.complete, 1u);
  EXPECT_EQ(r.counts.incomplete, 2u);
  auto t = s.totals();
  EXPECT_EQ(t.torrents, 1u);
  EXPECT_EQ(t.seeders, 1u);
  EXPECT_EQ(t.leechers, 2u);
  EXPECT_EQ(t.completed, 1u);
}

TEST(TrackerSwarm, StoppedRemovesAndGetsNoPeers) {
  tr::Swarms s({});
  announce(s, req(1, 5), v4(1, 1));
  announce(s, req(1, 0), v4(2, 1));
  auto r = announce(s, req(1, 5, tr::Event::stopped), v4(1, 1));
  EXPECT_TRUE(r.peers4.empty());
  EXPECT_EQ(r.counts.complete, 1u);
  EXPECT_EQ(r.counts.incomplete, 0u);
  r = announce(s, req(1, 0, tr::Event::stopped), v4(2, 1));
  EXPECT_EQ(r.counts.complete + r.counts.incomplete, 0u);
  EXPECT_EQ(s.totals().torrents, 0u);
  // Stopping what was never there is not an error, and creates nothing.
  r = announce(s, req(7, 0, tr::Event::stopped), v4(9, 1));
  bool known = true;
  s.scrape(hash_of(7), &known);
  EXPECT_FALSE(known);
}

TEST(TrackerSwarm, PeersNeverIncludeTheAnnouncerAndFollowNumwant) {
  tr::SwarmConfig cfg;
  cfg.numwant_default = 5;
  cfg.numwant_max = 8;
  tr::Swarms s(cfg);
  for (int i = 1; i <= 20; ++i) announce(s, req(1, 1), v4(i, 6881));
  auto r = announce(s, req(1, 1), v4(3, 6881));
  EXPECT_EQ(r.peers4.size(), 5u) << "the default";
  r = announce(s, req(1, 1, tr::Event::none, 100), v4(3, 6881));
  EXPECT_EQ(r.peers4.size(), 8u) << "capped";
  r = announce(s, req(1, 1, tr::Event::none, 0), v4(3, 6881));
  EXPECT_TRUE(r.peers4.empty());
  std::set<std::uint32_t> seen;
  for (int round = 0; round < 50; ++round) {
    r = announce(s, req(1, 1, tr::Event::none, 8), v4(3, 6881));
    std::set<std::uint32_t> once;
    for (const auto& p : r.peers4) {
      EXPECT_NE(p.addr, v4(3, 6881));
      once.insert(p.addr.ip[3]);
      seen.insert(p.addr.ip[3]);
    }
    EXPECT_EQ(once.size(), 8u) << "no peer twice in one reply";
  }
  EXPECT_EQ(seen.size(), 19u) << "over many announces every other peer gets handed out";
  // A small swarm: everyone else, whatever numwant.
  tr::Swarms small({});
  announce(small, req(2, 1), v4(1, 1));
  announce(small, req(2, 1), v4(2, 1));
  r = announce(small, req(2, 1), v4(1, 1));
  ASSERT_EQ(r.peers4.size(), 1u);
  EXPECT_EQ(r.peers4[0].addr, v4(2, 1));
}

TEST(TrackerSwarm, APeerIsItsAddressAndPort) {
  tr::Swarms s({});
  announce(s, req(1, 1), v4(1, 1000));
  auto r = announce(s, req(1, 1), v4(1, 1001));  // same host, another port: another peer
  EXPECT_EQ(r.counts.incomplete, 2u);
  auto again = req(1, 1);
  again.peer_id.fill('q');  // same address and port, new peer id (a restarted client): replaced
  r = announce(s, again, v4(1, 1000));
  EXPECT_EQ(r.counts.incomplete, 2u);
  r = announce(s, req(1, 1), v4(1, 1001));
  ASSERT_EQ(r.peers4.size(), 1u);
  EXPECT_EQ(r.peers4[0].id[0], 'q');
}

TEST(TrackerSwarm, FamiliesApart) {
  tr::Swarms s({});
  announce(s, req(1, 1), v4(1, 1));
  announce(s, req(1, 1), v6(1, 1));
  announce(s, req(1, 1), v6(2, 1));
  tr::AnnounceReply r;
  ASSERT_FALSE(s.announce(req(1, 1), v4(2, 1), 1000, 1000, 100, &r));
  EXPECT_EQ(r.peers4.size(), 1u);
  EXPECT_EQ(r.peers6.size(), 2u);
  EXPECT_EQ(r.counts.incomplete, 4u);
  // The caller's room per family (a UDP reply over IPv4 carries IPv4 peers only).
  r = {};
  ASSERT_FALSE(s.announce(req(1, 1), v4(2, 1), 1000, 0, 100, &r));
  EXPECT_EQ(r.peers4.size(), 1u);
  EXPECT_TRUE(r.peers6.empty());
  r = {};
  ASSERT_FALSE(s.announce(req(1, 1), v6(1, 1), 0, 1, 100, &r));
  EXPECT_TRUE(r.peers4.empty());
  ASSERT_EQ(r.peers6.size(), 1u);
  EXPECT_EQ(r.peers6[0].addr, v6(2, 1));
}

TEST(TrackerSwarm, SilentPeersExpire) {
  tr::SwarmConfig cfg;
  cfg.interval = 100;  // peer timeout: 200
  tr::Swarms s(cfg);
  announce(s, req(1, 1), v4(1, 1), 1000);
  announce(s, req(1, 0), v4(2, 1), 1000);
  announce(s, req(1, 1), v4(3, 1), 1150);
  EXPECT_EQ(s.expire(1200), 0u) << "exactly the timeout is not yet too late";
  EXPECT_EQ(s.expire(1201), 2u);
  bool known = false;
  auto c = s.scrape(hash_of(1), &known);
  EXPECT_TRUE(known);
  EXPECT_EQ(c.complete, 0u);
  EXPECT_EQ(c.incomplete, 1u);
  auto t = s.totals();
  EXPECT_EQ(t.seeders, 0u);
  EXPECT_EQ(t.leechers, 1u);
  EXPECT_EQ(s.expire(1351), 1u);
  EXPECT_EQ(s.totals().torrents, 0u);
  s.scrape(hash_of(1), &known);
  EXPECT_TRUE(known) << "an empty swarm's counts stay one more timeout";
  s.expire(1351 + 201);
  s.scrape(hash_of(1), &known);
  EXPECT_FALSE(known);
  EXPECT_EQ(s.totals().leechers, 0u);
}

TEST(TrackerSwarm, Whitelist) {
  tr::SwarmConfig cfg;
  cfg.whitelist = tr::Whitelist{hash_of(1)};
  tr::Swarms s(cfg);
  tr::AnnounceReply r;
  EXPECT_FALSE(s.announce(req(1, 0), v4(1, 1), 10, 10, 1, &r));
  auto refused = s.announce(req(2, 0), v4(1, 1), 10, 10, 1, &r);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "info-hash not on this tracker's whitelist");
  EXPECT_TRUE(s.allowed(hash_of(1)));
  EXPECT_FALSE(s.allowed(hash_of(2)));
}

TEST(TrackerSwarm, MemoryBounds) {
  tr::SwarmConfig cfg;
  cfg.max_torrents = 2;
  cfg.max_peers_per_torrent = 3;
  tr::Swarms s(cfg);
  announce(s, req(1, 0), v4(1, 1));
  announce(s, req(2, 0), v4(1, 1));
  tr::AnnounceReply r;
  auto refused = s.announce(req(3, 0), v4(1, 1), 10, 10, 1, &r);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "tracker full: too many torrents, try later");
  for (int i = 2; i <= 3; ++i) announce(s, req(1, 1), v4(i, 1));
  r = announce(s, req(1, 1), v4(9, 1));  // the fourth: answered with peers, not stored
  EXPECT_EQ(r.peers4.size(), 3u);
  EXPECT_EQ(r.counts.complete + r.counts.incomplete, 3u);
}

TEST(TrackerRateLimit, BucketsPerAddress) {
  tr::RateLimiter lim(10, 20);  // 10 a second, bursts of 20
  const auto a = v4(1, 1), b = v4(2, 1);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += lim.allow(a, 5.0);
  EXPECT_EQ(allowed, 20);
  EXPECT_TRUE(lim.allow(b, 5.0)) << "another address is not affected";
  EXPECT_TRUE(lim.allow(v4(1, 999), 5.5)) << "half a second later: 5 more tokens (any port)";
  allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += lim.allow(a, 5.5);
  EXPECT_EQ(allowed, 4);
  // IPv6: the /64 is the client.
  auto x = v6(1, 1), y = v6(2, 1);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(lim.allow(x, 1.0));
  EXPECT_FALSE(lim.allow(y, 1.0));
  tr::RateLimiter off(0, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(off.allow(a, 1.0));
}

TEST(TrackerRateLimit, TableStaysBounded) {
  tr::RateLimiter lim(1, 2, 64);
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(lim.allow(v4(i, 1), 1.0 + i * 0.0001));
  EXPECT_LE(lim.tracked(), 64u);
  // Addresses idle long enough are forgotten to make room.
  for (int i = 0; i < 100; ++i) lim.allow(v4(100000 + i, 1), 100.0);
  EXPECT_LE(lim.tracked(), 64u);
}

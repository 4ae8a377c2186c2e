// The choker and token buckets (net/torrent/choker.hpp): tit-for-tat slots by download rate
// (by upload rate when seeding), snubbed and uninterested peers left out, the optimistic slot
// kept three rounds and drawn with newcomers three times as likely; rate limits alone and
// combined.
#include "net/torrent/choker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using hf::torrent::ChokePeer;
using hf::torrent::Choker;
using hf::torrent::PeerKey;
using hf::torrent::TokenBucket;

namespace {

ChokePeer peer(PeerKey k, double down, double up, bool interested = true, double last_block = 95,
               double connected = 0) {
  ChokePeer p;
  p.key = k;
  p.interested = interested;
  p.download_rate = down;
  p.upload_rate = up;
  p.last_block_at = last_block;
  p.connected_at = connected;
  return p;
}

bool has(const std::vector<PeerKey>& v, PeerKey k) { return std::find(v.begin(), v.end(), k) != v.end(); }

}  // namespace

TEST(Choker, DownloadingUnchokesTheBestSendersPlusOneOptimistic) {
  Choker c({});
  const std::vector<ChokePeer> peers = {peer(1, 500, 0), peer(2, 100, 9000), peer(3, 900, 0), peer(4, 50, 0),
                                        peer(5, 700, 0), peer(6, 10, 0),     peer(7, 5000, 0, false)};
  const auto out = c.rechoke(peers, false, 100);
  ASSERT_EQ(out.size(), 5u);
  for (PeerKey k : {3, 5, 1, 2}) EXPECT_TRUE(has(out, k)) << k;  // the four best interested senders
  EXPECT_FALSE(has(out, 7));                                     // not interested: never
  ASSERT_TRUE(c.optimistic());
  EXPECT_TRUE(*c.optimistic() == 4 || *c.optimistic() == 6);
  EXPECT_EQ(out.back(), *c.optimistic());
}

TEST(Choker, SeedingFavoursUploadRate) {
  Choker c({});
  const std::vector<ChokePeer> peers = {peer(1, 0, 10), peer(2, 0, 900), peer(3, 0, 50), peer(4, 0, 800),
                                        peer(5, 0, 700), peer(6, 0, 600)};
  const auto out = c.rechoke(peers, true, 100);
  for (PeerKey k : {2, 4, 5, 6}) EXPECT_TRUE(has(out, k)) << k;
  EXPECT_TRUE(*c.optimistic() == 1 || *c.optimistic() == 3);
}

TEST(Choker, SnubbedPeersGetNoRegularSlot) {
  Choker c({});
  // Peer 1 sends fast but its last block was 70 s ago; peer 2 joined 30 s ago and has sent
  // nothing yet: it is not snubbed.
  const std::vector<ChokePeer> peers = {peer(1, 9000, 0, true, 30), peer(2, 0, 0, true, -1e9, 70)};
  Choker::Config one;
  one.slots = 1;
  Choker c1(one);
  const auto out = c1.rechoke(peers, false, 100);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], 2u);                 // the regular slot
  EXPECT_EQ(*c1.optimistic(), 1u);       // the snubbed one can still be drawn optimistically
  EXPECT_EQ(c.rechoke({}, false, 0).size(), 0u);
}

TEST(Choker, TheOptimisticSlotRotatesAndFavoursNewcomers) {
  Choker::Config cfg;
  cfg.slots = 1;
  Choker c(cfg);
  // Peer 1 holds the regular slot; 2..11 compete for the optimistic one; 11 is new.
  std::map<PeerKey, int> drawn;
  double now = 1000;
  std::optional<PeerKey> last;
  int changes = 0;
  for (int round = 0; round < 3000; ++round, now += 10) {
    std::vector<ChokePeer> ps = {peer(1, 1e6, 0, true, now - 1)};
    for (PeerKey k = 2; k <= 10; ++k) ps.push_back(peer(k, 0, 0, true, now - 5, 0));
    ps.push_back(peer(11, 0, 0, true, now - 5, now - 30));  // always "connected 30 s ago"
    c.rechoke(ps, false, now);
    ASSERT_TRUE(c.optimistic());
    if (round % 3 == 0) {
      ++drawn[*c.optimistic()];
      if (last && *last != *c.optimistic()) ++changes;
    } else {
      EXPECT_EQ(*c.optimistic(), *last) << "kept between draws";
    }
    last = c.optimistic();
  }
  EXPECT_EQ(drawn.count(1), 0u);
  for (PeerKey k = 2; k <= 10; ++k) EXPECT_GT(drawn[k], 40) << k;  // about 1000 / 12 each
  // The newcomer weighs 3: about 3/12 of 1000 draws.
  EXPECT_GT(drawn[11], 180);
  EXPECT_LT(drawn[11], 330);
  EXPECT_GT(changes, 500);
}

TEST(TokenBuckets, LimitRatesAloneAndTogether) {
  TokenBucket b(100000, 25000);
  EXPECT_EQ(b.take(40000, 0.0), 25000u);  // the burst
  EXPECT_EQ(b.take(40000, 0.0), 0u);
  EXPECT_EQ(b.take(40000, 0.1), 10000u);  // 0.1 s of 100 kB/s
  EXPECT_DOUBLE_EQ(b.ready_at(5000, 0.1), 0.15);
  EXPECT_EQ(b.take(1, 100.0), 1u);
  EXPECT_EQ(b.available(100.0), 24999u);  // refilled only to the burst

  TokenBucket unlimited;
  EXPECT_TRUE(unlimited.unlimited());
  EXPECT_EQ(unlimited.take(1 << 30, 5), 1u << 30);

  TokenBucket global(50000, 20000), torrent(200000, 50000);
  EXPECT_EQ(hf::torrent::take_all({&global, &torrent}, 30000, 0), 20000u);
  EXPECT_EQ(torrent.available(0), 30000u);  // only what went was taken from the torrent's
  EXPECT_EQ(global.available(0), 0u);
  // A bucket never hands out less than one block's burst, or a block could never go.
  TokenBucket slow(1000);
  EXPECT_EQ(slow.take(16384, 0), 16384u);
}

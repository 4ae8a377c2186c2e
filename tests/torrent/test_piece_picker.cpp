// The piece picker (net/torrent/piece_picker.hpp) against scripted swarms: rarest first,
// sequential order, started pieces finished first, BEP 6 allowed-fast limits, a failed piece
// asked for again, endgame copies and their cancels, and a long random run whose own record
// of outstanding requests shows no block asked of two peers outside endgame.
#include "net/torrent/piece_picker.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using hf::torrent::BlockRef;
using hf::torrent::PeerKey;
using hf::torrent::PiecePicker;

namespace {

PiecePicker::Config config(std::uint32_t pieces, std::uint64_t piece_length, std::uint64_t total) {
  PiecePicker::Config c;
  c.pieces = pieces;
  c.piece_length = piece_length;
  c.total_length = total;
  c.random_first = 0;
  return c;
}

std::vector<std::uint8_t> bits_of(std::uint32_t pieces, std::initializer_list<std::uint32_t> have) {
  std::vector<std::uint8_t> b((pieces + 7) / 8);
  for (std::uint32_t i : have) b[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
  return b;
}

}  // namespace

TEST(PiecePicker, RarestPiecesFirstAndBlocksCoverEachPiece) {
  // 10 pieces of 32 KiB (2 blocks), the last 20,000 bytes (2 blocks: 16384 + 3616).
  PiecePicker pp(config(10, 32768, 9 * 32768 + 20000));
  pp.add_seed(1);
  pp.add_peer(2, bits_of(10, {0, 1, 2, 3, 4}));
  pp.add_peer(3, bits_of(10, {0, 1, 2}));
  EXPECT_EQ(pp.availability(0), 3u);
  EXPECT_EQ(pp.availability(9), 1u);
  const auto got = pp.pick(1, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[0].piece, 5u);  // only the seed has 5..9
  EXPECT_EQ(got[0].piece, got[1].piece);
  EXPECT_EQ(got[0].begin, 0u);
  EXPECT_EQ(got[1].begin, 16384u);
  // The last piece's blocks add up to its size.
  PiecePicker last(config(10, 32768, 9 * 32768 + 20000));
  last.add_peer(7, bits_of(10, {9}));
  const auto tail = last.pick(7, 10);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].length + tail[1].length, 20000u);
  EXPECT_EQ(tail[1].length, 20000u - 16384u);
  // Peer 2 is asked for what it has; a started piece is finished before a new one.
  const auto from2 = pp.pick(2, 1);
  ASSERT_EQ(from2.size(), 1u);
  EXPECT_TRUE(from2[0].piece == 3 || from2[0].piece == 4);  // its rarest
  const auto again = pp.pick(3, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_LE(again[0].piece, 2u);
  const auto more2 = pp.pick(2, 1);
  ASSERT_EQ(more2.size(), 1u);
  // A started piece's other block, not a fresh piece.
  EXPECT_TRUE(more2[0].piece == from2[0].piece || more2[0].piece == again[0].piece) << more2[0].piece;
  EXPECT_EQ(pp.partial_pieces(), 3u);
}

TEST(PiecePicker, SequentialGoesInOrderAndAllowedFastLimits) {
  auto c = config(8, 16384, 8 * 16384);
  c.sequential = true;
  PiecePicker pp(c);
  pp.add_seed(1);
  pp.set_have(0);
  const auto got = pp.pick(1, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ((std::vector<std::uint32_t>{got[0].piece, got[1].piece, got[2].piece}),
            (std::vector<std::uint32_t>{1, 2, 3}));
  const std::uint32_t allowed[] = {6};
  const auto fast = pp.pick(1, 5, allowed);
  ASSERT_EQ(fast.size(), 1u);
  EXPECT_EQ(fast[0].piece, 6u);
  EXPECT_TRUE(pp.pick(2, 4).empty());  // an unknown peer gets nothing
}

TEST(PiecePicker, AFailedPieceIsAskedForAgain) {
  PiecePicker pp(config(2, 32768, 65536));
  pp.add_seed(1);
  pp.add_seed(2);
  auto got = pp.pick(1, 2);
  ASSERT_EQ(got.size(), 2u);
  bool ok = false;
  for (const auto& b : got) {
    EXPECT_TRUE(pp.received(1, b, &ok).empty());
    EXPECT_TRUE(ok);
  }
  EXPECT_TRUE(pp.all_blocks_in(got[0].piece));
  pp.received(1, got[0], &ok);
  EXPECT_FALSE(ok);  // a block twice is not taken
  pp.failed(got[0].piece);
  EXPECT_FALSE(pp.all_blocks_in(got[0].piece));
  const auto redo = pp.pick(2, 2);
  ASSERT_EQ(redo.size(), 2u);
  EXPECT_EQ(redo[0].piece, got[0].piece);  // the failed piece first, from another peer
  for (const auto& b : redo) pp.received(2, b, &ok);
  pp.verified(got[0].piece);
  EXPECT_TRUE(pp.have(got[0].piece));
  EXPECT_EQ(pp.partial_pieces(), 0u);
  // Unsolicited data for a piece never started is refused.
  pp.received(2, {static_cast<std::uint32_t>(1 - got[0].piece), 0, 16384}, &ok);
  EXPECT_FALSE(ok);
}

TEST(PiecePicker, EndgameAsksASecondPeerAndCancelsTheCopy) {
  PiecePicker pp(config(1, 32768, 32768));
  pp.add_seed(1);
  pp.add_seed(2);
  const auto a = pp.pick(1, 5);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(pp.endgame());  // nothing left unrequested
  const auto b = pp.pick(2, 5);
  ASSERT_EQ(b.size(), 2u);  // the same two blocks, from peer 2
  EXPECT_EQ(b[0], a[0]);
  EXPECT_TRUE(pp.pick(1, 5).empty());  // never the same block twice from one peer
  bool ok = false;
  const auto cancel = pp.received(2, b[0], &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(cancel, (std::vector<PeerKey>{1}));
  EXPECT_EQ(pp.outstanding(1), 1u);
  EXPECT_EQ(pp.outstanding(2), 1u);
  // A peer that leaves takes its requests along; the other still has its copy.
  pp.remove_peer(2);
  EXPECT_EQ(pp.outstanding(1), 1u);
  pp.received(1, a[1], &ok);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(pp.all_blocks_in(0));
  pp.verified(0);
  EXPECT_TRUE(pp.complete());
  EXPECT_FALSE(pp.endgame());
}

TEST(PiecePicker, ADepartingPeersRequestsGoToOthers) {
  PiecePicker pp(config(4, 16384, 4 * 16384));
  pp.add_seed(1);
  pp.add_seed(2);
  const auto a = pp.pick(1, 4);
  ASSERT_EQ(a.size(), 4u);
  pp.remove_peer(1);
  EXPECT_EQ(pp.availability(0), 1u);
  EXPECT_FALSE(pp.endgame());
  const auto b = pp.pick(2, 4);
  EXPECT_EQ(b.size(), 4u);
}

TEST(PiecePicker, RandomSwarmNeverAsksTwoPeersForABlockOutsideEndgame) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    const std::uint32_t pieces = 1 + static_cast<std::uint32_t>(rng() % 60);
    const std::uint64_t plen = 16384u << (rng() % 3);
    const std::uint64_t total = plen * (pieces - 1) + 1 + rng() % plen;
    auto c = config(pieces, plen, total);
    c.random_first = static_cast<std::uint32_t>(rng() % 5);
    c.sequential = rng() % 4 == 0;
    c.seed = seed;
    PiecePicker pp(c);
    for (PeerKey p = 1; p <= 5; ++p) {
      std::vector<std::uint8_t> bits((pieces + 7) / 8);
      for (std::uint32_t i = 0; i < pieces; ++i)
        if (p == 5 || rng() % 2) bits[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
      pp.add_peer(p, bits);
    }
    // The test's own record: block -> peers asked.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::set<PeerKey>> asked;
    int steps = 0;
    while (!pp.complete() && steps++ < 100000) {
      const PeerKey p = 1 + rng() % 5;
      const int what = static_cast<int>(rng() % 10);
      if (what < 5) {
        const bool endgame_before = pp.endgame();
        for (const BlockRef& b : pp.pick(p, 1 + rng() % 6)) {
          auto& who = asked[{b.piece, b.begin}];
          ASSERT_FALSE(who.count(p)) << "seed " << seed << ": one peer asked twice";
          if (!endgame_before && !pp.endgame()) {
            ASSERT_TRUE(who.empty()) << "seed " << seed;
          }
          ASSERT_LT(who.size(), PiecePicker::kEndgameCopies) << "seed " << seed;
          ASSERT_TRUE(pp.peer_has_piece(p, b.piece));
          who.insert(p);
        }
      } else if (what < 9) {  // a block arrives from p
        for (auto& [key, who] : asked)
          if (who.count(p)) {
            const BlockRef b{key.first, key.second, std::min<std::uint32_t>(16384, pp.piece_size(key.first) - key.second)};
            bool ok = false;
            const auto others = pp.received(p, b, &ok);
            ASSERT_TRUE(ok);
            std::set<PeerKey> expect = who;
            expect.erase(p);
            ASSERT_EQ(std::set<PeerKey>(others.begin(), others.end()), expect);
            asked.erase(key);
            if (pp.all_blocks_in(b.piece)) {
              if (rng() % 8 == 0) {
                pp.failed(b.piece);  // a bad piece: asked for again
              } else {
                pp.verified(b.piece);
              }
            }
            break;
          }
      } else {  // p drops one request
        for (auto& [key, who] : asked)
          if (who.count(p)) {
            pp.dropped(p, {key.first, key.second, 0});
            who.erase(p);
            if (who.empty()) asked.erase(key);
            break;
          }
      }
      for (PeerKey q = 1; q <= 5; ++q) {
        std::size_t n = 0;
        for (const auto& [key, who] : asked) n += who.count(q);
        ASSERT_EQ(pp.outstanding(q), n) << "seed " << seed;
      }
    }
    EXPECT_TRUE(pp.complete()) << "seed " << seed << " after " << steps << " steps";
    EXPECT_EQ(pp.have_count(), pieces);
  }
}

TEST(PiecePicker, RequestQueuesFollowThePeersRate) {
  EXPECT_EQ(hf::torrent::request_queue_depth(0), 2u);
  EXPECT_EQ(hf::torrent::request_queue_depth(16384), 3u);   // 3 s of 16 KiB/s
  EXPECT_EQ(hf::torrent::request_queue_depth(10e6), 250u);  // capped
}

TEST(PiecePicker, PadBlocksAreNeverRequested) {
  // 3 pieces of 64 KiB (4 blocks). A pad file covers bytes 40,000..131,072: block 3 of piece 0
  // (49,152..65,536) and all of piece 1, which is nothing but zeros and so is still fetched
  // (something must arrive to be checked). Block 2 of piece 0 is only partly pad: fetched.
  auto c = config(3, 65536, 3 * 65536);
  c.zero_ranges = {{40000, 131072}};
  PiecePicker pp(c);
  EXPECT_TRUE(pp.local_block(0, 3));
  EXPECT_FALSE(pp.local_block(0, 2));
  EXPECT_FALSE(pp.local_block(1, 0));
  EXPECT_FALSE(pp.local_block(2, 0));
  EXPECT_EQ(pp.blocks_to_fetch(0), 3u);
  EXPECT_EQ(pp.blocks_to_fetch(1), 4u);
  pp.add_seed(1);
  pp.add_seed(2);
  const auto all = pp.pick(1, 100);
  EXPECT_TRUE(pp.endgame());
  EXPECT_EQ(all.size(), 3u + 4u + 4u);  // every block once, the pad block of piece 0 never
  for (const auto& b : all) EXPECT_FALSE(b.piece == 0 && b.begin == 3 * 16384u) << "pad block requested";
  bool ok = false;
  for (const auto& b : all)
    if (b.piece == 0) pp.received(1, b, &ok);
  EXPECT_TRUE(pp.all_blocks_in(0));
  pp.received(1, {0, 3 * 16384, 16384}, &ok);
  EXPECT_FALSE(ok);  // a pad block that arrives anyway is not taken
  // A failed check asks again for the three fetched blocks only, from one peer.
  pp.failed(0);
  EXPECT_FALSE(pp.all_blocks_in(0));
  auto redo = pp.pick(2, 100);
  std::size_t of0 = 0;
  for (const auto& b : redo)
    if (b.piece == 0) {
      ++of0;
      EXPECT_NE(b.begin, 3 * 16384u);
      pp.received(2, b, &ok);
    }
  EXPECT_EQ(of0, 3u);
  EXPECT_TRUE(pp.all_blocks_in(0));
  pp.verified(0);
  EXPECT_TRUE(pp.have(0));
}

TEST(PiecePicker, StartedPiecesAreCappedAndRestoredBlocksNeverPicked) {
  // 20 pieces of 2 blocks; at most 3 started and unchecked at once.
  PiecePicker::Config c = config(20, 32768, 20 * 32768);
  c.max_partial = 3;
  PiecePicker pp(c);
  pp.add_seed(1);
  // Block 1 of piece 7 is on disk from an earlier run: received, never asked for.
  EXPECT_TRUE(pp.restore_block(7, 1));
  EXPECT_FALSE(pp.restore_block(7, 1));  // in already
  EXPECT_TRUE(pp.block_received(7, 1));
  EXPECT_FALSE(pp.block_received(7, 0));
  EXPECT_EQ(pp.partial_pieces(), 1u);
  auto got = pp.pick(1, 100);
  std::set<std::uint32_t> pieces;
  for (const auto& b : got) {
    pieces.insert(b.piece);
    EXPECT_FALSE(b.piece == 7 && b.begin == 16384) << "a restored block was asked for";
  }
  EXPECT_EQ(pieces.size(), 3u);  // piece 7 and two new ones, no more
  EXPECT_TRUE(pieces.count(7));
  EXPECT_EQ(got.size(), 5u);
  EXPECT_TRUE(pp.pick(1, 100).empty());  // at the cap, with every started block asked for
  // One piece in and checked: room for one more.
  for (const auto& b : got) {
    bool accepted = false;
    if (b.piece != 7) continue;
    pp.received(1, b, &accepted);
    EXPECT_TRUE(accepted);
  }
  ASSERT_TRUE(pp.all_blocks_in(7));
  pp.verified(7);
  EXPECT_FALSE(pp.restore_block(7, 0));  // held now
  auto more = pp.pick(1, 100);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].piece, more[1].piece);
  EXPECT_FALSE(pieces.count(more[0].piece));
}

TEST(PiecePicker, AtTheCapAPeerThatCannotHelpStillStartsPiecesUpToTwiceIt) {
  // Two started pieces wait for blocks only a departed peer had: the peer left cannot help
  // with them, so it may start new ones, but no more than twice the cap in all.
  PiecePicker::Config c = config(20, 32768, 20 * 32768);
  c.max_partial = 2;
  PiecePicker pp(c);
  pp.add_peer(1, bits_of(20, {0, 1}));
  pp.add_seed(2);
  auto first = pp.pick(1, 2);  // both blocks of one of its pieces
  auto second = pp.pick(1, 2);  // and of the other
  ASSERT_EQ(first.size() + second.size(), 4u);
  pp.remove_peer(1);  // its requests are dropped: the two pieces wait, unrequested
  EXPECT_EQ(pp.partial_pieces(), 2u);
  auto got = pp.pick(2, 100);
  std::set<std::uint32_t> pieces;
  for (const auto& b : got) pieces.insert(b.piece);
  // Peer 2 has pieces 0 and 1 too, so it helps with them first, and at the cap starts none.
  EXPECT_EQ(pieces, (std::set<std::uint32_t>{0, 1}));
  // A peer with neither: it starts two more, up to twice the cap, and then no more.
  PiecePicker pq(c);
  pq.add_peer(1, bits_of(20, {0, 1}));
  pq.pick(1, 4);
  pq.remove_peer(1);
  pq.add_peer(3, bits_of(20, {5, 6, 7, 8, 9}));
  auto other = pq.pick(3, 100);
  std::set<std::uint32_t> started;
  for (const auto& b : other) started.insert(b.piece);
  EXPECT_EQ(started.size(), 2u);
  EXPECT_EQ(pq.partial_pieces(), 4u);
  EXPECT_TRUE(pq.pick(3, 100).empty());
}

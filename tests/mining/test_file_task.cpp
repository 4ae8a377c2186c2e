// The file task's pure pieces: the line format and its hash (checked with OpenSSL), the
// RangeBook that hands out disjoint nonce ranges (random operations against a bitmap
// model) and keeps partial claims in whole grains, the check of a claim against its best
// hash, the engine job that searches a range (against a brute-force loop), and FileTask's
// rounds (one line each) and saved state.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hashforge/hex.hpp"
#include "net/mining/file_task.hpp"
#include "tests/oracle.hpp"

using namespace hf;
using namespace hf::mining;

namespace {
std::string openssl_hex(const std::string& s) {
  return hft::ossl(Algo::sha256, reinterpret_cast<const std::uint8_t*>(s.data()), s.size()).hex();
}
Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
}  // namespace

TEST(FileTask, LineAndHashMatchTheReportsFormat) {
  EXPECT_EQ(file_line(0x9ba04820, "G06"), "9ba04820 G06");
  EXPECT_EQ(file_line(0, "G06"), "00000000 G06");
  EXPECT_EQ(file_line(0xffffffff, "x"), "ffffffff x");
  const std::string input = "some block\nwith lines\n";
  EXPECT_EQ(file_hash(bytes(input), 0x9ba04820, "G06").hex(), openssl_hex(input + "9ba04820 G06"));
  std::string why;
  EXPECT_TRUE(valid_identifier("G06", &why));
  EXPECT_FALSE(valid_identifier("", &why));
  EXPECT_FALSE(valid_identifier("a\nb", &why));
  EXPECT_FALSE(valid_identifier(std::string(65, 'a'), &why));
}

TEST(FileTask, EngineSearchOfARangeFindsTheBruteForceBest) {
  const Bytes input = bytes("block\n");
  const NonceRange r{0xfffff000u, 0x1000};  // up to the top of the 8-hex space
  const SearchResult res = Engine::instance().search(file_search_job(input, "G06", r)).value();
  ASSERT_TRUE(res.best);
  std::string best;
  std::uint64_t best_n = 0;
  for (std::uint64_t n = r.first; n < r.first + r.count; ++n) {
    const std::string h = file_hash(input, static_cast<std::uint32_t>(n), "G06").hex();
    if (best.empty() || h < best) best = h, best_n = n;
  }
  EXPECT_EQ(res.best->nonce, best_n);
  EXPECT_EQ(res.best->digest.hex(), best);
  EXPECT_EQ(res.hashes, r.count);
}

TEST(RangeBook, TakesLowestFreeFirstAndNeverOverlaps) {
  RangeBook b(100);
  auto a = b.take(30), c = b.take(30);
  ASSERT_TRUE(a && c);
  EXPECT_EQ(a->first, 0u);
  EXPECT_EQ(c->first, 30u);
  b.give_back(*a);  // its worker left: the lowest nonces are free again
  auto d = b.take(50);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, 0u);
  EXPECT_EQ(d->count, 30u) << "a range stops at the next one out";
  EXPECT_EQ(b.finish(*d, 10), 10u);  // partly searched: 10..29 free again
  EXPECT_EQ(b.finish(*c, 30), 30u);
  EXPECT_EQ(b.done_count(), 40u);
  auto e = b.take(100);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, 10u);
  EXPECT_EQ(e->count, 20u);
  b.finish(*e, 20);
  auto f = b.take(1000);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first, 60u);
  EXPECT_EQ(f->count, 40u);
  EXPECT_FALSE(b.take(1)) << "nothing free while the rest is out";
  EXPECT_EQ(b.finish(*f, 45), 40u) << "a claim beyond the range counts only the range";
  EXPECT_TRUE(b.all_done());
  EXPECT_EQ(b.done_ranges().size(), 1u);
  EXPECT_EQ(b.done_ranges()[0].count, 100u);
}

TEST(RangeBook, RandomOperationsAgreeWithABitmap) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const std::uint64_t space = 1 + rng() % 500;
    RangeBook b(space);
    std::vector<int> state(space, 0);  // 0 free, 1 out, 2 done
    std::vector<NonceRange> out;
    for (int step = 0; step < 300; ++step) {
      const int op = rng() % 3;
      if (op == 0) {
        auto r = b.take(1 + rng() % 60);
        std::uint64_t first_free = 0;
        while (first_free < space && state[first_free] != 0) ++first_free;
        if (first_free == space) {
          ASSERT_FALSE(r);
          continue;
        }
        ASSERT_TRUE(r);
        ASSERT_EQ(r->first, first_free);
        for (std::uint64_t n = r->first; n < r->first + r->count; ++n) {
          ASSERT_EQ(state[n], 0) << "handed out a nonce that was not free";
          state[n] = 1;
        }
        out.push_back(*r);
      } else if (!out.empty()) {
        const std::size_t i = rng() % out.size();
        const NonceRange r = out[i];
        out.erase(out.begin() + static_cast<long>(i));
        for (std::uint64_t n = r.first; n < r.first + r.count; ++n) state[n] = 0;
        if (op == 1) {
          b.give_back(r);
        } else {
          const std::uint64_t part = rng() % (r.count + 1);
          b.finish(r, part);
          for (std::uint64_t n = r.first; n < r.first + part; ++n) state[n] = 2;
        }
      }
      std::uint64_t done = 0, busy = 0;
      for (int s : state) done += s == 2, busy += s == 1;
      ASSERT_EQ(b.done_count(), done);
      ASSERT_EQ(b.out_count(), busy);
    }
  }
}

TEST(RangeBook, PartialClaimsCountWholeGrainsSoNoSliverIsLeft) {
  RangeBook b(1 << 20, 1024);
  const auto r = b.take(3000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 3072u) << "ranges are whole grains";
  EXPECT_EQ(b.countable(*r, 3071), 2048u);
  EXPECT_EQ(b.finish(*r, 3071), 2048u) << "a claim one short of the range leaves a whole grain, not 1 nonce";
  const auto next = b.take(1);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first, 2048u);
  EXPECT_EQ(next->count, 1024u);
  EXPECT_EQ(b.finish(*next, 1024), 1024u) << "the whole range counts as it is";
  EXPECT_EQ(b.finish(*b.take(5000), 1), 0u) << "less than a grain counts nothing";
  EXPECT_EQ(b.done_count(), 3072u);
  EXPECT_EQ(b.done_ranges().size(), 1u);
  // At the end of a space that is not a multiple of the grain the last range is shorter.
  RangeBook tail(1000, 512);
  ASSERT_TRUE(tail.take(512));
  const auto last = tail.take(512);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->count, 488u);
  EXPECT_EQ(tail.finish(*last, 488), 488u);
}

TEST(FileTask, AClaimMustFitItsBestHash) {
  Digest d;
  d.size = 32;
  d.bytes.fill(0);
  d.bytes[0] = 0x80;  // half the hash space: what a search of 1 or 2 nonces gives
  EXPECT_TRUE(claim_fits_best(1, d));
  EXPECT_TRUE(claim_fits_best(48, d));
  EXPECT_FALSE(claim_fits_best(49, d));
  EXPECT_FALSE(claim_fits_best(kFileNonceSpace, d));
  d.bytes[0] = 0;
  d.bytes[3] = 0x01;  // 2^-32 of the space: the best of about 2^32 nonces
  EXPECT_TRUE(claim_fits_best(kFileNonceSpace, d));
  // An honest search never trips it: the best of n real hashes, for many n.
  const Bytes input = bytes("block\n");
  for (std::uint64_t n : {1ull, 7ull, 100ull, 5000ull}) {
    const SearchResult res = Engine::instance().search(file_search_job(input, "G06", {n * 977, n})).value();
    ASSERT_TRUE(res.best);
    EXPECT_TRUE(claim_fits_best(n, res.best->digest)) << n;
  }
}

TEST(FileTask, RoundsAppendLinesAndStateRoundTrips) {
  FileTaskSpec spec{bytes("genesis\n"), "G06", 2, 60, 1000};
  FileTask t(spec);
  EXPECT_EQ(t.round(), 1u);
  EXPECT_EQ(t.input_sha256(), openssl_hex("genesis\n"));
  EXPECT_EQ(t.hash_of(17), file_hash(t.input(), 17, "G06"));
  t.current().book.finish(*t.current().book.take(400), 1000);
  t.offer(17, "alice");
  t.offer(300, "bob");
  const std::string first_best = t.current().best->finder;
  t.current().elapsed = 12.5;

  std::string why;
  auto copy = FileTask::from_json(spec, boost::json::value(t.to_json()), &why);
  ASSERT_TRUE(copy) << why;
  EXPECT_EQ(copy->round(), 1u);
  EXPECT_EQ(copy->current().book.done_count(), 1000u);
  EXPECT_EQ(copy->current().elapsed, 12.5);
  EXPECT_EQ(copy->current().best->finder, first_best);
  EXPECT_EQ(copy->current().best->hash, t.current().best->hash);

  const std::uint32_t n1 = t.current().best->nonce;
  t.end_round();
  EXPECT_EQ(t.round(), 2u);
  // One line per round: the next round mines the file with this line ended by a newline.
  EXPECT_EQ(t.input(), bytes("genesis\n" + file_line(n1, "G06") + "\n"));
  EXPECT_EQ(t.input_sha256(), openssl_hex("genesis\n" + file_line(n1, "G06") + "\n"));
  EXPECT_EQ(t.hash_of(5), file_hash(t.input(), 5, "G06"));
  t.offer(5, "carol");
  auto copy2 = FileTask::from_json(spec, boost::json::value(t.to_json()), &why);
  ASSERT_TRUE(copy2) << why;
  EXPECT_EQ(copy2->round(), 2u);
  EXPECT_EQ(copy2->input(), t.input());
  EXPECT_EQ(copy2->current().best->hash, file_hash(t.input(), 5, "G06"));
  t.end_round();
  EXPECT_TRUE(t.finished());
  // The result's SHA-256 is the last round's best hash: no newline after the last line.
  EXPECT_EQ(t.result(), bytes("genesis\n" + file_line(n1, "G06") + "\n" + file_line(5, "G06")));
  const Bytes result = t.result();
  EXPECT_EQ(openssl_hex(std::string(result.begin(), result.end())), t.rounds().back().best->hash.hex());
  auto done = FileTask::from_json(spec, boost::json::value(t.to_json()), &why);
  ASSERT_TRUE(done) << why;
  EXPECT_TRUE(done->finished());
  EXPECT_EQ(done->result(), t.result());

  // Another file, identifier or budget is another task: its state is refused.
  FileTaskSpec other = spec;
  other.identifier = "G07";
  EXPECT_FALSE(FileTask::from_json(other, boost::json::value(t.to_json()), &why));
  EXPECT_NE(why.find("another task"), std::string::npos);
  EXPECT_FALSE(FileTask::from_json(spec, boost::json::parse(R"({"task":"x"})"), &why));
  EXPECT_FALSE(FileTask::from_json(spec, boost::json::parse("[1,2]"), &why));
}

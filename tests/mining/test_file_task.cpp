// The file task's pure pieces: the line format and its hash (checked with OpenSSL), the
// RangeBook that hands out disjoint nonce ranges (random operations against a bitmap
// model), the engine job that searches a range (against a brute-force loop), and FileTask's
// rounds and saved state.
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
  b.finish(*d, {{0, 10}});  // partly searched: 10..29 free again
  b.finish(*c, {{30, 30}});
  EXPECT_EQ(b.done_count(), 40u);
  auto e = b.take(100);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, 10u);
  EXPECT_EQ(e->count, 20u);
  b.finish(*e, {{10, 20}});
  auto f = b.take(1000);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->first, 60u);
  EXPECT_EQ(f->count, 40u);
  EXPECT_FALSE(b.take(1)) << "nothing free while the rest is out";
  b.finish(*f, {{60, 40}, {200, 5}});  // covered outside the range is ignored
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
          b.finish(r, {{r.first, part}});
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

TEST(FileTask, RoundsAppendLinesAndStateRoundTrips) {
  FileTaskSpec spec{bytes("genesis\n"), "G06", 2, 60, 1000};
  FileTask t(spec);
  EXPECT_EQ(t.round(), 1u);
  t.current().book.finish(*t.current().book.take(400), {{0, 400}});
  t.offer(17, "alice");
  t.offer(300, "bob");
  const std::string first_best = t.current().best->finder;
  t.current().elapsed = 12.5;

  std::string why;
  auto copy = FileTask::from_json(spec, boost::json::value(t.to_json()), &why);
  ASSERT_TRUE(copy) << why;
  EXPECT_EQ(copy->round(), 1u);
  EXPECT_EQ(copy->current().book.done_count(), 400u);
  EXPECT_EQ(copy->current().elapsed, 12.5);
  EXPECT_EQ(copy->current().best->finder, first_best);
  EXPECT_EQ(copy->current().best->hash, t.current().best->hash);

  const std::uint32_t n1 = t.current().best->nonce;
  t.end_round();
  EXPECT_EQ(t.round(), 2u);
  EXPECT_EQ(t.input(), bytes("genesis\n" + file_line(n1, "G06")));
  t.offer(5, "carol");
  auto copy2 = FileTask::from_json(spec, boost::json::value(t.to_json()), &why);
  ASSERT_TRUE(copy2) << why;
  EXPECT_EQ(copy2->round(), 2u);
  EXPECT_EQ(copy2->input(), t.input());
  EXPECT_EQ(copy2->current().best->hash, file_hash(t.input(), 5, "G06"));
  t.end_round();
  EXPECT_TRUE(t.finished());
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

// Nonce search through Engine::search on every usable backend, checked against brute force
// with OpenSSL over messages built here (not by the engine's PreparedSearch).
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "oracle.hpp"
#include "registry.hpp"

namespace {

using hf::Algo;
using hf::ByteOrder;
using hf::Encoding;
using hf::Goal;
using hft::Bytes;

// Bitcoin block headers from /work/shared/reference/vectors.md.
struct Block {
  const char* name;
  const char* header;
  const char* hash;  // block hash as displayed (byte-reversed SHA256d)
  std::uint64_t nonce;
  std::uint32_t bits;
};
// Genesis: Bitcoin Core chainparams (CreateGenesisBlock(1231006505, 2083236893, 0x1d00ffff, ...));
// header bytes as published in ethereum/btcrelay test/headers/firstEleven.txt.
const Block kGenesis{"genesis",
                     "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c"
                     "3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
                     "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 2083236893, 0x1d00ffff};
// Block 100000: ethereum/btcrelay test/test_btcrelay.py; fields match `getblock`.
const Block kBlock100000{
    "block100000",
    "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b29409"
    "96ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
    "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506", 274148111, 0x1b04864c};

hf::SearchJob header_job(const Block& b, std::uint64_t first, std::uint64_t count) {
  hf::SearchJob job;
  job.algo = Algo::sha256d;
  job.message = hft::unhex(b.header);
  job.nonce = {76, Encoding::u32le, 4};
  job.range = {first, count};
  job.order = ByteOrder::bitcoin;
  job.goal = Goal::below_target;
  EXPECT_EQ(hf::target_from_compact(b.bits, &job.target), "");
  return job;
}

class SearchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { HFT_REQUIRE_BACKEND(GetParam()); }
  bool is_device() const { return hf::find_backend(GetParam())->is_device(); }
  hf::RunOptions opts(unsigned threads = 0) const {
    hf::RunOptions o;
    o.backend = GetParam();
    o.threads = threads;
    return o;
  }
  hf::SearchResult run(const hf::SearchJob& job, unsigned threads = 0) const {
    std::string why = hf::Engine::instance().validate(job);
    EXPECT_EQ(why, "") << hft::describe(job);
    return hf::Engine::instance().search(job, opts(threads)).value();
  }
  // A finished search: complete, one covered range equal to the job's range, nothing cut short.
  void expect_complete(const hf::SearchResult& r, const hf::SearchJob& job) const {
    EXPECT_TRUE(r.complete) << hft::describe(job);
    EXPECT_FALSE(r.cancelled);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.hashes, job.range.count) << hft::describe(job);
    if (job.range.count > 0) {
      ASSERT_EQ(r.covered.size(), 1u) << hft::describe(job);
      EXPECT_EQ(r.covered[0].first, job.range.first);
      EXPECT_EQ(r.covered[0].count, job.range.count);
    } else {
      EXPECT_TRUE(r.covered.empty());
    }
    EXPECT_EQ(r.backend, GetParam());
  }
};

// ---- real Bitcoin headers ----

TEST_P(SearchTest, BitcoinHeadersFindTheRealNonce) {
  for (const Block* b : {&kGenesis, &kBlock100000}) {
    for (auto [before, count] :
         {std::pair<std::uint64_t, std::uint64_t>{1500, 3000}, {0, 1}, {2999, 3000}, {7, 4001}}) {
      const hf::SearchJob job = header_job(*b, b->nonce - before, count);
      const hf::SearchResult r = run(job);
      expect_complete(r, job);
      ASSERT_EQ(r.hits.size(), 1u) << b->name << " range " << job.range.first << "+" << count;
      const hf::Hit& h = r.hits[0];
      EXPECT_EQ(h.nonce, b->nonce) << b->name;
      EXPECT_EQ(hf::reversed_hex(h.digest.view()), b->hash) << b->name;
      EXPECT_EQ(h.digest.size, 32);
      // The key in Bitcoin order is the displayed block hash as a number.
      EXPECT_EQ(hft::key_hex(h.key), b->hash) << b->name;
      EXPECT_EQ(r.dropped_hits, 0u);
      EXPECT_FALSE(r.best.has_value());
    }
  }
}

TEST_P(SearchTest, BitcoinHeadersRangesWithoutTheNonceFindNothing) {
  for (const Block* b : {&kGenesis, &kBlock100000}) {
    for (auto [first, count] : {std::pair<std::uint64_t, std::uint64_t>{b->nonce + 1, 3000},
                                {b->nonce - 3000, 3000},
                                {b->nonce - 5001, 5000}}) {
      const hf::SearchJob job = header_job(*b, first, count);
      const hf::SearchResult r = run(job);
      expect_complete(r, job);
      EXPECT_TRUE(r.hits.empty()) << b->name << " " << first << "+" << count;
      EXPECT_EQ(r.dropped_hits, 0u);
    }
  }
}

TEST_P(SearchTest, GenesisWithPoolDifficultyOneTarget) {
  hf::SearchJob job = header_job(kGenesis, kGenesis.nonce - 1000, 2000);
  ASSERT_EQ(hf::target_from_difficulty(1.0, &job.target), "");
  // Stratum difficulty 1 (vectors.md) is the 0x1d00ffff target.
  EXPECT_EQ(hft::key_hex(job.target), "00000000ffff0000000000000000000000000000000000000000000000000000");
  const hf::SearchResult r = run(job);
  expect_complete(r, job);
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].nonce, kGenesis.nonce);
}

TEST_P(SearchTest, TargetComparisonIsAtOrBelow) {
  // The target equal to the genesis block hash (vectors.md) admits exactly that nonce; one
  // less admits nothing.
  hf::SearchJob job = header_job(kGenesis, kGenesis.nonce - 20, 40);
  ASSERT_EQ(hf::target_from_hex(kGenesis.hash, &job.target), "");
  hf::SearchResult r = run(job);
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].nonce, kGenesis.nonce);
  std::string less = kGenesis.hash;
  ASSERT_EQ(less.back(), 'f');
  less.back() = 'e';
  ASSERT_EQ(hf::target_from_hex(less, &job.target), "");
  r = run(job);
  EXPECT_TRUE(r.hits.empty());
  expect_complete(r, job);
}

TEST_P(SearchTest, BestGoalOnGenesisFindsTheRealNonce) {
  hf::SearchJob job = header_job(kGenesis, kGenesis.nonce - 777, 3001);
  job.goal = Goal::best;
  const hf::SearchResult r = run(job);
  expect_complete(r, job);
  ASSERT_TRUE(r.best.has_value());
  EXPECT_EQ(r.best->nonce, kGenesis.nonce);
  EXPECT_EQ(hf::reversed_hex(r.best->digest.view()), kGenesis.hash);
  EXPECT_TRUE(r.hits.empty());
}

// ---- many hits, zero hits, max_hits ----

hf::SearchJob random_header_job(std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  hft::Rng rng(seed);
  hf::SearchJob job;
  job.algo = Algo::sha256d;
  job.message = rng.bytes(80);
  job.nonce = {76, Encoding::u32le, 4};
  job.range = {first, count};
  job.order = ByteOrder::bitcoin;
  job.goal = Goal::below_target;
  return job;
}

TEST_P(SearchTest, ManyHitsEqualBruteForceInNonceOrder) {
  for (int variant = 0; variant < 3; ++variant) {
    hf::SearchJob job = random_header_job(0x4a11 + variant, 123457 + 1000 * variant, 20000);
    if (variant == 0) {
      ASSERT_EQ(hf::target_from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target),
                "");
    } else if (variant == 1) {
      // Pool difficulty 2^-24: diff1 * 2^24 = 0x00ffff00...: about one hash in 256.
      ASSERT_EQ(hf::target_from_difficulty(1.0 / (1 << 24), &job.target), "");
      EXPECT_EQ(hft::key_hex(job.target), "00ffff0000000000000000000000000000000000000000000000000000000000");
    } else {
      job.order = ByteOrder::digest;
      ASSERT_EQ(hf::target_from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target),
                "");
    }
    const hft::Expected want = hft::brute_force(job);
    ASSERT_GE(want.hits.size(), 20u) << "the test wants a range with many hits";
    std::vector<hf::Hit> streamed;
    hf::RunOptions o = opts(2);
    o.on_hit = [&](const hf::Hit& h) { streamed.push_back(h); };
    const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
    expect_complete(r, job);
    EXPECT_TRUE(hft::same_hits(r.hits, want.hits)) << "variant " << variant;
    EXPECT_TRUE(hft::same_hits(streamed, want.hits)) << "on_hit, variant " << variant;
    EXPECT_EQ(r.dropped_hits, 0u);
  }
}

TEST_P(SearchTest, MaxHitsKeepsTheLowestNoncesAndCountsTheRest) {
  hf::SearchJob job = random_header_job(0x3a3, 99991, 20000);
  ASSERT_EQ(hf::target_from_hex("0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target), "");
  const hft::Expected want = hft::brute_force(job);
  ASSERT_GT(want.hits.size(), 500u);
  for (std::size_t cap : {std::size_t(0), std::size_t(1), std::size_t(100), want.hits.size() - 1, want.hits.size(),
                          want.hits.size() + 5}) {
    job.max_hits = cap;
    std::vector<hf::Hit> streamed;
    hf::RunOptions o = opts(2);
    o.on_hit = [&](const hf::Hit& h) { streamed.push_back(h); };
    const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
    expect_complete(r, job);
    const std::size_t kept = std::min(cap, want.hits.size());
    std::vector<hf::Hit> lowest(want.hits.begin(), want.hits.begin() + static_cast<std::ptrdiff_t>(kept));
    EXPECT_TRUE(hft::same_hits(r.hits, lowest)) << "max_hits " << cap;
    EXPECT_TRUE(hft::same_hits(streamed, lowest)) << "on_hit, max_hits " << cap;
    EXPECT_EQ(r.dropped_hits, want.hits.size() - kept) << "max_hits " << cap;
  }
}

TEST_P(SearchTest, ZeroHits) {
  hf::SearchJob job = random_header_job(0x2e0, 5, 20000);
  ASSERT_EQ(hf::target_from_hex("0000000000000000000000000000000000000000000000000000000000000001", &job.target), "");
  const hft::Expected want = hft::brute_force(job);
  ASSERT_TRUE(want.hits.empty());
  const hf::SearchResult r = run(job, 2);
  expect_complete(r, job);
  EXPECT_TRUE(r.hits.empty());
  EXPECT_EQ(r.dropped_hits, 0u);
}

TEST_P(SearchTest, MaxTargetEveryNonceIsAHit) {
  hf::SearchJob job = random_header_job(0x111, 0xffffffffull - 499, 500);  // ends at the u32 maximum
  job.target = hf::Key::max();
  job.max_hits = 1000;
  const hf::SearchResult r = run(job);
  expect_complete(r, job);
  ASSERT_EQ(r.hits.size(), 500u);
  for (std::size_t i = 0; i < r.hits.size(); ++i) {
    ASSERT_EQ(r.hits[i].nonce, job.range.first + i);
    ASSERT_TRUE(hft::same_hit(r.hits[i], hft::hit_ref(job, job.range.first + i)));
  }
}

// ---- the seed mining task's file job: file + "%08x G06", best SHA-256 in digest order ----

hf::SearchJob file_job(std::size_t file_len, std::uint64_t first, std::uint64_t count) {
  hft::Rng rng(0xf11e + file_len);
  Bytes file;
  for (std::size_t i = 0; i < file_len; ++i) {
    const std::uint64_t x = rng.below(40);
    file.push_back(x == 0 ? '\n' : static_cast<std::uint8_t>(' ' + rng.below(95)));
  }
  hf::SearchJob job;
  job.algo = Algo::sha256;
  job.message = file;
  const std::string line = "00000000 G06";  // placeholder nonce, a space and the group
  job.message.insert(job.message.end(), line.begin(), line.end());
  job.nonce = {file_len, Encoding::hex, 8};
  job.range = {first, count};
  job.order = ByteOrder::digest;
  job.goal = Goal::best;
  return job;
}

TEST_P(SearchTest, FileJobBestMatchesBruteForce) {
  for (std::size_t len : {0ul, 10ul, 43ul, 44ul, 52ul, 55ul, 56ul, 60ul, 64ul, 100ul, 119ul, 120ul, 1000ul}) {
    const std::uint64_t first = 0x9ba04821 + 2 * len;  // odd start
    hf::SearchJob job = file_job(len, first, 3001);
    const hf::SearchResult r = run(job);
    expect_complete(r, job);
    // The expectation, built without the engine: file + 8 lowercase hex digits + " G06".
    hf::Hit best;
    bool have = false;
    for (std::uint64_t n = first; n < first + 3001; ++n) {
      Bytes m(job.message.begin(), job.message.begin() + static_cast<std::ptrdiff_t>(len));
      char line[32];
      std::snprintf(line, sizeof line, "%08llx G06", static_cast<unsigned long long>(n));
      m.insert(m.end(), line, line + 12);
      const hf::Digest d = hft::ossl(Algo::sha256, m);
      const hft::Num num = hft::num_of(d, ByteOrder::digest);
      if (!have || num < hft::num_of_key(best.key)) {
        have = true;
        best.nonce = n;
        best.digest = d;
        best.key = hft::key_of_num(num);
      }
    }
    ASSERT_TRUE(r.best.has_value()) << "file length " << len;
    EXPECT_TRUE(hft::same_hit(*r.best, best)) << "file length " << len;
    EXPECT_TRUE(r.hits.empty());
  }
}

TEST_P(SearchTest, BestTiesResolveToTheLowestNonce) {
  // A one-nonce range, and ranges where the best nonce sits first, last and in the middle:
  // the engine's best must be the strict minimum found first in nonce order.
  hf::SearchJob job = file_job(30, 1001, 1);
  hf::SearchResult r = run(job);
  ASSERT_TRUE(r.best.has_value());
  EXPECT_EQ(r.best->nonce, 1001u);
  job.range = {1001, 2000};
  const hft::Expected want = hft::brute_force(job);
  ASSERT_TRUE(want.best.has_value());
  const std::uint64_t b = want.best->nonce;
  for (hf::NonceRange rg : {hf::NonceRange{b, 500}, hf::NonceRange{b - 499, 500}, hf::NonceRange{b - 17, 40}}) {
    job.range = rg;
    r = run(job);
    ASSERT_TRUE(r.best.has_value());
    EXPECT_TRUE(hft::same_hit(*r.best, *want.best)) << rg.first << "+" << rg.count;
  }
}

// ---- every encoding, order, goal and algorithm against brute force ----

struct FieldCase {
  Encoding enc;
  std::size_t width;
  std::size_t offset;
  std::size_t len;  // template length (for varying decimal: without the digits)
  std::uint64_t first, count;
};

std::vector<FieldCase> field_cases() {
  using E = Encoding;
  const std::uint64_t u32max = 0xffffffffull, u64max = ~0ull;
  std::vector<FieldCase> v{
      // binary encodings: at the start, mid-block, straddling a block boundary, after it
      {E::u32le, 0, 0, 40, 0, 700},
      {E::u32le, 4, 62, 80, 1234567, 700},              // straddles 64
      {E::u32le, 0, 76, 80, u32max - 699, 700},         // ends at the u32 maximum
      {E::u32le, 0, 52, 60, 0x7ffffff1, 700},           // suffix pushes the padding into a new block
      {E::u32be, 0, 3, 55, 0x12345677, 700},            // padding just fits
      {E::u32be, 4, 61, 70, u32max - 699, 700},         // straddles 64, ends at the maximum
      {E::u32be, 0, 64, 200, 255, 700},                 // starts a block; several blocks after it
      {E::u64le, 0, 0, 8, u64max - 699, 700},           // the field is the message; ends at the maximum
      {E::u64le, 8, 57, 100, (1ull << 32) - 350, 700},  // straddles, crosses 2^32
      {E::u64le, 0, 120, 128, (1ull << 63) - 9, 700},   // ends a two-block message
      {E::u64le, 0, 5, 300, 77, 700},                   // several constant blocks after the nonce
      // the nonce alone in word 3 of its block (the Bitcoin header layout), elsewhere too
      {E::u32le, 0, 12, 40, 0x10572b0f - 300, 700},  // one block: the early exit in Bitcoin order
      {E::u32be, 0, 12, 300, 0xabcdef01, 700},       // constant blocks after the nonce's block
      {E::u32le, 0, 140, 150, 3, 700},               // third block, after a two-block midstate
      {E::hex, 4, 12, 64, 0x1234, 700},              // exactly one block; padding in a new one
      {E::dec, 2, 14, 50, 0, 100},                   // two digits inside word 3
      {E::dec, 0, 12, 30, 990, 20},                  // varying: 3 digits (word 3 only), then 4 (word 3 and 4)
      // fixed-width decimal
      {E::dec, 1, 63, 70, 0, 10},     // every one-digit nonce, at the last byte of a block
      {E::dec, 3, 30, 58, 301, 699},  // ends at 999
      {E::dec, 10, 60, 75, 9999999999ull - 699, 700},
      {E::dec, 19, 50, 90, 9999999999999999999ull - 699, 700},
      {E::dec, 20, 62, 90, u64max - 699, 700},  // six nonce words across two blocks
      {E::dec, 20, 0, 20, 12345678901234567ull, 700},
      // varying-width decimal (inserted), ranges crossing digit counts
      {E::dec, 0, 0, 0, 0, 25},                         // the whole message is the number; 9 -> 10
      {E::dec, 0, 30, 50, 5, 30},                       // 9 -> 10
      {E::dec, 0, 60, 61, 90, 30},                      // 99 -> 100, digits reach across 64
      {E::dec, 0, 63, 63, 980, 50},                     // 999 -> 1000 at the end of the template
      {E::dec, 0, 54, 80, 9990, 40},                    // 9999 -> 10000; padding moves blocks
      {E::dec, 0, 64, 64, 99999990, 20},                // appended after a full block
      {E::dec, 0, 10, 40, 9999999999999999990ull, 30},  // 19 -> 20 digits
      {E::dec, 0, 20, 30, u64max - 29, 30},             // ends at the u64 maximum
      {E::dec, 0, 7, 20, 1234567, 300},
  };
  // hex, every width 1..16, the field at offsets that move it across the block boundary
  for (std::size_t w = 1; w <= 16; ++w) {
    const std::uint64_t max = w >= 16 ? u64max : (1ull << (4 * w)) - 1;
    const std::uint64_t count = max >= 599 ? 600 : max + 1;
    // Odd widths end at the width's maximum; even widths start at an odd nonce.
    const std::uint64_t first = count - 1 == max ? 0 : (w % 2 == 1) ? max - count + 1 : ((max - count + 1) / 3) | 1;
    const std::size_t offset = 64 - w / 2 - (w % 3);
    v.push_back({E::hex, w, offset, offset + w + 4, first, count});
  }
  v.push_back({E::hex, 0, 10, 30, 0xabcdef01, 600});  // default width 8
  return v;
}

TEST_P(SearchTest, EveryEncodingOrderGoalAndAlgoMatchesBruteForce) {
  hft::Rng rng(0xe1c0de);
  int runs = 0;
  for (const FieldCase& fc : field_cases()) {
    const Bytes tmpl = rng.bytes(fc.len);
    for (Algo algo : {Algo::sha256, Algo::sha256d})
      for (ByteOrder order : {ByteOrder::bitcoin, ByteOrder::digest})
        for (Goal goal : {Goal::below_target, Goal::best}) {
          hf::SearchJob job;
          job.algo = algo;
          job.message = tmpl;
          job.nonce = {fc.offset, fc.enc, fc.width};
          job.range = {fc.first, fc.count};
          job.order = order;
          job.goal = goal;
          ASSERT_EQ(
              hf::target_from_hex("0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target), "");
          const hf::SearchResult r = run(job);
          ++runs;
          expect_complete(r, job);
          const hft::Expected want = hft::brute_force(job);
          if (goal == Goal::below_target) {
            EXPECT_TRUE(hft::same_hits(r.hits, want.hits)) << hft::describe(job);
            EXPECT_FALSE(r.best.has_value());
          } else {
            ASSERT_TRUE(r.best.has_value()) << hft::describe(job);
            EXPECT_TRUE(hft::same_hit(*r.best, *want.best)) << hft::describe(job);
            EXPECT_TRUE(r.hits.empty());
          }
          if (HasFailure()) return;  // one clear failure, not hundreds
        }
  }
  EXPECT_GT(runs, 300);
}

TEST_P(SearchTest, VaryingDecimalOverManyChunksPerPart) {
  // 7..130000 splits into 1..6 digit parts; the 5- and 6-digit parts span several chunks.
  hft::Rng rng(0x7a7);
  for (Goal goal : {Goal::below_target, Goal::best}) {
    hf::SearchJob job;
    job.algo = Algo::sha256;
    job.message = rng.bytes(70);
    job.nonce = {58, Encoding::dec, 0};
    job.range = {7, 130000 - 7 + 1};
    job.order = ByteOrder::bitcoin;
    job.goal = goal;
    ASSERT_EQ(hf::target_from_hex("007fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target), "");
    job.max_hits = 100000;
    const hf::SearchResult r = run(job, 3);
    expect_complete(r, job);
    const hft::Expected want = hft::brute_force(job);
    if (goal == Goal::below_target) {
      ASSERT_GT(want.hits.size(), 100u);
      EXPECT_TRUE(hft::same_hits(r.hits, want.hits));
    } else {
      ASSERT_TRUE(r.best.has_value());
      EXPECT_TRUE(hft::same_hit(*r.best, *want.best));
    }
  }
}

TEST_P(SearchTest, LongMessages) {
  // The nonce near the start of a 5000-byte message (many constant blocks after it) and near
  // its end (a long midstate before it).
  hft::Rng rng(0x1009);
  const Bytes msg = rng.bytes(5000);
  for (std::size_t offset : {2ul, 4990ul, 4093ul}) {
    for (Algo algo : {Algo::sha256, Algo::sha256d}) {
      hf::SearchJob job;
      job.algo = algo;
      job.message = msg;
      job.nonce = {offset, Encoding::u32be, 4};
      job.range = {0xfffff000ull, 1500};
      job.order = ByteOrder::digest;
      job.goal = Goal::best;
      hf::SearchResult r = run(job);
      expect_complete(r, job);
      const hft::Expected want = hft::brute_force(job);
      ASSERT_TRUE(r.best.has_value());
      EXPECT_TRUE(hft::same_hit(*r.best, *want.best)) << hft::describe(job);
      job.goal = Goal::below_target;
      job.order = ByteOrder::bitcoin;
      ASSERT_EQ(hf::target_from_hex("07ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target),
                "");
      r = run(job);
      EXPECT_TRUE(hft::same_hits(r.hits, hft::brute_force(job).hits)) << hft::describe(job);
    }
  }
}

// ---- job errors ----

TEST(SearchErrors, InvalidJobsAreRejected) {
  hf::SearchJob base;
  base.algo = Algo::sha256d;
  base.message = Bytes(80, 0x11);
  base.nonce = {76, Encoding::u32le, 4};
  base.range = {0, 1000};
  ASSERT_EQ(hf::Engine::instance().validate(base), "");

  std::vector<std::pair<std::string, hf::SearchJob>> bad;
  auto add = [&](std::string what, auto edit) {
    hf::SearchJob j = base;
    edit(j);
    bad.emplace_back(std::move(what), std::move(j));
  };
  add("field past the end", [](hf::SearchJob& j) { j.nonce.offset = 77; });
  add("field far outside", [](hf::SearchJob& j) { j.nonce.offset = 1000; });
  add("u64 field past the end", [](hf::SearchJob& j) { j.nonce = {73, Encoding::u64le, 8}; });
  add("hex field past the end", [](hf::SearchJob& j) { j.nonce = {75, Encoding::hex, 6}; });
  add("varying decimal offset past the end", [](hf::SearchJob& j) { j.nonce = {81, Encoding::dec, 0}; });
  add("empty message", [](hf::SearchJob& j) {
    j.message.clear();
    j.nonce.offset = 0;
  });
  add("u32 range past 2^32-1", [](hf::SearchJob& j) { j.range = {0xffffffffull - 10, 12}; });
  add("u32 range starting past 2^32-1", [](hf::SearchJob& j) { j.range = {0x100000000ull, 1}; });
  add("u32 range of 2^32+1", [](hf::SearchJob& j) { j.range = {0, 0x100000001ull}; });
  add("hex width 2, nonce 256", [](hf::SearchJob& j) {
    j.nonce = {10, Encoding::hex, 2};
    j.range = {256, 1};
  });
  add("hex width 2, range to 256", [](hf::SearchJob& j) {
    j.nonce = {10, Encoding::hex, 2};
    j.range = {200, 57};
  });
  add("hex width 17", [](hf::SearchJob& j) { j.nonce = {10, Encoding::hex, 17}; });
  add("dec width 3, nonce 1000", [](hf::SearchJob& j) {
    j.nonce = {10, Encoding::dec, 3};
    j.range = {999, 2};
  });
  add("dec width 21", [](hf::SearchJob& j) { j.nonce = {10, Encoding::dec, 21}; });
  add("u64 range past 2^64-1", [](hf::SearchJob& j) {
    j.nonce = {0, Encoding::u64le, 8};
    j.range = {~0ull, 2};
  });
  add("varying decimal past 2^64-1", [](hf::SearchJob& j) {
    j.nonce = {0, Encoding::dec, 0};
    j.range = {~0ull - 1, 3};
  });
  add("u32 width 3", [](hf::SearchJob& j) { j.nonce.width = 3; });
  add("u64 width 4", [](hf::SearchJob& j) { j.nonce = {0, Encoding::u64le, 4}; });
  add("zero target", [](hf::SearchJob& j) { j.target = hf::Key{}; });
  add("sha1 search", [](hf::SearchJob& j) { j.algo = Algo::sha1; });
  add("sha1 best search", [](hf::SearchJob& j) {
    j.algo = Algo::sha1;
    j.goal = Goal::best;
  });

  for (const auto& [what, job] : bad) {
    const std::string why = hf::Engine::instance().validate(job);
    EXPECT_FALSE(why.empty()) << what;
    EXPECT_EQ(why.find('\n'), std::string::npos) << what;
    try {
      hf::Engine::instance().search(job).value();
      ADD_FAILURE() << what << ": search did not throw";
    } catch (const hf::JobError& e) {
      EXPECT_FALSE(std::string(e.what()).empty()) << what;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": threw something other than JobError: " << e.what();
    }
  }
}

TEST(SearchErrors, BoundaryJobsAreAccepted) {
  hf::SearchJob j;
  j.algo = Algo::sha256;
  j.message = Bytes(20, 'x');
  j.goal = Goal::best;
  j.nonce = {16, Encoding::u32le, 4};  // ends exactly at the message end
  j.range = {0xffffffffull - 9, 10};   // ends exactly at the u32 maximum
  EXPECT_EQ(hf::Engine::instance().validate(j), "");
  j.nonce = {18, Encoding::hex, 2};
  j.range = {0, 256};
  EXPECT_EQ(hf::Engine::instance().validate(j), "");
  j.nonce = {20, Encoding::dec, 0};  // varying decimal appended at the end
  j.range = {~0ull - 4, 5};
  EXPECT_EQ(hf::Engine::instance().validate(j), "");
  const hf::SearchResult r = hf::Engine::instance().search(j).value();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.hashes, 5u);
  ASSERT_TRUE(r.best.has_value());
  EXPECT_TRUE(hft::same_hit(*r.best, *hft::brute_force(j).best));
  // The best goal ignores the target, even a zero one.
  j.target = hf::Key{};
  EXPECT_EQ(hf::Engine::instance().validate(j), "");
}

TEST(SearchErrors, EmptyRangeIsCompleteAndEmpty) {
  hf::SearchJob j;
  j.algo = Algo::sha256d;
  j.message = Bytes(80, 1);
  j.nonce = {76, Encoding::u32le, 4};
  j.range = {5, 0};
  for (Goal g : {Goal::below_target, Goal::best}) {
    j.goal = g;
    ASSERT_EQ(hf::Engine::instance().validate(j), "");
    const hf::SearchResult r = hf::Engine::instance().search(j).value();
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.hashes, 0u);
    EXPECT_TRUE(r.hits.empty());
    EXPECT_FALSE(r.best.has_value());
    EXPECT_TRUE(r.covered.empty());
  }
}

// ---- time budget, cancellation, progress, determinism ----

hf::SearchJob huge_best_job() {
  hf::SearchJob job;
  job.algo = Algo::sha256;
  job.message = hft::bytes_of("budget test ................ tail");
  job.nonce = {12, Encoding::hex, 16};
  job.range = {0, 1ull << 40};
  job.order = ByteOrder::digest;
  job.goal = Goal::best;
  return job;
}

TEST(SearchBudget, ScalarOneThreadBestIsTheMinimumOverExactlyTheCoveredNonces) {
  hf::SearchJob job = huge_best_job();
  job.budget = std::chrono::milliseconds(200);
  hf::RunOptions o;
  o.backend = "scalar";
  o.threads = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.cancelled);
  EXPECT_GE(wall, 0.19);
  EXPECT_LT(wall, 5.0);
  ASSERT_GT(r.hashes, 0u);
  EXPECT_LT(r.hashes, job.range.count);
  EXPECT_TRUE(hft::covered_ok(r.covered, r.hashes, job.range));
  ASSERT_TRUE(r.best.has_value());
  bool inside = false;
  for (const hf::NonceRange& c : r.covered) inside |= r.best->nonce >= c.first && r.best->nonce <= c.last();
  EXPECT_TRUE(inside) << "best nonce " << r.best->nonce << " lies outside the covered ranges";
  EXPECT_TRUE(hft::same_hit(*r.best, hft::hit_ref(job, r.best->nonce)));
  if (r.hashes <= 4000000) {
    const hft::Expected want = hft::brute_force(job, &r.covered);
    ASSERT_TRUE(want.best.has_value());
    EXPECT_TRUE(hft::same_hit(*r.best, *want.best)) << "over " << r.hashes << " covered nonces";
  } else {
    GTEST_LOG_(INFO) << "covered " << r.hashes << " nonces: brute force skipped";
  }
}

TEST_P(SearchTest, TimeBudgetCoverageIsExactWithSeveralThreads) {
  hf::SearchJob job = huge_best_job();
  job.budget = std::chrono::milliseconds(150);
  const hf::SearchResult r = hf::Engine::instance().search(job, opts(2)).value();
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.threads, is_device() ? 1u : 2u);  // a device is fed by one host thread
  ASSERT_GT(r.hashes, 0u);
  EXPECT_TRUE(hft::covered_ok(r.covered, r.hashes, job.range));
  ASSERT_TRUE(r.best.has_value());
  bool inside = false;
  for (const hf::NonceRange& c : r.covered) inside |= r.best->nonce >= c.first && r.best->nonce <= c.last();
  EXPECT_TRUE(inside) << "best nonce " << r.best->nonce;
  EXPECT_TRUE(hft::same_hit(*r.best, hft::hit_ref(job, r.best->nonce)));
  // A sample of covered nonces (the first and last 20000 of each range): none beats best.
  std::vector<hf::NonceRange> sample;
  for (const hf::NonceRange& c : r.covered) {
    if (c.count <= 40000) {
      sample.push_back(c);
    } else {
      sample.push_back({c.first, 20000});
      sample.push_back({c.first + c.count - 20000, 20000});
    }
  }
  const hft::Expected part = hft::brute_force(job, &sample);
  ASSERT_TRUE(part.best.has_value());
  EXPECT_LE(hft::num_of_key(r.best->key), hft::num_of_key(part.best->key));
  if (hft::num_of_key(r.best->key) == hft::num_of_key(part.best->key)) {
    EXPECT_EQ(r.best->nonce, part.best->nonce);
  }
}

TEST_P(SearchTest, HugeBudgetIsNoBudget) {
  // A budget too large to add to the clock must not wrap into the past.
  hf::SearchJob job = file_job(40, 3, 3000);
  const std::chrono::nanoseconds century = std::chrono::hours(24 * 365 * 100);
  for (std::chrono::nanoseconds b : {std::chrono::nanoseconds::max(), century}) {
    job.budget = b;
    const hf::SearchResult r = run(job);
    expect_complete(r, job);
    ASSERT_TRUE(r.best.has_value());
    EXPECT_TRUE(hft::same_hit(*r.best, *hft::brute_force(job).best));
  }
}

// A budget already spent when the search starts (zero or negative). Runs in a child process
// with an alarm so that a search that never returns fails this test instead of hanging.
void search_with_spent_budget(const std::string& backend, std::chrono::nanoseconds budget) {
  ::alarm(5);
  hf::SearchJob job = huge_best_job();
  job.budget = budget;
  hf::RunOptions o;
  o.backend = backend;
  o.threads = 2;
  const auto t0 = std::chrono::steady_clock::now();
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool ok = r.timed_out && !r.complete && s < 2.0 && hft::covered_ok(r.covered, r.hashes, job.range);
  std::fprintf(stderr, "timed_out %d complete %d seconds %.3f hashes %llu\n", r.timed_out, r.complete, s,
               static_cast<unsigned long long>(r.hashes));
  std::exit(ok ? 0 : 1);
}

TEST_P(SearchTest, SpentBudgetStopsPromptly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(search_with_spent_budget(GetParam(), std::chrono::nanoseconds(0)), ::testing::ExitedWithCode(0), "")
      << "zero budget";
  EXPECT_EXIT(search_with_spent_budget(GetParam(), std::chrono::seconds(-1)), ::testing::ExitedWithCode(0), "")
      << "negative budget";
}

TEST(SearchBudget, FarNegativeBudgetStopsPromptly) {
  // A negative budget larger than the steady clock's current reading (time since boot): the
  // deadline lies before the clock's epoch.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::chrono::nanoseconds century = std::chrono::hours(24 * 365 * 100);
  EXPECT_EXIT(search_with_spent_budget("", -century), ::testing::ExitedWithCode(0), "") << "budget -100 years";
  EXPECT_EXIT(search_with_spent_budget("", std::chrono::nanoseconds::min()), ::testing::ExitedWithCode(0), "")
      << "budget nanoseconds::min()";
}

TEST_P(SearchTest, TimeBudgetHitsAreExactlyThoseInTheCoveredRanges) {
  // below_target with a budget: every hit lies in a covered range, and around each covered
  // range's ends the hits are exactly the brute-force hits of the covered nonces (a covered
  // range that claims nonces it did not search, or misses its edges, shows up here).
  hf::SearchJob job;
  job.algo = Algo::sha256;
  job.message = hft::bytes_of("time budget hits: ........ end");
  job.nonce = {18, Encoding::u64le, 8};
  job.range = {12345, 1ull << 26};
  job.order = ByteOrder::digest;
  job.goal = Goal::below_target;
  job.max_hits = 1u << 30;
  job.budget = std::chrono::milliseconds(60);
  ASSERT_EQ(hf::target_from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target), "");
  const hf::SearchResult r = hf::Engine::instance().search(job, opts(2)).value();
  ASSERT_FALSE(r.complete) << "the range should take longer than the budget";
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.dropped_hits, 0u);
  ASSERT_TRUE(hft::covered_ok(r.covered, r.hashes, job.range));
  auto in_covered = [&](std::uint64_t n) {
    for (const hf::NonceRange& c : r.covered)
      if (n >= c.first && n <= c.last()) return true;
    return false;
  };
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < r.hits.size(); ++i) {
    const hf::Hit& h = r.hits[i];
    ASSERT_TRUE(in_covered(h.nonce)) << "hit " << h.nonce << " outside the covered ranges";
    ASSERT_TRUE(i == 0 || h.nonce > prev) << "hits out of nonce order";
    prev = h.nonce;
    ASSERT_TRUE(hft::same_hit(h, hft::hit_ref(job, h.nonce)));
    ASSERT_LE(hft::num_of_key(h.key), hft::num_of_key(job.target));
  }
  // Windows of 3000 nonces on both sides of every covered range's ends.
  for (const hf::NonceRange& c : r.covered) {
    for (std::uint64_t edge : {c.first, c.last() + 1}) {
      const std::uint64_t lo = std::max<std::uint64_t>(job.range.first, edge >= 3000 ? edge - 3000 : 0);
      const std::uint64_t hi = std::min<std::uint64_t>(job.range.first + job.range.count, edge + 3000);
      std::vector<hf::NonceRange> window{{lo, hi - lo}};
      std::vector<hf::Hit> want;
      for (const hf::Hit& h : hft::brute_force(job, &window).hits)
        if (in_covered(h.nonce)) want.push_back(h);
      std::vector<hf::Hit> got;
      for (const hf::Hit& h : r.hits)
        if (h.nonce >= lo && h.nonce < hi) got.push_back(h);
      EXPECT_TRUE(hft::same_hits(got, want)) << "window " << lo << ".." << hi;
    }
  }
}

TEST_P(SearchTest, CancelFromProgressReturnsPromptly) {
  hf::SearchJob job = huge_best_job();
  std::atomic<bool> cancel{false};
  int calls = 0;
  hf::RunOptions o = opts(2);
  o.cancel = &cancel;
  o.progress_interval = std::chrono::milliseconds(20);
  std::chrono::steady_clock::time_point cancelled_at;
  o.on_progress = [&](const hf::Progress& p) {
    ++calls;
    EXPECT_LE(p.done, p.total);
    if (!cancel) {
      cancelled_at = std::chrono::steady_clock::now();
      cancel = true;
    }
  };
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  const auto end = std::chrono::steady_clock::now();
  EXPECT_GE(calls, 1);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(std::chrono::duration<double>(end - cancelled_at).count(), 1.0) << "search did not stop promptly";
  EXPECT_LT(r.seconds, 5.0);
  EXPECT_TRUE(hft::covered_ok(r.covered, r.hashes, job.range));
  if (r.best) {
    EXPECT_TRUE(hft::same_hit(*r.best, hft::hit_ref(job, r.best->nonce)));
  }
}

TEST_P(SearchTest, CancelBeforeStartStopsAtOnce) {
  hf::SearchJob job = huge_best_job();
  std::atomic<bool> cancel{true};
  hf::RunOptions o = opts(2);
  o.cancel = &cancel;
  o.progress_interval = std::chrono::milliseconds(10);
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.complete);
  EXPECT_LT(r.seconds, 2.0);
  EXPECT_TRUE(hft::covered_ok(r.covered, r.hashes, job.range));
}

TEST_P(SearchTest, ProgressReportsDoneAtMostTotal) {
  hf::SearchJob job = huge_best_job();
  job.range = {1000, 1ull << 40};  // the budget ends it, also on a GPU (2^28 took 40 ms on an H200)
  job.budget = std::chrono::milliseconds(300);
  std::vector<hf::Progress> seen;
  hf::RunOptions o = opts(2);
  o.progress_interval = std::chrono::milliseconds(10);
  o.on_progress = [&](const hf::Progress& p) { seen.push_back(p); };
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  ASSERT_GE(seen.size(), 3u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].total, job.range.count) << i;
    EXPECT_LE(seen[i].done, seen[i].total) << i;
    EXPECT_LE(seen[i].done, r.hashes + 0) << i;  // never more than was finally searched
    EXPECT_GE(seen[i].seconds, 0);
    if (i > 0) {
      EXPECT_GE(seen[i].done, seen[i - 1].done) << i;
      EXPECT_GE(seen[i].seconds, seen[i - 1].seconds) << i;
    }
  }
  EXPECT_GT(seen.back().done, 0u);
}

TEST_P(SearchTest, ProgressOnACompleteSearch) {
  // A search long enough for a few reports that runs to the end.
  hf::SearchJob job = file_job(70, 1, GetParam() == "scalar" ? 1u << 18 : 1u << 21);
  std::vector<hf::Progress> seen;
  hf::RunOptions o = opts(2);
  o.progress_interval = std::chrono::milliseconds(5);
  o.on_progress = [&](const hf::Progress& p) { seen.push_back(p); };
  const hf::SearchResult r = hf::Engine::instance().search(job, o).value();
  expect_complete(r, job);
  // Reports come only while the search runs (no final one): a CPU backend takes tens of
  // milliseconds here, a GPU may finish before the first interval.
  if (!is_device()) {
    EXPECT_FALSE(seen.empty()) << "no progress report in " << r.seconds << " s";
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].total, job.range.count) << i;
    EXPECT_LE(seen[i].done, seen[i].total) << i;
    if (i > 0) {
      EXPECT_GE(seen[i].done, seen[i - 1].done) << i;
    }
  }
}

TEST_P(SearchTest, SameJobTwiceGivesIdenticalResults) {
  hf::SearchJob best = file_job(90, 77, 100000);
  hf::SearchJob hits = random_header_job(0xde7, 31, 60000);
  ASSERT_EQ(hf::target_from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &hits.target), "");
  hits.max_hits = 150;
  for (const hf::SearchJob* job : {&best, &hits}) {
    const hf::SearchResult a = run(*job, 2), b = run(*job, 2), c = run(*job, 1), d = run(*job, 7);
    EXPECT_EQ(d.threads, is_device() ? 1u : 7u);
    for (const hf::SearchResult* x : {&b, &c, &d}) {
      EXPECT_TRUE(hft::same_hits(x->hits, a.hits));
      EXPECT_EQ(x->dropped_hits, a.dropped_hits);
      ASSERT_EQ(x->best.has_value(), a.best.has_value());
      if (a.best) {
        EXPECT_TRUE(hft::same_hit(*x->best, *a.best));
      }
      EXPECT_EQ(x->hashes, a.hashes);
    }
    expect_complete(a, *job);
  }
  // And the hits are right: every one meets the target and is what OpenSSL computes.
  const hf::SearchResult h = run(hits, 2);
  std::uint64_t prev = 0;
  for (const hf::Hit& x : h.hits) {
    EXPECT_TRUE(hft::same_hit(x, hft::hit_ref(hits, x.nonce)));
    EXPECT_LE(hft::num_of_key(x.key), hft::num_of_key(hits.target));
    EXPECT_GE(x.nonce, prev);
    prev = x.nonce + 1;
  }
  EXPECT_EQ(h.hits.size(), 150u);
  EXPECT_GT(h.dropped_hits, 0u);
}

// A callback that throws must reach the caller as an exception (as hash_batch does for its
// sink), not end the process. Run in a child process so that a crash fails only this test.
void search_with_throwing_callback(bool from_hit) {
  hf::SearchJob job = huge_best_job();
  job.goal = Goal::below_target;
  job.target = hf::Key::max();  // every nonce is a hit
  job.range = {0, 1u << 24};
  hf::RunOptions o;
  o.threads = 2;
  o.progress_interval = std::chrono::milliseconds(5);
  if (from_hit)
    o.on_hit = [](const hf::Hit&) { throw std::runtime_error("sink full"); };
  else
    o.on_progress = [](const hf::Progress&) { throw std::runtime_error("ui gone"); };
  try {
    hf::Engine::instance().search(job, o).value();
  } catch (const std::runtime_error&) {
    std::exit(0);
  }
  std::exit(1);
}

TEST(SearchCallbacks, ThrowingOnHitPropagates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(search_with_throwing_callback(true), ::testing::ExitedWithCode(0), "")
      << "an exception from on_hit did not come out of Engine::search";
}

TEST(SearchCallbacks, ThrowingOnProgressPropagates) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(search_with_throwing_callback(false), ::testing::ExitedWithCode(0), "")
      << "an exception from on_progress did not come out of Engine::search";
}

INSTANTIATE_TEST_SUITE_P(AllBackends, SearchTest, ::testing::ValuesIn(hft::backend_names()), hft::param_name);
// Devices (PoCL on CPU-only machines, CUDA where a GPU exists): the same search tests,
// skipped with the reason where no device is usable.
INSTANTIATE_TEST_SUITE_P(Devices, SearchTest, ::testing::ValuesIn(hft::device_names()), hft::param_name);

}  // namespace

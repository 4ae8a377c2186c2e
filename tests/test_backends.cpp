// Every backend against OpenSSL: batch hashing through Backend::hash_many, the KernelTable
// entry points directly, and backend selection (forcing by name and by $HASHFORGE_BACKEND).
#include <cstdlib>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "env_guard.hpp"
#include "oracle.hpp"
#include "registry.hpp"
#include "search_plan.hpp"

namespace {

using hf::Algo;
using hft::Bytes;

constexpr Algo kAlgos[] = {Algo::sha1, Algo::sha256, Algo::sha256d};

// Initial hash values, FIPS 180-4 section 5.3.1 (SHA-1) and 5.3.3 (SHA-256).
constexpr std::uint32_t kIv1[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
constexpr std::uint32_t kIv256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// FIPS 180-4 section 5.1.1 padding: 0x80, zeros to 56 mod 64, 64-bit big-endian bit length.
Bytes pad_message(const std::uint8_t* m, std::size_t n) {
  Bytes b(m, m + n);
  b.push_back(0x80);
  while (b.size() % 64 != 56) b.push_back(0);
  const std::uint64_t bits = std::uint64_t(n) * 8;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  return b;
}

hf::Digest digest_of_state(const std::uint32_t* h, int words) {
  hf::Digest d;
  for (int i = 0; i < words; ++i)
    for (int j = 0; j < 4; ++j) d.bytes[4 * i + j] = static_cast<std::uint8_t>(h[i] >> (24 - 8 * j));
  d.size = static_cast<std::uint8_t>(4 * words);
  return d;
}

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    HFT_REQUIRE_BACKEND(GetParam());
    be_ = hf::find_backend(GetParam());
    ASSERT_NE(be_, nullptr);
  }
  void check_many(Algo algo, const std::vector<hf::ByteView>& msgs, const std::string& what) {
    std::vector<hf::Digest> got(msgs.size() + 1);
    got.back().size = 99;  // sentinel: nothing may be written past the last message
    be_->hash_many(algo, msgs, got.data());
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      const hf::Digest want = hft::ossl(algo, msgs[i]);
      ASSERT_EQ(hft::hex(got[i]), hft::hex(want)) << what << ": " << hf::algo_name(algo) << " message " << i << " of "
                                                  << msgs.size() << " (" << msgs[i].size() << " bytes)";
    }
    EXPECT_EQ(got.back().size, 99) << what;
  }
  hf::Backend* be_ = nullptr;
};

TEST_P(BackendTest, NameAndLanesMatchStatus) {
  EXPECT_EQ(be_->name(), GetParam());
  EXPECT_EQ(be_->lanes(), hft::lanes_of(GetParam()));
  EXPECT_GE(be_->lanes(), 1u);
  EXPECT_LE(be_->lanes(), 32u);
  EXPECT_TRUE(be_->unavailable_reason().empty());
}

TEST_P(BackendTest, HashManyRandomLengthsUnalignedEveryCount) {
  const unsigned lanes = be_->lanes();
  hft::Rng rng(0xb0b0 + lanes);
  const Bytes buf = rng.bytes(1 << 18);
  for (Algo algo : kAlgos) {
    for (unsigned count = 1; count <= 2 * lanes + 1; ++count) {
      std::vector<hf::ByteView> msgs;
      for (unsigned i = 0; i < count; ++i) {
        const std::size_t len = rng.below(4097);
        const std::size_t start = rng.below(buf.size() - 4097) | 1;  // odd: never aligned
        msgs.emplace_back(buf.data() + start, len);
      }
      check_many(algo, msgs, "count " + std::to_string(count));
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(BackendTest, HashManyAllLengths0To200InOneCall) {
  hft::Rng rng(0xa11);
  const Bytes buf = rng.bytes(64 * 1024);
  for (Algo algo : kAlgos) {
    std::vector<hf::ByteView> msgs;
    std::size_t pos = 3;
    for (std::size_t len = 0; len <= 200; ++len) {
      msgs.emplace_back(buf.data() + pos, len);
      pos += len + 1 + (len % 5);  // varying misalignment
    }
    check_many(algo, msgs, "lengths 0..200");
    if (HasFatalFailure()) return;
  }
}

TEST_P(BackendTest, HashManyLongMessagesBesideIdleLanes) {
  // Long messages force runs of many blocks while other lanes are idle or restart.
  const unsigned lanes = be_->lanes();
  hft::Rng rng(0x10f6);
  const Bytes buf = rng.bytes((1 << 20) + 4096);
  const std::vector<std::size_t> longs{300 * 64 + 17, 256 * 64, 257 * 64 - 9, (1 << 20) + 5};
  for (Algo algo : kAlgos) {
    for (unsigned count : {1u, 2u, lanes > 1 ? lanes - 1 : 1u, lanes, lanes + 1}) {
      std::vector<hf::ByteView> msgs;
      msgs.emplace_back(buf.data() + 1, longs[count % longs.size()]);
      for (unsigned i = 1; i < count; ++i) {
        const std::size_t len = i % 2 ? rng.below(130) : longs[i % longs.size()] / (i + 1);
        msgs.emplace_back(buf.data() + 5 + i, len);
      }
      check_many(algo, msgs, "long + " + std::to_string(count - 1) + " others");
      if (HasFatalFailure()) return;
    }
  }
}

TEST_P(BackendTest, HashManyLongMessagesBackToBack) {
  // A file's pieces: messages of 64 KiB and more one after another, where hash_many starts
  // each lane a block later than the one before (its lanes' blocks would otherwise share a
  // cache set). Equal lengths keep the lag through every refill; mixed ones, a short first
  // message (no lag), and more messages than lanes check the lanes that wait and take over.
  const unsigned lanes = be_->lanes();
  constexpr std::size_t kPiece = 64 * 1024;
  hft::Rng rng(0x5eed + lanes);
  const Bytes buf = rng.bytes((2 * lanes + 3) * (kPiece + 4096));
  auto pieces = [&](std::size_t count, auto len_of) {
    std::vector<hf::ByteView> msgs;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t len = len_of(i);
      msgs.emplace_back(buf.data() + pos, len);
      pos += len;
    }
    return msgs;
  };
  for (Algo algo : kAlgos) {
    check_many(algo, pieces(lanes, [](std::size_t) { return kPiece; }), "one piece a lane");
    check_many(algo, pieces(2 * lanes + 3, [](std::size_t) { return kPiece; }), "pieces back to back");
    check_many(algo, pieces(2 * lanes + 1, [](std::size_t i) { return kPiece + 4096 * (i % 3) - (i % 2) * 9; }),
               "mixed long lengths");
    check_many(algo, pieces(lanes + 2, [](std::size_t i) { return i == 1 ? std::size_t{100} : kPiece; }),
               "a short first message");
    if (HasFatalFailure()) return;
  }
}

TEST_P(BackendTest, HashManySameBufferManyTimes) {
  // Identical messages in every lane, and empty messages only.
  const Bytes m = hft::bytes_of("abc");
  for (Algo algo : kAlgos) {
    std::vector<hf::ByteView> same(3 * be_->lanes() + 2, hf::ByteView(m));
    check_many(algo, same, "identical");
    std::vector<hf::ByteView> empty(be_->lanes() + 3, hf::ByteView());
    check_many(algo, empty, "empty");
  }
}

TEST_P(BackendTest, HashManyZeroMessages) {
  for (Algo algo : kAlgos) {
    hf::Digest sentinel;
    sentinel.size = 77;
    be_->hash_many(algo, {}, &sentinel);
    EXPECT_EQ(sentinel.size, 77);
  }
}

// ---- the KernelTable level ----

const hf::cpu::KernelTable* kernels_of(hf::Backend* be) {
  auto* cb = dynamic_cast<hf::cpu::CpuBackend*>(be);
  return cb ? &cb->kernels() : nullptr;
}

TEST_P(BackendTest, KernelSingleStreamMatchesOpenSsl) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr) << "find() should return a CpuBackend";
  EXPECT_EQ(std::string(kt->name), GetParam());
  EXPECT_EQ(kt->lanes, be_->lanes());
  if (!kt->sha256_single && !kt->sha1_single)
    GTEST_SKIP() << GetParam() << " is multi-buffer only: no single-stream kernels (its name and lanes were checked)";
  hft::Rng rng(0x51);
  const Bytes data = rng.bytes(70000);
  for (std::size_t len : {0ul, 1ul, 55ul, 56ul, 63ul, 64ul, 65ul, 119ul, 120ul, 1000ul, 4095ul, 65539ul}) {
    const Bytes padded = pad_message(data.data() + 1, len);
    Bytes unaligned(padded.size() + 3);
    std::copy(padded.begin(), padded.end(), unaligned.begin() + 3);
    const std::size_t nblocks = padded.size() / 64;
    if (kt->sha256_single) {
      std::uint32_t h[8];
      std::copy(std::begin(kIv256), std::end(kIv256), h);
      kt->sha256_single(h, unaligned.data() + 3, nblocks);
      EXPECT_EQ(hft::hex(digest_of_state(h, 8)), hft::hex(hft::ossl(Algo::sha256, data.data() + 1, len))) << len;
      // Block by block: the state carries over between calls.
      std::copy(std::begin(kIv256), std::end(kIv256), h);
      for (std::size_t b = 0; b < nblocks; ++b) kt->sha256_single(h, padded.data() + 64 * b, 1);
      EXPECT_EQ(hft::hex(digest_of_state(h, 8)), hft::hex(hft::ossl(Algo::sha256, data.data() + 1, len))) << len;
      // Zero blocks leaves the state alone.
      std::uint32_t before[8];
      std::copy(h, h + 8, before);
      kt->sha256_single(h, padded.data(), 0);
      EXPECT_TRUE(std::equal(h, h + 8, before));
    }
    if (kt->sha1_single) {
      std::uint32_t h[5];
      std::copy(std::begin(kIv1), std::end(kIv1), h);
      kt->sha1_single(h, unaligned.data() + 3, nblocks);
      EXPECT_EQ(hft::hex(digest_of_state(h, 5)), hft::hex(hft::ossl(Algo::sha1, data.data() + 1, len))) << len;
      std::copy(std::begin(kIv1), std::end(kIv1), h);
      for (std::size_t b = 0; b < nblocks; ++b) kt->sha1_single(h, padded.data() + 64 * b, 1);
      EXPECT_EQ(hft::hex(digest_of_state(h, 5)), hft::hex(hft::ossl(Algo::sha1, data.data() + 1, len))) << len;
    }
  }
}

TEST_P(BackendTest, KernelMultiBufferBlocksMatchOpenSsl) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  const unsigned L = kt->lanes;
  hft::Rng rng(0x6b);
  for (std::size_t nblocks : {0ul, 1ul, 2ul, 5ul}) {
    // Every lane: a different message padded to exactly nblocks blocks, at an odd address.
    std::vector<Bytes> msgs, storage;
    std::vector<const std::uint8_t*> ptrs;
    for (unsigned l = 0; l < L; ++l) {
      const std::size_t len = nblocks == 0 ? 0 : (nblocks - 1) * 64 + rng.below(56);
      msgs.push_back(rng.bytes(len));
      Bytes padded = nblocks == 0 ? Bytes() : pad_message(msgs.back().data(), len);
      Bytes s(padded.size() + 1 + l);
      std::copy(padded.begin(), padded.end(), s.begin() + 1 + l);
      storage.push_back(std::move(s));
    }
    for (unsigned l = 0; l < L; ++l) ptrs.push_back(storage[l].data() + 1 + l);
    // SHA-1, SHA-256, and SHA-256 again through the table's second build where it has one
    // (the driver runs whichever measures faster, so both must be right).
    const int runs = kt->sha256_blocks_alt ? 3 : 2;
    for (int run = 0; run < runs; ++run) {
      const Algo algo = run == 0 ? Algo::sha1 : Algo::sha256;
      const int words = algo == Algo::sha1 ? 5 : 8;
      std::vector<std::uint32_t> state(static_cast<std::size_t>(words) * L);
      for (int i = 0; i < words; ++i)
        for (unsigned l = 0; l < L; ++l) state[i * L + l] = algo == Algo::sha1 ? kIv1[i] : kIv256[i];
      (run == 0   ? kt->sha1_blocks
       : run == 1 ? kt->sha256_blocks
                  : kt->sha256_blocks_alt)(state.data(), ptrs.data(), nblocks);
      for (unsigned l = 0; l < L; ++l) {
        std::uint32_t h[8];
        for (int i = 0; i < words; ++i) h[i] = state[i * L + l];
        if (nblocks == 0) {
          for (int i = 0; i < words; ++i)
            EXPECT_EQ(h[i], algo == Algo::sha1 ? kIv1[i] : kIv256[i]) << "zero blocks changed lane " << l;
          continue;
        }
        EXPECT_EQ(hft::hex(digest_of_state(h, words)), hft::hex(hft::ossl(algo, msgs[l])))
            << hf::algo_name(algo) << (run == 2 ? " (second build)" : "") << " lane " << l << " nblocks " << nblocks;
      }
    }
  }
}

// Where a table has two SHA-256 bulk builds, the backend's first SHA-256 use times them and
// its description then names the one it runs (what `hashforge backends` shows).
TEST_P(BackendTest, DescriptionNamesTheMeasuredSha256Build) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  if (!kt->sha256_blocks_alt) {  // one build: nothing to pick, nothing to name
    EXPECT_EQ(be_->description().find("schedule"), std::string::npos) << be_->description();
    return;
  }
  const Bytes msg(200, 0x61);
  const std::vector<hf::ByteView> msgs{hf::ByteView(msg)};
  check_many(Algo::sha256, msgs, "a 200-byte message");
  const std::string d = be_->description();
  EXPECT_TRUE(d.find("SHA-256 bulk schedule: sha256msg1 (") != std::string::npos ||
              d.find("SHA-256 bulk schedule: sigma0 on the vector pipes (") != std::string::npos)
      << d;
  EXPECT_TRUE(d.find("x the speed of sha256msg1 here)") != std::string::npos ||
              d.find("sigma0 on the vector pipes ran at ") != std::string::npos)
      << d;
}

// Likewise for the header loop: a table with two builds names the one its first header
// search measured faster here (and shani's hybrid, when picked, must find what the other does:
// KernelHeaderScan* below run both builds).
TEST_P(BackendTest, DescriptionNamesTheMeasuredHeaderScan) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  if (!kt->scan_headers_alt) {
    EXPECT_EQ(be_->description().find("header scan"), std::string::npos) << be_->description();
    return;
  }
  hft::Rng rng(0x5ca9);
  hf::PreparedSearch ps(Algo::sha256d, rng.bytes(80), {76, hf::Encoding::u32le, 4}, 4, hf::ByteOrder::bitcoin);
  hf::Key target{};
  target.w[7] = 1;  // never met
  std::atomic<bool> stop{false};
  hf::SearchSink sink(ps, hf::Goal::below_target, target, 10, nullptr, std::nullopt);
  EXPECT_EQ(be_->search(ps, 0, 8192, sink, stop), 8192u);
  const std::string d = be_->description();
  EXPECT_TRUE(d.find("header scan: four SHA-NI lanes (") != std::string::npos ||
              d.find("header scan: three SHA-NI lanes + four vector lanes (") != std::string::npos)
      << d;
  EXPECT_TRUE(d.find("x the speed of four SHA-NI lanes here)") != std::string::npos ||
              d.find("four vector lanes ran at ") != std::string::npos)
      << d;
}

// search_batch must report exactly the lanes whose key word is <= the threshold (a kernel
// that over-reports is hidden by the sink's re-check in a full search, so check it here).
struct PlanCase {
  Algo algo;
  hf::ByteOrder order;
  std::size_t msg_len;
  hf::NonceField field;
  std::uint64_t base;  // a multiple of 16
};

TEST_P(BackendTest, KernelSearchBatchReportsExactlyTheLanesAtOrBelowThreshold) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  const unsigned L = kt->lanes;
  ASSERT_LE(L, 16u);
  using E = hf::Encoding;
  std::vector<PlanCase> cases;
  const std::vector<std::pair<std::size_t, hf::NonceField>> fields{
      {80, {76, E::u32le, 4}},    // Bitcoin header layout: nonce in the second block
      {70, {60, E::hex, 8}},      // straddles the first block boundary
      {300, {5, E::u32be, 4}},    // several constant blocks after the nonce's block
      {90, {62, E::dec, 20}},     // six nonce words across two blocks
      {55, {3, E::hex, 16}},      // padding fits in the nonce's block
      {56, {40, E::u64le, 8}},    // padding needs a new block
      {128, {120, E::u64le, 8}},  // the field ends the message at a block boundary
      {66, {61, E::u32le, 4}},    // straddles; the padding needs a second block
      {40, {12, E::u32le, 4}},    // the nonce alone in word 3 (header layout), one block
      {300, {140, E::u32be, 4}},  // word 3 of the third block, constant blocks after it
  };
  for (Algo algo : {Algo::sha256, Algo::sha256d})
    for (hf::ByteOrder order : {hf::ByteOrder::bitcoin, hf::ByteOrder::digest})
      for (auto& [len, f] : fields) cases.push_back({algo, order, len, f, 0x12345670});
  hft::Rng rng(0x5b);
  for (const PlanCase& c : cases) {
    const Bytes msg = rng.bytes(c.msg_len);
    hf::PreparedSearch ps(c.algo, msg, c.field, hft::ref_width(c.field.encoding, c.field.width, 0), c.order);
    hf::SearchJob job;  // only for the test-side message construction
    job.algo = c.algo;
    job.message = msg;
    job.nonce = c.field;
    job.order = c.order;
    // An aligned full batch (fill_words' fast path) and an unaligned partial one.
    for (int variant = 0; variant < 2; ++variant) {
      const std::uint64_t base = variant == 0 ? c.base : c.base + 3;
      const unsigned valid = variant == 0 ? L : (L > 3 ? L - 3 : 1);
      alignas(64) std::uint32_t aw[hf::cpu::kMaxAffectedWords * 16] = {};
      ps.fill_words(base, L, valid, aw);
      std::vector<std::uint32_t> kw(L);
      for (unsigned l = 0; l < L; ++l) {
        const std::uint64_t n = base + (l < valid ? l : valid - 1);
        kw[l] = hft::hit_ref(job, n).key.w[0];
      }
      const std::string what = hft::describe(job) + " base " + std::to_string(base) + " valid " + std::to_string(valid);
      const std::uint32_t all = L >= 32 ? ~0u : (1u << L) - 1;
      EXPECT_EQ(kt->search_batch(ps.plan(), aw, 0xffffffffu), all) << what;
      for (unsigned j = 0; j < L; ++j) {
        for (std::uint32_t t : {kw[j], kw[j] - 1}) {
          if (t == 0xffffffffu && kw[j] == 0) continue;  // kw[j] - 1 wrapped
          std::uint32_t want = 0;
          for (unsigned l = 0; l < L; ++l)
            if (kw[l] <= t) want |= 1u << l;
          EXPECT_EQ(kt->search_batch(ps.plan(), aw, t), want) << what << " threshold " << t;
        }
      }
    }
  }
}

// scan_headers (the Bitcoin-header loop) must find, batch by batch, exactly what search_batch
// finds, stop after the first batch with a candidate, and say how many batches it ran.
TEST_P(BackendTest, KernelHeaderScanLoopMatchesSearchBatch) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  hft::Rng rng(0x4ead);
  const Bytes header = rng.bytes(80);
  hf::PreparedSearch ps(Algo::sha256d, header, {76, hf::Encoding::u32le, 4}, 4, hf::ByteOrder::bitcoin);
  ASSERT_TRUE(ps.plan().header_scan);
  // Shapes that are not a Bitcoin header must not take the loop (the last: the padding needs
  // a second block after the nonce's).
  EXPECT_FALSE(hf::PreparedSearch(Algo::sha256, header, {76, hf::Encoding::u32le, 4}, 4, hf::ByteOrder::bitcoin)
                   .plan()
                   .header_scan);
  EXPECT_FALSE(hf::PreparedSearch(Algo::sha256d, header, {76, hf::Encoding::u32le, 4}, 4, hf::ByteOrder::digest)
                   .plan()
                   .header_scan);
  EXPECT_FALSE(hf::PreparedSearch(Algo::sha256d, header, {76, hf::Encoding::u32be, 4}, 4, hf::ByteOrder::bitcoin)
                   .plan()
                   .header_scan);
  EXPECT_FALSE(hf::PreparedSearch(Algo::sha256d, rng.bytes(120), {76, hf::Encoding::u32le, 4}, 4,
                                  hf::ByteOrder::bitcoin)
                   .plan()
                   .header_scan);
  if (!kt->scan_headers) GTEST_SKIP() << GetParam() << " has no header loop (search_batch serves it)";
  const unsigned L = kt->lanes;
  alignas(64) std::uint32_t aw[hf::cpu::kMaxAffectedWords * 16] = {};
  // Both builds where the table has two (the driver runs whichever measured faster).
  for (auto* scan : {kt->scan_headers, kt->scan_headers_alt}) {
    if (!scan) continue;
    SCOPED_TRACE(scan == kt->scan_headers ? "scan_headers" : "scan_headers_alt");
    // About one nonce in 64 passes 0x03ffffff; 0 passes (almost) none; the last start ends at 2^32.
    for (std::uint32_t threshold : {0x03ffffffu, 0u, 0xffffffffu})
      for (std::uint64_t start :
           {std::uint64_t{0}, std::uint64_t{0x9e3779b0} / L * L, (std::uint64_t{1} << 32) - 64 * L}) {
        std::uint64_t base = start;
        const std::uint64_t end = start + 64 * L;
        while (base < end) {
          const auto nb = static_cast<std::uint32_t>((end - base) / L);
          std::uint32_t mask = 0xdeadbeef;
          const std::uint32_t ran = scan(ps.plan(), static_cast<std::uint32_t>(base), nb, threshold, &mask);
          ASSERT_GE(ran, 1u);
          ASSERT_LE(ran, nb);
          for (std::uint32_t b = 0; b < ran; ++b) {
            ps.fill_words(base + std::uint64_t{L} * b, L, L, aw);
            const std::uint32_t want = kt->search_batch(ps.plan(), aw, threshold);
            if (b + 1 < ran) {
              ASSERT_EQ(want, 0u) << "the loop ran past a batch with a candidate, base " << base << " batch " << b;
            } else {
              ASSERT_EQ(mask, want) << "base " << base << " batch " << b << " threshold " << threshold;
              if (ran < nb) {
                ASSERT_NE(mask, 0u) << "the loop stopped early without a candidate";
              }
            }
          }
          base += std::uint64_t{L} * ran;
        }
      }
  }
}

// Long runs through the header loop at a miner's kind of target (a hit in thousands of
// nonces): kernels that work in chunks (shani's assembly loop: 256 batches) must report every
// candidate batch in order across chunk boundaries, as the per-batch kernel finds them.
TEST_P(BackendTest, KernelHeaderScanLongRunsFindEveryCandidate) {
  const hf::cpu::KernelTable* kt = kernels_of(be_);
  ASSERT_NE(kt, nullptr);
  if (!kt->scan_headers) GTEST_SKIP() << GetParam() << " has no header loop (search_batch serves it)";
  const unsigned L = kt->lanes;
  hft::Rng rng(0x10f6);
  const Bytes header = rng.bytes(80);
  hf::PreparedSearch ps(Algo::sha256d, header, {76, hf::Encoding::u32le, 4}, 4, hf::ByteOrder::bitcoin);
  alignas(64) std::uint32_t aw[hf::cpu::kMaxAffectedWords * 16] = {};
  const std::uint64_t start = 12345 * std::uint64_t{L}, nbatches = 40000 / L * 4;
  // One nonce in 8192 (runs cross many chunks between candidates), in 1024 and in 256 (a
  // candidate every few chunks or in most, so every lane of a kernel's loop is checked, each
  // with its whole mask; shani's hybrid loop takes chunks of 76 nonces at one in 1024, the
  // last 4 in its vector lanes).
  for (const std::uint32_t threshold : {0x0007ffffu, 0x003fffffu, 0x00ffffffu}) {
    SCOPED_TRACE(threshold);
    std::vector<std::uint64_t> want;  // batch << 16 | lane mask
    for (std::uint64_t b = 0; b < nbatches; ++b) {
      ps.fill_words(start + b * L, L, L, aw);
      if (const std::uint32_t m = kt->search_batch(ps.plan(), aw, threshold)) want.push_back(b << 16 | m);
    }
    ASSERT_GE(want.size(), threshold > 0x0007ffffu ? 20u : 1u) << "too few candidates: the test checks little";
    for (auto* scan : {kt->scan_headers, kt->scan_headers_alt}) {
      if (!scan) continue;
      SCOPED_TRACE(scan == kt->scan_headers ? "scan_headers" : "scan_headers_alt");
      std::vector<std::uint64_t> got;
      for (std::uint64_t b = 0; b < nbatches;) {
        std::uint32_t mask = 0;
        const std::uint32_t ran = scan(ps.plan(), static_cast<std::uint32_t>(start + b * L),
                                       static_cast<std::uint32_t>(nbatches - b), threshold, &mask);
        ASSERT_GE(ran, 1u);
        b += ran;
        if (mask) got.push_back((b - 1) << 16 | mask);
      }
      EXPECT_EQ(got, want);
    }
  }
}

// The slow path every candidate is re-checked on, and the message a caller prints or saves.
TEST(PreparedSearch, DigestOfAndMessageWithMatchTheDefinition) {
  using E = hf::Encoding;
  hft::Rng rng(0x9e5);
  const std::vector<std::pair<std::size_t, hf::NonceField>> fields{
      {80, {76, E::u32le, 4}}, {70, {60, E::hex, 8}},   {300, {5, E::u32be, 4}},   {90, {62, E::dec, 20}},
      {55, {3, E::hex, 16}},   {56, {40, E::u64le, 8}}, {128, {120, E::u64le, 8}}, {20, {19, E::hex, 1}},
  };
  for (Algo algo : {Algo::sha256, Algo::sha256d}) {
    for (auto& [len, f] : fields) {
      hf::SearchJob job;
      job.algo = algo;
      job.message = rng.bytes(len);
      job.nonce = f;
      const std::size_t w = hft::ref_width(f.encoding, f.width, 0);
      hf::PreparedSearch ps(algo, job.message, f, w, hf::ByteOrder::digest);
      Bytes scratch(ps.tail_size());
      const std::uint64_t max = f.encoding == E::hex && w < 16                     ? (1ull << (4 * w)) - 1
                                : f.encoding == E::u32le || f.encoding == E::u32be ? 0xffffffffull
                                                                                   : ~0ull;
      for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 1, 15, 0x1234567, max - 1, max}) {
        n &= max;
        EXPECT_EQ(ps.message_with(n), hft::message_ref(job.message, f, n)) << hft::describe(job) << " n " << n;
        EXPECT_EQ(hft::hex(ps.digest_of(n, scratch.data())), hft::hex(hft::hit_ref(job, n).digest))
            << hft::describe(job) << " n " << n;
      }
    }
  }
  // Varying decimal: the caller inserts a placeholder of the part's width.
  const Bytes tmpl = rng.bytes(66);
  const hf::NonceField f{60, E::dec, 0};
  for (std::uint64_t n : std::initializer_list<std::uint64_t>{0, 7, 42, 999, 123456789, ~0ull}) {
    const std::size_t w = std::to_string(n).size();
    Bytes with(tmpl.begin(), tmpl.begin() + 60);
    with.resize(60 + w, '0');
    with.insert(with.end(), tmpl.begin() + 60, tmpl.end());
    hf::PreparedSearch ps(Algo::sha256, with, f, w, hf::ByteOrder::bitcoin);
    Bytes scratch(ps.tail_size());
    EXPECT_EQ(ps.message_with(n), hft::message_ref(tmpl, f, n)) << n;
    EXPECT_EQ(hft::hex(ps.digest_of(n, scratch.data())),
              hft::hex(hft::ossl(Algo::sha256, hft::message_ref(tmpl, f, n))))
        << n;
  }
}

// A batch of nothing but 64-byte messages takes the 64-byte path (gathered from wherever they
// lie) for SHA-256 and sha256d's first pass; one other length among them takes the general one.
TEST_P(BackendTest, BatchesOf64ByteMessagesMatchOpenSsl) {
  hft::Rng rng(0x65);
  const Bytes pool = rng.bytes(64 * 300 + 64);
  for (std::size_t n : {std::size_t(1), std::size_t(be_->lanes()), 3 * std::size_t(be_->lanes()) + 1, std::size_t(70),
                        std::size_t(200)}) {
    std::vector<hf::ByteView> msgs;
    for (std::size_t i = 0; i < n; ++i)
      msgs.emplace_back(pool.data() + (i * 97) % (64 * 300), 64);  // scattered, unaligned
    for (Algo algo : {Algo::sha256, Algo::sha256d}) check_many(algo, msgs, "64-byte batch of " + std::to_string(n));
    msgs.back() = hf::ByteView(pool.data() + 5, 63);
    check_many(Algo::sha256, msgs, "64-byte batch with one 63-byte message, " + std::to_string(n));
  }
}

// Merkle tree layers: SHA-256 of 64-byte messages back to back, into a separate buffer and in
// place, for counts around each backend's lane width (whole batches and a tail).
TEST_P(BackendTest, Sha256Of64ByteMessagesMatchesOpenSsl) {
  hft::Rng rng(0x64);
  auto* cb = dynamic_cast<hf::cpu::CpuBackend*>(be_);
  ASSERT_NE(cb, nullptr);
  const std::size_t L = cb->lanes();
  for (std::size_t n :
       {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(3), L - 1, L, L + 1, 2 * L + 3, std::size_t(100)}) {
    const Bytes in = rng.bytes(64 * n + 1);
    const std::uint8_t* msgs = in.data() + 1;  // unaligned
    std::vector<std::uint8_t> out(32 * n + 1, 0xa5);
    cb->sha256_64(msgs, n, out.data());
    EXPECT_EQ(out.back(), 0xa5) << "wrote past digest " << n;
    Bytes inplace(msgs, msgs + 64 * n);
    cb->sha256_64(inplace.data(), n, inplace.data());
    for (std::size_t i = 0; i < n; ++i) {
      const std::string want = hft::hex(hft::ossl(Algo::sha256, hf::ByteView(msgs + 64 * i, 64)));
      EXPECT_EQ(hf::to_hex(hf::ByteView(out.data() + 32 * i, 32)), want) << "message " << i << " of " << n;
      EXPECT_EQ(hf::to_hex(hf::ByteView(inplace.data() + 32 * i, 32)), want)
          << "in place, message " << i << " of " << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendTest, ::testing::ValuesIn(hft::backend_names()), hft::param_name);

// ---- selection and forcing ----

using hft::EnvGuard;

hf::SearchJob small_job() {
  // Bitcoin genesis header (vectors.md: Bitcoin Core chainparams, btcrelay firstEleven.txt).
  hf::SearchJob job;
  job.algo = Algo::sha256d;
  job.message = hft::unhex(
      "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
      "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c");
  job.nonce = {76, hf::Encoding::u32le, 4};
  job.range = {2083236893 - 100, 200};  // around the real nonce 2083236893
  hf::target_from_compact(0x1d00ffff, &job.target);
  return job;
}

TEST(Selection, BackendListIsComplete) {
  EnvGuard env("HASHFORGE_BACKEND", nullptr);
  const auto& st = hf::Engine::instance().backends();
  std::set<std::string> names;
  for (const hf::BackendStatus& s : st) {
    names.insert(s.name);
    EXPECT_FALSE(s.description.empty()) << s.name;
    EXPECT_EQ(s.available, s.why_unavailable.empty()) << s.name;
    hf::Backend* b = hf::find_backend(s.name);
    if (s.usable()) {
      ASSERT_NE(b, nullptr) << s.name;
      EXPECT_EQ(b->name(), s.name);
      EXPECT_EQ(b->lanes(), s.lanes);
    } else {
      EXPECT_EQ(b, nullptr) << s.name;
      EXPECT_FALSE(s.why_unavailable.empty() && s.selftest.empty()) << s.name;
      EXPECT_THROW(hf::Engine::instance().choose(hf::Op::search_sha256d, s.name).value(), hf::JobError) << s.name;
    }
  }
  EXPECT_EQ(names, std::set<std::string>(hft::backend_names().begin(), hft::backend_names().end()));
  EXPECT_NE(hf::find_backend("scalar"), nullptr) << hft::why_unusable("scalar");
  EXPECT_EQ(hf::find_backend("nope"), nullptr);
}

// A CPU backend this machine can run must pass its self-test: one that fails is dropped from
// the registry (users get the next best), so every BackendTest case of it would skip and a
// broken kernel would otherwise leave the suite green.
TEST(Selection, EveryAvailableCpuBackendPassesItsSelfTest) {
  for (const hf::BackendStatus& s : hf::Engine::instance().backends()) {
    if (!s.device && s.available) {
      EXPECT_TRUE(s.selftest_ok) << s.name << ": " << s.selftest;
    }
  }
}

TEST(Selection, ForcedScalarForEveryOp) {
  EnvGuard env("HASHFORGE_BACKEND", nullptr);
  for (hf::Op op : hf::kAllOps) EXPECT_EQ(hf::Engine::instance().choose(op, "scalar").value(), "scalar");
  hf::RunOptions opt;
  opt.backend = "scalar";
  EXPECT_EQ(hf::Engine::instance().search(small_job(), opt).value().backend, "scalar");
}

TEST(Selection, DefaultIsTheBestUsable) {
  EnvGuard env("HASHFORGE_BACKEND", nullptr);
  for (hf::Op op : hf::kAllOps) {
    const std::string best = hf::Engine::instance().best_for(op);
    EXPECT_NE(hf::find_backend(best), nullptr) << best;
    EXPECT_EQ(hf::Engine::instance().choose(op, "").value(), best);
    EXPECT_EQ(hf::Engine::instance().choose(op, "auto").value(), best);
  }
}

TEST(Selection, EnvironmentForcesAvx2) {
  if (!hf::find_backend("avx2")) GTEST_SKIP() << "avx2 " << hft::why_unusable("avx2");
  EnvGuard env("HASHFORGE_BACKEND", "avx2");
  for (hf::Op op : hf::kAllOps) EXPECT_EQ(hf::Engine::instance().choose(op, "").value(), "avx2");
  const hf::SearchResult r = hf::Engine::instance().search(small_job()).value();
  EXPECT_EQ(r.backend, "avx2");
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(r.hits[0].nonce, 2083236893u);
  // An explicit name wins over the environment.
  hf::RunOptions opt;
  opt.backend = "scalar";
  EXPECT_EQ(hf::Engine::instance().search(small_job(), opt).value().backend, "scalar");
  EXPECT_EQ(hf::Engine::instance().choose(hf::Op::hash_sha1, "scalar").value(), "scalar");
  // Batch hashing follows the environment too.
  const Bytes m = hft::bytes_of("abc");
  std::vector<hf::ByteView> v{hf::ByteView(m)};
  hf::SpanSource src(v);
  const hf::BatchStats st =
      hf::Engine::instance().hash_batch(Algo::sha256, src, [](std::uint64_t, const hf::Digest&) {}).value();
  EXPECT_EQ(st.backend, "avx2");
}

TEST(Selection, UnknownNameThrowsJobError) {
  EnvGuard env("HASHFORGE_BACKEND", nullptr);
  for (hf::Op op : hf::kAllOps) {
    try {
      hf::Engine::instance().choose(op, "nope").value();
      ADD_FAILURE() << "resolve(nope) did not throw";
    } catch (const hf::JobError& e) {
      EXPECT_NE(std::string(e.what()).find("unknown backend"), std::string::npos) << e.what();
    }
  }
  hf::RunOptions opt;
  opt.backend = "nope";
  EXPECT_THROW(hf::Engine::instance().search(small_job(), opt).value(), hf::JobError);
  hf::BatchOptions bo;
  bo.backend = "nope";
  std::vector<hf::ByteView> none;
  hf::SpanSource src(none);
  EXPECT_THROW(hf::Engine::instance()
                   .hash_batch(
                       Algo::sha1, src, [](std::uint64_t, const hf::Digest&) {}, bo)
                   .value(),
               hf::JobError);
}

TEST(Selection, UnknownNameInEnvironmentThrowsJobError) {
  EnvGuard env("HASHFORGE_BACKEND", "nope");
  try {
    hf::Engine::instance().choose(hf::Op::search_sha256d, "").value();
    ADD_FAILURE() << "resolve with HASHFORGE_BACKEND=nope did not throw";
  } catch (const hf::JobError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown backend"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HASHFORGE_BACKEND"), std::string::npos) << e.what();
  }
  EXPECT_THROW(hf::Engine::instance().search(small_job()).value(), hf::JobError);
  // An explicit name still wins.
  EXPECT_EQ(hf::Engine::instance().choose(hf::Op::search_sha256d, "scalar").value(), "scalar");
}

}  // namespace

namespace {

// A Merkle root the way its users build one with Engine::hash_pairs: each layer in place over
// the one below, against the same tree hashed message by message with OpenSSL.
TEST(EngineHashPairs, MerkleRootsInPlaceMatchOpenSsl) {
  hft::Rng rng(0x7e);
  for (std::size_t leaves : {1u, 2u, 4u, 8u, 32u, 64u, 1024u}) {
    Bytes tree = rng.bytes(32 * leaves);
    std::vector<Bytes> layer;
    for (std::size_t i = 0; i < leaves; ++i) layer.emplace_back(tree.begin() + 32 * i, tree.begin() + 32 * (i + 1));
    while (layer.size() > 1) {
      std::vector<Bytes> up;
      for (std::size_t i = 0; i < layer.size(); i += 2) {
        Bytes pair = layer[i];
        pair.insert(pair.end(), layer[i + 1].begin(), layer[i + 1].end());
        const hf::Digest d = hft::ossl(Algo::sha256, pair);
        up.emplace_back(d.bytes.begin(), d.bytes.begin() + 32);
      }
      layer = std::move(up);
    }
    for (std::size_t n = leaves / 2; n >= 1; n /= 2) hf::Engine::instance().hash_pairs(tree.data(), n, tree.data());
    EXPECT_EQ(hf::to_hex(hf::ByteView(tree.data(), 32)), hf::to_hex(layer[0])) << leaves << " leaves";
  }
}

// Tree layers stay on a CPU backend, whatever $HASHFORGE_BACKEND says (a device, a list, a
// name that does not exist), as Engine::digest does.
TEST(EngineHashPairs, NotMovedByTheBackendVariable) {
  hft::Rng rng(0x7f);
  const Bytes in = rng.bytes(64 * 5);
  for (const char* forced : {"nope", "avx512,cuda:0", "cuda:0", "all"}) {
    EnvGuard g("HASHFORGE_BACKEND", forced);
    Bytes out(32 * 5);
    hf::Engine::instance().hash_pairs(in.data(), 5, out.data());
    for (std::size_t i = 0; i < 5; ++i)
      EXPECT_EQ(hf::to_hex(hf::ByteView(out.data() + 32 * i, 32)),
                hft::hex(hft::ossl(Algo::sha256, hf::ByteView(in.data() + 64 * i, 64))))
          << forced << ", message " << i;
  }
}

}  // namespace

// Batch hashing: hash_batch / verify_batch with every MessageSource, against OpenSSL, with
// digests delivered in index order exactly once and memory kept inside the budget.
#include <algorithm>
#include <cstring>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "oracle.hpp"
#include "registry.hpp"

namespace {

using hf::Algo;
using hft::Bytes;

constexpr Algo kAlgos[] = {Algo::sha1, Algo::sha256, Algo::sha256d};

// Checks each delivered digest against `want` and that indices arrive 0, 1, 2, ... once each.
struct OrderedChecker {
  const std::vector<hf::Digest>* want;
  std::uint64_t next = 0;
  std::uint64_t mismatches = 0, out_of_order = 0;
  void operator()(std::uint64_t i, const hf::Digest& d) {
    if (i != next) ++out_of_order;
    next = i + 1;
    if (i >= want->size() || !(d == (*want)[i])) {
      if (mismatches++ < 5)
        ADD_FAILURE() << "digest " << i << ": got " << hft::hex(d) << " want "
                      << (i < want->size() ? hft::hex((*want)[i]) : std::string("(no such message)"));
    }
  }
};

class BatchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { HFT_REQUIRE_BACKEND(GetParam()); }
  hf::BatchOptions opts(unsigned threads = 2) const {
    hf::BatchOptions o;
    o.backend = GetParam();
    o.threads = threads;
    return o;
  }
};

TEST_P(BatchTest, SpanSourceMatchesOpenSslInOrder) {
  hft::Rng rng(0x5a7);
  const Bytes buf = rng.bytes(1 << 20);
  std::vector<hf::ByteView> msgs;
  std::uint64_t total = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::size_t len = i < 130 ? static_cast<std::size_t>(i) : rng.below(i % 50 == 0 ? 60000 : 3000);
    const std::size_t start = rng.below(buf.size() - len) | 1;
    msgs.emplace_back(buf.data() + start, len);
    total += len;
  }
  for (Algo algo : kAlgos) {
    for (unsigned threads : {1u, 2u, 3u}) {
      std::vector<hf::Digest> want;
      for (auto m : msgs) want.push_back(hft::ossl(algo, m));
      OrderedChecker chk{&want};
      hf::SpanSource src(msgs);
      const hf::BatchStats st =
          hf::Engine::instance()
              .hash_batch(
                  algo, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }, opts(threads))
              .value();
      EXPECT_EQ(chk.next, msgs.size()) << hf::algo_name(algo) << " threads " << threads;
      EXPECT_EQ(chk.out_of_order, 0u);
      EXPECT_EQ(chk.mismatches, 0u);
      EXPECT_EQ(st.messages, msgs.size());
      EXPECT_EQ(st.bytes, total);
      EXPECT_EQ(st.failed, 0u);
      EXPECT_EQ(st.backend, GetParam());
      EXPECT_EQ(st.threads, hf::find_backend(GetParam())->is_device() ? 1u : threads);
      EXPECT_EQ(st.peak_bytes_in_flight, 0u) << "an in-memory list owns no storage";
    }
  }
}

TEST_P(BatchTest, CallbackSourceMatchesOpenSslInOrder) {
  for (Algo algo : kAlgos) {
    hft::Rng rng(0xca11 + static_cast<int>(algo));
    std::vector<hf::Digest> want;
    std::uint64_t total = 0;
    const int count = 900;
    hf::CallbackSource src([&](Bytes& storage) {
      if (want.size() == static_cast<std::size_t>(count)) return false;
      const std::size_t i = want.size();
      const std::size_t len = i % 97 == 0 ? 0 : i % 89 == 0 ? 100000 + rng.below(1000) : rng.below(5000);
      storage.resize(len);
      rng.fill(storage.data(), len);
      want.push_back(hft::ossl(algo, storage));
      total += len;
      return true;
    });
    OrderedChecker chk{&want};
    const hf::BatchStats st = hf::Engine::instance()
                                  .hash_batch(
                                      algo, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }, opts())
                                  .value();
    EXPECT_EQ(chk.next, static_cast<std::uint64_t>(count)) << hf::algo_name(algo);
    EXPECT_EQ(chk.out_of_order, 0u);
    EXPECT_EQ(chk.mismatches, 0u);
    EXPECT_EQ(st.messages, static_cast<std::uint64_t>(count));
    EXPECT_EQ(st.bytes, total);
    EXPECT_GT(st.peak_bytes_in_flight, 0u);
    EXPECT_LE(st.peak_bytes_in_flight, hf::BatchOptions{}.memory_budget);
  }
}

TEST_P(BatchTest, VerifyFlagsExactlyTheCorruptedItems) {
  hft::Rng rng(0xbad);
  const Bytes buf = rng.bytes(1 << 19);
  std::vector<hf::ByteView> msgs;
  for (int i = 0; i < 600; ++i) {
    const std::size_t len = rng.below(4000);
    msgs.emplace_back(buf.data() + rng.below(buf.size() - len), len);
  }
  for (Algo algo : kAlgos) {
    std::vector<hf::Digest> expected;
    std::vector<bool> corrupt(msgs.size(), false);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      hf::Digest d = hft::ossl(algo, msgs[i]);
      if (i == 0 || i == msgs.size() - 1 || i % 7 == 3 || rng.below(10) == 0) {
        corrupt[i] = true;
        d.bytes[rng.below(d.size)] ^= static_cast<std::uint8_t>(1u << rng.below(8));  // one bit
      }
      expected.push_back(d);
    }
    const std::uint64_t n_corrupt = static_cast<std::uint64_t>(std::count(corrupt.begin(), corrupt.end(), true));
    std::vector<int> seen(msgs.size(), 0);
    std::uint64_t next = 0, out_of_order = 0, wrong_flag = 0, wrong_actual = 0;
    hf::SpanSource src(msgs);
    const hf::BatchStats st = hf::Engine::instance()
                                  .verify_batch(
                                      algo, src, [&](std::uint64_t i) { return expected.at(i); },
                                      [&](std::uint64_t i, bool ok, const hf::Digest& actual) {
                                        if (i != next) ++out_of_order;
                                        next = i + 1;
                                        ++seen.at(i);
                                        if (ok == corrupt[i]) ++wrong_flag;
                                        if (!(actual == hft::ossl(algo, msgs[i]))) ++wrong_actual;
                                      },
                                      opts())
                                  .value();
    EXPECT_EQ(out_of_order, 0u) << hf::algo_name(algo);
    EXPECT_EQ(wrong_flag, 0u) << hf::algo_name(algo);
    EXPECT_EQ(wrong_actual, 0u) << hf::algo_name(algo);
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
    EXPECT_EQ(st.failed, n_corrupt);
    EXPECT_EQ(st.messages, msgs.size());
  }
}

TEST_P(BatchTest, ZeroMessages) {
  for (Algo algo : kAlgos) {
    int calls = 0;
    std::vector<hf::ByteView> none;
    hf::SpanSource span(none);
    hf::BatchStats st = hf::Engine::instance()
                            .hash_batch(
                                algo, span, [&](std::uint64_t, const hf::Digest&) { ++calls; }, opts())
                            .value();
    EXPECT_EQ(st.messages, 0u);
    EXPECT_EQ(st.bytes, 0u);
    hf::CallbackSource cb([](Bytes&) { return false; });
    st = hf::Engine::instance()
             .hash_batch(
                 algo, cb, [&](std::uint64_t, const hf::Digest&) { ++calls; }, opts())
             .value();
    EXPECT_EQ(st.messages, 0u);
    std::istringstream in("");
    hf::ReaderSource rd(in, 1024);
    st = hf::Engine::instance()
             .hash_batch(
                 algo, rd, [&](std::uint64_t, const hf::Digest&) { ++calls; }, opts())
             .value();
    EXPECT_EQ(st.messages, 0u);
    EXPECT_EQ(calls, 0);
    st = hf::Engine::instance()
             .verify_batch(
                 algo, span, [](std::uint64_t) { return hf::Digest{}; },
                 [&](std::uint64_t, bool, const hf::Digest&) { ++calls; }, opts())
             .value();
    EXPECT_EQ(st.failed, 0u);
    EXPECT_EQ(calls, 0);
  }
}

TEST_P(BatchTest, EmptyMessagesFromACallback) {
  // Zero-length messages: the callback leaves its storage empty.
  int produced = 0;
  hf::CallbackSource src([&](Bytes& storage) {
    if (produced == 50) return false;
    storage.clear();
    if (produced % 5 == 4) storage.assign(3, 'a' + produced % 26);
    ++produced;
    return true;
  });
  std::vector<hf::Digest> want;
  for (int i = 0; i < 50; ++i) want.push_back(hft::ossl(Algo::sha256, i % 5 == 4 ? Bytes(3, 'a' + i % 26) : Bytes()));
  OrderedChecker chk{&want};
  hf::Engine::instance()
      .hash_batch(
          Algo::sha256, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }, opts())
      .value();
  EXPECT_EQ(chk.next, 50u);
  EXPECT_EQ(chk.mismatches, 0u);
  EXPECT_EQ(chk.out_of_order, 0u);
}

// A source that reads a record into `storage` and returns a view of part of it (here: the
// record without its 4-byte header). That is still "a view of storage" (batch.hpp), so the
// storage must live until the message is hashed.
class HeaderSkippingSource final : public hf::MessageSource {
 public:
  HeaderSkippingSource(std::size_t count, std::uint64_t seed) : count_(count), rng_(seed) {}
  std::optional<hf::ByteView> next(Bytes& storage) override {
    if (payloads.size() == count_) return std::nullopt;
    const std::size_t len = 1 + rng_.below(3000);
    storage.resize(4 + len);
    std::memcpy(storage.data(), "HDR:", 4);
    rng_.fill(storage.data() + 4, len);
    payloads.emplace_back(storage.begin() + 4, storage.end());
    return hf::ByteView(storage).subspan(4);
  }
  std::vector<Bytes> payloads;

 private:
  std::size_t count_;
  hft::Rng rng_;
};

TEST_P(BatchTest, SourceReturningAViewIntoPartOfItsStorage) {
  HeaderSkippingSource src(400, 0x4d5);
  std::vector<hf::Digest> got;
  std::uint64_t next = 0, out_of_order = 0;
  hf::Engine::instance()
      .hash_batch(
          Algo::sha256, src,
          [&](std::uint64_t i, const hf::Digest& d) {
            if (i != next) ++out_of_order;
            next = i + 1;
            got.push_back(d);
          },
          opts())
      .value();
  ASSERT_EQ(got.size(), src.payloads.size());
  EXPECT_EQ(out_of_order, 0u);
  std::size_t wrong = 0, first_wrong = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == hft::ossl(Algo::sha256, src.payloads[i])) && wrong++ == 0) first_wrong = i;
  EXPECT_EQ(wrong, 0u) << "first wrong digest at message " << first_wrong
                       << ": the engine hashed memory it had already released";
}

TEST_P(BatchTest, MerkleLayersMatchOpenSsl) {
  // hash_pairs_on: a tree layer of n 64-byte messages, apart and in place, across launch
  // boundaries (a CPU OpenCL device takes 4096 a launch, a GPU 65536 and keeps two launches
  // in flight: 196613 is four, the last one short).
  hft::Rng rng(0x64);
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4097}, std::size_t{70001}, std::size_t{196613}}) {
    const Bytes in = rng.bytes(64 * n + 1);  // one spare byte: nothing past the layer is read as a message
    Bytes apart(32 * n + 1, 0xee), inplace = in;
    ASSERT_TRUE(hf::Engine::instance().hash_pairs_on(GetParam(), in.data(), n, apart.data())) << n;
    ASSERT_TRUE(hf::Engine::instance().hash_pairs_on(GetParam(), inplace.data(), n, inplace.data())) << n;
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string want = hft::hex(hft::ossl(Algo::sha256, hf::ByteView(in.data() + 64 * i, 64)));
      if (hf::to_hex(hf::ByteView(apart.data() + 32 * i, 32)) != want && bad++ < 3)
        ADD_FAILURE() << GetParam() << " n=" << n << " message " << i;
      if (hf::to_hex(hf::ByteView(inplace.data() + 32 * i, 32)) != want && bad++ < 3)
        ADD_FAILURE() << GetParam() << " n=" << n << " message " << i << " in place";
    }
    EXPECT_EQ(apart.back(), 0xee) << "written past the layer";
    EXPECT_EQ(bad, 0u);
  }
  EXPECT_FALSE(hf::Engine::instance().hash_pairs_on("nosuch", nullptr, 0, nullptr));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BatchTest, ::testing::ValuesIn(hft::backend_names()), hft::param_name);
INSTANTIATE_TEST_SUITE_P(Devices, BatchTest, ::testing::ValuesIn(hft::device_names()), hft::param_name);

// ---- ReaderSource: a stream cut into pieces, as torrents are ----

TEST(BatchReader, TenMegabytesInMebibytePiecesLastOneShort) {
  const std::size_t size = 10'000'000, piece = 1u << 20;
  hft::Rng rng(0x70440);
  const Bytes data = rng.bytes(size);
  const std::size_t pieces = (size + piece - 1) / piece;
  ASSERT_EQ(pieces, 10u);
  ASSERT_NE(size % piece, 0u);
  for (Algo algo : {Algo::sha1, Algo::sha256}) {
    std::vector<hf::Digest> want;
    for (std::size_t p = 0; p < pieces; ++p)
      want.push_back(hft::ossl(algo, data.data() + p * piece, std::min(piece, size - p * piece)));
    std::istringstream in(std::string(data.begin(), data.end()));
    hf::ReaderSource src(in, piece);
    OrderedChecker chk{&want};
    const hf::BatchStats st =
        hf::Engine::instance().hash_batch(algo, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }).value();
    EXPECT_EQ(chk.next, pieces) << hf::algo_name(algo);
    EXPECT_EQ(chk.out_of_order, 0u);
    EXPECT_EQ(chk.mismatches, 0u);
    EXPECT_EQ(st.messages, pieces);
    EXPECT_EQ(st.bytes, size);
  }
}

TEST(BatchReader, ExactMultipleHasNoEmptyLastPiece) {
  const std::size_t piece = 65536;
  hft::Rng rng(0xe7);
  const Bytes data = rng.bytes(5 * piece);
  std::vector<hf::Digest> want;
  for (int p = 0; p < 5; ++p) want.push_back(hft::ossl(Algo::sha1, data.data() + p * piece, piece));
  std::istringstream in(std::string(data.begin(), data.end()));
  hf::ReaderSource src(in, piece);
  OrderedChecker chk{&want};
  const hf::BatchStats st = hf::Engine::instance()
                                .hash_batch(Algo::sha1, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); })
                                .value();
  EXPECT_EQ(st.messages, 5u);
  EXPECT_EQ(chk.next, 5u);
  EXPECT_EQ(chk.mismatches, 0u);
}

// A stream buffer that delivers `good` bytes and then fails with an exception.
class FailingBuf : public std::streambuf {
 public:
  explicit FailingBuf(std::size_t good) : data_(good, 'x') { setg(data_.data(), data_.data(), data_.data() + good); }

 protected:
  int_type underflow() override { throw std::runtime_error("disk on fire"); }

 private:
  std::string data_;
};

TEST(BatchReader, StreamFailureIsReported) {
  FailingBuf buf(3000);
  std::istream in(&buf);
  hf::ReaderSource src(in, 1024);
  EXPECT_THROW(hf::Engine::instance().hash_batch(Algo::sha1, src, [](std::uint64_t, const hf::Digest&) {}).value(),
               std::runtime_error);
}

TEST(BatchErrors, ThrowingSinkPropagates) {
  hft::Rng rng(0x5e);
  const Bytes buf = rng.bytes(100000);
  std::vector<hf::ByteView> msgs(5000, hf::ByteView(buf.data(), 1000));
  hf::SpanSource src(msgs);
  int calls = 0;
  EXPECT_THROW(hf::Engine::instance()
                   .hash_batch(Algo::sha256, src,
                               [&](std::uint64_t i, const hf::Digest&) {
                                 ++calls;
                                 if (i == 100) throw std::runtime_error("sink full");
                               })
                   .value(),
               std::runtime_error);
  EXPECT_EQ(calls, 101);
}

// ---- memory bound ----

TEST(BatchMemory, PeakStaysWithinBudget) {
  constexpr std::size_t kMiB = 1u << 20, kMessages = 300, kBudget = 16 * kMiB;
  std::vector<hf::Digest> want;
  std::uint64_t delivered = 0;
  std::size_t max_live = 0;  // messages handed to the engine whose digest has not come back
  hf::CallbackSource src([&](Bytes& storage) {
    if (want.size() == kMessages) return false;
    const std::size_t i = want.size();
    storage.assign(kMiB, static_cast<std::uint8_t>(i * 37));
    for (std::size_t k = 0; k < 16; ++k) storage[k * 65536 + (i % 1000)] = static_cast<std::uint8_t>(i >> (k % 3 * 8));
    want.push_back(hft::ossl(Algo::sha256, storage));
    max_live = std::max<std::size_t>(max_live, want.size() - delivered);
    return true;
  });
  OrderedChecker chk{&want};
  hf::BatchOptions o;
  o.memory_budget = kBudget;
  o.threads = 2;
  const hf::BatchStats st = hf::Engine::instance()
                                .hash_batch(
                                    Algo::sha256, src,
                                    [&](std::uint64_t i, const hf::Digest& d) {
                                      chk(i, d);
                                      ++delivered;
                                    },
                                    o)
                                .value();
  EXPECT_EQ(st.messages, kMessages);
  EXPECT_EQ(chk.next, kMessages);
  EXPECT_EQ(chk.mismatches, 0u);
  EXPECT_EQ(chk.out_of_order, 0u);
  EXPECT_GT(st.peak_bytes_in_flight, 0u);
  EXPECT_LE(st.peak_bytes_in_flight, kBudget);
  // Independently of the engine's own count: never more than the budget's worth of messages
  // read and not yet finished.
  EXPECT_LE(max_live * kMiB, kBudget) << "max live messages " << max_live;
}

TEST(BatchMemory, TinyBudgetStillFinishes) {
  // A 2-byte budget: every 1-byte message is a group of its own; nothing may deadlock.
  for (unsigned threads : {1u, 4u}) {
    int produced = 0;
    std::vector<hf::Digest> want;
    hf::CallbackSource src([&](Bytes& storage) {
      if (produced == 200) return false;
      storage.assign(1, static_cast<std::uint8_t>(produced));
      want.push_back(hft::ossl(Algo::sha1, storage));
      ++produced;
      return true;
    });
    OrderedChecker chk{&want};
    hf::BatchOptions o;
    o.memory_budget = 2;
    o.threads = threads;
    const hf::BatchStats st = hf::Engine::instance()
                                  .hash_batch(
                                      Algo::sha1, src, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }, o)
                                  .value();
    EXPECT_EQ(st.messages, 200u);
    EXPECT_EQ(chk.next, 200u);
    EXPECT_EQ(chk.mismatches, 0u);
    EXPECT_EQ(chk.out_of_order, 0u);
    EXPECT_LE(st.peak_bytes_in_flight, 2u);
  }
}

TEST(BatchMemory, MessageOverHalfTheBudgetThrows) {
  constexpr std::size_t kBudget = 2u << 20;
  for (std::size_t big : {kBudget / 2 + 1, kBudget, 3 * kBudget}) {
    int produced = 0;
    hf::CallbackSource src([&](Bytes& storage) {
      if (produced == 10) return false;
      storage.assign(produced == 4 ? big : 1000, 'q');
      ++produced;
      return true;
    });
    hf::BatchOptions o;
    o.memory_budget = kBudget;
    EXPECT_THROW(hf::Engine::instance()
                     .hash_batch(
                         Algo::sha1, src, [](std::uint64_t, const hf::Digest&) {}, o)
                     .value(),
                 hf::JobError)
        << big;
  }
  // Exactly half the budget is allowed.
  int produced = 0;
  hf::CallbackSource ok([&](Bytes& storage) {
    if (produced == 3) return false;
    storage.assign(kBudget / 2, static_cast<std::uint8_t>(produced));
    ++produced;
    return true;
  });
  std::vector<hf::Digest> want;
  for (int i = 0; i < 3; ++i) want.push_back(hft::ossl(Algo::sha1, Bytes(kBudget / 2, static_cast<std::uint8_t>(i))));
  OrderedChecker chk{&want};
  hf::BatchOptions o;
  o.memory_budget = kBudget;
  const hf::BatchStats st = hf::Engine::instance()
                                .hash_batch(
                                    Algo::sha1, ok, [&](std::uint64_t i, const hf::Digest& d) { chk(i, d); }, o)
                                .value();
  EXPECT_EQ(st.messages, 3u);
  EXPECT_EQ(chk.mismatches, 0u);
  EXPECT_LE(st.peak_bytes_in_flight, kBudget);
}

}  // namespace

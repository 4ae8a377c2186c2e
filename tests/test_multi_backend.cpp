// One search on several backends at once: chunks sized by measured rate, a coverage record
// that proves no nonce is searched twice or skipped, and results identical to one backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "env_guard.hpp"
#include "oracle.hpp"
#include "registry.hpp"

namespace {

// Test doubles for devices: the scalar backend under another name, fed by its own host
// thread like a GPU, with a twist in search(). Only these tests register them.
class TestDevice : public hf::Backend {
 public:
  TestDevice(hf::Backend& inner, std::string name, std::string what)
      : inner_(inner), name_(std::move(name)), what_(std::move(what)) {}
  std::string_view name() const override { return name_; }
  std::string description() const override { return what_ + " (test double)"; }
  unsigned lanes() const override { return 1; }
  std::string unavailable_reason() const override { return {}; }
  bool supports(hf::Op op) const override { return op == hf::Op::search_sha256 || op == hf::Op::search_sha256d; }
  bool is_device() const override { return true; }
  void hash_many(hf::Algo, std::span<const hf::ByteView>, hf::Digest*) override { throw std::logic_error("unused"); }

 protected:
  hf::Backend& inner_;
  std::string name_, what_;
};

// A slow device: scalar plus a sleep per nonce.
class SlowDevice final : public TestDevice {
 public:
  explicit SlowDevice(hf::Backend& inner) : TestDevice(inner, "slowdev", "scalar, slowed down") {}
  std::uint64_t search(const hf::PreparedSearch& ps, std::uint64_t first, std::uint64_t count, hf::SearchSink& sink,
                       const std::atomic<bool>& stop) override {
    const std::uint64_t n = inner_.search(ps, first, count, sink, stop);
    std::this_thread::sleep_for(std::chrono::microseconds(n / 4));  // about 4 M nonces/s at most
    return n;
  }
};

// A device that fails: once armed, after `good` chunks every search throws, the way a lost
// GPU or an exhausted device memory surfaces from a real backend. It searches half the
// chunk first, so a failed chunk has partial results that must not leak into the job.
class FailingDevice final : public TestDevice {
 public:
  explicit FailingDevice(hf::Backend& inner) : TestDevice(inner, "faildev", "scalar that fails after a few chunks") {}
  std::uint64_t search(const hf::PreparedSearch& ps, std::uint64_t first, std::uint64_t count, hf::SearchSink& sink,
                       const std::atomic<bool>& stop) override {
    if (!armed_ || calls_++ < good_) return inner_.search(ps, first, count, sink, stop);
    inner_.search(ps, first, count / 2, sink, stop);
    throw std::runtime_error(name_ + ": device lost (simulated)");
  }
  void arm(int good) {
    calls_ = 0;
    good_ = good;
    armed_ = true;
  }

 private:
  int good_ = 0, calls_ = 0;
  bool armed_ = false;  // passes the engine's self-test first
};

FailingDevice& failing_device() {
  static FailingDevice* dev = [] {
    auto d = std::make_unique<FailingDevice>(*hf::find_backend("scalar"));
    FailingDevice* raw = d.get();
    const hf::Result<void> added = hf::Engine::instance().add_backend(std::move(d));
    EXPECT_TRUE(added) << added.error();
    return raw;
  }();
  return *dev;
}

hf::Engine& engine_with_slow_device() {
  static bool added = [] {
    const hf::Result<void> ok =
        hf::Engine::instance().add_backend(std::make_unique<SlowDevice>(*hf::find_backend("scalar")));
    EXPECT_TRUE(ok) << ok.error();
    return ok.ok();
  }();
  EXPECT_TRUE(added);
  return hf::Engine::instance();
}

hf::SearchJob header_job(std::uint64_t first, std::uint64_t count) {
  hf::SearchJob j;
  // Bitcoin block 100000's header (vectors.md; source: ethereum/btcrelay test/test_btcrelay.py).
  j.message = *hf::from_hex(
      "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067c"
      "c38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710");
  j.algo = hf::Algo::sha256d;
  j.nonce = {76, hf::Encoding::u32le, 4};
  j.range = {first, count};
  j.max_hits = 100000;
  EXPECT_EQ(hf::target_from_hex("003fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &j.target), "");
  return j;
}

TEST(MultiBackend, SlowDeviceAndCpuCoverEveryNonceOnceWithIdenticalResults) {
  hf::Engine& e = engine_with_slow_device();
  const std::string cpu = e.best_for(hf::Op::search_sha256d);
  const hf::SearchJob job = header_job(12345, 3'000'000);
  hf::RunOptions one, both;
  one.backend = cpu;
  both.backend = cpu + ",slowdev";
  both.threads = one.threads = 2;
  const hf::SearchResult a = e.search(job, one).value(), b = e.search(job, both).value();
  EXPECT_EQ(b.backend, cpu + "+slowdev");
  EXPECT_EQ(b.threads, 3u);
  ASSERT_TRUE(a.complete && b.complete);
  ASSERT_EQ(a.hits.size(), b.hits.size());
  ASSERT_GT(a.hits.size(), 1000u);  // about 1 nonce in 1024 meets this target
  for (std::size_t i = 0; i < a.hits.size(); ++i) ASSERT_EQ(a.hits[i].nonce, b.hits[i].nonce) << i;
  std::map<std::string, std::uint64_t> by;
  ASSERT_TRUE(hft::chunks_tile(b, job.range, &by));
  EXPECT_EQ(by[cpu] + by["slowdev"], job.range.count);
  EXPECT_GT(by["slowdev"], 0u);       // the slow device took part...
  EXPECT_GT(by[cpu], by["slowdev"]);  // ...with smaller chunks, sized by its measured rate
}

TEST(MultiBackend, AFailingDeviceLeavesAndItsChunksAreSearchedAgain) {
  hf::Engine& e = hf::Engine::instance();
  FailingDevice& dev = failing_device();
  const hf::SearchJob job = header_job(5000, 2'000'000);
  for (int good : {0, 3}) {
    dev.arm(good);
    hf::RunOptions one, both;
    one.backend = "scalar";
    both.backend = "scalar,faildev";
    one.threads = both.threads = 2;
    const hf::SearchResult a = e.search(job, one).value(), b = e.search(job, both).value();
    ASSERT_TRUE(b.complete) << "the other backend finishes the job";
    ASSERT_EQ(b.warnings.size(), 1u);
    EXPECT_NE(b.warnings[0].find("faildev left the search after an error: faildev: device lost"), std::string::npos)
        << b.warnings[0];
    std::map<std::string, std::uint64_t> by;
    ASSERT_TRUE(hft::chunks_tile(b, job.range, &by)) << "no gap and no overlap after the failure";
    ASSERT_EQ(a.hits.size(), b.hits.size()) << "partial results of the failed chunk neither lost nor doubled";
    for (std::size_t i = 0; i < a.hits.size(); ++i) ASSERT_EQ(a.hits[i].nonce, b.hits[i].nonce) << i;
    EXPECT_EQ(b.hashes, job.range.count);
  }
}

TEST(MultiBackend, AFailingOnlyBackendFailsTheJobWithItsMessage) {
  hf::Engine& e = hf::Engine::instance();
  FailingDevice& dev = failing_device();
  dev.arm(1);
  hf::RunOptions o;
  o.backend = "faildev";
  try {
    e.search(header_job(0, 50'000'000), o).value();
    FAIL() << "expected the device's error";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("device lost"), std::string::npos) << err.what();
  }
}

TEST(MultiBackend, BestGoalAgreesAcrossBackends) {
  hf::Engine& e = engine_with_slow_device();
  hf::SearchJob job = header_job(0, 1'000'000);
  job.goal = hf::Goal::best;
  hf::RunOptions one, both;
  one.backend = "scalar";
  both.backend = e.best_for(hf::Op::search_sha256d) + ",slowdev";
  const hf::SearchResult a = e.search(job, one).value(), b = e.search(job, both).value();
  ASSERT_TRUE(a.best && b.best);
  EXPECT_EQ(a.best->nonce, b.best->nonce);
  EXPECT_EQ(a.best->key, b.best->key);
}

TEST(MultiBackend, ListsAreCheckedAndAllMeansCpuPlusDevices) {
  hf::Engine& e = hf::Engine::instance();
  EXPECT_NE(e.choose_list(hf::Op::search_sha256d, "scalar,,scalar").error().find("empty name"), std::string::npos);
  EXPECT_NE(e.choose_list(hf::Op::search_sha256d, "scalar,scalar").error().find("listed twice"), std::string::npos);
  EXPECT_NE(e.choose_list(hf::Op::search_sha256d, "scalar,nosuch").error().find("unknown backend"), std::string::npos);
  const auto all = e.choose_list(hf::Op::search_sha256d, "all").value();
  ASSERT_FALSE(all.empty());
  // First the CPU's share: the best CPU backend, or an OpenCL device on these same cores
  // where it searched faster on the whole machine (never both: they would share the cores).
  const std::string cpu = e.best_for(hf::Op::search_sha256d);
  auto same_cores = [&](const std::string& name) {
    hf::Backend* b = hf::find_backend(name);
    return b && b->is_device() && b->shares_host_cores();
  };
  EXPECT_TRUE(all.front() == cpu || same_cores(all.front())) << all.front();
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_TRUE(e.backend(all[i])->device) << all[i];
    EXPECT_FALSE(same_cores(all[i])) << all[i] << " beside another backend on the same cores";
  }
  // Every usable device that has cores of its own is in "all".
  for (const hf::BackendStatus& s : e.backends())
    if (s.usable() && s.device && !same_cores(s.name)) {
      bool in = false;
      for (const std::string& b : all) in = in || b == s.name;
      EXPECT_TRUE(in) << s.name;
    }
  // Where a device on these cores was weighed against the CPU backend, both whole-machine
  // rates are on record for `hashforge backends` to show.
  bool weighed = false;
  for (const hf::BackendStatus& s : e.backends()) weighed = weighed || (s.usable() && same_cores(s.name));
  if (weighed) {
    double dev = 0, host = 0;
    for (const hf::MeasuredRate& m : e.backend_choice().whole_machine) {
      if (m.task != "search-sha256d") continue;
      if (same_cores(m.backend)) dev = std::max(dev, m.rate);
      if (m.backend == cpu) host = m.rate;
      EXPECT_EQ(m.unit, "nonces/s");
    }
    EXPECT_GT(dev, 0);
    EXPECT_GT(host, 0);
  }
  {
    // HASHFORGE_DEVICES=auto makes the automatic choice the same list.
    hft::EnvGuard g("HASHFORGE_DEVICES", "auto");
    EXPECT_EQ(e.choose_list(hf::Op::search_sha256d, "").value(), all);
  }
}

}  // namespace

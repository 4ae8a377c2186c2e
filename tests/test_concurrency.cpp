// One engine shared by several threads, as the node (mining while it verifies) and the
// torrent client (checking pieces while it downloads) will use it: concurrent searches and
// batches must each give exactly the single-threaded answer, and backend lookups must be
// safe while devices are being probed. Run under ThreadSanitizer in CI (HF_SANITIZE=thread).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "oracle.hpp"
#include "worker_pool.hpp"

namespace {

using hf::Algo;

// A sha256 search whose every hit is known by brute force on the reference path.
hf::SearchJob hit_rich_job(std::uint64_t count) {
  hf::SearchJob job;
  job.algo = Algo::sha256;
  job.message = hft::bytes_of("concurrent search template ........");
  job.nonce = {8, hf::Encoding::u32le, 0};
  job.range = {1000, count};
  job.order = hf::ByteOrder::digest;
  job.goal = hf::Goal::below_target;
  job.target = hft::key_from_hex("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");  // 1 in 256
  job.max_hits = 1u << 20;
  return job;
}

std::vector<hf::Digest> batch_reference(const std::vector<hf::ByteView>& msgs, Algo algo) {
  std::vector<hf::Digest> want;
  for (hf::ByteView m : msgs) want.push_back(hft::ossl(algo, m));
  return want;
}

TEST(Concurrency, SearchAndBatchAtTheSameTimeBothRight) {
  const hf::Engine& e = hf::Engine::instance();
  const hf::SearchJob job = hit_rich_job(1u << 18);
  const hft::Expected want = hft::brute_force(job);

  hft::Rng rng(77);
  const hft::Bytes buf = rng.bytes(4 << 20);
  std::vector<hf::ByteView> msgs;
  for (std::size_t off = 0; off + 4096 <= buf.size(); off += 4096) msgs.emplace_back(buf.data() + off, 4096);
  const std::vector<hf::Digest> want_digests = batch_reference(msgs, Algo::sha1);

  hf::Result<hf::SearchResult> got_search = hf::Error{"not run"};
  std::vector<hf::Digest> got_digests(msgs.size());
  hf::Result<hf::BatchStats> got_batch = hf::Error{"not run"};
  std::thread searcher([&] {
    hf::RunOptions ro;
    ro.threads = 2;
    got_search = e.search(job, ro);
  });
  std::thread hasher([&] {
    hf::SpanSource src(msgs);
    hf::BatchOptions bo;
    bo.threads = 2;
    got_batch = e.hash_batch(
        Algo::sha1, src, [&](std::uint64_t i, const hf::Digest& d) { got_digests[i] = d; }, bo);
  });
  searcher.join();
  hasher.join();

  ASSERT_TRUE(got_search) << got_search.error();
  EXPECT_TRUE(got_search->complete);
  EXPECT_TRUE(hft::same_hits(got_search->hits, want.hits));
  ASSERT_TRUE(got_batch) << got_batch.error();
  EXPECT_EQ(got_batch->messages, msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) ASSERT_EQ(got_digests[i], want_digests[i]) << "message " << i;
}

TEST(Concurrency, ManySmallJobsFromManyThreads) {
  const hf::Engine& e = hf::Engine::instance();
  const hf::SearchJob job = hit_rich_job(5000);  // small: runs inline on each caller
  const hft::Expected want = hft::brute_force(job);
  std::atomic<int> wrong{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        hf::RunOptions ro;
        ro.threads = (t + i) % 3;  // inline, one pool task, several
        auto r = e.search(job, ro);
        if (!r || !hft::same_hits(r->hits, want.hits)) ++wrong;
        const std::string msg = "message " + std::to_string(t * 10 + i);
        auto h = e.hasher(Algo::sha256);
        if (!h) {
          ++wrong;
          continue;
        }
        h->update({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
        if (!(h->final() == hft::ossl(Algo::sha256, msg))) ++wrong;
      }
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Device probing appends backends while other threads look them up and resolve choices.
TEST(Concurrency, ResolvingWhileDevicesAreProbed) {
  const hf::Engine& e = hf::Engine::instance();
  std::atomic<bool> go{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (int i = 0; i < 50; ++i) {
        for (hf::Op op : hf::kAllOps)
          if (!e.choose(op, "")) ++errors;
        if (!e.choose(hf::Op::hash_sha256, "scalar")) ++errors;
        (void)e.backends();
        (void)e.backend("opencl:0");  // a device name probes too
        if (t == 0 && i == 0) (void)e.choose_list(hf::Op::search_sha256d, "all");
        if (!e.choose(hf::Op::search_sha256d, "nosuch:9").error().size()) ++errors;
      }
    });
  std::thread prober([&] {
    while (!go) std::this_thread::yield();
    e.probe_devices();
  });
  go = true;
  for (auto& th : ts) th.join();
  prober.join();
  EXPECT_EQ(errors.load(), 0);
  // Every listed device was probed once: no name twice.
  auto all = e.backends();
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j) EXPECT_NE(all[i].name, all[j].name);
}

TEST(WorkerPool, TasksFromSeveralThreadsAllRunOnce) {
  hf::WorkerPool& pool = hf::WorkerPool::instance();
  std::atomic<int> ran{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 250; ++i) pool.post([&] { ++ran; });
    });
  for (auto& th : ts) th.join();
  while (ran.load() < 1000)
    if (!pool.run_one()) std::this_thread::yield();
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_GE(pool.size(), 1u);
}

}  // namespace

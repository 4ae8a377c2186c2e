// The node's SQLite store: what is committed comes back, concurrent commits share fsyncs,
// and a file that is not a sound database is refused with its name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "net/node/store.hpp"

namespace hf::node {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("hf_store_" + std::to_string(::getpid()) + "_" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    path = (dir / "node.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  std::string path;
};

TEST_F(StoreTest, WhatIsCommittedComesBackInOrder) {
  {
    Store s(path);
    s.bind_spec("spec-a");
    Batch b;
    b.blocks.push_back({"h1", "g", 1, "{\"index\": 1}"});
    b.blocks.push_back({"h2", "h1", 2, "{\"index\": 2}"});
    b.add_pending.push_back({1, "t1", "{\"a\": 1}"});
    b.add_pending.push_back({2, "t2", "{\"a\": 2}"});
    b.add_peers.push_back("http://127.0.0.1:5000/");
    s.commit(b);
    Batch c;
    c.drop_pending.push_back(1);
    c.add_pending.push_back({2, "t2", "{\"dup\": true}"});  // kept as first written
    s.commit(c);
  }
  Store s(path);
  s.bind_spec("spec-a");
  Loaded l = s.load();
  ASSERT_EQ(l.blocks.size(), 2u);
  EXPECT_EQ(l.blocks[0].hash, "h1");
  EXPECT_EQ(l.blocks[1].parent, "h1");
  EXPECT_EQ(l.blocks[1].height, 2);
  ASSERT_EQ(l.pending.size(), 1u);
  EXPECT_EQ(l.pending[0].txid, "t2");
  EXPECT_EQ(l.pending[0].body, "{\"a\": 2}");
  EXPECT_EQ(l.peers, std::vector<std::string>{"http://127.0.0.1:5000/"});
  EXPECT_EQ(l.spec_id, "spec-a");
}

TEST_F(StoreTest, AnotherNetworksDatabaseIsRefused) {
  { Store(path).bind_spec("spec-a"); }
  Store s(path);
  try {
    s.bind_spec("spec-b");
    FAIL() << "a database of another network was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("another network"), std::string::npos);
  }
}

TEST_F(StoreTest, ConcurrentCommitsAllLandAndShareFsyncs) {
  constexpr int kThreads = 8, kEach = 200;
  {
    Store s(path);
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          Batch b;
          std::string id = std::to_string(t) + "-" + std::to_string(i);
          b.add_pending.push_back({t * kEach + i + 1, id, "{}"});
          s.commit(std::move(b));
        }
      });
    for (auto& th : ts) th.join();
    StoreStats st = s.stats();
    EXPECT_EQ(st.batches, static_cast<std::uint64_t>(kThreads * kEach));
    EXPECT_LE(st.commits, st.batches);
  }
  Store s(path);
  EXPECT_EQ(s.load().pending.size(), static_cast<std::size_t>(kThreads * kEach));
}

// A read taken after batches were queued answers only once they are all written: at once
// when none is in flight, else after every earlier batch's own completion.
TEST_F(StoreTest, AReadWaitsForEverythingQueuedBeforeIt) {
  Store s(path);
  EXPECT_TRUE(s.durable_or_notify([] { ADD_FAILURE() << "a reader waited with nothing in flight"; }));
  std::int64_t seq = 0;
  std::uint64_t queued = 0;
  int deferred = 0;
  for (int round = 0; round < 20; ++round) {
    std::mutex m;
    std::vector<int> order;
    constexpr int kBatches = 8;
    for (int i = 0; i < kBatches; ++i) {
      Batch b;
      for (int k = 0; k < 500; ++k) b.add_pending.push_back({++seq, "t" + std::to_string(seq), "{}"});
      ++queued;
      s.commit_async(std::move(b), [&m, &order, i](const std::string& e) {
        EXPECT_EQ(e, "");
        std::lock_guard lk(m);
        order.push_back(i);
      });
    }
    std::promise<void> read;
    if (s.durable_or_notify([&] {
          std::lock_guard lk(m);
          order.push_back(-1);
          read.set_value();
        })) {
      EXPECT_EQ(s.stats().batches, queued);
      Batch none;
      ++queued;
      std::promise<void> drained;  // the completions still to run use order and m
      s.commit_async(std::move(none), [&](const std::string&) { drained.set_value(); });
      drained.get_future().wait();
      continue;
    }
    ++deferred;
    read.get_future().wait();
    std::lock_guard lk(m);
    ASSERT_EQ(order.size(), static_cast<std::size_t>(kBatches + 1));
    EXPECT_EQ(order.back(), -1) << "the reader was answered before a batch queued ahead of it";
    EXPECT_EQ(s.stats().batches, queued);
  }
  EXPECT_GT(deferred, 0) << "no round had a batch in flight: the waiting path went untested";
}

TEST_F(StoreTest, ADamagedFileIsAClearErrorNamingIt) {
  {
    Store s(path);
    Batch b;
    for (int i = 0; i < 500; ++i) b.blocks.push_back({"h" + std::to_string(i), "p", i, std::string(200, 'x')});
    s.commit(b);
  }
  // Not a database at all.
  std::string junk = (dir / "junk.db").string();
  std::ofstream(junk) << std::string(8192, 'z');
  try {
    Store bad(junk);
    bad.load();
    FAIL() << "junk opened as a database";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
  }
  // Cut short: fold the WAL in first so the main file holds the data, then truncate it.
  {
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    auto size = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, size / 3);
  }
  try {
    Store cut(path);
    cut.load();
    FAIL() << "a truncated database opened cleanly";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hf::node

// Two OpenCL devices searching one job. Run with POCL_DEVICES="pthread pthread" (ctest sets
// it) so PoCL shows two CPU devices; elsewhere it skips with the reason.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "oracle.hpp"
#include "registry.hpp"

namespace {

// The suite's backend choice is pinned like the others' (tests/CMakeLists.txt passes the file;
// its ENVIRONMENT already carries POCL_DEVICES, and a second variable there would not survive
// gtest_discover_tests' list handling). Set before main, so before the engine's first choice.
[[maybe_unused]] const bool kPinned = ::setenv("HASHFORGE_CHOICE_FILE", HF_PINNED_CHOICE_FILE, 0) == 0;

TEST(MultiDevice, TwoOpenClDevicesShareOneSearchWithoutGapsOrOverlap) {
  hf::Engine& e = hf::Engine::instance();
  for (const char* name : {"opencl:0", "opencl:1"})
    if (!hf::find_backend(name))
      GTEST_SKIP() << name << " not usable here (set POCL_DEVICES=\"pthread pthread\" for PoCL)";
  hf::SearchJob job;
  // Bitcoin genesis header (vectors.md; source: Bitcoin Core chainparams).
  job.message = *hf::from_hex(
      "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
      "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c");
  job.nonce = {76, hf::Encoding::u32le, 4};
  job.range = {2083236893ull - 3'000'000, 4'000'000};
  job.max_hits = 100000;
  ASSERT_EQ(hf::target_from_hex("003fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &job.target), "");
  hf::RunOptions both, ref;
  both.backend = "opencl:0,opencl:1";
  ref.backend = e.best_for(hf::Op::search_sha256d);
  const hf::SearchResult a = e.search(job, both).value(), b = e.search(job, ref).value();
  ASSERT_TRUE(a.complete);
  EXPECT_EQ(a.backend, "opencl:0+opencl:1");
  ASSERT_EQ(a.hits.size(), b.hits.size());
  for (std::size_t i = 0; i < a.hits.size(); ++i) ASSERT_EQ(a.hits[i].nonce, b.hits[i].nonce) << i;
  std::map<std::string, std::uint64_t> by;
  ASSERT_TRUE(hft::chunks_tile(a, job.range, &by));
  EXPECT_GT(by["opencl:0"], 0u);
  EXPECT_GT(by["opencl:1"], 0u);
}

}  // namespace

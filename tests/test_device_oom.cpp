// A real out-of-memory on a CUDA device: this process takes nearly all of the GPU's memory,
// as another program would, and then asks cuda:0 for work that needs device memory. The job
// must fail with a clear message naming the device and the shortage, the CPU backends must
// go on as before, and once the memory is back the same device must work again.
//
// It needs a GPU, so it skips with the reason elsewhere. (PoCL, the CPU OpenCL device of CI,
// cannot stand in: its device memory is host memory allocated lazily, and when an allocation
// does fail it aborts the process inside its own code.)
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hashforge/engine.hpp"
#include "oracle.hpp"
#include "registry.hpp"

namespace {

// Device memory held by the test; freed when it goes out of scope.
struct Hog {
  std::vector<void*> blocks;
  std::size_t bytes = 0;
  void take_all() {
    for (std::size_t chunk = std::size_t{1} << 30; chunk >= (std::size_t{1} << 20); chunk /= 2) {
      void* p = nullptr;
      while (cudaMalloc(&p, chunk) == cudaSuccess) {
        blocks.push_back(p);
        bytes += chunk;
      }
      (void)cudaGetLastError();  // an allocation failure is not sticky; clear it anyway
    }
  }
  void release() {
    for (void* p : blocks) cudaFree(p);
    blocks.clear();
    bytes = 0;
  }
  ~Hog() { release(); }
};

// A search whose message after the nonce is `tail` bytes long: its parameters (every block
// after the nonce) must go to the device, so a longer tail needs a new allocation there.
hf::SearchJob long_job(const hft::Bytes& tail) {
  hf::SearchJob job;
  job.algo = hf::Algo::sha256;
  job.message = hft::Bytes(4, 0);
  job.message.insert(job.message.end(), tail.begin(), tail.end());
  job.nonce = {0, hf::Encoding::u32le, 4};
  job.range = {0, 64};
  job.order = hf::ByteOrder::digest;
  job.goal = hf::Goal::below_target;
  job.target = hf::Key::max();  // every nonce is a hit: all 64 digests are compared
  job.max_hits = 64;
  return job;
}

hf::SearchResult search_on(const std::string& backends, const hf::SearchJob& job, unsigned cpu_threads = 0) {
  hf::RunOptions ro;
  ro.backend = backends;
  ro.threads = cpu_threads;
  return hf::Engine::instance().search(job, ro).value();
}

}  // namespace

TEST(CudaOutOfMemory, FailsTheJobClearlyLeavesTheCpuRunningAndRecovers) {
  hf::Engine& e = hf::Engine::instance();
  e.probe_devices();
  HFT_REQUIRE_BACKEND("cuda:0");
  const std::string cpu = e.best_for(hf::Op::search_sha256);
  hft::Rng rng(0x00d);
  const hf::SearchJob small = long_job(rng.bytes(4096));
  const hf::SearchJob big = long_job(rng.bytes(8u << 20));  // 8 MiB of parameters on the device
  EXPECT_TRUE(hft::same_hits(search_on("cuda:0", small).hits, hft::brute_force(small).hits));

  Hog hog;
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  hog.take_all();
  std::size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  std::printf("holding %zu MiB of %zu MiB; %zu MiB free\n", hog.bytes >> 20, total >> 20, free_bytes >> 20);
  ASSERT_LT(free_bytes, std::size_t{8} << 20) << "could not fill the device";

  // The device alone: the job fails, saying which device and why.
  try {
    search_on("cuda:0", big);
    ADD_FAILURE() << "an 8 MiB device allocation succeeded with " << (free_bytes >> 20) << " MiB free";
  } catch (const std::exception& ex) {
    const std::string what = ex.what();
    EXPECT_NE(what.find("cuda:0"), std::string::npos) << what;
    EXPECT_NE(what.find("out of memory"), std::string::npos) << what;
  }
  // The device and the CPU together: the device leaves with a warning, the CPU finishes the
  // job, and every hit is right.
  // Four chunks and one CPU thread, so the device takes one while the CPU is on its first
  // (with 64 nonces and every core, the CPU took the only chunk before the device started).
  hf::SearchJob wide = big;
  wide.range = {0, 256};
  wide.max_hits = 256;
  const hf::SearchResult both = search_on("cuda:0," + cpu, wide, 1);
  EXPECT_TRUE(both.complete);
  EXPECT_TRUE(hft::same_hits(both.hits, hft::brute_force(wide).hits));
  ASSERT_FALSE(both.warnings.empty());
  EXPECT_NE(both.warnings[0].find("out of memory"), std::string::npos) << both.warnings[0];
  // The CPU alone is untouched by the full device.
  EXPECT_TRUE(hft::same_hits(search_on(cpu, big).hits, hft::brute_force(big).hits));

  // Memory back: the same device runs the same job, right.
  hog.release();
  EXPECT_TRUE(hft::same_hits(search_on("cuda:0", big).hits, hft::brute_force(big).hits));
  EXPECT_TRUE(hft::same_hits(search_on("cuda:0", small).hits, hft::brute_force(small).hits));
}

// The device batch path without a device: the launch planner (engine/gpu/batch_plan.hpp)
// drives the batch kernel compiled as host C++ (kernels/batch_hash.h), and every digest is
// compared with OpenSSL. Small geometries force long messages through many launches and
// batches through many waves, which a real device run would rarely show.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "gpu/batch_plan.hpp"
#include "kernels/batch_hash.h"
#include "kernels/pairs_kernel.h"
#include "oracle.hpp"

namespace {

using hf::Algo;

// Runs a whole batch the way a device does: launch after launch over one state array.
std::vector<hf::Digest> run_host(Algo algo, std::span<const hf::ByteView> msgs, hf::gpu::BatchGeometry g,
                                 std::size_t* launches = nullptr) {
  hf::gpu::BatchPlanner plan(msgs, g);
  std::vector<std::uint32_t> staging((plan.staging_bytes() + 3) / 4);
  std::vector<std::uint32_t> desc(g.max_entries * hf::gpu::kDescWords);
  std::vector<std::uint32_t> state(g.max_entries * 8, 0xdeadbeef);
  std::vector<hf::Digest> out(msgs.size());
  const u32 code = algo == Algo::sha1 ? HF_ALGO_SHA1 : algo == Algo::sha256 ? HF_ALGO_SHA256 : HF_ALGO_SHA256D;
  std::size_t n = 0;
  while (true) {
    const auto l = plan.next(reinterpret_cast<std::uint8_t*>(staging.data()), desc.data());
    if (l.entries == 0) break;
    EXPECT_LE(l.bytes, plan.staging_bytes());
    for (std::size_t i = 0; i < l.entries; ++i) hf_batch_one(staging.data(), desc.data(), state.data(), u32(i), code);
    if (l.wave_end)
      for (std::size_t k = 0; k < l.wave_count; ++k)
        out[l.wave_first + k] = hf::gpu::BatchPlanner::digest_from_state(algo, &state[8 * k]);
    ++n;
  }
  if (launches) *launches = n;
  return out;
}

TEST(DeviceBatch, EveryLengthAroundThePaddingEdgesMatchesOpenSsl) {
  hft::Rng rng(0xba7c);
  const hft::Bytes buf = rng.bytes(4096);
  std::vector<hf::ByteView> msgs;
  for (std::size_t len = 0; len <= 300; ++len) msgs.emplace_back(buf.data() + (len * 7) % 97, len);
  for (Algo algo : {Algo::sha1, Algo::sha256, Algo::sha256d})
    for (hf::gpu::BatchGeometry g :
         {hf::gpu::BatchGeometry{4096, 4096}, hf::gpu::BatchGeometry{7, 64}, hf::gpu::BatchGeometry{32, 128}}) {
      const auto got = run_host(algo, msgs, g);
      for (std::size_t i = 0; i < msgs.size(); ++i)
        ASSERT_EQ(hft::hex(got[i]), hft::hex(hft::ossl(algo, msgs[i])))
            << hf::algo_name(algo) << " length " << msgs[i].size() << " geometry " << g.max_entries << "x"
            << g.piece_bytes;
    }
}

TEST(DeviceBatch, LongMessagesSpanManyLaunchesAndWaves) {
  hft::Rng rng(0x10a6);
  const hft::Bytes buf = rng.bytes(1 << 20);
  std::vector<hf::ByteView> msgs;
  for (int i = 0; i < 40; ++i) {
    const std::size_t len = i % 5 == 0 ? rng.below(200000) : rng.below(3000);
    msgs.emplace_back(buf.data() + rng.below(buf.size() - len), len);
  }
  std::size_t launches = 0;
  const auto got = run_host(Algo::sha256, msgs, {16, 1024}, &launches);
  EXPECT_GT(launches, 100u) << "pieces of 1 KiB: the long messages need many launches";
  for (std::size_t i = 0; i < msgs.size(); ++i)
    EXPECT_EQ(hft::hex(got[i]), hft::hex(hft::ossl(Algo::sha256, msgs[i]))) << i;
}

TEST(DeviceBatch, StagingNeverOverflowsAndPiecesAreAligned) {
  std::vector<hf::Bytes> store;
  for (std::size_t len : {1u, 15u, 16u, 17u, 63u, 64u, 65u, 127u, 1000u}) store.emplace_back(len, 0x61);
  std::vector<hf::ByteView> msgs(store.begin(), store.end());
  hf::gpu::BatchPlanner plan(msgs, {4, 64});
  std::vector<std::uint8_t> staging(plan.staging_bytes());
  std::vector<std::uint32_t> desc(4 * hf::gpu::kDescWords);
  std::size_t total = 0;
  while (true) {
    const auto l = plan.next(staging.data(), desc.data());
    if (!l.entries) break;
    EXPECT_LE(l.entries, 4u);
    EXPECT_LE(l.bytes, staging.size());
    for (std::size_t i = 0; i < l.entries; ++i) {
      EXPECT_EQ(desc[i * hf::gpu::kDescWords] % 16, 0u);
      EXPECT_LE(desc[i * hf::gpu::kDescWords + 2], 64u);
      total += desc[i * hf::gpu::kDescWords + 2];
    }
  }
  std::size_t want = 0;
  for (auto m : msgs) want += m.size();
  EXPECT_EQ(total, want) << "every byte is sent exactly once";
}

TEST(DeviceBatch, BadGeometryIsRejected) {
  std::vector<hf::ByteView> none;
  EXPECT_THROW(hf::gpu::BatchPlanner(none, {0, 64}), std::invalid_argument);
  EXPECT_THROW(hf::gpu::BatchPlanner(none, {4, 100}), std::invalid_argument);
  hf::gpu::BatchPlanner p(none, {4, 64});
  std::vector<std::uint8_t> staging(p.staging_bytes());
  std::vector<std::uint32_t> desc(4 * hf::gpu::kDescWords);
  EXPECT_EQ(p.next(staging.data(), desc.data()).entries, 0u);
}

TEST(DevicePairsKernel, HostBuildMatchesOpenSsl) {
  // The 64-byte kernel compiled as host C++: message block, then the constant padding block.
  hft::Rng rng(0x640);
  const std::size_t n = 257;
  const hft::Bytes in = rng.bytes(64 * n);
  std::vector<std::uint32_t> words(16 * n), out(8 * n, 0xdeadbeef);
  std::memcpy(words.data(), in.data(), in.size());
  for (std::size_t i = 0; i < n; ++i) hf_pairs_one(words.data(), out.data(), u32(i));
  for (std::size_t i = 0; i < n; ++i) {
    hf::Digest d;
    std::memcpy(d.bytes.data(), &out[8 * i], 32);
    d.size = 32;
    EXPECT_EQ(hft::hex(d), hft::hex(hft::ossl(Algo::sha256, in.data() + 64 * i, 64))) << i;
  }
}

}  // namespace

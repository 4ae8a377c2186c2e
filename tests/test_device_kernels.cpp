// The device kernels (kernels/*.h) compiled as host C++ and compared with the engine's
// reference path, so the one source that OpenCL and CUDA compile is checked on every machine.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "gpu/device_params.hpp"
#include "hashforge/hex.hpp"
#include "kernels/sha256_search.h"
#include "search_plan.hpp"

namespace {

using hf::ByteOrder;
using hf::Encoding;

struct Layout {
  const char* name;
  hf::Algo algo;
  std::size_t msg_len, offset;
  Encoding enc;
  std::size_t width;
  ByteOrder order;
};

class DeviceKernel : public ::testing::TestWithParam<Layout> {};

TEST_P(DeviceKernel, KeyWordMatchesReferenceDigest) {
  const Layout& l = GetParam();
  hf::Bytes msg(l.msg_len);
  std::mt19937_64 rng(l.msg_len * 131 + l.offset);
  for (auto& b : msg) b = static_cast<std::uint8_t>(rng());
  hf::PreparedSearch ps(l.algo, msg, {l.offset, l.enc, l.width}, l.width, l.order);
  const std::vector<std::uint32_t> P = hf::gpu::device_params(ps);
  ASSERT_FALSE(P.empty());
  hf::Bytes scratch(ps.tail_size());
  const std::uint64_t max = hf::encoding_max({l.offset, l.enc, l.width});
  for (int i = 0; i < 200; ++i) {
    std::uint64_t n = i < 100 ? static_cast<std::uint64_t>(i) : rng();
    if (max != ~0ull) n %= max + 1;
    const hf::Key want = hf::key_of(ps.digest_of(n, scratch.data()), l.order);
    ASSERT_EQ(hf_sha256_key(P.data(), n), want.w[0]) << l.name << " nonce " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, DeviceKernel,
    ::testing::Values(
        Layout{"header_sha256d_bitcoin", hf::Algo::sha256d, 80, 76, Encoding::u32le, 4, ByteOrder::bitcoin},
        Layout{"header_sha256d_digest", hf::Algo::sha256d, 80, 76, Encoding::u32le, 4, ByteOrder::digest},
        Layout{"header_sha256_bitcoin", hf::Algo::sha256, 80, 76, Encoding::u32le, 4, ByteOrder::bitcoin},
        Layout{"file_hex8_last_block", hf::Algo::sha256, 428, 416, Encoding::hex, 8, ByteOrder::digest},
        Layout{"hex8_straddles_block", hf::Algo::sha256, 75, 60, Encoding::hex, 8, ByteOrder::digest},
        Layout{"hex16_padding_new_block", hf::Algo::sha256d, 120, 100, Encoding::hex, 16, ByteOrder::bitcoin},
        Layout{"u32be_unaligned", hf::Algo::sha256, 200, 65, Encoding::u32be, 4, ByteOrder::digest},
        Layout{"u64le_across", hf::Algo::sha256d, 140, 61, Encoding::u64le, 8, ByteOrder::bitcoin},
        Layout{"dec20_fixed", hf::Algo::sha256, 300, 30, Encoding::dec, 20, ByteOrder::digest},
        Layout{"dec7_long_suffix", hf::Algo::sha256d, 700, 3, Encoding::dec, 7, ByteOrder::digest},
        Layout{"u32le_word_aligned_mid", hf::Algo::sha256, 64, 8, Encoding::u32le, 4, ByteOrder::bitcoin}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DeviceKernelHeader80, MatchesReferenceAndIsChosenOnlyForHeaders) {
  // Bitcoin block 100000's header (vectors.md; source: ethereum/btcrelay test/test_btcrelay.py).
  const hf::Bytes header = *hf::from_hex(
      "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067c"
      "c38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710");
  {
    hf::PreparedSearch ps(hf::Algo::sha256d, header, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
    const std::vector<std::uint32_t> P = hf::gpu::device_params(ps);
    ASSERT_EQ(hf::gpu::kernel_kind(P), hf::gpu::KernelKind::header80);
    hf::Bytes scratch(ps.tail_size());
    for (std::uint64_t n : {0ull, 1ull, 274148111ull, 0xffffffffull, 0x12345678ull}) {
      const hf::Key want = hf::key_of(ps.digest_of(n, scratch.data()), ByteOrder::bitcoin);
      EXPECT_EQ(hf_header80_key(P.data(), static_cast<u32>(n)), want.w[0]) << n;
    }
  }
  // The same header hashed once, or keyed in digest order, takes the u32le kernel.
  for (hf::Algo algo : {hf::Algo::sha256d, hf::Algo::sha256})
    for (ByteOrder order : {ByteOrder::bitcoin, ByteOrder::digest}) {
      if (algo == hf::Algo::sha256d && order == ByteOrder::bitcoin) continue;
      hf::PreparedSearch ps(algo, header, {76, Encoding::u32le, 4}, 4, order);
      EXPECT_EQ(hf::gpu::kernel_kind(hf::gpu::device_params(ps)), hf::gpu::KernelKind::u32le);
    }
  // The real nonce of block 100000 meets its target: key word 0 in Bitcoin's order.
  hf::PreparedSearch real(hf::Algo::sha256d, header, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  EXPECT_EQ(hf_header80_key(hf::gpu::device_params(real).data(), 274148111u), 0u);
  // Other layouts are not headers.
  hf::PreparedSearch mid(hf::Algo::sha256d, header, {72, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  EXPECT_EQ(hf::gpu::kernel_kind(hf::gpu::device_params(mid)), hf::gpu::KernelKind::u32le);
  hf::Bytes longer = header;
  longer.push_back(0);
  hf::PreparedSearch l81(hf::Algo::sha256d, longer, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  EXPECT_EQ(hf::gpu::kernel_kind(hf::gpu::device_params(l81)), hf::gpu::KernelKind::u32le);
  hf::PreparedSearch hex(hf::Algo::sha256d, header, {72, Encoding::hex, 8}, 8, ByteOrder::bitcoin);
  EXPECT_EQ(hf::gpu::kernel_kind(hf::gpu::device_params(hex)), hf::gpu::KernelKind::generic);
}

TEST(DeviceKernelEncode, MatchesEngineEncoding) {
  for (Encoding e : {Encoding::u32le, Encoding::u32be, Encoding::u64le, Encoding::hex, Encoding::dec}) {
    for (std::size_t width : {1, 4, 8, 16, 20}) {
      hf::NonceField f{0, e, width};
      if (e == Encoding::u32le || e == Encoding::u32be) {
        if (width != 4) continue;
      } else if (e == Encoding::u64le) {
        if (width != 8) continue;
      } else if (e == Encoding::hex && width > 16)
        continue;
      for (std::uint64_t n : {0ull, 1ull, 9ull, 10ull, 255ull, 0xdeadbeefull, 12345678901234567890ull}) {
        const std::uint64_t max = hf::encoding_max(f);
        const std::uint64_t m = max == ~0ull ? n : n % (max + 1);
        std::uint8_t want[24] = {}, got[24] = {};
        hf::encode_nonce(f, m, want);
        hf_encode_nonce(static_cast<u32>(e), static_cast<u32>(width), m, got);
        EXPECT_EQ(0, std::memcmp(want, got, width)) << hf::encoding_name(e) << " width " << width << " n " << m;
      }
    }
  }
}

}  // namespace

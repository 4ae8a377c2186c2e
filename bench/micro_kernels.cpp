// Google Benchmark microbenchmarks: each backend's kernels on one thread, beside OpenSSL's
// EVP on the same work in the same binary. Run: build/bench/hf_microbench
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdio>

#include "cpu/cpu_backend.hpp"
#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "registry.hpp"
#include "search_plan.hpp"

namespace {

// Bitcoin block 100000's header (public), as in the bench command.
constexpr const char* kHeader =
    "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067c"
    "c38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710";

void BM_Sha256dHeaderScan(benchmark::State& st, const char* backend) {
  hf::Backend* be = hf::find_backend(backend);
  if (!be) {
    st.SkipWithError("backend not usable on this machine");
    return;
  }
  hf::PreparedSearch ps(hf::Algo::sha256d, *hf::from_hex(kHeader), {76, hf::Encoding::u32le, 4}, 4,
                        hf::ByteOrder::bitcoin);
  hf::Key target{};
  target.w[7] = 1;  // never met: every nonce takes the miss path
  std::atomic<bool> stop{false};
  std::uint64_t first = 0;
  const std::uint64_t n = 1u << 16;
  for (auto _ : st) {
    hf::SearchSink sink(ps, hf::Goal::below_target, target, 10, nullptr, std::nullopt);
    benchmark::DoNotOptimize(be->search(ps, first, n, sink, stop));
    first += n;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}

// The search kernel alone, one batch of the backend's lanes a call, no driver around it: the
// difference from sha256d_scan is what the driver (nonce words, candidate checks, progress)
// costs a nonce.
void BM_Sha256dHeaderKernel(benchmark::State& st, const char* backend) {
  auto* be = dynamic_cast<hf::cpu::CpuBackend*>(hf::find_backend(backend));
  if (!be) {
    st.SkipWithError("backend not usable on this machine");
    return;
  }
  const hf::cpu::KernelTable& kt = be->kernels();
  hf::PreparedSearch ps(hf::Algo::sha256d, *hf::from_hex(kHeader), {76, hf::Encoding::u32le, 4}, 4,
                        hf::ByteOrder::bitcoin);
  alignas(64) std::uint32_t aw[hf::cpu::kMaxAffectedWords * 16] = {};
  std::uint64_t base = 0;
  for (auto _ : st) {
    ps.fill_words(base, kt.lanes, kt.lanes, aw);
    benchmark::DoNotOptimize(kt.search_batch(ps.plan(), aw, 0));
    base += kt.lanes;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kt.lanes));
}

// The kernel's own header loop (scan_headers, or its other build scan_headers_alt where the table
// has one), 4096 nonces a call, no candidate: what the driver's pick between the two compares.
void BM_Sha256dHeaderLoop(benchmark::State& st, const char* backend, bool alt) {
  auto* be = dynamic_cast<hf::cpu::CpuBackend*>(hf::find_backend(backend));
  const auto scan = be ? (alt ? be->kernels().scan_headers_alt : be->kernels().scan_headers) : nullptr;
  if (!scan) {
    st.SkipWithError("backend not usable here, or it has no such loop");
    return;
  }
  hf::PreparedSearch ps(hf::Algo::sha256d, *hf::from_hex(kHeader), {76, hf::Encoding::u32le, 4}, 4,
                        hf::ByteOrder::bitcoin);
  const std::uint32_t lanes = be->kernels().lanes, batches = 4096 / lanes;
  std::uint32_t nonce = 0;
  for (auto _ : st) {
    std::uint32_t mask = 0;
    benchmark::DoNotOptimize(scan(ps.plan(), nonce, batches, 0, &mask));
    nonce += lanes * batches;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * lanes * batches));
}

void BM_Bulk(benchmark::State& st, const char* backend, hf::Algo algo, std::size_t size) {
  hf::Backend* be = hf::find_backend(backend);
  if (!be) {
    st.SkipWithError("backend not usable on this machine");
    return;
  }
  const std::size_t count = std::max<std::size_t>(32, (16u << 20) / size);
  hf::Bytes data(count * size, 0x5a);
  std::vector<hf::ByteView> views;
  for (std::size_t i = 0; i < count; ++i) views.push_back({data.data() + i * size, size});
  std::vector<hf::Digest> out(count);
  for (auto _ : st) be->hash_many(algo, views, out.data());
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * data.size()));
}

// Merkle tree layers: 64-byte messages back to back through the backend's 64-byte path.
// Bytes are message bytes; each message is two compressions (its block and the padding).
// Devices (sha256_pairs/opencl:0, cuda:0) include the copies to and from the device.
void BM_Pairs(benchmark::State& st, const char* backend) {
  if (std::string_view(backend).find(':') != std::string_view::npos) hf::Engine::instance().probe_devices();
  hf::Backend* be = hf::find_backend(backend);
  if (!be || !be->has_pairs()) {
    st.SkipWithError("backend not usable on this machine");
    return;
  }
  const std::size_t n = (16u << 20) / 64;
  hf::Bytes in(64 * n, 0x5a), out(32 * n);
  for (auto _ : st) be->sha256_pairs(in.data(), n, out.data());
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * in.size()));
}

void BM_OpenSSL(benchmark::State& st, const EVP_MD* md, std::size_t size) {
  hf::Bytes buf(size, 0x5a);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : st) {
    EVP_DigestInit_ex(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, buf.data(), buf.size());
    EVP_DigestFinal_ex(ctx, out, &len);
  }
  EVP_MD_CTX_free(ctx);
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * size));
}

void register_all() {
  for (const char* b : {"avx512", "shani", "shani-sse", "avx2", "scalar"}) {
    benchmark::RegisterBenchmark((std::string("sha256d_scan/") + b).c_str(), BM_Sha256dHeaderScan, b);
    benchmark::RegisterBenchmark((std::string("sha256d_kernel/") + b).c_str(), BM_Sha256dHeaderKernel, b);
    benchmark::RegisterBenchmark((std::string("sha256d_loop/") + b).c_str(), BM_Sha256dHeaderLoop, b, false);
    benchmark::RegisterBenchmark((std::string("sha256d_loop_alt/") + b).c_str(), BM_Sha256dHeaderLoop, b, true);
    benchmark::RegisterBenchmark((std::string("sha256_1MiB/") + b).c_str(), BM_Bulk, b, hf::Algo::sha256, 1u << 20);
    benchmark::RegisterBenchmark((std::string("sha1_1MiB/") + b).c_str(), BM_Bulk, b, hf::Algo::sha1, 1u << 20);
    // Messages of a few blocks back to back (small files; BitTorrent v2's 16 KiB leaves):
    // where the driver's work per message shows.
    benchmark::RegisterBenchmark((std::string("sha256_16KiB/") + b).c_str(), BM_Bulk, b, hf::Algo::sha256, 16384);
    benchmark::RegisterBenchmark((std::string("sha256_4KiB/") + b).c_str(), BM_Bulk, b, hf::Algo::sha256, 4096);
    benchmark::RegisterBenchmark((std::string("sha256_64B/") + b).c_str(), BM_Bulk, b, hf::Algo::sha256, 64);
    benchmark::RegisterBenchmark((std::string("sha256_pairs/") + b).c_str(), BM_Pairs, b);
  }
  // A device computes on its own threads: wall time, not the calling thread's CPU time.
  for (const char* d : {"opencl:0", "cuda:0"})
    benchmark::RegisterBenchmark((std::string("sha256_pairs/") + d).c_str(), BM_Pairs, d)->UseRealTime();
  benchmark::RegisterBenchmark("openssl_sha256_16KiB", BM_OpenSSL, EVP_sha256(), 16384);
  benchmark::RegisterBenchmark("openssl_sha256_1MiB", BM_OpenSSL, EVP_sha256(), 1u << 20);
  benchmark::RegisterBenchmark("openssl_sha1_1MiB", BM_OpenSSL, EVP_sha1(), 1u << 20);
  benchmark::RegisterBenchmark("openssl_sha256_64B", BM_OpenSSL, EVP_sha256(), 64);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Which build of each kernel the backends timed and kept in this process (shani's SHA-256
  // schedule, its header loop): the figures above ran on these.
  for (const char* b : {"avx512", "shani", "shani-sse", "avx2"})
    if (hf::Backend* be = hf::find_backend(b)) std::fprintf(stderr, "%s: %s\n", b, be->description().c_str());
}

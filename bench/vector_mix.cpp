// What bounds the multi-buffer SHA-256 and SHA-1 kernels, and how near each CPU kernel runs
// to it, in cycles per 64-byte block (issue 19, part 3).
//
// The bound: a hand-written loop of the avx512 kernel's instructions in the kernel's numbers
// a 16-lane block (counted from its disassembly: SHA-256 600 vpaddd, 576 vprold, 352
// vpternlogd, 96 vpsrld; SHA-1 325 vpaddd, 224 vprold, 144 vpternlogd, 64 vpxord), spread as
// the rounds spread them, with no dependency an instruction waits on: what the vector pipes
// issue when nothing waits. The "loading" cases add loading the next block's words as the
// kernels do (48 16-byte inserts, 32 unpacks, 16 byte swaps, 16 prefetches, 16 stores and
// reloads a block), and "loading_moves" the register copies clang's code has as well.
//
// The kernels: each CPU backend's multi-buffer block function called directly (no driver),
// one message a lane, on messages that stay in L1 and on 1 MiB messages; cycles a block a
// lane at the clock measured in the same process (bench/cycle_clock.hpp). The 1 MiB messages
// lie back to back, as a file's pieces do, so every lane's block falls in the same cache set
// (sixteen lines in eight ways, in L1 and in L2); 1MiB_apart puts 64 more bytes between the
// lanes' messages, which shows what that aliasing costs. sha256_alt is a
// table's second SHA-256 build (shani: sigma0 on the vector pipes instead of sha256msg1); the
// SHA-NI bound itself is hf_shani_mix's.
//
// Run: build/bench/hf_vector_mix (figures in bench/results/ with the CPU model).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu/kernels.hpp"
#include "cpu_features.hpp"
#include "cycle_clock.hpp"
#include "has_features.hpp"

#if defined(__x86_64__)

namespace {

using hf::bench::clock_ghz;
using hf::bench::thread_seconds;

// Register roles: zmm0 and zmm1 are sources only; every instruction writes one of zmm2-15 in
// rotation, so a destination is rewritten 10 or more instructions later and vpternlogd's
// read of its destination never waits. %0 points at a 4 KiB scratch area (stores, reloads,
// broadcasts, the prefetched and loaded message).
#define ADD(d) "vpaddd %%zmm0, %%zmm1, %%zmm" #d "\n\t"
#define ROT(d) "vprold $7, %%zmm0, %%zmm" #d "\n\t"
#define SHR(d) "vpsrld $3, %%zmm1, %%zmm" #d "\n\t"
#define TERN(d) "vpternlogd $0x96, %%zmm0, %%zmm1, %%zmm" #d "\n\t"
#define XOR(d) "vpxord %%zmm0, %%zmm1, %%zmm" #d "\n\t"
#define INSERT(d, off) "vinserti32x4 $1, " #off "(%0), %%zmm0, %%zmm" #d "\n\t"
#define UNPK(d) "vpunpckldq %%zmm0, %%zmm1, %%zmm" #d "\n\t"
#define PSHUFB(d) "vpshufb %%zmm0, %%zmm1, %%zmm" #d "\n\t"
#define MOV(d) "vmovdqa64 %%zmm0, %%zmm" #d "\n\t"
#define STORE(d, off) "vmovdqu64 %%zmm" #d ", " #off "(%0)\n\t"
#define LOAD(d, off) "vmovdqu64 " #off "(%0), %%zmm" #d "\n\t"
#define PREFETCH(off) "prefetcht0 " #off "(%0)\n\t"

// SHA-256, a sixteenth of a block: four rounds (6 rotates, 4 ternary logic, 7 adds each:
// h + K + W, ch, Σ1, d + t1, Σ0 + maj, the new a, and K + W) and three schedule words (4
// rotates, 2 shifts, 2 ternary logic, 3 adds each).
#define S256_ROUND                                                                                                   \
  ROT(2)                                                                                                             \
  ROT(3) ROT(4) TERN(5) ROT(6) ROT(7) ROT(8) TERN(9) ADD(10) TERN(11) TERN(12) ADD(13) ADD(14) ADD(15) ADD(2) ADD(3) \
      ADD(4)
#define S256_SCHED ROT(5) ROT(6) SHR(7) TERN(8) ROT(9) ROT(10) SHR(11) TERN(12) ADD(13) ADD(14) ADD(15)
#define S256_SIXTEENTH(extra) S256_ROUND S256_SCHED extra S256_ROUND S256_SCHED S256_ROUND S256_SCHED S256_ROUND
#define S256_QUARTER(extra) S256_SIXTEENTH(extra) S256_SIXTEENTH(extra) S256_SIXTEENTH(extra) S256_SIXTEENTH(extra)
#define S256_BLOCK(extra) \
  S256_QUARTER(extra)     \
  S256_QUARTER(extra) S256_QUARTER(extra) S256_QUARTER(extra) ADD(2) ADD(3) ADD(4) ADD(5) ADD(6) ADD(7) ADD(8) ADD(9)

// SHA-1, a sixteenth of a block: five rounds (4 adds, 2 rotates, 1 ternary logic each: e +
// K + W + rotl5(a) + f, rotl30(b)) and four schedule words (a ternary logic, an xor and a
// rotate each).
#define S1_ROUND ADD(2) ROT(3) TERN(4) ADD(5) ADD(6) ROT(7) ADD(8)
#define S1_SCHED TERN(9) XOR(10) ROT(11)
#define S1_SIXTEENTH(extra) S1_ROUND S1_SCHED S1_ROUND extra S1_SCHED S1_ROUND S1_SCHED S1_ROUND S1_SCHED S1_ROUND
#define S1_QUARTER(extra) S1_SIXTEENTH(extra) S1_SIXTEENTH(extra) S1_SIXTEENTH(extra) S1_SIXTEENTH(extra)
#define S1_BLOCK(extra) \
  S1_QUARTER(extra) S1_QUARTER(extra) S1_QUARTER(extra) S1_QUARTER(extra) ADD(2) ADD(3) ADD(4) ADD(5) ADD(6)

// Loading the next block's words, a sixteenth of it (the kernels' load_quarter: 48 inserts of
// 16 bytes, 32 unpacks and 16 byte swaps a block), with its prefetch, the store of the
// transposed word and its reload in the next block.
#define LOADING \
  INSERT(12, 1024) INSERT(13, 1040) INSERT(14, 1056) UNPK(15) UNPK(2) PSHUFB(3) PREFETCH(2048) STORE(4, 0) LOAD(5, 64)
#define NOTHING
// Register moves, as the kernels' code has them a block: clang copies a ternary-logic input
// that stays live (SHA-1 60 a block, SHA-256 138).
#define MOVES4 MOV(6) MOV(7) MOV(8) MOV(9)
#define LOADING_MOVES4 LOADING MOVES4
#define LOADING_MOVES8 LOADING MOVES4 MOV(10) MOV(11) MOV(12) MOV(13) MOV(14)

#define CLOBBERS                                                                                               \
  "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", \
      "xmm15", "memory"

bool has_avx512(benchmark::State& st) {
  return hf::bench::has_features(st, hf::CpuFeature::avx512f | hf::CpuFeature::avx512vl | hf::CpuFeature::avx512bw,
                                 "AVX-512");
}

// Runs body (one 16-lane block's instructions) and reports cycles a 16-lane block and a
// lane's block at the clock measured in the same process.
template <typename Body>
void run_mix(benchmark::State& st, Body body) {
  if (!has_avx512(st)) return;
  const double ghz = clock_ghz();
  alignas(64) static unsigned char scratch[4096];
  unsigned char* p = scratch;
  asm volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1" ::: "xmm0", "xmm1");
  long blocks = 0;
  const double t0 = thread_seconds();
  for (auto _ : st) {
    for (int i = 0; i < 16; ++i) body(p);
    blocks += 16;
  }
  const double cycles = (thread_seconds() - t0) * ghz * 1e9 / static_cast<double>(blocks);
  asm volatile("vzeroupper" ::: "memory");
  st.counters["cycles_16_lanes"] = cycles;
  st.counters["cycles_per_block"] = cycles / 16;
  st.counters["GHz"] = ghz;
  st.SetItemsProcessed(blocks * 16);
}

void BM_mix_sha256(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S256_BLOCK(NOTHING)::"r"(p) : CLOBBERS); });
}
void BM_mix_sha256_loading(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S256_BLOCK(LOADING)::"r"(p) : CLOBBERS); });
}
void BM_mix_sha256_moves(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S256_BLOCK(LOADING_MOVES8)::"r"(p) : CLOBBERS); });
}
void BM_mix_sha1(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S1_BLOCK(NOTHING)::"r"(p) : CLOBBERS); });
}
void BM_mix_sha1_loading(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S1_BLOCK(LOADING)::"r"(p) : CLOBBERS); });
}
void BM_mix_sha1_moves(benchmark::State& st) {
  run_mix(st, [](unsigned char* p) { asm volatile(S1_BLOCK(LOADING_MOVES4)::"r"(p) : CLOBBERS); });
}

// Single instructions, to say which resource a mix is short of: a dependent chain gives the
// latency (cycles an instruction), independent ones the throughput, and two kinds mixed
// whether they share pipes (1 rotate beside 1 add per cycle: separate pipes; beside
// vpternlogd, not). Measured on a Zen 4 EPYC: vprold on zmm has a latency of 2 and issues
// one a cycle, so SHA-1's chain (rotl5(a), then an add) is 3 cycles a round there.
template <int Ops, typename Body>
void run_ops(benchmark::State& st, Body body) {
  if (!has_avx512(st)) return;
  const double ghz = clock_ghz();
  asm volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1" ::: "xmm0", "xmm1");
  long n = 0;
  const double t0 = thread_seconds();
  for (auto _ : st) {
    for (int i = 0; i < 16; ++i) body();
    n += 16L * Ops;
  }
  const double cycles = (thread_seconds() - t0) * ghz * 1e9 / static_cast<double>(n);
  asm volatile("vzeroupper" ::: "memory");
  st.counters["cycles_per_op"] = cycles;
  st.counters["GHz"] = ghz;
}
#define X4(x) x x x x
#define X16(x) X4(x) X4(x) X4(x) X4(x)
#define ROT_CHAIN "vprold $5, %%zmm2, %%zmm2\n\t"
#define ADD_CHAIN "vpaddd %%zmm1, %%zmm2, %%zmm2\n\t"
#define ROTS ROT(2) ROT(3) ROT(4) ROT(5)
#define ADDS ADD(6) ADD(7) ADD(8) ADD(9)
#define TERNS TERN(10) TERN(11) TERN(12) TERN(13)
void BM_op_rot_latency(benchmark::State& st) {
  run_ops<64>(st, [] { asm volatile(X16(ROT_CHAIN ROT_CHAIN ROT_CHAIN ROT_CHAIN)::: "xmm2"); });
}
void BM_op_add_latency(benchmark::State& st) {
  run_ops<64>(st, [] { asm volatile(X16(ADD_CHAIN ADD_CHAIN ADD_CHAIN ADD_CHAIN)::: "xmm2"); });
}
void BM_op_rot(benchmark::State& st) {
  run_ops<64>(st, [] { asm volatile(X16(ROTS)::: "xmm2", "xmm3", "xmm4", "xmm5"); });
}
void BM_op_add(benchmark::State& st) {
  run_ops<64>(st, [] { asm volatile(X16(ADDS)::: "xmm6", "xmm7", "xmm8", "xmm9"); });
}
void BM_op_tern(benchmark::State& st) {
  run_ops<64>(st, [] { asm volatile(X16(TERNS)::: "xmm10", "xmm11", "xmm12", "xmm13"); });
}
void BM_op_rot_add(benchmark::State& st) {
  run_ops<128>(st, [] {
    asm volatile(X16(ROTS ADDS)::: "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9");
  });
}
void BM_op_rot_tern(benchmark::State& st) {
  run_ops<128>(st, [] {
    asm volatile(X16(ROTS TERNS)::: "xmm2", "xmm3", "xmm4", "xmm5", "xmm10", "xmm11", "xmm12", "xmm13");
  });
}

// A backend's multi-buffer block function, one message a lane of `bytes` each, called
// directly; the messages of all lanes are one buffer. L1-resident: 1 KiB a lane.
struct KernelCase {
  const char* backend;
  hf::CpuFeatureSet needs;
  const hf::cpu::KernelTable& (*table)();
};

// Which of a table's block functions: SHA-256, SHA-1, or the SHA-256 second build
// (sha256_blocks_alt: shani's sigma0 on the vector pipes).
enum class Fn { sha256, sha1, sha256_alt };

void BM_kernel(benchmark::State& st, KernelCase kc, Fn which, std::size_t bytes, std::size_t gap) {
  const std::string missing = hf::cpu_features().missing(kc.needs);
  if (!missing.empty()) {
    st.SkipWithError(("needs " + missing).c_str());
    return;
  }
  const hf::cpu::KernelTable& kt = kc.table();
  const double ghz = clock_ghz();
  const unsigned lanes = kt.lanes;
  std::vector<std::uint8_t> data(lanes * (bytes + gap) + 64, 0x5a);
  const std::uint8_t* ptrs[16];
  for (unsigned l = 0; l < lanes; ++l) ptrs[l] = data.data() + l * (bytes + gap);
  alignas(64) std::uint32_t state[8 * 16] = {};
  const std::size_t nblocks = bytes / 64;
  auto fn = which == Fn::sha1 ? kt.sha1_blocks : which == Fn::sha256 ? kt.sha256_blocks : kt.sha256_blocks_alt;
  long blocks = 0;
  const double t0 = thread_seconds();
  for (auto _ : st) {
    fn(state, ptrs, nblocks);
    blocks += static_cast<long>(nblocks);
  }
  benchmark::DoNotOptimize(state);
  const double cycles = (thread_seconds() - t0) * ghz * 1e9 / static_cast<double>(blocks);
  st.counters["cycles_per_block"] = cycles / lanes;
  st.counters["GHz"] = ghz;
  st.SetBytesProcessed(blocks * 64 * lanes);
}

void register_all() {
  benchmark::RegisterBenchmark("mix/sha256", BM_mix_sha256);
  benchmark::RegisterBenchmark("mix/sha256_loading", BM_mix_sha256_loading);
  benchmark::RegisterBenchmark("mix/sha256_loading_moves", BM_mix_sha256_moves);
  benchmark::RegisterBenchmark("mix/sha1", BM_mix_sha1);
  benchmark::RegisterBenchmark("mix/sha1_loading", BM_mix_sha1_loading);
  benchmark::RegisterBenchmark("mix/sha1_loading_moves", BM_mix_sha1_moves);
  benchmark::RegisterBenchmark("op/vprold_latency", BM_op_rot_latency);
  benchmark::RegisterBenchmark("op/vpaddd_latency", BM_op_add_latency);
  benchmark::RegisterBenchmark("op/vprold", BM_op_rot);
  benchmark::RegisterBenchmark("op/vpaddd", BM_op_add);
  benchmark::RegisterBenchmark("op/vpternlogd", BM_op_tern);
  benchmark::RegisterBenchmark("op/vprold+vpaddd", BM_op_rot_add);
  benchmark::RegisterBenchmark("op/vprold+vpternlogd", BM_op_rot_tern);
  using F = hf::CpuFeature;
  const KernelCase cases[] = {
      {"avx512", F::avx512f | F::avx512vl | F::avx512bw, &hf::cpu::avx512_kernels},
      {"shani", F::sha | F::avx | F::sse41, &hf::cpu::shani_kernels},
      {"avx2", F::avx2, &hf::cpu::avx2_kernels},
  };
  for (const KernelCase& kc : cases)
    for (Fn which : {Fn::sha256, Fn::sha256_alt, Fn::sha1}) {
      // Asking for the table only where the CPU has the features: its getter is compiled for them.
      if (which == Fn::sha256_alt && (!hf::cpu_features().missing(kc.needs).empty() || !kc.table().sha256_blocks_alt))
        continue;
      const struct {
        const char* name;
        std::size_t bytes, gap;
      } sizes[] = {{"/L1", 1024, 0}, {"/1MiB", std::size_t{1} << 20, 0}, {"/1MiB_apart", std::size_t{1} << 20, 64}};
      for (const auto& sz : sizes) {
        const char* fn = which == Fn::sha1 ? "/sha1" : which == Fn::sha256 ? "/sha256" : "/sha256_alt";
        const std::string name = std::string("kernel/") + kc.backend + fn + sz.name;
        benchmark::RegisterBenchmark(name.c_str(), BM_kernel, kc, which, sz.bytes, sz.gap);
      }
    }
}

}  // namespace

#endif

int main(int argc, char** argv) {
  std::printf("cpu: %s (family %u model %u stepping %u)\n", hf::cpu_features().brand.c_str(), hf::cpu_features().family,
              hf::cpu_features().model, hf::cpu_features().stepping);
#if defined(__x86_64__)
  register_all();
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

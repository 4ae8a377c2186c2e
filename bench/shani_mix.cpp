// What bounds a SHA-NI SHA-256 or SHA-1 kernel: the throughput of its instruction mix with every
// dependency between the SHA instructions removed, in cycles per 64-byte block (32
// sha256rnds2, 12 sha256msg1, 12 sha256msg2, and the vector instructions the kernel issues (SHA-1: 20 sha1rnds4, 20
// sha1nexte, 16 sha1msg1, 16 sha1msg2, 16 xor, 4 pshufb) around them). Each case is a hand-written loop with fixed
// registers, so no spill or compiler schedule hides in the figure; the clock is measured in the same process by a chain
// of dependent adds (one a cycle on every x86 core this runs on); times are this thread's CPU time.
//
// Run: build/bench/hf_shani_mix (figures in bench/results/ with the CPU model).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "cpu_features.hpp"
#include "cycle_clock.hpp"
#include "has_features.hpp"

#if defined(__x86_64__)

namespace {

using hf::bench::clock_ghz;
using hf::bench::thread_seconds;

// Register roles: xmm0 is sha256rnds2's implicit W+K operand; xmm15 a constant source;
// sha256rnds2 chains in xmm1-8 (four rounds-pairs a chain a block: 16 cycles of latency, under
// any throughput bound); sha256msg1 chains in xmm9-10 and sha256msg2 in xmm11-13 (their
// destination is also a source); the other vector instructions write xmm14 from constants,
// so they form no chain at all.
#define R(n) "sha256rnds2 %%xmm0, %%xmm15, %%xmm" #n "\n\t"
#define M1(n) "sha256msg1 %%xmm15, %%xmm" #n "\n\t"
#define M2(n) "sha256msg2 %%xmm15, %%xmm" #n "\n\t"
#define ADD "vpaddd %%xmm15, %%xmm0, %%xmm14\n\t"          // W + K
#define HI "vpshufd $0x0e, %%xmm15, %%xmm14\n\t"           // W+K of the second round pair
#define ALIGN "vpalignr $4, %%xmm15, %%xmm0, %%xmm14\n\t"  // the W[t-7] term of the schedule
#define BSWAP "vpshufb %%xmm15, %%xmm0, %%xmm14\n\t"       // message words to big-endian
// SHA-1: sha1rnds4 chains in xmm1-5, sha1nexte in xmm7-8, sha1msg1 in xmm9-10, sha1msg2 in
// xmm11-12; the xor and pshufb write xmm14. A quarter block: 5 rounds quads, 5 nexte, 4 msg1,
// 4 msg2, 4 xor, 1 pshufb (the kernel's 20, 20, 16, 16, 16 and 4 a block).
#define R4(n) "sha1rnds4 $0, %%xmm15, %%xmm" #n "\n\t"
#define NE(n) "sha1nexte %%xmm15, %%xmm" #n "\n\t"
#define S1(n) "sha1msg1 %%xmm15, %%xmm" #n "\n\t"
#define S2(n) "sha1msg2 %%xmm15, %%xmm" #n "\n\t"
#define XOR "vpxor %%xmm15, %%xmm0, %%xmm14\n\t"
#define SHA1_ROUNDS_Q R4(1) R4(2) R4(3) R4(4) R4(5)
#define SHA1_MIX_Q \
  R4(1) NE(7) S1(9) R4(2) NE(8) S2(11) R4(3) NE(7) S1(10) R4(4) NE(8) S2(12) R4(5) NE(7) S1(9) S2(11) S1(10) S2(12)
#define SHA1_KERNEL_MIX_Q                                                                                        \
  R4(1)                                                                                                          \
  NE(7)                                                                                                          \
  S1(9)                                                                                                          \
  XOR R4(2) NE(8) S2(11) XOR R4(3) NE(7) S1(10) XOR R4(4) NE(8) S2(12) XOR R4(5) NE(7) S1(9) BSWAP S2(11) S1(10) \
      S2(12)
#define CLOBBERS \
  "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14"

// A quarter block each: 8 sha256rnds2, and in the mixes 3 sha256msg1 and 3 sha256msg2 (12 of
// each a block), 3 alignr, 1 pshufb, 4 pshufd and 7 paddd (the VEX kernel's counts a block:
// 12, 4, 16 and 28), spread evenly between the rounds.
#define ROUNDS_Q R(1) R(2) R(3) R(4) R(5) R(6) R(7) R(8)
#define SHA_MIX_Q_A R(1) M1(9) R(2) M2(11) R(3) M1(10) R(4) M2(12) R(5) M1(9) R(6) M2(13) R(7) R(8)
#define SHA_MIX_Q_B R(1) M1(10) R(2) M2(11) R(3) M1(9) R(4) M2(12) R(5) M1(10) R(6) M2(13) R(7) R(8)
#define KERNEL_MIX_Q_A                                                                                                 \
  R(1)                                                                                                                 \
  M1(9)                                                                                                                \
  ADD HI R(2) M2(11) ALIGN ADD R(3) M1(10) ADD HI R(4) M2(12) ALIGN ADD R(5) M1(9) ADD HI R(6) M2(13) ALIGN BSWAP R(7) \
      ADD HI R(8) ADD
#define KERNEL_MIX_Q_B                                                                                                 \
  R(1)                                                                                                                 \
  M1(10)                                                                                                               \
  ADD HI R(2) M2(11) ALIGN ADD R(3) M1(9) ADD HI R(4) M2(12) ALIGN ADD R(5) M1(10) ADD HI R(6) M2(13) ALIGN BSWAP R(7) \
      ADD HI R(8) ADD
#define VECTOR_Q ADD HI ALIGN ADD ADD HI ALIGN ADD ADD HI ALIGN BSWAP ADD HI ADD
#define SCHEDULE_Q M1(9) M2(11) M1(10) M2(12) M1(9) M2(13) ALIGN ALIGN ALIGN BSWAP

bool usable(benchmark::State& st) {
  return hf::bench::has_features(st, hf::CpuFeature::sha | hf::CpuFeature::avx, "SHA-NI and AVX");
}

// Runs body (one block's worth of instructions, blocks_per_call blocks) and reports cycles
// a block at the clock measured above.
template <typename Body>
void run_blocks(benchmark::State& st, Body body, double blocks_per_call = 1.0) {
  if (!usable(st)) return;
  const double ghz = clock_ghz();
  asm volatile("vpxor %%xmm0, %%xmm0, %%xmm0\n\tvpcmpeqd %%xmm15, %%xmm15, %%xmm15" ::: "xmm0", "xmm15");
  long calls = 0;
  const double t0 = thread_seconds();
  for (auto _ : st) {
    for (int i = 0; i < 64; ++i) body();
    calls += 64;
  }
  const double s = thread_seconds() - t0;
  st.counters["cycles_per_block"] = s * ghz * 1e9 / (static_cast<double>(calls) * blocks_per_call);
  st.counters["GHz"] = ghz;
  st.SetItemsProcessed(static_cast<long>(static_cast<double>(calls) * blocks_per_call));
}

// 32 sha256rnds2 in eight independent chains: the instruction's own throughput.
void BM_rnds2_only(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(ROUNDS_Q ROUNDS_Q ROUNDS_Q ROUNDS_Q ::: CLOBBERS); });
}
// 32 sha256rnds2 in one chain: its latency, what a single-stream kernel pays.
void BM_rnds2_one_chain(benchmark::State& st) {
  run_blocks(st, [] {
    asm volatile(R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1)
                     R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1) R(1)::
                         : CLOBBERS);
  });
}
// The SHA instructions of a block: do sha256msg1/msg2 take cycles from sha256rnds2?
void BM_sha_mix(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(SHA_MIX_Q_A SHA_MIX_Q_B SHA_MIX_Q_A SHA_MIX_Q_B ::: CLOBBERS); });
}
// The schedule's instructions alone (SHA and vector), without rounds.
void BM_schedule_only(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(SCHEDULE_Q SCHEDULE_Q SCHEDULE_Q SCHEDULE_Q ::: CLOBBERS); });
}
// The vector instructions a block issues besides the SHA ones, alone.
void BM_vector_only(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(VECTOR_Q VECTOR_Q VECTOR_Q VECTOR_Q ::: CLOBBERS); });
}
// Everything a block of the multi-buffer kernel issues, with no dependency between blocks:
// the bound that kernel's cycles a block are compared with.
void BM_kernel_mix(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(KERNEL_MIX_Q_A KERNEL_MIX_Q_B KERNEL_MIX_Q_A KERNEL_MIX_Q_B ::: CLOBBERS); });
}

// 32 sha256rnds2 (eight chains) with one other instruction after each: the cycles a block
// over rnds2_only are what 32 of that instruction take from the SHA unit's issue slots (or
// from the front end). Each writes xmm14 from constants, or loads or stores the stack, so it
// forms no chain; sha256msg1 and msg2 rotate over two and three destinations so their own
// chains stay short.
#define PAIRS_Q(a, b, c) R(1) a R(2) b R(3) c R(4) a R(5) b R(6) c R(7) a R(8) b
#define PAIRS_CASE(name, a, b, c)                                                                             \
  void BM_rnds2_with_##name(benchmark::State& st) {                                                           \
    alignas(16) unsigned char buf[64] = {};                                                                   \
    unsigned char* p = buf;                                                                                   \
    run_blocks(st, [p] {                                                                                      \
      asm volatile(PAIRS_Q(a, b, c) PAIRS_Q(c, a, b) PAIRS_Q(b, c, a) PAIRS_Q(a, b, c)::"r"(p) : "memory", \
                   CLOBBERS);                                                                                 \
    });                                                                                                       \
  }                                                                                                           \
  BENCHMARK(BM_rnds2_with_##name);
#define PAIRS_SAME(name, op) PAIRS_CASE(name, op, op, op)
PAIRS_SAME(paddd, ADD)
PAIRS_SAME(pshufd, HI)
PAIRS_SAME(palignr, ALIGN)
PAIRS_SAME(pshufb, BSWAP)
PAIRS_SAME(punpckhqdq, "vpunpckhqdq %%xmm15, %%xmm0, %%xmm14\n\t")
PAIRS_SAME(pblendw, "vpblendw $0xf0, %%xmm15, %%xmm0, %%xmm14\n\t")
PAIRS_SAME(movdqa_reg, "vmovdqa %%xmm15, %%xmm14\n\t")
PAIRS_SAME(load16, "vmovdqu 8(%0), %%xmm14\n\t")
PAIRS_SAME(load8, "vmovq 8(%0), %%xmm14\n\t")
PAIRS_SAME(paddd_load, "vpaddd 16(%0), %%xmm15, %%xmm14\n\t")
PAIRS_SAME(store16, "vmovdqa %%xmm15, 32(%0)\n\t")
PAIRS_CASE(sha256msg1, M1(9), M1(10), M1(9))
PAIRS_CASE(sha256msg2, M2(11), M2(12), M2(13))

// ---- The kernel with its schedule a block ahead (sha256_blocks_ahead), memory traffic included ----
// That kernel keeps W+K and the schedule ring in memory (four streams' states fill half of the
// 16 registers the SHA instructions can name), so a block also issues about 88 vector loads
// and 34 stores (counted in its disassembly, per block of one stream: 16 W+K loads, 16 8-byte
// upper-pair loads, 36 ring words, 16 K, 4 message loads; 32 ring and W+K stores, two state
// spills). On the Zen 4 EPYC sha256msg2 and the vector loads compete: 12 msg2 take 24 cycles
// alone, 88 loads 44-45, both together 55-56 (general-register loads beside msg2 cost it
// nothing), so this mix needs 51-53 cycles a block where the register-only one needs 44.
// AHEAD_Q is a quarter block of it; loads and stores use the buffer at %0 (loads below 128,
// stores above, so nothing forwards).
#define LDWK "vmovdqa (%0), %%xmm0\n\t"    // W+K for the first rnds2 of a pair
#define LDHI "vmovq 8(%0), %%xmm0\n\t"     // its upper pair for the second
#define LDW "vmovdqa 16(%0), %%xmm14\n\t"  // W[t-16] into msg1's destination
#define M1M(n) "sha256msg1 32(%0), %%xmm" #n "\n\t"
#define ALIGNM "vpalignr $4, 48(%0), %%xmm0, %%xmm14\n\t"
#define ADDM "vpaddd 64(%0), %%xmm15, %%xmm14\n\t"  // + K
#define LDMSG "vmovdqu 80(%0), %%xmm14\n\t"
#define ST(o) "vmovdqa %%xmm15, " #o "(%0)\n\t"
#define AHEAD_Q                                                                                                   \
  LDWK R(1) LDHI R(2) LDWK R(3) LDHI R(4) LDW M1M(9) ALIGNM ADD M2(11) ST(128) ADDM ST(144) LDWK R(5) LDHI R(6)   \
      LDWK R(7) LDHI R(8) LDW M1M(10) ALIGNM ADD M2(12) ST(160) ADDM ST(176) LDW M1M(9) ALIGNM ADD M2(13) ST(192) \
          ADDM ST(208) LDMSG BSWAP ST(224) ADDM ST(240)
#define LOADS8 LDW LDW LDW LDW LDW LDW LDW LDW
#define LOADS22 LOADS8 LOADS8 LDW LDW LDW LDW LDW LDW

// Runs an asm body that reads and writes a 256-byte buffer.
#define MEM_CASE(name, body)                                                          \
  void BM_##name(benchmark::State& st) {                                              \
    alignas(64) unsigned char buf[256] = {};                                          \
    unsigned char* p = buf;                                                           \
    run_blocks(st, [p] { asm volatile(body::"r"(p) : "memory", "xmm0", CLOBBERS); }); \
  }                                                                                   \
  BENCHMARK(BM_##name);
// Every instruction of a block of the ahead kernel, no dependency between blocks: its bound.
MEM_CASE(ahead_kernel_mix, AHEAD_Q AHEAD_Q AHEAD_Q AHEAD_Q)
// The pieces: 12 sha256msg2 (five chains, so their latency of 8 hides), 88 loads, both.
#define M2X12 M2(9) M2(10) M2(11) M2(12) M2(13) M2(9) M2(10) M2(11) M2(12) M2(13) M2(9) M2(10)
MEM_CASE(msg2_only, M2X12)
MEM_CASE(loads_only, LOADS22 LOADS22 LOADS22 LOADS22)
MEM_CASE(msg2_with_loads,
         M2(9) LOADS22 M2(10) M2(11) M2(12) LOADS22 M2(13) M2(9) M2(10) LOADS22 M2(11) M2(12) M2(13) LOADS22)

// SHA-1: sha1rnds4 alone (20 a block), the SHA-1 instructions alone, and the kernel's mix.
void BM_sha1_rnds4_only(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(SHA1_ROUNDS_Q SHA1_ROUNDS_Q SHA1_ROUNDS_Q SHA1_ROUNDS_Q ::: CLOBBERS); });
}
void BM_sha1_sha_mix(benchmark::State& st) {
  run_blocks(st, [] { asm volatile(SHA1_MIX_Q SHA1_MIX_Q SHA1_MIX_Q SHA1_MIX_Q ::: CLOBBERS); });
}
void BM_sha1_kernel_mix(benchmark::State& st) {
  run_blocks(st, [] {
    asm volatile(SHA1_KERNEL_MIX_Q SHA1_KERNEL_MIX_Q SHA1_KERNEL_MIX_Q SHA1_KERNEL_MIX_Q ::: CLOBBERS);
  });
}

// ---- SHA-NI beside AVX-512 in one thread ----
// Can one core run SHA-NI lanes and 16-lane zmm lanes at once, each on the issue slots the
// other leaves? The SHA instructions exist only in legacy SSE encoding, which on Intel runs
// hundreds of times slower while any of ymm/zmm 0-15 has a dirty upper half (measured 445x on
// a Xeon of family 6 model 167); zmm16-31 have no legacy-SSE alias and leave that state
// clean, so the zmm work here stays in them. ZMIX8 is eight independent operations in the
// avx512 header loop's proportions (adds, rotates and shifts, three-input logic: 1076, 1182
// and 636 per 16 nonces), each writing one of zmm18-29 from the constants in zmm16/17.
#define ZA(d) "vpaddd %%zmm16, %%zmm17, %%zmm" #d "\n\t"
#define ZR(d) "vprold $7, %%zmm16, %%zmm" #d "\n\t"
#define ZS(d) "vpsrld $3, %%zmm16, %%zmm" #d "\n\t"
#define ZT(d) "vpternlogd $0x96, %%zmm16, %%zmm17, %%zmm" #d "\n\t"
#define ZMIX8 ZA(18) ZR(19) ZT(20) ZA(21) ZR(22) ZA(23) ZS(24) ZT(25)
#define ZMIX8B ZA(26) ZR(27) ZT(28) ZA(29) ZR(18) ZA(19) ZS(20) ZT(21)
#define ZMIX16 ZMIX8 ZMIX8B
// No clobbers: this file is built without AVX-512, so the compiler keeps nothing in zmm16-31
// (nor may it name them in a clobber list).

bool usable_zmm(benchmark::State& st) {
  return hf::bench::has_features(st, hf::CpuFeature::sha | hf::CpuFeature::avx | hf::CpuFeature::avx512f,
                                 "SHA-NI and AVX-512");
}
void zero_zmm_sources() {
  asm volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpternlogd $0xff, %%zmm17, %%zmm17, %%zmm17" :::);
}

// 128 zmm operations: their own throughput, in cycles an operation.
void BM_zmm_only(benchmark::State& st) {
  if (!usable_zmm(st)) return;
  zero_zmm_sources();
  run_blocks(
      st,
      [] {
        asm volatile(ZMIX16 ZMIX16 ZMIX16 ZMIX16 ZMIX16 ZMIX16 ZMIX16 ZMIX16 :::);
      },
      128.0);
  st.counters["cycles_per_zmm_op"] = st.counters["cycles_per_block"];
  st.counters.erase("cycles_per_block");
}
// The kernel mix of one block (BM_kernel_mix) with n zmm operations beside it (the name's
// number). A hybrid of SHA-NI and zmm lanes would gain where the two kinds of work take less
// time together than apart: (kernel_mix + n x zmm_only) / kernel_mix_zmm/n, from the same run,
// over 1. On a Xeon of family 6 model 167 it is 0.98-1.03 (bench/results/2026-12-05-xeon-sha-beside-zmm.md):
// each sha256rnds2 and each vector instruction around it takes a slot on the two ports the zmm
// work needs, so a SHA-NI nonce costs as many slots as a zmm nonce.
//
// Groups = n / 16: that many ZMIX16, spread evenly between the four quarters of the block.
template <int Groups>
void kernel_mix_zmm_block() {
#define QA KERNEL_MIX_Q_A
#define QB KERNEL_MIX_Q_B
  if constexpr (Groups == 0)
    asm volatile(QA QB QA QB ::: CLOBBERS);
  else if constexpr (Groups == 2)
    asm volatile(QA ZMIX16 QB QA ZMIX16 QB ::: CLOBBERS);
  else if constexpr (Groups == 4)
    asm volatile(QA ZMIX16 QB ZMIX16 QA ZMIX16 QB ZMIX16 ::: CLOBBERS);
  else if constexpr (Groups == 8)
    asm volatile(QA ZMIX16 ZMIX16 QB ZMIX16 ZMIX16 QA ZMIX16 ZMIX16 QB ZMIX16 ZMIX16 ::: CLOBBERS);
  else
    static_assert(Groups == 0, "0, 32, 64 or 128 zmm operations a block");
#undef QA
#undef QB
}
template <int Groups>
void BM_kernel_mix_zmm(benchmark::State& st) {
  if (!usable_zmm(st)) return;
  zero_zmm_sources();
  run_blocks(st, [] { kernel_mix_zmm_block<Groups>(); });
}
BENCHMARK(BM_zmm_only);
BENCHMARK(BM_kernel_mix_zmm<0>)->Name("BM_kernel_mix_zmm/0");
BENCHMARK(BM_kernel_mix_zmm<2>)->Name("BM_kernel_mix_zmm/32");
BENCHMARK(BM_kernel_mix_zmm<4>)->Name("BM_kernel_mix_zmm/64");
BENCHMARK(BM_kernel_mix_zmm<8>)->Name("BM_kernel_mix_zmm/128");

BENCHMARK(BM_rnds2_only);
BENCHMARK(BM_rnds2_one_chain);
BENCHMARK(BM_sha_mix);
BENCHMARK(BM_schedule_only);
BENCHMARK(BM_vector_only);
BENCHMARK(BM_kernel_mix);
BENCHMARK(BM_sha1_rnds4_only);
BENCHMARK(BM_sha1_sha_mix);
BENCHMARK(BM_sha1_kernel_mix);

}  // namespace

#endif

int main(int argc, char** argv) {
  std::printf("cpu: %s (family %u model %u stepping %u)\n", hf::cpu_features().brand.c_str(), hf::cpu_features().family,
              hf::cpu_features().model, hf::cpu_features().stepping);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

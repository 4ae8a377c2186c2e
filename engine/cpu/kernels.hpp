// The narrow, plain-data contract between the CPU drivers and the per-ISA kernel files.
//
// Each instruction set (scalar, shani, avx2, avx512) lives in its own translation unit
// compiled with its own flags and exports one KernelTable. Only plain data crosses this
// boundary (no std:: containers), so no inline library code compiled with wide-vector flags
// can be merged by the linker into code that runs on a CPU without them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hf::cpu {

// How one 64-byte block of a nonce search is compressed. Message words that do not depend
// on the nonce are folded into constants once per job; rounds before the first
// nonce-dependent word are run once per job when the chaining input is constant.
enum BlockFlag : std::uint8_t {
  kWConst = 1,   // W[t] is the same for every nonce: kw[t] holds K[t] + W[t]
  kVar2 = 2,     // W[t] needs ssig1(W[t-2]) computed per nonce
  kVar7 = 4,     // ... W[t-7]
  kVar15 = 8,    // ... ssig0(W[t-15])
  kVar16 = 16,   // ... W[t-16]
  kHasConst = 32 // cpart[t] is non-zero
};

struct BlockPlan {
  std::uint32_t prestate[8];  // state before round first_round, in the slot order a kernel
                              // uses at that round (see slot_of in search_plan.cpp)
  std::uint32_t kw[64];       // K[t] + W[t] where W[t] is constant
  std::uint32_t cpart[64];    // t >= 16: sum of the constant terms of W[t]'s recurrence
  std::uint8_t flags[64];
  std::uint8_t first_round;   // rounds before this one are precomputed into prestate
  std::uint8_t const_chain;   // 1: chaining input is constant (block 0: the midstate)
};

inline constexpr int kMaxAffectedWords = 6;  // a 20-byte field spans at most 6 words

struct SearchPlan {
  std::uint32_t midstate[8];       // state after the blocks before the nonce's first block
  const BlockPlan* blocks;         // blocks from the nonce's first block to the end
  std::uint32_t nblocks;
  BlockPlan second;                // sha256d: the second hash of the 32-byte digest
  std::uint8_t aw_index[kMaxAffectedWords];  // word index (0..31) in blocks[0..1]
  std::uint8_t naw;                // number of nonce-dependent words
  std::uint8_t double_hash;        // sha256d
  std::uint8_t bitcoin_order;      // key word = bswap(H7), known after round 61
};

// The first 32-bit word of a digest's comparison key: H0 in digest order, bswap(H7) in
// Bitcoin's order. Kernels report lanes whose key word is <= a threshold; the driver
// then checks those lanes in full on the scalar reference path.
struct KernelTable {
  const char* name;
  unsigned lanes;
  // Multi-buffer compression: state is [word][lane] (8 or 5 words x lanes); ptrs[l] points at
  // lane l's first block and advances 64 bytes per block, for nblocks blocks.
  void (*sha256_blocks)(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks);
  void (*sha1_blocks)(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks);
  // Single-stream compression for streaming hashers (nullptr: not offered).
  void (*sha256_single)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t nblocks);
  void (*sha1_single)(std::uint32_t state[5], const std::uint8_t* blocks, std::size_t nblocks);
  // One batch of `lanes` nonces: aw holds the nonce-dependent words, [k][lane] for
  // k < plan.naw. Returns a bit mask of lanes whose key word is <= threshold.
  std::uint32_t (*search_batch)(const SearchPlan& plan, const std::uint32_t* aw, std::uint32_t threshold);
};

const KernelTable& scalar_kernels();
const KernelTable& shani_kernels();
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();

}  // namespace hf::cpu

// The narrow, plain-data contract between the CPU drivers and the per-ISA kernel files.
//
// Each instruction set (scalar, shani, avx2, avx512) lives in its own translation unit
// compiled with its own flags and exports one KernelTable (shani twice: shani.cpp with AVX's
// VEX encoding, shani_sse.cpp without, from one source, shani_kernels.inl). Only plain data crosses this
// boundary (no std:: containers), so no inline library code compiled with wide-vector flags
// can be merged by the linker into code that runs on a CPU without them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hf::cpu {

// How one 64-byte block of a nonce search is compressed. Words that do not depend on the
// nonce are fixed once per job; when the chaining input is constant too (the nonce's first
// block starts from the midstate), the rounds before the first nonce-dependent word are run
// once per job and the kernels start from prestate.
struct BlockPlan {
  std::uint32_t prestate[8];  // state before round first_round, in the slot order the
                              // kernels use at that round: variable j (a=0..h=7) in slot
                              // (j - first_round) & 7
  std::uint32_t w[16];        // the block's message words; nonce-dependent ones are zero
  std::uint32_t c[64];        // constant word t: K[t] + W[t]; varying schedule word t >= 16:
                              // the sum of its constant terms (see mb_kernels.inl)
  std::uint16_t varmask;      // bit t set: word t depends on the nonce
  std::uint8_t first_round;   // 0, 4, 8 or 12; 3 when word 3 alone varies (Bitcoin headers)
  std::uint8_t const_chain;   // 1: the chaining input is constant (prestate is valid)
};

inline constexpr int kMaxAffectedWords = 6;  // a 20-byte field spans at most 6 words

struct SearchPlan {
  std::uint32_t midstate[8];  // state after the blocks before the nonce's first block
  const BlockPlan* blocks;    // blocks from the nonce's first block to the end
  std::uint32_t nblocks;
  BlockPlan second;                          // sha256d: the second hash of the 32-byte digest
  std::uint8_t aw_index[kMaxAffectedWords];  // word index (0..31) in blocks[0..1]
  std::uint8_t naw;                          // number of nonce-dependent words
  std::uint8_t double_hash;                  // sha256d
  std::uint8_t bitcoin_order;                // key word = bswap(H7), known after round 61
  // A Bitcoin header's shape: sha256d in Bitcoin's order, one block from the midstate on, the
  // nonce a little-endian 32-bit word alone in its word 3 (so that word is bswap(nonce)).
  std::uint8_t header_scan;
};

// The first 32-bit word of a digest's comparison key: H0 in digest order, bswap(H7) in
// Bitcoin's order. Kernels report lanes whose key word is <= a threshold; the driver
// then checks those lanes in full on the scalar reference path.
struct KernelTable {
  const char* name;
  unsigned lanes;  // messages per multi-buffer call, nonces per search_batch call (at most 16)
  // Multi-buffer compression: state is [word][lane] (8 or 5 words x lanes); ptrs[l] points at
  // lane l's first block and advances 64 bytes per block, for nblocks blocks.
  void (*sha256_blocks)(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks);
  void (*sha1_blocks)(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks);
  // Single-stream compression for streaming hashers (nullptr: not offered).
  void (*sha256_single)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t nblocks);
  void (*sha1_single)(std::uint32_t state[5], const std::uint8_t* blocks, std::size_t nblocks);
  // SHA-256 of n 64-byte messages stored back to back (a Merkle tree layer: pairs of
  // digests), n a multiple of lanes; digests to out, 32 bytes each. out may be in: message i
  // is read before digest i is written, and digest i overlaps no later message.
  void (*sha256_64)(const std::uint8_t* in, std::size_t n, std::uint8_t* out);
  // One batch of `lanes` nonces: aw holds the nonce-dependent words, [k][lane] for
  // k < plan.naw. Returns a bit mask of lanes whose key word is <= threshold.
  std::uint32_t (*search_batch)(const SearchPlan& plan, const std::uint32_t* aw, std::uint32_t threshold);
  // Plans with header_scan (nullptr: not offered): nbatches batches of `lanes` nonces from
  // nonce0 in one call, nonce0 + lanes * nbatches <= 2^32. Stops after the first batch with a
  // candidate; returns the batches done and the last one's lane mask in *mask.
  std::uint32_t (*scan_headers)(const SearchPlan& plan, std::uint32_t nonce0, std::uint32_t nbatches,
                                std::uint32_t threshold, std::uint32_t* mask) = nullptr;
  // Another build of sha256_blocks, same contract, for CPUs where a different unit bounds it
  // (nullptr: none). shani's computes the schedule's sigma0 on the vector pipes instead of with
  // sha256msg1 (see shani_kernels.inl). The driver times both once on the machine and keeps
  // the faster.
  void (*sha256_blocks_alt)(std::uint32_t* state, const std::uint8_t* const* ptrs, std::size_t nblocks) = nullptr;
  // Another build of scan_headers, same contract (nullptr: none), timed against it the same
  // way. shani's runs three SHA-NI lanes and four nonces in vector lanes beside them, for cores
  // whose SHA unit leaves the vector pipes idle.
  std::uint32_t (*scan_headers_alt)(const SearchPlan& plan, std::uint32_t nonce0, std::uint32_t nbatches,
                                    std::uint32_t threshold, std::uint32_t* mask) = nullptr;
};

const KernelTable& scalar_kernels();
const KernelTable& shani_kernels();
const KernelTable& shani_sse_kernels();
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();

}  // namespace hf::cpu

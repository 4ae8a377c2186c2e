// A Stratum V1 job (the fields of mining.notify) and what a share rebuilds from it: the
// coinbase, the merkle root and the 80-byte header, exactly as Stratum defines them.
//
// Byte orders (the pool side of pooler/cpuminer and ckpool): version, nbits and ntime travel
// as big-endian hex of the u32 and sit little-endian in the header; prevhash travels as eight
// 4-byte words each byte-swapped against the header; coinb1, coinb2 and the merkle branch are
// raw bytes; the submitted nonce is big-endian hex of the u32 the header holds little-endian.
// Pure code: no sockets, no JSON.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/types.hpp"

namespace hf::mining {

using Hash32 = std::array<std::uint8_t, 32>;
using Header80 = std::array<std::uint8_t, 80>;

struct StratumJob {
  std::string id;
  Hash32 prevhash{};  // in header byte order
  Bytes coinb1, coinb2;
  std::vector<Hash32> merkle_branch;
  std::uint32_t version = 0, nbits = 0, ntime = 0;
  bool clean = false;
};

// The params of mining.notify as strings, in protocol order (clean_jobs aside).
struct NotifyFields {
  std::string job_id, prevhash, coinb1, coinb2;
  std::vector<std::string> merkle_branch;
  std::string version, nbits, ntime;
  bool clean = false;
};

// Limits that keep a hostile or broken peer from making us allocate without bound.
// A coinbase part: a standard transaction's size limit (100,000 bytes) is far above what any
// pool sends, including those whose coinbase pays hundreds of miners directly.
inline constexpr std::size_t kMaxCoinbasePart = 100'000;  // bytes of coinb1 or coinb2
inline constexpr std::size_t kMaxBranch = 32;             // a 2^32-transaction block
inline constexpr std::size_t kMaxJobId = 64;

std::optional<StratumJob> parse_notify(const NotifyFields& f, std::string* why);
NotifyFields to_notify(const StratumJob& job);

// Exactly 8 hex digits (either case) as a big-endian u32.
std::optional<std::uint32_t> parse_hex_u32(std::string_view s);
std::string hex_u32(std::uint32_t v);  // 8 lowercase digits

// prevhash between header order and Stratum's word-swapped hex.
std::string prevhash_to_stratum(const Hash32& header_order);
std::optional<Hash32> prevhash_from_stratum(std::string_view hex);

Bytes build_coinbase(const StratumJob& job, ByteView extranonce1, ByteView extranonce2);
// SHA256d(coinbase), then SHA256d(root || branch) for each branch in order.
Hash32 merkle_root(ByteView coinbase, const std::vector<Hash32>& branch);
// The branch that proves the first transaction (the coinbase) against a block's txids
// (internal byte order, coinbase first): what a pool sends with its jobs.
std::vector<Hash32> merkle_branch_for_coinbase(const std::vector<Hash32>& txids);
Header80 build_header(const StratumJob& job, const Hash32& merkle_root, std::uint32_t ntime, std::uint32_t nonce,
                      std::uint32_t version);
// SHA256d of the header (the bytes as hashed; Bitcoin shows them reversed).
Hash32 header_hash(const Header80& header);

}  // namespace hf::mining

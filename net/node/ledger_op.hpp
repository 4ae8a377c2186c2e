// Auction-ledger operations: what a client signs and a node checks before anything else.
// Pure code.
//
// An operation names its account (an Ed25519 public key), the account's next sequence
// number and the operation's fields; the account signs a canonical byte encoding of all of
// them together with the network's id, so an operation cannot be forged, replayed on another
// network, replayed on this one (the sequence number moves on) or reordered by a node. On
// the wire (the HTTP API, block bodies) it is a JSON object with hex keys and signature:
//   {"op":"transfer","account":"<64 hex>","seq":3,"to":"<64 hex>","amount":250,"sig":"<128 hex>"}
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <optional>
#include <string>
#include <string_view>

#include "net/node/ed25519.hpp"
#include "net/node/json.hpp"

namespace hf::node::ledger {

enum class OpKind : std::uint8_t {
  create_money = 1,    // administrators only: `amount` to `to` (created if new)
  transfer = 2,        // `amount` from the account to `to` (created if new)
  create_auction = 3,  // `item`, minimum bid `amount`, closing at block height `closes_at`
  bid = 4,             // `amount` on `auction`, held in escrow
  close_auction = 5,   // the owner, at or after the closing height
  cancel_auction = 6,  // the owner, before any bid
};
std::string_view op_kind_name(OpKind k);
std::optional<OpKind> parse_op_kind(std::string_view s);

inline constexpr std::size_t kMaxItemBytes = 200;
inline constexpr std::uint64_t kMaxAmount = std::uint64_t{1} << 53;  // exact in every JSON reader

using Hash = std::array<std::uint8_t, 32>;

struct Operation {
  OpKind kind = OpKind::transfer;
  PublicKey account{};
  std::uint64_t seq = 0;  // the account's operations are numbered 1, 2, 3, ...
  PublicKey to{};         // create_money, transfer
  std::uint64_t amount = 0;
  std::string item;            // create_auction
  std::uint64_t closes_at = 0;  // create_auction: a block height
  Hash auction{};              // bid, close_auction, cancel_auction: the creating operation's id
  Signature sig{};
};

// The bytes signed: a domain tag, the network id, then every field in a fixed order with
// fixed widths (the item length-prefixed). Two different operations never share them.
std::string signing_bytes(const Operation& op, std::string_view network_id);
// The operation's id: SHA-256 of its signing bytes. An auction's id is its creating operation's.
Hash op_id(const Operation& op, std::string_view network_id);

void sign_op(Operation& op, const KeyPair& key, std::string_view network_id);
bool signature_ok(const Operation& op, std::string_view network_id);

// Field rules that need no state (amounts in range, an item of 1..200 bytes, no transfer to
// oneself): empty, or the reason the operation is malformed.
std::string check_shape(const Operation& op);

// Signatures already checked, so that an operation seen in the pending pool, from a peer and
// again in a block is verified once. Keyed by the operation's id and its signature (the id
// alone would let a copy with a forged signature ride on a good one). Thread-safe; forgets
// everything when full.
class SigCache {
 public:
  explicit SigCache(std::string network_id, std::size_t capacity = 1 << 20)
      : network_(std::move(network_id)), capacity_(capacity) {}
  bool verify(const Operation& op);
  bool verify(const Operation& op, const Hash& id);  // id: op_id(op, network_id), known already
  std::uint64_t verified() const { return verified_.load(); }  // real verifications done

 private:
  std::string network_;
  std::size_t capacity_;
  std::mutex mu_;
  std::unordered_set<std::string> ok_;
  std::atomic<std::uint64_t> verified_{0};
};

Json op_to_json(const Operation& op);
// Empty with *why set to one line (unknown kind, missing or extra field, bad hex, a number
// out of range).
std::optional<Operation> op_from_json(const Json& j, std::string* why);

}  // namespace hf::node::ledger

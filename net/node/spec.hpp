// A network's chain spec: its genesis block, proof-of-work target and block scheme. Every
// node of a network loads the same file; its id (SHA-256 of the canonical JSON) tells
// networks apart. Pure code.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hashforge/target.hpp"
#include "net/node/block.hpp"
#include "net/node/json.hpp"
#include "net/node/retarget.hpp"

namespace hf::node {

// A node allowed on the network's peer links: its name and the SHA-256 (hex) of its TLS
// certificate's public key (SubjectPublicKeyInfo, DER), which peers pin.
struct NodeKey {
  std::string name;
  std::string key;
};

struct ChainSpec {
  std::string name = "tutorial";
  std::string scheme_name = "seed-json";
  std::shared_ptr<const BlockScheme> scheme;
  Key target;                        // a block's hash, read big-endian, must be <= this
  int difficulty = 2;                // leading hex zeros when the target is of that form, else -1
  Block genesis;                     // with its hash computed (the genesis is not held to the target)
  std::string id;                    // SHA-256 hex of the spec's canonical JSON
  double max_future_seconds = 7200;  // a block's timestamp may lead the node's clock by this
  BlockLimits limits;
  std::vector<NodeKey> nodes;  // empty: no peer links, only the seed's HTTP API
  // Header schemes: each block's target follows recent block times ("block_interval",
  // seconds, default 1; 0: a fixed target; "retarget_window", blocks, default 30). `target`
  // is then the easiest target a block may have.
  RetargetRule retarget;
  // The auction ledger (issue 16): present when the spec has "ledger": {"admins": [...]}.
  // Blocks then carry signed operations (net/node/ledger_op.hpp) as their transactions, and
  // each block's state_root is the ledger's state after it. Header schemes only.
  bool ledger = false;
  std::vector<std::array<std::uint8_t, 32>> admins;  // Ed25519 public keys allowed to create money

  // The name of the node holding this key, or nullptr.
  const NodeKey* node_of_key(const std::string& key_hex) const;

  Json to_json() const;
};

// The tutorial network: the seed's genesis, "seed-json", `difficulty` leading hex zeros.
ChainSpec default_spec(int difficulty = 2);
// Parses a spec file's text. Empty with *why set to one line on error.
std::optional<ChainSpec> parse_spec(std::string_view text, std::string* why);

// The target of `zeros` leading hex zeros (1..64): 2^(256 - 4 zeros) - 1.
Key target_of_zeros(int zeros);
// A target in Bitcoin's compact form (nBits), rounded down to its three-byte mantissa.
std::uint32_t compact_of(const Key& target);
// The bits a child of `parent` must carry under the spec's retarget rule, for any chain of
// entries linked by `->parent` (the node's block tree, a client's header chain): the window
// runs back from the parent (fewer blocks near the genesis, whose own bits do not count).
template <class Entry, class TimeOf, class BitsOf>
std::uint32_t bits_after(const ChainSpec& spec, const Entry* parent, TimeOf time_of, BitsOf bits_of) {
  const Entry* first = parent;
  std::uint64_t blocks = 0;
  while (blocks < spec.retarget.window && first->parent) {
    first = first->parent;
    ++blocks;
  }
  const std::uint32_t first_bits = first->parent ? bits_of(*first) : compact_of(spec.target);
  return next_bits(spec.retarget, spec.target, first_bits, time_of(*first), time_of(*parent), blocks);
}

// Leading hex zeros of a digest given as hex: does `hash_hex` meet `target`?
bool meets_target(const std::string& hash_hex, const Key& target);

}  // namespace hf::node

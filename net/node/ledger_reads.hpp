// What a ledger client believes, decided from the nodes' replies (pure code: the client
// fetches, this judges):
//  - a proven read from one node is believed when its proof leads from the entry to the
//    state root of a block whose header is on the client's most-work header chain, buried
//    by at least k blocks, with that chain's tip recent; the value shown is decoded from the
//    proven bytes, never taken from the node's rendering;
//  - a quorum read is believed at the highest block that at least f+1 nodes report k deep
//    with the same value; nodes that gave another value for that block are named.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/node/header_chain.hpp"
#include "net/node/json.hpp"

namespace hf::node::ledger {

enum class EntryKind : std::uint8_t { account, auction, escrow };

struct CheckedValue {
  bool ok = false;
  std::string why;                // !ok: what was wrong with the answer
  bool headers_short = false;     // !ok because of the client's headers (an unseen block, not
                                  // deep enough yet, an old tip): newer headers may settle it
  bool found = false;             // the entry exists (else its absence was proven / agreed)
  Json value;                     // decoded from the proven bytes (found)
  std::int64_t height = 0;
  std::string block;              // the block's hash
};

struct ProofRules {
  std::int64_t k = 6;                // confirmations: blocks on top of the answering block
  double max_tip_age_seconds = 60;   // the header chain's tip may be at most this old
  double now = 0;                    // seconds since the epoch
};

// `key` is the entry's raw key (account_key(...) etc.), `reply` a node's /api/account,
// /api/auction or /api/auction/{id}/bid/{key} body, `kind` says how to decode the value.
CheckedValue check_proven(const Json& reply, const std::string& key, EntryKind kind, const HeaderChain& headers,
                          const ProofRules& rules);

struct NodeAnswer {
  std::string node;      // its URL
  bool reachable = false;
  std::string error;     // !reachable
  Json reply;            // its /api/... body
};

struct QuorumResult {
  bool ok = false;
  std::string why;
  CheckedValue value;
  std::vector<std::string> agreed, disagreed, stale;  // node URLs
  std::string disagreement;  // what the disagreeing nodes said, for the report
};

// f = (nodes - 1) / 3 faulty nodes tolerated; a value needs f + 1 nodes.
QuorumResult quorum(const std::vector<NodeAnswer>& answers, EntryKind kind, std::int64_t k);

}  // namespace hf::node::ledger

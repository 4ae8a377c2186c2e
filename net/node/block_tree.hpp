// Every valid block a node knows, forks included, and the chain it follows: the one with
// the most work (with one target per network, the longest), ties to the first seen. Pure
// code: what changed comes back as values, and storage is the caller's business.
//
// A block is valid when its hash is the scheme's hash of its fields and meets the target,
// its parent is known, its index is the parent's plus one, its timestamp is after the
// median of the last 11 blocks and not too far ahead of the clock, its transactions have
// the seed's shape and fit the limits, and none of them is already on its chain. A block
// whose parent is unknown is an orphan, not an invalid block: its sender may know more.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/node/block.hpp"
#include "net/node/ledger_state.hpp"
#include "net/node/spec.hpp"

namespace hf::node {

struct TreeEntry {
  Block block;
  std::string text;  // json.dumps of the block in chain order (what /chain lists)
  const TreeEntry* parent = nullptr;
  std::uint64_t seq = 0;  // arrival order: ties go to the lower
  std::vector<std::string> txids;  // ledger networks: the operations' ids (hex)
  std::vector<ledger::Operation> ops;  // ledger networks: the transactions, parsed
  double work = 0;                     // from the genesis to here: sum of 2^256 / (target + 1)
  bool main = false;
  bool bad = false;  // its operations failed against the state when its branch was tried
  bool sigs_checked = false;  // every operation's signature was checked when it was added
};

enum class AddOutcome : std::uint8_t {
  extended,   // the new block is the new tip of the followed chain
  reorg,      // the followed chain switched to another branch
  side,       // stored on a branch with no more work than the followed chain
  duplicate,  // already known
  orphan,     // parent unknown: ask the sender for what it has
  invalid,    // broken: its sender may be banned
};
const char* outcome_name(AddOutcome o);

struct AddResult {
  AddOutcome outcome = AddOutcome::invalid;
  std::string reason;  // duplicate, orphan, invalid: one line
  const TreeEntry* entry = nullptr;
  std::vector<const TreeEntry*> disconnected;  // left the followed chain, old tip first
  std::vector<const TreeEntry*> connected;     // joined it, lowest first
  std::vector<Json> returned;                  // transactions of disconnected blocks not on the new chain, in chain order
  bool accepted() const {
    return outcome == AddOutcome::extended || outcome == AddOutcome::reorg || outcome == AddOutcome::side;
  }
};

// What add() learns from a block alone, with no tree: its hash checked, a ledger block's
// operations decoded with their ids and signatures checked (through the cache). Made by
// BlockTree::prepare before the caller takes the lock that guards the tree, so the costly
// part of taking a block holds no one else up.
struct PreparedBlock {
  std::string hash;  // the block it was made for
  bool hash_checked = false;
  std::string bad;   // the first operation's fault, as add() words it; empty: none
  std::vector<ledger::Operation> ops;
  std::vector<std::string> ids;
  std::string text;  // the block's chain-order text (TreeEntry::text)
  bool sigs_checked = false;  // prepare() checked every operation's signature
};

struct AddOptions {
  double now = 0;          // the node's clock (seconds since the epoch), for the future limit
  bool check_hash = true;  // false: trust the stored hash (loading the node's own database)
  bool check_time = true;  // false: skip the future limit (loading)
  bool check_ledger = true;  // false: trust signatures and state roots (loading)
  PreparedBlock* prepared = nullptr;  // from prepare() for this block (moved from); may be null
};

class BlockTree {
 public:
  explicit BlockTree(ChainSpec spec);

  // Validates `b` and stores it; see AddResult. Never throws on bad input.
  AddResult add(Block b, const AddOptions& opt);
  // add()'s checks that need only the block (see PreparedBlock). Reads nothing the tree
  // changes, so it is safe from any thread without the tree's lock.
  PreparedBlock prepare(const Block& b, const AddOptions& opt) const;
  // The checks add() makes, without storing anything.
  AddResult check(const Block& b, const AddOptions& opt) const;

  const ChainSpec& spec() const { return spec_; }
  const TreeEntry& tip() const { return *main_.back(); }
  const std::vector<const TreeEntry*>& main_chain() const { return main_; }
  const TreeEntry* find(const std::string& hash) const;
  // The median time of the last 11 blocks ending at e: a child's time must be after it.
  double median_time_past(const TreeEntry* e) const;
  // Header schemes: the compact target a child of `parent` must carry (retargeting).
  std::uint32_t expected_bits(const TreeEntry* parent) const;
  // The height of the followed-chain block holding txid, or -1.
  std::int64_t confirmed_height(const std::string& txid) const;
  std::size_t size() const { return entries_.size(); }
  // Transactions (operations) on the followed chain.
  std::size_t confirmed_count() const { return main_txids_.size(); }
  std::size_t side_blocks() const { return entries_.size() - main_.size(); }
  // Ledger networks (spec.ledger): the state after the followed chain's tip, and the
  // signature cache the pending pool shares. Null / unused otherwise.
  const ledger::LedgerState* ledger() const { return ledger_.get(); }
  const std::shared_ptr<ledger::SigCache>& sig_cache() const { return sigs_; }
  // The state root after applying `ops` on the tip as the next block; empty optional and
  // *why when one of them does not apply. The state is left as it was.
  std::optional<ledger::Hash> ledger_root_after(const std::vector<ledger::Operation>& ops, std::string* why);
  // Hashes of the followed chain from the tip back: at most `n`, every step doubling after
  // the first ten (a locator for sync).
  std::vector<std::string> locator() const;

 private:
  // On success (side), ops_out and ids_out (when given) get the block's operations (ledger
  // networks) and transaction ids, so add() need not decode or hash them again.
  AddResult check_entry(const Block& b, const AddOptions& opt, const TreeEntry** parent,
                        std::vector<ledger::Operation>* ops_out, std::vector<std::string>* ids_out) const;
  // Is any of `ids` on the chain ending at `e`?
  std::string find_repeat(const TreeEntry* e, const std::vector<std::string>& ids) const;
  // Moves the followed chain to new_tip; false (and nothing changed) when a ledger block on
  // the way fails against the state.
  bool switch_to(const TreeEntry* new_tip, AddResult* r, const AddOptions& opt);
  // Ledger networks: moves the state from the followed chain to `branch` (which starts
  // above `fork`); on a failing block puts the state back, marks it and what follows bad.
  bool move_ledger(const TreeEntry* fork, const std::vector<const TreeEntry*>& branch, const AddOptions& opt,
                   std::string* why);
  bool apply_entry(const TreeEntry* e, const AddOptions& opt, std::string* why);
  void rebuild_ledger(std::int64_t height);  // replays the followed chain up to `height`

  ChainSpec spec_;
  std::deque<TreeEntry> store_;  // stable addresses
  std::unordered_map<std::string, TreeEntry*> entries_;
  std::vector<const TreeEntry*> main_;
  std::unordered_map<std::string, std::int64_t> main_txids_;
  std::uint64_t next_seq_ = 0;
  std::unique_ptr<ledger::LedgerState> ledger_;
  std::shared_ptr<ledger::SigCache> sigs_;
};

}  // namespace hf::node

// The auction ledger's state machine: accounts, auctions and escrows, changed only by
// applying a block's operations in order. Deterministic (every node that applies the same
// blocks holds the same state, and the same state root), undoable block by block (a reorg
// undoes and reapplies exactly), and all-or-nothing per block (one invalid operation makes
// the block invalid and leaves the state as it was). Pure code.
//
// Rules:
//  - an account's operations carry seq 1, 2, 3, ... with no gaps or repeats;
//  - create_money: only an administrator named by the chain spec; creates the receiver;
//  - transfer: from the free balance (balance minus what is held in escrow);
//  - create_auction: closes at a height after the block it is in;
//  - bid: on an open auction before its closing height, not by its owner, at least the
//    minimum and above the highest bid; the bidder's escrow on that auction becomes the new
//    amount, which must fit the free balance plus what the bidder already held there;
//  - at the end of the block at an auction's closing height it closes by itself: the winner's
//    escrow goes to the owner, every other escrow is released; close_auction by the owner
//    does the same once the height is reached (so it only ever applies in that very block,
//    before the automatic close);
//  - cancel_auction: by the owner, before any bid.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/node/ledger_op.hpp"

namespace hf::node::ledger {

struct Account {
  std::uint64_t balance = 0;  // everything the account owns, escrow included
  std::uint64_t held = 0;     // of which in escrow on open auctions
  std::uint64_t next_seq = 1;
  std::uint64_t free() const { return balance - held; }
  friend bool operator==(const Account&, const Account&) = default;
};

enum class AuctionStatus : std::uint8_t { open = 0, closed = 1, cancelled = 2 };

struct Auction {
  PublicKey owner{};
  std::string item;
  std::uint64_t min_bid = 0, closes_at = 0, created_at = 0;
  AuctionStatus status = AuctionStatus::open;
  PublicKey leader{};          // the highest bidder (when bids > 0)
  std::uint64_t high = 0;      // the highest bid
  std::uint64_t bids = 0;
  friend bool operator==(const Auction&, const Auction&) = default;
};

using EscrowKey = std::pair<Hash, PublicKey>;  // (auction, bidder)

// A value's place in the state tree, for proofs: its key and value bytes, as hashed.
struct StateEntry {
  std::string key, value;
};

struct StateProof {
  StateEntry entry;
  std::uint64_t index = 0, count = 0;  // the leaf's place among all leaves (sorted by key)
  std::vector<Hash> path;              // siblings from the leaf up (levels where it has none are skipped)
};

// That a key is absent: the leaves on either side of where it would sort (one of them
// missing at either end of the tree, both for an empty tree).
struct AbsenceProof {
  std::uint64_t count = 0;
  std::optional<StateProof> below, above;
};

// The merkle tree over a state's entries, built once so that proofs are O(log n).
class StateTree {
 public:
  explicit StateTree(std::vector<StateEntry> sorted_entries);
  Hash root() const { return levels_.empty() ? Hash{} : levels_.back()[0]; }
  std::size_t size() const { return entries_.size(); }
  std::optional<StateProof> prove(const std::string& key) const;
  // nullopt when the key is present.
  std::optional<AbsenceProof> prove_absent(const std::string& key) const;

 private:
  StateProof proof_at(std::size_t index) const;
  std::vector<StateEntry> entries_;
  std::vector<std::vector<Hash>> levels_;  // leaves first, the root last
};

class LedgerState {
 public:
  LedgerState(std::vector<PublicKey> admins, std::string network_id);

  // The reason `op` cannot be applied next in a block at `height`, or empty. Checks the
  // signature too unless the caller already did (`sig_checked`).
  std::string check(const Operation& op, std::uint64_t height, bool sig_checked = false) const;
  // Applies a block at height() + 1. On an invalid operation: false, *why says which and why,
  // and the state is unchanged.
  bool apply_block(const std::vector<Operation>& ops, std::string* why, bool sigs_checked = false);
  // Applies one operation in the block being assembled at height() + 1, without undo (the
  // pending pool's view: it is rebuilt from the chain's state when the tip moves).
  std::string apply_pending(const Operation& op, bool sig_checked = false);
  // Undoes the last applied block (the last `kept_undo()` blocks can be undone).
  void undo_block();
  // A copy of the state as it was `blocks` blocks ago (at most kept_undo()), without undo
  // records: what reads at an older block see.
  LedgerState rewound(std::size_t blocks) const;
  std::size_t kept_undo() const { return undo_.size(); }
  void set_undo_limit(std::size_t blocks) { undo_limit_ = blocks; }
  std::size_t undo_limit() const { return undo_limit_; }

  std::uint64_t height() const { return height_; }
  const std::string& network_id() const { return network_; }
  bool is_admin(const PublicKey& k) const { return admins_.count(k) > 0; }
  const Account* account(const PublicKey& k) const;
  const Auction* auction(const Hash& id) const;
  std::uint64_t escrow(const Hash& auction, const PublicKey& bidder) const;
  std::size_t account_count() const { return accounts_.size(); }
  std::size_t auction_count() const { return auctions_.size(); }

  // The commitment to everything above: the root of a merkle tree over every entry sorted
  // by key (leaf = SHA-256(0x00 || key length || key || value), node = SHA-256(0x01 || l || r),
  // an odd node at the end of a level moves up unchanged; the empty state's root is zeros).
  Hash state_root() const;
  // The entry for a key with its path to the root, or nullopt when the key is absent.
  std::optional<StateProof> prove_account(const PublicKey& k) const;
  std::optional<StateProof> prove_auction(const Hash& id) const;
  std::optional<StateProof> prove_escrow(const Hash& auction, const PublicKey& bidder) const;
  StateTree tree() const { return StateTree(entries()); }
  // Every escrow on an auction (bidder, amount), for listings.
  std::vector<std::pair<PublicKey, std::uint64_t>> escrows_of(const Hash& auction) const;
  const std::map<Hash, Auction>& auctions() const { return auctions_; }

  friend bool operator==(const LedgerState& a, const LedgerState& b) {
    return a.height_ == b.height_ && a.accounts_ == b.accounts_ && a.auctions_ == b.auctions_ &&
           a.escrows_ == b.escrows_;
  }

 private:
  struct Undo {
    std::map<PublicKey, std::optional<Account>> accounts;
    std::map<Hash, std::optional<Auction>> auctions;
    std::map<EscrowKey, std::optional<std::uint64_t>> escrows;
  };
  Account& touch_account(const PublicKey& k);
  Auction& touch_auction(const Hash& id);
  void set_escrow(const Hash& a, const PublicKey& b, std::uint64_t v);  // 0 erases
  void apply(const Operation& op, const Hash& id);  // id: the operation's, where it names a new auction
  Hash id_if_needed(const Operation& op) const;
  void settle(const Hash& id, Auction& a, AuctionStatus to);
  void rollback(const Undo& u);
  std::vector<StateEntry> entries() const;
  std::optional<StateProof> prove(const std::string& key) const;

  std::set<PublicKey> admins_;
  std::string network_;
  std::uint64_t height_ = 0;
  std::map<PublicKey, Account> accounts_;
  std::map<Hash, Auction> auctions_;
  std::map<EscrowKey, std::uint64_t> escrows_;
  std::vector<Undo> undo_;
  std::size_t undo_limit_ = 100;
  Undo* journal_ = nullptr;  // the block being applied
};

// Checks a proof against a state root: true when the entry is in the state it commits to.
bool verify_proof(const StateProof& p, const Hash& root);
// True when the proof shows `key` is not in the state `root` commits to.
bool verify_absence(const AbsenceProof& p, const std::string& key, const Hash& root);
// Key and value encodings, for clients that check proofs of what they asked for.
std::string account_key(const PublicKey& k);
std::string auction_key(const Hash& id);
std::string escrow_key(const Hash& auction, const PublicKey& bidder);
std::string account_value(const Account& a);
std::string auction_value(const Auction& a);
std::string escrow_value(std::uint64_t amount);

}  // namespace hf::node::ledger

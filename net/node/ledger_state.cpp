#include "net/node/ledger_state.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace hf::node::ledger {
namespace {

void put_u64(std::string* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
template <std::size_t N>
std::string bytes_of(const std::array<std::uint8_t, N>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), N);
}

Hash sha256(std::string_view s) {
  Hash h{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h.data());
  return h;
}

Hash leaf_hash(const StateEntry& e) {
  std::string b;
  b.reserve(9 + e.key.size() + e.value.size());
  b.push_back('\0');
  put_u64(&b, e.key.size());
  b += e.key;
  b += e.value;
  return sha256(b);
}

Hash node_hash(const Hash& l, const Hash& r) {
  std::string b(65, '\1');
  std::memcpy(b.data() + 1, l.data(), 32);
  std::memcpy(b.data() + 33, r.data(), 32);
  return sha256(b);
}

}  // namespace

std::string account_key(const PublicKey& k) { return "a" + bytes_of(k); }
std::string auction_key(const Hash& id) { return "u" + bytes_of(id); }
std::string escrow_key(const Hash& auction, const PublicKey& bidder) { return "e" + bytes_of(auction) + bytes_of(bidder); }

std::string account_value(const Account& a) {
  std::string v;
  put_u64(&v, a.balance);
  put_u64(&v, a.held);
  put_u64(&v, a.next_seq);
  return v;
}

std::string auction_value(const Auction& a) {
  std::string v = bytes_of(a.owner);
  put_u64(&v, a.item.size());
  v += a.item;
  put_u64(&v, a.min_bid);
  put_u64(&v, a.closes_at);
  put_u64(&v, a.created_at);
  v.push_back(static_cast<char>(a.status));
  v += bytes_of(a.leader);
  put_u64(&v, a.high);
  put_u64(&v, a.bids);
  return v;
}

std::string escrow_value(std::uint64_t amount) {
  std::string v;
  put_u64(&v, amount);
  return v;
}

LedgerState::LedgerState(std::vector<PublicKey> admins, std::string network_id)
    : admins_(admins.begin(), admins.end()), network_(std::move(network_id)) {}

const Account* LedgerState::account(const PublicKey& k) const {
  auto it = accounts_.find(k);
  return it == accounts_.end() ? nullptr : &it->second;
}

const Auction* LedgerState::auction(const Hash& id) const {
  auto it = auctions_.find(id);
  return it == auctions_.end() ? nullptr : &it->second;
}

std::uint64_t LedgerState::escrow(const Hash& auction, const PublicKey& bidder) const {
  auto it = escrows_.find({auction, bidder});
  return it == escrows_.end() ? 0 : it->second;
}

std::string LedgerState::check(const Operation& op, std::uint64_t height, bool sig_checked) const {
  if (std::string bad = check_shape(op); !bad.empty()) return bad;
  const Account* acc = account(op.account);
  const std::uint64_t next = acc ? acc->next_seq : 1;
  if (op.seq != next)
    return op.seq < next ? "replayed: the account's operation " + std::to_string(op.seq) + " is already done"
                         : "out of order: the account's next operation is " + std::to_string(next);
  if (!sig_checked && !signature_ok(op, network_)) return "bad signature";
  // Only an administrator may act without an account: every other operation spends or
  // owns something, which needs money first.
  if (!acc && !is_admin(op.account)) return "unknown account (it has never received money)";
  const std::uint64_t free = acc ? acc->free() : 0;
  switch (op.kind) {
    case OpKind::create_money: {
      if (!is_admin(op.account)) return "only an administrator may create money";
      const Account* to = account(op.to);
      if (to && to->balance > kMaxAmount - op.amount) return "the receiver's balance would pass 2^53";
      return {};
    }
    case OpKind::transfer: {
      if (free < op.amount)
        return "insufficient funds: " + std::to_string(free) + " free, " + std::to_string(op.amount) + " asked";
      const Account* to = account(op.to);
      if (to && to->balance > kMaxAmount - op.amount) return "the receiver's balance would pass 2^53";
      return {};
    }
    case OpKind::create_auction:
      if (op.closes_at <= height) return "the closing height must come after this block (" + std::to_string(height) + ")";
      return {};
    case OpKind::bid: {
      const Auction* a = auction(op.auction);
      if (!a) return "no such auction";
      if (a->status != AuctionStatus::open) return "the auction is not open";
      if (height >= a->closes_at) return "the auction closes at height " + std::to_string(a->closes_at);
      if (a->owner == op.account) return "an owner cannot bid on their own auction";
      if (op.amount < a->min_bid) return "below the minimum bid of " + std::to_string(a->min_bid);
      if (a->bids > 0 && op.amount <= a->high) return "must beat the highest bid of " + std::to_string(a->high);
      const std::uint64_t mine = escrow(op.auction, op.account);
      if (free + mine < op.amount)
        return "insufficient funds: " + std::to_string(free + mine) + " available for this bid, " +
               std::to_string(op.amount) + " asked";
      return {};
    }
    case OpKind::close_auction: {
      const Auction* a = auction(op.auction);
      if (!a) return "no such auction";
      if (a->owner != op.account) return "only the owner may close an auction";
      if (a->status != AuctionStatus::open) return "the auction is not open";
      if (height < a->closes_at) return "the auction closes at height " + std::to_string(a->closes_at);
      return {};
    }
    case OpKind::cancel_auction: {
      const Auction* a = auction(op.auction);
      if (!a) return "no such auction";
      if (a->owner != op.account) return "only the owner may cancel an auction";
      if (a->status != AuctionStatus::open) return "the auction is not open";
      if (a->bids > 0) return "the auction has bids";
      return {};
    }
  }
  return "unknown operation";
}

Account& LedgerState::touch_account(const PublicKey& k) {
  auto it = accounts_.find(k);
  if (journal_ && !journal_->accounts.count(k))
    journal_->accounts[k] = it == accounts_.end() ? std::nullopt : std::optional<Account>(it->second);
  return it == accounts_.end() ? accounts_[k] : it->second;
}

Auction& LedgerState::touch_auction(const Hash& id) {
  auto it = auctions_.find(id);
  if (journal_ && !journal_->auctions.count(id))
    journal_->auctions[id] = it == auctions_.end() ? std::nullopt : std::optional<Auction>(it->second);
  return it == auctions_.end() ? auctions_[id] : it->second;
}

void LedgerState::set_escrow(const Hash& a, const PublicKey& b, std::uint64_t v) {
  const EscrowKey key{a, b};
  auto it = escrows_.find(key);
  if (journal_ && !journal_->escrows.count(key))
    journal_->escrows[key] = it == escrows_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
  if (v == 0) {
    if (it != escrows_.end()) escrows_.erase(it);
  } else {
    escrows_[key] = v;
  }
}

void LedgerState::settle(const Hash& id, Auction& a, AuctionStatus to) {
  a.status = to;
  // Every escrow on this auction: the winner's goes to the owner, the rest are released.
  const EscrowKey lo{id, PublicKey{}};
  std::vector<std::pair<PublicKey, std::uint64_t>> held;
  for (auto it = escrows_.lower_bound(lo); it != escrows_.end() && it->first.first == id; ++it)
    held.emplace_back(it->first.second, it->second);
  for (const auto& [bidder, amount] : held) {
    Account& b = touch_account(bidder);
    b.held -= amount;
    if (to == AuctionStatus::closed && a.bids > 0 && bidder == a.leader) {
      b.balance -= amount;
      touch_account(a.owner).balance += amount;
    }
    set_escrow(id, bidder, 0);
  }
}

// Only a new auction is named by its operation's id; the others need no hash.
Hash LedgerState::id_if_needed(const Operation& op) const {
  return op.kind == OpKind::create_auction ? op_id(op, network_) : Hash{};
}

void LedgerState::apply(const Operation& op, const Hash& id) {
  const std::uint64_t height = height_ + 1;
  touch_account(op.account).next_seq = op.seq + 1;
  switch (op.kind) {
    case OpKind::create_money: touch_account(op.to).balance += op.amount; break;
    case OpKind::transfer:
      touch_account(op.account).balance -= op.amount;
      touch_account(op.to).balance += op.amount;
      break;
    case OpKind::create_auction: {
      Auction& a = touch_auction(id);
      a.owner = op.account;
      a.item = op.item;
      a.min_bid = op.amount;
      a.closes_at = op.closes_at;
      a.created_at = height;
      break;
    }
    case OpKind::bid: {
      Auction& a = touch_auction(op.auction);
      const std::uint64_t mine = escrow(op.auction, op.account);
      Account& b = touch_account(op.account);
      b.held = b.held - mine + op.amount;
      set_escrow(op.auction, op.account, op.amount);
      a.leader = op.account;
      a.high = op.amount;
      ++a.bids;
      break;
    }
    case OpKind::close_auction: settle(op.auction, touch_auction(op.auction), AuctionStatus::closed); break;
    case OpKind::cancel_auction: settle(op.auction, touch_auction(op.auction), AuctionStatus::cancelled); break;
  }
}

bool LedgerState::apply_block(const std::vector<Operation>& ops, std::string* why, bool sigs_checked) {
  const std::uint64_t height = height_ + 1;
  undo_.emplace_back();
  journal_ = &undo_.back();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const std::string bad = check(ops[i], height, sigs_checked);
    if (!bad.empty()) {
      *why = "operation " + std::to_string(i) + " (" + std::string(op_kind_name(ops[i].kind)) + "): " + bad;
      rollback(undo_.back());
      undo_.pop_back();
      journal_ = nullptr;
      return false;
    }
    apply(ops[i], id_if_needed(ops[i]));
  }
  // Auctions due at this height close by themselves, after the block's own operations.
  std::vector<Hash> due;
  for (const auto& [id, a] : auctions_)
    if (a.status == AuctionStatus::open && a.closes_at == height) due.push_back(id);
  for (const Hash& id : due) settle(id, touch_auction(id), AuctionStatus::closed);
  journal_ = nullptr;
  height_ = height;
  while (undo_.size() > undo_limit_) undo_.erase(undo_.begin());
  return true;
}

void LedgerState::rollback(const Undo& u) {
  for (auto& [k, v] : u.accounts) {
    if (v) accounts_[k] = *v;
    else accounts_.erase(k);
  }
  for (auto& [k, v] : u.auctions) {
    if (v) auctions_[k] = *v;
    else auctions_.erase(k);
  }
  for (auto& [k, v] : u.escrows) {
    if (v) escrows_[k] = *v;
    else escrows_.erase(k);
  }
}

std::string LedgerState::apply_pending(const Operation& op, bool sig_checked) {
  std::string bad = check(op, height_ + 1, sig_checked);
  if (bad.empty()) apply(op, id_if_needed(op));
  return bad;
}

LedgerState LedgerState::rewound(std::size_t blocks) const {
  LedgerState out(std::vector<PublicKey>(admins_.begin(), admins_.end()), network_);
  out.accounts_ = accounts_;
  out.auctions_ = auctions_;
  out.escrows_ = escrows_;
  out.height_ = height_;
  out.undo_limit_ = undo_limit_;
  for (std::size_t i = 0; i < blocks && i < undo_.size(); ++i) {
    out.rollback(undo_[undo_.size() - 1 - i]);
    --out.height_;
  }
  return out;
}

std::vector<std::pair<PublicKey, std::uint64_t>> LedgerState::escrows_of(const Hash& id) const {
  std::vector<std::pair<PublicKey, std::uint64_t>> out;
  for (auto it = escrows_.lower_bound({id, PublicKey{}}); it != escrows_.end() && it->first.first == id; ++it)
    out.emplace_back(it->first.second, it->second);
  return out;
}

void LedgerState::undo_block() {
  if (undo_.empty()) return;
  rollback(undo_.back());
  undo_.pop_back();
  --height_;
}

std::vector<StateEntry> LedgerState::entries() const {
  std::vector<StateEntry> out;
  out.reserve(accounts_.size() + auctions_.size() + escrows_.size());
  for (const auto& [k, a] : accounts_) out.push_back({account_key(k), account_value(a)});
  for (const auto& [k, a] : auctions_) out.push_back({auction_key(k), auction_value(a)});
  for (const auto& [k, v] : escrows_) out.push_back({escrow_key(k.first, k.second), escrow_value(v)});
  std::sort(out.begin(), out.end(), [](const StateEntry& a, const StateEntry& b) { return a.key < b.key; });
  return out;
}

StateTree::StateTree(std::vector<StateEntry> sorted) : entries_(std::move(sorted)) {
  if (entries_.empty()) return;
  std::vector<Hash> level;
  level.reserve(entries_.size());
  for (const StateEntry& e : entries_) level.push_back(leaf_hash(e));
  levels_.push_back(std::move(level));
  while (levels_.back().size() > 1) {
    const std::vector<Hash>& below = levels_.back();
    std::vector<Hash> up;
    up.reserve(below.size() / 2 + 1);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) up.push_back(node_hash(below[i], below[i + 1]));
    if (below.size() % 2) up.push_back(below.back());
    levels_.push_back(std::move(up));
  }
}

StateProof StateTree::proof_at(std::size_t index) const {
  StateProof p;
  p.entry = entries_[index];
  p.index = index;
  p.count = entries_.size();
  std::size_t i = index;
  for (std::size_t l = 0; l + 1 < levels_.size(); ++l, i /= 2)
    if ((i ^ 1) < levels_[l].size()) p.path.push_back(levels_[l][i ^ 1]);
  return p;
}

std::optional<StateProof> StateTree::prove(const std::string& key) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const StateEntry& e, const std::string& k) { return e.key < k; });
  if (it == entries_.end() || it->key != key) return std::nullopt;
  return proof_at(static_cast<std::size_t>(it - entries_.begin()));
}

std::optional<AbsenceProof> StateTree::prove_absent(const std::string& key) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const StateEntry& e, const std::string& k) { return e.key < k; });
  if (it != entries_.end() && it->key == key) return std::nullopt;
  AbsenceProof p;
  p.count = entries_.size();
  const std::size_t i = static_cast<std::size_t>(it - entries_.begin());
  if (i > 0) p.below = proof_at(i - 1);
  if (i < entries_.size()) p.above = proof_at(i);
  return p;
}

Hash LedgerState::state_root() const { return tree().root(); }

std::optional<StateProof> LedgerState::prove(const std::string& key) const { return tree().prove(key); }

std::optional<StateProof> LedgerState::prove_account(const PublicKey& k) const { return prove(account_key(k)); }
std::optional<StateProof> LedgerState::prove_auction(const Hash& id) const { return prove(auction_key(id)); }
std::optional<StateProof> LedgerState::prove_escrow(const Hash& a, const PublicKey& b) const {
  return prove(escrow_key(a, b));
}

bool verify_absence(const AbsenceProof& p, const std::string& key, const Hash& root) {
  if (p.count == 0) return !p.below && !p.above && root == Hash{};
  if (p.below && (!verify_proof(*p.below, root) || p.below->count != p.count || !(p.below->entry.key < key)))
    return false;
  if (p.above && (!verify_proof(*p.above, root) || p.above->count != p.count || !(key < p.above->entry.key)))
    return false;
  // Neighbours: adjacent leaves, or the first / last leaf with nothing beyond it.
  if (p.below && p.above) return p.above->index == p.below->index + 1;
  if (p.below) return p.below->index + 1 == p.count;
  if (p.above) return p.above->index == 0;
  return false;
}

bool verify_proof(const StateProof& p, const Hash& root) {
  if (p.count == 0 || p.index >= p.count) return false;
  Hash h = leaf_hash(p.entry);
  std::uint64_t i = p.index, n = p.count;
  std::size_t used = 0;
  while (n > 1) {
    const std::uint64_t sib = i ^ 1;
    if (sib < n) {
      if (used == p.path.size()) return false;
      h = (i % 2 == 0) ? node_hash(h, p.path[used]) : node_hash(p.path[used], h);
      ++used;
    }
    i /= 2;
    n = (n + 1) / 2;
  }
  return used == p.path.size() && h == root;
}

}  // namespace hf::node::ledger

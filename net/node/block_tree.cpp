#include "net/node/block_tree.hpp"

#include <algorithm>
#include <cmath>

#include "hashforge/hex.hpp"

namespace hf::node {

const char* outcome_name(AddOutcome o) {
  switch (o) {
    case AddOutcome::extended:
      return "extended";
    case AddOutcome::reorg:
      return "reorg";
    case AddOutcome::side:
      return "side";
    case AddOutcome::duplicate:
      return "duplicate";
    case AddOutcome::orphan:
      return "orphan";
    case AddOutcome::invalid:
      return "invalid";
  }
  return "?";
}

namespace {

// The expected number of tries for a block at this target: 2^256 / (target + 1).
double work_of(const Key& target) {
  double t = 0;
  for (int i = 0; i < 8; ++i) t = t * 4294967296.0 + target.w[i];
  return std::ldexp(1.0, 256) / (t + 1);
}

std::string hex32(const ledger::Hash& h) { return to_hex(ByteView(h.data(), h.size())); }

}  // namespace

BlockTree::BlockTree(ChainSpec spec) : spec_(std::move(spec)) {
  if (spec_.ledger) {
    ledger_ = std::make_unique<ledger::LedgerState>(spec_.admins, spec_.id);
    sigs_ = std::make_shared<ledger::SigCache>(spec_.id);
  }
  TreeEntry& g = store_.emplace_back();
  g.block = spec_.genesis;
  g.text = block_chain_text(g.block);
  g.seq = next_seq_++;
  g.main = true;
  entries_.emplace(g.block.hash, &g);
  main_.push_back(&g);
}

const TreeEntry* BlockTree::find(const std::string& hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? nullptr : it->second;
}

std::int64_t BlockTree::confirmed_height(const std::string& txid) const {
  auto it = main_txids_.find(txid);
  return it == main_txids_.end() ? -1 : it->second;
}

double BlockTree::median_time_past(const TreeEntry* e) const {
  std::vector<double> times;
  for (int i = 0; i < 11 && e; ++i, e = e->parent) times.push_back(e->block.time());
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string BlockTree::find_repeat(const TreeEntry* e, const std::vector<std::string>& ids) const {
  // Walk the branch down to the followed chain, then ask the followed chain's index for
  // what lies at or below the branch point.
  std::unordered_set<std::string> branch;
  while (e && !e->main) {
    branch.insert(e->txids.begin(), e->txids.end());
    e = e->parent;
  }
  std::int64_t fork_height = e ? e->block.index : -1;
  for (const auto& id : ids) {
    if (branch.count(id)) return id;
    auto it = main_txids_.find(id);
    if (it != main_txids_.end() && it->second <= fork_height) return id;
  }
  return {};
}

AddResult BlockTree::check(const Block& b, const AddOptions& opt) const {
  const TreeEntry* parent = nullptr;
  return check_entry(b, opt, &parent, nullptr, nullptr);
}

AddResult BlockTree::check_entry(const Block& b, const AddOptions& opt, const TreeEntry** parent,
                                 std::vector<ledger::Operation>* ops_out,
                                 std::vector<std::string>* ids_out) const {
  AddResult r;
  auto invalid = [&](std::string why) {
    r.outcome = AddOutcome::invalid;
    r.reason = std::move(why);
    return r;
  };
  if (!is_hash_hex(b.hash)) return invalid("the hash is not 64 lowercase hex digits");
  if (auto known = find(b.hash)) {
    if (known->bad) return invalid("a block already found invalid");
    r.outcome = AddOutcome::duplicate;
    r.reason = "block already known";
    r.entry = known;
    return r;
  }
  if (b.transactions.items().size() > spec_.limits.max_transactions)
    return invalid("more than " + std::to_string(spec_.limits.max_transactions) + " transactions");
  if (std::string bad = spec_.scheme->check_fields(b); !bad.empty()) return invalid(bad);
  // What was prepared for this very block, with its signatures checked if these options
  // want them checked.
  const PreparedBlock* pre = opt.prepared && opt.prepared->hash == b.hash &&
                                     (opt.prepared->sigs_checked || !opt.check_ledger)
                                 ? opt.prepared
                                 : nullptr;
  if (opt.check_hash && !(pre && pre->hash_checked)) {
    if (spec_.scheme->hashed_size(b) > spec_.limits.max_block_bytes)
      return invalid("block larger than " + std::to_string(spec_.limits.max_block_bytes) + " bytes");
    std::string actual = spec_.scheme->hash_hex(b);
    if (actual != b.hash) return invalid("the hash is not the hash of the block's contents");
  }
  if (!meets_target(b.hash, spec_.target)) return invalid("the proof of work does not meet the network's difficulty");

  auto pit = entries_.find(b.previous_hash);
  if (pit == entries_.end()) {
    r.outcome = AddOutcome::orphan;
    r.reason = "unknown previous block " + b.previous_hash.substr(0, 64);
    return r;
  }
  const TreeEntry* p = pit->second;
  *parent = p;
  if (p->bad) return invalid("it builds on an invalid block");
  if (b.index != p->block.index + 1)
    return invalid("index " + std::to_string(b.index) + " does not follow its previous block's " +
                   std::to_string(p->block.index));
  if (spec_.scheme->bounded_nonce()) {
    const std::uint32_t want = expected_bits(p);
    if (b.bits != want)
      return invalid("bits " + std::to_string(b.bits) + " where the retarget rule gives " + std::to_string(want));
    Key t;
    if (!target_from_compact(b.bits, &t).empty() || !meets_target(b.hash, t))
      return invalid("the proof of work does not meet the block's target");
  }
  double t = b.time();
  if (!(t > median_time_past(p))) return invalid("timestamp not after the median of the last 11 blocks");
  if (opt.check_time && t > opt.now + spec_.max_future_seconds) return invalid("timestamp too far in the future");

  std::vector<std::string> ids;
  if (pre && spec_.ledger) {
    if (!pre->bad.empty()) return invalid(pre->bad);
    std::string again = find_repeat(p, pre->ids);
    if (!again.empty()) return invalid("transaction " + again.substr(0, 16) + " is already on this chain");
    r.outcome = AddOutcome::side;
    if (ids_out) *ids_out = std::move(opt.prepared->ids);
    if (ops_out) *ops_out = std::move(opt.prepared->ops);
    return r;
  }
  ids.reserve(b.transactions.items().size());
  std::unordered_set<std::string> seen;
  for (const Json& tx : b.transactions.items()) {
    if (spec_.ledger) {
      // Operations: their form and signature here, the state when the branch is followed.
      std::string bad;
      auto op = ledger::op_from_json(tx, &bad);
      if (op) bad = ledger::check_shape(*op);
      if (!bad.empty()) return invalid("operation " + std::to_string(ids.size()) + ": " + bad);
      const ledger::Hash id = ledger::op_id(*op, spec_.id);
      // Signatures need no state: checked on every branch (once, through the cache), so a
      // forged operation is refused even in a block that is never followed.
      if (opt.check_ledger && !sigs_->verify(*op, id))
        return invalid("operation " + std::to_string(ids.size()) + ": bad signature");
      ids.push_back(hex32(id));
      if (ops_out) ops_out->push_back(std::move(*op));
      if (!seen.insert(ids.back()).second) return invalid("an operation appears twice in the block");
      continue;
    }
    std::string shape = check_transaction_shape(tx);
    if (!shape.empty()) return invalid("transaction " + std::to_string(ids.size()) + ": " + shape);
    std::string text = dump_python(tx, {.sort_keys = true});
    if (text.size() > spec_.limits.max_transaction_bytes)
      return invalid("transaction " + std::to_string(ids.size()) + " larger than " +
                     std::to_string(spec_.limits.max_transaction_bytes) + " bytes");
    ids.push_back(txid_of(tx));
    if (!seen.insert(ids.back()).second) return invalid("a transaction appears twice in the block");
  }
  std::string again = find_repeat(p, ids);
  if (!again.empty()) return invalid("transaction " + again.substr(0, 16) + " is already on this chain");
  r.outcome = AddOutcome::side;
  if (ids_out) *ids_out = std::move(ids);
  return r;
}

PreparedBlock BlockTree::prepare(const Block& b, const AddOptions& opt) const {
  PreparedBlock pb;
  pb.hash = b.hash;
  if (opt.check_hash) {
    if (spec_.scheme->hashed_size(b) > spec_.limits.max_block_bytes || spec_.scheme->hash_hex(b) != b.hash) {
      pb.hash = {};  // add() words the fault itself
      return pb;
    }
    pb.hash_checked = true;
  }
  if (b.transactions.items().size() > spec_.limits.max_transactions) return pb;
  pb.text = block_chain_text(b);
  pb.sigs_checked = opt.check_ledger;  // below, for a ledger block (other blocks have none)
  if (!spec_.ledger) return pb;
  pb.ids.reserve(b.transactions.items().size());
  pb.ops.reserve(b.transactions.items().size());
  std::unordered_set<std::string> seen;
  for (const Json& tx : b.transactions.items()) {
    // The same checks, in the same order and words, as check_entry's loop.
    std::string bad;
    auto op = ledger::op_from_json(tx, &bad);
    if (op) bad = ledger::check_shape(*op);
    if (bad.empty()) {
      const ledger::Hash id = ledger::op_id(*op, spec_.id);
      if (opt.check_ledger && !sigs_->verify(*op, id))
        bad = "bad signature";
      else {
        pb.ids.push_back(hex32(id));
        pb.ops.push_back(std::move(*op));
        if (!seen.insert(pb.ids.back()).second) {
          pb.bad = "an operation appears twice in the block";
          return pb;
        }
        continue;
      }
    }
    pb.bad = "operation " + std::to_string(pb.ids.size()) + ": " + bad;
    return pb;
  }
  return pb;
}

AddResult BlockTree::add(Block b, const AddOptions& opt) {
  const TreeEntry* parent = nullptr;
  std::vector<ledger::Operation> ops;
  std::vector<std::string> ids;
  AddResult r = check_entry(b, opt, &parent, &ops, &ids);
  if (r.outcome != AddOutcome::side) return r;

  TreeEntry& e = store_.emplace_back();
  e.block = std::move(b);
  const bool pre = opt.prepared && opt.prepared->hash == e.block.hash && !opt.prepared->text.empty();
  e.text = pre ? std::move(opt.prepared->text) : block_chain_text(e.block);
  e.sigs_checked = opt.check_ledger;
  e.parent = parent;
  e.seq = next_seq_++;
  e.txids = std::move(ids);
  if (spec_.ledger) e.ops = std::move(ops);
  // Work: one per block under one fixed target (so the most blocks win, as in the seed);
  // header schemes count each block's own target.
  double w = 1;
  if (spec_.scheme->bounded_nonce()) {
    Key t;
    if (target_from_compact(e.block.bits, &t).empty()) w = work_of(t);
  }
  e.work = parent->work + w;
  entries_.emplace(e.block.hash, &e);
  r.entry = &e;

  // The most work wins. Ties keep the chain seen first.
  if (e.work > tip().work) {
    r.outcome = e.parent == &tip() ? AddOutcome::extended : AddOutcome::reorg;
    if (!switch_to(&e, &r, opt)) r.outcome = AddOutcome::invalid;
  }
  return r;
}

bool BlockTree::apply_entry(const TreeEntry* e, const AddOptions& opt, std::string* why) {
  if (opt.check_ledger && !e->sigs_checked)
    for (std::size_t i = 0; i < e->ops.size(); ++i)
      if (!sigs_->verify(e->ops[i])) {
        *why = "operation " + std::to_string(i) + " (" + std::string(ledger::op_kind_name(e->ops[i].kind)) +
               "): bad signature";
        return false;
      }
  if (!ledger_->apply_block(e->ops, why, true)) return false;
  if (opt.check_ledger) {
    const std::string root = hex32(ledger_->state_root());
    if (root != e->block.state_root) {
      ledger_->undo_block();
      *why = "its state root is not the state after its operations (" + root + ")";
      return false;
    }
  }
  return true;
}

void BlockTree::rebuild_ledger(std::int64_t height) {
  ledger_ = std::make_unique<ledger::LedgerState>(spec_.admins, spec_.id);
  std::string why;
  for (std::int64_t h = 1; h <= height; ++h) ledger_->apply_block(main_[static_cast<std::size_t>(h)]->ops, &why, true);
}

bool BlockTree::move_ledger(const TreeEntry* fork, const std::vector<const TreeEntry*>& branch, const AddOptions& opt,
                            std::string* why) {
  const std::size_t depth = main_.size() - 1 - static_cast<std::size_t>(fork->block.index);
  if (depth > ledger_->kept_undo())
    rebuild_ledger(fork->block.index);  // deeper than the undo records reach: replay
  else
    for (std::size_t i = 0; i < depth; ++i) ledger_->undo_block();
  for (std::size_t i = 0; i < branch.size(); ++i) {
    if (apply_entry(branch[i], opt, why)) continue;
    *why = "block " + std::to_string(branch[i]->block.index) + " " + branch[i]->block.hash.substr(0, 16) + ": " + *why;
    for (std::size_t j = i; j < branch.size(); ++j) const_cast<TreeEntry*>(branch[j])->bad = true;
    // Back to the followed chain, whose blocks were all applied before.
    if (i > ledger_->kept_undo()) {
      rebuild_ledger(static_cast<std::int64_t>(main_.size()) - 1);
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) ledger_->undo_block();
    std::string ignored;
    for (std::size_t h = static_cast<std::size_t>(fork->block.index) + 1; h < main_.size(); ++h)
      ledger_->apply_block(main_[h]->ops, &ignored, true);
    return false;
  }
  return true;
}

std::optional<ledger::Hash> BlockTree::ledger_root_after(const std::vector<ledger::Operation>& ops, std::string* why) {
  if (!ledger_) return ledger::Hash{};
  // One undo record more for the while, so the oldest one is not dropped.
  const std::size_t limit = ledger_->undo_limit();
  ledger_->set_undo_limit(limit + 1);
  std::optional<ledger::Hash> root;
  if (ledger_->apply_block(ops, why, true)) {
    root = ledger_->state_root();
    ledger_->undo_block();
  }
  ledger_->set_undo_limit(limit);
  return root;
}

bool BlockTree::switch_to(const TreeEntry* new_tip, AddResult* r, const AddOptions& opt) {
  // The branch from the new tip down to the followed chain, lowest first.
  std::vector<const TreeEntry*> branch;
  const TreeEntry* fork = new_tip;
  while (!fork->main) {
    branch.push_back(fork);
    fork = fork->parent;
  }
  std::reverse(branch.begin(), branch.end());
  if (ledger_ && !move_ledger(fork, branch, opt, &r->reason)) return false;

  std::unordered_set<std::string> incoming;
  for (const TreeEntry* e : branch) incoming.insert(e->txids.begin(), e->txids.end());

  while (main_.back() != fork) {
    auto* old = const_cast<TreeEntry*>(main_.back());
    old->main = false;
    for (const auto& id : old->txids) main_txids_.erase(id);
    r->disconnected.push_back(old);
    main_.pop_back();
  }
  // Returned in chain order (the lowest block's first): a later block's transactions may
  // depend on an earlier one's (an account's next operation), and the pool takes them in order.
  for (auto it = r->disconnected.rbegin(); it != r->disconnected.rend(); ++it)
    for (std::size_t i = 0; i < (*it)->txids.size(); ++i)
      if (!incoming.count((*it)->txids[i])) r->returned.push_back((*it)->block.transactions.items()[i]);
  for (const TreeEntry* e : branch) {
    const_cast<TreeEntry*>(e)->main = true;
    for (const auto& id : e->txids) main_txids_[id] = e->block.index;
    main_.push_back(e);
    r->connected.push_back(e);
  }
  return true;
}

std::vector<std::string> BlockTree::locator() const {
  std::vector<std::string> out;
  std::int64_t step = 1;
  for (std::int64_t h = static_cast<std::int64_t>(main_.size()) - 1; h >= 0; h -= step) {
    out.push_back(main_[h]->block.hash);
    if (out.size() >= 10) step *= 2;
  }
  if (out.back() != main_.front()->block.hash) out.push_back(main_.front()->block.hash);
  return out;
}

std::uint32_t BlockTree::expected_bits(const TreeEntry* parent) const {
  return bits_after(
      spec_, parent, [](const TreeEntry& e) { return static_cast<std::int64_t>(e.block.time()); },
      [](const TreeEntry& e) { return e.block.bits; });
}

}  // namespace hf::node

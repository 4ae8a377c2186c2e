#include "net/node/block_tree.hpp"

#include <algorithm>

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

BlockTree::BlockTree(ChainSpec spec) : spec_(std::move(spec)) {
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
  return check_entry(b, opt, &parent);
}

AddResult BlockTree::check_entry(const Block& b, const AddOptions& opt, const TreeEntry** parent) const {
  AddResult r;
  auto invalid = [&](std::string why) {
    r.outcome = AddOutcome::invalid;
    r.reason = std::move(why);
    return r;
  };
  if (!is_hash_hex(b.hash)) return invalid("the hash is not 64 lowercase hex digits");
  if (auto known = find(b.hash)) {
    r.outcome = AddOutcome::duplicate;
    r.reason = "block already known";
    r.entry = known;
    return r;
  }
  if (b.transactions.items().size() > spec_.limits.max_transactions)
    return invalid("more than " + std::to_string(spec_.limits.max_transactions) + " transactions");
  if (std::string bad = spec_.scheme->check_fields(b); !bad.empty()) return invalid(bad);
  if (opt.check_hash) {
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
  ids.reserve(b.transactions.items().size());
  std::unordered_set<std::string> seen;
  for (const Json& tx : b.transactions.items()) {
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
  return r;
}

AddResult BlockTree::add(Block b, const AddOptions& opt) {
  const TreeEntry* parent = nullptr;
  AddResult r = check_entry(b, opt, &parent);
  if (r.outcome != AddOutcome::side) return r;

  TreeEntry& e = store_.emplace_back();
  e.block = std::move(b);
  e.text = block_chain_text(e.block);
  e.parent = parent;
  e.seq = next_seq_++;
  e.txids.reserve(e.block.transactions.items().size());
  for (const Json& tx : e.block.transactions.items()) e.txids.push_back(txid_of(tx));
  entries_.emplace(e.block.hash, &e);
  r.entry = &e;

  // The most work wins; with one target per network that is the most blocks. Ties keep the
  // chain seen first.
  if (e.block.index > tip().block.index) {
    r.outcome = e.parent == &tip() ? AddOutcome::extended : AddOutcome::reorg;
    switch_to(&e, &r);
  }
  return r;
}

void BlockTree::switch_to(const TreeEntry* new_tip, AddResult* r) {
  // The branch from the new tip down to the followed chain, lowest first.
  std::vector<const TreeEntry*> branch;
  const TreeEntry* fork = new_tip;
  while (!fork->main) {
    branch.push_back(fork);
    fork = fork->parent;
  }
  std::reverse(branch.begin(), branch.end());

  std::unordered_set<std::string> incoming;
  for (const TreeEntry* e : branch) incoming.insert(e->txids.begin(), e->txids.end());

  while (main_.back() != fork) {
    auto* old = const_cast<TreeEntry*>(main_.back());
    old->main = false;
    for (std::size_t i = 0; i < old->txids.size(); ++i) {
      main_txids_.erase(old->txids[i]);
      if (!incoming.count(old->txids[i])) r->returned.push_back(old->block.transactions.items()[i]);
    }
    r->disconnected.push_back(old);
    main_.pop_back();
  }
  for (const TreeEntry* e : branch) {
    const_cast<TreeEntry*>(e)->main = true;
    for (const auto& id : e->txids) main_txids_[id] = e->block.index;
    main_.push_back(e);
    r->connected.push_back(e);
  }
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
  // The window: from the parent back `window` blocks (fewer near the genesis, whose bits
  // are the easiest target's whatever it says).
  const TreeEntry* first = parent;
  std::uint64_t blocks = 0;
  while (blocks < spec_.retarget.window && first->parent) {
    first = first->parent;
    ++blocks;
  }
  const std::uint32_t first_bits = first->parent ? first->block.bits : compact_of(spec_.target);
  return next_bits(spec_.retarget, spec_.target, first_bits, static_cast<std::int64_t>(first->block.time()),
                   static_cast<std::int64_t>(parent->block.time()), blocks);
}

}  // namespace hf::node

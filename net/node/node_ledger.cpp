// The node's auction ledger: the pending pool's state, client and peer operations, reads at
// recent blocks with their proofs, and the headers clients check those proofs against.
#include <algorithm>

#include "hashforge/hex.hpp"
#include "net/node/node.hpp"

namespace hf::node {

namespace {

std::string hex_of(const std::uint8_t* p, std::size_t n) { return to_hex(ByteView(p, n)); }
template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return hex_of(a.data(), N);
}

// The HTTP status for a refusal from LedgerState::check.
int status_of(const std::string& why) {
  auto starts = [&](const char* p) { return why.rfind(p, 0) == 0; };
  if (starts("replayed") || starts("out of order")) return 409;
  if (starts("bad signature") || starts("only ")) return 403;
  return 422;
}

std::string error_body(const std::string& why) {
  return dump_python(Json::object({{"error", Json::string(why)}}));
}

constexpr std::size_t kMaxViews = 8;

}  // namespace

std::int64_t Node::tip_height() {
  std::lock_guard lk(mu_);
  return tree_.tip().block.index;
}

std::uint64_t Node::pool_next_seq(const PublicKey& account) {
  std::lock_guard lk(mu_);
  const ledger::Account* a = pool_state_ ? pool_state_->account(account) : nullptr;
  return a ? a->next_seq : 1;
}

void Node::rebuild_pool() {
  if (!tree_.ledger()) return;
  pool_state_ = std::make_unique<ledger::LedgerState>(tree_.ledger()->rewound(0));
  Batch drop;
  std::vector<PendingTx> kept;
  kept.reserve(pending_.size());
  for (auto& p : pending_) {
    std::string why = p.op ? pool_state_->apply_pending(*p.op, true) : std::string("not an operation");
    if (why.empty()) {
      kept.push_back(std::move(p));
      continue;
    }
    pending_ids_.erase(p.txid);
    if (p.seq) drop.drop_pending.push_back(p.seq);
  }
  const std::size_t dropped = pending_.size() - kept.size();
  pending_.swap(kept);  // always: the kept ones were moved out
  if (dropped) {
    log("pool: " + std::to_string(dropped) + " pending operations no longer apply; dropped");
    pending_cache_.reset();
    if (pool_store_) pool_store_->commit_async(Batch(drop), [](const std::string&) {});
    store_->commit_async(std::move(drop), [](const std::string&) {});
  }
}

int Node::pool_op(const ledger::Operation& op, const Json& j, PendingTx* p, std::string* why) {
  const std::string id = hex_of(ledger::op_id(op, cfg_.spec.id));
  if (pending_ids_.count(id)) {
    p->txid = id;
    return 200;
  }
  if (tree_.confirmed_height(id) >= 0) {
    *why = "replayed: the operation is already committed";
    return 409;
  }
  if (pending_.size() >= cfg_.max_pending) {
    *why = "the pending pool is full (" + std::to_string(pending_.size()) + " operations): retry shortly";
    return 503;
  }
  *why = pool_state_->apply_pending(op, true);
  if (!why->empty()) return status_of(*why);
  p->seq = next_seq_++;
  p->txid = id;
  p->tx = j;
  p->body = dump_python(j);
  p->op = op;
  pending_ids_.insert(id);
  pending_.push_back(*p);
  pending_cache_.reset();
  if (cfg_.mine_auto) miner_cv_.notify_one();
  return 0;
}

void Node::submit_op_async(const Json& j, const std::string& from, std::function<void(int, std::string)> done) {
  auto refuse = [&](int status, const std::string& why) {
    ++ops_refused_;
    done(status, error_body(why));
  };
  if (!tree_.ledger()) return refuse(404, "this network has no ledger");
  std::string why;
  auto op = ledger::op_from_json(j, &why);
  if (!op) return refuse(400, "malformed operation: " + why);
  if (why = ledger::check_shape(*op); !why.empty()) return refuse(400, "malformed operation: " + why);
  if (!account_rate_ok(hex_of(op->account))) return refuse(429, "too many operations from this account: slow down");
  // The signature outside the lock: it is the dearest check, and the cache remembers it for
  // the block that carries the operation.
  if (!tree_.sig_cache()->verify(*op)) return refuse(403, "bad signature");
  const Json canon = ledger::op_to_json(*op);
  PendingTx p;
  auto receipt = [&](std::int64_t tip) {
    std::vector<Json::Member> m;
    m.emplace_back("status", Json::string("pending"));
    m.emplace_back("op_id", Json::string(p.txid));
    m.emplace_back("account", Json::string(hex_of(op->account)));
    m.emplace_back("seq", Json::integer(static_cast<std::int64_t>(op->seq)));
    m.emplace_back("received_at", Json::real(now_seconds()));
    m.emplace_back("tip_height", Json::integer(tip));
    m.emplace_back("node", Json::string(public_url()));
    return std::make_shared<std::string>(dump_python(Json::object(std::move(m))));
  };
  (void)from;
  std::shared_ptr<std::string> body;
  int status;
  {
    std::lock_guard lk(mu_);
    status = pool_op(*op, canon, &p, &why);
    if (status == 0 || status == 200) body = receipt(tree_.tip().block.index);
    if (status == 0) {
      if (private_) {
        // Test mode: a private miner puts the operation in the block it is mining now, not
        // the one after (an attacker's first block carries its double spend).
        cancel_mining_ = true;
        miner_cv_.notify_one();
      }
      // Queued under the lock that pooled it, so a read barrier taken after anyone saw it
      // pending covers its row.
      Batch b;
      b.add_pending.push_back({p.seq, p.txid, p.body});
      auto text = std::make_shared<std::string>(p.body);
      pool_store_->commit_async(std::move(b), [this, body, text, done](const std::string& error) {
        if (!error.empty()) {
          // Still pooled in memory (and so mined), but the client is told it is not durable.
          return done(500, error_body("the operation was not stored: " + error));
        }
        ++ops_accepted_;
        if (on_new_op_ && !private_) on_new_op_(*text);  // a private miner keeps its operations too
        done(202, *body);
      });
    }
  }
  if (status == 0) return;
  if (status != 200) return refuse(status, why);
  // Already pooled (this node's copy, or a peer's): "pending" once the pool's rows queued so
  // far are on disk, the first copy's among them.
  if (pool_store_->durable_or_notify([done, body] { done(200, *body); })) done(200, *body);
}

void Node::take_peer_ops(const std::vector<Json>& ops, const std::string& from) {
  if (!tree_.ledger()) return;
  // Not stored and not passed on: the node that acknowledged an operation holds it durably
  // and sends it to every link (the spec lists every node, and each links to all), and a
  // pool is soft state that blocks settle. Storing and forwarding here would double the
  // disk writes and multiply the link traffic by the number of peers.
  for (const Json& j : ops) {
    std::string why;
    auto op = ledger::op_from_json(j, &why);
    if (!op || !ledger::check_shape(*op).empty() || !tree_.sig_cache()->verify(*op)) {
      log("link " + from + ": a malformed or wrongly signed operation dropped");
      continue;
    }
    PendingTx p;
    std::lock_guard lk(mu_);
    // Known, or no longer applies here: dropped. Pooled: it has no row (seq 0).
    if (pool_op(*op, ledger::op_to_json(*op), &p, &why) == 0) pending_.back().seq = 0;
  }
}

bool Node::account_rate_ok(const std::string& account_hex) {
  if (cfg_.rate_limit <= 0) return true;
  return rate_ok("account:" + account_hex + ":0");
}

std::shared_ptr<const Node::LedgerView> Node::ledger_view(std::int64_t height, std::string* why) {
  std::lock_guard lk(mu_);
  const ledger::LedgerState* st = tree_.ledger();
  if (!st) {
    *why = "this network has no ledger";
    return nullptr;
  }
  const auto& chain = tree_.main_chain();
  const std::int64_t tip = tree_.tip().block.index;
  if (height < 0) height += tip + 1;  // -1: the tip, -7: six below it
  const std::int64_t depth = tip - height;
  if (height < 0 || depth < 0 || depth > static_cast<std::int64_t>(st->kept_undo())) {
    *why = "reads reach the last " + std::to_string(st->kept_undo()) + " blocks (" +
           std::to_string(std::max<std::int64_t>(0, tip - static_cast<std::int64_t>(st->kept_undo()))) + ".." +
           std::to_string(tip) + ")";
    return nullptr;
  }
  const TreeEntry* e = chain[static_cast<std::size_t>(height)];
  for (const auto& v : views_)
    if (v->hash == e->block.hash) return v;
  auto v = std::make_shared<LedgerView>(LedgerView{
      e->block.hash, e->block.state_root, {}, height, tip, {}, st->rewound(static_cast<std::size_t>(depth)),
      ledger::StateTree({})});
  v->tree = v->state.tree();
  auto txr = transactions_root(e->block.transactions);
  v->tx_root = hex_of(txr);
  Bytes h = block_header(e->block);
  v->header = to_hex(ByteView(h.data(), h.size()));
  views_.push_back(v);
  if (views_.size() > kMaxViews) views_.pop_front();
  return v;
}

std::string Node::op_status_json(const std::string& id) {
  std::lock_guard lk(mu_);
  std::vector<Json::Member> m;
  m.emplace_back("op_id", Json::string(id));
  const std::int64_t h = tree_.confirmed_height(id);
  const std::int64_t tip = tree_.tip().block.index;
  if (h >= 0) {
    m.emplace_back("status", Json::string("committed"));
    m.emplace_back("height", Json::integer(h));
    m.emplace_back("block", Json::string(tree_.main_chain()[static_cast<std::size_t>(h)]->block.hash));
    m.emplace_back("confirmations", Json::integer(tip - h + 1));
  } else {
    m.emplace_back("status", Json::string(pending_ids_.count(id) ? "pending" : "unknown"));
    m.emplace_back("confirmations", Json::integer(0));
  }
  m.emplace_back("tip_height", Json::integer(tip));
  return dump_python(Json::object(std::move(m)));
}

std::string Node::headers_json(std::int64_t from, std::size_t count) {
  std::lock_guard lk(mu_);
  const auto& chain = tree_.main_chain();
  Json list = Json::array();
  for (std::int64_t i = std::max<std::int64_t>(from, 0);
       i < static_cast<std::int64_t>(chain.size()) && list.items().size() < count; ++i) {
    const Block& b = chain[static_cast<std::size_t>(i)]->block;
    Bytes h = block_header(b);
    std::vector<Json::Member> m;
    m.emplace_back("height", Json::integer(b.index));
    m.emplace_back("hash", Json::string(b.hash));
    m.emplace_back("header", Json::string(to_hex(ByteView(h.data(), h.size()))));
    m.emplace_back("tx_root", Json::string(hex_of(transactions_root(b.transactions))));
    m.emplace_back("state_root", Json::string(b.state_root));
    list.push(Json::object(std::move(m)));
  }
  return dump_python(Json::object({{"tip_height", Json::integer(tree_.tip().block.index)}, {"headers", std::move(list)}}));
}

}  // namespace hf::node

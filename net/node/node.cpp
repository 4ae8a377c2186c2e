#include "net/node/node.hpp"

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace hf::node {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

namespace {

StoredBlock stored_of(const TreeEntry& e) { return {e.block.hash, e.block.previous_hash, e.block.index, e.text}; }

std::string join_list(const std::vector<std::string>& parts) {
  std::size_t n = 2;
  for (const auto& p : parts) n += p.size() + 2;
  std::string out;
  out.reserve(n);
  out += '[';
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ", ";
    out += parts[i];
  }
  out += ']';
  return out;
}

}  // namespace

Node::Node(NodeConfig cfg) : cfg_(std::move(cfg)), tree_(cfg_.spec) {
  store_ = std::make_unique<Store>(cfg_.db_path);
  store_->bind_spec(cfg_.spec.id);
  if (cfg_.spec.ledger) {
    // The operations a client was told are stored live in a file of their own, with its own
    // writer: an acknowledgement waits for its own fsync, never behind a block's.
    const auto slash = cfg_.db_path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : cfg_.db_path.substr(0, slash + 1);
    pool_store_ = std::make_unique<Store>(dir + "pool.db");
    pool_store_->bind_spec(cfg_.spec.id);
  }
  if (cfg_.byzantine.slow_disk_s > 0) {
    const auto delay = std::chrono::seconds(cfg_.byzantine.slow_disk_s);
    store_->set_commit_delay(delay);
    if (pool_store_) pool_store_->set_commit_delay(delay);
  }
  load();
}

Node::~Node() {
  stop();
  // The stores' completion threads call back into the node: close them while the node's
  // members are all still there (they are declared before them, so they would go last).
  // The block store first: its completions pass work (pool drops, read barriers) on to the
  // pool's store.
  store_.reset();
  pool_store_.reset();
}

void Node::log(const std::string& line) const {
  if (cfg_.log) cfg_.log(line);
}

void Node::load() {
  Loaded data = store_->load();
  if (pool_store_) {
    Loaded pool = pool_store_->load();
    data.pending.insert(data.pending.end(), std::make_move_iterator(pool.pending.begin()),
                        std::make_move_iterator(pool.pending.end()));
    std::stable_sort(data.pending.begin(), data.pending.end(),
                     [](const StoredTx& a, const StoredTx& b) { return a.seq < b.seq; });
  }
  AddOptions opt{.now = now_seconds(), .check_hash = cfg_.reindex, .check_time = false, .check_ledger = cfg_.reindex};
  std::size_t dropped = 0;
  std::vector<StoredBlock> kept;
  for (const StoredBlock& sb : data.blocks) {
    std::string why;
    ParseResult pr = parse_json(sb.body);
    std::optional<Block> b;
    if (pr.value)
      b = block_from_json(*pr.value, &why);
    else
      why = pr.error;
    AddResult r;
    if (b) r = tree_.add(std::move(*b), opt);
    if (!b || !r.accepted()) {
      if (b) why = r.reason;
      if (!cfg_.reindex)
        throw StoreError("node database " + store_->path() + ": stored block " + sb.hash.substr(0, 16) +
                         " does not fit the chain (" + why + "); run hashforge node --reindex");
      ++dropped;
      continue;
    }
    if (cfg_.reindex) kept.push_back(stored_of(*r.entry));
  }
  if (cfg_.reindex) {
    store_->rewrite_blocks(kept);
    log("reindex: " + std::to_string(kept.size()) + " blocks checked and kept, " + std::to_string(dropped) +
        " dropped");
  }
  // Pending transactions already on the chain (a crash between two commits) are dropped.
  Batch cleanup;
  for (StoredTx& st : data.pending) {
    next_seq_ = std::max<std::int64_t>(next_seq_, st.seq + 1);
    if (tree_.confirmed_height(st.txid) >= 0 || pending_ids_.count(st.txid)) {
      cleanup.drop_pending.push_back(st.seq);
      continue;
    }
    ParseResult pr = parse_json(st.body);
    if (!pr.value || !pr.value->is_object()) {
      cleanup.drop_pending.push_back(st.seq);
      continue;
    }
    std::optional<ledger::Operation> op;
    if (cfg_.spec.ledger) {
      std::string why;
      op = ledger::op_from_json(*pr.value, &why);
      if (!op) {
        cleanup.drop_pending.push_back(st.seq);
        continue;
      }
    }
    pending_ids_.insert(st.txid);
    pending_.push_back({st.seq, st.txid, std::move(*pr.value), std::move(st.body), std::move(op)});
  }
  if (pool_store_) {
    Batch pool_cleanup;
    pool_cleanup.drop_pending = cleanup.drop_pending;  // a seq names one row in either file
    pool_store_->commit(std::move(pool_cleanup));
  }
  store_->commit(std::move(cleanup));
  rebuild_pool();
  for (const auto& p : data.peers) peers_.push_back(p);
  log("chain loaded: height " + std::to_string(tree_.tip().block.index) + ", " + std::to_string(tree_.size()) +
      " blocks, " + std::to_string(pending_.size()) + " pending transactions, " + std::to_string(peers_.size()) +
      " peers");
}

std::optional<Node::PendingTx> Node::prepare_transaction(Json tx, std::string* why) {
  *why = check_transaction_shape(tx);
  if (!why->empty()) return std::nullopt;
  tx.set("timestamp", Json::real(now_seconds()));
  std::string canonical = dump_python(tx, {.sort_keys = true});
  if (canonical.size() > cfg_.spec.limits.max_transaction_bytes) {
    *why = "transaction larger than " + std::to_string(cfg_.spec.limits.max_transaction_bytes) + " bytes";
    return std::nullopt;
  }
  ByteView v(reinterpret_cast<const std::uint8_t*>(canonical.data()), canonical.size());
  PendingTx p{next_seq_++, Engine::instance().digest(Algo::sha256, v).hex(), std::move(tx), {}, {}};
  p.body = dump_python(p.tx);
  return p;
}

void Node::admit(PendingTx p) {
  std::lock_guard lk(mu_);
  if (tree_.confirmed_height(p.txid) >= 0 || !pending_ids_.insert(p.txid).second) {
    // A block took it (or its twin) while its row was being written: the row goes too.
    Batch drop;
    drop.drop_pending.push_back(p.seq);
    store_->commit_async(std::move(drop), [](const std::string&) {});
    return;
  }
  pending_.push_back(std::move(p));
  pending_cache_.reset();
  if (cfg_.mine_auto) miner_cv_.notify_one();
}

void Node::submit_transaction_async(Json tx, std::function<void(const std::string&)> done) {
  if (cfg_.spec.ledger) return done("this network's transactions are signed operations: POST them to /api/ops");
  std::string why;
  auto p = prepare_transaction(std::move(tx), &why);
  if (!p) return done(why);
  Batch b;
  b.add_pending.push_back({p->seq, p->txid, p->body});
  auto held = std::make_shared<PendingTx>(std::move(*p));
  store_->commit_async(std::move(b), [this, held, done = std::move(done)](const std::string& error) {
    if (!error.empty()) return done("storage: " + error);
    admit(std::move(*held));
    done({});
  });
}

std::string Node::tx_key(const Json& tx) const {
  if (!cfg_.spec.ledger) return txid_of(tx);
  std::string why;
  auto op = ledger::op_from_json(tx, &why);
  if (!op) return txid_of(tx);
  auto id = ledger::op_id(*op, cfg_.spec.id);
  return to_hex(ByteView(id.data(), id.size()));
}

void Node::after_change(const AddResult& r, std::int64_t returned_seq) {
  chain_cache_.reset();
  if (r.connected.empty()) return;
  std::unordered_set<std::string> confirmed;
  for (const TreeEntry* e : r.connected) confirmed.insert(e->txids.begin(), e->txids.end());
  std::vector<PendingTx> kept;
  kept.reserve(pending_.size() + r.returned.size());
  // Transactions of abandoned blocks come back first: they were waiting longest.
  for (const Json& tx : r.returned) {
    PendingTx p{returned_seq++, tx_key(tx), tx, dump_python(tx), {}};
    if (cfg_.spec.ledger) {
      std::string why;
      p.op = ledger::op_from_json(tx, &why);
    }
    if (pending_ids_.insert(p.txid).second) kept.push_back(std::move(p));
  }
  for (auto& p : pending_) {
    if (confirmed.count(p.txid))
      pending_ids_.erase(p.txid);
    else
      kept.push_back(std::move(p));
  }
  pending_.swap(kept);
  pending_cache_.reset();
  views_.clear();  // heights now name other blocks
  rebuild_pool();
  ++tip_gen_;
  cancel_mining_ = true;
  miner_cv_.notify_one();
}

BlockVerdict Node::submit_block(Block b, const std::string& from) {
  // What needs only the block (its hash, its operations decoded, their signatures) before
  // the lock: a block of thousands of operations would otherwise hold up every request.
  PreparedBlock pre;
  if (!has_block(b.hash)) pre = tree_.prepare(b, {.now = now_seconds()});
  std::unique_lock lk(mu_);
  return submit_block_locked(std::move(b), from, lk, &pre);
}

BlockVerdict Node::submit_block_locked(Block b, const std::string& from, std::unique_lock<std::mutex>& lk,
                                       PreparedBlock* prepared) {
  (void)lk;
  AddResult r = tree_.add(std::move(b), {.now = now_seconds(), .prepared = prepared});
  BlockVerdict v{r.outcome, r.reason, r.entry ? r.entry->block.index : -1, {}};
  bool synced = from.rfind("sync:", 0) == 0;
  bool linked = from.rfind("wire:", 0) == 0;
  if (r.outcome == AddOutcome::invalid) {
    if (synced)
      peer_bans_[from.substr(5)] = now_seconds() + cfg_.ban_seconds;
    else if (from.rfind("wire:", 0) == 0)
      peer_bans_[from] = now_seconds() + cfg_.ban_seconds;
    else if (!from.empty())
      ban(from, r.reason);
    return v;
  }
  // An unknown parent is no fault: the sender knows blocks this node lacks.
  if (r.outcome == AddOutcome::orphan) {
    if (!synced && !linked && !from.empty()) request_sync();
    return v;
  }
  if (!r.accepted()) return v;
  // A block on a lighter branch is no offence either: its sender may be behind, or ahead on
  // a branch this node has only the start of; a fetch settles which.
  if (r.outcome == AddOutcome::side && !synced && !linked && !from.empty()) request_sync();

  Batch batch;
  batch.blocks.push_back(stored_of(*r.entry));
  if (!r.connected.empty()) {
    std::unordered_set<std::string> confirmed;
    for (const TreeEntry* e : r.connected) confirmed.insert(e->txids.begin(), e->txids.end());
    for (const PendingTx& p : pending_)
      if (confirmed.count(p.txid) && p.seq) batch.drop_pending.push_back(p.seq);  // seq 0: a peer's, no row
  }
  // Returned transactions get new rows; after_change() gives them the same numbers.
  const std::int64_t returned_seq = next_seq_.fetch_add(static_cast<std::int64_t>(r.returned.size()));
  std::int64_t seq = returned_seq;
  for (const Json& tx : r.returned) batch.add_pending.push_back({seq++, tx_key(tx), dump_python(tx)});
  // Queued under mu_, so blocks are stored in the order they were accepted; the fsync
  // happens on the store's thread, with no lock held. The pool's rows of the operations
  // now in a block go once the block is on disk: a crash between the two keeps them in the
  // pool (the next start drops those on the chain), never in neither.
  std::shared_ptr<Batch> pool_drop;
  if (pool_store_ && !batch.drop_pending.empty()) {
    pool_drop = std::make_shared<Batch>();
    pool_drop->drop_pending = batch.drop_pending;
  }
  // Test modes: a withholding node tells no one of its own blocks; an equivocating one sends
  // its two versions itself.
  const bool quiet = ((cfg_.byzantine.withhold || private_) && from.empty()) || from == "byzantine:";
  const TreeEntry* e = r.outcome != AddOutcome::side && !quiet ? r.entry : nullptr;
  auto stored = std::make_shared<std::promise<std::string>>();
  v.stored = stored->get_future().share();
  // A block is announced only once it is on disk (entries never move: e stays valid).
  store_->commit_async(std::move(batch), [this, e, entry = r.entry, stored, pool_drop](const std::string& error) {
    if (error.empty() && pool_drop) pool_store_->commit_async(std::move(*pool_drop), [](const std::string&) {});
    if (error.empty() && e) {
      if (on_new_tip_) on_new_tip_(e->text);
      std::lock_guard pk(peer_mu_);
      peer_tasks_.emplace_back([this, e] { announce(e); });
      peer_cv_.notify_one();
    }
    if (!error.empty()) {
      log("storage: block " + entry->block.hash.substr(0, 16) + " not stored: " + error);
      std::lock_guard fk(fault_mu_);
      if (storage_fault_.empty()) storage_fault_ = "block " + entry->block.hash.substr(0, 16) + " not stored: " + error;
    }
    stored->set_value(error);
  });
  after_change(r, returned_seq);
  if (r.outcome == AddOutcome::reorg)
    log("reorg: " + std::to_string(r.disconnected.size()) + " blocks left, " + std::to_string(r.connected.size()) +
        " joined, tip " + std::to_string(tree_.tip().block.index) + " " + tree_.tip().block.hash.substr(0, 16));
  return v;
}

bool Node::stored_or_notify(std::function<void()> ready) {
  if (!pool_store_) return store_->durable_or_notify(std::move(ready));
  // Blocks, then the pool. The pool's barrier, when taken later, covers more than the read
  // saw: never less.
  auto then_pool = [this, ready] {
    if (pool_store_->durable_or_notify(ready)) ready();
  };
  if (!store_->durable_or_notify(std::move(then_pool))) return false;
  return pool_store_->durable_or_notify(std::move(ready));
}

std::string Node::storage_fault() const {
  std::lock_guard lk(fault_mu_);
  return storage_fault_;
}

void Node::set_private(bool on) {
  std::lock_guard lk(mu_);
  private_ = on;
  log(std::string("byzantine: private mining ") + (on ? "on" : "off: pushing the tip"));
  if (!on && on_new_tip_) on_new_tip_(tree_.tip().text);
}

std::shared_ptr<const std::string> Node::chain_body() {
  std::lock_guard lk(mu_);
  if (chain_cache_) return chain_cache_;
  const auto& chain = tree_.main_chain();
  std::size_t n = 64;
  for (const TreeEntry* e : chain) n += e->text.size() + 2;
  for (const auto& p : peers_) n += p.size() + 4;
  auto out = std::make_shared<std::string>();
  out->reserve(n);
  *out += "{\"length\": ";
  *out += std::to_string(chain.size());
  *out += ", \"chain\": [";
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (i) *out += ", ";
    *out += chain[i]->text;
  }
  *out += "], \"peers\": [";
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (i) *out += ", ";
    dump_python_string(peers_[i], out.get());
  }
  *out += "]}";
  chain_cache_ = std::move(out);
  return chain_cache_;
}

std::string Node::pending_body() {
  std::lock_guard lk(mu_);
  if (!pending_cache_) {
    std::vector<std::string> parts;
    parts.reserve(pending_.size());
    for (const auto& p : pending_) parts.push_back(p.body);
    pending_cache_ = std::make_shared<std::string>(join_list(parts));
  }
  return *pending_cache_;
}

Node::TipInfo Node::tip_info() {
  std::lock_guard lk(mu_);
  return {tree_.tip().block.index, tree_.tip().block.hash};
}

std::vector<std::string> Node::locator() {
  std::lock_guard lk(mu_);
  return tree_.locator();
}

bool Node::has_block(const std::string& hash) {
  std::lock_guard lk(mu_);
  return tree_.find(hash) != nullptr;
}

std::vector<wire::Header> Node::headers_after(const std::vector<std::string>& locator, std::size_t max) {
  std::lock_guard lk(mu_);
  std::size_t start = 1;
  for (const auto& h : locator) {
    const TreeEntry* e = tree_.find(h);
    if (e && e->main) {
      start = static_cast<std::size_t>(e->block.index) + 1;
      break;
    }
  }
  const auto& chain = tree_.main_chain();
  std::vector<wire::Header> out;
  for (std::size_t i = start; i < chain.size() && out.size() < max; ++i)
    out.push_back({chain[i]->block.hash, chain[i]->block.previous_hash, chain[i]->block.index});
  return out;
}

void Node::ban_peer(const std::string& key) {
  std::lock_guard lk(mu_);
  peer_bans_[key] = now_seconds() + cfg_.ban_seconds;
}

bool Node::peer_banned(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = peer_bans_.find(key);
  return it != peer_bans_.end() && it->second > now_seconds();
}

std::optional<std::string> Node::block_json(const std::string& hash) {
  std::lock_guard lk(mu_);
  const TreeEntry* e = tree_.find(hash);
  if (!e) return std::nullopt;
  return e->text;
}

std::string Node::status_json() {
  std::lock_guard lk(mu_);
  const TreeEntry& tip = tree_.tip();
  std::vector<Json::Member> m;
  m.emplace_back("chain_spec", Json::string(cfg_.spec.id));
  m.emplace_back("network", Json::string(cfg_.spec.name));
  m.emplace_back("height", Json::integer(tip.block.index));
  m.emplace_back("length", Json::integer(static_cast<std::int64_t>(tree_.main_chain().size())));
  m.emplace_back("tip", Json::string(tip.block.hash));
  m.emplace_back("difficulty", cfg_.spec.difficulty >= 0 ? Json::integer(cfg_.spec.difficulty) : Json());
  m.emplace_back("target", Json::string(cfg_.spec.target.hex()));
  m.emplace_back("pending", Json::integer(static_cast<std::int64_t>(pending_.size())));
  m.emplace_back("peers", Json::integer(static_cast<std::int64_t>(peers_.size())));
  m.emplace_back("forks", Json::integer(static_cast<std::int64_t>(tree_.side_blocks())));
  m.emplace_back("links", Json::integer(links_fn_ ? static_cast<std::int64_t>(links_fn_()) : 0));
  std::vector<Json::Member> mining;
  mining.emplace_back("mode", Json::string(cfg_.mine_always ? "always" : cfg_.mine_auto ? "auto" : "off"));
  mining.emplace_back("busy", Json::boolean(mining_busy_.load()));
  mining.emplace_back("rate", Json::real(mining_rate_.load()));
  mining.emplace_back("backend", Json::string(mining_backend_));
  mining.emplace_back("blocks_mined", Json::integer(static_cast<std::int64_t>(blocks_mined_)));
  mining.emplace_back("hashes", Json::integer(static_cast<std::int64_t>(hashes_total_.load())));
  mining.emplace_back("last_nonces", Json::integer(static_cast<std::int64_t>(last_nonces_)));
  mining.emplace_back("last_seconds", Json::real(last_seconds_));
  m.emplace_back("mining", Json::object(std::move(mining)));
  if (const ledger::LedgerState* led = tree_.ledger()) {
    std::vector<Json::Member> l;
    l.emplace_back("accounts", Json::integer(static_cast<std::int64_t>(led->account_count())));
    l.emplace_back("auctions", Json::integer(static_cast<std::int64_t>(led->auction_count())));
    l.emplace_back("state_root", Json::string(tip.block.state_root));
    l.emplace_back("committed", Json::integer(static_cast<std::int64_t>(tree_.confirmed_count())));
    l.emplace_back("ops_accepted", Json::integer(static_cast<std::int64_t>(ops_accepted_.load())));
    l.emplace_back("ops_refused", Json::integer(static_cast<std::int64_t>(ops_refused_.load())));
    l.emplace_back("signatures_verified", Json::integer(static_cast<std::int64_t>(tree_.sig_cache()->verified())));
    m.emplace_back("ledger", Json::object(std::move(l)));
  }
  StoreStats st = store_->stats();
  std::vector<Json::Member> storage;
  storage.emplace_back("commits", Json::integer(static_cast<std::int64_t>(st.commits)));
  storage.emplace_back("batches", Json::integer(static_cast<std::int64_t>(st.batches)));
  m.emplace_back("storage", Json::object(std::move(storage)));
  return dump_python(Json::object(std::move(m)));
}

std::string Node::peers_json() {
  std::lock_guard lk(mu_);
  double now = now_seconds();
  Json list = Json::array();
  for (const auto& url : peers_) {
    std::vector<Json::Member> m;
    m.emplace_back("url", Json::string(url));
    m.emplace_back("kind", Json::string("seed"));
    auto ban = peer_bans_.find(url);
    m.emplace_back("banned_seconds",
                   Json::real(ban != peer_bans_.end() && ban->second > now ? ban->second - now : 0.0));
    auto err = peer_errors_.find(url);
    m.emplace_back("last_error", Json::string(err != peer_errors_.end() ? err->second : std::string()));
    list.push(Json::object(std::move(m)));
  }
  return dump_python(list);
}

void Node::ban(const std::string& addr, const std::string& why) {
  auto ip = ip_of_peer(addr);
  std::string key = ip ? addr.substr(0, addr.rfind(':')) : addr;
  {
    std::lock_guard lk(guard_mu_);
    bans_[key] = now_seconds() + cfg_.ban_seconds;
  }
  log("banned " + key + " for " + std::to_string(static_cast<int>(cfg_.ban_seconds)) + " s: " + why);
}

bool Node::banned(const std::string& peer) {
  std::string key = peer.substr(0, peer.rfind(':'));
  std::lock_guard lk(guard_mu_);
  auto it = bans_.find(key);
  if (it == bans_.end()) return false;
  if (it->second <= now_seconds()) {
    bans_.erase(it);
    return false;
  }
  return true;
}

bool Node::rate_ok(const std::string& peer) {
  if (cfg_.rate_limit <= 0) return true;
  std::string key = peer.substr(0, peer.rfind(':'));
  double now = now_seconds();
  std::lock_guard lk(guard_mu_);
  if (buckets_.size() > 100'000) buckets_.clear();  // a flood of addresses: forget, do not grow
  Bucket& b = buckets_[key];
  double burst = cfg_.rate_limit * 2;
  if (b.at == 0) b.tokens = burst;
  b.tokens = std::min(burst, b.tokens + (now - b.at) * cfg_.rate_limit);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace hf::node

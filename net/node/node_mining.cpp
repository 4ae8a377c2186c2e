// The node's miner thread: one engine search job per block template. The job is the
// scheme's hashed text with the nonce as a varying-width decimal field, the digest read
// big-endian against the network's target; it stops at the first hit, or when the tip
// changes (a better chain arrived) or the node stops.
#include <algorithm>
#include <random>
#include <thread>

#include "hashforge/engine.hpp"
#include "hashforge/hex.hpp"
#include "hashforge/thread_name.hpp"
#include "net/node/node.hpp"

namespace hf::node {

void Node::start() {
  miner_ = std::thread([this] {
    name_this_thread("hf-miner");
    miner_loop();
  });
  peer_thread_ = std::thread([this] {
    name_this_thread("hf-peers");
    peer_loop();
  });
}

void Node::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cancel_mining_ = true;
  miner_cv_.notify_all();
  { std::lock_guard pk(peer_mu_); }
  peer_cv_.notify_all();
  if (miner_.joinable()) miner_.join();
  if (peer_thread_.joinable()) peer_thread_.join();
  // Stored blocks announce themselves from the store's completion thread (in order): a
  // marker behind them returns once every announcement is handed on, before the caller
  // takes the links away.
  std::promise<std::string> drained;
  store_->commit_async(Batch{}, [&drained](const std::string& e) { drained.set_value(e); });
  drained.get_future().wait();
}

void Node::mine_async(std::function<void(const MineOutcome&)> done) {
  std::unique_lock lk(mu_);
  if (pending_.empty() || stopping_) {
    lk.unlock();
    MineOutcome none;
    none.timed_out = stopping_;
    return done(none);
  }
  mine_waiters_.push_back({++mine_requested_, blocks_mined_, std::move(done)});
  miner_cv_.notify_one();
}

void Node::serve_mine_waiters(bool stopping) {
  // Whatever this node mined since a request holds what was pending then (or a peer's block
  // took them, and then nothing was left to mine).
  auto served = [&](const MineWaiter& w) { return stopping || w.ticket <= mine_served_; };
  for (auto& w : mine_waiters_) {
    if (!served(w)) continue;
    MineOutcome out;
    if (stopping && w.ticket > mine_served_) {
      out.timed_out = true;
    } else if (blocks_mined_ > w.mined_before) {
      out.mined = true;
      out.index = last_mined_index_;
    }
    w.done(out);
  }
  std::erase_if(mine_waiters_, served);
}

void Node::miner_loop() {
  std::unique_lock lk(mu_);
  last_block_at_ = now_seconds();
  while (!stopping_) {
    bool requested = mine_requested_ > mine_served_;
    bool interval_due =
        cfg_.mine_auto && cfg_.block_interval > 0 && now_seconds() - last_block_at_ >= cfg_.block_interval;
    bool auto_due = (cfg_.mine_auto && !pending_.empty()) || cfg_.mine_always;
    if (!requested && !interval_due && !auto_due) {
      miner_cv_.wait_for(lk, std::chrono::milliseconds(cfg_.block_interval > 0 ? 250 : 1000));
      continue;
    }
    if (!mine_one(lk)) {
      // The engine refused the job: say so once a second rather than spin.
      lk.unlock();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      lk.lock();
    }
  }
  serve_mine_waiters(true);
  mine_served_ = mine_requested_;
}

bool Node::mine_one(std::unique_lock<std::mutex>& lk) {
  std::uint64_t ticket = mine_requested_;
  bool interval_due =
      cfg_.mine_auto && cfg_.block_interval > 0 && now_seconds() - last_block_at_ >= cfg_.block_interval;
  if (pending_.empty() && !interval_due && !cfg_.mine_always) {
    mine_served_ = ticket;
    serve_mine_waiters(false);
    return true;
  }
  const ChainSpec& spec = cfg_.spec;
  const TreeEntry& parent = tree_.tip();
  Block b;
  b.index = parent.block.index + 1;
  b.previous_hash = parent.block.hash;
  b.transactions = Json::array();
  std::size_t bytes = 0;
  std::vector<ledger::Operation> ops;
  for (const PendingTx& p : pending_) {
    if (b.transactions.items().size() >= spec.limits.max_transactions) break;
    bytes += p.body.size() + 2;
    if (bytes + 4096 > spec.limits.max_block_bytes) break;
    if (cfg_.byzantine.empty_blocks) break;
    b.transactions.push(p.tx);
    if (p.op) ops.push_back(*p.op);
  }
  if (cfg_.byzantine.forge_ops && spec.ledger) {
    // Money out of an administrator's account, signed by nobody: every honest node
    // refuses the block.
    ledger::Operation forged;
    forged.kind = ledger::OpKind::transfer;
    forged.account = spec.admins.front();
    forged.seq = 1;
    forged.to[0] = 0x42;
    forged.amount = 1'000'000;
    forged.sig[0] = 1;
    b.transactions.push(ledger::op_to_json(forged));
  }
  const bool header = spec.scheme->bounded_nonce();
  if (header) {
    // Whole seconds in a 32-bit header field: the clock's, or just after the median of the
    // last 11 blocks if that is later. Not parent + 1: blocks faster than one a second
    // would push the times ahead of the clock, and the retarget, which reads the times,
    // would never see them come too fast. The state root is the ledger's after this block's
    // operations (the parent's on a network without a ledger).
    b.timestamp = Json::integer(std::max(static_cast<std::int64_t>(now_seconds()),
                                         static_cast<std::int64_t>(tree_.median_time_past(&parent)) + 1));
    b.state_root = parent.block.state_root.empty() ? std::string(64, '0') : parent.block.state_root;
    if (spec.ledger) {
      std::string why;
      auto root = tree_.ledger_root_after(ops, &why);
      if (!root) {
        // The pool and the tip disagree (they are rebuilt together, so this is a bug):
        // rebuild the pool, which drops what no longer applies, and try again.
        log("mining: a pending operation does not apply (" + why + "); pool rebuilt");
        rebuild_pool();
        return true;
      }
      b.state_root = to_hex(ByteView(root->data(), root->size()));
    }
    b.bits = tree_.expected_bits(&parent);
  } else {
    // A float like the seed's time.time(), after the parent's (and so after the median).
    b.timestamp = Json::real(std::max(now_seconds(), parent.block.time() + 0.001));
  }
  std::uint64_t gen = tip_gen_.load();
  cancel_mining_ = false;
  SearchTemplate t = spec.scheme->search_template(b);
  lk.unlock();

  SearchJob job;
  job.algo = t.algo;
  job.message = std::move(t.message);
  job.nonce = t.field;
  job.order = t.order;
  job.goal = Goal::below_target;
  job.target = spec.target;
  if (header) target_from_compact(b.bits, &job.target);  // the retargeted one
  job.max_hits = 1;
  std::atomic<bool> found{false};
  std::optional<Hit> hit;
  RunOptions opt;
  opt.backend = cfg_.backend;
  opt.threads = cfg_.threads;
  opt.cancel = &cancel_mining_;
  opt.on_hit = [&](const Hit& h) {
    if (!found.exchange(true)) {
      hit = h;
      cancel_mining_ = true;
    }
  };
  opt.on_progress = [&](const Progress& p) { mining_rate_ = p.rate; };
  mining_busy_ = true;
  std::uint64_t nonces = 0;
  double seconds = 0;
  std::string backend;
  std::string error;
  // Rounds of 2^32 nonces: a block is found long before the first ends at any sane target.
  constexpr std::uint64_t kRound = 1ull << 32;
  for (std::uint64_t first = 0; !found && !cancel_mining_ && first < (1ull << 62); first += kRound) {
    if (header && first > 0) {
      // A 32-bit nonce field is used up: move the time on a second and start again.
      b.timestamp = Json::integer(b.timestamp.as_int64().value_or(0) + 1);
      job.message = spec.scheme->search_template(b).message;
    }
    // With a mining share under 1 the round goes in slices of about 10 ms, each followed by
    // a pause that keeps the miner's time at that share of its threads.
    const double share = cfg_.mining_share;
    // Sized from the best rate seen, not the last one: a slice cut short by a new tip says
    // nothing about the rate, and slices too small are mostly the search's own set-up.
    const std::uint64_t slice =
        share >= 1 ? kRound
                   : std::clamp<std::uint64_t>(
                         static_cast<std::uint64_t>((peak_rate_ > 0 ? peak_rate_ : 1e8) * 0.01), 1u << 16, kRound);
    // A header has no field of the miner's own (no coinbase), so two nodes mining on the same
    // tip with the same pending operations hash the very same headers: each header-scheme
    // round starts at a random nonce (and wraps), or the nodes would repeat each other's work
    // and the network's hash power would be that of its fastest node.
    const std::uint64_t start = header ? std::uniform_int_distribution<std::uint64_t>(0, kRound - 1)(nonce_rng_) : 0;
    std::uint64_t step = slice;
    for (std::uint64_t done = 0; done < kRound && !found && !cancel_mining_; done += step) {
      const std::uint64_t pos = header ? (start + done) % kRound : first + done;
      step = std::min({slice, kRound - done, header ? kRound - pos : kRound});
      job.range = {pos, step};
      auto res = Engine::instance().search(job, opt);
      if (!res) {
        error = res.error();
        break;
      }
      nonces += res->hashes;
      hashes_total_ += res->hashes;
      seconds += res->seconds;
      backend = res->backend;
      if (!hit && !res->hits.empty()) {
        hit = res->hits.front();
        found = true;
      }
      if (share < 1 && !found) {
        // The pause follows the slice's work at the best rate seen, not its wall time: on a
        // busy machine the slice takes longer because the miner waits for a core, and
        // pausing longer for that would shrink its share below the one asked for.
        if (res->seconds > 0 && res->hashes >= step && !cancel_mining_) {  // a whole slice
          const double r = static_cast<double>(res->hashes) / res->seconds;
          mining_rate_ = r;
          // The peak fades slowly (half in about 1,400 slices, minutes at small shares): a
          // machine busy for a while must not pass for a slower one. Faded at 1% a slice, a
          // 30 s burst of load halved the rate the pause assumed, and with it the
          // network's hash power, just when blocks were fullest.
          peak_rate_ = std::max(r, peak_rate_ * 0.9995);
        }
        const double work = peak_rate_ > 0 ? static_cast<double>(res->hashes) / peak_rate_ : res->seconds;
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(work * (1 / share - 1)));
        for (auto now = std::chrono::steady_clock::now(); !cancel_mining_ && now < until;
             now = std::chrono::steady_clock::now())
          std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(5), until - now));
      }
    }
    if (!error.empty()) break;
  }
  mining_busy_ = false;
  if (seconds > 0) mining_rate_ = static_cast<double>(nonces) / seconds;
  PreparedBlock pre;
  if (found && hit && error.empty()) {
    b.nonce = hit->nonce;
    b.hash = spec.scheme->hash_hex(b);  // the scheme's own form (header hashes are shown reversed)
    // Decoded and checked before the lock, as a peer's block is (Node::submit_block).
    pre = tree_.prepare(b, {.now = now_seconds()});
  }

  lk.lock();
  mining_backend_ = backend.empty() ? mining_backend_ : backend;
  if (!error.empty()) {
    log("mining: " + error);
    mine_served_ = ticket;
    serve_mine_waiters(false);
    return false;
  }
  if (!found || !hit) return true;  // cancelled: the loop looks again (a new tip, or stopping)
  if (tip_gen_.load() != gen && tree_.tip().block.hash != b.previous_hash) return true;
  last_nonces_ = nonces;
  last_seconds_ = seconds;
  if (cfg_.byzantine.any() && misbehave_with(b, job, lk)) {
    mine_served_ = ticket;
    serve_mine_waiters(false);
    return true;
  }
  const std::string mined_hash = b.hash;
  BlockVerdict v = submit_block_locked(std::move(b), {}, lk, &pre);
  if (v.outcome == AddOutcome::extended) {
    ++blocks_mined_;
    last_mined_index_ = v.index;
    last_block_at_ = now_seconds();
    log("mined block " + std::to_string(v.index) + " " + mined_hash + " (" + std::to_string(nonces) + " nonces in " +
        std::to_string(seconds) + " s on " + mining_backend_ + ")");
  } else if (v.outcome == AddOutcome::invalid) {
    log("mining: the engine's block was refused: " + v.reason);
  }
  if (v.stored.valid() && !mine_waiters_.empty()) {
    // Whoever asked for this block hears of it once it is on disk; the lock is let go
    // meanwhile, so nothing else waits for the fsync.
    lk.unlock();
    v.stored.wait();
    lk.lock();
  }
  mine_served_ = ticket;
  serve_mine_waiters(false);
  return true;
}

}  // namespace hf::node

namespace hf::node {

bool set_byzantine_mode(NodeConfig::Byzantine* b, const std::string& mode) {
  if (mode == "wrong-reads") return b->wrong_reads = true;
  if (mode == "empty-blocks") return b->empty_blocks = true;
  if (mode == "forge-ops") return b->forge_ops = true;
  if (mode == "withhold") return b->withhold = true;
  if (mode == "equivocate") return b->equivocate = true;
  if (mode == "private") return b->private_fork = true;
  if (mode == "slow-disk") {
    b->slow_disk_s = 5;
    return true;
  }
  if (mode.rfind("slow-disk=", 0) == 0) {
    // slow-disk=S: a longer wait, for tests that must act inside it on a slow (sanitizer) build.
    const std::string s = mode.substr(10);
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    b->slow_disk_s = static_cast<unsigned>(std::stoul(s));
    return b->slow_disk_s > 0;
  }
  return false;
}

bool Node::misbehave_with(Block& b, const SearchJob& job, std::unique_lock<std::mutex>& lk) {
  const ChainSpec& spec = cfg_.spec;
  if (cfg_.byzantine.forge_ops && spec.ledger) {
    // Its own tree would refuse the block: push it to the links unchecked.
    ++blocks_mined_;
    log("byzantine: pushing a block with a forged operation at height " + std::to_string(b.index));
    if (on_new_tip_) on_new_tip_(block_chain_text(b));
    lk.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // not a flood: one is enough to be banned
    lk.lock();
    return true;
  }
  if (cfg_.byzantine.equivocate && on_split_) {
    // A twin at the same height (a second later, so another hash), mined now.
    Block twin = b;
    twin.timestamp = Json::integer(b.timestamp.as_int64().value_or(0) + 1);
    SearchJob j2 = job;
    j2.message = spec.scheme->search_template(twin).message;
    j2.range = {0, 1ull << 32};
    RunOptions opt;
    opt.backend = cfg_.backend;
    opt.threads = cfg_.threads;
    std::atomic<bool> done{false};
    std::optional<Hit> hit;
    opt.cancel = &done;  // a search runs its whole range unless told to stop
    opt.on_hit = [&](const Hit& h) {
      if (!done.exchange(true)) hit = h;
    };
    lk.unlock();
    auto res = Engine::instance().search(j2, opt);
    lk.lock();
    if (!hit && res && !res->hits.empty()) hit = res->hits.front();
    if (!hit || stopping_) return false;
    twin.nonce = hit->nonce;
    twin.hash = spec.scheme->hash_hex(twin);
    const std::string a = block_chain_text(b), c = block_chain_text(twin);
    Block mine = b;
    BlockVerdict v = submit_block_locked(std::move(mine), "byzantine:", lk);  // keeps one itself, tells no one
    if (v.outcome == AddOutcome::extended) ++blocks_mined_;
    log("byzantine: sent two blocks at height " + std::to_string(b.index) + " to different peers");
    on_split_(a, c);
    return true;
  }
  return false;
}

}  // namespace hf::node

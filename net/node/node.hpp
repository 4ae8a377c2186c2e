// The node: the block tree, the pending pool and the peers, kept in SQLite, with a miner
// thread on the engine and a peer thread for announcements and sync. Thread-safe: the HTTP
// handlers (net/node/node_api.cpp) call it from the server's threads.
//
// What a client is told is on disk: a transaction is committed before its 201, a block
// before its 201 and before it is announced. The chain followed is recomputed from the
// stored blocks at start.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hashforge/engine.hpp"
#include "net/node/block_tree.hpp"
#include "net/node/ledger_state.hpp"
#include "net/node/peer_url.hpp"
#include "net/node/spec.hpp"
#include "net/node/store.hpp"
#include "net/node/wire.hpp"

namespace hf::node {

struct NodeConfig {
  ChainSpec spec = default_spec();
  std::string db_path;     // the SQLite file
  std::string public_url;  // ends with "/": what /register_with sends
  bool mine_auto = false;
  bool mine_always = false;  // mine without pause, empty blocks too (proof-of-work networks
                             // whose retarget keeps the block interval); implies mine_auto
  double block_interval = 0;  // mine_auto: also mine after this many quiet seconds (0: never)
  std::string backend;        // engine backend for mining (empty: the best)
  unsigned threads = 0;       // mining threads (0: every core)
  double mining_share = 1;    // the fraction of its threads' time the miner uses (0 < share <= 1)
  Allowlist allow = Allowlist::loopback();
  bool reindex = false;
  double ban_seconds = 600;
  double rate_limit = 0;  // write requests per second per client address (0: none)
  // Ledger operations pending at most (two full blocks by default): past it a client is
  // told to retry (503) and peers' operations wait for the block that carries them, so a
  // load beyond what blocks commit cannot grow the pool, and each block's pool rebuild,
  // without bound.
  std::size_t max_pending = 20'000;
  std::function<void(const std::string&)> log;
  // Test mode only (the fault experiments of issue 16): ways this node misbehaves on
  // purpose. Never set in service.
  struct Byzantine {
    bool wrong_reads = false;   // ledger reads report altered values (their proofs then fail)
    bool empty_blocks = false;  // mines no operations
    bool forge_ops = false;     // mines blocks carrying a forged operation and pushes them to links
    bool withhold = false;      // announces none of its own blocks
    bool equivocate = false;    // mines two blocks per height and sends each to half the links
    bool private_fork = false;  // POST /api/test/private turns private mining on and off: while
                                // on it mines on its own chain, takes nothing from its links and
                                // tells them nothing; turned off it pushes its tip (a double spend)
    unsigned slow_disk_s = 0;   // every commit waits this long (s) before it is written (a node's
                                // blocks are then accepted well before they are on disk)
    bool any() const {
      return wrong_reads || empty_blocks || forge_ops || withhold || equivocate || private_fork || slow_disk_s > 0;
    }
  } byzantine;
};

// Parses a --byzantine mode name into `b`; false for an unknown name.
bool set_byzantine_mode(NodeConfig::Byzantine* b, const std::string& mode);

enum class TxVerdict : std::uint8_t { accepted, bad_shape };

struct BlockVerdict {
  AddOutcome outcome = AddOutcome::invalid;
  std::string reason;
  std::int64_t index = -1;
  // An accepted block is stored after the node's lock is let go (readers and writers wait
  // for no fsync); this gets the storage error, or empty once the block is on disk. Invalid
  // only for a block that was not accepted.
  std::shared_future<std::string> stored;
};

struct MineOutcome {
  bool mined = false;       // false: nothing was pending
  std::int64_t index = -1;  // the mined block's index
  bool timed_out = false;   // still mining when the caller stopped waiting
};

struct PeerInfo {
  std::string url;
  double banned_seconds = 0;
  std::string last_error;
};

class Node {
 public:
  // Opens the database, checks it and rebuilds the chain from it. Throws StoreError naming
  // the file, or std::runtime_error with one line.
  explicit Node(NodeConfig cfg);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void start();  // the miner and peer threads
  void stop();   // cancels mining, joins threads; idempotent

  const NodeConfig& config() const { return cfg_; }
  // The URL /register_with sends, known once the server listens (its threads may already
  // be answering requests, hence the lock).
  void set_public_url(std::string url) {
    std::lock_guard lk(url_mu_);
    cfg_.public_url = std::move(url);
  }
  std::string public_url() const {
    std::lock_guard lk(url_mu_);
    return cfg_.public_url;
  }

  // A client's transaction (already parsed): the node adds "timestamp" and commits it;
  // `done` gets the shape error, a storage error (prefixed "storage: "), or empty once the
  // transaction is on disk. It runs on the store's completion thread (or at once for a shape
  // error), so no caller thread waits for the fsync.
  void submit_transaction_async(Json tx, std::function<void(const std::string&)> done);
  // A block from a peer or the miner; `from` is the sender's address (empty: this node).
  BlockVerdict submit_block(Block b, const std::string& from);
  // Mines every pending transaction into one block; `done` runs (on the miner thread, or at
  // once when nothing is pending) with the outcome, or with timed_out when the node stops.
  void mine_async(std::function<void(const MineOutcome&)> done);

  // True when everything read from the node so far is on disk (blocks, transactions and, on
  // ledger networks, the operation pool); else false, and `ready` runs (on a store's
  // completion thread) once it is. See Store::durable_or_notify.
  bool stored_or_notify(std::function<void()> ready);
  // Empty while what the node holds is on disk; after a block's commit failed (the block
  // stays in memory, and a restart would not have it), the error. Readers then refuse.
  std::string storage_fault() const;
  // /chain's body (shared: built once per change).
  std::shared_ptr<const std::string> chain_body();
  std::string pending_body();
  std::string status_json();
  std::string peers_json();
  std::optional<std::string> block_json(const std::string& hash);

  // Peers. add_peer: the URL must parse and its host resolve to allowed addresses; returns
  // the reason when not. Never adds this node itself.
  std::string add_peer(const std::string& url);
  // /register_with: registers at `url` and takes its chain as a candidate fork. Fills the
  // status and body to answer with.
  void register_with(const std::string& url, int* status, std::string* body);
  // The same on the peer thread; `done` gets the status and body.
  void register_with_async(const std::string& url, std::function<void(int, const std::string&)> done);

  // Peer links (net/node/wire_peers.*).
  struct TipInfo {
    std::int64_t height = 0;
    std::string hash;
  };
  TipInfo tip_info();
  std::vector<std::string> locator();
  // The followed chain after the first locator hash on it (after genesis when none is).
  std::vector<wire::Header> headers_after(const std::vector<std::string>& locator, std::size_t max);
  bool has_block(const std::string& hash);
  // Called (under the node's lock: it must only hand the work on) with each new tip's text.
  void set_on_new_tip(std::function<void(const std::string& block_text)> f) { on_new_tip_ = std::move(f); }
  // Test mode (equivocate): sends `a` to some links and `b` to the others.
  void set_on_split(std::function<void(const std::string& a, const std::string& b)> f) { on_split_ = std::move(f); }
  // A peer link's key ("wire:<name>") or a seed peer's URL, banned after an invalid block.
  bool peer_banned(const std::string& key);
  void ban_peer(const std::string& key);
  // How many peer links are up, for /api/status; before start().
  void set_links_counter(std::function<std::size_t()> f) { links_fn_ = std::move(f); }

  // The auction ledger (chain specs with "ledger"; net/node/node_ledger.cpp).
  //
  // A client's operation: parsed, its signature checked, applied to the pending pool's state
  // (the tip's state with every pending operation after it), stored, then acknowledged and
  // sent to the peer links. `done` gets the HTTP status and the JSON body: 202 with a receipt,
  // 200 for an operation already pending, or 4xx with the reason (nothing changed).
  void submit_op_async(const Json& op, const std::string& from, std::function<void(int, std::string)> done);
  // Operations a peer link sent: the same checks, no answer; those that fail are dropped.
  void take_peer_ops(const std::vector<Json>& ops, const std::string& from);
  // Called (on the store's completion thread) with each newly pooled operation's JSON.
  void set_on_new_op(std::function<void(const std::string& op_text)> f) { on_new_op_ = std::move(f); }
  // The state after a followed-chain block `depth` blocks below the tip (0..100), with its
  // merkle tree for proofs. Shared and cached: reads at the same block reuse it.
  struct LedgerView {
    std::string hash, state_root, tx_root;  // the block's
    std::int64_t height = 0, tip_height = 0;
    std::string header;  // its 80-byte header, hex
    ledger::LedgerState state;
    ledger::StateTree tree;
  };
  std::shared_ptr<const LedgerView> ledger_view(std::int64_t height, std::string* why);
  std::int64_t tip_height();
  // The sequence number the account's next operation needs, counting pending ones (a hint
  // for clients: the pool is not committed state).
  std::uint64_t pool_next_seq(const PublicKey& account);
  // {"op_id", "status": "pending" | "committed" | "unknown", "height", "block", "confirmations"}
  std::string op_status_json(const std::string& op_id_hex);
  // The followed chain's headers from `from` (at most `count`): what a client checks proofs
  // against. Header schemes only.
  std::string headers_json(std::int64_t from, std::size_t count);
  bool account_rate_ok(const std::string& account_hex);
  // Counters for /api/status and the figures.
  std::uint64_t ops_refused() const { return ops_refused_.load(); }

  // Test mode (--byzantine private): private mining on or off; turning it off pushes the
  // tip to every link.
  void set_private(bool on);
  bool private_now() const { return private_.load(); }
  // Test modes that keep the node's own blocks from everyone (withhold, and private mining
  // while on): its links get no headers or blocks from it and hear its tip is genesis.
  bool hiding_blocks() const { return cfg_.byzantine.withhold || private_.load(); }

  // Bans and rate limits, by client address ("1.2.3.4:5678").
  bool banned(const std::string& peer);
  bool rate_ok(const std::string& peer);
  bool peer_allowed(const std::string& peer) const { return cfg_.allow.allows_peer(peer); }

 private:
  struct PendingTx {
    std::int64_t seq = 0;  // its row in the store
    std::string txid;      // ledger networks: the operation's id
    Json tx;
    std::string body;  // json.dumps in arrival order
    std::optional<ledger::Operation> op;  // ledger networks
  };
  struct Bucket {
    double tokens = 0;
    double at = 0;
  };

  void load();
  // A transaction's key in the pool and the tree: its txid, or an operation's id.
  std::string tx_key(const Json& tx) const;
  // Ledger networks, mu_ held: the pool's state from the tip's, with every pending
  // operation that still applies (the rest leave the pool and the store).
  void rebuild_pool();
  // Checks and pools an operation (mu_ held); the status and reason when it is refused, 0
  // when pooled, 200 when already pending. Fills *p on success.
  int pool_op(const ledger::Operation& op, const Json& j, PendingTx* p, std::string* why);
  // Checks a client's transaction and stamps it; empty optional and *why on a shape error.
  std::optional<PendingTx> prepare_transaction(Json tx, std::string* why);
  void admit(PendingTx p);  // into the pool once on disk
  void log(const std::string& line) const;
  // Applies a tree change to the pending pool and the caches; mu_ held.
  void after_change(const AddResult& r, std::int64_t returned_seq);
  BlockVerdict submit_block_locked(Block b, const std::string& from, std::unique_lock<std::mutex>& lk,
                                   PreparedBlock* prepared = nullptr);
  void ban(const std::string& addr, const std::string& why);

  // Miner thread (node_mining.cpp).
  void miner_loop();
  bool mine_one(std::unique_lock<std::mutex>& lk);
  // Test mode: what a Byzantine miner does with a block it found (node_mining.cpp); true
  // when it took the block over.
  bool misbehave_with(Block& b, const SearchJob& job, std::unique_lock<std::mutex>& lk);

  // Peer thread (node_peers.cpp).
  void peer_loop();
  void announce(const TreeEntry* e);
  void sync_from(const std::string& url);
  void take_chain(const std::string& url, const std::string& chain_text);
  void request_sync();
  bool is_self(const std::string& base) const;

  NodeConfig cfg_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> pool_store_;  // ledger networks: pool.db, the acknowledged operations
  mutable std::mutex fault_mu_;
  std::string storage_fault_;  // guarded by fault_mu_

  mutable std::mutex url_mu_;
  mutable std::mutex mu_;
  BlockTree tree_;
  std::vector<PendingTx> pending_;
  std::unordered_set<std::string> pending_ids_;
  std::atomic<std::int64_t> next_seq_{1};  // the next pending row
  std::vector<std::string> peers_;         // canonical URLs, in the order added
  std::unordered_map<std::string, std::string> peer_errors_;
  std::unordered_map<std::string, double> peer_bans_;  // url -> until
  std::shared_ptr<const std::string> chain_cache_;
  std::shared_ptr<const std::string> pending_cache_;
  std::function<void(const std::string&)> on_new_tip_;
  std::function<std::size_t()> links_fn_;
  std::function<void(const std::string&)> on_new_op_;
  std::function<void(const std::string&, const std::string&)> on_split_;
  std::unique_ptr<ledger::LedgerState> pool_state_;
  std::deque<std::shared_ptr<const LedgerView>> views_;  // the newest last
  std::atomic<std::uint64_t> ops_accepted_{0}, ops_refused_{0};
  std::atomic<bool> private_{false};

  std::mutex guard_mu_;                           // bans and rate buckets
  std::unordered_map<std::string, double> bans_;  // address -> until
  std::unordered_map<std::string, Bucket> buckets_;

  // Mining.
  std::condition_variable miner_cv_;
  std::uint64_t mine_requested_ = 0, mine_served_ = 0;
  std::int64_t last_mined_index_ = -1;
  struct MineWaiter {
    std::uint64_t ticket, mined_before;
    std::function<void(const MineOutcome&)> done;
  };
  std::vector<MineWaiter> mine_waiters_;
  void serve_mine_waiters(bool stopping);  // mu_ held
  std::atomic<std::uint64_t> tip_gen_{0};
  std::atomic<bool> cancel_mining_{false};
  std::atomic<bool> mining_busy_{false};
  std::atomic<double> mining_rate_{0};
  std::atomic<std::uint64_t> hashes_total_{0};  // every nonce tried since start
  double peak_rate_ = 0;  // the miner thread's: the best slice rate lately (mining_share < 1)
  std::mt19937_64 nonce_rng_{std::random_device{}()};  // the miner thread's: where rounds start
  std::uint64_t blocks_mined_ = 0, last_nonces_ = 0;
  double last_seconds_ = 0, last_block_at_ = 0;
  std::string mining_backend_;

  // Peer tasks (peer_mu_ may be taken under mu_, never the other way round).
  std::mutex peer_mu_;
  std::condition_variable peer_cv_;
  std::deque<std::function<void()>> peer_tasks_;
  bool sync_wanted_ = false;
  double last_sync_ = 0;

  std::atomic<bool> stopping_{false};
  std::thread miner_, peer_thread_;
};

double now_seconds();

}  // namespace hf::node

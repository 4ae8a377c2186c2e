// The node's database: one SQLite file (WAL, synchronous=FULL) holding every valid block
// with its parent and height (the block index, forks included), the pending transactions
// and the peers. The chain followed is not stored: it is recomputed from the blocks at
// start, so no crash can leave it disagreeing with them.
//
// Writes are group-committed: commit() returns once its batch is on disk, and batches that
// arrive while a commit is in progress share the next one (and its fsync).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct sqlite3;

namespace hf::node {

// One line naming the file and the problem.
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StoredBlock {
  std::string hash, parent;
  std::int64_t height = 0;
  std::string body;  // the block's JSON in chain order, with its hash
};

struct StoredTx {
  std::int64_t seq = 0;  // arrival order, chosen by the node (the row's key)
  std::string txid;
  std::string body;  // the transaction's JSON in arrival order
};

// What one commit writes, applied in this order.
struct Batch {
  std::vector<StoredBlock> blocks;
  std::vector<std::int64_t> drop_pending;  // seqs
  std::vector<StoredTx> add_pending;       // kept if the seq is already there
  std::vector<std::string> add_peers;
  std::vector<std::string> drop_peers;
  bool empty() const {
    return blocks.empty() && drop_pending.empty() && add_pending.empty() && add_peers.empty() && drop_peers.empty();
  }
};

struct Loaded {
  std::vector<StoredBlock> blocks;  // in the order they were stored (parents first)
  std::vector<StoredTx> pending;    // in arrival order (the node drops repeated txids)
  std::vector<std::string> peers;
  std::string spec_id;  // empty for a new database
};

struct StoreStats {
  std::uint64_t commits = 0;  // fsyncs
  std::uint64_t batches = 0;  // what they carried
};

class Store {
 public:
  // Opens or creates the database at `path` and checks it (PRAGMA quick_check). Throws
  // StoreError naming the file when it is not a database, is corrupt or cannot be opened.
  explicit Store(std::string path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  Loaded load();
  // Records the network's chain-spec id in a new database; throws StoreError if the
  // database belongs to another network.
  void bind_spec(const std::string& spec_id);
  // Replaces the block table with `blocks` (a reindex), in one transaction.
  void rewrite_blocks(const std::vector<StoredBlock>& blocks);

  // Blocks until the batch is durable. Throws StoreError if it could not be written.
  void commit(Batch b);
  // Returns at once; `done` runs once the batch is durable (error empty) or failed, on the
  // store's completion thread, in commit order. `done` may take the caller's locks: a
  // blocking commit() never waits for the completion thread.
  void commit_async(Batch b, std::function<void(const std::string& error)> done);
  // A read barrier: true when every batch queued so far is durable (or failed), so what the
  // caller read before this call is on disk; otherwise false, and `ready` runs on the
  // completion thread once those batches are. Readers answer only then, so no crash can take
  // back an answer (a height reported, then lost with the block still in the fsync).
  bool durable_or_notify(std::function<void()> ready);
  StoreStats stats() const;
  // Test mode (--byzantine slow-disk): the writer waits this long before each commit, as a
  // slow or busy disk would, so tests can act while blocks are accepted but not yet stored.
  void set_commit_delay(std::chrono::milliseconds d) { commit_delay_ms_ = d.count(); }

 private:
  struct Pending {
    Batch batch;
    std::function<void(const std::string&)> callback;  // async; else a blocking caller waits
    bool done = false;
    std::string error;
  };
  struct Statements;
  void open_checked();  // opens db_, checks it and creates the tables; throws StoreError
  void writer_loop();
  void completion_loop();
  void apply(const Batch& b);
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> st_;  // the writer thread's
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Pending*> queue_;
  std::deque<std::unique_ptr<Pending>> completions_;  // durable (or failed) async batches
  std::uint64_t queued_ = 0, answered_ = 0;           // batches ever queued, and written or failed
  std::deque<std::pair<std::uint64_t, std::function<void()>>> readers_;  // (queued_ then, ready)
  std::condition_variable completion_cv_;
  bool stopping_ = false;
  bool writer_done_ = false;
  StoreStats stats_;
  std::atomic<std::int64_t> commit_delay_ms_{0};
  std::thread writer_, completer_;
};

}  // namespace hf::node

#include "net/node/store.hpp"

#include <sqlite3.h>

#include "hashforge/thread_name.hpp"

namespace hf::node {

namespace {

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) st_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return st_ != nullptr; }
  void text(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  int step() { return sqlite3_step(st_); }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string column_text(int i) {
    const unsigned char* p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i)))
             : std::string();
  }
  std::int64_t column_int(int i) { return sqlite3_column_int64(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
};

const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blocks(seq INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " parent TEXT NOT NULL, height INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS blocks_parent ON blocks(parent);"
    // Keyed by arrival order alone: an index on txids (random hashes) would touch a random
    // page per transaction and multiply what each group commit writes.
    "CREATE TABLE IF NOT EXISTS pending(seq INTEGER PRIMARY KEY, txid TEXT NOT NULL, body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS peers(url TEXT PRIMARY KEY);";

}  // namespace

Store::Store(std::string path) : path_(std::move(path)) {
  try {
    open_checked();
  } catch (...) {
    // close_v2: a statement still alive in the unwinding frames does not keep it open.
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
  writer_ = std::thread([this] {
    name_this_thread("hf-store-write");
    writer_loop();
  });
  completer_ = std::thread([this] {
    name_this_thread("hf-store-done");
    completion_loop();
  });
}

void Store::open_checked() {
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail("cannot open");
  sqlite3_busy_timeout(db_, 5000);
  // A file that is not a database, or whose pages are damaged, fails one of these.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  Stmt check(db_, "PRAGMA quick_check");
  if (!check.ok() || check.step() != SQLITE_ROW) fail("cannot check");
  std::string verdict = check.column_text(0);
  if (verdict != "ok")
    throw StoreError("node database " + path_ + " is corrupt (" + verdict.substr(0, 200) + "); restore it or start afresh");
  exec(kSchema);
}

Store::~Store() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  completion_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
  st_.reset();
  if (db_) sqlite3_close(db_);
}

void Store::fail(const std::string& what) {
  throw StoreError("node database " + path_ + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError("node database " + path_ + ": " + e);
  }
}

Loaded Store::load() {
  std::lock_guard lk(mu_);
  Loaded out;
  {
    Stmt s(db_, "SELECT hash, parent, height, body FROM blocks ORDER BY seq");
    if (!s.ok()) fail("cannot read blocks");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      out.blocks.push_back({s.column_text(0), s.column_text(1), s.column_int(2), s.column_text(3)});
    if (rc != SQLITE_DONE) fail("cannot read blocks");
  }
  {
    Stmt s(db_, "SELECT seq, txid, body FROM pending ORDER BY seq");
    if (!s.ok()) fail("cannot read pending transactions");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.pending.push_back({s.column_int(0), s.column_text(1), s.column_text(2)});
    if (rc != SQLITE_DONE) fail("cannot read pending transactions");
  }
  {
    Stmt s(db_, "SELECT url FROM peers ORDER BY url");
    if (!s.ok()) fail("cannot read peers");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.peers.push_back(s.column_text(0));
    if (rc != SQLITE_DONE) fail("cannot read peers");
  }
  {
    Stmt s(db_, "SELECT value FROM meta WHERE key = 'spec_id'");
    if (!s.ok()) fail("cannot read meta");
    if (s.step() == SQLITE_ROW) out.spec_id = s.column_text(0);
  }
  return out;
}

void Store::bind_spec(const std::string& spec_id) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'spec_id'");
  if (!s.ok()) fail("cannot read meta");
  if (s.step() == SQLITE_ROW) {
    std::string have = s.column_text(0);
    if (have != spec_id)
      throw StoreError("node database " + path_ + " belongs to another network (chain spec " + have.substr(0, 16) +
                       ", this node runs " + spec_id.substr(0, 16) + ")");
    return;
  }
  Stmt put(db_, "INSERT INTO meta(key, value) VALUES('spec_id', ?1)");
  put.text(1, spec_id);
  if (put.step() != SQLITE_DONE) fail("cannot write meta");
}

void Store::rewrite_blocks(const std::vector<StoredBlock>& blocks) {
  std::lock_guard lk(mu_);
  exec("BEGIN IMMEDIATE");
  try {
    exec("DELETE FROM blocks");
    Stmt ins(db_, "INSERT INTO blocks(hash, parent, height, body) VALUES(?1, ?2, ?3, ?4)");
    if (!ins.ok()) fail("cannot write blocks");
    for (const auto& b : blocks) {
      ins.text(1, b.hash);
      ins.text(2, b.parent);
      ins.integer(3, b.height);
      ins.text(4, b.body);
      if (ins.step() != SQLITE_DONE) fail("cannot write a block");
      ins.reset();
    }
    exec("REINDEX");
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Store::commit_async(Batch b, std::function<void(const std::string&)> done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      queue_.push_back(new Pending{std::move(b), std::move(done), false, {}});
      ++queued_;
      work_cv_.notify_one();
      return;
    }
  }
  done("node database " + path_ + ": closing");
}

void Store::completion_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    completion_cv_.wait(lk, [&] { return !completions_.empty() || writer_done_; });
    if (completions_.empty()) return;  // the writer is gone and everything is answered
    std::deque<std::unique_ptr<Pending>> ready;
    ready.swap(completions_);
    lk.unlock();
    for (auto& p : ready) p->callback(p->error);
    lk.lock();
  }
}

void Store::commit(Batch b) {
  if (b.empty()) return;
  Pending p{std::move(b), {}, false, {}};
  std::unique_lock lk(mu_);
  if (stopping_) throw StoreError("node database " + path_ + ": closing");
  queue_.push_back(&p);
  ++queued_;
  work_cv_.notify_one();
  done_cv_.wait(lk, [&] { return p.done; });
  if (!p.error.empty()) throw StoreError(p.error);
}

bool Store::durable_or_notify(std::function<void()> ready) {
  std::lock_guard lk(mu_);
  if (answered_ == queued_) return true;
  readers_.emplace_back(queued_, std::move(ready));
  return false;
}

StoreStats Store::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

// The writer's statements, prepared once: a group commit is a handful of inserts and one
// fsync, and preparing five statements each time would be a good part of its CPU.
struct Store::Statements {
  explicit Statements(sqlite3* db)
      : add_block(db, "INSERT OR IGNORE INTO blocks(hash, parent, height, body) VALUES(?1, ?2, ?3, ?4)"),
        drop_pending(db, "DELETE FROM pending WHERE seq = ?1"),
        add_pending(db, "INSERT OR IGNORE INTO pending(seq, txid, body) VALUES(?1, ?2, ?3)"),
        add_peer(db, "INSERT OR IGNORE INTO peers(url) VALUES(?1)"),
        drop_peer(db, "DELETE FROM peers WHERE url = ?1") {}
  bool ok() const { return add_block.ok() && drop_pending.ok() && add_pending.ok() && add_peer.ok() && drop_peer.ok(); }
  Stmt add_block, drop_pending, add_pending, add_peer, drop_peer;
};

void Store::apply(const Batch& b) {
  if (!st_) {
    st_ = std::make_unique<Statements>(db_);
    if (!st_->ok()) {
      st_.reset();
      fail("cannot prepare statements");
    }
  }
  // Each statement is reset before use: one that failed last time is left mid-step.
  auto run = [&](Stmt& s, const char* what) {
    int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) fail(what);
  };
  for (const auto& blk : b.blocks) {
    Stmt& s = st_->add_block;
    s.reset();
    s.text(1, blk.hash);
    s.text(2, blk.parent);
    s.integer(3, blk.height);
    s.text(4, blk.body);
    run(s, "cannot write a block");
  }
  for (std::int64_t seq : b.drop_pending) {
    st_->drop_pending.reset();
    st_->drop_pending.integer(1, seq);
    run(st_->drop_pending, "cannot drop a pending transaction");
  }
  for (const auto& tx : b.add_pending) {
    st_->add_pending.reset();
    st_->add_pending.integer(1, tx.seq);
    st_->add_pending.text(2, tx.txid);
    st_->add_pending.text(3, tx.body);
    run(st_->add_pending, "cannot write a pending transaction");
  }
  for (const auto& u : b.add_peers) {
    st_->add_peer.reset();
    st_->add_peer.text(1, u);
    run(st_->add_peer, "cannot write a peer");
  }
  for (const auto& u : b.drop_peers) {
    st_->drop_peer.reset();
    st_->drop_peer.text(1, u);
    run(st_->drop_peer, "cannot drop a peer");
  }
}

void Store::writer_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {  // stopping, nothing left
      writer_done_ = true;
      completion_cv_.notify_all();
      return;
    }
    std::deque<Pending*> group;
    group.swap(queue_);
    lk.unlock();
    if (const std::int64_t ms = commit_delay_ms_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    // One transaction and one fsync for the whole group. Should it fail, each batch is
    // tried again in a transaction of its own, so one bad batch fails alone.
    try {
      exec("BEGIN IMMEDIATE");
      for (Pending* p : group) apply(p->batch);
      exec("COMMIT");
    } catch (const StoreError&) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (Pending* p : group) {
        try {
          exec("BEGIN IMMEDIATE");
          apply(p->batch);
          exec("COMMIT");
        } catch (const StoreError& e) {
          p->error = e.what();
          sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
      }
    }
    lk.lock();
    ++stats_.commits;
    stats_.batches += group.size();
    bool async = false;
    for (Pending* p : group) {
      p->done = true;
      if (p->callback) {
        completions_.emplace_back(p);  // owned from here on
        async = true;
      }
    }
    // Batches are written in the order queued, so a reader waits for a count; its callback
    // joins the completions after the batches' own, keeping their order.
    answered_ += group.size();
    while (!readers_.empty() && readers_.front().first <= answered_) {
      auto ready = std::move(readers_.front().second);
      readers_.pop_front();
      completions_.push_back(std::make_unique<Pending>(
          Pending{{}, [ready = std::move(ready)](const std::string&) { ready(); }, true, {}}));
      async = true;
    }
    done_cv_.notify_all();
    if (async) completion_cv_.notify_one();
  }
}

}  // namespace hf::node

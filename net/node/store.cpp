#include "net/node/store.hpp"

#include <sqlite3.h>

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
  void text(int i, const std::string& s) { sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  int step() { return sqlite3_step(st_); }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string column_text(int i) {
    const unsigned char* p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i))) : std::string();
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
    "CREATE TABLE IF NOT EXISTS pending(seq INTEGER PRIMARY KEY, txid TEXT NOT NULL UNIQUE, body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS peers(url TEXT PRIMARY KEY);";

}  // namespace

Store::Store(std::string path) : path_(std::move(path)) {
  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail("cannot open");
  sqlite3_busy_timeout(db_, 5000);
  // A file that is not a database, or whose pages are damaged, fails one of these.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  {
    Stmt check(db_, "PRAGMA quick_check");
    if (!check.ok()) fail("cannot check");
    int r = check.step();
    if (r != SQLITE_ROW) fail("cannot check");
    std::string verdict = check.column_text(0);
    if (verdict != "ok") {
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError("node database " + path_ + " is corrupt (" + verdict.substr(0, 200) + "); restore it or start afresh");
    }
  }
  exec(kSchema);
  writer_ = std::thread([this] { writer_loop(); });
}

Store::~Store() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_) sqlite3_close(db_);
}

void Store::fail(const std::string& what) {
  std::string msg = "node database " + path_ + ": " + what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
  if (db_ && !writer_.joinable()) {
    sqlite3_close(db_);
    db_ = nullptr;
  }
  throw StoreError(msg);
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
    Stmt s(db_, "SELECT txid, body FROM pending ORDER BY seq");
    if (!s.ok()) fail("cannot read pending transactions");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.pending.push_back({s.column_text(0), s.column_text(1)});
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

void Store::commit(Batch b) {
  if (b.empty()) return;
  Pending p{std::move(b), false, {}};
  std::unique_lock lk(mu_);
  if (stopping_) throw StoreError("node database " + path_ + ": closing");
  queue_.push_back(&p);
  work_cv_.notify_one();
  done_cv_.wait(lk, [&] { return p.done; });
  if (!p.error.empty()) throw StoreError(p.error);
}

StoreStats Store::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void Store::apply(const Batch& b) {
  // Statements are prepared per group rather than kept: a group is one fsync, which costs
  // far more than preparing five statements.
  if (!b.blocks.empty()) {
    Stmt ins(db_, "INSERT OR IGNORE INTO blocks(hash, parent, height, body) VALUES(?1, ?2, ?3, ?4)");
    if (!ins.ok()) fail("cannot write blocks");
    for (const auto& blk : b.blocks) {
      ins.text(1, blk.hash);
      ins.text(2, blk.parent);
      ins.integer(3, blk.height);
      ins.text(4, blk.body);
      if (ins.step() != SQLITE_DONE) fail("cannot write a block");
      ins.reset();
    }
  }
  if (!b.drop_pending.empty()) {
    Stmt del(db_, "DELETE FROM pending WHERE txid = ?1");
    for (const auto& id : b.drop_pending) {
      del.text(1, id);
      if (del.step() != SQLITE_DONE) fail("cannot drop a pending transaction");
      del.reset();
    }
  }
  if (!b.add_pending.empty()) {
    Stmt ins(db_, "INSERT OR IGNORE INTO pending(txid, body) VALUES(?1, ?2)");
    for (const auto& tx : b.add_pending) {
      ins.text(1, tx.txid);
      ins.text(2, tx.body);
      if (ins.step() != SQLITE_DONE) fail("cannot write a pending transaction");
      ins.reset();
    }
  }
  if (!b.add_peers.empty()) {
    Stmt ins(db_, "INSERT OR IGNORE INTO peers(url) VALUES(?1)");
    for (const auto& u : b.add_peers) {
      ins.text(1, u);
      if (ins.step() != SQLITE_DONE) fail("cannot write a peer");
      ins.reset();
    }
  }
  if (!b.drop_peers.empty()) {
    Stmt del(db_, "DELETE FROM peers WHERE url = ?1");
    for (const auto& u : b.drop_peers) {
      del.text(1, u);
      if (del.step() != SQLITE_DONE) fail("cannot drop a peer");
      del.reset();
    }
  }
}

void Store::writer_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::deque<Pending*> group;
    group.swap(queue_);
    lk.unlock();
    // One transaction and one fsync for the whole group. A batch that fails is rolled back
    // to its savepoint alone; the others still commit.
    std::string group_error;
    try {
      exec("BEGIN IMMEDIATE");
      for (Pending* p : group) {
        exec("SAVEPOINT batch");
        try {
          apply(p->batch);
          exec("RELEASE batch");
        } catch (const StoreError& e) {
          p->error = e.what();
          sqlite3_exec(db_, "ROLLBACK TO batch; RELEASE batch", nullptr, nullptr, nullptr);
        }
      }
      exec("COMMIT");
    } catch (const StoreError& e) {
      group_error = e.what();
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    lk.lock();
    ++stats_.commits;
    stats_.batches += group.size();
    for (Pending* p : group) {
      if (!group_error.empty() && p->error.empty()) p->error = group_error;
      p->done = true;
    }
    done_cv_.notify_all();
  }
}

}  // namespace hf::node

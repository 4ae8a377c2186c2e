#include "net/torrent/tracker_history.hpp"

#include <sqlite3.h>

#include <array>
#include <optional>

namespace hf::torrent::tracker {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS samples ("
    " id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, torrents INTEGER NOT NULL, peers INTEGER NOT NULL,"
    " seeders INTEGER NOT NULL, leechers INTEGER NOT NULL, completed INTEGER NOT NULL, announces INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS samples_ts ON samples(ts);";

// Statements finalized on every path.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  int step() { return sqlite3_step(st_); }
  std::int64_t col(int i) { return sqlite3_column_int64(st_, i); }
  bool null(int i) { return sqlite3_column_type(st_, i) == SQLITE_NULL; }

 private:
  sqlite3_stmt* st_ = nullptr;
  bool ok_ = false;
};

// The longest window and a bucket of slack: older rows are never shown.
std::int64_t retention_seconds() {
  std::int64_t r = 0;
  for (const auto& w : history_windows()) r = std::max(r, w.bucket_seconds * (w.bars + 1));
  return r;
}

}  // namespace

const std::vector<Window>& history_windows() {
  static const std::vector<Window> w = {
      {"1h", 60, 60},
      {"5h", 300, 60},
      {"1d", 1440, 60},
      {"3d", 4320, 60},
  };
  return w;
}

History::History(std::string path) : path_(std::move(path)) {
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    fail("cannot open");
  sqlite3_busy_timeout(db_, 2000);
  // A file that is not a database fails here. NORMAL, not FULL: a lost last sample after a
  // power cut costs one bar of a chart.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec(kSchema);
}

History::~History() {
  if (db_) sqlite3_close(db_);
}

void History::fail(const std::string& what) {
  const std::string err = db_ ? sqlite3_errmsg(db_) : "out of memory";
  if (db_) {
    sqlite3_close(db_);
    db_ = nullptr;
  }
  throw HistoryError("tracker history " + path_ + ": " + what + ": " + err);
}

void History::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown error";
    sqlite3_free(err);
    if (db_) {
      sqlite3_close(db_);
      db_ = nullptr;
    }
    throw HistoryError("tracker history " + path_ + ": " + e);
  }
}

void History::add(const Sample& s) {
  Stmt ins(db_,
           "INSERT INTO samples (ts, torrents, peers, seeders, leechers, completed, announces) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) throw HistoryError("tracker history " + path_ + ": " + sqlite3_errmsg(db_));
  ins.bind(1, s.unix_time);
  ins.bind(2, static_cast<std::int64_t>(s.torrents));
  ins.bind(3, static_cast<std::int64_t>(s.peers));
  ins.bind(4, static_cast<std::int64_t>(s.seeders));
  ins.bind(5, static_cast<std::int64_t>(s.leechers));
  ins.bind(6, static_cast<std::int64_t>(s.completed));
  ins.bind(7, static_cast<std::int64_t>(s.announces));
  if (ins.step() != SQLITE_DONE) throw HistoryError("tracker history " + path_ + ": " + sqlite3_errmsg(db_));
  Stmt del(db_, "DELETE FROM samples WHERE ts < ?");
  if (del.ok()) {
    del.bind(1, s.unix_time - retention_seconds());
    del.step();
  }
}

std::size_t History::rows() {
  Stmt q(db_, "SELECT COUNT(*) FROM samples");
  if (!q.ok() || q.step() != SQLITE_ROW) return 0;
  return static_cast<std::size_t>(q.col(0));
}

std::string History::windows_json(std::int64_t now) {
  static constexpr std::array<const char*, 6> kSeries = {"torrents", "peers",     "seeders",
                                                         "leechers", "completed", "announces"};
  std::string out = "{\"windows\":[";
  bool first_window = true;
  for (const auto& w : history_windows()) {
    const std::int64_t last = now / w.bucket_seconds;
    const std::int64_t first = last - w.bars + 1;
    std::vector<std::array<std::optional<std::int64_t>, 6>> bars(static_cast<std::size_t>(w.bars));
    Stmt q(db_,
           "SELECT ts / ?1 AS b, MAX(torrents), MAX(peers), MAX(seeders), MAX(leechers), SUM(completed), "
           "SUM(announces) FROM samples WHERE ts >= ?2 AND ts < ?3 GROUP BY b");
    if (!q.ok()) throw HistoryError("tracker history " + path_ + ": " + sqlite3_errmsg(db_));
    q.bind(1, w.bucket_seconds);
    q.bind(2, first * w.bucket_seconds);
    q.bind(3, (last + 1) * w.bucket_seconds);
    while (q.step() == SQLITE_ROW) {
      const std::int64_t b = q.col(0) - first;
      if (b < 0 || b >= w.bars) continue;
      for (int i = 0; i < 6; ++i)
        if (!q.null(i + 1)) bars[static_cast<std::size_t>(b)][static_cast<std::size_t>(i)] = q.col(i + 1);
    }
    if (!first_window) out += ',';
    first_window = false;
    out += "{\"name\":\"";
    out += w.name;
    out += "\",\"seconds\":" + std::to_string(w.bucket_seconds * w.bars);
    out += ",\"bucket_seconds\":" + std::to_string(w.bucket_seconds);
    out += ",\"start\":" + std::to_string(first * w.bucket_seconds);
    for (std::size_t i = 0; i < kSeries.size(); ++i) {
      out += ",\"";
      out += kSeries[i];
      out += "\":[";
      for (std::size_t b = 0; b < bars.size(); ++b) {
        if (b) out += ',';
        out += bars[b][i] ? std::to_string(*bars[b][i]) : "null";
      }
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace hf::torrent::tracker

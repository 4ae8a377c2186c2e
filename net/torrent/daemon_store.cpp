#include "net/torrent/daemon_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace hf::torrent {

namespace {

// Peers as one text column, one "host:port" a line.
std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    s += x;
    s += '\n';
  }
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t nl = s.find('\n', at);
    const std::size_t end = nl == std::string::npos ? s.size() : nl;
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))) : std::string();
}

}  // namespace

DaemonStore::DaemonStore(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("the daemon's database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db_, 2000);
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS torrents(id INTEGER PRIMARY KEY, info_hash TEXT NOT NULL UNIQUE, name TEXT,"
      " dir TEXT NOT NULL, torrent BLOB, magnet TEXT, peers TEXT, paused INTEGER NOT NULL DEFAULT 0,"
      " up_limit REAL NOT NULL DEFAULT 0, down_limit REAL NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS limits(id INTEGER PRIMARY KEY CHECK(id = 1), up REAL NOT NULL,"
      " down REAL NOT NULL, connections INTEGER NOT NULL)";
  if (sqlite3_exec(db_, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("the daemon's database " + path + ": " + why);
  }
}

DaemonStore::~DaemonStore() { sqlite3_close(db_); }

std::vector<StoredTorrent> DaemonStore::load() {
  std::vector<StoredTorrent> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, info_hash, name, dir, torrent, magnet, peers, paused, up_limit, down_limit"
                         " FROM torrents ORDER BY id",
                         -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("the daemon's database: ") + sqlite3_errmsg(db_));
  while (sqlite3_step(st) == SQLITE_ROW) {
    StoredTorrent t;
    t.id = sqlite3_column_int(st, 0);
    t.info_hash = column_text(st, 1);
    t.name = column_text(st, 2);
    t.dir = column_text(st, 3);
    t.torrent = column_text(st, 4);
    t.magnet = column_text(st, 5);
    t.peers = split_lines(column_text(st, 6));
    t.paused = sqlite3_column_int(st, 7) != 0;
    t.up_limit = sqlite3_column_double(st, 8);
    t.down_limit = sqlite3_column_double(st, 9);
    out.push_back(std::move(t));
  }
  sqlite3_finalize(st);
  return out;
}

bool DaemonStore::save(const StoredTorrent& t, std::string* why) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO torrents(id, info_hash, name, dir, torrent, magnet, peers, paused,"
                         " up_limit, down_limit) VALUES(?,?,?,?,?,?,?,?,?,?)",
                         -1, &st, nullptr) != SQLITE_OK) {
    *why = sqlite3_errmsg(db_);
    return false;
  }
  const std::string peers = join_lines(t.peers);
  sqlite3_bind_int(st, 1, t.id);
  sqlite3_bind_text(st, 2, t.info_hash.data(), static_cast<int>(t.info_hash.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, t.name.data(), static_cast<int>(t.name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, t.dir.data(), static_cast<int>(t.dir.size()), SQLITE_TRANSIENT);
  if (t.torrent.empty()) sqlite3_bind_null(st, 5);
  else sqlite3_bind_blob(st, 5, t.torrent.data(), static_cast<int>(t.torrent.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, t.magnet.data(), static_cast<int>(t.magnet.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 7, peers.data(), static_cast<int>(peers.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 8, t.paused ? 1 : 0);
  sqlite3_bind_double(st, 9, t.up_limit);
  sqlite3_bind_double(st, 10, t.down_limit);
  const bool ok = sqlite3_step(st) == SQLITE_DONE;
  if (!ok) *why = sqlite3_errmsg(db_);
  sqlite3_finalize(st);
  return ok;
}

bool DaemonStore::remove(int id, std::string* why) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM torrents WHERE id = ?", -1, &st, nullptr) != SQLITE_OK) {
    *why = sqlite3_errmsg(db_);
    return false;
  }
  sqlite3_bind_int(st, 1, id);
  const bool ok = sqlite3_step(st) == SQLITE_DONE;
  if (!ok) *why = sqlite3_errmsg(db_);
  sqlite3_finalize(st);
  return ok;
}

DaemonLimits DaemonStore::load_limits() {
  DaemonLimits l;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT up, down, connections FROM limits WHERE id = 1", -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("the daemon's database: ") + sqlite3_errmsg(db_));
  if (sqlite3_step(st) == SQLITE_ROW) {
    l.up = sqlite3_column_double(st, 0);
    l.down = sqlite3_column_double(st, 1);
    l.connections = sqlite3_column_int64(st, 2);
  }
  sqlite3_finalize(st);
  return l;
}

bool DaemonStore::save_limits(const DaemonLimits& l, std::string* why) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO limits(id, up, down, connections) VALUES(1, ?, ?, ?)", -1, &st,
                         nullptr) != SQLITE_OK) {
    *why = sqlite3_errmsg(db_);
    return false;
  }
  sqlite3_bind_double(st, 1, l.up);
  sqlite3_bind_double(st, 2, l.down);
  sqlite3_bind_int64(st, 3, l.connections);
  const bool ok = sqlite3_step(st) == SQLITE_DONE;
  if (!ok) *why = sqlite3_errmsg(db_);
  sqlite3_finalize(st);
  return ok;
}

}  // namespace hf::torrent

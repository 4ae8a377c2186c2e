// What the torrent daemon keeps across restarts, in SQLite (ROOT/.hashforge/daemon.db): each
// torrent's source (the .torrent bytes, or the magnet link until its metadata is in), its
// folder under the root, the peers it was given, whether it is paused and its limits.
// Written at every change (WAL, synchronous=NORMAL); a restart relaunches what was running.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace hf::torrent {

struct StoredTorrent {
  int id = 0;
  std::string info_hash, name;
  std::string dir;      // relative to the root ("" for the root itself)
  std::string torrent;  // the .torrent's bytes, when known
  std::string magnet;   // else the magnet link
  std::vector<std::string> peers;
  bool paused = false;
  double up_limit = 0, down_limit = 0;
};

// Limits across every torrent of the daemon (0: none).
struct DaemonLimits {
  double up = 0, down = 0;      // bytes a second
  std::int64_t connections = 0;  // peer connections
};

class DaemonStore {
 public:
  // Opens (creates) the database; throws std::runtime_error with one line.
  explicit DaemonStore(const std::string& path);
  ~DaemonStore();
  DaemonStore(const DaemonStore&) = delete;
  DaemonStore& operator=(const DaemonStore&) = delete;

  std::vector<StoredTorrent> load();
  // Insert or replace by id. Returns false (with a log-worthy *why) on a database error.
  bool save(const StoredTorrent& t, std::string* why);
  bool remove(int id, std::string* why);
  DaemonLimits load_limits();  // all zero until saved
  bool save_limits(const DaemonLimits& l, std::string* why);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace hf::torrent

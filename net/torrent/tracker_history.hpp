// The stats page's history (docs/tracker.md): one row a sample interval in an SQLite file
// (active torrents, peers, seeders, leechers, completed downloads and announces since the
// sample before), so the charts survive a restart while swarms live in memory only. Rows
// older than the longest window (3 days) are deleted as new ones arrive.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace hf::torrent::tracker {

struct HistoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Sample {
  std::int64_t unix_time = 0;
  std::uint64_t torrents = 0, peers = 0, seeders = 0, leechers = 0;
  std::uint64_t completed = 0;  // in the interval that ends here
  std::uint64_t announces = 0;  // likewise
};

// A chart's window: `bars` buckets of `bucket_seconds`, the last one holding now.
struct Window {
  const char* name;
  std::int64_t bucket_seconds;
  int bars;
};
// 1 hour, 5 hours, 1 day and 3 days, 60 bars each.
const std::vector<Window>& history_windows();

class History {
 public:
  // Opens or creates the database. Throws HistoryError (one line naming the file) when it
  // cannot be opened or is not a database.
  explicit History(std::string path);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  void add(const Sample& s);
  // {"windows": [{"name", "seconds", "bucket_seconds", "start", "torrents": [...], "peers",
  // "seeders", "leechers", "completed", "announces"}, ...]}: per bar the largest sample
  // (torrents, peers...) or the sum (completed, announces); null for a bar without samples.
  std::string windows_json(std::int64_t now_unix);
  std::size_t rows();

 private:
  [[noreturn]] void fail(const std::string& what);
  void exec(const char* sql);
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace hf::torrent::tracker

// The stats history (net/torrent/tracker_history.*): samples into bars per window, kept
// across a reopen, old rows pruned, a file that is not a database refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "net/torrent/tracker_history.hpp"

namespace tr = hf::torrent::tracker;

namespace {

struct TempDb {
  std::string path;
  TempDb() {
    char tmpl[] = "/tmp/hf-tracker-history-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    path = tmpl;
    std::remove(path.c_str());
  }
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

tr::Sample sample(std::int64_t t, std::uint64_t peers, std::uint64_t completed) {
  tr::Sample s;
  s.unix_time = t;
  s.torrents = peers / 2;
  s.peers = peers;
  s.seeders = 1;
  s.leechers = peers - 1;
  s.completed = completed;
  s.announces = 10;
  return s;
}

// The array of `series` in window `name`, as text ("[null,3,...]").
std::string series(const std::string& json, const std::string& name, const std::string& key) {
  const std::size_t w = json.find("\"name\":\"" + name + "\"");
  EXPECT_NE(w, std::string::npos);
  const std::size_t k = json.find("\"" + key + "\":[", w);
  const std::size_t end = json.find(']', k);
  return json.substr(k + key.size() + 3, end - (k + key.size() + 3) + 1);
}

}  // namespace

TEST(TrackerHistory, BarsPerWindow) {
  TempDb db;
  tr::History h(db.path);
  const std::int64_t now = 1'800'000'000;  // a multiple of 60 and of 4320? no matter: bars align to the epoch
  const std::int64_t minute = now / 60 * 60;
  h.add(sample(minute - 120 + 5, 10, 1));
  h.add(sample(minute - 120 + 35, 14, 2));  // same minute: peers max 14, completed 1 + 2
  h.add(sample(minute + 1, 6, 0));
  const std::string json = h.windows_json(minute + 30);
  const std::string peers = series(json, "1h", "peers");
  // 60 bars, the last is the current minute, two before it the busy one.
  EXPECT_EQ(std::count(peers.begin(), peers.end(), ','), 59);
  EXPECT_NE(peers.find("14,null,6]"), std::string::npos) << peers;
  EXPECT_NE(series(json, "1h", "completed").find("3,null,0]"), std::string::npos);
  EXPECT_NE(series(json, "1h", "torrents").find("7,null,3]"), std::string::npos);
  // The 3-day window puts them all in its last bar or the one before.
  const std::string wide = series(json, "3d", "completed");
  const auto nulls = std::count(wide.begin(), wide.end(), 'n');
  EXPECT_TRUE(nulls == 58 || nulls == 59) << wide;
  EXPECT_NE(json.find("\"bucket_seconds\":4320"), std::string::npos);
}

TEST(TrackerHistory, SurvivesReopenAndPrunesOldRows) {
  TempDb db;
  const std::int64_t now = 1'800'000'000;
  {
    tr::History h(db.path);
    h.add(sample(now - 5 * 86400, 99, 9));  // older than any window
    h.add(sample(now - 100, 8, 1));
    h.add(sample(now, 8, 1));
    EXPECT_EQ(h.rows(), 2u) << "the 5-day-old row went when newer ones came";
  }
  tr::History again(db.path);
  EXPECT_EQ(again.rows(), 2u);
  EXPECT_NE(series(again.windows_json(now), "1h", "peers").find("8]"), std::string::npos);
}

TEST(TrackerHistory, RefusesAFileThatIsNotADatabase) {
  TempDb db;
  {
    std::ofstream f(db.path);
    f << std::string(4096, 'x');
  }
  try {
    tr::History h(db.path);
    FAIL() << "opened a text file as a database";
  } catch (const tr::HistoryError& e) {
    EXPECT_NE(std::string(e.what()).find(db.path), std::string::npos) << e.what();
  }
}

// The mining loop of `hashforge worker`: turns Stratum work (a job, the connection's
// extranonce and the share difficulty) into engine searches over whole headers. Each search
// covers all 2^32 nonces of one extranonce2; the next extranonce2 follows, so a fast device
// never repeats work. ntime moves with the clock, at most 600 s past the job's. New work
// cancels the running search (the engine stops within one chunk).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hashforge/engine.hpp"
#include "net/mining/rate_meter.hpp"
#include "net/mining/stratum_job.hpp"

namespace hf::worker {

struct Work {
  std::shared_ptr<const mining::StratumJob> job;
  Bytes extranonce1;
  std::size_t extranonce2_size = 4;
  double difficulty = 1;
  std::chrono::steady_clock::time_point received;
  std::uint64_t epoch = 0;  // changes when older shares become worthless (clean job, new extranonce)
};

struct FoundShare {
  std::string job_id, extranonce2, ntime, nonce;  // as mining.submit sends them
  std::uint64_t epoch;                            // Work::epoch of the work it was found on
};

// One range of the file task (hashforge.file.range): search it for the lowest SHA-256 of
// the file with the line "<nonce> <identifier>" appended.
struct FileRange {
  std::string task;
  unsigned round = 0;
  std::uint64_t range_id = 0;
  std::shared_ptr<const Bytes> input;
  std::string identifier;
  NonceRange range;
};

struct FileReport {
  FileRange work;
  std::vector<NonceRange> covered;  // searched, merged, in order
  std::optional<Hit> best;
  double seconds = 0;
};

struct MinerConfig {
  std::string backend;  // engine backend spec: a name, a list, or all; empty: the best
  unsigned threads = 0;
  double duty = 1.0;  // fraction of time spent hashing, (0, 1]
  std::uint32_t ntime_roll = 600;
};

class Miner {
 public:
  // on_share and on_file run on an engine thread; they must only hand the result over.
  Miner(MinerConfig cfg, std::function<void(const FoundShare&)> on_share,
        std::function<void(const FileReport&)> on_file = {});
  ~Miner();
  void set_work(Work w);  // replaces the work and cancels the running search
  // A file range takes precedence over header work; header work set meanwhile waits.
  void set_file_range(FileRange r);
  // Stops the file range now (time is up); what was searched is reported as usual.
  void stop_file();
  void pause();  // no work (disconnected): stop hashing, drop any file range
  void stop();   // ends the mining thread (waits for the running search to stop)
  // Hashes done and the rate over about the last kRateTau seconds of mining. `total` and
  // `per_backend` are effective rates: nonces per second of wall-clock time with the
  // --intensity rests included (what the pool sees, and what is reported to a
  // coordinator); `hashing` is the rate while hashing. Time with no work at all (no pool)
  // is left out.
  struct Rates {
    double total = 0;
    double hashing = 0;
    std::map<std::string, double> per_backend;
    std::uint64_t hashes = 0;
  };
  static constexpr double kRateTau = 10;
  Rates rates() const;
  std::string backend_name() const;

 private:
  void loop();
  void search_one(const Work& w, std::uint64_t extranonce2);
  void search_file(const FileRange& f);
  // Runs `job` over its range in segments of a few seconds (rates show per backend, the
  // duty cycle rests between them). Returns the merged covered ranges; stops when
  // keep_going() turns false. on_segment sees each segment's result.
  std::vector<NonceRange> run_segments(SearchJob job, const RunOptions& ro, const std::function<bool()>& keep_going,
                                       const std::function<void(const SearchResult&)>& on_segment);
  // The rate meters' feeds, under mu_: time since the last feed while work was at hand
  // is rest; a search's progress and its end are work.
  void note_rest_locked(std::chrono::steady_clock::time_point now);
  void note_progress(std::uint64_t done);
  void note_segment(const SearchResult& r);
  RunOptions run_options();
  MinerConfig cfg_;
  std::function<void(const FoundShare&)> on_share_;
  std::function<void(const FileReport&)> on_file_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Work> work_;
  std::optional<FileRange> file_;
  bool file_busy_ = false;      // a file range is being searched (header changes wait)
  std::uint64_t file_gen_ = 0;  // changes when the file range is replaced or stopped
  std::atomic<bool> cancel_{false};
  bool stop_ = false;
  std::chrono::steady_clock::time_point rest_until_{};  // duty cycle: no hashing before this
  // Rates: every segment feeds the meters, however short, and every rest; per backend only
  // the split of the work is kept (shown as shares of the total, so the figures add up).
  mining::RateMeter meter_{kRateTau};
  std::map<std::string, mining::RateMeter> backend_meter_;
  std::optional<std::chrono::steady_clock::time_point> fed_until_;  // unset: no work at hand
  std::chrono::steady_clock::time_point seg_start_{};
  std::uint64_t seg_done_ = 0;  // progress of the running segment already fed
  std::uint64_t hashes_ = 0;
  std::string backend_name_;
  std::thread thread_;
};

}  // namespace hf::worker

// The coordinator's side of the file task, carried over Stratum in
// the hashforge.file.* extension (net/README.md documents the messages):
// - every worker that subscribes gets the file in chunks of at most 16 KiB per line, its
//   length and SHA-256 announced first, and starts only once it confirms both;
// - each ready worker holds one disjoint nonce range at a time, sized by its measured rate
//   to take about --range-seconds (a rate it only claims counts up to a few times the best
//   measured one); a worker that leaves gives its range back, and a range not answered by
//   its deadline is taken back and handed to the others;
// - the best candidate is recomputed here from the reported nonce, never trusted; a claim
//   counts only as a prefix of its range in whole grains, at most the elapsed time at
//   `max_rate`, and is refused when its best hash or a spot check shows it was not searched;
// - a round ends at its time budget plus at most one range deadline whatever clients do:
//   with no answer at all, the coordinator searches a few nonces itself;
// - the state (searched ranges, best line and finder, time spent) is saved atomically after
//   every change, so a restarted coordinator resumes the task;
// - at the end the result file (input + one line per round) and a JSON record of the run
//   are written atomically.
// The plain protocol (SeedServer) feeds its clients' answers into round 1 as well.
#pragma once
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "net/mining/file_task.hpp"

namespace hf::coord {

namespace asio = boost::asio;
namespace json = boost::json;

struct FileTaskConfig {
  std::string file;  // the input text file
  std::string identifier = "G06";
  unsigned rounds = 1;
  double seconds = 60;                             // per round; 0: until the nonce budget is searched
  std::uint64_t nonces = mining::kFileNonceSpace;  // per round
  double range_seconds = 5;                        // a range should take its worker about this long
  double max_rate = 1e11;                          // nonces/s one worker may claim (several times today's fastest GPU)
  std::string result_file;                         // default FILE.result
  std::string record_file;                         // default RESULT.json
  std::string state_file;                          // default RESULT.state.json
};

// A connection taking part (a Stratum session); the runner only sends it lines.
class FilePeer {
 public:
  virtual ~FilePeer() = default;
  virtual void send_line(std::string line) = 0;
  // Sends the file's bytes as hashforge.file.chunk lines, paced by the connection.
  virtual void send_file_chunks(std::shared_ptr<const Bytes> data, std::string task, unsigned round) = 0;
  virtual std::string peer_name() const = 0;
  virtual std::string peer_address() const = 0;
  virtual std::string peer_backend() const = 0;
  virtual double peer_reported_rate() const = 0;
};

class FileTaskRunner {
 public:
  static constexpr std::size_t kChunkBytes = 6144;  // 12 KiB of hex per chunk line
  static constexpr std::size_t kMaxFile = 64u << 20;
  // A worker nobody has measured is assumed this fast (a slow CPU thread): its first range is
  // small, and ranges grow with the rate its results show.
  static constexpr double kFirstRate = 1e6;
  // No rate below this is believed, so a claimed crawl cannot buy a deadline of days.
  static constexpr double kMinRate = 1e4;
  // A rate claimed in hashforge.hello counts up to this many times the best measured rate.
  static constexpr double kClaimedRateCap = 4;
  // A range is taken back when unanswered this many times its expected time plus the slack.
  static constexpr double kDeadlineFactor = 3, kDeadlineSlack = 2;
  // Once time is up: how long a stop is waited for, and plain-protocol answers (seconds).
  static constexpr double kStopGrace = 5, kSeedGrace = 10;
  static constexpr unsigned kSpotChecks = 16;  // random claimed nonces hashed again per result

  FileTaskRunner(asio::io_context& io, FileTaskConfig cfg, std::function<void(const std::string&)> log);
  // Reads the file and any saved state; throws std::runtime_error with one line.
  void start();
  void stop();
  // Called once the last round has ended and the result is written.
  void on_finished(std::function<void()> f) { finished_cb_ = std::move(f); }
  // After the finish: whether the result and the record were both written.
  bool outputs_written() const { return outputs_written_; }
  bool finished() const { return task_->finished(); }
  const mining::FileTask& task() const { return *task_; }
  const FileTaskConfig& config() const { return cfg_; }

  // hashforge.file.subscribe: the peer gets the current round's file. Empty, or why not.
  std::string join(FilePeer* p);
  void leave(FilePeer* p);  // disconnected: its range is free again
  // hashforge.file.ready [task, round, sha256]: the file arrived whole; ranges start.
  std::string ready(FilePeer* p, const json::array& params);
  // hashforge.file.resend [task, round]: the transfer was short or corrupt.
  std::string resend(FilePeer* p, const json::array& params);
  // hashforge.file.result [{task, round, range, covered, best_nonce}]. Empty, or why not.
  std::string result(FilePeer* p, const json::array& params);

  // The plain protocol: a batch of clients got round 1's file; their answers
  // count for round 1, which does not end before the batch does.
  void seed_batch_started(std::size_t clients) {
    seed_pending_ += clients;
    seed_started_ = true;
  }
  // One client's answer (already checked to be 8 lowercase hex), or nullopt if it failed.
  void seed_answer(std::optional<std::uint32_t> nonce, const std::string& who);
  bool seed_round_open() const { return task_->round() == 1 && !task_->finished(); }

  json::object stats() const;

 private:
  struct PeerState {
    bool ready = false;
    unsigned round = 0;          // the round whose file it has
    unsigned refused_round = 0;  // a result of this round was refused: no more ranges in it
    std::optional<NonceRange> range;
    std::uint64_t range_id = 0;
    std::uint64_t late_range_id = 0;  // taken back at its deadline: its answer is refused
    double sent_at = 0;
    double deadline = 0;
    double rate = 0;  // measured from its results
  };
  double now() const;
  void send_begin(FilePeer* p);
  double range_rate(const FilePeer* p, const PeerState& st) const;
  void hand_range(FilePeer* p, PeerState& st);
  void hand_ranges();
  void expire_ranges();
  std::string late_result(FilePeer* p, PeerState& st, const json::object& o);
  void own_search();
  asio::awaitable<void> tick_loop();
  void tick();
  void maybe_end_round();
  void end_round();
  void finish_task();
  void save_state();
  void write_outputs();
  json::object record() const;
  std::shared_ptr<const Bytes> round_input() const;

  asio::io_context& io_;
  FileTaskConfig cfg_;
  std::function<void(const std::string&)> log_;
  std::function<void()> finished_cb_;
  std::optional<mining::FileTask> task_;
  std::map<FilePeer*, PeerState> peers_;
  std::uint64_t next_range_id_ = 1;
  double best_rate_ = 0;  // the best rate any worker has shown by accepted results
  std::mt19937_64 spot_rng_{std::random_device{}()};
  std::size_t seed_pending_ = 0;
  bool seed_started_ = false;    // plain-protocol clients are mining: the clock runs
  bool stopping_round_ = false;  // time is up: no new ranges, waiting for the last results
  double stop_sent_at_ = 0;
  double last_tick_ = 0;
  double last_save_ = 0;
  bool resumed_ = false;
  bool outputs_written_ = false;  // the result and the record, at the task's end
  std::chrono::steady_clock::time_point t0_;
  std::shared_ptr<asio::steady_timer> timer_;
  mutable std::shared_ptr<const Bytes> input_cache_;
  mutable unsigned input_cache_round_ = 0;
  std::string started_at_;  // UTC, for the record
};

}  // namespace hf::coord

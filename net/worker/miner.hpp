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

#include "engine/engine.hpp"
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

struct MinerConfig {
  std::string backend;  // engine backend spec: a name, a list, or all; empty: the best
  unsigned threads = 0;
  double duty = 1.0;    // fraction of time spent hashing, (0, 1]
  std::uint32_t ntime_roll = 600;
};

class Miner {
 public:
  // on_share runs on an engine thread; it must only hand the share over.
  Miner(MinerConfig cfg, std::function<void(const FoundShare&)> on_share);
  ~Miner();
  void set_work(Work w);   // replaces the work and cancels the running search
  void pause();            // no work (disconnected): stop hashing
  void stop();             // ends the mining thread (waits for the running search to stop)
  std::uint64_t generation() const { return gen_.load(); }
  // Hashes done and the current rate, overall and per backend.
  struct Rates {
    double total = 0;
    std::map<std::string, double> per_backend;
    std::uint64_t hashes = 0;
  };
  Rates rates() const;
  std::string backend_name() const;

 private:
  void loop();
  void search_one(const Work& w, std::uint64_t gen, std::uint64_t extranonce2);

  MinerConfig cfg_;
  std::function<void(const FoundShare&)> on_share_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Work> work_;
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<bool> cancel_{false};
  bool stop_ = false;
  // Rates: the live progress of the running search, and decayed totals per backend.
  double live_rate_ = 0, seg_rate_ = 0;
  std::map<std::string, double> backend_rate_;
  std::uint64_t hashes_ = 0;
  std::string backend_name_;
  std::thread thread_;
};

}  // namespace hf::worker

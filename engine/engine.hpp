// The job API: the one entry point the CLI, the mining coordinator and workers, the node and
// the torrent verifier use. The engine knows nothing about sockets, files or JSON.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/batch.hpp"
#include "engine/hasher.hpp"
#include "engine/nonce.hpp"
#include "engine/target.hpp"

namespace hf {

// A job that cannot run as given (bad field, range, target, backend name). what() is one line.
class JobError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SearchJob {
  Algo algo = Algo::sha256d;  // sha256 or sha256d
  Bytes message;              // template; fixed-width fields hold placeholder bytes
  NonceField nonce;
  NonceRange range;
  ByteOrder order = ByteOrder::bitcoin;
  Goal goal = Goal::below_target;
  Key target = Key::max();                         // below_target: hash <= target
  std::optional<std::chrono::nanoseconds> budget;  // stop after this long
  std::size_t max_hits = 1000;                     // below_target: the lowest-nonce hits kept; the rest counted
};

// Which backend searched which nonces: the coverage record of a search on several backends.
struct ChunkRecord {
  NonceRange range;
  std::string backend;
};

struct SearchResult {
  std::vector<Hit> hits;  // below_target, in nonce order
  std::uint64_t dropped_hits = 0;
  std::optional<Hit> best;          // best goal: lowest key, ties to the lowest nonce
  std::vector<NonceRange> covered;  // exactly the nonces searched, merged, in order
  std::vector<ChunkRecord> chunks;  // every chunk searched, in nonce order, with its backend
  std::uint64_t hashes = 0;         // nonces searched (sum of covered)
  bool complete = false;            // the whole range was searched
  bool cancelled = false;
  bool timed_out = false;
  double seconds = 0;
  std::string backend;                // "avx512", or "avx512+opencl:0" for several
  std::vector<std::string> warnings;  // backends that failed and left (their chunks re-searched)
  unsigned threads = 0;               // worker threads: CPU threads plus one per device
  double rate() const { return seconds > 0 ? hashes / seconds : 0; }
};

struct Progress {
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  double seconds = 0;
  double rate = 0;
};

struct RunOptions {
  std::string backend;   // forced backend; empty: $HASHFORGE_BACKEND, else the best
  unsigned threads = 0;  // 0: every core
  std::function<void(const Progress&)> on_progress;
  std::chrono::milliseconds progress_interval{250};
  std::function<void(const Hit&)> on_hit;  // below_target hits in nonce order, as they are final
  // false: every hit goes to on_hit and none is kept in the result (a miner streaming
  // shares); job.max_hits then caps the hits one chunk may hold, not the search's.
  bool keep_hits = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct BackendStatus {
  std::string name, description;
  unsigned lanes = 0;
  bool available = false;  // hardware and OS support it
  std::string why_unavailable;
  bool selftest_ok = false;
  std::string selftest;  // "passed (...)" or the failure
  bool usable() const { return available && selftest_ok; }
};

class Engine {
 public:
  // The process-wide engine: probes the CPU and self-tests every backend once.
  static Engine& instance();

  const std::vector<BackendStatus>& backends() const { return status_; }
  // Finds OpenCL (and later CUDA) devices, builds their kernels and self-tests them, once.
  // Slow (a kernel build per device), so only what needs devices calls it: a forced device
  // name or "all", `hashforge backends`, the benchmarks.
  void probe_devices();
  const std::string& devices_note() const { return devices_note_; }
  Backend* find(std::string_view name) const;  // usable backend by name, or nullptr
  // The backend for op: `forced` (else $HASHFORGE_BACKEND) or the best usable one.
  // Throws JobError naming the problem for an unknown or unusable forced name.
  Backend& resolve(Op op, const std::string& forced) const;
  // A search may run on several backends at once: `spec` is one name, a comma list
  // ("avx512,opencl:0"), or "all" (every usable device plus the best CPU backend).
  std::vector<Backend*> resolve_list(Op op, const std::string& spec) const;
  // Adds a backend (a plugin, or a test double) after a self-test; false if that failed.
  bool add_backend(std::unique_ptr<Backend> be, std::string* why = nullptr);
  std::string best_for(Op op) const;
  // Fastest usable single-stream compression, for streaming hashers.
  const SingleStreamFns& single_stream() const { return *single_; }

  std::string validate(const SearchJob& job) const;  // empty, or a one-line reason
  SearchResult search(const SearchJob& job, const RunOptions& opt = {}) const;

  BatchStats hash_batch(Algo algo, MessageSource& src, const DigestSink& out, const BatchOptions& opt = {}) const;
  // Verify form: expected(i) is message i's expected digest; result(i, ok, actual) per item.
  BatchStats verify_batch(Algo algo, MessageSource& src, const std::function<Digest(std::uint64_t)>& expected,
                          const std::function<void(std::uint64_t, bool, const Digest&)>& result,
                          const BatchOptions& opt = {}) const;

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

 private:
  Engine();
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<BackendStatus> status_;
  const SingleStreamFns* single_;
  std::once_flag probed_;
  std::string devices_note_;
};

unsigned default_threads();
inline constexpr unsigned kMaxThreads = 1024;

}  // namespace hf

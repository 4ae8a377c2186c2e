// The job API: the one entry point the CLI, the mining coordinator and workers, the node and
// the torrent verifier use. The engine knows nothing about sockets, files or JSON.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/batch.hpp"
#include "hashforge/hasher.hpp"
#include "hashforge/nonce.hpp"
#include "hashforge/op.hpp"
#include "hashforge/result.hpp"
#include "hashforge/target.hpp"

namespace hf {

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
  bool device = false;     // a GPU or OpenCL device (fed by a host thread of its own)
  bool available = false;  // hardware and OS support it
  std::string why_unavailable;
  bool selftest_ok = false;
  std::string selftest;  // "passed (...)" or the failure
  std::vector<Op> ops;   // the operations it supports
  bool usable() const { return available && selftest_ok; }
  bool supports(Op op) const;
};

// One measured rate behind the automatic choice: `task` is an operation's name (op_name) or
// "sha256-pairs" (hash_pairs); the rate is items a second on one thread (nonces, bytes or
// 64-byte messages), or on the whole machine for the whole-machine comparisons of devices.
struct MeasuredRate {
  std::string task, backend;
  double rate = 0;
  std::string unit;  // "nonces/s", "bytes/s" or "messages/s"
};

// Where the automatic choice comes from and the rates behind it.
struct BackendChoice {
  // "measured now (N ms)", "cached in PATH", "pinned by HASHFORGE_CHOICE_FILE=PATH", or
  // "fixed ranks: WHY" when no measurement can be had.
  std::string source;
  std::string key;  // the machine key the rates were measured under
  std::vector<MeasuredRate> rates;
  // Whole-machine search rates (every thread, or the device) behind `--backend all` where an
  // OpenCL device runs on this same CPU: the faster of it and the CPU backend is used, not both.
  std::vector<MeasuredRate> whole_machine;
  std::string cache_note;  // empty, or why the cache could not be read or written
};

class Backend;  // engine-internal: the interface a backend implements (plugins, test doubles)

// Every method is safe to call from several threads at once. Failures a caller can cause or
// expect come back as a Result with a one-line reason; exceptions thrown by the caller's own
// callbacks pass through unchanged.
class Engine {
 public:
  // The process-wide engine: probes the CPU and self-tests every CPU backend once.
  static Engine& instance();
  ~Engine();

  // A snapshot of every backend known so far, in the order `hashforge backends` lists them.
  std::vector<BackendStatus> backends() const;
  std::optional<BackendStatus> backend(std::string_view name) const;
  // Finds CUDA and OpenCL devices, builds their kernels and self-tests them, once; later
  // calls return at once. Slow (a kernel build per device), so only what needs devices
  // calls it: a device name or "all" in a backend choice does so implicitly. Locked: other
  // threads may resolve and run jobs meanwhile.
  void probe_devices() const;
  std::string devices_note() const;
  std::string cpu_model() const;  // the CPU's brand string, for every printed result

  // The backend for op: `forced` (else $HASHFORGE_BACKEND) or the best usable one. An
  // unknown or unusable forced name is an error naming the problem.
  Result<std::string> choose(Op op, std::string_view forced = {}) const;
  // A search may run on several backends at once: `spec` is one name, a comma list
  // ("avx512,opencl:0"), or "all" (every usable device plus the best CPU backend).
  Result<std::vector<std::string>> choose_list(Op op, std::string_view spec) const;
  std::string best_for(Op op) const;
  // The rates behind best_for: measured on first need (a calibration of about 300 ms on one
  // thread, every usable CPU backend and task), cached per machine under the user's cache
  // folder, or read from $HASHFORGE_CHOICE_FILE when that pins it.
  BackendChoice backend_choice() const;
  // Measures again now and rewrites the cache (`hashforge bench --calibrate`); an error when
  // the choice is pinned by HASHFORGE_CHOICE_FILE.
  Result<BackendChoice> calibrate() const;

  std::string validate(const SearchJob& job) const;  // empty, or a one-line reason
  Result<SearchResult> search(const SearchJob& job, const RunOptions& opt = {}) const;

  Result<BatchStats> hash_batch(Algo algo, MessageSource& src, const DigestSink& out,
                                const BatchOptions& opt = {}) const;
  // Verify form: expected(i) is message i's expected digest; result(i, ok, actual) per item.
  Result<BatchStats> verify_batch(Algo algo, MessageSource& src, const std::function<Digest(std::uint64_t)>& expected,
                                  const std::function<void(std::uint64_t, bool, const Digest&)>& result,
                                  const BatchOptions& opt = {}) const;

  // A streaming hasher on the fastest single-stream code, or on `backend`'s when it has one
  // (multi-buffer backends have none; they then get the fastest single-stream code too).
  Result<Hasher> hasher(Algo algo, std::string_view backend = {}) const;
  // One message's digest on the fastest single-stream code.
  Digest digest(Algo algo, ByteView data) const;
  // SHA-256 of n 64-byte messages stored back to back (pairs of 32-byte digests: one Merkle
  // tree layer), 32-byte digests to out, which may be in (the layer above then replaces the
  // first half of this one). On the calling thread, on the best CPU backend for hash-sha256
  // (whose kernels treat the fixed padding block as constants); like digest(), not moved by
  // $HASHFORGE_BACKEND.
  void hash_pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out) const;
  // The same on a named backend: a CPU backend on the calling thread, or a device (a layer
  // worth a device: hundreds of thousands of pairs). An unknown or unusable name is an error.
  Result<void> hash_pairs_on(std::string_view backend, const std::uint8_t* in, std::size_t n,
                             std::uint8_t* out) const;

  // Devices: times batch hashing of `count` messages of `size` bytes on one device.
  Result<DeviceBatchTiming> time_device_batch(std::string_view device, Algo algo, std::size_t count,
                                              std::size_t size) const;

  // Adds a backend (a plugin, or a test double) after a self-test; an error says why it is
  // not usable (it is still listed).
  Result<void> add_backend(std::unique_ptr<Backend> be);

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  struct Impl;  // engine-internal
  Impl& impl() const { return *impl_; }

 private:
  Engine();
  std::unique_ptr<Impl> impl_;
};

unsigned default_threads();
inline constexpr unsigned kMaxThreads = 1024;

}  // namespace hf

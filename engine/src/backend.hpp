// The backend interface every hashing device implements (CPU instruction sets now, GPUs
// later). Callers never use a backend directly: they go through the Engine (hashforge/engine.hpp).
#pragma once
#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/op.hpp"
#include "hashforge/target.hpp"
#include "hashforge/types.hpp"
#include "search_plan.hpp"

namespace hf {

struct SingleStreamFns;

// Collects what one backend finds in one chunk of nonces. Backends report candidate lanes
// (key word <= threshold()); the sink re-checks each on the reference path, so a fast path
// can only ever cost time, never a wrong answer.
class SearchSink {
 public:
  SearchSink(const PreparedSearch& ps, Goal goal, const Key& target, std::size_t max_hits,
             std::atomic<std::uint64_t>* progress, const std::optional<Hit>& seed_best);
  std::uint32_t threshold() const { return threshold_; }
  bool is_best_goal() const { return goal_ == Goal::best; }
  void candidate(std::uint64_t nonce);
  void add_done(std::uint64_t n) {
    if (progress_) progress_->fetch_add(n, std::memory_order_relaxed);
  }

  std::vector<Hit> hits;      // below_target: in nonce order, at most max_hits
  std::uint64_t dropped = 0;  // below_target hits beyond max_hits
  std::optional<Hit> best;    // best goal

 private:
  const PreparedSearch& ps_;
  Goal goal_;
  Key target_;
  std::size_t max_hits_;
  std::atomic<std::uint64_t>* progress_;
  std::uint32_t threshold_;
  Bytes scratch_;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual std::string description() const = 0;
  virtual unsigned lanes() const = 0;
  // Empty when the hardware and OS support this backend; otherwise why not.
  virtual std::string unavailable_reason() const = 0;
  virtual bool supports(Op op) const = 0;
  // A device (GPU, or an OpenCL CPU device) takes whole chunks on one host thread and
  // serialises its own work; CPU instruction-set backends run on every scheduler thread.
  virtual bool is_device() const { return false; }
  // A device that computes on this machine's own cores (an OpenCL CPU device such as PoCL):
  // run beside the CPU backends it would only take their cores.
  virtual bool shares_host_cores() const { return false; }
  // How much the engine prefers this backend for op when nothing is forced and nothing was
  // measured: the automatic choice follows the measured rates (registry.cpp), and ranks only
  // order backends that have none (a pinned file naming some, or no measurement at all); 0
  // means never chosen unless named (devices, test doubles, plugins).
  virtual int rank(Op) const { return 0; }
  // Single-stream compression for streaming hashers, if the backend has its own.
  virtual const SingleStreamFns* single_stream() const { return nullptr; }

  // Searches [first, first + count) of one prepared search, reporting into sink, and returns
  // how many nonces from `first` on it covered (less than count only if stop was set).
  virtual std::uint64_t search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count, SearchSink& sink,
                               const std::atomic<bool>& stop) = 0;
  // Digests of many independent messages.
  virtual void hash_many(Algo algo, std::span<const ByteView> msgs, Digest* out) = 0;
  // SHA-256 of n 64-byte messages back to back (one Merkle tree layer), 32-byte digests to out,
  // which may be in; only where has_pairs().
  virtual bool has_pairs() const { return false; }
  virtual void sha256_pairs(const std::uint8_t* /*in*/, std::size_t /*n*/, std::uint8_t* /*out*/) {}
  // Devices: times batch hashing of `count` messages of `size` bytes (see DeviceBatchTiming).
  virtual std::optional<DeviceBatchTiming> time_device_batch(Algo, std::size_t /*count*/, std::size_t /*size*/) {
    return std::nullopt;
  }
};

}  // namespace hf

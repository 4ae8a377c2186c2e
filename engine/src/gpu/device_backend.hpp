// What every device backend (cuda:N, opencl:N) shares: its name and description, a setup
// run once on first use whose failure is the reason the device is unusable, and one job at
// a time per device, entered through one locked, checked, thread-bound path. The search
// driver comes from DeviceSearch.
#pragma once
#include <atomic>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>

#include "backend.hpp"
#include "gpu/device_search.hpp"

namespace hf::gpu {

class DeviceBackend : public Backend, protected DeviceSearch {
 public:
  std::string_view name() const override { return name_; }
  std::string description() const override { return description_; }
  unsigned lanes() const override { return 1; }
  bool is_device() const override { return true; }
  std::string unavailable_reason() const override { return const_cast<DeviceBackend*>(this)->ready(); }

  // The job entry points: one job at a time, on a device that set up, bound to this thread.
  std::uint64_t search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count, SearchSink& sink,
                       const std::atomic<bool>& stop) final {
    std::lock_guard lk(mu_);
    enter();
    return run_search(ps, first, count, sink, stop);
  }
  void hash_many(Algo algo, std::span<const ByteView> msgs, Digest* out) final {
    std::lock_guard lk(mu_);
    enter();
    hash_locked(algo, msgs, out);
  }
  bool has_pairs() const override { return true; }
  void sha256_pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out) final {
    std::lock_guard lk(mu_);
    enter();
    pairs_locked(in, n, out);
  }

 protected:
  explicit DeviceBackend(std::string name) : name_(std::move(name)) {}

  // Builds contexts, kernels and buffers; returns empty or why the device is unusable.
  virtual std::string setup() = 0;
  // setup()'s answer, running it on the first call only.
  std::string ready() {
    std::call_once(once_, [this] { ready_error_ = setup(); });
    return ready_error_;
  }
  // For the job entry points (under mu_): throws, naming the device, when it is unusable,
  // then binds the device to the calling thread where the API needs that.
  void enter() {
    if (std::string why = ready(); !why.empty()) throw std::runtime_error(name_ + ": " + why);
    bind_thread();
  }
  virtual void bind_thread() {}
  // Batch hashing, under mu_ on a ready device.
  virtual void hash_locked(Algo algo, std::span<const ByteView> msgs, Digest* out) = 0;
  // A Merkle tree layer (kernels/pairs_kernel.h), under mu_ on a ready device.
  virtual void pairs_locked(const std::uint8_t* in, std::size_t n, std::uint8_t* out) = 0;

  std::string name_, description_;
  std::mutex mu_;  // one job at a time per device

 private:
  std::once_flag once_;
  std::string ready_error_;
};

}  // namespace hf::gpu

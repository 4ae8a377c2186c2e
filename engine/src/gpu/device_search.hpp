// The host side of a device nonce search, shared by the OpenCL and CUDA backends: launches
// sized to take 10-40 ms, candidates from the append buffer delivered in nonce order, and
// overflow of that buffer handled by searching again, never by losing candidates.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "backend.hpp"
#include "gpu/device_params.hpp"

namespace hf::gpu {

inline constexpr std::uint32_t kCandidateSlots = 1u << 16;  // append buffer slots per launch

class DeviceSearch {
 public:
  virtual ~DeviceSearch() = default;

 protected:
  // Searches [first, first + count) of ps (see Backend::search). The caller holds the
  // device's lock.
  std::uint64_t run_search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count, SearchSink& sink,
                           const std::atomic<bool>& stop);

  // Makes p the parameter block of the next launches and `kind` their kernel.
  virtual void set_params(const std::vector<std::uint32_t>& p, KernelKind kind) = 0;
  // Runs one launch over [base, base + n) (n <= launch size) and returns its head words:
  // head[0] candidates counted (may exceed kCandidateSlots), head[1] the lowest key word.
  virtual void launch(std::uint64_t base, std::uint32_t n, std::uint32_t threshold, std::uint32_t head[2]) = 0;
  // Copies the first `found` candidate ids of the last launch into ids.
  virtual void read_candidates(std::uint32_t found, std::uint32_t* ids) = 0;

  // Work-items per launch: adapted to the measured launch time; stays a power of two
  // times min_launch_ because some runtimes (PoCL) compile a kernel per launch geometry.
  std::uint64_t launch_size_ = 1u << 16;
  std::uint64_t min_launch_ = 256;
  std::uint64_t max_launch_ = 1u << 28;

 private:
  void run_range(std::uint64_t base, std::uint32_t n, SearchSink& sink);
  void deliver(std::uint64_t base, std::uint32_t found, SearchSink& sink);
  std::vector<std::uint32_t> uploaded_, ids_;
};

}  // namespace hf::gpu

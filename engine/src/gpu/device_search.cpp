#include "gpu/device_search.hpp"

#include <algorithm>
#include <chrono>

namespace hf::gpu {

namespace {
constexpr std::uint32_t kBestCandidates = 256;  // more than this in a best search: narrow
constexpr double kLaunchTarget = 0.02;          // seconds per launch: responsive and busy
}  // namespace

std::uint64_t DeviceSearch::run_search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count,
                                       SearchSink& sink, const std::atomic<bool>& stop) {
  std::vector<std::uint32_t> p = device_params(ps);
  if (p != uploaded_) {
    set_params(p, kernel_kind(p));
    uploaded_ = std::move(p);
  }
  std::uint64_t done = 0;
  while (done < count && !stop.load(std::memory_order_relaxed)) {
    const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(launch_size_, count - done));
    const auto t0 = std::chrono::steady_clock::now();
    run_range(first + done, n, sink);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done += n;
    sink.add_done(n);
    // Aim each launch at 10-40 ms: long enough to fill the device, short enough to stop fast.
    if (n == launch_size_) {
      if (s < kLaunchTarget / 2 && launch_size_ < max_launch_)
        launch_size_ *= 2;
      else if (s > kLaunchTarget * 2 && launch_size_ > min_launch_)
        launch_size_ /= 2;
    }
  }
  return done;
}

// Searches [base, base + n) with the sink's threshold; when more candidates than slots come
// back, searches again so that none is lost: at the launch's lowest key for a best search,
// else in halves.
void DeviceSearch::run_range(std::uint64_t base, std::uint32_t n, SearchSink& sink) {
  std::uint32_t head[2];
  launch(base, n, sink.threshold(), head);
  // A best search only needs the launch's lowest keys: rather than re-check many candidates
  // on the host (every nonce of the first launch is one), search again at the launch
  // minimum, which leaves only the nonces that share it.
  if (sink.is_best_goal() && head[0] > kBestCandidates) {
    launch(base, n, head[1], head);
    if (head[0] <= kCandidateSlots) return deliver(base, head[0], sink);
  }
  if (head[0] > kCandidateSlots) {
    const std::uint32_t half = n / 2;
    run_range(base, half, sink);
    run_range(base + half, n - half, sink);
    return;
  }
  deliver(base, head[0], sink);
}

void DeviceSearch::deliver(std::uint64_t base, std::uint32_t found, SearchSink& sink) {
  if (found == 0) return;
  ids_.resize(found);
  read_candidates(found, ids_.data());
  std::sort(ids_.begin(), ids_.end());  // append order is arbitrary; the sink wants nonce order
  for (std::uint32_t id : ids_) sink.candidate(base + id);
}

}  // namespace hf::gpu

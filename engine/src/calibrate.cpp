#include "calibrate.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "choice.hpp"
#include "cpu/cpu_backend.hpp"
#include "search_plan.hpp"

namespace hf {

namespace {
using Clock = std::chrono::steady_clock;

// A Bitcoin header with the nonce at byte 76 (block 100000's fields): the shape every miner
// and the node search.
const std::uint8_t kHeader[80] = {
    0x01, 0x00, 0x00, 0x00, 0x50, 0x12, 0x01, 0x19, 0x17, 0x2a, 0x61, 0x04, 0x21, 0xa6, 0xc3, 0x01,
    0x1d, 0xd3, 0x30, 0xd9, 0xdf, 0x07, 0xb6, 0x36, 0x16, 0xc2, 0xcc, 0x1f, 0x1c, 0xd0, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x66, 0x57, 0xa9, 0x25, 0x2a, 0xac, 0xd5, 0xc0, 0xb2, 0x94, 0x09, 0x96,
    0xec, 0xff, 0x95, 0x22, 0x28, 0xc3, 0x06, 0x7c, 0xc3, 0x8d, 0x48, 0x85, 0xef, 0xb5, 0xa4, 0xac,
    0x42, 0x47, 0xe9, 0xf3, 0x37, 0x22, 0x1b, 0x4d, 0x4c, 0x86, 0x04, 0x1b, 0x0f, 0x2b, 0x57, 0x10};

// Bulk hashing is timed on 16 messages of 4 KiB (every lane full on the widest backend, long
// enough that per-call costs do not count); pairs on a 256-message tree layer.
constexpr std::size_t kBulkMessages = 16, kBulkSize = 4096, kPairs = 256;

class Timer {
 public:
  explicit Timer(cpu::CpuBackend& be) : be_(be) {
    bulk_.assign(kBulkMessages * kBulkSize, 0);
    for (std::size_t i = 0; i < bulk_.size(); ++i) bulk_[i] = static_cast<std::uint8_t>(i * 131 + 7);
    for (std::size_t i = 0; i < kBulkMessages; ++i) views_.emplace_back(bulk_.data() + i * kBulkSize, kBulkSize);
    pairs_.assign(kPairs * 64, 0x5a);
  }

  // Items done in one unit of `task`.
  std::uint64_t unit(const std::string& task, PreparedSearch* ps) {
    if (task == choice::kPairsTask) {
      be_.sha256_64(pairs_.data(), kPairs, pairs_.data());  // in place, as a tree layer does
      return kPairs;
    }
    if (ps) {
      Key target{};
      target.w[7] = 1;  // never met: every nonce takes the common path
      SearchSink sink(*ps, Goal::below_target, target, 1, nullptr, std::nullopt);
      const std::uint64_t n = 64ull * be_.lanes();
      be_.search(*ps, first_, n, sink, stop_);
      first_ += n;
      return n;
    }
    const Algo a = task == op_name(Op::hash_sha1) ? Algo::sha1 : task == op_name(Op::hash_sha256d) ? Algo::sha256d
                                                                                                : Algo::sha256;
    be_.hash_many(a, views_, out_);
    return kBulkMessages * kBulkSize;
  }

 private:
  cpu::CpuBackend& be_;
  std::vector<std::uint8_t> bulk_, pairs_;
  std::vector<ByteView> views_;
  Digest out_[kBulkMessages];
  std::uint64_t first_ = 0;
  std::atomic<bool> stop_{false};
};
}  // namespace

std::vector<MeasuredRate> measure_cpu_backends(std::span<cpu::CpuBackend* const> backends,
                                               std::chrono::milliseconds budget) {
  const std::vector<std::string> tasks = choice::all_tasks();
  const Bytes header(kHeader, kHeader + sizeof kHeader);
  PreparedSearch ps256(Algo::sha256, header, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  PreparedSearch ps256d(Algo::sha256d, header, {76, Encoding::u32le, 4}, 4, ByteOrder::bitcoin);
  std::vector<std::unique_ptr<Timer>> timers;
  for (cpu::CpuBackend* b : backends) timers.push_back(std::make_unique<Timer>(*b));

  // Every (task, backend) pair is timed in kRounds short slices spread over the budget, and its
  // best slice counts: on a shared host another tenant's load comes and goes within a
  // second, and a single slice can land in it (measured on a Zen 3 VM: one calibration put
  // shani-sse 49% ahead of the same kernels' VEX build, which is 3% faster in paired runs).
  constexpr int kRounds = 4;
  const std::size_t pairs = std::max<std::size_t>(1, tasks.size() * backends.size());
  const auto slice = std::chrono::duration_cast<Clock::duration>(budget) / (pairs * kRounds);
  std::vector<double> best(pairs, 0);
  for (int round = 0; round < kRounds; ++round)
    for (std::size_t t = 0; t < tasks.size(); ++t)
      for (std::size_t b = 0; b < backends.size(); ++b) {
        PreparedSearch* ps = tasks[t] == op_name(Op::search_sha256)    ? &ps256
                             : tasks[t] == op_name(Op::search_sha256d) ? &ps256d
                                                                       : nullptr;
        std::uint64_t items = 0;
        const auto t0 = Clock::now();
        auto now = t0;
        // At least one unit; a slow backend (scalar) may take longer than the slice for it.
        do {
          items += timers[b]->unit(tasks[t], ps);
          now = Clock::now();
        } while (now - t0 < slice);
        const double secs = std::chrono::duration<double>(now - t0).count();
        double& r = best[t * backends.size() + b];
        r = std::max(r, secs > 0 ? items / secs : 0);
      }
  std::vector<MeasuredRate> out;
  for (std::size_t t = 0; t < tasks.size(); ++t)
    for (std::size_t b = 0; b < backends.size(); ++b)
      out.push_back({tasks[t], std::string(backends[b]->name()), best[t * backends.size() + b],
                     std::string(choice::unit_of(tasks[t]))});
  return out;
}

}  // namespace hf

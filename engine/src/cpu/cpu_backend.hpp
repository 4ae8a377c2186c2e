// A Backend over one CPU KernelTable: the drivers that feed lanes for nonce search and for
// batch hashing are shared by every instruction set; only the kernels differ.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "backend.hpp"
#include "cpu/catalog.hpp"
#include "cpu/kernels.hpp"
#include "single_stream.hpp"

namespace hf::cpu {

class CpuBackend final : public Backend {
 public:
  using ScanFn = std::uint32_t (*)(const SearchPlan&, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t*);
  CpuBackend(const CpuBackendSpec& spec, std::string unavailable_reason);
  std::string_view name() const override { return kt_.name; }
  // The spec's description, and which SHA-256 bulk kernel and which header loop this CPU
  // measured faster where the table offers two and the first use has measured them.
  std::string description() const override;
  unsigned lanes() const override { return kt_.lanes; }
  std::string unavailable_reason() const override { return unavailable_; }
  bool supports(Op) const override { return true; }
  std::uint64_t search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count, SearchSink& sink,
                       const std::atomic<bool>& stop) override;
  void hash_many(Algo algo, std::span<const ByteView> msgs, Digest* out) override;
  // SHA-256 of n 64-byte messages stored back to back, 32-byte digests to out (which may be
  // in): a Merkle tree layer.
  void sha256_64(const std::uint8_t* in, std::size_t n, std::uint8_t* out);
  bool has_pairs() const override { return true; }
  void sha256_pairs(const std::uint8_t* in, std::size_t n, std::uint8_t* out) override { sha256_64(in, n, out); }
  int rank(Op op) const override;
  std::string_view superseded_by() const { return spec_.superseded_by; }
  const SingleStreamFns* single_stream() const override { return single_.sha256 ? &single_ : nullptr; }
  const KernelTable& kernels() const { return kt_; }

 private:
  void hash_many_64(std::span<const ByteView> msgs, Digest* out);
  void second_pass(std::size_t n, Digest* out);
  using BlocksFn = void (*)(std::uint32_t*, const std::uint8_t* const*, std::size_t);
  // The SHA-256 multi-buffer kernel hash_many runs: the table's, or its sha256_blocks_alt when
  // that measured faster here (timed once, at the first use, by time_ratio in cpu_backend.cpp).
  BlocksFn sha256_blocks() const;
  // The header loop search runs: the table's scan_headers, or its scan_headers_alt when that
  // measured faster here (timed once, at the first header search, on that search's plan).
  ScanFn scan_headers(const SearchPlan& plan) const;
  // One choice between a kernel's two builds, made once by timing them (where the table has a
  // second build and this CPU runs the kernels).
  template <typename Fn>
  struct Pick {
    std::once_flag once;
    std::atomic<bool> timed{false};  // fn and speedup are set
    Fn fn = nullptr;
    double speedup = 0;  // the first build's time over the second's, measured
    // Returns the chosen build; `time` returns the ratio (see best_time_ratio in cpu_backend.cpp).
    template <typename Time>
    Fn get(Fn first, Fn second, bool runs_here, Time time);
    // "; <what>: <second> (<speedup> the speed of <first> here)" or "; <what>: <first> (<second>
    // ran at <speedup> its speed here)", once timed; empty before (describing a backend must
    // not run its kernels).
    std::string describe(Fn second, const char* what, const char* first_name, const char* second_name) const;
  };
  const CpuBackendSpec& spec_;
  const KernelTable& kt_;
  std::string unavailable_;
  SingleStreamFns single_{};
  mutable Pick<BlocksFn> blocks_pick_;
  mutable Pick<ScanFn> scan_pick_;
};

// Every CPU backend of the catalog, in its order, each with why it cannot run here (if so).
std::vector<std::unique_ptr<CpuBackend>> make_cpu_backends();

}  // namespace hf::cpu

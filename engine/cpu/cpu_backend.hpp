// A Backend over one CPU KernelTable: the drivers that feed lanes for nonce search and for
// batch hashing are shared by every instruction set; only the kernels differ.
#pragma once
#include <memory>
#include <string>

#include "engine/backend.hpp"
#include "engine/cpu/kernels.hpp"

namespace hf::cpu {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const KernelTable& kt, std::string description, std::string unavailable_reason);
  std::string_view name() const override { return kt_.name; }
  std::string description() const override { return description_; }
  unsigned lanes() const override { return kt_.lanes; }
  std::string unavailable_reason() const override { return unavailable_; }
  bool supports(Op) const override { return true; }
  std::uint64_t search(const PreparedSearch& ps, std::uint64_t first, std::uint64_t count, SearchSink& sink,
                       const std::atomic<bool>& stop) override;
  void hash_many(Algo algo, std::span<const ByteView> msgs, Digest* out) override;
  const KernelTable& kernels() const { return kt_; }

 private:
  const KernelTable& kt_;
  std::string description_;
  std::string unavailable_;
};

// The four CPU backends in the order `hashforge backends` lists them.
std::vector<std::unique_ptr<CpuBackend>> make_cpu_backends();

}  // namespace hf::cpu
